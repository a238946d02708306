import https from 'node:https';
import type { Socket } from 'node:net';
import Koa, { type ParameterizedContext } from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byCommonName, CertgateError, createVerifier } from 'certgate';
import { requireClientCert, type ClientCertState } from 'certgate/koa';
import {
  DAY_MS,
  expectProblem,
  get,
  makeOtherCa,
  makePki,
  startHttps,
  type FullTestPki,
  type Reply,
  type RunningServer,
  type TestPki,
} from './helpers/clients.js';

type Ctx = ParameterizedContext<Partial<ClientCertState>>;

let pki: TestPki;
let stale: FullTestPki;
let other: { ca: Buffer; alice: TestPki['alice'] };

let routed: RunningServer;
let global: RunningServer;
let forwarding: RunningServer;
let withoutCa: RunningServer;

/** Errors the try/catch middleware of the routed app caught. */
const caught: unknown[] = [];
/** Errors the forwarding app's 'error' listener received. */
const appErrors: unknown[] = [];
const rejections: CertgateError[] = [];
const socketsByTrace = new Map<string, Set<Socket>>();

const show = (ctx: Ctx): void => {
  const c = ctx.state.clientCert;
  ctx.body = {
    hasCert: c !== undefined,
    user: c?.user,
    roles: c?.roles,
    cn: c?.certificate.subject.CN,
    chainLength: c?.chain.length,
  };
};

beforeAll(async () => {
  [pki, stale, other] = await Promise.all([
    makePki(),
    makePki({ now: new Date(Date.now() - 40 * DAY_MS) }),
    makeOtherCa(),
  ]);
  const customers = byCommonName({
    alice: { roles: ['customer'] },
    bob: { roles: [] },
    mallory: { roles: ['customer'] },
    eve: { roles: ['customer'] },
  });
  const verifier = createVerifier({ ca: pki.ca, crl: pki.crl });

  // Mutual TLS only on guarded routes, one guard per route (@koa/router).
  const router = new Router<Partial<ClientCertState>>();
  router.get('/public', show);
  router.get('/banking/balance', requireClientCert({ crl: pki.crl, roles: ['customer'], identify: customers }), show);
  router.get(
    '/partners/feed',
    requireClientCert({ crl: pki.crl, identify: byCommonName({ carol: { roles: ['partner'] } }) }),
    show,
  );
  router.get('/stale/balance', requireClientCert({ ca: stale.ca, crl: stale.crl }), show);
  router.get('/stale-without-crl/balance', requireClientCert({ ca: stale.ca }), show);
  router.get(
    '/forwarded/balance',
    requireClientCert({ crl: pki.crl, roles: ['customer'], identify: customers, forwardErrors: true }),
    show,
  );
  router.get('/audited/balance', requireClientCert({ crl: pki.crl, onReject: (e) => rejections.push(e) }), show);
  router.get(
    '/admin/panel',
    requireClientCert({
      verifier,
      roles: ['admin'],
      identify: byCommonName({ alice: { roles: ['admin'] }, bob: { roles: ['teller'] } }),
    }),
    show,
  );
  router.get('/me', requireClientCert({ verifier }), show);
  router.get(
    '/fragile',
    requireClientCert({
      onReject: () => {
        throw new Error('audit log unavailable');
      },
    }),
    show,
  );
  const app = new Koa();
  app.use(async (ctx, next) => {
    const trace = ctx.get('x-trace');
    if (trace) {
      if (!socketsByTrace.has(trace)) socketsByTrace.set(trace, new Set());
      socketsByTrace.get(trace)!.add(ctx.req.socket);
    }
    try {
      await next();
    } catch (err) {
      caught.push(err);
      const e = err as Partial<CertgateError>;
      ctx.status = typeof e.status === 'number' ? e.status : 500;
      ctx.body = { handledBy: 'app', code: e.code, status: e.status, isCertgateError: err instanceof CertgateError };
    }
  });
  app.use(router.routes()).use(router.allowedMethods());
  routed = await startHttps(pki, app.callback());

  // app.use(requireClientCert()) for the whole app; trust and CRL from the server.
  const globalApp = new Koa();
  globalApp.use(requireClientCert());
  globalApp.use(show);
  global = await startHttps(pki, globalApp.callback(), { crl: pki.crl });

  // forwardErrors with Koa's own error handling: the status comes from the error.
  const forwardingApp = new Koa();
  forwardingApp.on('error', (err: unknown) => appErrors.push(err));
  forwardingApp.use(requireClientCert({ forwardErrors: true, roles: ['customer'], identify: customers }));
  forwardingApp.use(show);
  forwarding = await startHttps(pki, forwardingApp.callback(), { crl: pki.crl });

  const noCaApp = new Koa();
  noCaApp.use(requireClientCert());
  noCaApp.use(show);
  withoutCa = await startHttps(pki, noCaApp.callback(), { ca: undefined });
});

afterAll(async () => {
  await Promise.all([routed, global, forwarding, withoutCa].map((s) => s?.close()));
});

const as = (client: TestPki['alice'] | undefined, path: string, server = () => routed): Promise<Reply> =>
  get(server().port, path, { ca: pki.ca, ...(client ? { client } : {}) });

describe('Koa 3 + @koa/router: route guards', () => {
  it('serves /public without a client certificate (supertest)', async () => {
    const res = await request(routed.server).get('/public').ca(pki.ca);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ hasCert: false });
  });

  it('refuses /banking without a certificate: 401 CERT_MISSING (supertest)', async () => {
    const res = await request(routed.server).get('/banking/balance').ca(pki.ca);
    expectProblem(res, 401, 'CERT_MISSING');
  });

  it('lets alice in: ctx.state.clientCert carries user, roles and certificate (supertest)', async () => {
    const res = await request(routed.server).get('/banking/balance').ca(pki.ca).cert(pki.alice.cert).key(pki.alice.key);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ hasCert: true, user: 'alice', roles: ['customer'], cn: 'alice', chainLength: 3 });
  });

  it('bob: 403 ROLE_FORBIDDEN', async () => {
    expectProblem(await as(pki.bob, '/banking/balance'), 403, 'ROLE_FORBIDDEN');
  });

  it('mallory: 401 CERT_REVOKED', async () => {
    expectProblem(await as(pki.mallory, '/banking/balance'), 401, 'CERT_REVOKED');
  });

  it('eve: 401 CERT_EXPIRED', async () => {
    expectProblem(await as(pki.eve, '/banking/balance'), 401, 'CERT_EXPIRED');
  });

  it('a client of an unrelated CA: 401 CERT_UNTRUSTED', async () => {
    expectProblem(await as(other.alice, '/banking/balance'), 401, 'CERT_UNTRUSTED');
  });

  it('a verified certificate that maps to no user: 403 IDENTITY_UNKNOWN', async () => {
    expectProblem(await as(pki.alice, '/partners/feed'), 403, 'IDENTITY_UNKNOWN');
  });

  it('a stale CRL for the issuer: 503 REVOCATION_UNKNOWN (the same certificate passes without the CRL)', async () => {
    expect((await as(stale.alice, '/stale-without-crl/balance')).status).toBe(200);
    expectProblem(await as(stale.alice, '/stale/balance'), 503, 'REVOCATION_UNKNOWN');
  });

  it('the guard on one route does not touch the others: alice reaches /public too', async () => {
    const reply = await as(pki.alice, '/public');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ hasCert: false });
  });

  it('two route guards on one shared verifier decide roles independently', async () => {
    expect((await as(pki.alice, '/admin/panel')).body).toMatchObject({ user: 'alice', roles: ['admin'] });
    expectProblem(await as(pki.bob, '/admin/panel'), 403, 'ROLE_FORBIDDEN');
    const bobMe = await as(pki.bob, '/me');
    expect(bobMe.status).toBe(200);
    expect(bobMe.body).toMatchObject({ user: 'bob', roles: [] });
    expectProblem(await as(pki.mallory, '/me'), 401, 'CERT_REVOKED');
  });

  it('keep-alive: one connection, three requests, all 200', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const replies: Reply[] = [];
      for (let i = 0; i < 3; i++)
        replies.push(
          await get(routed.port, '/banking/balance', {
            ca: pki.ca,
            client: pki.alice,
            agent,
            headers: { 'x-trace': 'koa-keep-alive' },
          }),
        );
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(replies.map((r) => r.body.user)).toEqual(['alice', 'alice', 'alice']);
      expect(socketsByTrace.get('koa-keep-alive')?.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });
});

describe('Koa 3: forwardErrors and onReject', () => {
  it('forwardErrors: a try/catch middleware sees the CertgateError and its code', async () => {
    caught.length = 0;
    const missing = await as(undefined, '/forwarded/balance');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ handledBy: 'app', code: 'CERT_MISSING', status: 401, isCertgateError: true });
    const forbidden = await as(pki.bob, '/forwarded/balance');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ handledBy: 'app', code: 'ROLE_FORBIDDEN' });
    expect(caught).toHaveLength(2);
    expect(caught[0]).toBeInstanceOf(CertgateError);
    expect((caught[1] as CertgateError).code).toBe('ROLE_FORBIDDEN');

    const ok = await as(pki.alice, '/forwarded/balance');
    expect(ok.status).toBe(200);
    expect(ok.body.user).toBe('alice');
    expect(caught).toHaveLength(2);
  });

  it("forwardErrors: Koa's own error handling answers with the error's status; the 'error' listener sees .code", async () => {
    appErrors.length = 0;
    const missing = await as(undefined, '/anything', () => forwarding);
    expect(missing.status).toBe(401);
    // Koa exposes the message of a 4xx error (expose: true): the public message, nothing else.
    expect(missing.text).toBe('A client certificate is required.');
    const revoked = await as(pki.mallory, '/anything', () => forwarding);
    expect(revoked.status).toBe(401);
    const forbidden = await as(pki.bob, '/anything', () => forwarding);
    expect(forbidden.status).toBe(403);
    expect(appErrors.map((e) => (e as CertgateError).code)).toEqual(['CERT_MISSING', 'CERT_REVOKED', 'ROLE_FORBIDDEN']);
    expect(appErrors.every((e) => e instanceof CertgateError)).toBe(true);

    const ok = await as(pki.alice, '/anything', () => forwarding);
    expect(ok.status).toBe(200);
    expect(ok.body.user).toBe('alice');
    expect(appErrors).toHaveLength(3);
  });

  it('onReject is called with each refusal; its detail names the certificate and stays server-side', async () => {
    rejections.length = 0;
    const revoked = await as(pki.mallory, '/audited/balance');
    expectProblem(revoked, 401, 'CERT_REVOKED');
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.code).toBe('CERT_REVOKED');
    expect(rejections[0]!.detail).toMatch(/mallory/);
    expect(revoked.text).not.toContain(rejections[0]!.detail);
    expect((await as(pki.alice, '/audited/balance')).status).toBe(200);
    expect(rejections).toHaveLength(1);
  });

  it('onReject that throws: the refusal is still answered, and the app sees no error', async () => {
    caught.length = 0;
    const reply = await get(routed.port, '/fragile', { ca: pki.ca, giveUpAfterMs: 3000 });
    expectProblem(reply, 401, 'CERT_MISSING');
    expect(caught).toHaveLength(0);
  });
});

describe('Koa 3: app.use(requireClientCert()) for the whole app', () => {
  it("trusts the server's ca and honours its crl", async () => {
    const alice = await as(pki.alice, '/whatever', () => global);
    expect(alice.status).toBe(200);
    expect(alice.body).toMatchObject({ hasCert: true, user: 'alice', roles: [], cn: 'alice' });
    expectProblem(await as(pki.mallory, '/whatever', () => global), 401, 'CERT_REVOKED');
    expectProblem(await as(undefined, '/whatever', () => global), 401, 'CERT_MISSING');
    expectProblem(await as(pki.eve, '/whatever', () => global), 401, 'CERT_EXPIRED');
    expectProblem(await as(other.alice, '/whatever', () => global), 401, 'CERT_UNTRUSTED');
  });

  it('on a server created without `ca`: 500 CONFIG_INVALID, never 200', async () => {
    for (const client of [pki.alice, pki.bob])
      expectProblem(await as(client, '/', () => withoutCa), 500, 'CONFIG_INVALID');
    expectProblem(await as(undefined, '/', () => withoutCa), 500, 'CONFIG_INVALID');
  });
});

describe('Koa 3: configuration errors at creation', () => {
  it('throws CertgateError CONFIG_INVALID', () => {
    const verifier = createVerifier({ ca: pki.ca });
    const cases: Array<() => unknown> = [
      () => requireClientCert({ foo: 1 } as never),
      () => requireClientCert({ roles: 'admin' as never }),
      () => requireClientCert({ verifier, ca: pki.ca }),
      () => requireClientCert({ forwardErrors: 1 as never }),
    ];
    for (const fn of cases) {
      let thrown: unknown;
      try {
        fn();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(CertgateError);
      expect((thrown as CertgateError).code).toBe('CONFIG_INVALID');
    }
  });
});
