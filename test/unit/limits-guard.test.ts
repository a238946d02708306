/**
 * The guard's two LRU bounds, at the point where they evict, through createGuard with in-memory
 * sources and a real verifier (one chain, so every verification after the first is the
 * verifier's own cache hit and 10,001 of them stay cheap):
 * - MAX_REQUEST_SCOPED_VERDICTS: that many request-scoped (credential) verdicts are all kept;
 *   one more evicts exactly the least recently used, whose next request is verified again.
 * - MAX_VERIFIED_LEAVES: likewise for verified leaves reused by new connections of known clients.
 * (REFUSAL_RECHECK_MS is covered by test/unit/guard.test.ts.) The clock is frozen, so nothing
 * here expires: every miss is an eviction.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import { chain } from './pki.js';
import { createGuard } from '../../src/guard/guard.js';
import { MAX_REQUEST_SCOPED_VERDICTS, MAX_VERIFIED_LEAVES } from '../../src/guard/verdict-memory.js';
import type { CertificateSource, RequestLike } from '../../src/sources/source.js';

const AT = Date.UTC(2025, 0, 1);
let ders: Buffer[];
let verifier: Verifier;
let verifications = 0;

beforeAll(async () => {
  const c = await chain();
  ders = [c.leaf.cert.der, c.intermediate.cert.der];
  verifier = createVerifier({ ca: c.root.cert.der, clock: { now: () => AT } });
  const verify = verifier.verify.bind(verifier);
  verifier.verify = (...args) => {
    verifications++;
    return verify(...args);
  };
});

const header = (req: RequestLike, name: string): string => String(req.headers?.[name]);

describe(`MAX_REQUEST_SCOPED_VERDICTS (${MAX_REQUEST_SCOPED_VERDICTS})`, () => {
  /** Request-scoped, like a forwarded certificate: the verdict is remembered by the x-key header. */
  const source: CertificateSource = {
    read: (req) => ({ kind: 'certificate', ders, scope: 'request', cacheKey: header(req, 'x-key'), via: 'test' }),
  };
  const req = (i: number) => ({ headers: { 'x-key': `credential-${i}` } });

  it('keeps exactly that many verdicts; one more evicts the least recently used', async () => {
    const guard = createGuard({ verifier }, 'test', source);
    verifications = 0;
    for (let i = 0; i < MAX_REQUEST_SCOPED_VERDICTS; i++) expect((await guard.check(req(i))).ok).toBe(true);
    expect(verifications).toBe(MAX_REQUEST_SCOPED_VERDICTS);
    // All of them are still remembered; asking for #0 makes #1 the least recently used.
    expect(guard.cached(req(0))).toMatchObject({ ok: true });
    expect(guard.cached(req(MAX_REQUEST_SCOPED_VERDICTS - 1))).toMatchObject({ ok: true });

    await guard.check(req(MAX_REQUEST_SCOPED_VERDICTS));
    expect(verifications).toBe(MAX_REQUEST_SCOPED_VERDICTS + 1);
    expect(guard.cached(req(1))).toBeUndefined();
    expect(guard.cached(req(0))).toMatchObject({ ok: true });
    expect(guard.cached(req(2))).toMatchObject({ ok: true });
    // The evicted credential's next request is verified again.
    expect((await guard.check(req(1))).ok).toBe(true);
    expect(verifications).toBe(MAX_REQUEST_SCOPED_VERDICTS + 2);
  });
});

describe(`MAX_VERIFIED_LEAVES (${MAX_VERIFIED_LEAVES})`, () => {
  /**
   * Connection-scoped, like the TLS source: a new socket object is a new connection, and x-leaf
   * names the leaf the handshake proved (the source's leafKey), so a known leaf skips verify().
   */
  const source: CertificateSource = {
    read: (req) => ({
      kind: 'certificate',
      ders,
      scope: 'connection',
      cacheKey: req.socket as object,
      leafKey: header(req, 'x-leaf'),
      via: 'test',
    }),
  };
  const newConnection = (i: number) => ({ socket: {}, headers: { 'x-leaf': `leaf-${i}` } });

  it('keeps exactly that many verified leaves; one more evicts the least recently used', async () => {
    const guard = createGuard({ verifier }, 'test', source);
    verifications = 0;
    for (let i = 0; i < MAX_VERIFIED_LEAVES; i++) expect((await guard.check(newConnection(i))).ok).toBe(true);
    expect(verifications).toBe(MAX_VERIFIED_LEAVES);
    // A new connection of the first client is a lookup (and makes leaf #1 the least recently used).
    expect((await guard.check(newConnection(0))).ok).toBe(true);
    expect(verifications).toBe(MAX_VERIFIED_LEAVES);

    await guard.check(newConnection(MAX_VERIFIED_LEAVES));
    expect(verifications).toBe(MAX_VERIFIED_LEAVES + 1);
    // Leaf #1 was evicted: its new connection is verified again (evicting #2 in turn); #0 and #3 are known.
    await guard.check(newConnection(1));
    expect(verifications).toBe(MAX_VERIFIED_LEAVES + 2);
    await guard.check(newConnection(0));
    await guard.check(newConnection(3));
    expect(verifications).toBe(MAX_VERIFIED_LEAVES + 2);
  });
});
