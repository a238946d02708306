import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests and examples import the package by its public names, served from source.
    alias: [
      { find: /^certgate\/express$/, replacement: src('adapters/express.ts') },
      { find: /^certgate\/koa$/, replacement: src('adapters/koa.ts') },
      { find: /^certgate$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
