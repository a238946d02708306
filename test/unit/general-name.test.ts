/**
 * GeneralName (RFC 5280 section 4.2.1.6): each of the nine forms decoded, and malformed encodings
 * of each refused. Hand-built DER, so every byte under test is visible.
 */
import { describe, expect, it } from 'vitest';
import { DerError, readRoot } from '../../src/x509/der.js';
import {
  readDistributionPointName,
  resolveDistributionPointName,
  generalNameKey,
  readGeneralName,
  readGeneralNames,
  type GeneralName,
  type GeneralNameContext,
} from '../../src/x509/general-name.js';
import { MalformedCertificateError } from '../../src/x509/certificate.js';
import type { Name } from '../../src/x509/name.js';
import { issue, rawExtension } from './pki.js';

/** One DER element; lengths up to 255 (short form, or the one-octet long form). */
const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  if (body.length > 0xff) throw new Error('test helper: lengths up to 255 only');
  const length = body.length < 0x80 ? [body.length] : [0x81, body.length];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
};
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const hex = (h: string): Buffer => Buffer.from(h, 'hex');

/** id-at-commonName, as an OID element. */
const CN = hex('0603550403');
/** Name ::= SEQUENCE OF RDN, here one RDN with CN=`value` (UTF8String). */
const nameDer = (value: string): Buffer => tlv(0x30, tlv(0x31, tlv(0x30, CN, tlv(0x0c, ascii(value)))));
/** 1.2.3.4 */
const OID_1234 = hex('2a0304');

function decode(der: Buffer, context?: GeneralNameContext): GeneralName {
  return readGeneralName(der, readRoot(der, der[0] as number), context);
}

describe('GeneralName: the nine forms', () => {
  it('[0] otherName: type-id and the [0] EXPLICIT value', () => {
    const value = tlv(0x0c, ascii('upn@example'));
    const der = tlv(0xa0, tlv(0x06, OID_1234), tlv(0xa0, value));
    expect(decode(der)).toEqual({ type: 'otherName', typeId: '1.2.3.4', value });
  });

  it('[1] rfc822Name, [2] dNSName, [6] uniformResourceIdentifier: IA5 text', () => {
    expect(decode(tlv(0x81, ascii('alice@bank.example')))).toEqual({ type: 'rfc822Name', value: 'alice@bank.example' });
    expect(decode(tlv(0x82, ascii('api.bank.example')))).toEqual({ type: 'dNSName', value: 'api.bank.example' });
    const uri = 'spiffe://bank.example/payments';
    expect(decode(tlv(0x86, ascii(uri)))).toEqual({ type: 'uniformResourceIdentifier', value: uri });
  });

  it('[3] x400Address: an ORAddress SEQUENCE, kept opaque', () => {
    const content = Buffer.concat([tlv(0x30, tlv(0x61, tlv(0x13, ascii('DE'))))]);
    expect(decode(tlv(0xa3, content))).toEqual({ type: 'x400Address', content });
  });

  it('[4] directoryName: an EXPLICIT Name', () => {
    const gn = decode(tlv(0xa4, nameDer('Unit CA')));
    expect(gn.type).toBe('directoryName');
    expect(gn.type === 'directoryName' && gn.name[0]?.[0]?.text).toBe('Unit CA');
  });

  it('[5] ediPartyName: optional nameAssigner, partyName, each an EXPLICIT DirectoryString', () => {
    const both = tlv(0xa5, tlv(0xa0, tlv(0x0c, ascii('assigner'))), tlv(0xa1, tlv(0x13, ascii('party'))));
    expect(decode(both)).toEqual({ type: 'ediPartyName', nameAssigner: 'assigner', partyName: 'party' });
    const partyOnly = tlv(0xa5, tlv(0xa1, tlv(0x0c, ascii('party'))));
    expect(decode(partyOnly)).toEqual({ type: 'ediPartyName', nameAssigner: undefined, partyName: 'party' });
  });

  it('[7] iPAddress: 4 or 16 octets in a name', () => {
    expect(decode(tlv(0x87, hex('c0000201')))).toEqual({ type: 'iPAddress', address: hex('c0000201') });
    const v6 = hex('20010db8000000000000000000000001');
    expect(decode(tlv(0x87, v6))).toEqual({ type: 'iPAddress', address: v6 });
  });

  it('[7] iPAddress: address and mask (8 or 32 octets) in a name constraint', () => {
    expect(decode(tlv(0x87, hex('c0000200ffffff00')), 'constraint')).toEqual({
      type: 'iPAddress',
      address: hex('c0000200'),
      mask: hex('ffffff00'),
    });
    const v6 = Buffer.concat([hex('20010db8'), Buffer.alloc(12), Buffer.alloc(4, 0xff), Buffer.alloc(12)]);
    const gn = decode(tlv(0x87, v6), 'constraint');
    expect(gn.type === 'iPAddress' && [gn.address.length, gn.mask?.length]).toEqual([16, 16]);
  });

  it('[8] registeredID: an IMPLICIT OBJECT IDENTIFIER', () => {
    expect(decode(tlv(0x88, OID_1234))).toEqual({ type: 'registeredID', oid: '1.2.3.4' });
  });

  it('GeneralNames: a SEQUENCE of several forms, in order', () => {
    const der = tlv(0x30, tlv(0x82, ascii('a.example')), tlv(0x87, hex('7f000001')), tlv(0x88, OID_1234));
    const types = readGeneralNames(der, readRoot(der, 0x30)).map((n) => n.type);
    expect(types).toEqual(['dNSName', 'iPAddress', 'registeredID']);
  });
});

describe('GeneralName: malformed encodings are refused (DerError)', () => {
  const refused: Array<[string, Buffer, GeneralNameContext?]> = [
    ['an unknown context tag [9]', tlv(0x89, ascii('x'))],
    ['an unknown constructed tag [9]', tlv(0xa9, tlv(0x04))],
    ['a universal tag where a GeneralName belongs', tlv(0x16, ascii('a.example'))],
    ['a SEQUENCE where a GeneralName belongs', tlv(0x30, tlv(0x82, ascii('a')))],
    ['otherName without the [0] EXPLICIT value', tlv(0xa0, tlv(0x06, OID_1234))],
    ['otherName whose value is IMPLICIT', tlv(0xa0, tlv(0x06, OID_1234), tlv(0x80, ascii('x')))],
    ['otherName with two values in its [0]', tlv(0xa0, tlv(0x06, OID_1234), tlv(0xa0, tlv(0x05), tlv(0x05)))],
    ['otherName with a trailing element', tlv(0xa0, tlv(0x06, OID_1234), tlv(0xa0, tlv(0x05)), tlv(0x05))],
    ['otherName without a type-id', tlv(0xa0, tlv(0xa0, tlv(0x05)))],
    ['otherName encoded primitive', tlv(0x80, OID_1234)],
    ['rfc822Name with a non-ASCII octet', tlv(0x81, Buffer.from('al\u00efce@bank.example', 'latin1'))],
    ['dNSName with a non-ASCII octet', tlv(0x82, Buffer.from([0x61, 0xe9]))],
    ['uniformResourceIdentifier with a non-ASCII octet', tlv(0x86, Buffer.from([0x68, 0xff]))],
    ['dNSName encoded constructed', tlv(0xa2, tlv(0x16, ascii('a.example')))],
    ['x400Address encoded primitive', tlv(0x83, ascii('x'))],
    ['an empty x400Address', tlv(0xa3)],
    ['x400Address not starting with the standard attributes SEQUENCE', tlv(0xa3, tlv(0x13, ascii('x')))],
    ['directoryName encoded primitive', tlv(0x84, nameDer('x'))],
    ['directoryName without the EXPLICIT wrapper', tlv(0xa4, tlv(0x31, tlv(0x30, CN, tlv(0x0c, ascii('x')))))],
    ['directoryName with two Names', tlv(0xa4, nameDer('x'), nameDer('y'))],
    ['directoryName with an empty RDN', tlv(0xa4, tlv(0x30, tlv(0x31)))],
    ['ediPartyName without partyName', tlv(0xa5, tlv(0xa0, tlv(0x0c, ascii('assigner'))))],
    ['ediPartyName whose partyName is not a DirectoryString', tlv(0xa5, tlv(0xa1, hex('020101')))],
    ['ediPartyName whose partyName is IMPLICIT', tlv(0xa5, tlv(0x81, ascii('party')))],
    ['ediPartyName encoded primitive', tlv(0x85, ascii('party'))],
    ['iPAddress of 5 octets', tlv(0x87, hex('c000020101'))],
    ['an empty iPAddress', tlv(0x87)],
    ['iPAddress with a mask outside name constraints', tlv(0x87, hex('c0000200ffffff00'))],
    ['iPAddress without a mask in a name constraint', tlv(0x87, hex('c0000200')), 'constraint'],
    ['iPAddress of 20 octets in a name constraint', tlv(0x87, Buffer.alloc(20)), 'constraint'],
    ['iPAddress encoded constructed', tlv(0xa7, tlv(0x04, hex('c0000201')))],
    ['an empty registeredID', tlv(0x88)],
    ['a truncated registeredID arc', tlv(0x88, hex('2a83'))],
    ['registeredID encoded constructed', tlv(0xa8, tlv(0x06, OID_1234))],
  ];
  it.each(refused)('%s', (_what, der, context) => {
    expect(() => decode(der, context)).toThrow(DerError);
  });
});

describe('distribution point names keep their 0.1 matching keys', () => {
  it('directory names match by RFC 5280 section 7.1 (case and spaces), other forms by tag and content', () => {
    const a = tlv(0xa4, nameDer('Unit  CA'));
    const b = tlv(0xa4, nameDer('unit ca'));
    expect(generalNameKey(a, readRoot(a, 0xa4))).toBe(generalNameKey(b, readRoot(b, 0xa4)));
    const uri = tlv(0x86, ascii('http://crl.example/ca.crl'));
    expect(generalNameKey(uri, readRoot(uri, 0x86))).toBe(`86:${ascii('http://crl.example/ca.crl').toString('hex')}`);
    const id = tlv(0x88, OID_1234);
    expect(generalNameKey(id, readRoot(id, 0x88))).toBe('88:2a0304');
  });

  it('fullName [0] lists keys; nameRelativeToCRLIssuer [1] names the CRL issuer plus the RDN', () => {
    const full = tlv(0xa0, tlv(0xa0, tlv(0x86, ascii('http://a/')), tlv(0x82, ascii('b'))));
    const uriKey = `86:${ascii('http://a/').toString('hex')}`;
    const fullName = readDistributionPointName(full, readRoot(full, 0xa0));
    expect(resolveDistributionPointName(fullName, [])).toEqual([uriKey, '82:62']);
    const relative = tlv(0xa0, tlv(0xa1, tlv(0x30, CN, tlv(0x0c, ascii('x')))));
    const rdn = readDistributionPointName(relative, readRoot(relative, 0xa0));
    // The issuer "CN=Unit CA" plus the RDN "CN=x" is the directory name "CN=Unit CA, CN=x".
    const issuer = tlv(0xa4, nameDer('Unit CA'));
    const issuerName = (readGeneralName(issuer, readRoot(issuer, 0xa4)) as { name: Name }).name;
    const joined = tlv(
      0xa4,
      tlv(0x30, tlv(0x31, tlv(0x30, CN, tlv(0x0c, ascii('Unit CA')))), tlv(0x31, tlv(0x30, CN, tlv(0x0c, ascii('x'))))),
    );
    expect(resolveDistributionPointName(rdn, issuerName)).toEqual([generalNameKey(joined, readRoot(joined, 0xa4))]);
  });

  it('a garbage GeneralName in a distribution point is malformed, not a name that never matches', () => {
    const full = tlv(0xa0, tlv(0xa0, tlv(0x89, ascii('x'))));
    expect(() => readDistributionPointName(full, readRoot(full, 0xa0))).toThrow(DerError);
  });
});

describe('subjectAltName through parseCertificate', () => {
  const SAN = '2.5.29.17';
  const everyForm = tlv(
    0x30,
    tlv(0xa0, tlv(0x06, OID_1234), tlv(0xa0, tlv(0x0c, ascii('upn')))),
    tlv(0x81, ascii('alice@bank.example')),
    tlv(0x82, ascii('alice.bank.example')),
    tlv(0xa3, tlv(0x30, tlv(0x61, tlv(0x13, ascii('DE'))))),
    tlv(0xa4, nameDer('Alice')),
    tlv(0xa5, tlv(0xa1, tlv(0x0c, ascii('party')))),
    tlv(0x86, ascii('spiffe://bank.example/alice')),
    tlv(0x87, hex('20010db8000000000000000000000001')),
    tlv(0x88, OID_1234),
  );

  it('decodes all nine forms; the public san shape keeps its four text forms', async () => {
    const { cert } = await issue({ subject: 'CN=alice', extra: [rawExtension(SAN, false, everyForm.toString('hex'))] });
    expect(cert.subjectAltNames?.map((n) => n.type)).toEqual([
      'otherName',
      'rfc822Name',
      'dNSName',
      'x400Address',
      'directoryName',
      'ediPartyName',
      'uniformResourceIdentifier',
      'iPAddress',
      'registeredID',
    ]);
    expect(cert.san).toEqual({
      dns: ['alice.bank.example'],
      email: ['alice@bank.example'],
      uri: ['spiffe://bank.example/alice'],
      ip: ['2001:db8::1'],
    });
  });

  it('a certificate without subjectAltName has no names and an empty san', async () => {
    const { cert } = await issue({ subject: 'CN=alice' });
    expect(cert.subjectAltNames).toBeUndefined();
    expect(cert.san).toEqual({ dns: [], email: [], uri: [], ip: [] });
  });

  it.each([
    ['an unknown tag', tlv(0x30, tlv(0x82, ascii('a.example')), tlv(0x89, ascii('x')))],
    ['a malformed otherName', tlv(0x30, tlv(0xa0, tlv(0x06, OID_1234)))],
    ['a 5-octet iPAddress', tlv(0x30, tlv(0x87, hex('0102030405')))],
    ['a SET instead of a SEQUENCE', tlv(0x31, tlv(0x82, ascii('a.example')))],
  ])('refuses a subjectAltName with %s as malformed', async (_what, der) => {
    const made = issue({ subject: 'CN=alice', extra: [rawExtension(SAN, false, der.toString('hex'))] });
    await expect(made).rejects.toThrow(MalformedCertificateError);
  });
});
