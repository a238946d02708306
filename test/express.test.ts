import https from 'node:https';
import type { Socket } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byCommonName, CertgateError, createVerifier } from 'certgate';
import { requireClientCert } from 'certgate/express';
import {
  crlBlocks,
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

const PUBLIC_REVOKED = 'The client certificate or one of its issuers has been revoked.';

let pki: TestPki;
/** Same names as `pki` (a second dev PKI), different keys: nothing it issued is trusted. */
let foreign: FullTestPki;
/** A CA with its own names and a client certificate for CN=alice. */
let other: { ca: Buffer; alice: TestPki['alice'] };
/** Generated 40 days ago: certificates still valid, CRL nextUpdate (30 days) long past. */
let stale: FullTestPki;

let main: RunningServer;
let serverWithCrl: RunningServer;
let serverWithoutCa: RunningServer;
let collide: RunningServer;

/** Errors the main app's error handler received (forwardErrors). */
const forwarded: unknown[] = [];
/** Errors passed to onReject on /audited. */
const rejections: CertgateError[] = [];
/** Server-side sockets seen per `x-trace` header value. */
const socketsByTrace = new Map<string, Set<Socket>>();

type ClientCertView = {
  user?: string;
  roles?: readonly string[];
  cn?: unknown;
  issuerCN?: unknown;
  chainLength?: number;
};
const show = (req: Request, res: Response): void => {
  const c = req.clientCert;
  const view: ClientCertView & { hasCert: boolean } = {
    hasCert: c !== undefined,
    user: c?.user,
    roles: c?.roles,
    cn: c?.certificate.subject.CN,
    issuerCN: c?.certificate.issuer.CN,
    chainLength: c?.chain.length,
  };
  res.json(view);
};

function configErrorOf(fn: () => unknown): CertgateError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CertgateError);
    return err as CertgateError;
  }
  throw new Error('expected a CertgateError, nothing was thrown');
}

beforeAll(async () => {
  [pki, foreign, stale, other] = await Promise.all([
    makePki(),
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

  // Main app: server with `ca` (dev root) and no `crl`; guards take the server's ca unless given one.
  const app = express();
  app.use((req, _res, next) => {
    const trace = req.get('x-trace');
    if (trace) {
      if (!socketsByTrace.has(trace)) socketsByTrace.set(trace, new Set());
      socketsByTrace.get(trace)!.add(req.socket);
    }
    next();
  });
  app.get('/public', show);
  app.use('/banking', requireClientCert({ crl: pki.crl, roles: ['customer'], identify: customers }));
  app.get('/banking/balance', show);
  app.use('/partners', requireClientCert({ crl: pki.crl, identify: byCommonName({ carol: { roles: ['partner'] } }) }));
  app.get('/partners/feed', show);
  app.use('/stale', requireClientCert({ ca: stale.ca, crl: stale.crl }));
  app.get('/stale/balance', show);
  app.use('/stale-without-crl', requireClientCert({ ca: stale.ca }));
  app.get('/stale-without-crl/balance', show);
  app.use(
    '/forwarded',
    requireClientCert({ crl: pki.crl, roles: ['customer'], identify: customers, forwardErrors: true }),
  );
  app.get('/forwarded/balance', show);
  app.use('/audited', requireClientCert({ crl: pki.crl, onReject: (e) => rejections.push(e) }));
  app.get('/audited/balance', show);
  app.use(
    '/admin',
    requireClientCert({
      verifier,
      roles: ['admin'],
      identify: byCommonName({
        alice: { roles: ['admin'] },
        bob: { roles: ['teller'] },
        mallory: { roles: ['admin'] },
      }),
    }),
  );
  app.get('/admin/panel', show);
  app.use('/me', requireClientCert({ verifier }));
  app.get('/me', show);
  app.use('/default', requireClientCert());
  app.get('/default', show);
  app.use(
    '/identify-throws',
    requireClientCert({
      identify: () => {
        throw new Error('directory down');
      },
    }),
  );
  app.get('/identify-throws', show);
  app.use(
    '/fragile',
    requireClientCert({
      onReject: () => {
        throw new Error('audit log unavailable');
      },
    }),
  );
  app.get('/fragile', show);
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    forwarded.push(err);
    const e = err as Partial<CertgateError>;
    res.status(typeof e.status === 'number' ? e.status : 500).json({
      handledBy: 'app',
      path: req.path,
      code: e.code,
      status: e.status,
      isCertgateError: err instanceof CertgateError,
    });
  });
  main = await startHttps(pki, app);

  // The server's own `crl` option must be honoured by a guard created without options.
  const appWithCrl = express();
  appWithCrl.use(requireClientCert());
  appWithCrl.get('/whoami', show);
  serverWithCrl = await startHttps(pki, appWithCrl, { crl: pki.crl });

  // requestCert without `ca`: the guard has nothing to trust.
  const appWithoutCa = express();
  appWithoutCa.use(requireClientCert());
  appWithoutCa.get('/whoami', show);
  serverWithoutCa = await startHttps(pki, appWithoutCa, { ca: undefined });

  // Two guards taking `ca` from the server, with different CRLs.
  const [, rootCrlOnly] = crlBlocks(pki.crl);
  const appCollide = express();
  appCollide.use('/ca-revocation-only', requireClientCert({ crl: rootCrlOnly! }));
  appCollide.get('/ca-revocation-only', show);
  appCollide.use('/full-revocation', requireClientCert({ crl: pki.crl }));
  appCollide.get('/full-revocation', show);
  collide = await startHttps(pki, appCollide);
});

afterAll(async () => {
  await Promise.all([main, serverWithCrl, serverWithoutCa, collide].map((s) => s?.close()));
});

const as = (client: TestPki['alice'] | undefined, path: string, server = () => main): Promise<Reply> =>
  get(server().port, path, { ca: pki.ca, ...(client ? { client } : {}) });

describe('Express 5: /public and /banking (supertest)', () => {
  it('serves /public without a client certificate', async () => {
    const res = await request(main.server).get('/public').ca(pki.ca);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ hasCert: false });
  });

  it('refuses /banking without a client certificate: 401 CERT_MISSING as problem+json', async () => {
    const res = await request(main.server).get('/banking/balance').ca(pki.ca);
    expectProblem(res, 401, 'CERT_MISSING');
    expect(res.body.message).toBe('A client certificate is required.');
  });

  it('lets alice in and hands the handler her identity and certificate', async () => {
    const res = await request(main.server).get('/banking/balance').ca(pki.ca).cert(pki.alice.cert).key(pki.alice.key);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      hasCert: true,
      user: 'alice',
      roles: ['customer'],
      cn: 'alice',
      issuerCN: 'certgate Dev Intermediate CA',
      chainLength: 3,
    });
  });

  it('refuses bob, who holds no customer role: 403 ROLE_FORBIDDEN', async () => {
    const res = await request(main.server).get('/banking/balance').ca(pki.ca).cert(pki.bob.cert).key(pki.bob.key);
    expectProblem(res, 403, 'ROLE_FORBIDDEN');
  });

  it('refuses mallory, whose certificate is revoked: 401 CERT_REVOKED', async () => {
    const res = await request(main.server)
      .get('/banking/balance')
      .ca(pki.ca)
      .cert(pki.mallory.cert)
      .key(pki.mallory.key);
    expectProblem(res, 401, 'CERT_REVOKED');
  });
});

describe('Express 5: reason codes (node:https)', () => {
  it('refuses eve, whose certificate has expired: 401 CERT_EXPIRED', async () => {
    expectProblem(await as(pki.eve, '/banking/balance'), 401, 'CERT_EXPIRED');
  });

  it('refuses a certificate from an unrelated CA: 401 CERT_UNTRUSTED', async () => {
    expectProblem(await as(other.alice, '/banking/balance'), 401, 'CERT_UNTRUSTED');
  });

  it('refuses a certificate from a second dev PKI (same CA names, other keys): 401 CERT_UNTRUSTED', async () => {
    // The trusted root has the foreign intermediate's issuer name but another key (the AKI says
    // so): that is an unknown issuer, not a forged signature.
    expectProblem(await as(foreign.alice, '/banking/balance'), 401, 'CERT_UNTRUSTED');
  });

  it('refuses a verified certificate that maps to no user: 403 IDENTITY_UNKNOWN', async () => {
    expectProblem(await as(pki.alice, '/partners/feed'), 403, 'IDENTITY_UNKNOWN');
  });

  it('answers 503 REVOCATION_UNKNOWN when the only CRL for the issuer is stale', async () => {
    // Control: the same certificate verifies when no CRL is configured.
    const control = await as(stale.alice, '/stale-without-crl/balance');
    expect(control.status).toBe(200);
    expect(control.body.user).toBe('alice');
    expectProblem(await as(stale.alice, '/stale/balance'), 503, 'REVOCATION_UNKNOWN');
  });

  it('answers with the public message only: no stack trace, no certificate details', async () => {
    const reply = await as(pki.mallory, '/banking/balance');
    expectProblem(reply, 401, 'CERT_REVOKED');
    expect(reply.body).toEqual({
      type: 'urn:certgate:error:CERT_REVOKED',
      title: 'CERT_REVOKED',
      status: 401,
      detail: PUBLIC_REVOKED,
      code: 'CERT_REVOKED',
      message: PUBLIC_REVOKED,
    });
    expect(reply.headers['content-type']).toBe('application/problem+json');
  });
});

describe('Express 5: forwardErrors and onReject', () => {
  it('forwardErrors: the app error handler receives a CertgateError with code and status', async () => {
    forwarded.length = 0;
    const missing = await as(undefined, '/forwarded/balance');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({
      handledBy: 'app',
      path: '/forwarded/balance',
      code: 'CERT_MISSING',
      status: 401,
      isCertgateError: true,
    });

    const forbidden = await as(pki.bob, '/forwarded/balance');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ handledBy: 'app', code: 'ROLE_FORBIDDEN', status: 403 });

    const revoked = await as(pki.mallory, '/forwarded/balance');
    expect(revoked.status).toBe(401);
    expect(revoked.body).toMatchObject({ handledBy: 'app', code: 'CERT_REVOKED' });

    expect(forwarded).toHaveLength(3);
    const [first] = forwarded as CertgateError[];
    expect(first).toBeInstanceOf(CertgateError);
    expect(first!.code).toBe('CERT_MISSING');
    expect(first!.status).toBe(401);
    expect(first!.expose).toBe(true);

    const ok = await as(pki.alice, '/forwarded/balance');
    expect(ok.status).toBe(200);
    expect(ok.body.user).toBe('alice');
    expect(forwarded).toHaveLength(3);
  });

  it('onReject gets every refusal, with an operator detail naming the certificate', async () => {
    rejections.length = 0;
    const revoked = await as(pki.mallory, '/audited/balance');
    expectProblem(revoked, 401, 'CERT_REVOKED');
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toBeInstanceOf(CertgateError);
    expect(rejections[0]!.code).toBe('CERT_REVOKED');
    expect(rejections[0]!.detail).toMatch(/mallory/);
    expect(rejections[0]!.detail).toMatch(/revoked/);
    // The detail stays on the server.
    expect(revoked.text).not.toContain(rejections[0]!.detail);

    expectProblem(await as(undefined, '/audited/balance'), 401, 'CERT_MISSING');
    expect(rejections.map((e) => e.code)).toEqual(['CERT_REVOKED', 'CERT_MISSING']);

    expect((await as(pki.alice, '/audited/balance')).status).toBe(200);
    expect(rejections).toHaveLength(2);
  });
});

describe('Express 5: shared verifier', () => {
  it('two guards on one verifier decide roles independently', async () => {
    const aliceAdmin = await as(pki.alice, '/admin/panel');
    expect(aliceAdmin.status).toBe(200);
    expect(aliceAdmin.body).toMatchObject({ user: 'alice', roles: ['admin'] });

    expectProblem(await as(pki.bob, '/admin/panel'), 403, 'ROLE_FORBIDDEN');
    const bobMe = await as(pki.bob, '/me');
    expect(bobMe.status).toBe(200);
    expect(bobMe.body).toMatchObject({ user: 'bob', roles: [] });

    // The verifier's CRL applies to both guards.
    expectProblem(await as(pki.mallory, '/me'), 401, 'CERT_REVOKED');
    expectProblem(await as(pki.mallory, '/admin/panel'), 401, 'CERT_REVOKED');
  });
});

describe('Express 5: requireClientCert() without options takes the HTTPS server configuration', () => {
  it('trusts the server ca; default identity is the subject CN with no roles', async () => {
    const reply = await as(pki.alice, '/default');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ user: 'alice', roles: [], cn: 'alice' });
    expectProblem(await as(other.alice, '/default'), 401, 'CERT_UNTRUSTED');
    expectProblem(await as(undefined, '/default'), 401, 'CERT_MISSING');
  });

  it('control: on a server without `crl`, revocation is not checked', async () => {
    const reply = await as(pki.mallory, '/default');
    expect(reply.status).toBe(200);
    expect(reply.body.user).toBe('mallory');
  });

  it("honours the server's crl option: mallory 401 CERT_REVOKED, alice 200", async () => {
    const alice = await as(pki.alice, '/whoami', () => serverWithCrl);
    expect(alice.status).toBe(200);
    expect(alice.body).toMatchObject({ user: 'alice', roles: [] });
    expectProblem(await as(pki.mallory, '/whoami', () => serverWithCrl), 401, 'CERT_REVOKED');
    expectProblem(await as(pki.eve, '/whoami', () => serverWithCrl), 401, 'CERT_EXPIRED');
  });

  it('on a server created without `ca`: 500 CONFIG_INVALID for every certificate, never 200', async () => {
    for (const client of [pki.alice, pki.bob, other.alice]) {
      const reply = await as(client, '/whoami', () => serverWithoutCa);
      expectProblem(reply, 500, 'CONFIG_INVALID');
      expect(reply.text).not.toMatch(/README|option/);
    }
    // Configuration is decided first: without a certificate the answer is the same 500.
    expectProblem(await as(undefined, '/whoami', () => serverWithoutCa), 500, 'CONFIG_INVALID');
  });
});

describe('Express 5: configuration errors at creation', () => {
  it('rejects unknown options, a non-array roles, and verifier together with ca', () => {
    const verifier = createVerifier({ ca: pki.ca });
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['unknown option', () => requireClientCert({ foo: 1 } as never), /foo/],
      ['roles as a string', () => requireClientCert({ roles: 'admin' as never }), /roles/],
      ['empty roles', () => requireClientCert({ roles: [] }), /roles/],
      ['verifier and ca', () => requireClientCert({ verifier, ca: pki.ca }), /verifier/],
      ['forwardErrors not boolean', () => requireClientCert({ forwardErrors: 'yes' as never }), /forwardErrors/],
      ['onReject not a function', () => requireClientCert({ onReject: 'log' as never }), /onReject/],
      ['identify not a function', () => requireClientCert({ identify: {} as never }), /identify/],
      ['unparseable ca', () => requireClientCert({ ca: 'not a certificate' }), /ca/],
    ];
    for (const [name, fn, mentions] of cases) {
      const err = configErrorOf(fn);
      expect({ name, code: err.code, status: err.status }).toEqual({ name, code: 'CONFIG_INVALID', status: 500 });
      expect(err.message).toMatch(mentions);
    }
  });
});

describe('Express 5: keep-alive', () => {
  it('serves five requests on one TLS connection, all 200', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const replies: Reply[] = [];
      for (let i = 0; i < 5; i++) {
        replies.push(
          await get(main.port, '/banking/balance', {
            ca: pki.ca,
            client: pki.alice,
            agent,
            headers: { 'x-trace': 'keep-alive' },
          }),
        );
      }
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(replies.every((r) => r.body.user === 'alice')).toBe(true);
      expect(socketsByTrace.get('keep-alive')?.size).toBe(1);
      expect(new Set(replies.map((r) => r.socket)).size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('keeps refusing on a kept-alive connection (cached refusal)', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const replies: Reply[] = [];
      for (let i = 0; i < 3; i++) {
        replies.push(
          await get(main.port, '/banking/balance', {
            ca: pki.ca,
            client: pki.mallory,
            agent,
            headers: { 'x-trace': 'keep-alive-revoked' },
          }),
        );
      }
      for (const r of replies) expectProblem(r, 401, 'CERT_REVOKED');
      expect(socketsByTrace.get('keep-alive-revoked')?.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });
});

describe('Express 5: failures inside the guard', () => {
  it('identify() that throws: 500, never 200', async () => {
    forwarded.length = 0;
    const reply = await as(pki.alice, '/identify-throws');
    // Without forwardErrors the guard answers itself: problem+json, nothing forwarded, no stack.
    expectProblem(reply, 500, 'CONFIG_INVALID');
    expect(forwarded).toHaveLength(0);
  });

  it('onReject that throws still ends the request (no hang, no unhandled rejection)', async () => {
    // Regression: a throwing onReject on the first (uncached) decision once left the request
    // unanswered with an unhandled rejection. The refusal must still be sent.
    const reply = await get(main.port, '/fragile', { ca: pki.ca, giveUpAfterMs: 3000 });
    expectProblem(reply, 401, 'CERT_MISSING');
  });
});

describe('Express 5: guards taking ca from the server, with different crl options', () => {
  it('each guard applies its own CRL', async () => {
    // Guard A checks only the root's CRL (the intermediate is not revoked): mallory passes A.
    const a = await as(pki.mallory, '/ca-revocation-only', () => collide);
    expect(a.status).toBe(200);
    // Regression: guard.ts once cached server-derived verifiers under JSON.stringify(options),
    // where every Buffer `crl` serialised to `{}`, so guard B below reused guard A's verifier and
    // accepted mallory's revoked certificate.
    expectProblem(await as(pki.mallory, '/full-revocation', () => collide), 401, 'CERT_REVOKED');
  });
});
