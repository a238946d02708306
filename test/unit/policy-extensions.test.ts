/**
 * The certificate policy extension decoders (RFC 5280 sections 4.2.1.4, 4.2.1.5, 4.2.1.11,
 * 4.2.1.14): what they return, and each malformed shape they refuse. Bytes are assembled here, so
 * every case is exactly the shape it names.
 */
import { describe, expect, it } from 'vitest';
import { DerError, encodeElement, readRoot, TAG } from '../../src/x509/der.js';
import {
  ANY_POLICY,
  decodeCertificatePolicies,
  decodeInhibitAnyPolicy,
  decodePolicyConstraints,
  decodePolicyMappings,
  MAX_SKIP_CERTS,
} from '../../src/x509/policy-extensions.js';
import { MalformedCertificateError } from '../../src/x509/certificate.js';
import { issue, rawExtension } from './pki.js';

const tlv = (tag: number, ...parts: Buffer[]): Buffer => encodeElement(tag, Buffer.concat(parts));
const seq = (...parts: Buffer[]): Buffer => tlv(TAG.SEQUENCE, ...parts);

/** X.690 8.19: the first two arcs in one subidentifier, base 128 with continuation bits. */
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const octets: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const part = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) part.unshift((v & 0x7f) | 0x80);
    octets.push(...part);
  }
  return tlv(TAG.OID, Buffer.from(octets));
}

const int = (hex: string, tag: number = TAG.INTEGER): Buffer => tlv(tag, Buffer.from(hex, 'hex'));
const P1 = '2.16.840.1.101.3.2.1.48.1';
const P2 = '2.16.840.1.101.3.2.1.48.2';
const CPS = '1.3.6.1.5.5.7.2.1';
const cpsQualifier = seq(oid(CPS), tlv(TAG.IA5_STRING, Buffer.from('https://example.test/cps')));

const policies = (der: Buffer) => decodeCertificatePolicies(der, readRoot(der, der[0] as number));
const mappings = (der: Buffer) => decodePolicyMappings(der, readRoot(der, der[0] as number));
const constraints = (der: Buffer) => decodePolicyConstraints(der, readRoot(der, der[0] as number));
const inhibitAny = (der: Buffer) => decodeInhibitAnyPolicy(der, readRoot(der, der[0] as number));

describe('certificatePolicies (RFC 5280 4.2.1.4)', () => {
  it('returns the policy OIDs in certificate order, qualifiers checked then dropped', () => {
    const der = seq(seq(oid(P2)), seq(oid(P1), seq(cpsQualifier)), seq(oid(ANY_POLICY)));
    expect(policies(der)).toEqual([P2, P1, ANY_POLICY]);
  });

  it.each([
    ['an empty list', seq()],
    ['a policy OID twice', seq(seq(oid(P1)), seq(oid(P1), seq(cpsQualifier)))],
    ['PolicyInformation without an OID', seq(seq())],
    ['a policyIdentifier that is not an OID', seq(seq(int('01')))],
    ['an empty policyQualifiers', seq(seq(oid(P1), seq()))],
    ['a qualifier without its value', seq(seq(oid(P1), seq(seq(oid(CPS)))))],
    ['a qualifier with two values', seq(seq(oid(P1), seq(seq(oid(CPS), int('01'), int('02')))))],
    ['a qualifier id that is not an OID', seq(seq(oid(P1), seq(seq(int('01'), int('02')))))],
    ['an extra element after the qualifiers', seq(seq(oid(P1), seq(cpsQualifier), int('01')))],
    ['a SET instead of a SEQUENCE', tlv(TAG.SET, seq(oid(P1)))],
  ])('refuses %s', (_label, der) => {
    expect(() => policies(der)).toThrow(DerError);
  });
});

describe('policyMappings (RFC 5280 4.2.1.5)', () => {
  it('returns the pairs in order, anyPolicy included (6.1.4 (a) refuses it, not the decoder)', () => {
    const der = seq(seq(oid(P1), oid(P2)), seq(oid(ANY_POLICY), oid(P1)));
    expect(mappings(der)).toEqual([
      { issuerDomainPolicy: P1, subjectDomainPolicy: P2 },
      { issuerDomainPolicy: ANY_POLICY, subjectDomainPolicy: P1 },
    ]);
  });

  it.each([
    ['an empty list', seq()],
    ['a pair missing its subjectDomainPolicy', seq(seq(oid(P1)))],
    ['a pair with three OIDs', seq(seq(oid(P1), oid(P2), oid(P1)))],
    ['a pair of INTEGERs', seq(seq(int('01'), int('02')))],
  ])('refuses %s', (_label, der) => {
    expect(() => mappings(der)).toThrow(DerError);
  });
});

describe('policyConstraints (RFC 5280 4.2.1.11)', () => {
  it('reads either field or both, [0] and [1] IMPLICIT', () => {
    expect(constraints(seq(int('00', 0x80)))).toEqual({ requireExplicitPolicy: 0 });
    expect(constraints(seq(int('02', 0x81)))).toEqual({ inhibitPolicyMapping: 2 });
    expect(constraints(seq(int('01', 0x80), int('7f', 0x81)))).toEqual({
      requireExplicitPolicy: 1,
      inhibitPolicyMapping: 127,
    });
  });

  it('clamps a huge SkipCerts instead of overflowing', () => {
    expect(constraints(seq(int(`00${'ff'.repeat(20)}`, 0x80)))).toEqual({ requireExplicitPolicy: MAX_SKIP_CERTS });
    expect(constraints(seq(int('7fffffff', 0x81)))).toEqual({ inhibitPolicyMapping: MAX_SKIP_CERTS });
    expect(constraints(seq(int('7ffffffe', 0x81)))).toEqual({ inhibitPolicyMapping: MAX_SKIP_CERTS - 1 });
  });

  it.each([
    ['an empty sequence (CAs MUST NOT issue it)', seq()],
    ['the fields out of order', seq(int('01', 0x81), int('01', 0x80))],
    ['a field twice', seq(int('01', 0x80), int('01', 0x80))],
    ['an untagged INTEGER', seq(int('01'))],
    ['a constructed [0]', seq(tlv(0xa0, int('01')))],
    ['a negative SkipCerts', seq(int('ff', 0x80))],
    ['a non-minimal SkipCerts', seq(int('0001', 0x80))],
    ['an empty SkipCerts', seq(int('', 0x80))],
  ])('refuses %s', (_label, der) => {
    expect(() => constraints(der)).toThrow(DerError);
  });
});

describe('inhibitAnyPolicy (RFC 5280 4.2.1.14)', () => {
  it('reads SkipCerts, clamped', () => {
    expect(inhibitAny(int('00'))).toBe(0);
    expect(inhibitAny(int('0080'))).toBe(128);
    expect(inhibitAny(int(`7f${'ff'.repeat(30)}`))).toBe(MAX_SKIP_CERTS);
  });

  it.each([
    ['a negative value', int('80')],
    ['a non-minimal value', int('0000')],
    ['an OCTET STRING', int('01', TAG.OCTET_STRING)],
  ])('refuses %s', (_label, der) => {
    expect(() => inhibitAny(der)).toThrow(DerError);
  });
});

describe('in a certificate', () => {
  it('decodes the four extensions, critical or not', async () => {
    const made = await issue({
      subject: 'CN=Policy CA',
      ca: true,
      extra: [
        rawExtension('2.5.29.32', false, seq(seq(oid(P1)), seq(oid(P2))).toString('hex')),
        rawExtension('2.5.29.33', false, seq(seq(oid(P1), oid(P2))).toString('hex')),
        rawExtension('2.5.29.36', true, seq(int('03', 0x80)).toString('hex')),
        rawExtension('2.5.29.54', true, int('01').toString('hex')),
      ],
    });
    expect(made.cert.certificatePolicies).toEqual([P1, P2]);
    expect(made.cert.policyMappings).toEqual([{ issuerDomainPolicy: P1, subjectDomainPolicy: P2 }]);
    expect(made.cert.policyConstraints).toEqual({ requireExplicitPolicy: 3 });
    expect(made.cert.inhibitAnyPolicy).toBe(1);
  });

  it('makes a certificate with a malformed non-critical policy extension malformed', async () => {
    // issue() decodes what it made with parseCertificate, which refuses it.
    const made = issue({ subject: 'CN=Bad', extra: [rawExtension('2.5.29.36', false, seq().toString('hex'))] });
    await expect(made).rejects.toThrow(MalformedCertificateError);
    await expect(made).rejects.toThrow(/policyConstraints is an empty sequence/);
  });
});
