/**
 * The guard's two LRU bounds, at the point where they evict, through createGuard with in-memory
 * sources and a real verifier (one chain, so every verification after the first is the
 * verifier's own cache hit and thousands of them stay cheap). Each LRU is bounded by entries and
 * by estimated bytes (VERDICT_MEMORY_BYTES), whichever trips first; keys of one width make every
 * entry the same size, so the capacity is known exactly:
 * - request-scoped (credential) verdicts: that many are all kept; one more evicts exactly the
 *   least recently used, whose next request is verified again.
 * - verified leaves reused by new connections of known clients: likewise.
 * (REFUSAL_RECHECK_MS is covered by test/unit/guard.test.ts.) The clock is frozen, so nothing
 * here expires: every miss is an eviction.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import { chain } from './pki.js';
import { createGuard } from '../../src/guard/guard.js';
import {
  MAX_REQUEST_SCOPED_VERDICTS as MAX_REQUEST_SCOPED_VERDICTS_BOUND,
  MAX_VERIFIED_LEAVES as MAX_VERIFIED_LEAVES_BOUND,
  rememberedBytes,
  VERDICT_MEMORY_BYTES,
  verifiedLeafBytes,
} from '../../src/guard/verdict-memory.js';
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
/** Fixed-width numbers: every key, so every entry, has the same size. */
const n5 = (i: number) => String(i).padStart(5, '0');
/** How many entries of `bytes` each an LRU keeps: the entry bound, or the byte bound if it trips first. */
const capacity = (max: number, bytes: number) => Math.min(max, Math.floor(VERDICT_MEMORY_BYTES / bytes));

describe(`request-scoped verdicts (MAX_REQUEST_SCOPED_VERDICTS ${MAX_REQUEST_SCOPED_VERDICTS_BOUND}, ${VERDICT_MEMORY_BYTES} bytes)`, () => {
  /** Request-scoped, like a forwarded certificate: the verdict is remembered by the x-key header. */
  const source: CertificateSource = {
    read: (req) => ({ kind: 'certificate', ders, scope: 'request', cacheKey: header(req, 'x-key'), via: 'test' }),
  };
  const req = (i: number) => ({ headers: { 'x-key': `credential-${n5(i)}` } });

  it('keeps exactly that many verdicts; one more evicts the least recently used', async () => {
    const guard = createGuard({ verifier }, 'test', source);
    verifications = 0;
    const first = await guard.check(req(0));
    const MAX_REQUEST_SCOPED_VERDICTS = capacity(
      MAX_REQUEST_SCOPED_VERDICTS_BOUND,
      rememberedBytes(first, `credential-${n5(0)}`),
    );
    // A real chain's verdicts: the byte bound still holds hundreds.
    expect(MAX_REQUEST_SCOPED_VERDICTS).toBeGreaterThan(500);
    for (let i = 1; i < MAX_REQUEST_SCOPED_VERDICTS; i++) expect((await guard.check(req(i))).ok).toBe(true);
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

describe(`verified leaves (MAX_VERIFIED_LEAVES ${MAX_VERIFIED_LEAVES_BOUND}, ${VERDICT_MEMORY_BYTES} bytes)`, () => {
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
  const newConnection = (i: number) => ({ socket: {}, headers: { 'x-leaf': `leaf-${n5(i)}` } });

  it('keeps exactly that many verified leaves; one more evicts the least recently used', async () => {
    const guard = createGuard({ verifier }, 'test', source);
    const result = await verifier.verify(ders);
    if (!result.ok) throw new Error(result.detail);
    const MAX_VERIFIED_LEAVES = capacity(MAX_VERIFIED_LEAVES_BOUND, verifiedLeafBytes(result, `leaf-${n5(0)}`));
    expect(MAX_VERIFIED_LEAVES).toBeGreaterThan(500);
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
