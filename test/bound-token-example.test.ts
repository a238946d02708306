/**
 * examples/fapi-resource-server.ts runs as its header says (`npx tsx ... [pki-dir]`, `PORT`), and
 * the curl commands it prints do what they say: alice's token with alice's certificate is served,
 * with bob's certificate it is TOKEN_NOT_BOUND, and without a token express-oauth2-jwt-bearer refuses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { curl } from './helpers/clients.js';
import { startExample, stopExamples } from './helpers/examples.js';
import { opensslThumbprint } from './helpers/tokens.js';

afterAll(stopExamples);

it('serves a bound token, refuses it on another certificate, and prints working curl commands', async () => {
  // Ready once the second curl line (the 401 one) is printed.
  const { pki, port, output: printed } = await startExample('fapi-resource-server.ts', () => '(401');
  const output = printed();
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
