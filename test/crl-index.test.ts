/**
 * The CRL serial index and the sliced (event-loop friendly) CRL parse, on a CRL with many
 * entries built in the test: same verdicts as the synchronous parse, and the async parse really
 * lets the event loop run between slices.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeElement, TAG } from '../src/x509/der.js';
import { MalformedCrlError, parseCrl, parseCrlAsync } from '../src/revocation/crl.js';

const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
const utc = encodeElement(TAG.UTC_TIME, Buffer.from('260101000000Z', 'latin1'));
const alg = Buffer.from('300a06082a8648ce3d040302', 'hex');

/** An unsigned but well-formed CRL with `count` random positive serials (decoding does not need a signature). */
function bigCrl(count: number): { der: Buffer; serials: Buffer[] } {
  const serials = Array.from({ length: count }, () => {
    const s = randomBytes(12);
    s[0] = ((s[0] as number) & 0x7f) | 0x01;
    return s;
  });
  const entries = encodeElement(TAG.SEQUENCE, Buffer.concat(serials.map((s) => seq(encodeElement(TAG.INTEGER, s), utc))));
  const issuer = seq(encodeElement(TAG.SET, seq(Buffer.from('0603550403', 'hex'), encodeElement(TAG.UTF8_STRING, Buffer.from('Index CA')))));
  const crlNumber = encodeElement(0xa0, seq(seq(Buffer.from('0603551d14', 'hex'), encodeElement(TAG.OCTET_STRING, Buffer.from('020102', 'hex')))));
  const tbs = seq(Buffer.from('020101', 'hex'), alg, issuer, utc, utc, entries, crlNumber);
  return { der: seq(tbs, alg, encodeElement(TAG.BIT_STRING, Buffer.from([0, 1, 2, 3]))), serials };
}

describe('CRL serial index', () => {
  const { der, serials } = bigCrl(50_000);

  it('finds every listed serial and no other', () => {
    const crl = parseCrl(der);
    expect(crl.revoked.size).toBe(serials.length);
    for (const s of serials) expect(crl.revoked.has(s)).toBe(true);
    // Same number with a sign octet, or one octet off, is another serial (exact DER octets).
    const first = serials[0] as Buffer;
    expect(crl.revoked.has(Buffer.concat([Buffer.from([0]), first]))).toBe(false);
    expect(crl.revoked.has(first.subarray(1))).toBe(false);
    for (let i = 0; i < 1000; i++) expect(crl.revoked.has(randomBytes(12))).toBe(false);
  });

  it('parseCrlAsync gives the same CRL and yields to the event loop between slices', async () => {
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const parsed = await parseCrlAsync(der, 0);
    clearInterval(ticker);
    const sync = parseCrl(der);
    expect(parsed.revoked.size).toBe(sync.revoked.size);
    expect(parsed.id).toBe(sync.id);
    expect(parsed.crlNumber).toBe(2n);
    for (const s of serials.slice(0, 500)) expect(parsed.revoked.has(s)).toBe(true);
    // With a zero-length slice it stops every 1,024 entries: the timer had many chances to run.
    expect(turns).toBeGreaterThan(5);
  });

  it('parseCrlAsync rejects a truncated CRL with MalformedCrlError', async () => {
    await expect(parseCrlAsync(der.subarray(0, der.length - 100), 0)).rejects.toBeInstanceOf(MalformedCrlError);
  });
});
