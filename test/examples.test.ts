/**
 * The examples run as written: each is started the way its header says (`npx tsx examples/<file>
 * [pki-dir]`, `PORT` to move it off its default port), then asked over real TLS with curl: the
 * public page without a certificate, the banking route with alice's certificate and without one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { curl } from './helpers/clients.js';

const children: ChildProcess[] = [];
afterAll(() => {
  // npx starts tsx, which starts node: the whole process group goes.
  for (const child of children) if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid);
});

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts an example as its header says and resolves once it prints where it listens. */
async function start(file: string): Promise<{ origin: string; pki: string }> {
  const pki = join(mkdtempSync(join(tmpdir(), 'certgate-example-')), 'pki');
  const port = await freePort();
  const child = spawn('npx', ['tsx', `examples/${file}`, pki], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start in time:\n${output}`)), 45_000);
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`https://localhost:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}):\n${output}`)));
  });
  return { origin: `https://localhost:${port}`, pki };
}

const EXAMPLES = [
  { file: 'express-banking.ts', banking: '/banking/balance', http: '1.1' },
  { file: 'koa-banking.ts', banking: '/banking/balance', http: '1.1' },
  { file: 'nestjs-banking.ts', banking: '/banking/accounts', http: '1.1' },
  // HTTP/2 with allowHTTP1: curl negotiates h2.
  { file: 'fastify-banking.ts', banking: '/banking/accounts', http: '2' },
  // The certificate-only route: /accounts also needs a bound token (test/bound-token-example.test.ts).
  { file: 'fapi-resource-server.ts', banking: '/mtls/whoami', http: '1.1' },
  // A PSD2 third-party provider's certificate: the user is its organizationIdentifier.
  { file: 'psd2-gateway.ts', banking: '/accounts', http: '1.1', client: 'tpp-ai', user: 'PSDGB-FCA-123456' },
];

describe.each<{ file: string; banking: string; http: string; client?: string; user?: string }>(EXAMPLES)(
  'examples/$file',
  ({ file, banking, http, client = 'alice', user = 'alice' }) => {
    it('answers the public page one-way, and the banking route only with a good client certificate', async () => {
      const { origin, pki } = await start(file);
      const ca = ['--cacert', join(pki, 'ca.pem')];
      const publicPage = await curl(`${origin}/`, ca);
      expect(publicPage.status).toBe(200);
      const alice = await curl(`${origin}${banking}`, [
        ...ca,
        '--cert',
        join(pki, `${client}.pem`),
        '--key',
        join(pki, `${client}-key.pem`),
      ]);
      expect([alice.status, alice.body.user, alice.httpVersion]).toEqual([200, user, http]);
      const none = await curl(`${origin}${banking}`, ca);
      // Express-based frameworks add `; charset=utf-8`.
      expect([none.status, none.contentType.replace(/;$/, ''), none.body.code]).toEqual([
        401,
        'application/problem+json',
        'CERT_MISSING',
      ]);
    }, 60_000);
  },
);
