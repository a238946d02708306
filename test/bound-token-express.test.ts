/**
 * RFC 8705 certificate-bound access tokens on Express 5 over real TLS: requireClientCert(), then a
 * token middleware (a jose verifier, or express-oauth2-jwt-bearer with a JWKS on 127.0.0.1), then
 * requireBoundToken().
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { auth } from 'express-oauth2-jwt-bearer';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byCommonName, type CertgateError } from 'certgate';
import { requireBoundToken, requireClientCert } from 'certgate/express';
import { curl, expectProblem, get, makePki, startHttps, type RunningServer, type TestPki } from './helpers/clients.js';
import { AUDIENCE, ISSUER, makeIssuer, opensslThumbprint, swapCase, type Issuer } from './helpers/tokens.js';

const CHALLENGE =
  'Bearer error="invalid_token", ' +
  'error_description="The access token is not bound to the client certificate of this connection."';

declare module 'http' {
  interface IncomingMessage {
    /** Set by the jose token middleware of this test. */
    token?: JWTPayload;
  }
}

let pki: TestPki;
let issuer: Issuer;
let server: RunningServer;
const rejections: CertgateError[] = [];
const tokens: Record<string, string> = {};
let alice: string;
let bob: string;

const users = byCommonName({ alice: { roles: ['customer'] }, bob: { roles: ['customer'] } });

/** A minimal token middleware: the verified payload on `req.token`, nothing for no or a bad token. */
const joseToken = (req: Request, _res: Response, next: NextFunction): void => {
  issuer.verify(req.get('authorization')).then((payload) => {
    req.token = payload;
    next();
  }, next);
};
const show = (req: Request, res: Response): void => {
  res.json({ user: req.clientCert?.user, sub: (req.token ?? req.auth?.payload)?.sub });
};

beforeAll(async () => {
  [pki, issuer] = await Promise.all([makePki(), makeIssuer()]);
  await issuer.serveJwks();
  alice = opensslThumbprint(pki.alice.cert);
  bob = opensslThumbprint(pki.bob.cert);
  const mint = (cnf?: unknown) => issuer.mint(cnf === undefined ? {} : { cnf });
  Object.assign(tokens, {
    alice: await mint({ 'x5t#S256': alice }),
    bob: await mint({ 'x5t#S256': bob }),
    none: await mint(),
    emptyCnf: await mint({}),
    cnfString: await mint(alice),
    number: await mint({ 'x5t#S256': 42 }),
    swapped: await mint({ 'x5t#S256': swapCase(alice) }),
    padded: await mint({ 'x5t#S256': `${alice}=` }),
    hex: await mint({ 'x5t#S256': Buffer.from(alice, 'base64url').toString('hex') }),
    jkt: await mint({ jkt: alice }),
    both: await mint({ 'x5t#S256': alice, jkt: 'another-key' }),
  });

  const guard = requireClientCert({ crl: pki.crl, identify: users });
  const bearer = auth({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: issuer.jwksUri,
    // Its own proof-of-possession checks off: certgate binds the token to the verified certificate.
    dpop: { enabled: false },
    mtls: { enabled: false },
  });
  const app = express();
  app.get('/thumbprint', guard, (req, res) => {
    res.json({ thumbprint: req.clientCert?.thumbprint });
  });
  app.get('/api/balance', guard, joseToken, requireBoundToken({ claims: (req) => req.token }), show);
  app.get(
    '/audited/balance',
    guard,
    joseToken,
    requireBoundToken({ claims: (req) => req.token, onReject: (e) => rejections.push(e) }),
    show,
  );
  app.get('/oauth2/balance', guard, bearer, requireBoundToken({ claims: (req) => req.auth?.payload }), show);
  // express-oauth2-jwt-bearer 1.10's own binding, fed the certificate certgate verified.
  app.get(
    '/oauth2-own-binding/balance',
    guard,
    auth({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: issuer.jwksUri,
      dpop: { enabled: false },
      mtls: { enabled: true, required: true },
      getCertificate: (req) => req.clientCert?.certificate.raw,
    }),
    show,
  );
  // Wiring mistakes: no guard before it, a claims function that throws or returns the raw token.
  app.get('/unguarded/balance', joseToken, requireBoundToken({ claims: (req) => req.token }), show);
  app.get(
    '/throws/balance',
    guard,
    requireBoundToken({ claims: (req) => (req as { missing?: { payload: object } }).missing!.payload }),
    show,
  );
  app.get(
    '/raw-token/balance',
    guard,
    requireBoundToken({ claims: (req) => req.headers.authorization as unknown as object }),
    show,
  );
  app.get(
    '/forwarded/balance',
    guard,
    joseToken,
    requireBoundToken({ claims: (req) => req.token, forwardErrors: true }),
    show,
  );
  server = await startHttps(pki, app);
});

afterAll(async () => {
  await server?.close();
  await issuer?.close();
});

const call = (path: string, token: string | undefined, who: 'alice' | 'bob' | 'none' = 'alice') =>
  get(server.port, path, {
    ca: pki.ca,
    ...(who === 'none' ? {} : { client: pki[who] }),
    ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
  });

const refused = (reply: Awaited<ReturnType<typeof call>>): void => {
  expectProblem(reply, 401, 'TOKEN_NOT_BOUND');
  expect(reply.headers['www-authenticate']).toBe(CHALLENGE);
};

describe('requireBoundToken on Express, jose-verified tokens', () => {
  it('computes clientCert.thumbprint as OpenSSL does (base64url SHA-256 of the DER, no padding)', async () => {
    expect(alice).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await call('/thumbprint', undefined)).body).toEqual({ thumbprint: alice });
    expect((await call('/thumbprint', undefined, 'bob')).body).toEqual({ thumbprint: bob });
  });

  it("passes a token whose cnf x5t#S256 is the client certificate's", async () => {
    const reply = await call('/api/balance', tokens.alice);
    expect([reply.status, reply.body]).toEqual([200, { user: 'alice', sub: 'client-1' }]);
    expect(reply.headers['www-authenticate']).toBeUndefined();
    expect(await call('/api/balance', tokens.bob, 'bob')).toMatchObject({ status: 200, body: { user: 'bob' } });
  });

  it("refuses alice's connection with a token bound to bob's certificate, and the other way round", async () => {
    refused(await call('/api/balance', tokens.bob, 'alice'));
    refused(await call('/api/balance', tokens.alice, 'bob'));
  });

  it.each([
    ['no cnf claim', 'none'],
    ['an empty cnf', 'emptyCnf'],
    ['cnf a string', 'cnfString'],
    ['x5t#S256 a number', 'number'],
    ['the thumbprint with its case changed', 'swapped'],
    ['the thumbprint with base64 padding', 'padded'],
    ['the thumbprint in hex', 'hex'],
    ['only a DPoP jkt', 'jkt'],
  ])('refuses a token with %s', async (_what, name) => {
    refused(await call('/api/balance', tokens[name]));
  });

  it('ignores other confirmation members beside a matching x5t#S256', async () => {
    expect((await call('/api/balance', tokens.both)).status).toBe(200);
  });

  it('refuses a request without a token (no claims), and one with a token that does not verify', async () => {
    refused(await call('/api/balance', undefined));
    refused(await call('/api/balance', `${tokens.alice}x`));
  });

  it('leaves a request without a client certificate to the guard (401 CERT_MISSING, no Bearer challenge)', async () => {
    const reply = await call('/api/balance', tokens.alice, 'none');
    expectProblem(reply, 401, 'CERT_MISSING');
    expect(reply.headers['www-authenticate']).toBeUndefined();
  });

  it('tells onReject why, with both thumbprints in the operator detail only', async () => {
    rejections.length = 0;
    const reply = await call('/audited/balance', tokens.bob);
    refused(reply);
    expect(rejections.map((e) => e.code)).toEqual(['TOKEN_NOT_BOUND']);
    expect(rejections[0]!.detail).toContain(alice);
    expect(rejections[0]!.detail).toContain(bob);
    expect(reply.text).not.toContain(alice);
  });

  it("forwards the refusal to Express's error handler, which sends the challenge from err.headers", async () => {
    const reply = await call('/forwarded/balance', tokens.bob);
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe(CHALLENGE);
  });
});

describe('requireBoundToken on Express, wiring mistakes fail closed', () => {
  it('answers 500 CONFIG_INVALID without requireClientCert() before it, even for a bound token', async () => {
    const reply = await call('/unguarded/balance', tokens.alice);
    expectProblem(reply, 500, 'CONFIG_INVALID');
    expect(reply.headers['www-authenticate']).toBeUndefined();
  });

  it('answers 500 CONFIG_INVALID when claims throws or returns the raw token string', async () => {
    for (const path of ['/throws/balance', '/raw-token/balance']) {
      const reply = await call(path, tokens.alice);
      expectProblem(reply, 500, 'CONFIG_INVALID');
      // The public message only: neither the app's exception nor certgate's diagnosis reaches the client.
      expect(reply.body.message).toBe('Client certificate authentication is misconfigured on this server.');
    }
  });
});

describe('requireBoundToken after express-oauth2-jwt-bearer (JWKS on 127.0.0.1, its DPoP and mTLS off)', () => {
  it('passes a bound token it verified, and refuses one bound to another certificate', async () => {
    const ok = await call('/oauth2/balance', tokens.alice);
    expect([ok.status, ok.body]).toEqual([200, { user: 'alice', sub: 'client-1' }]);
    refused(await call('/oauth2/balance', tokens.bob));
    refused(await call('/oauth2/balance', tokens.swapped));
    refused(await call('/oauth2/balance', tokens.none));
  });

  it('leaves a missing or bad token to express-oauth2-jwt-bearer (its own 401)', async () => {
    const missing = await call('/oauth2/balance', undefined);
    expect(missing.status).toBe(401);
    expect(missing.headers['content-type']).not.toMatch(/problem/);
  });

  it('can bind by itself with getCertificate: (req) => req.clientCert?.certificate.raw', async () => {
    expect((await call('/oauth2-own-binding/balance', tokens.alice)).status).toBe(200);
    const bound = await call('/oauth2-own-binding/balance', tokens.bob);
    expect(bound.status).toBe(401);
    expect(bound.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
    expect((await call('/oauth2-own-binding/balance', tokens.none)).status).toBe(401);
  });
});

describe('requireBoundToken with curl', () => {
  it('answers a client certificate plus Authorization: Bearer, and sends the challenge when not bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certgate-bound-'));
    writeFileSync(join(dir, 'ca.pem'), pki.ca);
    writeFileSync(join(dir, 'alice.pem'), pki.alice.cert);
    writeFileSync(join(dir, 'alice-key.pem'), pki.alice.key);
    const args = (token: string, headers: string) => [
      ...['--cacert', join(dir, 'ca.pem'), '--cert', join(dir, 'alice.pem'), '--key', join(dir, 'alice-key.pem')],
      ...['--header', `Authorization: Bearer ${token}`, '--dump-header', headers],
    ];
    const ok = await curl(`${server.url}/oauth2/balance`, args(tokens.alice!, join(dir, 'ok.txt')));
    expect([ok.status, ok.body]).toEqual([200, { user: 'alice', sub: 'client-1' }]);
    const no = await curl(`${server.url}/oauth2/balance`, args(tokens.bob!, join(dir, 'no.txt')));
    expect([no.status, no.contentType, no.body.code]).toEqual([401, 'application/problem+json', 'TOKEN_NOT_BOUND']);
    expect(readFileSync(join(dir, 'no.txt'), 'utf8')).toContain(`www-authenticate: ${CHALLENGE}\r\n`);
  });
});
