/**
 * The examples run as written: each is started the way its header says (`npx tsx examples/<file>
 * [pki-dir]`, `PORT` to move it off its default port), then asked over real TLS with curl: the
 * public page without a certificate, the banking route with alice's certificate and without one.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { curl } from './helpers/clients.js';
import { startExample, stopExamples } from './helpers/examples.js';

afterAll(stopExamples);

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
      const { origin, pki } = await startExample(file);
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
