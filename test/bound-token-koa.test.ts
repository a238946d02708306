/**
 * RFC 8705 certificate-bound access tokens on Koa 3 over real TLS: requireClientCert(), then a
 * token middleware (jose, the payload on ctx.state.user as koa-jwt puts it), then requireBoundToken().
 */
import Koa, { type Next, type ParameterizedContext } from 'koa';
import Router from '@koa/router';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byCommonName, type CertgateError } from 'certgate';
import { requireBoundToken, requireClientCert, type ClientCertState } from 'certgate/koa';
import { curl, expectProblem, get, makePki, startHttps, type RunningServer, type TestPki } from './helpers/clients.js';
import { makeIssuer, opensslThumbprint, swapCase, type Issuer } from './helpers/tokens.js';

const CHALLENGE =
  'Bearer error="invalid_token", ' +
  'error_description="The access token is not bound to the client certificate of this connection."';

type State = Partial<ClientCertState> & { user?: JWTPayload };
type Ctx = ParameterizedContext<State>;

let pki: TestPki;
let issuer: Issuer;
let server: RunningServer;
const rejections: CertgateError[] = [];
const tokens: Record<string, string> = {};
let alice: string;

/** What koa-jwt does, in a few lines: the verified payload on ctx.state.user, nothing for no token. */
const joseToken = async (ctx: Ctx, next: Next): Promise<void> => {
  ctx.state.user = await issuer.verify(ctx.get('authorization') || undefined);
  await next();
};
const show = (ctx: Ctx): void => {
  ctx.body = {
    user: ctx.state.clientCert?.user,
    sub: ctx.state.user?.sub,
    thumbprint: ctx.state.clientCert?.thumbprint,
  };
};

beforeAll(async () => {
  [pki, issuer] = await Promise.all([makePki(), makeIssuer()]);
  alice = opensslThumbprint(pki.alice.cert);
  const mint = (cnf?: unknown) => issuer.mint(cnf === undefined ? {} : { cnf });
  Object.assign(tokens, {
    alice: await mint({ 'x5t#S256': alice }),
    bob: await mint({ 'x5t#S256': opensslThumbprint(pki.bob.cert) }),
    none: await mint(),
    swapped: await mint({ 'x5t#S256': swapCase(alice) }),
    cnfArray: await mint([alice]),
  });

  const guard = requireClientCert({ crl: pki.crl, identify: byCommonName({ alice: {}, bob: {} }) });
  const router = new Router<State>();
  router.get('/api/balance', guard, joseToken, requireBoundToken({ claims: (ctx) => ctx.state.user }), show);
  router.get(
    '/audited/balance',
    guard,
    joseToken,
    requireBoundToken({ claims: (ctx) => ctx.state.user, onReject: (e) => rejections.push(e) }),
    show,
  );
  router.get('/unguarded/balance', joseToken, requireBoundToken({ claims: (ctx) => ctx.state.user }), show);
  router.get(
    '/throws/balance',
    guard,
    requireBoundToken({
      claims: () => {
        throw new Error('no token middleware');
      },
    }),
    show,
  );
  router.get(
    '/async/balance',
    guard,
    joseToken,
    // An async claims function is a wiring mistake: the binding is checked synchronously.
    requireBoundToken({ claims: (async (ctx: Ctx) => ctx.state.user) as never }),
    show,
  );
  // Koa's own error handling: ctx.onerror sends the status and err.headers.
  router.get(
    '/forwarded/balance',
    guard,
    joseToken,
    requireBoundToken({ claims: (ctx) => ctx.state.user, forwardErrors: true }),
    show,
  );
  const app = new Koa<State>();
  app.silent = true;
  app.use(router.routes());
  server = await startHttps(pki, app.callback());
});

afterAll(async () => {
  await server?.close();
});

const call = (path: string, token: string | undefined, who: 'alice' | 'bob' = 'alice') =>
  get(server.port, path, {
    ca: pki.ca,
    client: pki[who],
    ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
  });

const refused = (reply: Awaited<ReturnType<typeof call>>): void => {
  expectProblem(reply, 401, 'TOKEN_NOT_BOUND');
  expect(reply.headers['www-authenticate']).toBe(CHALLENGE);
};

describe('requireBoundToken on Koa 3', () => {
  it("passes a token bound to the connection's certificate (its thumbprint is OpenSSL's)", async () => {
    const reply = await call('/api/balance', tokens.alice);
    expect([reply.status, reply.body]).toEqual([200, { user: 'alice', sub: 'client-1', thumbprint: alice }]);
    expect(reply.headers['www-authenticate']).toBeUndefined();
  });

  it.each([
    ['bound to another certificate', 'bob'],
    ['without cnf', 'none'],
    ['with the thumbprint case-changed', 'swapped'],
    ['with cnf an array', 'cnfArray'],
  ])('refuses a token %s with 401 TOKEN_NOT_BOUND and the Bearer challenge', async (_what, name) => {
    refused(await call('/api/balance', tokens[name]));
  });

  it('refuses a request without a token', async () => {
    refused(await call('/api/balance', undefined));
  });

  it('onReject hears of the refusal', async () => {
    rejections.length = 0;
    refused(await call('/audited/balance', tokens.alice, 'bob'));
    expect(rejections.map((e) => e.code)).toEqual(['TOKEN_NOT_BOUND']);
  });

  it("forwardErrors: Koa's error handling answers 401 with the challenge from err.headers", async () => {
    const reply = await call('/forwarded/balance', tokens.bob);
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe(CHALLENGE);
  });

  it('fails closed (500 CONFIG_INVALID) without the guard before it, and when claims throws or is async', async () => {
    for (const path of ['/unguarded/balance', '/throws/balance', '/async/balance']) {
      const reply = await call(path, tokens.alice);
      expectProblem(reply, 500, 'CONFIG_INVALID');
      expect(reply.headers['www-authenticate']).toBeUndefined();
    }
  });

  it('answers curl with a client certificate and Authorization: Bearer', async () => {
    const { files } = pki;
    const args = (token: string) => [
      ...['--cacert', files.caBundle, '--cert', files.clients.alice.cert, '--key', files.clients.alice.key],
      ...['--header', `Authorization: Bearer ${token}`],
    ];
    const ok = await curl(`${server.url}/api/balance`, args(tokens.alice!));
    expect([ok.status, ok.body.user]).toEqual([200, 'alice']);
    const no = await curl(`${server.url}/api/balance`, args(tokens.bob!));
    expect([no.status, no.body.code]).toEqual([401, 'TOKEN_NOT_BOUND']);
  });
});
