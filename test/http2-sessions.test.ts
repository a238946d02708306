/**
 * HTTP/2 sessions as connections, with the framework-free guard on plain `node:http2` and
 * `node:https` servers (the README's "Plain Node" code as written): 50 concurrent streams on one
 * session get one verification and one `identify` (single flight), a refused session's streams are
 * all refused, a CRL change reaches an open session, and a session that closes while its verdict is
 * pending is a clean refusal, never a throw. Real TLS; node:http2 and curl as clients.
 */
import http2 from 'node:http2';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError, clientCertGuard, createVerifier, type ClientCertGuard, type Verifier } from 'certgate';
import { createGuard } from '../src/guard/guard.js';
import { ConnectionClosedError, type PresentedCertificate } from '../src/sources/source.js';
import { tlsSocketSource } from '../src/sources/tls-socket.js';
import { curl, get, makePki, PROBLEM_KEYS, type TestPki } from './helpers/clients.js';
import { makeLivePki, type LivePki } from './helpers/live-pki.js';

let pki: TestPki;
const closers: (() => void)[] = [];

beforeAll(async () => {
  pki = await makePki();
});
afterAll(() => {
  for (const close of closers) close();
});

/** Counts the verifications a verifier makes. */
function counted(verifier: Verifier): { verifier: Verifier; count: () => number } {
  let n = 0;
  const verify = verifier.verify.bind(verifier);
  verifier.verify = (...args) => {
    n++;
    return verify(...args);
  };
  closers.push(() => verifier.close());
  return { verifier, count: () => n };
}

/** The README's plain-Node handler: a refusal is `error.toProblem()` as application/problem+json. */
function plainHandler(guard: ClientCertGuard) {
  return async (req: IncomingMessage | http2.Http2ServerRequest, res: ServerResponse | http2.Http2ServerResponse) => {
    const outcome = await guard.check(req);
    if (!outcome.ok) {
      res.writeHead(outcome.error.status, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify(outcome.error.toProblem()));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ user: outcome.clientCert.user, path: req.url, http: req.httpVersion }));
  };
}

async function listenHttp2(
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  tls: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer },
): Promise<{ origin: string; server: http2.Http2SecureServer; sessions: () => number }> {
  const server = http2.createSecureServer(
    { ...tls, requestCert: true, rejectUnauthorized: false, allowHTTP1: true },
    handler,
  );
  let sessions = 0;
  server.on('session', () => sessions++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return { origin: `https://localhost:${(server.address() as AddressInfo).port}`, server, sessions: () => sessions };
}

interface StreamReply {
  status: number;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

function request(session: http2.ClientHttp2Session, path: string): Promise<StreamReply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let status = 0;
    let contentType: string | undefined;
    let text = '';
    stream.on('response', (h) => {
      status = Number(h[':status']);
      contentType = h['content-type'] as string | undefined;
    });
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (text += d));
    stream.on('end', () => resolve({ status, contentType, body: JSON.parse(text) }));
    stream.on('error', reject);
    stream.end();
  });
}

/** `n` streams opened at once on one new session. */
async function concurrentStreams(
  origin: string,
  ca: string | Buffer,
  client: { cert: string | Buffer; key: string | Buffer } | undefined,
  n: number,
): Promise<StreamReply[]> {
  const session = http2.connect(origin, { ca, ...(client ?? {}), servername: 'localhost' });
  try {
    return await Promise.all(Array.from({ length: n }, (_, i) => request(session, `/banking/${i}`)));
  } finally {
    session.close();
  }
}

describe('plain node:http2 with clientCertGuard: one verdict per session', () => {
  let origin: string;
  let sessions: () => number;
  let count: () => number;
  let identifyCalls = 0;

  beforeAll(async () => {
    const shared = counted(createVerifier({ ca: pki.ca, crl: pki.crl }));
    count = shared.count;
    // An asynchronous identify that takes a while: streams arriving meanwhile must wait for it.
    const guard = clientCertGuard({
      verifier: shared.verifier,
      roles: ['customer'],
      identify: async (c) => {
        identifyCalls++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { user: String(c.subject.CN), roles: c.subject.CN === 'alice' ? ['customer'] : [] };
      },
    });
    ({ origin, sessions } = await listenHttp2(plainHandler(guard), { ...pki.server, ca: pki.ca }));
  });

  it('50 concurrent streams on one session: every answer right, one verification, one identify', async () => {
    const [calls, verifications, before] = [identifyCalls, count(), sessions()];
    const replies = await concurrentStreams(origin, pki.ca, pki.alice, 50);
    expect(replies.map((r) => [r.status, r.body.user, r.body.path, r.body.http])).toEqual(
      Array.from({ length: 50 }, (_, i) => [200, 'alice', `/banking/${i}`, '2.0']),
    );
    expect(sessions() - before).toBe(1);
    expect(count() - verifications).toBe(1);
    expect(identifyCalls - calls).toBe(1);
  });

  it("a refused session's 50 streams are all refused, with one verification", async () => {
    const verifications = count();
    const revoked = await concurrentStreams(origin, pki.ca, pki.mallory, 50);
    expect(count() - verifications).toBe(1);
    const problem = new CertgateError('CERT_REVOKED', 'x').toProblem();
    for (const r of revoked) {
      expect(r.status).toBe(401);
      expect(r.contentType).toBe('application/problem+json');
      expect(Object.keys(r.body).sort()).toEqual(PROBLEM_KEYS);
      expect(r.body).toMatchObject({ code: 'CERT_REVOKED', type: problem.type, title: 'CERT_REVOKED', status: 401 });
    }
  });

  it('a session without a certificate, and one whose user lacks the role: every stream refused', async () => {
    const missing = await concurrentStreams(origin, pki.ca, undefined, 20);
    expect(new Set(missing.map((r) => `${r.status} ${r.body.code}`))).toEqual(new Set(['401 CERT_MISSING']));
    const calls = identifyCalls;
    const forbidden = await concurrentStreams(origin, pki.ca, pki.bob, 20);
    expect(new Set(forbidden.map((r) => `${r.status} ${r.body.code}`))).toEqual(new Set(['403 ROLE_FORBIDDEN']));
    expect(identifyCalls - calls).toBe(1);
  });

  it('curl negotiates HTTP/2 (and HTTP/1.1 when asked) and gets the same answers', async () => {
    const auth = ['--cacert', pki.files.caBundle, '--cert', pki.files.clients.alice.cert];
    const key = ['--key', pki.files.clients.alice.key];
    const h2 = await curl(`${origin}/banking/curl`, ['--http2', ...auth, ...key]);
    expect([h2.httpVersion, h2.status, h2.body.user, h2.body.http]).toEqual(['2', 200, 'alice', '2.0']);
    const h1 = await curl(`${origin}/banking/curl`, ['--http1.1', ...auth, ...key]);
    expect([h1.httpVersion, h1.status, h1.body.user, h1.body.http]).toEqual(['1.1', 200, 'alice', '1.1']);
    const none = await curl(`${origin}/banking/curl`, ['--http2', '--cacert', pki.files.caBundle]);
    expect([none.httpVersion, none.status, none.contentType, none.body.code]).toEqual([
      '2',
      401,
      'application/problem+json',
      'CERT_MISSING',
    ]);
  });
});

describe("the guard's tls rule on HTTP/2 sessions", () => {
  it("decided from the session's TLS socket: TLS 1.2 below a TLSv1.3 rule refused on every stream, TLS 1.3 passes", async () => {
    const guard = clientCertGuard({ ca: pki.ca, crl: pki.crl, tls: { minVersion: 'TLSv1.3' } });
    const { origin } = await listenHttp2(plainHandler(guard), { ...pki.server, ca: pki.ca });
    const on = async (maxVersion: 'TLSv1.2' | 'TLSv1.3') => {
      const session = http2.connect(origin, { ca: pki.ca, ...pki.alice, servername: 'localhost', maxVersion });
      try {
        return await Promise.all([request(session, '/a'), request(session, '/b')]);
      } finally {
        session.close();
      }
    };
    const weak = await on('TLSv1.2');
    expect(weak.map((r) => `${r.status} ${r.body.code}`)).toEqual(['403 TLS_TOO_WEAK', '403 TLS_TOO_WEAK']);
    const strong = await on('TLSv1.3');
    expect(strong.map((r) => `${r.status} ${r.body.user}`)).toEqual(['200 alice', '200 alice']);
  });
});

describe('plain node:https with clientCertGuard().check(req)', () => {
  it('answers with the verified user, and refusals as error.toProblem()', async () => {
    // The configuration users write first: `ca` is the root only, clients send their intermediate.
    const guard = clientCertGuard({ ca: pki.ca, crl: pki.crl });
    const server = https.createServer(
      { ...pki.server, ca: pki.ca, requestCert: true, rejectUnauthorized: false },
      plainHandler(guard),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const ok = await get(port, '/x', { ca: pki.ca, client: pki.alice });
    expect([ok.status, ok.body]).toEqual([200, { user: 'alice', path: '/x', http: '1.1' }]);
    for (const [client, code] of [
      [pki.mallory, 'CERT_REVOKED'],
      [undefined, 'CERT_MISSING'],
    ] as const) {
      const refused = await get(port, '/x', { ca: pki.ca, ...(client ? { client } : {}) });
      expect(refused.status).toBe(401);
      expect(refused.headers['content-type']).toBe('application/problem+json');
      expect(refused.body).toEqual(new CertgateError(code, refused.body.message).toProblem());
    }
  });
});

describe('a CRL change reaches an open HTTP/2 session', () => {
  let live: LivePki;
  beforeAll(async () => {
    live = await makeLivePki();
  });

  it('200 on the session, the CRL republished revoking the client, the next stream on it 401 CERT_REVOKED', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'certgate-h2-crl-')), 'intermediate.crl');
    writeFileSync(file, await live.crl(1, []));
    const { verifier } = counted(
      createVerifier({ ca: live.rootPem, intermediates: live.intermediatePem, crl: { files: [file] } }),
    );
    const { origin, sessions } = await listenHttp2(plainHandler(clientCertGuard({ verifier })), live.server);
    const session = http2.connect(origin, { ca: live.rootPem, ...live.alice, servername: 'localhost' });
    try {
      expect((await request(session, '/before')).status).toBe(200);
      expect((await request(session, '/again')).status).toBe(200);
      writeFileSync(`${file}.next`, await live.crl(2, [live.alice.serial]));
      renameSync(`${file}.next`, file);
      await verifier.refreshCrls();
      const after = await request(session, '/after');
      expect([after.status, after.body.code]).toEqual([401, 'CERT_REVOKED']);
      expect(sessions()).toBe(1);
    } finally {
      session.close();
    }
  });
});

describe('a session that closes while its first verdict is pending', () => {
  /** A server whose handler waits for the client to destroy the session, then runs `then`. */
  async function afterClientLeft<T>(
    beforeClose: (req: http2.Http2ServerRequest) => void,
    then: (req: http2.Http2ServerRequest) => Promise<T>,
  ): Promise<T> {
    let settle!: (value: T | Error) => void;
    const result = new Promise<T | Error>((resolve) => (settle = resolve));
    const { origin } = await listenHttp2(
      (req) => {
        const session = req.stream.session;
        beforeClose(req);
        session?.once('close', () => {
          // Node clears the stream's session after 'close': look on the next turn, as an app would.
          setImmediate(() => then(req).then(settle, settle));
        });
      },
      { ...pki.server, ca: pki.ca },
    );
    const client = http2.connect(origin, { ca: pki.ca, ...pki.alice, servername: 'localhost' });
    const stream = client.request({ ':path': '/banking' });
    stream.on('error', () => {});
    stream.on('ready', () => setTimeout(() => client.destroy(), 20));
    stream.end();
    const value = await result;
    if (value instanceof Error) throw value;
    return value;
  }

  it('check(req) on a closed session resolves to CERT_MISSING (not a throw, not a 500)', async () => {
    const guard = clientCertGuard({ ca: pki.ca, crl: pki.crl });
    const seen = await afterClientLeft(
      () => {},
      async (req) => ({ cached: guard.cached(req), outcome: await guard.check(req) }),
    );
    expect(seen.cached).toBeUndefined();
    expect(seen.outcome.ok).toBe(false);
    expect(seen.outcome.ok ? '' : `${seen.outcome.error.code}: ${seen.outcome.error.detail}`).toBe(
      'CERT_MISSING: the HTTP/2 session closed before its certificate was read',
    );
  });

  it('a reading taken before the close: its chain cannot be read, and the guard refuses cleanly', async () => {
    let reading: PresentedCertificate | undefined;
    const seen = await afterClientLeft(
      (req) => {
        reading = tlsSocketSource.read(req) as PresentedCertificate;
      },
      async () => {
        const taken = reading as PresentedCertificate;
        const thrown = (() => {
          try {
            return taken.ders;
          } catch (err) {
            return err;
          }
        })();
        const guard = createGuard({ ca: pki.ca, crl: pki.crl }, 'test', { read: () => taken });
        return { thrown, via: taken.via, outcome: await guard.check({}) };
      },
    );
    expect(seen.thrown).toBeInstanceOf(ConnectionClosedError);
    expect(seen.via).toBe('TLS connection');
    expect(seen.outcome.ok ? '' : `${seen.outcome.error.code}: ${seen.outcome.error.detail}`).toBe(
      'CERT_MISSING: the connection closed before its certificate chain was read',
    );
  });

  it('an approval reached after the session closed (a slow identify) lets none of its 10 streams through', async () => {
    let identifyCalls = 0;
    const guard = clientCertGuard({
      ca: pki.ca,
      crl: pki.crl,
      identify: async (c) => {
        identifyCalls++;
        await new Promise((resolve) => setTimeout(resolve, 200));
        return { user: String(c.subject.CN), roles: [] };
      },
    });
    const outcomes: string[] = [];
    let allDecided!: () => void;
    const decided = new Promise<void>((resolve) => (allDecided = resolve));
    const { origin } = await listenHttp2(
      async (req) => {
        const outcome = await guard.check(req);
        outcomes.push(outcome.ok ? 'approved' : `${outcome.error.code}: ${outcome.error.detail}`);
        if (outcomes.length === 10) allDecided();
      },
      { ...pki.server, ca: pki.ca },
    );
    const client = http2.connect(origin, { ca: pki.ca, ...pki.alice, servername: 'localhost' });
    client.on('error', () => {});
    for (let i = 0; i < 10; i++) {
      const stream = client.request({ ':path': `/banking/${i}` });
      stream.on('error', () => {});
      stream.end();
    }
    setTimeout(() => client.destroy(), 50);
    await decided;
    expect(identifyCalls).toBe(1);
    expect(outcomes).toEqual(Array(10).fill('CERT_MISSING: the connection closed while its verdict was being made'));
  });

  it('an HTTP/1 connection closed before the guard read its TLS parameters: CERT_MISSING, not TLS_TOO_WEAK', async () => {
    const guard = clientCertGuard({ ca: pki.ca, crl: pki.crl });
    let settle!: (value: string) => void;
    const seen = new Promise<string>((resolve) => (settle = resolve));
    let first = true;
    const server = https.createServer(
      { ...pki.server, ca: pki.ca, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        if (first) {
          // A first guarded request: from now on the server's handshakes are looked at as they happen.
          first = false;
          void plainHandler(guard)(req, res);
          return;
        }
        // The second client leaves before anything reads its connection (slow middleware, say).
        req.socket.once('close', () =>
          setImmediate(async () => {
            const outcome = await guard.check(req);
            settle(outcome.ok ? 'approved' : `${outcome.error.code}: ${outcome.error.detail}`);
          }),
        );
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    expect((await get(port, '/first', { ca: pki.ca, client: pki.alice })).status).toBe(200);
    const leaving = https.get({ host: '127.0.0.1', port, path: '/', servername: 'localhost', ca: pki.ca, ...pki.bob });
    leaving.on('error', () => {});
    leaving.on('socket', (socket) => socket.once('secureConnect', () => setTimeout(() => leaving.destroy(), 30)));
    expect(await seen).toBe('CERT_MISSING: the connection closed before its TLS parameters were read');
  });
});
