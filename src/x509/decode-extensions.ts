import {
  contentOf,
  cursor,
  DerError,
  namedBits,
  readBitString,
  readBoolean,
  readOid,
  smallInteger,
  TAG,
} from './der.js';
import type { Element } from './der.js';
import { ipText, readGeneralName, readGeneralNames, type GeneralName } from './general-name.js';
import { readDistributionPoints, type DistributionPoint } from './distribution-points.js';
import type { Name } from './name.js';
import { extensionValue, readExtensions } from './signed.js';
import { QC_STATEMENTS_OID, readQcStatements, type Psd2Info } from './psd2.js';
import { decodeNameConstraints, type NameConstraints } from './name-constraints.js';
import {
  decodeCertificatePolicies,
  decodeInhibitAnyPolicy,
  decodePolicyConstraints,
  decodePolicyMappings,
  type PolicyConstraints,
  type PolicyMapping,
} from './policy-extensions.js';

/**
 * Decoding of the certificate extensions certgate reads. This module says what an extension
 * contains, never whether a certificate is acceptable: which critical extensions are honoured,
 * and which must not be critical, is path policy (src/path/extensions.ts, per certificate role).
 */

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  authorityKeyIdentifier: '2.5.29.35',
  subjectKeyIdentifier: '2.5.29.14',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  subjectInfoAccess: '1.3.6.1.5.5.7.1.11',
  ocsp: '1.3.6.1.5.5.7.48.1',
  crlDistributionPoints: '2.5.29.31',
  freshestCrl: '2.5.29.46',
  nameConstraints: '2.5.29.30',
  certificatePolicies: '2.5.29.32',
  policyMappings: '2.5.29.33',
  policyConstraints: '2.5.29.36',
  inhibitAnyPolicy: '2.5.29.54',
  qcStatements: QC_STATEMENTS_OID,
  subjectDirectoryAttributes: '2.5.29.9',
  anyExtendedKeyUsage: '2.5.29.37.0',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** KeyUsage flags: bit n of the BIT STRING (RFC 5280 section 4.2.1.3) is 1 << n. */
export const KEY_USAGE = {
  digitalSignature: 1,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
} as const;

export interface SubjectAltNames {
  dns: string[];
  email: string[];
  uri: string[];
  ip: string[];
}

/** One extension as the certificate lists it: what the per-role extension tables judge. */
export interface ExtensionRecord {
  readonly oid: string;
  readonly critical: boolean;
}

/** What the extensions of one certificate say (the extension-derived part of ParsedCertificate). */
export interface DecodedExtensions {
  /** Every extension, decoded or not, in certificate order. */
  extensions: readonly ExtensionRecord[];
  basicConstraints?: { ca: boolean; pathLen?: number; critical: boolean };
  keyUsage?: number;
  extKeyUsage?: string[];
  /** The subjectAltName extension's names, all forms (undefined without the extension). */
  subjectAltNames?: readonly GeneralName[];
  /** The SAN forms CertificateInfo exposes, as text. */
  san: SubjectAltNames;
  authorityKeyId?: string;
  subjectKeyId?: string;
  /** Names (generalNameKey form) of the CRL distribution points this certificate lists. */
  crlDistributionPoints?: string[];
  /** The CRL distribution points in full (names, reasons, CRL issuers): RFC 5280 section 6.3.3. */
  distributionPoints?: readonly DistributionPoint[];
  /** The http: and https: URLs among them, for fetching (distributionPoints: true). */
  crlUrls?: string[];
  /** http: and https: OCSP responder URLs from Authority Information Access (id-ad-ocsp). */
  ocspUrls?: string[];
  /** RFC 5280 section 4.2.1.10, with whether the extension is critical (it MUST be). */
  nameConstraints?: NameConstraints & { readonly critical: boolean };
  /** RFC 5280 section 4.2.1.4: the policy OIDs, in certificate order. */
  certificatePolicies?: readonly string[];
  /** RFC 5280 section 4.2.1.5. */
  policyMappings?: readonly PolicyMapping[];
  /** RFC 5280 section 4.2.1.11. */
  policyConstraints?: PolicyConstraints;
  /** RFC 5280 section 4.2.1.14: SkipCerts. */
  inhibitAnyPolicy?: number;
  /** The PSD2 attributes of the qcStatements extension (ETSI TS 119 495), when it has a well-formed statement. */
  psd2?: Psd2Info;
  /** Why a PSD2 statement (or the qcStatements extension around it) was not believed: for the operator event. */
  psd2Ignored?: string;
  /** Whether certgate processes everything a qcStatements extension says (see x509/psd2.ts). */
  qcStatementsUnderstood?: boolean;
  /**
   * Critical extensions this decoder does not read: a fact about the decoder, not a verdict.
   * @deprecated Whether a critical extension is honoured is decided per role by
   * `unprocessedCriticalExtensions` in src/path/extensions.ts; kept for the decoder comparison tests.
   */
  unsupportedCriticalExtensions: string[];
}

type Decoder = (bytes: Uint8Array, root: Element, out: DecodedExtensions, critical: boolean, issuerName: Name) => void;

/** KeyUsage bits as flags: bit 0 (digitalSignature, the first octet's high bit) is 1. */
function keyUsageFlags(bytes: Uint8Array, el: Element): number {
  return namedBits(readBitString(bytes, el).data, 9);
}

/**
 * An http(s) URL made of printable ASCII only: RFC 3986 has no place for spaces or control
 * characters, and such a URL would otherwise be fetched and quoted raw in details and events.
 */
const isHttp = (url: string): boolean => /^https?:\/\/[\x21-\x7e]+$/i.test(url);

/**
 * RFC 5280 section 4.2.1.9:
 * BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }.
 */
const basicConstraints: Decoder = (bytes, root, out, critical) => {
  const c = cursor(bytes, root, TAG.SEQUENCE);
  const caEl = c.optional(TAG.BOOLEAN);
  const ca = caEl ? readBoolean(bytes, caEl) : false;
  const lenEl = c.optional(TAG.INTEGER);
  c.end();
  out.basicConstraints = lenEl ? { ca, pathLen: smallInteger(bytes, lenEl), critical } : { ca, critical };
};

/** RFC 5280 section 4.2.1.12: ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId. */
const extKeyUsage: Decoder = (bytes, root, out) => {
  const c = cursor(bytes, root, TAG.SEQUENCE);
  const usages: string[] = [];
  while (!c.done) usages.push(readOid(bytes, c.next(TAG.OID)));
  out.extKeyUsage = usages;
};

/** RFC 5280 section 4.2.1.6: SubjectAltName ::= GeneralNames, every form decoded strictly. */
const subjectAltName: Decoder = (bytes, root, out) => {
  if (root.tag !== TAG.SEQUENCE) throw new DerError(`expected tag 0x30, found 0x${root.tag.toString(16)}`);
  const names = readGeneralNames(bytes, root);
  out.subjectAltNames = names;
  for (const name of names) {
    if (name.type === 'rfc822Name') out.san.email.push(name.value);
    else if (name.type === 'dNSName') out.san.dns.push(name.value);
    else if (name.type === 'uniformResourceIdentifier') out.san.uri.push(name.value);
    else if (name.type === 'iPAddress') out.san.ip.push(ipText(name.address));
  }
};

/** RFC 5280 section 4.2.1.1: only the keyIdentifier [0] is read. */
const authorityKeyIdentifier: Decoder = (bytes, root, out) => {
  const c = cursor(bytes, root, TAG.SEQUENCE);
  const keyId = c.optional(0x80);
  if (keyId) out.authorityKeyId = contentOf(bytes, keyId).toString('hex');
};

/** RFC 5280 section 4.2.1.2: SubjectKeyIdentifier ::= KeyIdentifier (OCTET STRING). */
const subjectKeyIdentifier: Decoder = (bytes, root, out) => {
  if (root.tag !== TAG.OCTET_STRING) throw new DerError('SubjectKeyIdentifier must be an OCTET STRING');
  out.subjectKeyId = contentOf(bytes, root).toString('hex');
};

/**
 * RFC 5280 section 4.2.2.1: SEQUENCE SIZE (1..MAX) OF AccessDescription ::= SEQUENCE {
 * accessMethod OID, accessLocation GeneralName }; OCSP responders are id-ad-ocsp with a URI.
 */
const authorityInfoAccess: Decoder = (bytes, root, out) => {
  const c = cursor(bytes, root, TAG.SEQUENCE);
  if (c.done) throw new DerError('empty authorityInfoAccess');
  const ocspUrls: string[] = [];
  while (!c.done) {
    const ad = cursor(bytes, c.next(TAG.SEQUENCE));
    const method = readOid(bytes, ad.next(TAG.OID));
    const location = readGeneralName(bytes, ad.next());
    ad.end();
    if (method === OID.ocsp && location.type === 'uniformResourceIdentifier' && isHttp(location.value)) {
      ocspUrls.push(location.value);
    }
  }
  if (ocspUrls.length > 0) out.ocspUrls = ocspUrls;
};

/**
 * RFC 5280 section 4.2.1.13: CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint,
 * DistributionPoint ::= SEQUENCE { distributionPoint [0], reasons [1], cRLIssuer [2] }.
 */
const crlDistributionPoints: Decoder = (bytes, root, out, _critical, issuerName) => {
  const points = readDistributionPoints(bytes, root, issuerName);
  out.distributionPoints = points;
  const names = points.flatMap((p) => p.names ?? []);
  out.crlDistributionPoints = names;
  // uniformResourceIdentifier [6] keys carry the IA5 text as hex (see generalNameKey).
  out.crlUrls = names
    .filter((n) => n.startsWith('86:'))
    .map((n) => Buffer.from(n.slice(3), 'hex').toString('latin1'))
    .filter(isHttp);
};

const DECODERS: ReadonlyMap<string, Decoder> = new Map<string, Decoder>([
  [OID.basicConstraints, basicConstraints],
  [OID.keyUsage, (bytes, root, out) => void (out.keyUsage = keyUsageFlags(bytes, root))],
  [OID.extKeyUsage, extKeyUsage],
  [OID.subjectAltName, subjectAltName],
  [OID.authorityKeyIdentifier, authorityKeyIdentifier],
  [OID.subjectKeyIdentifier, subjectKeyIdentifier],
  [OID.authorityInfoAccess, authorityInfoAccess],
  [OID.crlDistributionPoints, crlDistributionPoints],
  [
    OID.nameConstraints,
    (bytes, root, out, critical) => void (out.nameConstraints = { ...decodeNameConstraints(bytes, root), critical }),
  ],
  [
    OID.certificatePolicies,
    (bytes, root, out) => void (out.certificatePolicies = decodeCertificatePolicies(bytes, root)),
  ],
  [OID.policyMappings, (bytes, root, out) => void (out.policyMappings = decodePolicyMappings(bytes, root))],
  [OID.policyConstraints, (bytes, root, out) => void (out.policyConstraints = decodePolicyConstraints(bytes, root))],
  [OID.inhibitAnyPolicy, (bytes, root, out) => void (out.inhibitAnyPolicy = decodeInhibitAnyPolicy(bytes, root))],
]);

/** The extensions whose values this module reads; others may hold anything (even nothing). */
export const DECODED_EXTENSIONS: ReadonlySet<string> = new Set([...DECODERS.keys(), OID.qcStatements]);

/** What a certificate without an extensions field decodes to. */
export function noExtensions(): DecodedExtensions {
  return { extensions: [], san: { dns: [], email: [], uri: [], ip: [] }, unsupportedCriticalExtensions: [] };
}

/** `[3] EXPLICIT Extensions`: certificates carry at least one (SIZE (1..MAX)). */
export function decodeExtensions(bytes: Uint8Array, el: Element, issuerName: Name = []): DecodedExtensions {
  const outer = cursor(bytes, el);
  const list = outer.next(TAG.SEQUENCE);
  outer.end();
  const extensions = readExtensions(bytes, list);
  if (extensions.length === 0) throw new DerError('empty extensions list');
  const out = noExtensions();
  out.extensions = extensions.map(({ oid, critical }) => Object.freeze({ oid, critical }));
  for (const { oid, critical, value } of extensions) {
    // Never throws: a statement certgate cannot read means "no PSD2 attributes", not a bad certificate.
    if (oid === OID.qcStatements) {
      Object.assign(out, readQcStatements(bytes, value));
      continue;
    }
    const decode = DECODERS.get(oid);
    if (decode) decode(bytes, extensionValue(bytes, value), out, critical, issuerName);
    else if (critical) out.unsupportedCriticalExtensions.push(oid);
  }
  return out;
}
