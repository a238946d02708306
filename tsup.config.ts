import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      express: 'src/adapters/express.ts',
      koa: 'src/adapters/koa.ts',
      fastify: 'src/adapters/fastify.ts',
      nestjs: 'src/adapters/nestjs.ts',
      // The CRL worker (src/revocation/crl-offthread.ts finds it beside the code that starts it).
      'crl-worker': 'src/revocation/crl-worker.ts',
    },
    format: ['esm', 'cjs'],
    // import.meta.url in the CommonJS build: how the CRL worker's file is found there.
    shims: true,
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: true,
  },
  {
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    target: 'node20',
    sourcemap: true,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
