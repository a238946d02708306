/**
 * byPsd2 through a real Koa server over mutual TLS: a route for account-information providers
 * (`roles: ['PSP_AI']`) admits a PSP_AI TPP as its organizationIdentifier, refuses a PSP_PI-only
 * TPP (403 ROLE_FORBIDDEN) and a certificate without a PSD2 statement or organizationIdentifier
 * (403 IDENTITY_UNKNOWN, the operator detail saying what is missing). Certificates by OpenSSL.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byPsd2, type CertgateError, createVerifier } from 'certgate';
import { requireClientCert, type ClientCertState } from 'certgate/koa';
import { expectProblem, get, makePki, startHttps, type RunningServer, type TestPki } from './helpers/clients.js';
import { removeTempDirs, tempDir } from './helpers/oracle.js';
import { FCA_AI, Psd2Pki, qcStatementsWithPsd2, ROLE_OID, type Psd2Leaf } from './helpers/psd2-pki.js';

let web: TestPki;
let psd2: Psd2Pki;
let server: RunningServer;
const rejections: CertgateError[] = [];
const tpp: Record<'ai' | 'pi' | 'plain' | 'noOrgId' | 'twoOrgIds', Psd2Leaf> = {} as never;

beforeAll(async () => {
  web = await makePki();
  psd2 = new Psd2Pki(tempDir('certgate-psd2-koa-'));
  const subject = '/CN=tpp.example/O=TPP Ltd/organizationIdentifier=PSDGB-FCA-123456';
  tpp.ai = psd2.leaf('ai', subject, qcStatementsWithPsd2(FCA_AI));
  tpp.pi = psd2.leaf('pi', subject, qcStatementsWithPsd2({ ...FCA_AI, roles: [[ROLE_OID.PSP_PI, 'PSP_PI']] }));
  tpp.plain = psd2.leaf('plain', subject);
  tpp.noOrgId = psd2.leaf('no-org-id', '/CN=tpp.example/O=TPP Ltd', qcStatementsWithPsd2(FCA_AI));
  tpp.twoOrgIds = psd2.leaf(
    'two-org-ids',
    '/CN=tpp.example/organizationIdentifier=PSDGB-FCA-1/organizationIdentifier=PSDGB-FCA-2',
    qcStatementsWithPsd2(FCA_AI),
  );

  const verifier = createVerifier({ ca: psd2.ca });
  const guard = (roles: string[]) =>
    requireClientCert({ verifier, identify: byPsd2(), roles, onReject: (e) => void rejections.push(e) });
  const router = new Router<ClientCertState>();
  router.get('/accounts', guard(['PSP_AI']), (ctx) => {
    ctx.body = { user: ctx.state.clientCert.user, roles: ctx.state.clientCert.roles };
  });
  router.get('/payments', guard(['PSP_PI']), (ctx) => {
    ctx.body = { user: ctx.state.clientCert.user };
  });
  const app = new Koa();
  app.use(router.routes());
  server = await startHttps({ server: web.server, ca: psd2.ca }, app.callback());
});

afterAll(async () => {
  await server?.close();
  removeTempDirs();
});

const as = (leaf: Psd2Leaf, path: string) =>
  get(server.port, path, { ca: web.ca, client: { cert: leaf.chain, key: leaf.key } });

describe('byPsd2 on Koa routes', () => {
  it('admits a PSP_AI TPP to /accounts as its organizationIdentifier, with its PSD2 roles', async () => {
    const reply = await as(tpp.ai, '/accounts');
    expect([reply.status, reply.body]).toEqual([200, { user: 'PSDGB-FCA-123456', roles: ['PSP_AI'] }]);
  });

  it('refuses a PSP_PI-only TPP on /accounts (403 ROLE_FORBIDDEN) and admits it on /payments', async () => {
    expectProblem(await as(tpp.pi, '/accounts'), 403, 'ROLE_FORBIDDEN');
    const reply = await as(tpp.pi, '/payments');
    expect([reply.status, reply.body]).toEqual([200, { user: 'PSDGB-FCA-123456' }]);
  });

  it.each([
    ['without a PSD2 statement', 'plain', /no PSD2 statement/],
    ['without an organizationIdentifier', 'noOrgId', /the subject has no organizationIdentifier \(2\.5\.4\.97\)/],
    ['with two organizationIdentifiers', 'twoOrgIds', /2 organizationIdentifiers \("PSDGB-FCA-1", "PSDGB-FCA-2"\)/],
  ] as const)(
    'refuses a certificate %s: 403 IDENTITY_UNKNOWN, the detail for the operator',
    async (_, which, detail) => {
      rejections.length = 0;
      expectProblem(await as(tpp[which], '/accounts'), 403, 'IDENTITY_UNKNOWN');
      expect(rejections.map((e) => e.code)).toEqual(['IDENTITY_UNKNOWN']);
      expect(rejections[0]?.detail).toMatch(detail);
    },
  );
});
