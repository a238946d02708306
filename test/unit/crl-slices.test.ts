/**
 * SLICE_MS (crl-bytes.ts) and CRL_INDEX_SLICE_MS (crl.ts) where they trip: with an injected
 * monotonic clock, work that has run exactly the slice keeps going, and one millisecond more yields
 * to the event loop. No sleeps: the clock is scripted.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { encodeElement, TAG } from '../../src/x509/der.js';
import { CRL_INDEX_SLICE_MS, parseCrl, parseCrlAsync } from '../../src/revocation/crl.js';
import { joinChunks, SLICE_MS } from '../../src/revocation/crl-bytes.js';
import { PACED_DUTY, restingPause } from '../../src/revocation/pacing.js';

/** A monotonic clock that reads `first`, then `then` forever. */
function scripted(first: number, then: number): () => number {
  let calls = 0;
  return () => (calls++ === 0 ? first : then);
}

/** Whether `work` let a setImmediate callback run before it finished. */
async function yields(work: () => Promise<unknown>): Promise<boolean> {
  let ran = false;
  const handle = setImmediate(() => {
    ran = true;
  });
  await work();
  clearImmediate(handle);
  return ran;
}

const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));

/** An unsigned, well-formed CRL with `count` entries (the index does not need a signature). */
function crlWithEntries(count: number): Buffer {
  const utc = encodeElement(TAG.UTC_TIME, Buffer.from('260101000000Z', 'latin1'));
  const alg = Buffer.from('300a06082a8648ce3d040302', 'hex');
  const serial = () => encodeElement(TAG.INTEGER, Buffer.concat([Buffer.from([0x11]), randomBytes(8)]));
  const entries = seq(...Array.from({ length: count }, () => seq(serial(), utc)));
  const issuer = seq(
    encodeElement(
      TAG.SET,
      seq(Buffer.from('0603550403', 'hex'), encodeElement(TAG.UTF8_STRING, Buffer.from('Slice CA'))),
    ),
  );
  const crlNumber = encodeElement(
    0xa0,
    seq(seq(Buffer.from('0603551d14', 'hex'), encodeElement(TAG.OCTET_STRING, Buffer.from('020101', 'hex')))),
  );
  const tbs = seq(Buffer.from('020101', 'hex'), alg, issuer, utc, utc, entries, crlNumber);
  return seq(tbs, alg, encodeElement(TAG.BIT_STRING, Buffer.from([0, 1, 2, 3])));
}

describe('SLICE_MS (joining a download)', () => {
  const chunks = [randomBytes(10), randomBytes(10), randomBytes(10)];

  it('copying that has run exactly SLICE_MS does not yield; one millisecond more does', async () => {
    expect(SLICE_MS).toBe(5);
    expect(await yields(() => joinChunks(chunks, 30, scripted(0, SLICE_MS)))).toBe(false);
    expect(await yields(() => joinChunks(chunks, 30, scripted(0, SLICE_MS + 1)))).toBe(true);
  });

  it('gives the same bytes either way', async () => {
    const whole = Buffer.concat(chunks);
    expect((await joinChunks(chunks, 30, scripted(0, SLICE_MS + 1))).equals(whole)).toBe(true);
  });
});

describe('CRL_INDEX_SLICE_MS (indexing a large CRL)', () => {
  // More than 128 entries, so the clock is read at least once.
  const der = crlWithEntries(300);

  it('indexing that has run exactly CRL_INDEX_SLICE_MS does not yield; one millisecond more does', async () => {
    expect(CRL_INDEX_SLICE_MS).toBe(10);
    expect(await yields(() => parseCrlAsync(der, undefined, scripted(0, CRL_INDEX_SLICE_MS)))).toBe(false);
    expect(await yields(() => parseCrlAsync(der, undefined, scripted(0, CRL_INDEX_SLICE_MS + 1)))).toBe(true);
  });

  it('a CRL indexed in slices equals one indexed at once', async () => {
    const sliced = await parseCrlAsync(der, undefined, scripted(0, CRL_INDEX_SLICE_MS + 1));
    const whole = parseCrl(der);
    expect(sliced.revoked.size).toBe(300);
    expect(sliced.id).toBe(whole.id);
  });
});

describe('a paced job (pacing.ts)', () => {
  it('rests three slices after each slice at a quarter of the time, and calls the pause between slices', async () => {
    expect(PACED_DUTY).toBe(0.25);
    vi.useFakeTimers();
    try {
      let rested = false;
      void restingPause(SLICE_MS)().then(() => (rested = true));
      await vi.advanceTimersByTimeAsync(3 * SLICE_MS - 1);
      expect(rested).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(rested).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    // parseCrlAsync with a pause: called between slices, and the CRL is the same.
    const der = crlWithEntries(2_000);
    let pauses = 0;
    const paced = await parseCrlAsync(der, 0, undefined, async () => {
      pauses++;
    });
    expect(pauses).toBeGreaterThan(0);
    expect(paced.id).toBe(parseCrl(der).id);
  });
});
