/**
 * RFC 5280 6.3.3 decisions of src/revocation/crl-checker.ts that PKITS does not pin down, on CRL
 * and certificate stand-ins (the checker reads only the fields set here; every signature is
 * decided by the injected oracle): a reviewer's findings, kept as regressions.
 */
import { describe, expect, it } from 'vitest';
import { CrlChecker, type CrlCheckContext } from '../../src/revocation/crl-checker.js';
import type { ParsedCrl } from '../../src/revocation/crl.js';
import type { ParsedCertificate } from '../../src/x509/certificate.js';
import { encodeElement, TAG } from '../../src/x509/der.js';
import { parseCrl } from '../../src/revocation/crl.js';
import { entryFor } from '../../src/revocation/crl-scope.js';

const NOW = Date.UTC(2030, 0, 1);
const serials = (...hex: string[]) => {
  const set = new Set(hex);
  return { has: (b: Buffer) => set.has(b.toString('hex')) };
};
let n = 0;

function crl(fields: Partial<ParsedCrl> & { issuerKey: string }): ParsedCrl {
  return {
    id: `crl${n++}`,
    issuerDN: fields.issuerKey,
    crlNumber: 5n,
    authorityKeyId: undefined,
    scope: { onlyUserCerts: false, onlyCaCerts: false },
    unusableBecause: undefined,
    revoked: serials(),
    thisUpdate: new Date(NOW - 1000),
    nextUpdate: new Date(NOW + 86_400_000),
    signatureAlgorithmsMatch: true,
    verifiedWith: new Set(),
    ...fields,
  } as unknown as ParsedCrl;
}

function cert(id: string, subjectKey: string, issuerKey: string, serial: string, more = {}): ParsedCertificate {
  const fields = { id, subjectKey, issuerKey, subjectDN: subjectKey, serialNumber: serial, serialKey: serial };
  return { ...fields, serial: Buffer.from(serial, 'hex'), keyUsage: undefined, ...more } as ParsedCertificate;
}

const anchor = cert('root', 'root', 'root', '01');
const ca1 = cert('ca1', 'ca1', 'root', '02');
/** Another certificate of CA 1 (a separate CRL-signing key). */
const ca1Other = cert('ca1b', 'ca1', 'root', '09');
const indirectIssuer = cert('x', 'x', 'root', '03');

function ctx(candidates: ParsedCertificate[], signedBy = (_c: ParsedCrl, _s: ParsedCertificate) => true) {
  return {
    at: NOW,
    clockToleranceMs: 0,
    gracePeriodMs: 0,
    crlSignedBy: signedBy,
    signerCandidates: (c: ParsedCrl) => candidates.filter((x) => x.subjectKey === c.issuerKey),
    validateSigner: (s: ParsedCertificate) => ({ ok: true, path: [s, anchor], relied: { crls: [], certificates: [] } }),
  } as CrlCheckContext;
}

describe('CrlChecker (RFC 5280 6.3.3)', () => {
  it("reads the certificate issuer's own CRL even when an indirect CRL already covers every reason", () => {
    const leaf = cert('leaf', 'leaf', 'ca1', '2a', { distributionPoints: [{ crlIssuers: ['x'] }] });
    const own = crl({ issuerKey: 'ca1', revoked: serials('2a') } as never);
    const indirect = crl({ issuerKey: 'x', scope: { onlyUserCerts: false, onlyCaCerts: false, indirect: true } });
    expect(new CrlChecker([indirect]).check(leaf, ca1, anchor, false, ctx([indirectIssuer])).status).toBe('good');
    const both = new CrlChecker([own, indirect]).check(leaf, ca1, anchor, false, ctx([indirectIssuer]));
    expect(both.status).toBe('revoked');
  });

  it('uses a delta CRL only when the key that verified the complete CRL verifies it (6.3.3 (h))', () => {
    const leaf = cert('leaf', 'leaf', 'ca1', '2a');
    const complete = crl({ issuerKey: 'ca1' });
    const delta = crl({ issuerKey: 'ca1', crlNumber: 6n, deltaBase: 5n, revoked: serials('2a') } as never);
    // The delta is signed by CA 1's other key, the complete CRL by the path's issuer.
    const signedBy = (c: ParsedCrl, s: ParsedCertificate) => (c === delta ? s.id === 'ca1b' : s.id === 'ca1');
    const status = new CrlChecker([complete, delta]).check(leaf, ca1, anchor, false, ctx([ca1Other], signedBy));
    expect(status.status).toBe('unknown');
    expect(status.status === 'unknown' && status.failure.detail).toMatch(/delta CRL/);
    // Signed by the same key, the delta decides: the leaf is revoked.
    const same = new CrlChecker([complete, delta]).check(leaf, ca1, anchor, false, ctx([ca1Other]));
    expect(same.status).toBe('revoked');
  });

  it('relies on the delta CRL too, so the verdict expires with it', () => {
    const leaf = cert('leaf', 'leaf', 'ca1', '2a');
    const complete = crl({ issuerKey: 'ca1' });
    const delta = crl({ issuerKey: 'ca1', crlNumber: 6n, deltaBase: 5n, nextUpdate: new Date(NOW + 60_000) });
    const status = new CrlChecker([complete, delta]).check(leaf, ca1, anchor, false, ctx([]));
    expect(status.status === 'good' && status.relied.crls).toEqual([complete, delta]);
  });

  it('decides nothing while a configured CRL of the issuer is a placeholder (large, loading or malformed)', () => {
    const leaf = cert('leaf', 'leaf', 'ca1', '2a');
    const complete = crl({ issuerKey: 'ca1' });
    const loading = crl({ issuerKey: 'ca1', placeholder: true, unusableBecause: 'it has not been loaded yet' });
    const status = new CrlChecker([complete, loading]).check(leaf, ca1, anchor, false, ctx([]));
    expect(status.status).toBe('unknown');
    expect(status.status === 'unknown' && status.failure.detail).toMatch(/not been loaded yet/);
  });
});

describe('entries of an indirect CRL (RFC 5280 5.3.3)', () => {
  const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
  const hex = (h: string) => Buffer.from(h, 'hex');
  const utc = encodeElement(TAG.UTC_TIME, Buffer.from('260101000000Z', 'latin1'));
  const alg = hex('300a06082a8648ce3d040302');
  const integer = (content: string) => encodeElement(TAG.INTEGER, hex(content));
  const cn = (s: string) =>
    seq(encodeElement(TAG.SET, seq(hex('0603550403'), encodeElement(TAG.UTF8_STRING, Buffer.from(s)))));
  const ext = (oid: string, critical: boolean, value: Buffer) =>
    seq(hex(oid), ...(critical ? [hex('0101ff')] : []), encodeElement(TAG.OCTET_STRING, value));
  const reason = (r: number) => ext('0603551d15', false, encodeElement(0x0a, Buffer.from([r])));
  const certificateIssuer = (name: Buffer) => ext('0603551d1d', true, seq(encodeElement(0xa4, name)));
  function indirectCrl(...entries: Buffer[]): Buffer {
    const extensions = [ext('0603551d14', false, integer('05')), ext('0603551d1c', true, seq(hex('8401ff')))];
    const list = encodeElement(TAG.SEQUENCE, Buffer.concat(entries));
    const tbs = seq(
      hex('020101'),
      alg,
      cn('Indirect CRL Issuer'),
      utc,
      utc,
      list,
      encodeElement(0xa0, seq(...extensions)),
    );
    return seq(tbs, alg, encodeElement(TAG.BIT_STRING, hex('00010203')));
  }

  it("keeps another issuer's serial revoked when a later entry lists it as removeFromCRL", () => {
    const parsed = parseCrl(
      indirectCrl(
        seq(integer('2a'), utc, seq(certificateIssuer(cn('Other CA')), reason(1))),
        seq(integer('2a'), utc, seq(reason(8))),
      ),
    );
    const issuerKey = [...(parsed.notes?.others.keys() ?? [])][0] as string;
    expect(entryFor(parsed, { issuerKey, serial: hex('2a'), serialKey: '2a' } as ParsedCertificate)).toBe('revoked');
  });
});
