import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  cursor,
  DerError,
  encodedOf,
  integerBytes,
  readBitString,
  readOid,
  readRoot,
  readTime,
  smallInteger,
  TAG,
  type Element,
} from './der.js';
import { readSigned } from './signed.js';
import { canonicalNameKey, formatDn, nameObject, readName, type Name, type NameObject } from './name.js';
import { decodeExtensions, noExtensions, type DecodedExtensions } from './decode-extensions.js';

import type { Psd2Info } from './psd2.js';

export { KEY_USAGE, OID, type ExtensionRecord } from './decode-extensions.js';
export type { Psd2Info, Psd2Role } from './psd2.js';

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }. */
export interface AlgorithmIdentifier {
  algorithm: string;
  /** The parameters' full DER encoding, if present. */
  parameters: Buffer | undefined;
}

/** A certificate decoded once and kept in the parse cache: everything path validation needs. */
export interface ParsedCertificate extends DecodedExtensions {
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
  /** The subject Name's DER. */
  subjectNameDer: Buffer;
  /** The issuer Name's DER as this certificate encodes it: what an OCSP CertID hashes (RFC 6960 section 4.1.1). */
  issuerNameDer: Buffer;
  /** The subjectPublicKey BIT STRING's value: OCSP issuerKeyHash and responder KeyHash hash it. */
  publicKeyBits: Buffer;
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
  /** RSA public exponent (when it fits 64 bits): the key policy bounds it before the key is used. */
  publicExponent?: bigint;
  /** Its length in bits, whatever its size (a hostile key's exponent can be 30 KB). */
  publicExponentBits?: number;
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
      const dss = cursor(parameters, readRoot(parameters, TAG.SEQUENCE));
      info.bits = integerBitLength(integerBytes(parameters, dss.next(TAG.INTEGER)));
    }
  } else if ((type === 'rsa' || type === 'rsa-pss') && keyBits.unused === 0) {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    const key = cursor(keyBits.data, readRoot(keyBits.data, TAG.SEQUENCE));
    info.bits = integerBitLength(integerBytes(keyBits.data, key.next(TAG.INTEGER)));
    const e = integerBytes(keyBits.data, key.next(TAG.INTEGER));
    // A negative exponent is never valid: -1 stands for all of them. One over 64 bits is only
    // ever refused, so only its length is kept (decided once here, not per policy check).
    const negative = ((e[0] as number) & 0x80) !== 0;
    info.publicExponentBits = negative ? 0 : integerBitLength(e);
    if (negative) info.publicExponent = -1n;
    else if (info.publicExponentBits <= 64) info.publicExponent = BigInt(`0x${e.toString('hex')}`);
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

function colonHex(digest: Buffer): string {
  return digest
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
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
      publicKey: () => (key ??= createPublicKey({ key: spki, format: 'der', type: 'spki' })),
    };
    // RFC 5280 section 4.1.2.9: extensions appear only in v3 certificates.
    if (extensionsEl && version !== 3) throw new DerError(`a v${version} certificate carries extensions`);
    const extensions = extensionsEl ? decodeExtensions(der, extensionsEl, issuerName) : noExtensions();
    return Object.assign(cert, extensions) as ParsedCertificate;
  } catch (err) {
    if (err instanceof MalformedCertificateError) throw err;
    const why = err instanceof DerError ? err.message : `undecodable certificate (${(err as Error).message})`;
    throw new MalformedCertificateError(why);
  }
}

/** Subject alternative names by kind, as `identify` and the identity helpers read them. */
export interface SubjectAltNames {
  readonly dns: readonly string[];
  readonly email: readonly string[];
  readonly uri: readonly string[];
  readonly ip: readonly string[];
}

/** A certificate as users see it: frozen, so nothing a handler does can change what others read. */
export interface CertificateInfo {
  readonly subject: NameObject;
  readonly issuer: NameObject;
  readonly subjectDN: string;
  readonly issuerDN: string;
  readonly san: SubjectAltNames;
  readonly serialNumber: string;
  readonly fingerprint256: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly raw: Buffer;
  /**
   * The subject's organizationIdentifier (2.5.4.97), e.g. `PSDGB-FCA-123456` (ETSI EN 319 412-1
   * section 5.1.4); undefined when the subject has none, or more than one.
   */
  readonly organizationIdentifier?: string;
  /** The PSD2 attributes of an eIDAS QWAC or QSealC (ETSI TS 119 495), when its statement is well formed. */
  readonly psd2?: Psd2Info;
}

const ORGANIZATION_IDENTIFIER = '2.5.4.97';

/** The only organizationIdentifier of a name: two would name two organisations, so they name none. */
function organizationIdentifier(name: Name): string | undefined {
  let found: string | undefined;
  let count = 0;
  for (const rdn of name) {
    for (const a of rdn) {
      if (a.type !== ORGANIZATION_IDENTIFIER) continue;
      count++;
      found = a.text;
    }
  }
  return count === 1 && found ? found : undefined;
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
    // Absent keys stay absent: `'psd2' in certificate` means a statement was read.
    ...optional('organizationIdentifier', organizationIdentifier(cert.subjectName)),
    ...optional('psd2', cert.psd2),
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
