/**
 * certgate/fastify per connection, where the per-certificate caches cannot hide a mistake: the
 * verdict of an HTTP/2 session is shared by its streams (one `identify` for 20 concurrent
 * streams, however the verifier caches), and a decided keep-alive connection is answered on the
 * synchronous path (`done()` inside the hook's own call). Fastify 5 and 4, real TLS.
 */
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import fastify5 from 'fastify';
import fastify4 from 'fastify4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClientCert, type ClientCertHook } from 'certgate/fastify';
import { get, makePki, type TestPki } from './helpers/clients.js';

let pki: TestPki;
const closers: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  pki = await makePki();
});
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

const FACTORIES = [
  { name: 'Fastify 5', factory: fastify5 as unknown as (options: object) => any },
  { name: 'Fastify 4', factory: fastify4 as unknown as (options: object) => any },
];

describe.each(FACTORIES)('$name', ({ factory }) => {
  it('20 concurrent streams on a new HTTP/2 session: one identify, every stream answered', async () => {
    let identifyCalls = 0;
    const hook = requireClientCert({
      ca: pki.ca,
      crl: pki.crl,
      identify: async (c) => {
        identifyCalls++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { user: String(c.subject.CN), roles: ['customer'] };
      },
    });
    const tls = {
      key: pki.server.key,
      cert: pki.server.cert,
      ca: pki.ca,
      requestCert: true,
      rejectUnauthorized: false,
    };
    const app = factory({ http2: true, https: { ...tls, allowHTTP1: true } });
    app.get('/s/:n', { onRequest: hook }, async (request: any) => ({
      user: request.clientCert.user,
      n: request.params.n,
    }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    const origin = `https://localhost:${(app.server.address() as AddressInfo).port}`;
    const session = http2.connect(origin, { ca: pki.ca, ...pki.alice });
    const one = (n: number) =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': `/s/${n}` });
        let status = 0;
        let body = '';
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.setEncoding('utf8');
        stream.on('data', (d: string) => (body += d));
        stream.on('end', () => resolve(`${status} ${body}`));
        stream.on('error', reject);
        stream.end();
      });
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, n) => one(n)));
      expect(replies).toEqual(Array.from({ length: 20 }, (_, n) => `200 {"user":"alice","n":"${n}"}`));
      expect(identifyCalls).toBe(1);
    } finally {
      session.close();
    }
  });

  it("a decided keep-alive connection's next requests pass on the synchronous path", async () => {
    const hook = requireClientCert({ ca: pki.ca, crl: pki.crl });
    /** Per request: whether the hook called done() before it returned. */
    const synchronous: boolean[] = [];
    const watched: ClientCertHook = (request, reply, done) => {
      let called = false;
      hook(request, reply, (error) => {
        called = true;
        done(error);
      });
      synchronous.push(called);
    };
    const tls = {
      key: pki.server.key,
      cert: pki.server.cert,
      ca: pki.ca,
      requestCert: true,
      rejectUnauthorized: false,
    };
    const app = factory({ https: tls });
    app.get('/', { onRequest: watched }, async (request: any) => ({ user: request.clientCert.user }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    const port = (app.server.address() as AddressInfo).port;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const replies = [];
      for (let i = 0; i < 3; i++) replies.push(await get(port, '/', { ca: pki.ca, client: pki.alice, agent }));
      expect(replies.map((r) => [r.status, r.body.user])).toEqual(Array(3).fill([200, 'alice']));
      expect(new Set(replies.map((r) => r.localPort)).size).toBe(1);
      expect(synchronous).toEqual([false, true, true]);
    } finally {
      agent.destroy();
    }
  });
});
