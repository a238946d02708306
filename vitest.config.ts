import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

/**
 * Unit tests: no servers, no network; OpenSSL at most as a quick oracle.
 * `npm run test:unit`, goal under 15 s. New unit tests go under test/unit/.
 */
export const UNIT_TESTS = ['test/unit/**/*.test.ts'];

/**
 * Integration tests: every other test file (real TLS, OpenSSL processes, OCSP and CRL responders,
 * the packed package). A new file is an integration test until it is put in test/unit/.
 */
const INTEGRATION_TESTS = ['test/**/*.test.ts'];

export default defineConfig({
  resolve: {
    // Tests and examples import the package by its public names, served from source.
    alias: [
      { find: /^certgate\/express$/, replacement: src('adapters/express.ts') },
      { find: /^certgate\/koa$/, replacement: src('adapters/koa.ts') },
      { find: /^certgate\/fastify$/, replacement: src('adapters/fastify.ts') },
      { find: /^certgate\/nestjs$/, replacement: src('adapters/nestjs.ts') },
      { find: /^certgate$/, replacement: src('index.ts') },
    ],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT_TESTS,
          // Run before the integration project when both are selected (`npx vitest run <files>`).
          sequence: { groupOrder: 0 },
          // Vitest's default is one worker per core minus one: a single worker on a 2-core machine.
          // Unit files share nothing, so both cores run them (the long pole, der-fuzz, beside the rest).
          maxWorkers: 2,
          // Fails a unit test that starts a server: it belongs in the integration project.
          setupFiles: ['test/unit/setup.ts'],
          // Unit files share one module graph (imports once: 10 s instead of 21 s on 2 cores); each
          // builds its own verifiers and injects its own clock, so no state leaks between them.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION_TESTS,
          sequence: { groupOrder: 1 },
          exclude: [...configDefaults.exclude, ...UNIT_TESTS],
        },
      },
    ],
  },
});
