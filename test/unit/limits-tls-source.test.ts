/**
 * The TLS source's memory of intermediates per leaf (for resumed sessions, on which OpenSSL
 * restores the leaf only), at the point where its bounds trip, on stand-in TLS sockets (no server:
 * the source only calls getPeerCertificate, isSessionReused and reads `encrypted`):
 * - MAX_REMEMBERED_INTERMEDIATES: that many presented intermediates are all handed to a resumed
 *   session of the same leaf; of one more, only the first that many are.
 * - the per-leaf byte cap INTERMEDIATES_MEMORY_BYTES / 1024: intermediates of exactly that many
 *   bytes in all are remembered; one byte more and none are (the resumed session then carries
 *   the leaf alone, with the "resumed TLS session" hint for operators).
 * test/limits-tls.test.ts shows the count bound over real TLS session resumption.
 */
import type { DetailedPeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  INTERMEDIATES_MEMORY_BYTES,
  MAX_REMEMBERED_INTERMEDIATES,
  tlsSocketSource,
} from '../../src/sources/tls-socket.js';
import type { PresentedCertificate, SourceReading } from '../../src/sources/source.js';

const PER_LEAF_BYTES = INTERMEDIATES_MEMORY_BYTES / 1024;
/** The source never parses: any bytes do. Every test uses fresh leaves (the memory is per process). */
let made = 0;
const blob = (bytes: number): Buffer => Buffer.alloc(bytes, ++made % 251);

interface Peer {
  raw: Buffer;
  fingerprint256: string;
}
const peer = (raw: Buffer): Peer => ({ raw, fingerprint256: `FP:${made}:${raw.length}:${Math.random()}` });

/**
 * A TLS socket as Node hands it over: `chain` is what getPeerCertificate(true) links after the
 * leaf (empty: a resumed session, leaf only).
 */
function tlsSocket(leaf: Peer, chain: Peer[], resumed: boolean) {
  const linked = [leaf, ...chain].map((c) => ({ ...c }) as unknown as DetailedPeerCertificate);
  linked.forEach((c, i) => {
    // Node links the last certificate to itself.
    c.issuerCertificate = linked[i + 1] ?? c;
  });
  return {
    encrypted: true,
    remoteAddress: '192.0.2.1',
    getPeerCertificate: (detailed?: boolean) => (detailed ? linked[0] : { ...leaf }),
    isSessionReused: () => resumed,
  };
}

const certificate = (reading: SourceReading): PresentedCertificate => {
  if (reading.kind !== 'certificate') throw new Error(`expected a certificate, got ${reading.kind}`);
  return reading;
};

/** A full handshake presenting `intermediates`, read by a guard; then the resumed session's reading. */
function fullThenResumed(intermediates: Buffer[]): { leaf: Buffer; resumed: PresentedCertificate } {
  const leaf = peer(blob(600));
  const full = certificate(tlsSocketSource.read({ socket: tlsSocket(leaf, intermediates.map(peer), false) }));
  expect(full.ders).toEqual([leaf.raw, ...intermediates]);
  const resumed = certificate(tlsSocketSource.read({ socket: tlsSocket(leaf, [], true) }));
  return { leaf: leaf.raw, resumed };
}

describe(`MAX_REMEMBERED_INTERMEDIATES (${MAX_REMEMBERED_INTERMEDIATES})`, () => {
  it('that many intermediates are all handed to the resumed session', () => {
    const intermediates = Array.from({ length: MAX_REMEMBERED_INTERMEDIATES }, () => blob(500));
    const { leaf, resumed } = fullThenResumed(intermediates);
    expect(resumed.ders).toEqual([leaf, ...intermediates]);
    expect(resumed.untrustedHint).toBeUndefined();
  });

  it('of one more, only the first that many (nearest the leaf) are remembered', () => {
    const intermediates = Array.from({ length: MAX_REMEMBERED_INTERMEDIATES + 1 }, () => blob(500));
    const { leaf, resumed } = fullThenResumed(intermediates);
    expect(resumed.ders).toEqual([leaf, ...intermediates.slice(0, MAX_REMEMBERED_INTERMEDIATES)]);
  });
});

describe(`the per-leaf byte cap (INTERMEDIATES_MEMORY_BYTES / 1024 = ${PER_LEAF_BYTES})`, () => {
  /** Three intermediates of `total` bytes together. */
  const weighing = (total: number) => [blob(1000), blob(2000), blob(total - 3000)];

  it(`intermediates of exactly ${PER_LEAF_BYTES} bytes are remembered`, () => {
    const intermediates = weighing(PER_LEAF_BYTES);
    const { leaf, resumed } = fullThenResumed(intermediates);
    expect(resumed.ders).toEqual([leaf, ...intermediates]);
  });

  it(`of ${PER_LEAF_BYTES + 1} bytes none are: the resumed session has its leaf and the operator hint`, () => {
    const { leaf, resumed } = fullThenResumed(weighing(PER_LEAF_BYTES + 1));
    expect(resumed.ders).toEqual([leaf]);
    expect(resumed.untrustedHint).toMatch(/^resumed TLS session/);
  });

  it('the cap weighs only the intermediates kept: a heavy one past the count bound does not count', () => {
    const kept = Array.from({ length: MAX_REMEMBERED_INTERMEDIATES }, () => blob(PER_LEAF_BYTES / 8));
    const { leaf, resumed } = fullThenResumed([...kept, blob(PER_LEAF_BYTES)]);
    expect(resumed.ders).toEqual([leaf, ...kept]);
  });
});
