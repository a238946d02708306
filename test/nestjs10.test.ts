/**
 * certgate/nestjs under NestJS 10 (Express platform). Nest 10 cannot be installed beside the root's
 * Nest 11, so it lives in test/fixtures/nest10 (its own package-lock.json) and the app runs in a
 * child process whose resolution hooks (helpers/nest10-hooks.mjs) load Nest from there.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, get, makePki, type TestPki } from './helpers/clients.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/nest10/', import.meta.url));

interface Report {
  ports: Record<'main' | 'roles' | 'throws' | 'filters', number>;
  nestCore: string;
  nestCommon: string;
  loadedOutsideFixture: string[];
  loadedCount: number;
  asyncError?: { code?: string; message: string };
}

let pki: TestPki;
let child: ChildProcess;
let report: Report;

/** A fresh clone has no fixture install: `npm ci` it here (.ci/run does it up front). */
async function installFixture(): Promise<void> {
  if (existsSync(`${fixture}node_modules/@nestjs/core/package.json`)) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await promisify(execFile)(npm, ['ci', '--prefix', fixture, '--no-audit', '--no-fund'], { timeout: 180_000 });
}

function startChild(): Promise<Report> {
  const files = pki.files;
  const env = {
    ...process.env,
    NEST10_PKI: JSON.stringify({ ca: files.caBundle, crl: files.crl, cert: files.serverCert, key: files.serverKey }),
  };
  const args = ['--import', 'tsx', '--import', './test/helpers/nest10-register.mjs', 'test/helpers/nest10-child.ts'];
  child = spawn(process.execPath, args, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d));
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const line = /^NEST10 (.*)$/m.exec(out);
      if (line) resolve(JSON.parse(line[1]!) as Report);
    });
    child.once('exit', (code) => reject(new Error(`the Nest 10 app exited (${code}): ${err.slice(-2000)}`)));
  });
}

beforeAll(async () => {
  [pki] = await Promise.all([makePki(), installFixture()]);
  report = await startChild();
}, 240_000);

afterAll(() => {
  child?.stdin?.end();
});

const as = (app: keyof Report['ports'], path: string, who?: 'alice' | 'bob' | 'mallory') =>
  get(report.ports[app], path, { ca: pki.ca, ...(who ? { client: pki[who] } : {}) });

describe('Nest 10 on the Express platform', () => {
  it('is really Nest 10, and only Nest 10 is loaded', () => {
    expect(report.nestCore).toMatch(/^10\./);
    expect(report.nestCommon).toMatch(/^10\./);
    expect(report.loadedCount).toBeGreaterThan(0);
    expect(report.loadedOutsideFixture).toEqual([]);
  });

  it('lets a good client through with its user', async () => {
    const r = await as('main', '/banking/accounts', 'alice');
    expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: { user: 'alice' } });
  });

  it('refuses: no certificate 401, revoked 401, wrong role 403, all problem+json', async () => {
    expectProblem(await as('main', '/banking/accounts'), 401, 'CERT_MISSING');
    expectProblem(await as('main', '/banking/accounts', 'mallory'), 401, 'CERT_REVOKED');
    expectProblem(await as('main', '/banking/accounts', 'bob'), 403, 'ROLE_FORBIDDEN');
  });

  it('guards a handler without @RequireClientCert; class and handler roles; public routes', async () => {
    expectProblem(await as('main', '/banking/profile'), 401, 'CERT_MISSING');
    expect((await as('main', '/banking/profile', 'bob')).body).toMatchObject({ user: 'bob', roles: ['auditor'] });
    expectProblem(await as('main', '/audit/log', 'alice'), 403, 'ROLE_FORBIDDEN');
    expect((await as('main', '/audit/own', 'alice')).body).toEqual({ user: 'alice' });
    expect((await as('main', '/public')).body).toEqual({ page: 'public' });
    expect((await as('main', '/audit/open')).body).toEqual({ page: 'open' });
  });

  it("applies forRoot's roles where a handler has none", async () => {
    expectProblem(await as('roles', '/banking/profile', 'alice'), 403, 'ROLE_FORBIDDEN');
    expect((await as('roles', '/banking/profile', 'bob')).status).toBe(200);
    expect((await as('roles', '/banking/accounts', 'alice')).status).toBe(200);
  });

  it("keeps certgate's answer beside the app's catch-all filter (given before CertgateExceptionFilter)", async () => {
    expectProblem(await as('filters', '/banking/accounts'), 401, 'CERT_MISSING');
    const r = await as('filters', '/public/boom');
    expect({ status: r.status, body: r.body }).toEqual({ status: 418, body: { caughtBy: 'app', name: 'Error' } });
  });

  it('answers an identify that throws with 500 CONFIG_INVALID; the process stays up', async () => {
    const r = await as('throws', '/banking/profile', 'alice');
    expectProblem(r, 500, 'CONFIG_INVALID');
    expect(r.text).not.toMatch(/user store down/);
    expect((await as('throws', '/public')).status).toBe(200);
    expect(child.exitCode).toBeNull();
  });

  it('refuses bad forRootAsync options at startup, naming the option', () => {
    expect(report.asyncError?.code).toBe('CONFIG_INVALID');
    expect(report.asyncError?.message).toMatch(/CertgateModule\.forRootAsync: option 'identityTtlMs'/);
  });
});
