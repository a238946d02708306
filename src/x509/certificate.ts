import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  KeyUsage,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  type AlgorithmIdentifier,
  type Extension,
  type Name,
} from '@peculiar/asn1-x509';
import { canonicalNameKey, formatDn, nameObject, type NameObject } from './name.js';
import { childBytes, decodeDer, type DerNode } from './der.js';

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  authorityKeyIdentifier: '2.5.29.35',
  subjectKeyIdentifier: '2.5.29.14',
  anyExtendedKeyUsage: '2.5.29.37.0',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** KeyUsage bits as @peculiar/asn1-x509 numbers them (RFC 5280 section 4.2.1.3). */
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
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: number;
  extKeyUsage?: string[];
  san: SubjectAltNames;
  authorityKeyId?: string;
  subjectKeyId?: string;
  unsupportedCriticalExtensions: string[];
  /** Lazily created: most intermediates are parsed once and their key reused for every leaf. */
  publicKey(): KeyObject;
}

export class MalformedCertificateError extends Error {}

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Buffer.from(bytes as ArrayBuffer).toString('hex');
}

/** Serial numbers as Node prints them: uppercase hex, no leading zero bytes. */
export function serialHex(bytes: ArrayBuffer | Uint8Array): string {
  const b = Buffer.from(bytes as ArrayBuffer);
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i).toString('hex').toUpperCase();
}

function parseExtensions(extensions: Extension[] | undefined, cert: Partial<ParsedCertificate>): void {
  const seen = new Set<string>();
  cert.unsupportedCriticalExtensions = [];
  cert.san = { dns: [], email: [], uri: [], ip: [] };
  for (const ext of extensions ?? []) {
    // RFC 5280 section 4.2: a certificate MUST NOT include more than one instance of an extension.
    if (seen.has(ext.extnID)) throw new MalformedCertificateError(`duplicate extension ${ext.extnID}`);
    seen.add(ext.extnID);
    const value = ext.extnValue.buffer;
    switch (ext.extnID) {
      case OID.basicConstraints: {
        const bc = AsnConvert.parse(value, BasicConstraints);
        cert.basicConstraints = bc.pathLenConstraint === undefined ? { ca: bc.cA } : { ca: bc.cA, pathLen: bc.pathLenConstraint };
        break;
      }
      case OID.keyUsage:
        cert.keyUsage = AsnConvert.parse(value, KeyUsage).toNumber();
        break;
      case OID.extKeyUsage:
        cert.extKeyUsage = AsnConvert.parse(value, ExtendedKeyUsage).map(String);
        break;
      case OID.subjectAltName:
        for (const gn of AsnConvert.parse(value, SubjectAlternativeName)) {
          if (gn.dNSName !== undefined) cert.san.dns.push(gn.dNSName);
          else if (gn.rfc822Name !== undefined) cert.san.email.push(gn.rfc822Name);
          else if (gn.uniformResourceIdentifier !== undefined) cert.san.uri.push(gn.uniformResourceIdentifier);
          else if (gn.iPAddress !== undefined) cert.san.ip.push(gn.iPAddress);
        }
        break;
      case OID.authorityKeyIdentifier: {
        const aki = AsnConvert.parse(value, AuthorityKeyIdentifier);
        if (aki.keyIdentifier) cert.authorityKeyId = hex(aki.keyIdentifier.buffer);
        break;
      }
      case OID.subjectKeyIdentifier:
        cert.subjectKeyId = hex(AsnConvert.parse(value, SubjectKeyIdentifier).buffer);
        break;
      default:
        if (ext.critical) cert.unsupportedCriticalExtensions.push(ext.extnID);
    }
    if (ext.critical && !UNDERSTOOD_EXTENSIONS.has(ext.extnID) && !cert.unsupportedCriticalExtensions.includes(ext.extnID)) {
      cert.unsupportedCriticalExtensions.push(ext.extnID);
    }
  }
}

/** Total length of the outermost DER element (tag + length + content), or -1 if the header is bad. */
export function outerLength(der: Buffer): number {
  if (der.length < 2) return -1;
  const first = der[1] as number;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || der.length < 2 + n) return -1;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (der[2 + i] as number);
  return 2 + n + len;
}

function colonHex(digest: Buffer): string {
  return digest.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

/** Decodes one DER certificate; throws MalformedCertificateError (never anything else) on bad input. */
export function parseCertificate(der: Buffer): ParsedCertificate {
  let asn: Certificate;
  let tree: DerNode;
  try {
    ({ value: asn, tree } = decodeDer(der, Certificate));
  } catch (err) {
    throw new MalformedCertificateError(`not a DER X.509 certificate (${(err as Error).message})`);
  }
  try {
    const tbs = asn.tbsCertificate;
    // TBSCertificate children: [0] version (explicit, optional), serial, signature, issuer,
    // validity, subject, subjectPublicKeyInfo, ...
    const offset = tbs.version === 0 && childBytes(tree, 0, 0)[0] !== 0xa0 ? 0 : 1;
    const spki = childBytes(tree, 0, 5 + offset);
    const digest = createHash('sha256').update(der).digest();
    let key: KeyObject | undefined;
    const cert: Partial<ParsedCertificate> = {
      der,
      id: digest.toString('hex'),
      fingerprint256: colonHex(digest),
      tbs: childBytes(tree, 0),
      signatureAlgorithm: asn.signatureAlgorithm,
      signature: Buffer.from(asn.signatureValue),
      signatureAlgorithmsMatch: childBytes(tree, 1).equals(childBytes(tree, 0, 1 + offset)),
      version: tbs.version + 1,
      serialNumber: serialHex(tbs.serialNumber),
      subjectName: tbs.subject,
      issuerName: tbs.issuer,
      subjectKey: canonicalNameKey(tbs.subject),
      issuerKey: canonicalNameKey(tbs.issuer),
      subjectDN: formatDn(tbs.subject),
      issuerDN: formatDn(tbs.issuer),
      notBefore: tbs.validity.notBefore.getTime(),
      notAfter: tbs.validity.notAfter.getTime(),
      spki,
      publicKey: () => (key ??= createPublicKey({ key: spki, format: 'der', type: 'spki' })),
    };
    cert.selfIssued = cert.subjectKey === cert.issuerKey;
    // RFC 5280 section 4.1.2.9: extensions appear only in v3 certificates.
    if (tbs.extensions && tbs.version !== 2) throw new MalformedCertificateError(`a v${tbs.version + 1} certificate carries extensions`);
    parseExtensions(tbs.extensions, cert);
    return cert as ParsedCertificate;
  } catch (err) {
    if (err instanceof MalformedCertificateError) throw err;
    throw new MalformedCertificateError(`undecodable certificate content (${(err as Error).message})`);
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
