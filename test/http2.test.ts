/**
 * HTTP/2: Node gives every stream its own socket proxy, so a guard that remembered verdicts per
 * socket object verified the certificate again for every request. The TLS source keys the
 * connection by its HTTP/2 session: one verification per session, however many streams, also
 * when they are opened at once. Real TLS, real HTTP/2 clients (node:http2 and curl).
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCertGuard, createVerifier, type Verifier } from 'certgate';
import { requireClientCert, type ClientCertState } from 'certgate/koa';
import { curl, makePki, type FullTestPki } from './helpers/clients.js';

let pki: FullTestPki;
let verifier: Verifier;
let verifications = 0;
const servers: http2.Http2SecureServer[] = [];

beforeAll(async () => {
  pki = await makePki();
  verifier = createVerifier({ ca: pki.ca, crl: pki.crl });
  const verify = verifier.verify.bind(verifier);
  verifier.verify = (...args) => {
    verifications++;
    return verify(...args);
  };
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  verifier.close();
});

async function listen(handler: Parameters<typeof http2.createSecureServer>[1]): Promise<string> {
  const server = http2.createSecureServer(
    {
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca,
      requestCert: true,
      rejectUnauthorized: false,
      allowHTTP1: true,
    },
    handler,
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://localhost:${(server.address() as AddressInfo).port}`;
}

/** `n` requests on ONE HTTP/2 session, all at once or one after the other. */
async function onOneSession(
  origin: string,
  client: { cert: Buffer; key: Buffer } | undefined,
  n: number,
  together: boolean,
) {
  const session = http2.connect(origin, { ca: pki.ca, ...(client ?? {}), servername: 'localhost' });
  const one = () =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = session.request({ ':path': '/banking' });
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => resolve({ status, body }));
      req.on('error', reject);
      req.end();
    });
  try {
    if (together) return await Promise.all(Array.from({ length: n }, one));
    const replies = [];
    for (let i = 0; i < n; i++) replies.push(await one());
    return replies;
  } finally {
    session.close();
  }
}

describe('Koa on an HTTP/2 server', () => {
  let origin: string;
  beforeAll(async () => {
    const app = new Koa<ClientCertState>();
    app.use(
      requireClientCert({
        verifier,
        roles: ['customer'],
        identify: (c) => ({ user: String(c.subject.CN), roles: ['customer'] }),
      }),
    );
    app.use((ctx) => {
      ctx.body = { user: ctx.state.clientCert.user, http: ctx.req.httpVersion };
    });
    origin = await listen(app.callback());
  });

  it('5 requests one after the other on one session: 5 answers, 1 verification', async () => {
    verifications = 0;
    const replies = await onOneSession(origin, pki.alice, 5, false);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(JSON.parse(replies[0]?.body ?? '')).toEqual({ user: 'alice', http: '2.0' });
    expect(verifications).toBe(1);
  });

  it('5 streams opened at once on a new session of a new client: still 1 verification', async () => {
    verifications = 0;
    const replies = await onOneSession(origin, pki.bob, 5, true);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(verifications).toBe(1);
  });

  it("a known client's next sessions reuse its verification: no verification at all", async () => {
    verifications = 0;
    await onOneSession(origin, pki.alice, 2, false);
    await onOneSession(origin, pki.alice, 2, true);
    expect(verifications).toBe(0);
  });

  it('refuses a revoked certificate on every stream, and a session without a certificate with CERT_MISSING', async () => {
    const revoked = await onOneSession(origin, pki.mallory, 3, true);
    expect(revoked.map((r) => [r.status, JSON.parse(r.body).code])).toEqual(Array(3).fill([401, 'CERT_REVOKED']));
    const missing = await onOneSession(origin, undefined, 2, false);
    expect(missing.map((r) => [r.status, JSON.parse(r.body).code])).toEqual(Array(2).fill([401, 'CERT_MISSING']));
  });

  it('curl over HTTP/2 and over HTTP/1.1 (allowHTTP1) gets the same answer', async () => {
    const args = [
      '--cacert',
      pki.files.caBundle,
      '--cert',
      pki.files.clients.alice.cert,
      '--key',
      pki.files.clients.alice.key,
    ];
    const h2 = await curl(`${origin}/banking`, ['--http2', ...args]);
    const h1 = await curl(`${origin}/banking`, ['--http1.1', ...args]);
    expect([h2.status, h2.body]).toEqual([200, { user: 'alice', http: '2.0' }]);
    expect([h1.status, h1.body]).toEqual([200, { user: 'alice', http: '1.1' }]);
  });
});

describe('plain node:http2 with the framework-free guard', () => {
  it('clientCertGuard().check(req) on Http2ServerRequest: one verification per session', async () => {
    const guard = clientCertGuard({ verifier });
    const origin = await listen(async (req, res) => {
      const outcome = guard.cached(req) ?? (await guard.check(req));
      res.statusCode = outcome.ok ? 200 : outcome.error.status;
      res.end(outcome.ok ? outcome.clientCert.user : outcome.error.code);
    });
    verifications = 0;
    const replies = await onOneSession(origin, pki.bob, 4, false);
    expect(replies).toEqual(Array(4).fill({ status: 200, body: 'bob' }));
    expect(verifications).toBe(1);
  });
});
