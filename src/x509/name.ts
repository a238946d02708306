import { cursor, DerError, encodedOf, readOid, readString, TAG, type Element } from './der.js';

/** `{ CN: 'alice', OU: ['a', 'b'] }`: a string, or an array for a repeated attribute, as Node shapes it. */
export type NameObject = Readonly<Record<string, string | readonly string[]>>;

interface AttributeName {
  /** OpenSSL's short name, which Node's getPeerCertificate() uses as the key. */
  node: string;
  /** The LDAP name RFC 4514 section 3 prints; absent means "print the dotted OID". */
  ldap?: string;
}

const ATTRIBUTE_NAMES: Record<string, AttributeName> = {
  '2.5.4.3': { node: 'CN', ldap: 'CN' },
  '2.5.4.4': { node: 'SN', ldap: 'SN' },
  '2.5.4.5': { node: 'serialNumber', ldap: 'serialNumber' },
  '2.5.4.6': { node: 'C', ldap: 'C' },
  '2.5.4.7': { node: 'L', ldap: 'L' },
  '2.5.4.8': { node: 'ST', ldap: 'ST' },
  '2.5.4.9': { node: 'street', ldap: 'STREET' },
  '2.5.4.10': { node: 'O', ldap: 'O' },
  '2.5.4.11': { node: 'OU', ldap: 'OU' },
  '2.5.4.12': { node: 'title', ldap: 'title' },
  '2.5.4.17': { node: 'postalCode', ldap: 'postalCode' },
  '2.5.4.42': { node: 'GN', ldap: 'GN' },
  '2.5.4.43': { node: 'initials', ldap: 'initials' },
  '2.5.4.44': { node: 'generationQualifier', ldap: 'generationQualifier' },
  '2.5.4.46': { node: 'dnQualifier', ldap: 'dnQualifier' },
  '2.5.4.65': { node: 'pseudonym', ldap: 'pseudonym' },
  '2.5.4.97': { node: 'organizationIdentifier', ldap: 'organizationIdentifier' },
  '0.9.2342.19200300.100.1.1': { node: 'UID', ldap: 'UID' },
  '0.9.2342.19200300.100.1.25': { node: 'DC', ldap: 'DC' },
  '1.2.840.113549.1.9.1': { node: 'emailAddress', ldap: 'emailAddress' },
};

/** One attribute of a distinguished name: its type OID and its value. */
export interface NameAttribute {
  type: string;
  /** The decoded text, or undefined when the value is not a directory string type. */
  text: string | undefined;
  /** The value's full DER encoding (printed as `#hex` when it is not text). */
  der: Buffer;
}

/** A Name as RDNs in certificate order, each RDN a set of attributes. */
export type Name = readonly (readonly NameAttribute[])[];

/** Name ::= SEQUENCE OF RelativeDistinguishedName; RDN ::= SET SIZE (1..MAX) OF AttributeTypeAndValue. */
export function readName(bytes: Uint8Array, el: Element): Name {
  const rdns: NameAttribute[][] = [];
  const seq = cursor(bytes, el, TAG.SEQUENCE);
  while (!seq.done) rdns.push(readRdn(bytes, seq.next(TAG.SET)));
  return rdns;
}

/** One RelativeDistinguishedName (a SET, or an IMPLICIT tag of one: nameRelativeToCRLIssuer). */
export function readRdn(bytes: Uint8Array, el: Element): NameAttribute[] {
  const set = cursor(bytes, el);
  const rdn: NameAttribute[] = [];
  while (!set.done) {
    const atv = cursor(bytes, set.next(TAG.SEQUENCE));
    const type = readOid(bytes, atv.next(TAG.OID));
    const value = atv.next();
    atv.end();
    rdn.push({ type, text: readString(bytes, value), der: Buffer.from(encodedOf(bytes, value)) });
  }
  if (rdn.length === 0) throw new DerError('empty RDN');
  return rdn;
}

/**
 * Characters a certificate must not get into a log line or a terminal raw: C0 (CR and LF forge
 * log lines, ESC drives terminals), DEL, C1 (U+009B is a one-character CSI), the line and paragraph
 * separators, and every format character (Unicode Cf): the bidi controls that reorder what a reader
 * sees (Trojan Source, CVE-2021-42574) and the invisible ones (U+200B, U+2060, U+FEFF, soft hyphen,
 * tag characters) that make "admin\u200B" print as "admin".
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\p{Cf}]/gu;

/** RFC 4514 section 2.4 hex escape: each UTF-8 octet as `\XX` (upper case, as OpenSSL's RFC2253 output). */
function hexEscape(char: string): string {
  return [...Buffer.from(char, 'utf8')].map((b) => `\\${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

/** `text` with every unprintable character as `\XX`: for certificate text printed outside a DN. */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, hexEscape);
}

/**
 * RFC 4514 section 2.4 escaping, plus the hex escape (which section 2.4 allows for any character)
 * for unprintable characters, so that a DN is always one printable line. The result is a pure
 * function of the value: bySubjectDN keys match it exactly.
 */
function escapeValue(value: string): string {
  let out = escapeUnprintable(value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`));
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** RFC 4514 string: RDNs last-to-first, multi-valued RDNs joined with '+'. */
export function formatDn(name: Name): string {
  return [...name]
    .reverse()
    .map((rdn) =>
      rdn
        .map((a) => {
          const label = ATTRIBUTE_NAMES[a.type]?.ldap ?? a.type;
          return a.text === undefined ? `${label}=#${a.der.toString('hex')}` : `${label}=${escapeValue(a.text)}`;
        })
        .join('+'),
    )
    .join(',');
}

/** Node's getPeerCertificate() shape; repeated attributes become arrays in certificate order. */
export function nameObject(name: Name): NameObject {
  const out: Record<string, string | string[]> = {};
  for (const rdn of name) {
    for (const a of rdn) {
      const key = ATTRIBUTE_NAMES[a.type]?.node ?? a.type;
      const value = a.text ?? a.der.toString('hex');
      const prev = out[key];
      if (prev === undefined) out[key] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else out[key] = [prev, value];
    }
  }
  return out;
}

/**
 * A key under which names that RFC 5280 section 7.1 treats as equal compare equal: string values
 * are compared case-insensitively with insignificant whitespace removed (the RFC 4518 essentials),
 * attributes inside an RDN are unordered, RDN order matters.
 */
export function canonicalNameKey(name: Name): string {
  const rdns = name.map((rdn) =>
    rdn
      .map((a) =>
        a.text === undefined
          ? `${a.type}#${a.der.toString('hex')}`
          : `${a.type}:${a.text.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ')}`,
      )
      .sort(),
  );
  // JSON keeps values containing separators from colliding with other names.
  return JSON.stringify(rdns);
}

const rdnKeyCache = new WeakMap<Name, readonly string[]>();

/**
 * {@link canonicalNameKey} of each RDN of `name`, memoised per Name object: name constraints
 * compare a subject's leading RDNs with a constraint's on every path through that CA, and the
 * Names of cached certificates live as long as their certificates.
 */
export function rdnKeys(name: Name): readonly string[] {
  let keys = rdnKeyCache.get(name);
  if (!keys) {
    keys = name.map((rdn) => canonicalNameKey([rdn]));
    rdnKeyCache.set(name, keys);
  }
  return keys;
}
