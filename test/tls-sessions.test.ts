import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import express, { type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClientCert } from 'certgate/express';
import {
  curl,
  expectProblem,
  get,
  leafOnly,
  makePki,
  pemCount,
  startHttps,
  type FullTestPki,
  type Pem,
  type Reply,
  type RunningServer,
  type TestPki,
} from './helpers/clients.js';

const VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
type Version = (typeof VERSIONS)[number];

let pki: TestPki;
/** Its alice is only ever sent as a bare leaf, so no full chain of hers is ever seen in this file. */
let leafPki: FullTestPki;
/** Its clients go to /peeked only. */
let peekedPki: FullTestPki;
/** One per TLS version; its clients first connect to an unguarded route. */
const unguardedFirst = {} as Record<Version, FullTestPki>;
const servers = {} as Record<Version | 'default', RunningServer>;
const socketsByTrace = new Map<string, Set<Socket>>();

function makeApp() {
  const app = express();
  app.use((req, res, next) => {
    const socket = req.socket as TLSSocket;
    res.setHeader('x-tls-version', String(socket.getProtocol()));
    res.setHeader('x-tls-resumed', String(socket.isSessionReused()));
    // What Node hands over on this connection: a leaf alone, or a leaf linked to its issuer.
    // (getPeerCertificate(true), not getPeerX509Certificate(): in Node 20 the latter hands the
    // peer's chain out only once per connection, and certgate needs that first call.)
    const peer = socket.getPeerCertificate(true);
    const hasIssuer = Boolean(peer.issuerCertificate && peer.issuerCertificate.fingerprint256 !== peer.fingerprint256);
    res.setHeader('x-peer', !peer.raw ? 'none' : hasIssuer ? 'chain' : 'leaf-only');
    const trace = req.get('x-trace');
    if (trace) {
      if (!socketsByTrace.has(trace)) socketsByTrace.set(trace, new Set());
      socketsByTrace.get(trace)!.add(req.socket);
    }
    next();
  });
  const show = (req: Request, res: Response) =>
    res.json({
      user: req.clientCert?.user,
      cn: req.clientCert?.certificate.subject.CN,
      chainLength: req.clientCert?.chain.length,
    });
  app.get('/public', show);
  // Trust from the server's `ca`; mallory is on the CRL.
  app.use('/banking', requireClientCert({ crl: pki.crl }));
  app.get('/banking/balance', show);
  // A CA the server does not know; the client sends its leaf only.
  app.use('/leaf/with-intermediates', requireClientCert({ ca: leafPki.ca, intermediates: leafPki.intermediate }));
  app.get('/leaf/with-intermediates', show);
  app.use('/leaf/without-intermediates', requireClientCert({ ca: leafPki.ca }));
  app.get('/leaf/without-intermediates', show);
  // Another middleware on the route reads the peer certificate with Node's X509Certificate API
  // before the guard runs (e.g. for an access log).
  app.use('/peeked', (req, res, next) => {
    const leaf = (req.socket as TLSSocket).getPeerX509Certificate();
    res.setHeader('x-logged-subject', leaf ? leaf.subject.replace(/\n/g, ',') : '-');
    next();
  });
  app.use('/peeked', requireClientCert({ ca: peekedPki.ca }));
  app.get('/peeked', show);
  // Trust for the per-version PKIs whose clients visit /public first.
  for (const v of VERSIONS) {
    app.use(`/unguarded-first-${v}`, requireClientCert({ ca: unguardedFirst[v].ca }));
    app.get(`/unguarded-first-${v}`, show);
  }
  return app;
}

beforeAll(async () => {
  [pki, leafPki, peekedPki, unguardedFirst['TLSv1.2'], unguardedFirst['TLSv1.3']] = await Promise.all([
    makePki(),
    makePki(),
    makePki(),
    makePki(),
    makePki(),
  ]);
  const app = makeApp();
  for (const v of VERSIONS) servers[v] = await startHttps(pki, app, { minVersion: v, maxVersion: v });
  servers.default = await startHttps(pki, app);
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

/** A full handshake, then a second TCP connection resuming its TLS session. */
async function fullThenResumed(
  v: Version,
  path: string,
  client: Pem | undefined,
  trace: string,
): Promise<[Reply, Reply]> {
  const opts = { ca: pki.ca, headers: { 'x-trace': trace }, ...(client ? { client } : {}) };
  const full = await get(servers[v].port, path, opts);
  expect(full.headers['x-tls-version']).toBe(v);
  expect(full.headers['x-tls-resumed']).toBe('false');
  expect(full.session).toBeInstanceOf(Buffer);
  const resumed = await get(servers[v].port, path, { ...opts, session: full.session });
  expect(resumed.headers['x-tls-version']).toBe(v);
  expect(resumed.headers['x-tls-resumed']).toBe('true');
  expect(resumed.clientReused).toBe(true);
  // Two TCP connections, as seen by the server.
  expect(socketsByTrace.get(trace)?.size).toBe(2);
  return [full, resumed];
}

describe.each(VERSIONS)('%s session resumption', (v) => {
  it('alice: 200 on the full handshake and 200 on the resumed session (leaf only from Node)', async () => {
    const [full, resumed] = await fullThenResumed(v, '/banking/balance', pki.alice, `alice-${v}`);
    expect(full.status).toBe(200);
    expect(full.headers['x-peer']).toBe('chain');
    expect(full.body).toEqual({ user: 'alice', cn: 'alice', chainLength: 3 });
    // On resumption OpenSSL restores only the leaf; the guard must still build and verify the path.
    expect(resumed.headers['x-peer']).toBe('leaf-only');
    expect(resumed.status).toBe(200);
    expect(resumed.body).toEqual({ user: 'alice', cn: 'alice', chainLength: 3 });
  });

  it('mallory: 401 CERT_REVOKED on the full handshake and on the resumed session', async () => {
    const [full, resumed] = await fullThenResumed(v, '/banking/balance', pki.mallory, `mallory-${v}`);
    expectProblem(full, 401, 'CERT_REVOKED');
    expect(resumed.headers['x-peer']).toBe('leaf-only');
    expectProblem(resumed, 401, 'CERT_REVOKED');
  });

  it('no certificate: 401 CERT_MISSING on the full handshake and on the resumed session', async () => {
    const [full, resumed] = await fullThenResumed(v, '/banking/balance', undefined, `none-${v}`);
    expectProblem(full, 401, 'CERT_MISSING');
    expect(resumed.headers['x-peer']).toBe('none');
    expectProblem(resumed, 401, 'CERT_MISSING');
  });

  it('a resumed session whose full handshake only reached an unguarded route: still 200', async () => {
    const client = unguardedFirst[v].alice;
    const opts = { ca: pki.ca, client, headers: { 'x-trace': `unguarded-first-${v}` } };
    const full = await get(servers[v].port, '/public', opts);
    expect(full.status).toBe(200);
    expect(full.headers['x-peer']).toBe('chain');
    const resumed = await get(servers[v].port, `/unguarded-first-${v}`, { ...opts, session: full.session });
    expect(resumed.headers['x-tls-resumed']).toBe('true');
    expect(resumed.headers['x-peer']).toBe('leaf-only');
    // Regression: the intermediates a leaf presented were once remembered only when a guard read
    // the chain; now every full handshake on a guarded server is recorded, so a session first
    // used on unguarded routes resumes into a guarded one.
    expect({ status: resumed.status, code: resumed.body?.code, user: resumed.body?.user }).toEqual({
      status: 200,
      code: undefined,
      user: 'alice',
    });
  });
});

describe('client that sends only its leaf', () => {
  it('is refused with 401 CERT_UNTRUSTED when the guard has no intermediates', async () => {
    const client = { cert: leafOnly(leafPki.alice.cert), key: leafPki.alice.key };
    expect(pemCount(client.cert)).toBe(1);
    const reply = await get(servers.default.port, '/leaf/without-intermediates', { ca: pki.ca, client });
    expect(reply.headers['x-peer']).toBe('leaf-only');
    expectProblem(reply, 401, 'CERT_UNTRUSTED');
  });

  it('is accepted when the guard has the intermediate in `intermediates`', async () => {
    const client = { cert: leafOnly(leafPki.alice.cert), key: leafPki.alice.key };
    const reply = await get(servers.default.port, '/leaf/with-intermediates', { ca: pki.ca, client });
    expect(reply.headers['x-peer']).toBe('leaf-only');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ user: 'alice', cn: 'alice', chainLength: 3 });
  });

  it('and the guard without intermediates still refuses it afterwards', async () => {
    const client = { cert: leafOnly(leafPki.alice.cert), key: leafPki.alice.key };
    expectProblem(
      await get(servers.default.port, '/leaf/without-intermediates', { ca: pki.ca, client }),
      401,
      'CERT_UNTRUSTED',
    );
  });
});

describe('peer chain read by other code first', () => {
  it('a middleware that calls getPeerX509Certificate() before the guard does not break it', async () => {
    const reply = await get(servers.default.port, '/peeked', { ca: pki.ca, client: peekedPki.alice });
    expect(reply.headers['x-logged-subject']).toMatch(/CN=alice/);
    expect(reply.headers['x-peer']).toBe('chain');
    // Regression: on Node 20 getPeerX509Certificate() links the issuer chain only on its first
    // call per connection; the guard reads getPeerCertificate(true) so an earlier caller is harmless.
    expect({ status: reply.status, code: reply.body?.code, user: reply.body?.user }).toEqual({
      status: 200,
      code: undefined,
      user: 'alice',
    });
  });
});

describe('curl as a foreign TLS client', () => {
  const curlArgs = (who?: 'alice' | 'mallory') => {
    const port = servers.default.port;
    const args = ['--cacert', pki.files.caBundle, '--resolve', `localhost:${port}:127.0.0.1`];
    if (who) args.push('--cert', pki.files.clients[who].cert, '--key', pki.files.clients[who].key);
    return { url: `https://localhost:${port}/banking/balance`, args };
  };

  it('alice: 200', async () => {
    const { url, args } = curlArgs('alice');
    const reply = await curl(url, args);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ user: 'alice', cn: 'alice', chainLength: 3 });
  });

  it('mallory (revoked): 401 with CERT_REVOKED in a problem+json body', async () => {
    const { url, args } = curlArgs('mallory');
    const reply = await curl(url, args);
    expect(reply.status).toBe(401);
    expect(reply.contentType).toMatch(/^application\/problem\+json/);
    expect(reply.body.code).toBe('CERT_REVOKED');
  });

  it('no certificate: 401 CERT_MISSING', async () => {
    const { url, args } = curlArgs();
    const reply = await curl(url, args);
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('CERT_MISSING');
  });

  it('alice over TLS 1.2: 200', async () => {
    const port = servers['TLSv1.2'].port;
    const reply = await curl(`https://localhost:${port}/banking/balance`, [
      '--cacert',
      pki.files.caBundle,
      '--resolve',
      `localhost:${port}:127.0.0.1`,
      '--cert',
      pki.files.clients.alice.cert,
      '--key',
      pki.files.clients.alice.key,
      '--tlsv1.2',
      '--tls-max',
      '1.2',
    ]);
    expect(reply.status).toBe(200);
    expect(reply.body.user).toBe('alice');
  });
});
