import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  contentOf,
  cursor,
  DerError,
  encodedOf,
  integerBytes,
  readBitString,
  readBoolean,
  readOid,
  readRoot,
  readTime,
  smallInteger,
  TAG,
  type Element,
} from './der.js';
import { extensionValue, readExtensions, readSigned } from './signed.js';
import { canonicalNameKey, distributionPointNames, formatDn, nameObject, readName, type Name, type NameObject } from './name.js';

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }. */
export interface AlgorithmIdentifier {
  algorithm: string;
  /** The parameters' full DER encoding, if present. */
  parameters: Buffer | undefined;
}

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  authorityKeyIdentifier: '2.5.29.35',
  subjectKeyIdentifier: '2.5.29.14',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocsp: '1.3.6.1.5.5.7.48.1',
  crlDistributionPoints: '2.5.29.31',
  anyExtendedKeyUsage: '2.5.29.37.0',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** KeyUsage flags: bit n of the BIT STRING (RFC 5280 section 4.2.1.3) is 1 << n. */
export const KEY_USAGE = { digitalSignature: 1, keyCertSign: 32, cRLSign: 64 } as const;

/**
 * Extensions certgate understands well enough to honour when marked critical (RFC 5280 section
 * 4.2: a certificate with a critical extension we do not process must be rejected). Policy and
 * name-constraint extensions are deliberately absent: certgate does not enforce them, so a
 * certificate that makes them critical is refused rather than half-checked.
 */
const UNDERSTOOD_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.authorityKeyIdentifier,
  OID.subjectKeyIdentifier,
  OID.authorityInfoAccess,
  OID.crlDistributionPoints,
]);

export interface SubjectAltNames {
  dns: string[];
  email: string[];
  uri: string[];
  ip: string[];
}

/** A certificate decoded once and kept in the parse cache: everything path validation needs. */
export interface ParsedCertificate {
  der: Buffer;
  /** SHA-256 of the DER, lowercase hex without separators: the cache key. */
  id: string;
  fingerprint256: string;
  tbs: Buffer;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Buffer;
  /** RFC 5280 section 4.1.1.2: the outer algorithm must equal the one inside the signed part. */
  signatureAlgorithmsMatch: boolean;
  version: number;
  serialNumber: string;
  /** The serial's exact DER content octets (sign included): what CRL entries are matched on. */
  serial: Buffer;
  /** The same, as hex. */
  serialKey: string;
  /** Length of the serial's content octets (RFC 5280 section 4.1.2.2 allows at most 20). */
  serialLength: number;
  subjectName: Name;
  issuerName: Name;
  subjectKey: string;
  issuerKey: string;
  subjectDN: string;
  issuerDN: string;
  selfIssued: boolean;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  key: PublicKeyInfo;
  basicConstraints?: { ca: boolean; pathLen?: number; critical: boolean };
  keyUsage?: number;
  extKeyUsage?: string[];
  san: SubjectAltNames;
  authorityKeyId?: string;
  subjectKeyId?: string;
  /** Names (generalNameKey form) of the CRL distribution points this certificate lists. */
  crlDistributionPoints?: string[];
  /** The http: and https: URLs among them, for fetching (distributionPoints: true). */
  crlUrls?: string[];
  /** http: and https: OCSP responder URLs from Authority Information Access (id-ad-ocsp). */
  ocspUrls?: string[];
  /** The subject Name's DER. */
  subjectNameDer: Buffer;
  /** The issuer Name's DER as this certificate encodes it: what an OCSP CertID hashes (RFC 6960 section 4.1.1). */
  issuerNameDer: Buffer;
  /** The subjectPublicKey BIT STRING's value: OCSP issuerKeyHash and responder KeyHash hash it. */
  publicKeyBits: Buffer;
  /** Extensions RFC 5280 requires to be non-critical (AKI, SKI) that were marked critical. */
  wronglyCritical: string[];
  unsupportedCriticalExtensions: string[];
  /** Lazily created: most intermediates are parsed once and their key reused for every leaf. */
  publicKey(): KeyObject;
}

export class MalformedCertificateError extends Error {}

/** What the subjectPublicKeyInfo says about the key, for the key-strength policy. */
export interface PublicKeyInfo {
  type: 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448' | 'dsa' | 'other';
  algorithm: string;
  /** RSA modulus length in bits. */
  bits?: number;
  /** EC named curve OID; undefined with `explicitCurve` when the parameters spell the curve out. */
  curve?: string;
  explicitCurve?: boolean;
  /** DSA: whether the key carries its domain parameters (RFC 3279 section 2.3.2 lets them be inherited). */
  hasParameters?: boolean;
}

const KEY_TYPES: Record<string, PublicKeyInfo['type']> = {
  '1.2.840.113549.1.1.1': 'rsa',
  '1.2.840.113549.1.1.10': 'rsa-pss',
  '1.2.840.10045.2.1': 'ec',
  '1.3.101.112': 'ed25519',
  '1.3.101.113': 'ed448',
  '1.2.840.10040.4.1': 'dsa',
};

function integerBitLength(octets: Buffer): number {
  let i = 0;
  while (i < octets.length - 1 && octets[i] === 0) i++;
  return (octets.length - i) * 8 - Math.clz32(octets[i] as number) + 24;
}

/** SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING } */
function readKeyInfo(bytes: Uint8Array, spki: Element): PublicKeyInfo {
  const c = cursor(bytes, spki, TAG.SEQUENCE);
  const algEl = c.next(TAG.SEQUENCE);
  const { algorithm, parameters } = readAlgorithm(bytes, algEl);
  const keyBits = readBitString(bytes, c.next(TAG.BIT_STRING));
  c.end();
  const type = KEY_TYPES[algorithm] ?? 'other';
  const info: PublicKeyInfo = { type, algorithm };
  if (type === 'ec') {
    // RFC 5480 section 2.1.1: namedCurve is the only form PKIX allows (explicit curves are refused).
    if (parameters?.[0] === TAG.OID) info.curve = readOid(parameters, readRoot(parameters, TAG.OID));
    else info.explicitCurve = true;
  } else if (type === 'dsa') {
    info.hasParameters = parameters !== undefined && parameters[0] !== TAG.NULL;
    if (info.hasParameters && parameters) {
      // Dss-Parms ::= SEQUENCE { p INTEGER, q INTEGER, g INTEGER }: the key size is p's length.
      info.bits = integerBitLength(integerBytes(parameters, cursor(parameters, readRoot(parameters, TAG.SEQUENCE)).next(TAG.INTEGER)));
    }
  } else if ((type === 'rsa' || type === 'rsa-pss') && keyBits.unused === 0) {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    const key = cursor(keyBits.data, readRoot(keyBits.data, TAG.SEQUENCE));
    info.bits = integerBitLength(integerBytes(keyBits.data, key.next(TAG.INTEGER)));
  }
  return info;
}

function publicKeyBits(bytes: Uint8Array, spki: Element): Buffer {
  const c = cursor(bytes, spki, TAG.SEQUENCE);
  c.next(TAG.SEQUENCE);
  return Buffer.from(readBitString(bytes, c.next(TAG.BIT_STRING)).data);
}

/**
 * Serial numbers for display: uppercase hex of the content octets without leading zero octets
 * (as Node prints positive serials; zero is "00", and negative serials show their two's
 * complement octets, where Node would print a minus sign).
 */
export function serialHex(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i).toString('hex').toUpperCase();
}

export function readAlgorithm(bytes: Uint8Array, el: Element): AlgorithmIdentifier {
  const c = cursor(bytes, el, TAG.SEQUENCE);
  const algorithm = readOid(bytes, c.next(TAG.OID));
  const parameters = c.done ? undefined : Buffer.from(encodedOf(bytes, c.next()));
  c.end();
  return { algorithm, parameters };
}

/** IPv6 text via the WHATWG URL parser, which compresses zero runs the standard way. */
function ipText(octets: Buffer): string {
  if (octets.length === 4) return Array.from(octets).join('.');
  if (octets.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(octets.readUInt16BE(i).toString(16));
    return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
  }
  throw new DerError('iPAddress must be 4 or 16 octets');
}

function ia5(bytes: Uint8Array, el: Element): string {
  const c = contentOf(bytes, el);
  for (const b of c) if (b > 0x7f) throw new DerError('non-ASCII octet in IA5String');
  return c.toString('latin1');
}

/** KeyUsage bits as flags: bit 0 (digitalSignature, the first octet's high bit) is 1. */
function keyUsageFlags(bytes: Uint8Array, el: Element): number {
  const { data } = readBitString(bytes, el);
  let flags = 0;
  for (let bit = 0; bit < Math.min(data.length * 8, 9); bit++) {
    if (((data[bit >> 3] as number) >> (7 - (bit & 7))) & 1) flags |= 1 << bit;
  }
  return flags;
}

function parseExtension(oid: string, critical: boolean, bytes: Uint8Array, value: Element, cert: Partial<ParsedCertificate>): boolean {
  // Only extensions certgate reads are decoded; others may hold anything (even nothing).
  if (!UNDERSTOOD_EXTENSIONS.has(oid)) return false;
  const root = extensionValue(bytes, value);
  switch (oid) {
    case OID.basicConstraints: {
      // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
      const c = cursor(bytes, root, TAG.SEQUENCE);
      const caEl = c.optional(TAG.BOOLEAN);
      const ca = caEl ? readBoolean(bytes, caEl) : false;
      const lenEl = c.optional(TAG.INTEGER);
      c.end();
      cert.basicConstraints = lenEl ? { ca, pathLen: smallInteger(bytes, lenEl), critical } : { ca, critical };
      return true;
    }
    case OID.keyUsage:
      cert.keyUsage = keyUsageFlags(bytes, root);
      return true;
    case OID.extKeyUsage: {
      const c = cursor(bytes, root, TAG.SEQUENCE);
      const usages: string[] = [];
      while (!c.done) usages.push(readOid(bytes, c.next(TAG.OID)));
      cert.extKeyUsage = usages;
      return true;
    }
    case OID.subjectAltName: {
      const c = cursor(bytes, root, TAG.SEQUENCE);
      const san = cert.san as SubjectAltNames;
      while (!c.done) {
        const gn = c.next();
        // GeneralName context tags (IMPLICIT): [1] rfc822Name, [2] dNSName, [6] URI, [7] iPAddress.
        if (gn.tag === 0x81) san.email.push(ia5(bytes, gn));
        else if (gn.tag === 0x82) san.dns.push(ia5(bytes, gn));
        else if (gn.tag === 0x86) san.uri.push(ia5(bytes, gn));
        else if (gn.tag === 0x87) san.ip.push(ipText(contentOf(bytes, gn)));
      }
      return true;
    }
    case OID.authorityKeyIdentifier: {
      // RFC 5280 section 4.2.1.1: conforming CAs MUST mark this extension as non-critical.
      if (critical) cert.wronglyCritical?.push('authorityKeyIdentifier');
      const c = cursor(bytes, root, TAG.SEQUENCE);
      const keyId = c.optional(0x80);
      if (keyId) cert.authorityKeyId = contentOf(bytes, keyId).toString('hex');
      return true;
    }
    case OID.subjectKeyIdentifier:
      // RFC 5280 section 4.2.1.2: conforming CAs MUST mark this extension as non-critical.
      if (critical) cert.wronglyCritical?.push('subjectKeyIdentifier');
      if (root.tag !== TAG.OCTET_STRING) throw new DerError('SubjectKeyIdentifier must be an OCTET STRING');
      cert.subjectKeyId = contentOf(bytes, root).toString('hex');
      return true;
    case OID.authorityInfoAccess: {
      // RFC 5280 section 4.2.2.1: SEQUENCE SIZE (1..MAX) OF AccessDescription ::= SEQUENCE {
      // accessMethod OID, accessLocation GeneralName }; OCSP responders are id-ad-ocsp with a URI [6].
      const c = cursor(bytes, root, TAG.SEQUENCE);
      if (c.done) throw new DerError('empty authorityInfoAccess');
      const ocspUrls: string[] = [];
      while (!c.done) {
        const ad = cursor(bytes, c.next(TAG.SEQUENCE));
        const method = readOid(bytes, ad.next(TAG.OID));
        const location = ad.next();
        ad.end();
        if (method === OID.ocsp && location.tag === 0x86) {
          const url = contentOf(bytes, location).toString('latin1');
          if (/^https?:\/\//i.test(url)) ocspUrls.push(url);
        }
      }
      if (ocspUrls.length > 0) cert.ocspUrls = ocspUrls;
      // Non-critical by the RFC; a critical one stays in the unsupported list and rejects.
      return !critical;
    }
    case OID.crlDistributionPoints: {
      // CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint
      const c = cursor(bytes, root, TAG.SEQUENCE);
      const names: string[] = [];
      while (!c.done) {
        // DistributionPoint ::= SEQUENCE { distributionPoint [0], reasons [1], cRLIssuer [2] }
        const dp = cursor(bytes, c.next(TAG.SEQUENCE));
        const name = dp.optional(0xa0);
        if (name) names.push(...distributionPointNames(bytes, name));
      }
      cert.crlDistributionPoints = names;
      // uniformResourceIdentifier [6] keys carry the IA5 text as hex (see generalNameKey).
      cert.crlUrls = names
        .filter((n) => n.startsWith('86:'))
        .map((n) => Buffer.from(n.slice(3), 'hex').toString('latin1'))
        .filter((u) => /^https?:\/\//i.test(u));
      return true;
    }
    default:
      return false;
  }
}

function parseExtensions(bytes: Uint8Array, el: Element, cert: Partial<ParsedCertificate>): void {
  // [3] EXPLICIT Extensions; certificates carry at least one (SIZE (1..MAX)).
  const outer = cursor(bytes, el);
  const list = outer.next(TAG.SEQUENCE);
  outer.end();
  const extensions = readExtensions(bytes, list);
  if (extensions.length === 0) throw new DerError('empty extensions list');
  for (const { oid, critical, value } of extensions) {
    const understood = parseExtension(oid, critical, bytes, value, cert);
    if (critical && !understood) cert.unsupportedCriticalExtensions?.push(oid);
  }
}

function colonHex(digest: Buffer): string {
  return digest.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

/**
 * Decodes one DER certificate; throws MalformedCertificateError (never anything else) on bad
 * input. `sha256` may pass the DER's digest when the caller has it already (cache lookups).
 */
export function parseCertificate(der: Buffer, sha256?: Buffer): ParsedCertificate {
  try {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
    const { tbs: tbsEl, algorithm: outerAlgEl, signature } = readSigned(der);

    const tbs = cursor(der, tbsEl);
    const versionEl = tbs.optional(0xa0);
    let version = 1;
    if (versionEl) {
      const v = cursor(der, versionEl);
      version = smallInteger(der, v.next(TAG.INTEGER)) + 1;
      v.end();
      // DER: DEFAULT v1 must be omitted; X.509 defines v1 to v3 only.
      if (version === 1 || version > 3) throw new DerError(`invalid certificate version field (${version - 1})`);
    }
    const serial = integerBytes(der, tbs.next(TAG.INTEGER));
    const innerAlgEl = tbs.next(TAG.SEQUENCE);
    const issuerNameEl = tbs.next(TAG.SEQUENCE);
    const issuerName = readName(der, issuerNameEl);
    const validity = cursor(der, tbs.next(TAG.SEQUENCE));
    const notBefore = readTime(der, validity.next());
    const notAfter = readTime(der, validity.next());
    validity.end();
    const subjectNameEl = tbs.next(TAG.SEQUENCE);
    const subjectName = readName(der, subjectNameEl);
    const spkiEl = tbs.next(TAG.SEQUENCE);
    // issuerUniqueID [1] and subjectUniqueID [2] (IMPLICIT BIT STRING, primitive or constructed).
    for (const tag of [0x81, 0xa1, 0x82, 0xa2]) tbs.optional(tag);
    const extensionsEl = tbs.optional(0xa3);
    tbs.end();

    const digest = sha256 ?? createHash('sha256').update(der).digest();
    const spki = Buffer.from(encodedOf(der, spkiEl));
    let key: KeyObject | undefined;
    const subjectKey = canonicalNameKey(subjectName);
    const issuerKey = canonicalNameKey(issuerName);
    const cert: Partial<ParsedCertificate> = {
      der,
      id: digest.toString('hex'),
      fingerprint256: colonHex(digest),
      tbs: encodedOf(der, tbsEl),
      signatureAlgorithm: readAlgorithm(der, outerAlgEl),
      signature,
      signatureAlgorithmsMatch: encodedOf(der, outerAlgEl).equals(encodedOf(der, innerAlgEl)),
      version,
      serialNumber: serialHex(serial),
      serial: Buffer.from(serial),
      serialKey: serial.toString('hex'),
      serialLength: serial.length,
      subjectName,
      issuerName,
      subjectKey,
      issuerKey,
      subjectDN: formatDn(subjectName),
      issuerDN: formatDn(issuerName),
      selfIssued: subjectKey === issuerKey,
      notBefore,
      notAfter,
      spki,
      subjectNameDer: Buffer.from(encodedOf(der, subjectNameEl)),
      issuerNameDer: Buffer.from(encodedOf(der, issuerNameEl)),
      publicKeyBits: publicKeyBits(der, spkiEl),
      key: readKeyInfo(der, spkiEl),
      san: { dns: [], email: [], uri: [], ip: [] },
      wronglyCritical: [],
      unsupportedCriticalExtensions: [],
      publicKey: () => (key ??= createPublicKey({ key: spki, format: 'der', type: 'spki' })),
    };
    if (extensionsEl) {
      // RFC 5280 section 4.1.2.9: extensions appear only in v3 certificates.
      if (version !== 3) throw new DerError(`a v${version} certificate carries extensions`);
      parseExtensions(der, extensionsEl, cert);
    }
    return cert as ParsedCertificate;
  } catch (err) {
    if (err instanceof MalformedCertificateError) throw err;
    throw new MalformedCertificateError(err instanceof DerError ? err.message : `undecodable certificate (${(err as Error).message})`);
  }
}

export interface CertificateInfo {
  subject: NameObject;
  issuer: NameObject;
  subjectDN: string;
  issuerDN: string;
  san: SubjectAltNames;
  serialNumber: string;
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
  raw: Buffer;
}

/** The plain, frozen object users see (result `certificate`, `identify` argument, CLI `inspect`). */
export function certificateInfo(cert: ParsedCertificate): CertificateInfo {
  const freezeName = (n: NameObject): NameObject => {
    for (const v of Object.values(n)) if (Array.isArray(v)) Object.freeze(v);
    return Object.freeze(n);
  };
  return Object.freeze({
    subject: freezeName(nameObject(cert.subjectName)),
    issuer: freezeName(nameObject(cert.issuerName)),
    subjectDN: cert.subjectDN,
    issuerDN: cert.issuerDN,
    san: Object.freeze({
      dns: Object.freeze([...cert.san.dns]),
      email: Object.freeze([...cert.san.email]),
      uri: Object.freeze([...cert.san.uri]),
      ip: Object.freeze([...cert.san.ip]),
    }) as unknown as SubjectAltNames,
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
    notBefore: new Date(cert.notBefore),
    notAfter: new Date(cert.notAfter),
    raw: cert.der,
  });
}
