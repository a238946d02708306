/**
 * The CRL worker in the built package (tsup.config.ts): the CommonJS and the ESM build each find
 * their worker file (dist/crl-worker.cjs, dist/crl-worker.js) and decode a large CRL there. Built
 * into a scratch folder inside the repository (so that dependencies resolve), not into dist/,
 * which test/package.test.ts packs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LARGE_CRL_BYTES } from '../src/revocation/crl-header.js';
import { issue } from './unit/pki.js';
import { bigCrl, serial } from './crl-scale-crl.js';

const root = resolve(import.meta.dirname, '..');
let work: string;

beforeAll(async () => {
  mkdirSync(join(root, '.tmp'), { recursive: true });
  work = mkdtempSync(join(root, '.tmp', 'crl-worker-build-'));
  execFileSync('npx', ['tsup', '--out-dir', join(work, 'dist')], { cwd: root, stdio: 'pipe' });
  const ca = await issue({ subject: 'CN=Package CA', ca: true });
  const listed = serial();
  const revoked = await issue({ subject: 'CN=revoked', issuer: ca, serial: listed.toString('hex') });
  // Enough entries to pass LARGE_CRL_BYTES: decoded in the worker, not on the main thread.
  const crl = await bigCrl(ca, 20_000, [listed]);
  expect(crl.length).toBeGreaterThan(LARGE_CRL_BYTES);
  writeFileSync(join(work, 'ca.pem'), ca.x509.toString('pem'));
  writeFileSync(join(work, 'revoked.pem'), revoked.x509.toString('pem'));
  writeFileSync(join(work, 'crl.der'), crl);
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Counts workers started (patched before certgate loads), then verifies the listed certificate. */
const script = (load: string) => `
const threads = require('node:worker_threads');
const Original = threads.Worker;
let started = 0;
threads.Worker = class extends Original { constructor(...args) { super(...args); started++; } };
${load}
const fs = require('node:fs');
const v = certgate.createVerifier({ ca: fs.readFileSync('ca.pem'), crl: fs.readFileSync('crl.der') });
v.verify(fs.readFileSync('revoked.pem')).then((r) => {
  console.log(JSON.stringify({ started, code: r.ok ? 'accepted' : r.code }));
  v.close();
});
`;

function run(file: string, source: string): { started: number; code: string } {
  writeFileSync(join(work, file), source);
  const r = spawnSync(process.execPath, [file], { cwd: work, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

describe('the CRL worker in the built package', () => {
  it('CommonJS: dist/crl-worker.cjs decodes the CRL', () => {
    expect(run('cjs.cjs', script(`const certgate = require('./dist/index.cjs');`))).toEqual({
      started: 1,
      code: 'CERT_REVOKED',
    });
  });

  it('ESM: dist/crl-worker.js decodes the CRL', () => {
    const esm = script(`const certgate = await import('./dist/index.js');`).replace(/require\(/g, 'req(');
    const source = `import { createRequire } from 'node:module'; const req = createRequire(import.meta.url);\n${esm}`;
    expect(run('esm.mjs', source)).toEqual({ started: 1, code: 'CERT_REVOKED' });
  });
});
