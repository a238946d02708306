/**
 * Name constraints (RFC 5280 section 4.2.1.10): the strict decoder, and each form's matching rule
 * on its own. How constraints combine along a path is name-constraints-path.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DerError, readRoot } from '../../src/x509/der.js';
import { MalformedCertificateError } from '../../src/x509/certificate.js';
import { decodeNameConstraints } from '../../src/x509/name-constraints.js';
import { matchDn, matchDns, matchEmail, matchIp, matchUri, uriHost } from '../../src/path/name-matching.js';
import type { Name } from '../../src/x509/name.js';
import { gn, ncDer, subtree, tlv } from './nc-der.js';
import { issue, rawExtension } from './pki.js';

const NAME_CONSTRAINTS = '2.5.29.30';
const decode = (der: Buffer) => decodeNameConstraints(der, readRoot(der, der[0] as number));
const hex = (h: string) => Buffer.from(h, 'hex');

describe('decodeNameConstraints', () => {
  it('reads permitted and excluded subtrees of every form', () => {
    const nc = decode(
      ncDer([gn.dns('example.com'), gn.ip('c0000200ffffff00')], [gn.email('.bad.example'), gn.dn('x')]),
    );
    expect(nc.permitted?.map((s) => s.base.type)).toEqual(['dNSName', 'iPAddress']);
    expect(nc.excluded?.map((s) => s.base.type)).toEqual(['rfc822Name', 'directoryName']);
    const ip = nc.permitted?.[1]?.base;
    expect(ip?.type === 'iPAddress' && [ip.address.toString('hex'), ip.mask?.toString('hex')]).toEqual([
      'c0000200',
      'ffffff00',
    ]);
  });

  it('leaves an absent list undefined', () => {
    expect(decode(ncDer(undefined, [gn.dns('x.example')]))).toEqual({ excluded: [expect.anything()] });
    expect(decode(ncDer([gn.dns('x.example')]))).toEqual({ permitted: [expect.anything()] });
  });

  it('accepts an IPv6 constraint with a contiguous mask and a /0 mask', () => {
    const v6 = `20010db8${'0'.repeat(24)}ffffffff${'0'.repeat(24)}`;
    expect(decode(ncDer([gn.ip(v6)])).permitted).toHaveLength(1);
    expect(decode(ncDer([gn.ip('0000000000000000')])).permitted).toHaveLength(1);
  });

  const malformed: [string, Buffer][] = [
    ['an empty NameConstraints', tlv(0x30)],
    ['an empty permittedSubtrees', tlv(0x30, tlv(0xa0))],
    ['an empty excludedSubtrees', tlv(0x30, tlv(0xa0, subtree(gn.dns('a.example'))), tlv(0xa1))],
    ['an explicit minimum of 0 (DER omits DEFAULT values)', tlv(0x30, tlv(0xa0, subtree(gn.dns('a'), hex('800100'))))],
    ['a minimum of 1', tlv(0x30, tlv(0xa0, subtree(gn.dns('a'), hex('800101'))))],
    ['a maximum', tlv(0x30, tlv(0xa0, subtree(gn.dns('a'), hex('810105'))))],
    ['a minimum and a maximum', tlv(0x30, tlv(0xa1, subtree(gn.dns('a'), hex('800100'), hex('810101'))))],
    ['a non-contiguous IPv4 mask', ncDer([gn.ip('c0a80000ffff00ff')])],
    ['a non-contiguous IPv6 mask', ncDer([gn.ip(`${'0'.repeat(32)}ff${'0'.repeat(28)}01`)])],
    ['an iPAddress constraint without a mask (4 octets)', ncDer([gn.ip('7f000001')])],
    ['an iPAddress constraint of 6 octets', ncDer([gn.ip('7f000001ffff')])],
    [
      'the excluded list before the permitted list',
      tlv(0x30, tlv(0xa1, subtree(gn.dns('a'))), tlv(0xa0, subtree(gn.dns('b')))),
    ],
    ['an extra element after the lists', tlv(0x30, tlv(0xa0, subtree(gn.dns('a'))), hex('0500'))],
    ['an extra element in a subtree', tlv(0x30, tlv(0xa0, subtree(gn.dns('a'), hex('0500'))))],
    ['a subtree that is not a SEQUENCE', tlv(0x30, tlv(0xa0, tlv(0x31, gn.dns('a'))))],
    ['an unknown GeneralName tag', tlv(0x30, tlv(0xa0, subtree(tlv(0x89, hex('00')))))],
    ['a non-ASCII dNSName', tlv(0x30, tlv(0xa0, subtree(tlv(0x82, hex('c3a9')))))],
    ['a length past the end', Buffer.concat([hex('3006a004300282'), hex('05')])],
    ['a wrong outer tag', tlv(0x31, tlv(0xa0, subtree(gn.dns('a'))))],
  ];
  it.each(malformed)('refuses %s', (_why, der) => {
    expect(() => decode(der)).toThrow(DerError);
  });

  it('refuses trailing bytes after the extension value', () => {
    const der = Buffer.concat([ncDer([gn.dns('a.example')]), hex('00')]);
    expect(() => readRoot(der, 0x30)).toThrow(DerError);
  });

  it('makes a certificate with a malformed extension CERT_MALFORMED material, and keeps criticality', async () => {
    const bad = issue({ subject: 'CN=ca', ca: true, extra: [rawExtension(NAME_CONSTRAINTS, true, '3000')] });
    await expect(bad).rejects.toThrow(MalformedCertificateError);
    const value = ncDer([gn.dns('example.com')]).toString('hex');
    const { cert } = await issue({ subject: 'CN=ca', ca: true, extra: [rawExtension(NAME_CONSTRAINTS, false, value)] });
    expect(cert.nameConstraints?.critical).toBe(false);
    expect(cert.nameConstraints?.permitted?.[0]?.base).toEqual({ type: 'dNSName', value: 'example.com' });
  });
});

describe('dNSName (zero or more labels added on the left, case-insensitive)', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['www.Example.COM', 'example.com', true],
    ['a.b.example.com', 'EXAMPLE.com', true],
    ['notexample.com', 'example.com', false],
    ['example.com', 'www.example.com', false],
    ['host1.example.com', 'host.example.com', false],
    ['anything.at.all', '', true],
    ['*.example.com', 'example.com', true],
    // A wildcard constraint is no domain: it cannot be compared, which fails closed in either list.
    ['foo.example.com', '*.example.com', undefined],
  ])('%s in %s: %s', (name, constraint, want) => {
    expect(matchDns(name, constraint, 'permitted')).toBe(want);
    expect(matchDns(name, constraint, 'excluded')).toBe(want);
  });

  it('a leading-period constraint permits nothing but excludes the domain and its subdomains', () => {
    expect(matchDns('foo.example.com', '.example.com', 'permitted')).toBe(false);
    expect(matchDns('foo.example.com', '.example.com', 'excluded')).toBe(true);
    expect(matchDns('example.com', '.example.com', 'excluded')).toBe(true);
    expect(matchDns('other.com', '.example.com', 'excluded')).toBe(false);
  });

  it('a malformed name or constraint cannot be compared', () => {
    expect(matchDns('.example.com', 'example.com', 'permitted')).toBeUndefined();
    expect(matchDns('a..example.com', 'example.com', 'excluded')).toBeUndefined();
    expect(matchDns('a.example.com', 'example..com', 'permitted')).toBeUndefined();
  });
});

describe('rfc822Name (mailbox, host, .domain)', () => {
  it.each([
    ['root@example.com', 'root@example.com', true],
    ['root@EXAMPLE.com', 'root@example.com', true],
    ['Root@example.com', 'root@example.com', false],
    ['other@example.com', 'root@example.com', false],
    ['anyone@example.com', 'example.com', true],
    ['anyone@Example.Com', 'example.com', true],
    ['anyone@sub.example.com', 'example.com', false],
    ['anyone@sub.example.com', '.example.com', true],
    ['anyone@example.com', '.example.com', false],
    ['anyone@badexample.com', '.example.com', false],
    ['"a@b"@example.com', 'example.com', true],
  ])('%s in %s: %s', (name, constraint, want) => {
    expect(matchEmail(name, constraint)).toBe(want);
  });

  it.each([
    ['invalid@address@example.com', 'example.com'],
    ['no-at-sign', 'example.com'],
    ['@example.com', 'example.com'],
    ['a@', 'example.com'],
    ['a@example.com', 'invalid@invalid@example.com'],
    ['a@example.com', 'example..com'],
  ])('%s against %s cannot be compared', (name, constraint) => {
    expect(matchEmail(name, constraint)).toBeUndefined();
  });
});

describe('uniformResourceIdentifier (the host part)', () => {
  it.each([
    ['https://example.com/path', 'example.com', true],
    ['https://user:pw@Example.com:8443/p?q#f', 'example.com', true],
    ['https://www.example.com/', 'example.com', false],
    ['https://www.example.com/', '.example.com', true],
    ['https://example.com/', '.example.com', false],
    ['ldap://other.org', 'example.com', false],
  ])('%s in %s: %s', (uri, constraint, want) => {
    expect(matchUri(uri, constraint)).toBe(want);
  });

  it.each(['urn:example:thing', 'mailto:a@example.com', 'https:///path', 'https://[2001:db8::1]/', 'http://10.0.0.1/'])(
    '%s has no host a constraint can place, so it cannot be compared',
    (uri) => {
      expect(uriHost(uri)).toBeUndefined();
      expect(matchUri(uri, 'example.com')).toBeUndefined();
    },
  );
});

describe('iPAddress (address and mask; families never mix)', () => {
  const v4 = (s: string) => Buffer.from(s.split('.').map(Number));
  it('IPv4 subnets', () => {
    expect(matchIp(v4('192.0.2.7'), v4('192.0.2.0'), v4('255.255.255.0'))).toBe(true);
    expect(matchIp(v4('192.0.3.7'), v4('192.0.2.0'), v4('255.255.255.0'))).toBe(false);
    expect(matchIp(v4('10.1.2.3'), v4('0.0.0.0'), v4('0.0.0.0'))).toBe(true);
    expect(matchIp(v4('10.1.2.3'), v4('10.1.2.3'), v4('255.255.255.255'))).toBe(true);
  });
  it('IPv6 subnets, and no match across families', () => {
    const net = hex(`20010db8${'0'.repeat(24)}`);
    const mask = hex(`ffffffff${'0'.repeat(24)}`);
    expect(matchIp(hex(`20010db8${'0'.repeat(23)}1`), net, mask)).toBe(true);
    expect(matchIp(hex(`20010db9${'0'.repeat(23)}1`), net, mask)).toBe(false);
    expect(matchIp(v4('32.1.13.184'), net, mask)).toBe(false);
    expect(matchIp(hex(`20010db8${'0'.repeat(24)}`), v4('32.1.13.184'), v4('255.255.255.255'))).toBe(false);
  });
});

describe('directoryName (leading RDNs equal, RFC 5280 7.1 comparison)', () => {
  const attr = (type: string, text: string) => ({ type, text, der: Buffer.alloc(0) });
  const name = (...rdns: [string, string][]): Name => rdns.map(([t, v]) => [attr(t, v)]);
  const C = '2.5.4.6';
  const O = '2.5.4.10';
  const CN = '2.5.4.3';
  it('a prefix matches; case and whitespace are insignificant; order matters', () => {
    const base = name([C, 'US'], [O, 'Example Corp']);
    expect(matchDn(name([C, 'US'], [O, 'Example Corp'], [CN, 'alice']), base)).toBe(true);
    expect(matchDn(name([C, 'us'], [O, '  example   CORP ']), base)).toBe(true);
    expect(matchDn(name([C, 'US']), base)).toBe(false);
    expect(matchDn(name([O, 'Example Corp'], [C, 'US']), base)).toBe(false);
    expect(matchDn(name([C, 'US'], [O, 'Other']), base)).toBe(false);
    expect(matchDn(name([CN, 'x']), [])).toBe(true);
  });
  it('a multi-valued RDN matches in any attribute order, and only as a whole', () => {
    const multi: Name = [[attr(O, 'Example'), attr(CN, 'a')]];
    expect(matchDn([[attr(CN, 'a'), attr(O, 'Example')]], multi)).toBe(true);
    expect(matchDn(name([O, 'Example']), multi)).toBe(false);
  });
});

describe('names no subtree can place (an adversarial review)', () => {
  it('a dNSName with characters no label holds, or over 253 characters, cannot be compared', () => {
    const bad = ['evil.example\u0000.good.example', 'evil.example/ .good.example', `${'a.'.repeat(127)}good.example`];
    for (const name of bad) expect(matchDns(name, 'good.example', 'permitted')).toBeUndefined();
    expect(matchDns(`${'a'.repeat(64)}.good.example`, 'good.example', 'permitted')).toBeUndefined();
    expect(matchDns(`${'a'.repeat(63)}.good.example`, 'good.example', 'permitted')).toBe(true);
  });

  it('a URI authority that URL parsers read as another host cannot be compared', () => {
    for (const uri of ['http://evil.example\\@good.example/', 'http://evil%2Eexample/', 'http://evil.exa\tmple/']) {
      expect(uriHost(uri)).toBeUndefined();
      expect(matchUri(uri, 'good.example')).toBeUndefined();
    }
    expect(uriHost('http://user@good.example:8443/path')).toBe('good.example');
  });
});
