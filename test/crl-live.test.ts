/**
 * CRLs that stay true: a local HTTP server on 127.0.0.1 publishes CRLs and can swap them, go
 * down, answer slowly, serve garbage or a CRL signed by the wrong key; CRL files are replaced on
 * disk; and a keep-alive mTLS connection approved before a revocation is refused right after it.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { makeLivePki, type LivePki } from './helpers/live-pki.js';

/** A CRL distribution point we control. */
class CrlServer {
  body: string | Buffer = '';
  mode: 'ok' | 'down' | 'slow' | 'garbage' | 'endless' = 'ok';
  hits = 0;
  notModified = 0;
  private readonly server = http.createServer((req, res) => {
    this.hits++;
    if (this.mode === 'down') {
      res.statusCode = 503;
      res.end();
      return;
    }
    if (this.mode === 'slow') return; // never answers; the client's timeout must fire
    if (this.mode === 'endless') {
      // No content-length, and more bytes than any CRL: the client must stop reading by itself.
      const chunk = Buffer.alloc(64 * 1024, 0x30);
      const pump = () => {
        while (res.write(chunk)) if (res.writableLength > 1 << 22) break;
      };
      res.on('drain', pump);
      res.on('close', () => res.off('drain', pump));
      pump();
      return;
    }
    if (this.mode === 'garbage') {
      res.end('<html>captive portal</html>');
      return;
    }
    const etag = `"${Buffer.from(this.body).length}-${String(this.body).slice(-40).replace(/\W/g, '')}"`;
    if (req.headers['if-none-match'] === etag) {
      this.notModified++;
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('etag', etag);
    res.end(this.body);
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/intermediate.crl`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let pki: LivePki;
const crlServer = new CrlServer();
const verifiers: Verifier[] = [];

function liveVerifier(extra: Record<string, unknown> = {}): Verifier {
  const v = createVerifier({
    ca: pki.rootPem,
    intermediates: pki.intermediatePem,
    crl: { urls: [crlServer.url], fetchTimeoutMs: 300, ...extra },
  });
  verifiers.push(v);
  return v;
}

function collect<T>(v: Verifier, event: Parameters<Verifier['on']>[0]): T[] {
  const seen: T[] = [];
  v.on(event, (payload) => seen.push(payload as T));
  return seen;
}

beforeAll(async () => {
  await crlServer.start();
  pki = await makeLivePki(crlServer.url);
});

afterAll(async () => {
  for (const v of verifiers) v.close();
  await crlServer.stop();
});

describe('CRLs from a URL', () => {
  it('loads before the first verification, then a refreshed CRL revokes at once', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(1, []);
    const v = liveVerifier();
    const loaded = collect<{ entries: number; crlNumber: bigint }>(v, 'crl-loaded');
    expect((await v.verify(pki.alice.cert)).ok).toBe(true);
    const before = v.revision;

    crlServer.body = await pki.crl(2, [pki.alice.serial]);
    await v.refreshCrls();
    expect(v.revision).toBeGreaterThan(before);
    const r = await v.verify(pki.alice.cert);
    expect(r.ok ? 'accepted' : r.code).toBe('CERT_REVOKED');
    expect(loaded.at(-1)).toMatchObject({ entries: 1, crlNumber: 2n });
  });

  it('keeps the last good CRL when the server is down, slow, or serves garbage, and reports it', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(5, [pki.alice.serial]);
    const v = liveVerifier();
    const failures = collect<{ error: string; retryInMs: number }>(v, 'crl-refresh-failed');
    expect((await v.verify(pki.alice.cert)).ok).toBe(false);
    for (const mode of ['down', 'slow', 'garbage'] as const) {
      crlServer.mode = mode;
      await v.refreshCrls();
      const r = await v.verify(pki.alice.cert);
      expect({ mode, code: r.ok ? 'accepted' : r.code }).toEqual({ mode, code: 'CERT_REVOKED' });
    }
    expect(failures.map((f) => f.error)).toEqual([
      expect.stringMatching(/HTTP 503/),
      expect.stringMatching(/no answer within 300 ms/),
      expect.stringMatching(/PEM|DER/),
    ]);
    // Retries back off: each failure waits longer than the one before.
    expect(failures[1]!.retryInMs).toBeGreaterThan(failures[0]!.retryInMs);
    crlServer.mode = 'ok';
  });

  it('refuses a CRL signed by the wrong key, and one older than the CRL in use', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(10, []);
    const v = liveVerifier();
    const rejected = collect<{ reason: string }>(v, 'crl-rejected');
    expect((await v.verify(pki.alice.cert)).ok).toBe(true);

    crlServer.body = await pki.crl(11, [pki.alice.serial], { wrongKey: true });
    await v.refreshCrls();
    crlServer.body = await pki.crl(9, [pki.alice.serial]);
    await v.refreshCrls();
    expect(rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/signature does not verify/),
      expect.stringMatching(/older than the CRL in use/),
    ]);
    // Neither replaced the good CRL: alice is still accepted.
    expect((await v.verify(pki.alice.cert)).ok).toBe(true);
  });

  it('uses conditional requests and one fetch in flight per source', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(20, []);
    const v = liveVerifier();
    await v.verify(pki.alice.cert);
    const hits = crlServer.hits;
    const notModified = crlServer.notModified;
    await Promise.all([v.refreshCrls(), v.refreshCrls(), v.refreshCrls(), v.refreshCrls()]);
    expect(crlServer.hits - hits).toBe(1);
    expect(crlServer.notModified - notModified).toBe(1);
  });

  it('fails closed while a URL has never delivered, or soft-fails with whenUnavailable: allow', async () => {
    crlServer.mode = 'down';
    const strict = liveVerifier();
    const r = await strict.verify(pki.alice.cert);
    expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');

    const lenient = liveVerifier({ whenUnavailable: 'allow' });
    const unknown = collect<{ allowed: boolean }>(lenient, 'revocation-unknown');
    expect((await lenient.verify(pki.alice.cert)).ok).toBe(true);
    // One report per certificate whose status is unknown (here the leaf and the intermediate).
    expect(unknown.length).toBeGreaterThan(0);
    expect(unknown.every((u) => u.allowed)).toBe(true);
    crlServer.mode = 'ok';
  });
});

describe('a hijacked CRL URL', () => {
  it('stops reading an endless body at maxBytes and keeps the last good CRL', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(70, [pki.alice.serial]);
    const v = liveVerifier({ maxBytes: 100_000, fetchTimeoutMs: 5_000 });
    const failures = collect<{ error: string }>(v, 'crl-refresh-failed');
    expect((await v.verify(pki.alice.cert)).ok).toBe(false);
    crlServer.mode = 'endless';
    await v.refreshCrls();
    expect(failures.map((f) => f.error)).toEqual([expect.stringMatching(/over the 100000-byte limit/)]);
    const r = await v.verify(pki.alice.cert);
    expect(r.ok ? 'accepted' : r.code).toBe('CERT_REVOKED');
    crlServer.mode = 'ok';
  });
});

describe("CRLs from certificates' distribution points", () => {
  it('fetches the CRL a certificate names, once its signature verified, and keeps it', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(50, [pki.bob.serial]);
    const v = createVerifier({
      ca: pki.rootPem,
      intermediates: pki.intermediatePem,
      crl: { distributionPoints: true, fetchTimeoutMs: 300 },
    });
    verifiers.push(v);
    const hits = crlServer.hits;
    const r = await v.verify(pki.bob.cert);
    expect(r.ok ? 'accepted' : r.code).toBe('CERT_REVOKED');
    expect(crlServer.hits - hits).toBe(1);
    // Fetched once, then used from memory.
    const again = await v.verify(pki.bob.cert);
    expect(again.ok ? 'accepted' : again.code).toBe('CERT_REVOKED');
    expect(crlServer.hits - hits).toBe(1);
  });

  it('an unreachable distribution point is REVOCATION_UNKNOWN (fail closed)', async () => {
    crlServer.mode = 'down';
    const v = createVerifier({
      ca: pki.rootPem,
      intermediates: pki.intermediatePem,
      crl: { distributionPoints: true, fetchTimeoutMs: 300 },
    });
    verifiers.push(v);
    const r = await v.verify(pki.bob.cert);
    expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');
    crlServer.mode = 'ok';
  });
});

describe('CRLs from files', () => {
  it('picks up a CRL renamed into place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certgate-crl-file-'));
    const file = join(dir, 'intermediate.crl');
    writeFileSync(file, await pki.crl(1, []));
    const v = createVerifier({
      ca: pki.rootPem,
      intermediates: pki.intermediatePem,
      crl: { files: [file], fileCheckIntervalMs: 50 },
    });
    verifiers.push(v);
    expect((await v.verify(pki.alice.cert)).ok).toBe(true);
    const loaded = new Promise((resolve) => v.on('crl-loaded', resolve));
    writeFileSync(join(dir, 'next.crl'), await pki.crl(2, [pki.alice.serial]));
    renameSync(join(dir, 'next.crl'), file);
    await loaded;
    const r = await v.verify(pki.alice.cert);
    expect(r.ok ? 'accepted' : r.code).toBe('CERT_REVOKED');
  });

  it('refuses a missing file at creation', () => {
    expect(() => createVerifier({ ca: pki.rootPem, crl: { files: ['/nonexistent/crl.pem'] } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/crl\.files/) }),
    );
  });
});

describe('grace period', () => {
  it('keeps using a just-stale CRL within gracePeriodMs, and not after', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(30, [], { nextUpdate: new Date(Date.now() + 1500) });
    const strict = liveVerifier();
    const stale = collect<{ issuer: string }>(strict, 'crl-stale');
    const graceful = liveVerifier({ gracePeriodMs: 60_000 });
    expect((await strict.verify(pki.alice.cert)).ok).toBe(true);
    expect((await graceful.verify(pki.alice.cert)).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1600));
    const at = new Date();
    const r = await strict.verify(pki.alice.cert, { at });
    expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');
    expect((await graceful.verify(pki.alice.cert, { at })).ok).toBe(true);
    // The server still has nothing newer: the refresh reports the CRL in use as stale, once.
    await strict.refreshCrls();
    await strict.refreshCrls();
    expect(stale).toEqual([expect.objectContaining({ issuer: 'CN=Live Intermediate' })]);
  });
});

describe('end to end: revocation reaches an open keep-alive connection', () => {
  it('200 before, 401 CERT_REVOKED on the same connection after the CRL is republished', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(40, []);
    const verifier = liveVerifier();
    const app = express();
    const sockets = new Set<unknown>();
    app.use((req, _res, next) => {
      sockets.add(req.socket);
      next();
    });
    app.get('/banking', requireClientCert({ verifier }), (req, res) => {
      res.json({ user: req.clientCert?.user });
    });
    const server = https.createServer(
      { cert: pki.server.cert, key: pki.server.key, requestCert: true, rejectUnauthorized: false },
      app,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; body: { code?: string; user?: string } }>((resolve, reject) => {
        const req = https.get(
          {
            host: '127.0.0.1',
            port: (server.address() as AddressInfo).port,
            path: '/banking',
            servername: 'localhost',
            ca: pki.rootPem,
            cert: pki.alice.cert,
            key: pki.alice.key,
            agent,
          },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
      });
    try {
      expect(await get()).toEqual({ status: 200, body: { user: 'alice' } });
      expect(await get()).toEqual({ status: 200, body: { user: 'alice' } });
      crlServer.body = await pki.crl(41, [pki.alice.serial]);
      await verifier.refreshCrls();
      const after = await get();
      expect({ status: after.status, code: after.body.code }).toEqual({ status: 401, code: 'CERT_REVOKED' });
      expect(sockets.size).toBe(1);
      expect([...sockets][0] as TLSSocket).toHaveProperty('encrypted', true);
    } finally {
      agent.destroy();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('a CRL URL that starts serving another issuer', () => {
  it('does not uncover the issuer it used to cover', async () => {
    const other = await makeLivePki();
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(60, [pki.alice.serial]);
    const v = createVerifier({
      ca: [pki.rootPem, other.rootPem],
      intermediates: [pki.intermediatePem, other.intermediatePem],
      crl: { urls: [crlServer.url], fetchTimeoutMs: 300 },
    });
    verifiers.push(v);
    expect((await v.verify(pki.alice.cert)).ok).toBe(false);
    // The URL now serves a valid CRL of a different CA (same name, other key): alice stays revoked.
    crlServer.body = await other.crl(61, []);
    await v.refreshCrls();
    const r = await v.verify(pki.alice.cert);
    expect(r.ok ? 'accepted' : r.code).toBe('CERT_REVOKED');
  });
});

describe('a CRL URL serving forgeries', () => {
  it('a forged CRL with a huge CRL Number neither enters nor blocks the real next CRL', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(5, []);
    const v = liveVerifier();
    expect((await v.verify(pki.alice.cert)).ok).toBe(true);
    crlServer.body = await pki.crl(999_999, [], { wrongKey: true });
    await v.refreshCrls();
    crlServer.body = await pki.crl(6, [pki.alice.serial]);
    await v.refreshCrls();
    const r = await v.verify(pki.alice.cert);
    expect(r.ok ? 'accepted' : r.code).toBe('CERT_REVOKED');
  });

  it('a refused first response is fetched again in full, never answered by 304 into "no CRL"', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(7, [], { wrongKey: true });
    const v = liveVerifier();
    const first = await v.verify(pki.alice.cert);
    expect(first.ok ? 'accepted' : first.code).toBe('REVOCATION_UNKNOWN');
    const notModified = crlServer.notModified;
    await v.refreshCrls();
    expect(crlServer.notModified).toBe(notModified);
    const again = await v.verify(pki.alice.cert);
    expect(again.ok ? 'accepted' : again.code).toBe('REVOCATION_UNKNOWN');
  });

  it('a CRL whose issuer is not configured is a candidate, verified at use against the issuer clients send', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(8, []);
    // Only the root is configured; the intermediate comes from the client.
    const v = createVerifier({ ca: pki.rootPem, crl: { urls: [crlServer.url], fetchTimeoutMs: 300 } });
    verifiers.push(v);
    const rejected = collect<{ reason: string }>(v, 'crl-rejected');
    const loaded = collect<{ verified: boolean; crlNumber: bigint }>(v, 'crl-loaded');
    await v.refreshCrls();
    expect(rejected).toEqual([]);
    expect(loaded.map((e) => [e.crlNumber, e.verified])).toEqual([[8n, false]]);
    expect((await v.verify(pki.alice.cert)).ok).toBe(true);
    // Same issuer name and authority key, another signing key, a huge CRL number: it cannot evict
    // the CRL verified at use, and the CA's next genuine CRL (a lower number) still replaces it.
    crlServer.body = await pki.crl(999_999, [pki.alice.serial], { wrongKey: true });
    await v.refreshCrls();
    expect((await v.verify(pki.bob.cert)).ok).toBe(true);
    crlServer.body = await pki.crl(9, [pki.bob.serial]);
    await v.refreshCrls();
    const bob = await v.verify(pki.bob.cert);
    expect(bob.ok ? 'accepted' : bob.code).toBe('CERT_REVOKED');
    expect((await v.verify(pki.alice.cert)).ok).toBe(true);
  });

  it('a forged CRL is never used, even before any genuine one was verified', async () => {
    crlServer.mode = 'ok';
    crlServer.body = await pki.crl(10, [], { wrongKey: true });
    const v = createVerifier({ ca: pki.rootPem, crl: { urls: [crlServer.url], fetchTimeoutMs: 300 } });
    verifiers.push(v);
    const r = await v.verify(pki.alice.cert);
    expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');
    expect(r.ok ? '' : r.detail).toMatch(/loaded from .* \(CRL number 10\): its signature does not verify/);
  });
});

describe('close()', () => {
  it('aborts a fetch in flight and stops refreshing', async () => {
    crlServer.mode = 'slow';
    const v = createVerifier({
      ca: pki.rootPem,
      intermediates: pki.intermediatePem,
      crl: { urls: [crlServer.url], fetchTimeoutMs: 60_000 },
    });
    const failures = collect<{ error: string }>(v, 'crl-refresh-failed');
    const started = Date.now();
    setTimeout(() => v.close(), 100);
    const r = await v.verify(pki.alice.cert);
    // The pending first fetch was abandoned well before its 60 s timeout: the verdict is unknown.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');
    expect(failures.map((f) => f.error)).toEqual(['aborted: the verifier was closed']);
    const hits = crlServer.hits;
    await v.refreshCrls();
    expect(crlServer.hits).toBe(hits);
    crlServer.mode = 'ok';
  });
});
