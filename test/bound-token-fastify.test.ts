/**
 * RFC 8705 certificate-bound access tokens on Fastify 5 over real TLS: requireClientCert() as the
 * onRequest hook, then preHandler hooks: a jose token check, then requireBoundToken().
 */
import type { AddressInfo } from 'node:net';
import fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byCommonName, type CertgateError } from 'certgate';
import { requireBoundToken, requireClientCert } from 'certgate/fastify';
import { curl, expectProblem, get, makePki, type TestPki } from './helpers/clients.js';
import { makeIssuer, opensslThumbprint, swapCase, type Issuer } from './helpers/tokens.js';

const CHALLENGE =
  'Bearer error="invalid_token", ' +
  'error_description="The access token is not bound to the client certificate of this connection."';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by this test's token hook (as @fastify/jwt sets `request.user`). */
    token?: JWTPayload;
  }
}

let pki: TestPki;
let issuer: Issuer;
let app: FastifyInstance;
let port: number;
const rejections: CertgateError[] = [];
const forwarded: unknown[] = [];
const tokens: Record<string, string> = {};

const verifyToken = async (request: FastifyRequest): Promise<void> => {
  request.token = await issuer.verify(request.headers.authorization);
};

beforeAll(async () => {
  [pki, issuer] = await Promise.all([makePki(), makeIssuer()]);
  const alice = opensslThumbprint(pki.alice.cert);
  const mint = (cnf?: unknown) => issuer.mint(cnf === undefined ? {} : { cnf });
  Object.assign(tokens, {
    alice: await mint({ 'x5t#S256': alice }),
    bob: await mint({ 'x5t#S256': opensslThumbprint(pki.bob.cert) }),
    none: await mint(),
    swapped: await mint({ 'x5t#S256': swapCase(alice) }),
  });

  const tls = { key: pki.server.key, cert: pki.server.cert, ca: pki.ca, requestCert: true, rejectUnauthorized: false };
  app = fastify({ https: tls });
  const guard = requireClientCert({ crl: pki.crl, identify: byCommonName({ alice: {}, bob: {} }) });
  const show = async (request: FastifyRequest) => ({ user: request.clientCert.user, sub: request.token?.sub });
  const bound = requireBoundToken({ claims: (request) => request.token });
  app.get('/api/balance', { onRequest: guard, preHandler: [verifyToken, bound] }, show);
  app.get(
    '/audited/balance',
    {
      onRequest: guard,
      preHandler: [verifyToken, requireBoundToken({ claims: (r) => r.token, onReject: (e) => rejections.push(e) })],
    },
    show,
  );
  app.get('/unguarded/balance', { preHandler: [verifyToken, bound] }, show);
  await app.register(async (child) => {
    child.setErrorHandler(async (error: CertgateError, _request, reply) => {
      forwarded.push(error);
      return { handledBy: 'app', code: error.code, statusCode: reply.statusCode };
    });
    child.get(
      '/forwarded/balance',
      {
        onRequest: guard,
        preHandler: [verifyToken, requireBoundToken({ claims: (r) => r.token, forwardErrors: true })],
      },
      show,
    );
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app?.close();
});

const call = (path: string, token: string | undefined) =>
  get(port, path, {
    ca: pki.ca,
    client: pki.alice,
    ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
  });

describe('requireBoundToken on Fastify 5', () => {
  it('passes a token bound to the connection certificate', async () => {
    const reply = await call('/api/balance', tokens.alice);
    expect([reply.status, reply.body]).toEqual([200, { user: 'alice', sub: 'client-1' }]);
  });

  it.each([['bob'], ['none'], ['swapped'], [undefined]])(
    'refuses token %s with 401 TOKEN_NOT_BOUND, problem+json without a charset, and the challenge',
    async (name) => {
      const reply = await call('/api/balance', name === undefined ? undefined : tokens[name]);
      expectProblem(reply, 401, 'TOKEN_NOT_BOUND');
      expect(reply.headers['content-type']).toBe('application/problem+json');
      expect(reply.headers['www-authenticate']).toBe(CHALLENGE);
    },
  );

  it('onReject hears of the refusal', async () => {
    rejections.length = 0;
    await call('/audited/balance', tokens.bob);
    expect(rejections.map((e) => e.code)).toEqual(['TOKEN_NOT_BOUND']);
  });

  it('forwardErrors: the error handler gets the error, with status and challenge already on the reply', async () => {
    forwarded.length = 0;
    const reply = await call('/forwarded/balance', tokens.bob);
    expect([reply.status, reply.body]).toEqual([401, { handledBy: 'app', code: 'TOKEN_NOT_BOUND', statusCode: 401 }]);
    expect(reply.headers['www-authenticate']).toBe(CHALLENGE);
    expect(forwarded).toHaveLength(1);
  });

  it('answers 500 CONFIG_INVALID without requireClientCert() before it', async () => {
    const reply = await call('/unguarded/balance', tokens.alice);
    expectProblem(reply, 500, 'CONFIG_INVALID');
    expect(reply.headers['www-authenticate']).toBeUndefined();
  });

  it('answers curl with a client certificate and Authorization: Bearer (HTTP/1.1)', async () => {
    const { files } = pki;
    const args = (token: string) => [
      ...['--cacert', files.caBundle, '--cert', files.clients.alice.cert, '--key', files.clients.alice.key],
      ...['--header', `Authorization: Bearer ${token}`],
    ];
    const ok = await curl(`https://localhost:${port}/api/balance`, args(tokens.alice!));
    expect([ok.status, ok.body.user]).toEqual([200, 'alice']);
    const no = await curl(`https://localhost:${port}/api/balance`, args(tokens.bob!));
    expect([no.status, no.contentType, no.body.code]).toEqual([401, 'application/problem+json', 'TOKEN_NOT_BOUND']);
  });
});
