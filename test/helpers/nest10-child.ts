/**
 * The Nest 10 side of test/nestjs10.test.ts, run by Node with nest10-register.mjs: starts the test
 * apps on the Express platform and prints one line, `NEST10 {json}`, with their ports, the Nest
 * version loaded, and the startup errors. Exits when its stdin closes (the test is done).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CertgateModule } from '../../src/adapters/nestjs.js';
import { CertgateError } from '../../src/errors.js';
import { bankingOptions, startNestApp } from './nest-app.js';

const files = JSON.parse(process.env.NEST10_PKI ?? '{}') as Record<'ca' | 'crl' | 'cert' | 'key', string>;
const pki = {
  ca: readFileSync(files.ca),
  crl: readFileSync(files.crl),
  tls: { cert: readFileSync(files.cert), key: readFileSync(files.key), ca: readFileSync(files.ca) },
};

/** The package.json above a resolved module file: which Nest this process really loaded. */
function packageOf(url: string): { dir: string; version: string } {
  let dir = dirname(fileURLToPath(url));
  while (!dir.endsWith('node_modules/@nestjs/core') && dir !== dirname(dir)) dir = dirname(dir);
  return { dir, version: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version };
}

async function startupError(start: () => Promise<unknown>): Promise<{ code?: string; message: string } | undefined> {
  try {
    await start();
    return undefined;
  } catch (err) {
    return { code: err instanceof CertgateError ? err.code : undefined, message: String((err as Error).message) };
  }
}

const platform = 'express' as const;
const tls = pki.tls;
const [main, roles, throws, filters] = await Promise.all([
  startNestApp({ platform, tls, certgate: CertgateModule.forRoot(bankingOptions(pki)) }),
  startNestApp({ platform, tls, certgate: CertgateModule.forRoot(bankingOptions(pki, { roles: ['auditor'] })) }),
  startNestApp({
    platform,
    tls,
    certgate: CertgateModule.forRoot({
      ca: pki.ca,
      identify: () => {
        throw new Error('user store down');
      },
    }),
  }),
  startNestApp({ platform, tls, globalFilter: 'then-certgate', certgate: CertgateModule.forRoot(bankingOptions(pki)) }),
]);
const asyncError = await startupError(() =>
  startNestApp({
    platform,
    tls,
    certgate: CertgateModule.forRootAsync({ useFactory: () => ({ ca: pki.ca, identityTtlMs: -1 }) }),
  }),
);
const core = packageOf(import.meta.resolve('@nestjs/core'));
// Every copy of @nestjs/core that CommonJS loaded (Nest's packages require each other).
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('/@nestjs/'));
const report = {
  ports: { main: main.port, roles: roles.port, throws: throws.port, filters: filters.port },
  nestCore: core.version,
  nestCommon: JSON.parse(readFileSync(join(core.dir, '../common/package.json'), 'utf8')).version,
  loadedOutsideFixture: loaded.filter((f) => !f.includes('/test/fixtures/nest10/node_modules/')),
  loadedCount: loaded.length,
  asyncError,
};
process.stdout.write(`NEST10 ${JSON.stringify(report)}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
