/** When an OCSP answer is asked again ahead of its end (src/revocation/ocsp-refresh.ts). */
import { describe, expect, it } from 'vitest';
import { delayUntil, MIN_OCSP_REFRESH_GAP_MS, ocspRefreshAt, seenRecently } from '../../src/revocation/ocsp-refresh.js';

describe('ocspRefreshAt', () => {
  it('a tenth of the lifetime before the end with the defaults (5 minutes, 5 s timeout): 30 s', () => {
    expect(ocspRefreshAt(1_000, 301_000, 5_000)).toBe(271_000);
  });

  it('at least one request timeout before the end, at most half the lifetime', () => {
    expect(ocspRefreshAt(0, 20_000, 5_000)).toBe(15_000);
    expect(ocspRefreshAt(0, 6_000, 5_000)).toBe(3_000);
    expect(ocspRefreshAt(0, 86_400_000, 5_000)).toBe(86_400_000 - 8_640_000);
  });

  it('never sooner than MIN_OCSP_REFRESH_GAP_MS after the answer arrived, never for an answer without end', () => {
    expect(ocspRefreshAt(0, 2 * MIN_OCSP_REFRESH_GAP_MS, 5_000)).toBe(MIN_OCSP_REFRESH_GAP_MS);
    expect(ocspRefreshAt(0, 2 * MIN_OCSP_REFRESH_GAP_MS - 2, 5_000)).toBe(Infinity);
    expect(ocspRefreshAt(0, 400, 5_000)).toBe(Infinity);
    expect(ocspRefreshAt(0, Infinity, 5_000)).toBe(Infinity);
  });
});

describe('seenRecently', () => {
  it('used within the last answer lifetime, the boundary included', () => {
    // Fetched at 0, until 300 s: at 400 s, a use at 100 s or later counts.
    expect(seenRecently(100_000, 0, 300_000, 400_000)).toBe(true);
    expect(seenRecently(99_999, 0, 300_000, 400_000)).toBe(false);
  });
});

describe('delayUntil', () => {
  it('is never negative, and never beyond what a Node timer can wait', () => {
    expect(delayUntil(5, 10)).toBe(0);
    expect(delayUntil(10, 5)).toBe(5);
    expect(delayUntil(1e15, 0)).toBe(2 ** 31 - 1);
  });
});
