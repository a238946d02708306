/**
 * certgate/fastify on Fastify 5 and Fastify 4 (the `fastify4` alias), each over HTTP/1.1 (an
 * HTTPS server) and over HTTP/2 with HTTP/1.1 fallback (`http2: true, https: { allowHTTP1 }`).
 * Real TLS on 127.0.0.1, real client certificates from the dev PKI; HTTP/2 requests from
 * node:http2 and curl.
 */
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import fastify5 from 'fastify';
import fastify4 from 'fastify4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byCommonName, CertgateError, createVerifier, type Verifier } from 'certgate';
import { requireClientCert, type RequireClientCertOptions } from 'certgate/fastify';
import { curl, expectProblem, get, makePki, PROBLEM_KEYS, type Pem, type TestPki } from './helpers/clients.js';

const require = createRequire(import.meta.url);

let pki: TestPki;
/** Shared by the /counted routes: counts calls of verify() (one per certificate actually verified). */
let verifier: Verifier;
let verifications = 0;

beforeAll(async () => {
  pki = await makePki();
  verifier = createVerifier({ ca: pki.ca, crl: pki.crl });
  const verify = verifier.verify.bind(verifier);
  verifier.verify = (...args) => {
    verifications++;
    return verify(...args);
  };
});
afterAll(() => verifier?.close());

const customers = byCommonName({
  alice: { roles: ['customer'] },
  bob: { roles: [] },
  mallory: { roles: ['customer'] },
});

interface Variant {
  name: string;
  /** The framework's factory; untyped here so that one builder serves Fastify 4 and 5. */
  factory: (options: object) => any;
  http2: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'Fastify 5 over HTTPS (HTTP/1.1)', factory: fastify5 as never, http2: false },
  { name: 'Fastify 5 over HTTP/2 (allowHTTP1)', factory: fastify5 as never, http2: true },
  { name: 'Fastify 4 over HTTPS (HTTP/1.1)', factory: fastify4 as never, http2: false },
  { name: 'Fastify 4 over HTTP/2 (allowHTTP1)', factory: fastify4 as never, http2: true },
];

interface Server {
  origin: string;
  port: number;
  /** Errors the custom error handler received (forwardErrors). */
  forwarded: unknown[];
  rejections: CertgateError[];
  close(): Promise<void>;
}

/** What a guarded route answers: who, and over which HTTP version the request came. */
const view = (request: any) => ({
  user: request.clientCert?.user,
  roles: request.clientCert?.roles,
  http: request.raw.httpVersion,
});

async function startApp(variant: Variant): Promise<Server> {
  const tls = { key: pki.server.key, cert: pki.server.cert, ca: pki.ca, requestCert: true, rejectUnauthorized: false };
  const app = variant.factory(variant.http2 ? { http2: true, https: { ...tls, allowHTTP1: true } } : { https: tls });
  const forwarded: unknown[] = [];
  const rejections: CertgateError[] = [];
  const guarded = (extra: RequireClientCertOptions = {}) =>
    requireClientCert({ crl: pki.crl, roles: ['customer'], identify: customers, ...extra });

  app.get('/public', async (request: any) => ({ public: true, hasCert: request.clientCert !== undefined }));
  // One route guarded by a route-level hook.
  app.get('/banking/accounts', { onRequest: guarded() }, async (request: any) => view(request));
  // An encapsulated context: every route registered in it is guarded, nothing outside it.
  await app.register(
    async (child: any) => {
      child.addHook('onRequest', guarded());
      child.get('/accounts', async (request: any) => view(request));
    },
    { prefix: '/context' },
  );
  // forwardErrors, handled by the context's own error handler (which sets no status itself).
  await app.register(async (child: any) => {
    child.setErrorHandler(async (error: any, _request: any, reply: any) => {
      forwarded.push(error);
      return { handledBy: 'app', code: error.code, statusCode: reply.statusCode };
    });
    child.get('/custom/accounts', { onRequest: guarded({ forwardErrors: true }) }, async (r: any) => view(r));
  });
  // forwardErrors, handled by Fastify's default error handler.
  app.get('/default/accounts', { onRequest: guarded({ forwardErrors: true }) }, async (r: any) => view(r));
  app.get('/audited', { onRequest: guarded({ onReject: (e) => void rejections.push(e) }) }, async (r: any) => view(r));
  app.get('/counted', { onRequest: requireClientCert({ verifier }) }, async (r: any) => view(r));

  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return { origin: `https://localhost:${port}`, port, forwarded, rejections, close: () => app.close() };
}

interface H2Reply {
  status: number;
  headers: Record<string, unknown>;
  text: string;
  body: any;
}

/** Requests on ONE HTTP/2 session (node:http2), all at once. */
async function onOneSession(origin: string, client: Pem | undefined, paths: string[]): Promise<H2Reply[]> {
  const session = http2.connect(origin, { ca: pki.ca, ...(client ?? {}), servername: 'localhost' });
  const one = (path: string) =>
    new Promise<H2Reply>((resolve, reject) => {
      const req = session.request({ ':path': path });
      let headers: Record<string, unknown> = {};
      let text = '';
      req.on('response', (h) => (headers = h));
      req.setEncoding('utf8');
      req.on('data', (d: string) => (text += d));
      req.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: Number(headers[':status']), headers, text, body });
      });
      req.on('error', reject);
      req.end();
    });
  try {
    return await Promise.all(paths.map(one));
  } finally {
    session.close();
  }
}

describe.each(VARIANTS)('$name', (variant) => {
  let server: Server;
  beforeAll(async () => {
    server = await startApp(variant);
  });
  afterAll(() => server?.close());

  /** One request in the variant's own protocol: HTTP/2 on the http2 server, HTTP/1.1 on the other. */
  const request = async (client: Pem | undefined, path: string) => {
    if (variant.http2) return (await onOneSession(server.origin, client, [path]))[0]!;
    return get(server.port, path, { ca: pki.ca, ...(client ? { client } : {}) });
  };
  const http = variant.http2 ? '2.0' : '1.1';

  it('is really the Fastify major it claims', () => {
    const major = variant.factory === (fastify4 as never) ? 4 : 5;
    const name = major === 4 ? 'fastify4' : 'fastify';
    expect(require(`${name}/package.json`).version).toMatch(new RegExp(`^${major}\\.`));
  });

  it('keeps a public route public: 200 without a certificate, no clientCert', async () => {
    const reply = await request(undefined, '/public');
    expect([reply.status, reply.body]).toEqual([200, { public: true, hasCert: false }]);
  });

  it.each(['/banking/accounts', '/context/accounts'])('%s: alice gets 200 with request.clientCert', async (path) => {
    const reply = await request(pki.alice, path);
    expect([reply.status, reply.body]).toEqual([200, { user: 'alice', roles: ['customer'], http }]);
  });

  it.each(['/banking/accounts', '/context/accounts'])('%s: refusals as problem+json', async (path) => {
    expectProblem(await request(undefined, path), 401, 'CERT_MISSING');
    expectProblem(await request(pki.mallory, path), 401, 'CERT_REVOKED');
    expectProblem(await request(pki.bob, path), 403, 'ROLE_FORBIDDEN');
  });

  it('forwardErrors: a custom error handler gets the CertgateError, with certgate status on the reply', async () => {
    server.forwarded.length = 0;
    const reply = await request(pki.mallory, '/custom/accounts');
    expect([reply.status, reply.body]).toEqual([401, { handledBy: 'app', code: 'CERT_REVOKED', statusCode: 401 }]);
    const forbidden = await request(pki.bob, '/custom/accounts');
    expect([forbidden.status, forbidden.body?.code]).toEqual([403, 'ROLE_FORBIDDEN']);
    expect(server.forwarded).toHaveLength(2);
    expect(server.forwarded[0]).toBeInstanceOf(CertgateError);
    expect((await request(pki.alice, '/custom/accounts')).status).toBe(200);
  });

  it("forwardErrors: Fastify's default error handler answers with certgate's status, not 500", async () => {
    const missing = await request(undefined, '/default/accounts');
    expect([missing.status, missing.body]).toEqual([
      401,
      { statusCode: 401, code: 'CERT_MISSING', error: 'Unauthorized', message: 'A client certificate is required.' },
    ]);
    const forbidden = await request(pki.bob, '/default/accounts');
    expect([forbidden.status, forbidden.body?.code]).toEqual([403, 'ROLE_FORBIDDEN']);
    expect(JSON.stringify(forbidden.body)).not.toMatch(/stack|bob/);
  });

  it('onReject is called with every refusal', async () => {
    server.rejections.length = 0;
    expectProblem(await request(pki.mallory, '/audited'), 401, 'CERT_REVOKED');
    expectProblem(await request(undefined, '/audited'), 401, 'CERT_MISSING');
    expect(server.rejections.map((e) => e.code)).toEqual(['CERT_REVOKED', 'CERT_MISSING']);
    expect((await request(pki.alice, '/audited')).status).toBe(200);
    expect(server.rejections).toHaveLength(2);
  });

  if (variant.http2) {
    it('several streams on one HTTP/2 session: one verification, every stream answered', async () => {
      // Each server's /counted guard is its own: alice is new to it.
      verifications = 0;
      const replies = await onOneSession(server.origin, pki.alice, Array(5).fill('/counted'));
      expect(replies.map((r) => [r.status, r.body?.user, r.body?.http])).toEqual(Array(5).fill([200, 'alice', '2.0']));
      expect(verifications).toBe(1);
      // The same client's next session reuses the verification of its leaf.
      await onOneSession(server.origin, pki.alice, ['/counted', '/counted']);
      expect(verifications).toBe(1);
    });

    it('refuses on every stream of a session: revoked and missing certificates', async () => {
      const revoked = await onOneSession(server.origin, pki.mallory, Array(3).fill('/banking/accounts'));
      for (const r of revoked) expectProblem(r, 401, 'CERT_REVOKED');
      const missing = await onOneSession(server.origin, undefined, ['/banking/accounts', '/context/accounts']);
      for (const r of missing) expectProblem(r, 401, 'CERT_MISSING');
    });

    it('curl --http2 and --http1.1 (allowHTTP1) get the same answers', async () => {
      const alice = ['--cacert', pki.files.caBundle, '--cert', pki.files.clients.alice.cert];
      const args = [...alice, '--key', pki.files.clients.alice.key];
      const h2 = await curl(`${server.origin}/banking/accounts`, ['--http2', ...args]);
      const h1 = await curl(`${server.origin}/banking/accounts`, ['--http1.1', ...args]);
      expect([h2.status, h2.body]).toEqual([200, { user: 'alice', roles: ['customer'], http: '2.0' }]);
      expect([h1.status, h1.body]).toEqual([200, { user: 'alice', roles: ['customer'], http: '1.1' }]);
      const refusedH2 = await curl(`${server.origin}/context/accounts`, ['--http2', '--cacert', pki.files.caBundle]);
      const refusedH1 = await curl(`${server.origin}/context/accounts`, ['--http1.1', '--cacert', pki.files.caBundle]);
      for (const r of [refusedH2, refusedH1]) {
        expect([r.status, r.body.code, r.contentType]).toEqual([401, 'CERT_MISSING', 'application/problem+json']);
        expect(Object.keys(r.body).sort()).toEqual(PROBLEM_KEYS);
      }
    });
  } else {
    it('HTTP/1.1 keep-alive: five requests on one TLS connection, one verification', async () => {
      const https = await import('node:https');
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        verifications = 0;
        const replies = [];
        for (let i = 0; i < 5; i++)
          replies.push(await get(server.port, '/counted', { ca: pki.ca, client: pki.alice, agent }));
        expect(replies.map((r) => [r.status, r.body?.user])).toEqual(Array(5).fill([200, 'alice']));
        expect(new Set(replies.map((r) => r.localPort)).size).toBe(1);
        expect(verifications).toBe(1);
      } finally {
        agent.destroy();
      }
    });
  }
});
