/**
 * examples/fapi-resource-server.ts runs as its header says (`npx tsx ... [pki-dir]`, `PORT`), and
 * the curl commands it prints do what they say: alice's token with alice's certificate is served,
 * with bob's certificate it is TOKEN_NOT_BOUND, and without a token express-oauth2-jwt-bearer refuses.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { curl } from './helpers/clients.js';
import { opensslThumbprint } from './helpers/tokens.js';

let child: ChildProcess | undefined;
afterAll(() => {
  // npx starts tsx, which starts node: the whole process group goes.
  if (child?.pid !== undefined && child.exitCode === null) process.kill(-child.pid);
});

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

it('serves a bound token, refuses it on another certificate, and prints working curl commands', async () => {
  const pki = join(mkdtempSync(join(tmpdir(), 'certgate-fapi-')), 'pki');
  const port = await freePort();
  child = spawn('npx', ['tsx', 'examples/fapi-resource-server.ts', pki], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the example did not start in time:\n${output}`)), 45_000);
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('(401')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child!.stdout?.on('data', seen);
    child!.stderr?.on('data', seen);
    child!.once('exit', (code) => reject(new Error(`the example exited (${code}):\n${output}`)));
  });
  expect(output).toContain(`https://localhost:${port}`);
  const origin = `https://localhost:${port}`;
  const token = readFileSync(join(pki, 'alice-token.jwt'), 'utf8');
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
  expect(claims.cnf).toEqual({ 'x5t#S256': opensslThumbprint(readFileSync(join(pki, 'alice.pem'))) });

  const as = (who: string, withToken = true) => [
    ...['--cacert', join(pki, 'ca.pem'), '--cert', join(pki, `${who}.pem`), '--key', join(pki, `${who}-key.pem`)],
    ...(withToken ? ['--header', `Authorization: Bearer ${token}`] : []),
  ];
  const alice = await curl(`${origin}/accounts`, as('alice'));
  expect([alice.status, alice.body.user, alice.body.client]).toEqual([200, 'alice', 'alice-app']);
  const bob = await curl(`${origin}/accounts`, as('bob'));
  expect([bob.status, bob.contentType, bob.body.code]).toEqual([401, 'application/problem+json', 'TOKEN_NOT_BOUND']);
  const noToken = await curl(`${origin}/accounts`, as('alice', false));
  expect([noToken.status, noToken.body]).toEqual([401, { error: 'unauthorized' }]);
  const whoami = await curl(`${origin}/mtls/whoami`, as('alice', false));
  expect(whoami.body).toEqual({ user: 'alice', 'x5t#S256': claims.cnf['x5t#S256'] });
  // The printed commands are the ones above (the shell substitutes the token file).
  expect(output).toContain(`-H "Authorization: Bearer $(cat ${join(pki, 'alice-token.jwt')})" ${origin}/accounts`);
}, 60_000);
