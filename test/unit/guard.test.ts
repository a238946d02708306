/**
 * The request-shaped guard over certificate sources, without servers: verdicts are remembered by
 * the source's cache key (never by a socket object the guard did not get from the source),
 * concurrent first requests share one decision, and remembered outcomes expire on the injected
 * clock.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import { generateDevPki, type DevPkiFiles } from '../../src/devpki/generate.js';
import { createGuard, REFUSAL_RECHECK_MS } from '../../src/guard/guard.js';
import type { CertificateSource, RequestLike, SourceReading } from '../../src/sources/source.js';
import { tlsSocketSource } from '../../src/sources/tls-socket.js';
import { pemToDer, pemBlocks } from '../helpers/oracle.js';

let dir: string;
let files: DevPkiFiles;
let now = 0;
const clock = { now: () => now };
let verifier: Verifier;
let verifications = 0;
const chainOf = (name: 'alice' | 'bob' | 'mallory') => pemBlocks(readFileSync(files.clients[name].cert)).map(pemToDer);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-unit-'));
  files = await generateDevPki(dir);
  now = Date.now();
  verifier = createVerifier({ ca: readFileSync(files.caBundle), crl: readFileSync(files.crl), clock });
  const verify = verifier.verify.bind(verifier);
  verifier.verify = (...args) => {
    verifications++;
    return verify(...args);
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A source that reads a certificate name from a header: request-scoped, like forwarded certificates. */
const headerSource: CertificateSource = {
  read(req: RequestLike): SourceReading {
    const name = req.headers?.['x-client'];
    if (name === undefined) return { kind: 'none', detail: 'no x-client header' };
    if (name !== 'alice' && name !== 'bob' && name !== 'mallory')
      return { kind: 'refusal', code: 'CERT_MALFORMED', detail: 'unknown name' };
    return {
      kind: 'certificate',
      ders: chainOf(name),
      scope: 'request',
      cacheKey: `x-client:${name}`,
      via: 'header x-client',
    };
  },
};

describe('remembering by the source cache key', () => {
  it('request-scoped: two clients on the same socket object get their own verdicts', async () => {
    const guard = createGuard({ verifier }, 'test', headerSource);
    const socket = {};
    const alice = await guard.check({ socket, headers: { 'x-client': 'alice' } });
    const mallory = await guard.check({ socket, headers: { 'x-client': 'mallory' } });
    expect(alice).toMatchObject({ ok: true, clientCert: { user: 'alice' } });
    expect(mallory).toMatchObject({ ok: false, error: { code: 'CERT_REVOKED', status: 401 } });
    // The fast path answers per credential, not per socket.
    expect(guard.cached({ socket, headers: { 'x-client': 'alice' } })).toBe(alice);
    expect(guard.cached({ socket, headers: { 'x-client': 'mallory' } })).toBe(mallory);
    expect(guard.cached({ socket, headers: { 'x-client': 'bob' } })).toBeUndefined();
  });

  it('a source refusal and "no certificate" become refusals without verifying anything', async () => {
    const guard = createGuard({ verifier }, 'test', headerSource);
    verifications = 0;
    expect(await guard.check({ headers: { 'x-client': 'eve?' } })).toMatchObject({
      ok: false,
      error: { code: 'CERT_MALFORMED' },
    });
    expect(await guard.check({ headers: {} })).toMatchObject({
      ok: false,
      error: { code: 'CERT_MISSING', detail: 'no x-client header' },
    });
    expect(verifications).toBe(0);
  });

  it('concurrent first requests for one key share one verification', async () => {
    const guard = createGuard({ verifier }, 'test', headerSource);
    verifications = 0;
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => guard.check({ headers: { 'x-client': 'bob' } })),
    );
    expect(outcomes.every((o) => o === outcomes[0] && o.ok)).toBe(true);
    expect(verifications).toBe(1);
  });

  it('the TLS source refuses a request that did not come over TLS, and never caches it', async () => {
    const guard = createGuard({ verifier }, 'test', tlsSocketSource);
    const plain = { socket: { encrypted: false }, headers: {} };
    expect(await guard.check(plain)).toMatchObject({
      ok: false,
      error: { code: 'CERT_MISSING', detail: 'the request did not arrive over TLS' },
    });
    expect(guard.cached(plain)).toBeUndefined();
  });
});

describe('remembered outcomes follow the injected clock', () => {
  it('a refusal is re-examined after REFUSAL_RECHECK_MS, to the millisecond', async () => {
    const guard = createGuard({ verifier }, 'test', headerSource);
    const req = { headers: { 'x-client': 'mallory' } };
    const start = now;
    const first = await guard.check(req);
    now = start + REFUSAL_RECHECK_MS;
    expect(guard.cached(req)).toBe(first);
    now = start + REFUSAL_RECHECK_MS + 1;
    expect(guard.cached(req)).toBeUndefined();
    now = start;
  });

  it('identityTtlMs Infinity: an acceptance lasts until the verdict expires (notAfter, CRL nextUpdate)', async () => {
    const guard = createGuard({ verifier, identityTtlMs: Infinity }, 'test', headerSource);
    const req = { headers: { 'x-client': 'alice' } };
    const start = now;
    const outcome = await guard.check(req);
    if (!outcome.ok) throw new Error(outcome.error.detail);
    const direct = await verifier.verify(chainOf('alice'));
    if (!direct.ok) throw new Error(direct.detail);
    now = direct.expiresAt.getTime();
    expect(guard.cached(req)).toBe(outcome);
    now = direct.expiresAt.getTime() + 1;
    expect(guard.cached(req)).toBeUndefined();
    now = start;
  });

  it('a throwing source is a clean 500, not a crash', async () => {
    const guard = createGuard({ verifier }, 'test', {
      read() {
        throw new Error('boom');
      },
    });
    expect(guard.cached({})).toBeUndefined();
    expect(await guard.check({})).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID', status: 500 } });
  });
});

describe("a known client's new connection (the same leaf, proved by a TLS handshake)", () => {
  /** A connection-scoped source that names the leaf, as the TLS source does. */
  const connection = (name: 'alice' | 'bob'): RequestLike & { reading: SourceReading } => ({
    reading: {
      kind: 'certificate' as const,
      scope: 'connection' as const,
      cacheKey: {},
      leafKey: `leaf:${name}`,
      ders: chainOf(name),
      via: 'test connection',
    },
  });
  const byReading: CertificateSource = { read: (req) => (req as unknown as { reading: SourceReading }).reading };

  it('is decided synchronously by cached() when identify is synchronous: no verification, identify again', async () => {
    let identified = 0;
    const identify = (c: { subject: { CN?: unknown } }) => {
      identified++;
      return { user: String(c.subject.CN), roles: [] };
    };
    const guard = createGuard({ verifier, identify }, 'test', byReading);
    verifications = 0;
    expect(guard.cached(connection('alice'))).toBeUndefined();
    expect(await guard.check(connection('alice'))).toMatchObject({ ok: true });
    const next = connection('alice');
    expect(guard.cached(next)).toMatchObject({ ok: true, clientCert: { user: 'alice' } });
    expect(guard.cached(next)).toBe(guard.cached(next));
    expect([verifications, identified]).toEqual([1, 2]);
  });

  it('an asynchronous identify: cached() starts the decision and check() joins it, identify runs once', async () => {
    let identified = 0;
    const identify = async (c: { subject: { CN?: unknown } }) => {
      identified++;
      return { user: String(c.subject.CN), roles: [] };
    };
    const guard = createGuard({ verifier, identify }, 'test', byReading);
    await guard.check(connection('bob'));
    identified = 0;
    const next = connection('bob');
    expect(guard.cached(next)).toBeUndefined();
    expect(await guard.check(next)).toMatchObject({ ok: true, clientCert: { user: 'bob' } });
    expect(identified).toBe(1);
  });
});
