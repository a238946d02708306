/**
 * A fleet behind one real nginx (issue 9): two Express app instances, each with its own verifier
 * reading the CRL from one URL (a local HTTP server on 127.0.0.1), behind one nginx `upstream` block
 * (round robin, upstream keep-alive) that terminates mTLS and forwards $ssl_client_escaped_cert. A
 * revocation published at the URL reaches both instances after one refresh of each: every request
 * through nginx is then refused, also on a client connection to nginx opened before the revocation.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type ProxyFormat, type Verifier } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { expectProblem, get, type Reply } from './helpers/clients.js';
import { type LivePki, makeLivePki } from './helpers/live-pki.js';
import { removeTempDirs, tempDir } from './helpers/oracle.js';
import { type RunningProxy, startProxy } from './helpers/proxies.js';

const INSTANCES = ['app-a', 'app-b'] as const;
/** Requests per round: enough for round robin to reach both instances twice. */
const ROUND = 4;

let pki: LivePki;
let crlBody = '';
let crlHits = 0;
let crlUrl = '';
const closers: (() => Promise<void> | void)[] = [];
const verifiers: Verifier[] = [];
let proxy: RunningProxy;
/** TCP connections nginx opened to the instances. */
let upstreamConnections = 0;

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** One app instance: its own verifier (CRL from the URL), answering with its name. */
async function startInstance(name: string, format: ProxyFormat = 'nginx'): Promise<number> {
  const verifier = createVerifier({ ca: pki.rootPem, intermediates: pki.intermediatePem, crl: { urls: [crlUrl] } });
  verifiers.push(verifier);
  const app = express();
  // Set before the guard, so that refusals also say which instance answered.
  app.use((_req, res, next) => {
    res.setHeader('x-instance', name);
    next();
  });
  app.get(
    '/',
    requireClientCert({ verifier, proxy: { trust: 'loopback', format } }),
    (req, res) => void res.json({ instance: name, user: req.clientCert?.user, source: req.clientCert?.source }),
  );
  const server = http.createServer(app);
  if (format === 'nginx') server.on('connection', () => upstreamConnections++);
  return listen(server);
}

const alice = () => ({ cert: Buffer.from(pki.alice.cert), key: Buffer.from(pki.alice.key) });

/** ROUND requests through `to` (default: nginx) as alice, on `agent` (one kept-alive connection) or each on its own. */
async function round(agent?: https.Agent, to = proxy, client = alice()): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (let i = 0; i < ROUND; i++) {
    const reply = await get(to.port, '/', { ca: Buffer.from(pki.rootPem), client, agent });
    // get() adds a close listener per request: many on one kept-alive socket are expected here.
    reply.socket.setMaxListeners(0);
    replies.push(reply);
  }
  return replies;
}

const proxyTls = () => ({ serverCert: pki.server.cert, serverKey: pki.server.key, clientCa: pki.rootPem });
const servedBy = (replies: Reply[]) => new Set(replies.map((r) => r.headers['x-instance']));

beforeAll(async () => {
  const crlServer = http.createServer((_req, res) => {
    crlHits++;
    res.end(crlBody);
  });
  const crlPort = await listen(crlServer);
  crlUrl = `http://127.0.0.1:${crlPort}/intermediate.crl`;
  pki = await makeLivePki(crlUrl);
  crlBody = await pki.crl(1, []);
  const upstreams = await Promise.all(INSTANCES.map((name) => startInstance(name)));
  proxy = await startProxy('nginx', join(tempDir('certgate-fleet-'), 'proxy'), proxyTls(), upstreams);
}, 30_000);

afterAll(async () => {
  await proxy?.close();
  for (const verifier of verifiers) verifier.close();
  await Promise.all(closers.map((close) => close()));
  removeTempDirs();
});

describe('two app instances behind one nginx upstream, CRL from a URL', () => {
  it('a revocation reaches both instances within one refresh, also on an open keep-alive connection', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // Before: nginx spreads requests over both instances; alice is accepted by each.
      const fresh = await round();
      const kept = await round(agent);
      expect(servedBy(fresh)).toEqual(new Set(INSTANCES));
      expect(servedBy(kept)).toEqual(new Set(INSTANCES));
      for (const reply of [...fresh, ...kept]) {
        expect({ status: reply.status, user: reply.body.user, source: reply.body.source }).toEqual({
          status: 200,
          user: 'alice',
          source: 'proxy',
        });
      }
      // One client connection to nginx throughout the kept-alive round.
      expect(new Set(kept.map((r) => r.localPort)).size).toBe(1);

      // The CRL server publishes a CRL revoking alice; each instance refreshes once.
      crlBody = await pki.crl(2, [pki.alice.serial]);
      const hitsBefore = crlHits;
      await Promise.all(verifiers.map((verifier) => verifier.refreshCrls()));
      expect(crlHits - hitsBefore).toBe(INSTANCES.length);

      // After: every request through nginx is refused by both instances, on the connection opened
      // before the revocation and on new ones.
      const keptAfter = await round(agent);
      const freshAfter = await round();
      expect(new Set([...kept, ...keptAfter].map((r) => r.localPort)).size).toBe(1);
      expect(servedBy(keptAfter)).toEqual(new Set(INSTANCES));
      expect(servedBy(freshAfter)).toEqual(new Set(INSTANCES));
      for (const reply of [...keptAfter, ...freshAfter]) expectProblem(reply, 401, 'CERT_REVOKED');
      // nginx reused its upstream connections for requests of different client connections: the
      // verdicts above were not tied to the connection the instance saw.
      expect(upstreamConnections).toBeGreaterThan(0);
      expect(upstreamConnections).toBeLessThan(4 * ROUND);
    } finally {
      agent.destroy();
    }
  });
});

// startProxy balances over several upstreams with the other proxies too. Bob, never revoked here,
// so that these do not depend on the order of the tests.
describe.each(['haproxy', 'apache', 'caddy'] as const)('two app instances behind one %s', (kind) => {
  let other: RunningProxy;
  beforeAll(async () => {
    // Instances of their own, reading this proxy's format.
    const own = await Promise.all(INSTANCES.map((name) => startInstance(name, kind)));
    other = await startProxy(kind, join(tempDir(`certgate-fleet-${kind}-`), 'proxy'), proxyTls(), own);
  }, 30_000);
  afterAll(async () => {
    await other?.close();
  });

  it('requests reach both instances, each accepts the forwarded certificate', async () => {
    const bob = { cert: Buffer.from(pki.bob.cert), key: Buffer.from(pki.bob.key) };
    const replies = await round(undefined, other, bob);
    expect(servedBy(replies)).toEqual(new Set(INSTANCES));
    for (const reply of replies) expect(reply.body).toMatchObject({ user: 'bob', source: 'proxy' });
  });
});
