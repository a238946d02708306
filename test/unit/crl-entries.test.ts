/**
 * The entries of a CRL (crl-entries.ts): the common shape is checked without allocating
 * (commonEntry), everything else by the general decoder. Each entry below is one way an entry can
 * differ from the common shape; the outcome must be what the general decoder decides: the serial
 * listed, the CRL refused with its reason, or the CRL marked unusable.
 */
import { describe, expect, it } from 'vitest';
import { encodeElement, TAG } from '../../src/x509/der.js';
import { parseCrl } from '../../src/revocation/crl.js';

const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
const hex = (h: string) => Buffer.from(h, 'hex');
const utc = encodeElement(TAG.UTC_TIME, Buffer.from('260101000000Z', 'latin1'));
const generalized = encodeElement(TAG.GENERALIZED_TIME, Buffer.from('20260101000000Z', 'latin1'));
const alg = hex('300a06082a8648ce3d040302');
const reason = hex('300c300a0603551d1504030a0101');
const integer = (content: string) => encodeElement(TAG.INTEGER, hex(content));

/** An unsigned CRL whose revokedCertificates content is `entries` (decoding needs no signature). */
function crlWith(...entries: Buffer[]): Buffer {
  const issuer = seq(
    encodeElement(TAG.SET, seq(hex('0603550403'), encodeElement(TAG.UTF8_STRING, Buffer.from('Entries CA')))),
  );
  const tbs = seq(hex('020101'), alg, issuer, utc, utc, encodeElement(TAG.SEQUENCE, Buffer.concat(entries)));
  return seq(tbs, alg, encodeElement(TAG.BIT_STRING, hex('00010203')));
}

const listed = (der: Buffer) => [...parseCrl(der).revoked].sort();

describe('CRL entries', () => {
  it('lists the serials of common entries, with and without a reason code, UTCTime or GeneralizedTime', () => {
    const der = crlWith(seq(integer('01'), utc), seq(integer('0080'), utc, reason), seq(integer('7f'), generalized));
    expect(listed(der)).toEqual(['0080', '01', '7f']);
  });

  it('decodes entries with long-form lengths (a long serial) as the general decoder does', () => {
    const long = `01${'ab'.repeat(129)}`;
    const der = crlWith(seq(integer('02'), utc), seq(integer(long), utc));
    // Serials over 255 octets cannot be a certificate's: not listed; this one (130 octets) is.
    expect(listed(der)).toEqual(['02', long].sort());
  });

  it.each([
    ['a non-minimal serial (00 7f)', seq(integer('007f'), utc), /non-minimal INTEGER/],
    ['a non-minimal negative serial (ff 80)', seq(integer('ff80'), utc), /non-minimal INTEGER/],
    ['an empty serial', seq(integer(''), utc), /empty INTEGER/],
    ['a serial that is not an INTEGER', seq(encodeElement(TAG.OCTET_STRING, hex('01')), utc), /expected an INTEGER/],
    ['a date that is not a time', seq(integer('01'), encodeElement(TAG.OCTET_STRING, hex('01'))), /must be a time/],
    ['an entry that is not a SEQUENCE', encodeElement(TAG.SET, Buffer.concat([integer('01'), utc])), /SEQUENCE/],
    ['an element after the extensions', seq(integer('01'), utc, reason, integer('05')), /extra element/],
    ['an entry longer than its list', hex('3010020101'), /past its container|truncated/],
    ['an entry of one octet', hex('30'), /truncated/],
    ['a serial longer than its entry', hex('3003020501'), /past its container|truncated/],
  ])('refuses %s with the general decoder’s reason', (_name, entry, reasonText) => {
    expect(() => parseCrl(crlWith(seq(integer('01'), utc), entry))).toThrow(reasonText);
  });

  it('marks a CRL with an unknown critical entry extension, or a certificateIssuer entry outside an indirect CRL, unusable', () => {
    const critical = hex('3010300e0603550403 0101ff 040401020304'.replace(/ /g, ''));
    const issuer = hex('300e300c0603551d1d040530038201 61'.replace(/ /g, ''));
    expect(parseCrl(crlWith(seq(integer('01'), utc, critical))).unusableBecause).toMatch(/critical extension 2.5.4.3/);
    expect(parseCrl(crlWith(seq(integer('01'), utc, issuer))).unusableBecause).toMatch(/not indirect/);
  });
});
