/**
 * Name constraints along a path (RFC 5280 sections 6.1.3 (b), (c) and 6.1.4 (g)): permitted
 * subtrees intersected across CAs, excluded subtrees unioned, excluded winning over permitted, the
 * self-issued exemption, the anchor's constraints, unsupported forms and the comparison cap.
 * Certificates here are plain objects with just the fields the rule reads, so each case shows
 * every name and constraint involved; name-constraints-certs.test.ts runs real certificates.
 */
import { describe, expect, it } from 'vitest';
import type { ParsedCertificate } from '../../src/x509/certificate.js';
import type { GeneralName } from '../../src/x509/general-name.js';
import { readRoot } from '../../src/x509/der.js';
import { decodeNameConstraints } from '../../src/x509/name-constraints.js';
import { formatDn, type Name } from '../../src/x509/name.js';
import { checkNameConstraints, MAX_NAME_CONSTRAINT_COMPARISONS, namesOf } from '../../src/path/name-constraints.js';
import { gn, ncDer } from './nc-der.js';

const CN = '2.5.4.3';
const EMAIL = '1.2.840.113549.1.9.1';
const text = (type: string, value: string) => ({ type, text: value, der: Buffer.alloc(0) });

interface FakeSpec {
  /** CN values, one RDN each; [] is an empty subject. */
  cn?: string[];
  email?: string;
  san?: GeneralName[];
  /** NameConstraints DER (ncDer), decoded by certgate's decoder. */
  nc?: Buffer;
  selfIssued?: boolean;
}

let serial = 1;
function fake(spec: FakeSpec): ParsedCertificate {
  const subjectName: Name = [
    ...(spec.cn ?? [`cert ${serial}`]).map((v) => [text(CN, v)]),
    ...(spec.email ? [[text(EMAIL, spec.email)]] : []),
  ];
  const nc = spec.nc ? { ...decodeNameConstraints(spec.nc, readRoot(spec.nc, 0x30)), critical: true } : undefined;
  return {
    subjectName,
    subjectDN: formatDn(subjectName),
    serialNumber: (serial++).toString(16),
    selfIssued: spec.selfIssued ?? false,
    ...(spec.san ? { subjectAltNames: spec.san } : {}),
    ...(nc ? { nameConstraints: nc } : {}),
  } as unknown as ParsedCertificate;
}

const dns = (value: string): GeneralName => ({ type: 'dNSName', value });
const email = (value: string): GeneralName => ({ type: 'rfc822Name', value });
const uri = (value: string): GeneralName => ({ type: 'uniformResourceIdentifier', value });
const ip = (...octets: number[]): GeneralName => ({ type: 'iPAddress', address: Buffer.from(octets) });
const dirName = (...cn: string[]): GeneralName => ({ type: 'directoryName', name: cn.map((v) => [text(CN, v)]) });
const codeOf = (path: ParsedCertificate[]) => checkNameConstraints(path)?.code;

describe('no constraints anywhere', () => {
  it('returns at once, without reading a single name', () => {
    const untouchable = (cert: ParsedCertificate) =>
      new Proxy(cert, {
        get(target, key, receiver) {
          if (key === 'subjectAltNames' || key === 'subjectName') throw new Error(`read ${String(key)}`);
          return Reflect.get(target, key, receiver);
        },
      });
    const path = [fake({ san: [dns('a.example')] }), fake({}), fake({})].map(untouchable);
    expect(checkNameConstraints(path)).toBeUndefined();
  });
  it('a pinned one-certificate path has no CA to constrain it', () => {
    expect(codeOf([fake({ san: [dns('x.example')], nc: ncDer([gn.dns('y.example')]) })])).toBeUndefined();
  });
});

describe('combination rules', () => {
  it('permitted subtrees intersect across CAs (x509-limbo restrictive-permits-in-intermediates-*)', () => {
    const root = fake({});
    const wide = fake({ nc: ncDer([gn.dns('foo.example.com'), gn.dns('bar.example.com')]) });
    const narrow = fake({ nc: ncDer([gn.dns('bar.example.com')]) });
    expect(codeOf([fake({ san: [dns('foo.example.com')] }), narrow, wide, root])).toBe('CERT_NAME_CONSTRAINED');
    expect(codeOf([fake({ san: [dns('foo.example.com')] }), wide, narrow, root])).toBe('CERT_NAME_CONSTRAINED');
    expect(codeOf([fake({ san: [dns('bar.example.com')] }), wide, narrow, root])).toBeUndefined();
  });

  it('excluded subtrees add up across CAs', () => {
    const path = (name: string) => [
      fake({ san: [dns(name)] }),
      fake({ nc: ncDer(undefined, [gn.dns('y.example')]) }),
      fake({ nc: ncDer(undefined, [gn.dns('x.example')]) }),
    ];
    expect(codeOf(path('a.x.example'))).toBe('CERT_NAME_CONSTRAINED');
    expect(codeOf(path('a.y.example'))).toBe('CERT_NAME_CONSTRAINED');
    expect(codeOf(path('a.z.example'))).toBeUndefined();
  });

  it('excluded wins over permitted, in one CA and across two', () => {
    const both = fake({ nc: ncDer([gn.dns('example.com')], [gn.dns('bad.example.com')]) });
    expect(codeOf([fake({ san: [dns('bad.example.com')] }), both])).toBe('CERT_NAME_CONSTRAINED');
    expect(codeOf([fake({ san: [dns('good.example.com')] }), both])).toBeUndefined();
    const permits = fake({ nc: ncDer([gn.dns('example.com')]) });
    const excludes = fake({ nc: ncDer(undefined, [gn.dns('example.com')]) });
    expect(codeOf([fake({ san: [dns('example.com')] }), permits, excludes])).toBe('CERT_NAME_CONSTRAINED');
  });

  it('every name must pass, not just one (x509-limbo excluded-dns-match-second)', () => {
    const ca = fake({ nc: ncDer(undefined, [gn.dns('not-allowed.example.com')]) });
    const leaf = fake({ san: [dns('example.com'), dns('not-allowed.example.com')] });
    expect(codeOf([leaf, ca])).toBe('CERT_NAME_CONSTRAINED');
  });

  it('constraints of one form leave names of another form alone', () => {
    const ca = fake({ nc: ncDer([gn.ip('c0000200ffffff00')], [gn.ip('0a000000ff000000')]) });
    expect(codeOf([fake({ san: [dns('example.com')] }), ca])).toBeUndefined();
  });

  it("a CA's constraints reach every certificate below it but not itself", () => {
    const root = fake({ nc: ncDer([gn.dns('permitted.example.com')], [gn.dns('forbidden.example.com')]) });
    const leaf = fake({ san: [dns('permitted.example.com')] });
    // x509-limbo intermediate-with-san-rejected-by-root-nc: an intermediate two below the root.
    const ica2 = fake({ san: [dns('forbidden.example.com')] });
    expect(checkNameConstraints([leaf, ica2, fake({}), root])?.detail).toContain('"forbidden.example.com"');
    // A CA whose own SAN lies outside its own permitted subtrees: they constrain only what is below.
    const self = fake({ san: [dns('forbidden.example.com')], nc: ncDer([gn.dns('example.net')]) });
    expect(codeOf([fake({ san: [dns('x.example.net')] }), self])).toBeUndefined();
    expect(codeOf([fake({ san: [dns('x.example.org')] }), self])).toBe('CERT_NAME_CONSTRAINED');
  });

  it("the anchor's own constraints are honoured", () => {
    const anchor = fake({ nc: ncDer([gn.dns('example.com')]) });
    expect(codeOf([fake({ san: [dns('not-example.com')] }), anchor])).toBe('CERT_NAME_CONSTRAINED');
    expect(codeOf([fake({ san: [dns('www.example.com')] }), anchor])).toBeUndefined();
  });
});

describe('self-issued certificates (RFC 5280 6.1.3 (b), (c))', () => {
  const root = () => fake({ nc: ncDer([gn.dns('example.com')]) });
  it('an intermediate that is self-issued is exempt (x509-limbo permitted-self-issued)', () => {
    const rollover = fake({ san: [dns('not-example.com')], selfIssued: true });
    expect(codeOf([fake({ san: [dns('www.example.com')] }), rollover, root()])).toBeUndefined();
  });
  it('a self-issued leaf is not (x509-limbo excluded-self-issued-leaf)', () => {
    const leaf = fake({ san: [dns('not-example.com')], selfIssued: true });
    expect(codeOf([leaf, fake({}), root()])).toBe('CERT_NAME_CONSTRAINED');
  });
  it("a self-issued intermediate's own constraints still apply below it", () => {
    const rollover = fake({ selfIssued: true, nc: ncDer(undefined, [gn.dns('www.example.com')]) });
    expect(codeOf([fake({ san: [dns('www.example.com')] }), rollover, root()])).toBe('CERT_NAME_CONSTRAINED');
  });
});

describe('the names of a certificate', () => {
  it('directoryName constraints reach the subject and SAN directoryNames, not an empty subject', () => {
    const ca = fake({ nc: ncDer([gn.dn('foo')]) });
    expect(codeOf([fake({ cn: ['foo', 'leaf'] }), ca])).toBeUndefined();
    expect(codeOf([fake({ cn: ['not-foo'], san: [dirName('foo')] }), ca])).toBe('CERT_NAME_CONSTRAINED');
    expect(codeOf([fake({ cn: ['foo'], san: [dirName('not-foo')] }), ca])).toBe('CERT_NAME_CONSTRAINED');
    expect(codeOf([fake({ cn: [], san: [dns('x.example')] }), ca])).toBeUndefined();
  });

  it("rfc822Name constraints reach the subject's emailAddress attribute", () => {
    const ca = fake({ nc: ncDer([gn.email('example.com')]) });
    expect(namesOf(fake({ cn: ['a'], email: 'a@example.com' })).map((n) => n.type)).toEqual([
      'directoryName',
      'rfc822Name',
    ]);
    expect(codeOf([fake({ email: 'alice@example.com' }), ca])).toBeUndefined();
    expect(codeOf([fake({ email: 'alice@example.org' }), ca])).toBe('CERT_NAME_CONSTRAINED');
    expect(codeOf([fake({ san: [email('alice@example.org')] }), ca])).toBe('CERT_NAME_CONSTRAINED');
  });

  it('a malformed mailbox under rfc822Name constraints fails closed (x509-limbo nc-permits-invalid-email-san)', () => {
    const ca = fake({ nc: ncDer([gn.email('example.com')]) });
    const leaf = fake({ san: [email('good@example.com'), email('invalid@address@example.com')] });
    expect(checkNameConstraints([leaf, ca])?.detail).toContain('cannot be compared');
  });

  it('a URI without a host fails closed under a URI constraint, and is left alone otherwise', () => {
    expect(codeOf([fake({ san: [uri('urn:x:y')] }), fake({ nc: ncDer([gn.uri('.example.com')]) })])).toBe(
      'CERT_NAME_CONSTRAINED',
    );
    expect(codeOf([fake({ san: [uri('urn:x:y')] }), fake({ nc: ncDer([gn.dns('example.com')]) })])).toBeUndefined();
    const excluded = fake({ nc: ncDer(undefined, [gn.uri('bad.example')]) });
    expect(codeOf([fake({ san: [uri('urn:x:y')] }), excluded])).toBe('CERT_NAME_CONSTRAINED');
    expect(codeOf([fake({ san: [uri('https://good.example/')] }), excluded])).toBeUndefined();
  });

  it('iPAddress: v4 names never match v6 constraints', () => {
    const v6only = fake({ nc: ncDer([gn.ip(`${'0'.repeat(30)}01${'f'.repeat(32)}`)]) });
    expect(codeOf([fake({ san: [ip(0, 0, 0, 1)] }), v6only])).toBe('CERT_NAME_CONSTRAINED');
    const v4 = fake({ nc: ncDer([gn.ip('c0000200ffffff00')]) });
    expect(codeOf([fake({ san: [ip(192, 0, 2, 9)] }), v4])).toBeUndefined();
    expect(codeOf([fake({ san: [ip(192, 0, 3, 9)] }), v4])).toBe('CERT_NAME_CONSTRAINED');
  });
});

describe('forms certgate cannot check (otherName, x400Address, ediPartyName, registeredID)', () => {
  const other: GeneralName = { type: 'otherName', typeId: '1.2.3.4', value: Buffer.from('0500', 'hex') };
  const rid: GeneralName = { type: 'registeredID', oid: '1.2.3.4' };
  it('fail closed when a certificate below has a name of that form (x509-limbo nc-forbids-othername)', () => {
    const ca = fake({ nc: ncDer([gn.dns('example.com')], [gn.other()]) });
    const failure = checkNameConstraints([fake({ san: [dns('example.com'), other] }), ca]);
    expect(failure?.code).toBe('CERT_NAME_CONSTRAINED');
    expect(failure?.detail).toContain('certgate cannot check');
    expect(codeOf([fake({ san: [rid] }), fake({ nc: ncDer([gn.rid()]) })])).toBe('CERT_NAME_CONSTRAINED');
  });
  it('are no obstacle when no name of that form is below (x509-limbo nc-forbids-othername-noop)', () => {
    const ca = fake({ nc: ncDer([gn.dns('example.com')], [gn.other()]) });
    expect(codeOf([fake({ san: [dns('example.com')] }), ca])).toBeUndefined();
  });
  it('a name of such a form under constraints of other forms only passes', () => {
    expect(codeOf([fake({ san: [other, rid] }), fake({ nc: ncDer([gn.dns('example.com')]) })])).toBeUndefined();
  });
});

describe('details', () => {
  it('name the certificate, the name (escaped) and the constraining CA', () => {
    const ca = fake({ cn: ['Constraining CA'], nc: ncDer([gn.dns('example.com')]) });
    const leaf = fake({ cn: ['leaf'], san: [dns('evil\u001b[2J.example.org')] });
    const detail = checkNameConstraints([leaf, ca])?.detail ?? '';
    expect(detail).toContain('certificate "CN=leaf"');
    expect(detail).toContain('Constraining CA');
    expect(detail).toContain('evil\\1B[2J.example.org');
    expect(detail).not.toContain('\u001b');
  });
});

describe(`the comparison cap (${MAX_NAME_CONSTRAINT_COMPARISONS})`, () => {
  // Counted as OpenSSL counts: (subject attributes + subjectAltNames) x all of the CA's subtrees.
  // 500 names (empty subject) x 500 subtrees is exactly the cap.
  const constraints = Array.from({ length: 500 }, (_, i) => gn.dns(`t${i}.example`));
  const names = Array.from({ length: 500 }, (_, i) => dns(`t${i}.example`));
  it('a path at the cap is checked in full', () => {
    const ca = fake({ nc: ncDer(constraints) });
    expect(500 * 500).toBe(MAX_NAME_CONSTRAINT_COMPARISONS);
    expect(checkNameConstraints([fake({ cn: [], san: names }), ca])).toBeUndefined();
    const oneBad = [...names.slice(1), dns('outside.example')];
    expect(codeOf([fake({ cn: [], san: oneBad }), ca])).toBe('CERT_NAME_CONSTRAINED');
  });
  it('one name more is over the cap, and the detail says why', () => {
    const ca = fake({ nc: ncDer(constraints) });
    const failure = checkNameConstraints([fake({ cn: ['one more name'], san: names }), ca]);
    expect(failure?.code).toBe('CERT_NAME_CONSTRAINED');
    expect(failure?.detail).toContain(`${501 * 500} name constraint comparisons, over the 250000 left`);
  });

  it('charges every path of one verification to one budget: path building cannot multiply the cap', () => {
    const ca = fake({ nc: ncDer(constraints) });
    const budget = { nameComparisons: 250_000 };
    // 500 names x 500 subtrees = 250,000: the first path spends the whole budget...
    expect(checkNameConstraints([fake({ cn: [], san: names }), ca], budget)).toBeUndefined();
    expect(budget.nameComparisons).toBe(0);
    // ...and the next path tried in the same verification, however small, is over it.
    const next = checkNameConstraints([fake({ cn: [], san: [dns('t1.example')] }), ca], budget);
    expect(next?.detail).toContain('over the 0 left of the limit of 250000 per verification');
  });
  it('names of forms no subtree names still count: a subject of many attributes', () => {
    const ca = fake({ nc: ncDer([...constraints, gn.dns('x.example')]) });
    const manyCns = Array.from({ length: 498 }, (_, i) => `cn ${i}`);
    // 498 CNs and one dNSName: 499 names x 501 subtrees = 249,999.
    expect(checkNameConstraints([fake({ cn: manyCns, san: [dns('t1.example')] }), ca])).toBeUndefined();
    const tooMany = fake({ cn: [...manyCns, 'one more'], san: [dns('t1.example')] });
    expect(checkNameConstraints([tooMany, ca])?.detail).toContain(`${500 * 501} name constraint comparisons`);
  });
  it('x509-limbo pathological::nc-dos-1 (1,027 constraints, 514 names) is over the cap', () => {
    const permitted = [...Array.from({ length: 513 }, (_, i) => gn.dns(`t${i}.test`)), gn.dns('.test')];
    const excluded = Array.from({ length: 513 }, (_, i) => gn.dns(`x${i}.test`));
    const leaf = fake({ cn: [], san: [...Array.from({ length: 513 }, (_, i) => dns(`t${i}.test`)), dns('.test')] });
    expect(checkNameConstraints([leaf, fake({ nc: ncDer(permitted, excluded) })])?.detail).toContain(
      `${514 * 1027} name constraint comparisons`,
    );
  });
});
