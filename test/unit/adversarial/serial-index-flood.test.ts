/**
 * A crafted CRL whose serials all collide in the serial index's hash (FNV-1a has no secret: its
 * collisions chain, 2^K serials from K colliding block pairs). Before the probe bound, 65,536 such
 * entries took 5.7 s to index, and time grew with the square; now such a CRL is malformed after at
 * most MAX_PROBE_RUN probes per serial. Tables handed over by the CRL worker are checked too.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_PROBE_RUN, SerialCollisionError, SerialIndex } from '../../../src/revocation/serial-index.js';

const step = (h: number, b: number) => Math.imul(h ^ b, 0x01000193) >>> 0;

/** Two 4-byte blocks that take FNV-1a state `s` to the same low `bits` bits, and that state. */
function collide(s: number, bits: number): [number[], number[], number] {
  const seen = new Map<number, number[]>();
  for (let i = 0; ; i++) {
    const block = [i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, 1 + ((i >> 24) & 0x7f)];
    let h = s;
    for (const b of block) h = step(h, b);
    h &= 2 ** bits - 1;
    const before = seen.get(h);
    if (before) return [before, block, h];
    seen.set(h, block);
  }
}

/**
 * 2^k serials of 1 + 4k octets whose hashes agree in their k + 1 low bits: one slot for all in the
 * index of 2^(k+1) slots that 2^k serials get. (Against a bigger table the search just takes longer.)
 */
function collidingSerials(k: number): { der: Uint8Array; length: number; count: number } {
  let s = step(0x811c9dc5, 0x01);
  const pairs: [number[], number[]][] = [];
  for (let i = 0; i < k; i++) {
    const [a, b, h] = collide(s, k + 1);
    pairs.push([a, b]);
    s = h;
  }
  const count = 1 << k;
  const length = 1 + 4 * k;
  const der = new Uint8Array(count * length);
  for (let i = 0; i < count; i++) {
    der[i * length] = 0x01;
    for (const [j, [a, b]] of pairs.entries()) der.set((i >> j) & 1 ? b : a, i * length + 1 + 4 * j);
  }
  return { der, length, count };
}

describe('the serial index under a hash flood', () => {
  it(`refuses serials that collide beyond ${MAX_PROBE_RUN} slots, instead of indexing them in quadratic time`, () => {
    const { der, length, count } = collidingSerials(12);
    const index = new SerialIndex(der, count);
    let added = 0;
    expect(() => {
      for (; added < count; added++) index.add(added * length, length);
    }).toThrow(SerialCollisionError);
    expect(added).toBe(MAX_PROBE_RUN + 1);
  });

  it('indexes 1,000,000 sequential serials and 200,000 random ones without coming near the bound', () => {
    for (const serials of [sequential(1_000_000), random(200_000)]) {
      const index = new SerialIndex(serials.der, serials.offsets.length);
      for (const [i, offset] of serials.offsets.entries()) index.add(offset, serials.lengths[i] as number);
      expect(index.size).toBe(serials.offsets.length);
      const at = serials.offsets[7] as number;
      expect(index.has(Buffer.from(serials.der.subarray(at, at + (serials.lengths[7] as number))))).toBe(true);
    }
  });
});

describe('tables handed over by the CRL worker', () => {
  const der = new Uint8Array(64).map((_, i) => i);
  const tables = () => {
    const index = new SerialIndex(der, 4);
    index.add(0, 3);
    index.add(10, 3);
    return index.tables();
  };
  it('are taken when they hold what they say', () => {
    const { slots, lengths, count } = tables();
    expect(SerialIndex.fromTables(der, slots, lengths, count).size).toBe(2);
  });
  it('are refused with another count, a NaN count, or a serial outside the CRL', () => {
    const { slots, lengths } = tables();
    expect(() => SerialIndex.fromTables(der, slots, lengths, 1)).toThrow(/another count/);
    expect(() => SerialIndex.fromTables(der, slots, lengths, Number.NaN)).toThrow(/wrong shape/);
    const outside = slots.slice();
    outside[outside.findIndex((v) => v !== 0)] = 63;
    expect(() => SerialIndex.fromTables(der, outside, lengths, 2)).toThrow(/outside the CRL/);
  });
  it('are checked alike in slices (what the main thread does with a worker’s index)', async () => {
    const { slots, lengths, count } = tables();
    const index = await SerialIndex.fromTablesInSlices(der, slots, lengths, count);
    expect(index.has(der.subarray(10, 13))).toBe(true);
    expect(index.has(der.subarray(11, 14))).toBe(false);
    await expect(SerialIndex.fromTablesInSlices(der, slots, lengths, 1)).rejects.toThrow(/another count/);
    await expect(SerialIndex.fromTablesInSlices(der, slots, lengths, Number.NaN)).rejects.toThrow(/wrong shape/);
    const outside = slots.slice();
    outside[outside.findIndex((v) => v !== 0)] = 63;
    await expect(SerialIndex.fromTablesInSlices(der, outside, lengths, 2)).rejects.toThrow(/outside the CRL/);
  });
});

/** Serials 1..n as minimal DER INTEGER content octets, packed. */
function sequential(n: number) {
  const der = new Uint8Array(n * 4);
  const offsets: number[] = [];
  const lengths: number[] = [];
  let pos = 0;
  for (let v = 1; v <= n; v++) {
    const bytes: number[] = [];
    for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
    if ((bytes[0] as number) & 0x80) bytes.unshift(0);
    der.set(bytes, pos);
    offsets.push(pos);
    lengths.push(bytes.length);
    pos += bytes.length;
  }
  return { der, offsets, lengths };
}

function random(n: number) {
  const der = new Uint8Array(randomBytes(n * 16));
  return { der, offsets: Array.from({ length: n }, (_, i) => i * 16), lengths: new Array<number>(n).fill(16) };
}
