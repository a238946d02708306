/**
 * The `proxy` guard option over real TCP on 127.0.0.1. Mostly the test plays the proxy, sending the
 * header as nginx ($ssl_client_escaped_cert: URL-encoded PEM of the leaf) or HAProxy (ssl_c_der /
 * ssl_c_chain_der, base64) would, over plain HTTP from 127.0.0.1; at the end real nginx and HAProxy
 * (test/helpers/proxies.ts) terminate mTLS in front of the app. A spoofing client binds 127.0.0.2,
 * which the apps do not trust.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byCommonName, clientCertGuard, createVerifier, type ProxyHeaderIgnored, type ProxyOptions } from 'certgate';
import { requireClientCert as expressGuard } from 'certgate/express';
import { requireClientCert as koaGuard, type ClientCertState } from 'certgate/koa';
import {
  expectProblem,
  get,
  leafOnly,
  makeOtherCa,
  makePki,
  startHttps,
  type Pem,
  type RunningServer,
  type TestPki,
} from './helpers/clients.js';
import { makeLivePki } from './helpers/live-pki.js';
import { pemToDer, removeTempDirs, tempDir } from './helpers/oracle.js';
import { type RunningProxy, startProxy } from './helpers/proxies.js';

let pki: TestPki;
const events: ProxyHeaderIgnored[] = [];
const servers: { close(): Promise<void> }[] = [];
const ports: Record<string, number> = {};
let https: RunningServer;

const identify = byCommonName({ alice: { roles: ['customer'] }, bob: { roles: [] }, mallory: { roles: ['customer'] } });
const nginx = (pem: Buffer): string => encodeURIComponent(leafOnly(pem).toString());

function guardOptions(proxy: Partial<ProxyOptions> = {}) {
  return {
    ca: pki.ca,
    intermediates: pki.intermediate,
    crl: pki.crl,
    identify,
    roles: ['customer'],
    proxy: {
      trust: ['127.0.0.1'],
      format: 'nginx' as const,
      onHeaderIgnored: (e: ProxyHeaderIgnored) => void events.push(e),
      ...proxy,
    },
  };
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return (server.address() as AddressInfo).port;
}

interface PlainReply {
  status: number;
  body: any;
  text: string;
  headers: http.IncomingHttpHeaders;
  localPort: number | undefined;
}

function plain(
  port: number,
  path: string,
  headers: Record<string, string | string[]> = {},
  options: { agent?: http.Agent; localAddress?: string } = {},
): Promise<PlainReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, headers, agent: options.agent ?? false, localAddress: options.localAddress },
      (res) => {
        const localPort = res.socket.localPort;
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body, text, headers: res.headers, localPort });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  pki = await makePki();
  const show = (c: { user: string; source: string } | undefined) => ({ user: c?.user, source: c?.source });

  const app = express();
  app.get('/nginx', expressGuard(guardOptions()), (req, res) => void res.json(show(req.clientCert)));
  const haproxy = guardOptions({ format: 'haproxy' });
  app.get(
    '/haproxy',
    expressGuard({ ...haproxy, intermediates: undefined }),
    (req, res) => void res.json(show(req.clientCert)),
  );
  // Node's 16 KiB header limit raised: the guard's own 64 KiB limit on the forwarded header applies.
  ports.express = await listen(http.createServer({ maxHeaderSize: 256 * 1024 }, app));

  const koa = new Koa<Partial<ClientCertState>>();
  const koaMiddleware = koaGuard(guardOptions());
  koa.use(async (ctx, next) => {
    await koaMiddleware(ctx, async () => {
      ctx.body = show(ctx.state.clientCert);
      await next();
    });
  });
  ports.koa = await listen(http.createServer(koa.callback()));

  // An HTTPS app behind the proxy that direct TLS clients may also reach.
  const direct = express();
  direct.get('/nginx', expressGuard(guardOptions()), (req, res) => void res.json(show(req.clientCert)));
  https = await startHttps(pki, direct);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await https?.close();
});

describe.each(['express', 'koa'])('%s behind a proxy (nginx format)', (framework) => {
  const path = '/nginx';
  const port = () => ports[framework] as number;

  it('a good forwarded leaf, intermediates from the option: 200, source proxy', async () => {
    const reply = await plain(port(), path, { 'X-SSL-Client-Cert': nginx(pki.alice.cert) });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ user: 'alice', source: 'proxy' });
  });

  it('a revoked leaf: 401 CERT_REVOKED', async () => {
    expectProblem(await plain(port(), path, { 'x-ssl-client-cert': nginx(pki.mallory.cert) }), 401, 'CERT_REVOKED');
  });

  it('a client without the role: 403 ROLE_FORBIDDEN', async () => {
    expectProblem(await plain(port(), path, { 'x-ssl-client-cert': nginx(pki.bob.cert) }), 403, 'ROLE_FORBIDDEN');
  });

  it('no header, or an empty one, from the trusted proxy: 401 CERT_MISSING', async () => {
    expectProblem(await plain(port(), path), 401, 'CERT_MISSING');
    expectProblem(await plain(port(), path, { 'x-ssl-client-cert': '' }), 401, 'CERT_MISSING');
  });

  it('a repeated header: 401 CERT_MALFORMED, even when both copies are good', async () => {
    const good = nginx(pki.alice.cert);
    expectProblem(await plain(port(), path, { 'x-ssl-client-cert': [good, good] }), 401, 'CERT_MALFORMED');
  });

  it('a header that does not decode: 401 CERT_MALFORMED', async () => {
    expectProblem(await plain(port(), path, { 'x-ssl-client-cert': '%E0%A4%A' }), 401, 'CERT_MALFORMED');
  });

  it('a forged header from an untrusted peer over plain HTTP: 401 CERT_MISSING, and the event', async () => {
    events.length = 0;
    const forged = { 'x-ssl-client-cert': nginx(pki.alice.cert) };
    const reply = await plain(port(), path, forged, { localAddress: '127.0.0.2' });
    expectProblem(reply, 401, 'CERT_MISSING');
    expect(events).toEqual([{ peer: '127.0.0.2', header: 'x-ssl-client-cert' }]);
  });

  it('one keep-alive connection from the proxy carrying different clients: each gets its own verdict', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const send = (headers: Record<string, string> = {}) => plain(port(), path, headers, { agent });
      const first = await send({ 'x-ssl-client-cert': nginx(pki.alice.cert) });
      const withoutCert = await send();
      const revoked = await send({ 'x-ssl-client-cert': nginx(pki.mallory.cert) });
      const again = await send({ 'x-ssl-client-cert': nginx(pki.alice.cert) });
      const emptyAgain = await send({ 'x-ssl-client-cert': '' });
      // One connection throughout: the proxy's reuse is what is under test.
      expect(new Set([first, withoutCert, revoked, again, emptyAgain].map((r) => r.localPort)).size).toBe(1);
      expect(first.body).toEqual({ user: 'alice', source: 'proxy' });
      expectProblem(withoutCert, 401, 'CERT_MISSING');
      expectProblem(revoked, 401, 'CERT_REVOKED');
      expect(again.body).toEqual({ user: 'alice', source: 'proxy' });
      expectProblem(emptyAgain, 401, 'CERT_MISSING');
    } finally {
      agent.destroy();
    }
  });
});

describe('limits and other formats', () => {
  it('a forwarded header over 64 KiB (raw bytes): 401 CERT_MALFORMED', async () => {
    const huge = nginx(pki.alice.cert) + '%20'.repeat(22 * 1024);
    expect(huge.length).toBeGreaterThan(64 * 1024);
    expectProblem(await plain(ports.express as number, '/nginx', { 'x-ssl-client-cert': huge }), 401, 'CERT_MALFORMED');
  });

  it('HAProxy: leaf and chain headers (base64 DER), no intermediates option needed', async () => {
    const headers = {
      'x-ssl-client-cert': pemToDer(leafOnly(pki.alice.cert)).toString('base64'),
      'x-ssl-client-chain': pemToDer(pki.intermediate).toString('base64'),
    };
    const reply = await plain(ports.express as number, '/haproxy', headers);
    expect(reply.body).toEqual({ user: 'alice', source: 'proxy' });
    // Without the chain header the leaf alone has no path to the root here.
    const leafAlone = await plain(ports.express as number, '/haproxy', {
      'x-ssl-client-cert': headers['x-ssl-client-cert'],
    });
    expectProblem(leafAlone, 401, 'CERT_UNTRUSTED');
  });
});

describe('an HTTPS app with `proxy`, reached directly', () => {
  it('a direct TLS client from an untrusted address is judged on its own certificate: 200, source tls', async () => {
    events.length = 0;
    const reply = await get(https.port, '/nginx', {
      ca: pki.ca,
      client: pki.alice,
      tls: { localAddress: '127.0.0.2' },
      headers: { 'x-ssl-client-cert': nginx(pki.bob.cert) },
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ user: 'alice', source: 'tls' });
    expect(events).toEqual([{ peer: '127.0.0.2', header: 'x-ssl-client-cert' }]);
  });

  it('a direct TLS client from an untrusted address, no certificate, forged header: 401 CERT_MISSING', async () => {
    const reply = await get(https.port, '/nginx', {
      ca: pki.ca,
      tls: { localAddress: '127.0.0.2' },
      headers: { 'x-ssl-client-cert': nginx(pki.alice.cert) },
    });
    expectProblem(reply, 401, 'CERT_MISSING');
  });

  it("from the trusted proxy, the socket's own certificate (the proxy's) is ignored: 401 CERT_MISSING", async () => {
    const reply = await get(https.port, '/nginx', { ca: pki.ca, client: pki.alice });
    expectProblem(reply, 401, 'CERT_MISSING');
  });
});

describe('revocation reaches forwarded verdicts (CRL from a URL, two app instances)', () => {
  it('after one refresh, the same forwarded value is refused on both instances, also on open connections', async () => {
    let crlBody = '';
    const crlServer = http.createServer((_req, res) => void res.end(crlBody));
    const crlPort = await listen(crlServer);
    const live = await makeLivePki(`http://127.0.0.1:${crlPort}/intermediate.crl`);
    crlBody = await live.crl(1, []);
    const instances = await Promise.all(
      [0, 1].map(async () => {
        const verifier = createVerifier({
          ca: live.rootPem,
          intermediates: live.intermediatePem,
          crl: { urls: [`http://127.0.0.1:${crlPort}/intermediate.crl`] },
        });
        const app = express();
        const guard = expressGuard({ verifier, proxy: { trust: '127.0.0.1', format: 'nginx' } });
        app.get(
          '/',
          guard,
          (req, res) => void res.json({ user: req.clientCert?.user, source: req.clientCert?.source }),
        );
        return { verifier, port: await listen(http.createServer(app)) };
      }),
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const header = { 'x-ssl-client-cert': encodeURIComponent(live.alice.cert) };
      for (const { port } of instances) {
        expect((await plain(port, '/', header, { agent })).body).toEqual({
          user: 'CN=alice'.slice(3),
          source: 'proxy',
        });
      }
      crlBody = await live.crl(2, [live.alice.serial]);
      await Promise.all(instances.map(({ verifier }) => verifier.refreshCrls()));
      for (const { port } of instances) expectProblem(await plain(port, '/', header, { agent }), 401, 'CERT_REVOKED');
    } finally {
      agent.destroy();
      for (const { verifier } of instances) verifier.close();
    }
  });
});

describe('HTTP/2 from the proxy (h2c, as Envoy may speak upstream)', () => {
  it('streams of one session carrying different clients get their own verdicts', async () => {
    const guard = clientCertGuard(guardOptions());
    const server = http2.createServer((req, res) => {
      void guard.check(req).then((outcome) => {
        res.statusCode = outcome.ok ? 200 : outcome.error.status;
        res.end(outcome.ok ? `${outcome.clientCert.user}/${outcome.clientCert.source}` : outcome.error.code);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const ask = (headers: Record<string, string>) =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/', ...headers });
        let text = '';
        let status = 0;
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (d: Buffer) => (text += d.toString()));
        stream.on('end', () => resolve(`${status} ${text}`));
        stream.on('error', reject);
        stream.end();
      });
    try {
      const [alice, none, mallory] = await Promise.all([
        ask({ 'x-ssl-client-cert': nginx(pki.alice.cert) }),
        ask({}),
        ask({ 'x-ssl-client-cert': nginx(pki.mallory.cert) }),
      ]);
      expect([alice, none, mallory]).toEqual(['200 alice/proxy', '401 CERT_MISSING', '401 CERT_REVOKED']);
    } finally {
      session.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe.each(['nginx', 'haproxy', 'apache', 'caddy'] as const)(
  'through a real %s (its own config, 127.0.0.1)',
  (kind) => {
    let proxy: RunningProxy;
    let other: { ca: Buffer; alice: Pem };
    beforeAll(async () => {
      other = await makeOtherCa();
      // nginx, Apache and Caddy forward the leaf alone (intermediates from the option); HAProxy also
      // the client's chain.
      const app = express();
      const options = guardOptions({ format: kind });
      const guard = expressGuard(kind === 'haproxy' ? { ...options, intermediates: undefined } : options);
      app.get('/', guard, (req, res) => void res.json({ user: req.clientCert?.user, source: req.clientCert?.source }));
      const upstream = await listen(http.createServer(app));
      const tls = {
        serverCert: pki.server.cert.toString(),
        serverKey: pki.server.key.toString(),
        clientCa: pki.ca.toString(),
      };
      proxy = await startProxy(kind, join(tempDir(`certgate-${kind}-`), 'proxy'), tls, upstream);
    }, 30_000);
    afterAll(async () => {
      await proxy?.close();
      removeTempDirs();
    });
    const through = (client?: Pem) =>
      get(proxy.port, '/', { ca: pki.ca, client, headers: { 'X-SSL-Client-Cert': nginx(pki.alice.cert) } });

    it('a good client: 200, source proxy; a forged header does not override', async () => {
      expect((await through(pki.alice)).body).toEqual({ user: 'alice', source: 'proxy' });
    });

    it('revoked 401, foreign root 401, expired 401, role 403, none 401', async () => {
      expectProblem(await through(pki.mallory), 401, 'CERT_REVOKED');
      expectProblem(await through(other.alice), 401, 'CERT_UNTRUSTED');
      if (kind === 'apache') {
        // mod_ssl's optional_no_ca still checks dates: Apache ends the handshake itself.
        await expect(through(pki.eve)).rejects.toThrow();
      } else {
        expectProblem(await through(pki.eve), 401, 'CERT_EXPIRED');
      }
      expectProblem(await through(pki.bob), 403, 'ROLE_FORBIDDEN');
      // No certificate, and a forged header carrying alice's: the proxy drops or overwrites it.
      expectProblem(await through(), 401, 'CERT_MISSING');
    });
  },
);
