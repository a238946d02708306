/**
 * A flood of distinct hostile client certificates (self-signed, ~28 KB subjects: bench/flood-certs.ts)
 * through the public verify API: every cache stays within its share of `cacheMaxBytes`, the
 * flood's parses are not kept as if they had reached a trust anchor, and a legitimate client is
 * still verified (and remembered). Also the guard's verdict memory under a flood of refusals.
 * test/adversarial/flood-memory.test.ts measures the heap over real TLS handshakes.
 */
import { describe, expect, it } from 'vitest';
import { createVerifier } from 'certgate';
import { floodMaker } from '../../../bench/flood-certs.js';
import { cacheUsage } from '../../../src/verifier/verifier.js';
import { cacheBudget, DEFAULT_CACHE_MAX_BYTES } from '../../../src/verifier/options.js';
import { VERDICT_MEMORY_BYTES, VerdictMemory } from '../../../src/guard/verdict-memory.js';
import { refusal } from '../../../src/guard/outcome.js';
import { chain } from '../pki.js';

const AT = Date.parse('2025-06-01T00:00:00Z');
const clock = { now: () => AT };
const MIB = 1024 * 1024;

describe('a flood of hostile self-signed certificates with ~28 KB subjects', () => {
  it('keeps every cache within its share of cacheMaxBytes and still serves a legitimate client', async () => {
    const c = await chain();
    const cacheMaxBytes = 16 * MIB;
    const verifier = createVerifier({
      ca: c.root.cert.der,
      intermediates: c.intermediate.cert.der,
      clock,
      cacheMaxBytes,
    });
    const budget = cacheBudget(cacheMaxBytes);
    const maker = floodMaker();
    for (let i = 0; i < 120; i++) {
      const result = await verifier.verify(maker.make(i).der);
      expect(result.ok || result.code).toBe('CERT_UNTRUSTED');
    }
    const usage = cacheUsage(verifier);
    expect(usage).toBeDefined();
    const { proven, unproven, signatures, outcomes } = usage as NonNullable<typeof usage>;
    // Nothing of the flood reached an anchor: no parse is kept as proven.
    expect(proven).toBe(0);
    // The short-lived area (1 MiB here: one such parse) is in use but within its share; so are the
    // remembered refusals (6 MiB: ~100 KB each, the detail names the 28 KB subject twice).
    expect(unproven).toBeGreaterThan(0);
    expect(unproven).toBeLessThanOrEqual(budget.unproven);
    expect(outcomes).toBeGreaterThan(budget.outcomes / 2);
    expect(outcomes).toBeLessThanOrEqual(budget.outcomes);
    expect(signatures).toBeLessThanOrEqual(budget.signatures);

    const legit = await verifier.verify(c.leaf.cert.der);
    expect(legit.ok).toBe(true);
    // The legitimate leaf reached an anchor: its parse is kept.
    expect((cacheUsage(verifier) as NonNullable<typeof usage>).proven).toBeGreaterThan(0);
  });

  it('keeps the signature checks within their share when every certificate claims the anchor as issuer', async () => {
    const c = await chain();
    const cacheMaxBytes = 1024 * 1024;
    const verifier = createVerifier({ ca: c.root.cert.der, clock, cacheMaxBytes });
    const maker = floodMaker(256, c.root.cert.subjectNameDer);
    for (let i = 0; i < 200; i++) {
      const result = await verifier.verify(maker.make(i).der);
      expect(result.ok || result.code).toBe('CERT_SIGNATURE_INVALID');
    }
    const usage = cacheUsage(verifier) as NonNullable<ReturnType<typeof cacheUsage>>;
    // 200 failed checks of ~800 bytes each would be 160 KB; the share is 64 KiB.
    expect(usage.signatures).toBeGreaterThan(cacheBudget(cacheMaxBytes).signatures / 2);
    expect(usage.signatures).toBeLessThanOrEqual(cacheBudget(cacheMaxBytes).signatures);
    expect(usage.proven).toBe(0);
  });

  it('defaults to 40 MiB across the verifier caches', async () => {
    const c = await chain();
    const verifier = createVerifier({ ca: c.root.cert.der, clock });
    const maker = floodMaker();
    // 60 certificates of ~57 KB DER: before the bound, ~48 MB of parses alone.
    for (let i = 0; i < 60; i++) await verifier.verify(maker.make(i).der);
    const usage = cacheUsage(verifier) as NonNullable<ReturnType<typeof cacheUsage>>;
    const total = usage.proven + usage.unproven + usage.signatures + usage.outcomes;
    expect(DEFAULT_CACHE_MAX_BYTES).toBe(40 * MIB);
    expect(usage.unproven).toBeLessThanOrEqual(cacheBudget(DEFAULT_CACHE_MAX_BYTES).unproven);
    expect(total).toBeLessThanOrEqual(DEFAULT_CACHE_MAX_BYTES);
  });

  it('refuses an unusable cacheMaxBytes at startup with CONFIG_INVALID', async () => {
    const c = await chain();
    for (const cacheMaxBytes of [0, 1024, MIB - 1, MIB + 0.5, -1, '64MB', Number.NaN]) {
      expect(() => createVerifier({ ca: c.root.cert.der, cacheMaxBytes: cacheMaxBytes as number })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining("'cacheMaxBytes'") }),
      );
    }
  });
});

describe("a guard's verdict memory under a flood of refusals with large details", () => {
  it('stays within VERDICT_MEMORY_BYTES', () => {
    const memory = new VerdictMemory(clock);
    const detail = 'x'.repeat(60_000);
    for (let i = 0; i < 500; i++) {
      memory.remember(`forwarded:${i}`, { outcome: refusal('CERT_UNTRUSTED', `${i}${detail}`), expiresAt: AT + 1 });
    }
    expect(memory.bytes.byCredential).toBeGreaterThan(VERDICT_MEMORY_BYTES / 2);
    expect(memory.bytes.byCredential).toBeLessThanOrEqual(VERDICT_MEMORY_BYTES);
    // The latest refusal is remembered; the oldest were evicted to make room.
    expect(memory.get('forwarded:499')).toBeDefined();
    expect(memory.get('forwarded:0')).toBeUndefined();
  });
});
