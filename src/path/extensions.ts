import { OID, type ParsedCertificate } from '../x509/certificate.js';

/**
 * The extension policy per certificate role, as data (pyca/cryptography's verifier keeps the same
 * table in policy/mod.rs). RFC 5280 section 4.2: "A certificate-using system MUST reject the
 * certificate if it encounters a critical extension it does not recognize or a critical extension
 * that contains information that it cannot process." This table, not the decoder, says which
 * extensions certgate processes; an extension without a row is not processed.
 */

/** A certificate's role in a path: an issuer (intermediate or anchor) or the end entity. */
export type Role = 'ca' | 'endEntity';

/** What a critical mark on the extension means. */
export type IfCritical =
  /** Processed: the certificate is judged by it whether critical or not. */
  | 'honoured'
  /** The RFC says MUST be non-critical: a profile violation (CERT_MALFORMED). */
  | 'malformed'
  /** Not processed when critical: the certificate is refused (CERT_EXTENSION_UNSUPPORTED). */
  | 'unsupported';

/** When the extension (or the field named by `present`) must be there. */
export type Presence = 'optional' | 'required' | 'requiredUnlessSelfIssued';

export interface ExtensionRow {
  readonly oid: string;
  readonly name: string;
  /** Where RFC 5280 defines it (another RFC is named: "RFC 3739 3.2.6"). */
  readonly section: string;
  /** The rules that read it; undefined when certgate does not process it. */
  readonly processedBy: string | undefined;
  readonly ifCritical: IfCritical;
  /**
   * For an extension honoured only when certgate can read all it says: a critical one that fails
   * this is not processed (RFC 5280 4.2: refused as unsupported).
   */
  readonly understood?: (cert: ParsedCertificate) => boolean;
  readonly presence: Presence;
  /** Whether what the presence rule asks for is there (defaults to the extension being present). */
  readonly present?: (cert: ParsedCertificate) => boolean;
  /** The profile violation reported when a required extension is missing. */
  readonly absent?: string;
}

export interface ExtensionTable {
  readonly role: Role;
  /** Frozen, in RFC 5280 section order. */
  readonly rows: readonly ExtensionRow[];
  /** The row for an extension, or undefined when certgate does not recognise it. */
  row(oid: string): ExtensionRow | undefined;
  /** The rows with a presence rule of that kind (precomputed: the rules run for every path). */
  withPresence(presence: Exclude<Presence, 'optional'>): readonly ExtensionRow[];
}

type RowSpec = Omit<ExtensionRow, 'presence'> & { presence?: Presence };

const row = (spec: RowSpec): ExtensionRow => Object.freeze({ presence: 'optional', ...spec });

/** A row for an extension certgate recognises but does not process: refused when critical. */
const unprocessed = (oid: string, name: string, section: string): ExtensionRow =>
  row({ oid, name, section, processedBy: undefined, ifCritical: 'unsupported' });

/** The rows both roles share, in RFC 5280 section order; `table()` applies per-role overrides. */
const COMMON: readonly ExtensionRow[] = [
  row({
    oid: OID.authorityKeyIdentifier,
    name: 'authorityKeyIdentifier',
    section: '4.2.1.1',
    processedBy: 'path/builder.ts (issuer candidate order), certificate-rules.ts (presence)',
    // RFC 5280 4.2.1.1: "Conforming CAs MUST mark this extension as non-critical", and the
    // keyIdentifier MUST be present except in self-signed certificates. Trust anchors are exempt
    // (certificate-rules.ts): they are configured, not presented.
    ifCritical: 'malformed',
    presence: 'requiredUnlessSelfIssued',
    present: (cert) => cert.authorityKeyId !== undefined,
    absent: 'it lacks an authorityKeyIdentifier keyIdentifier',
  }),
  row({
    oid: OID.subjectKeyIdentifier,
    name: 'subjectKeyIdentifier',
    section: '4.2.1.2',
    processedBy: 'path/builder.ts (issuer candidate order)',
    // RFC 5280 4.2.1.2: "Conforming CAs MUST mark this extension as non-critical."
    ifCritical: 'malformed',
  }),
  row({
    oid: OID.keyUsage,
    name: 'keyUsage',
    section: '4.2.1.3',
    processedBy: 'certificate-rules.ts and path-rules.ts (keyCertSign), revocation (cRLSign, digitalSignature)',
    ifCritical: 'honoured',
  }),
  row({
    oid: OID.certificatePolicies,
    name: 'certificatePolicies',
    section: '4.2.1.4',
    processedBy: 'certificate-policies.ts (RFC 5280 6.1.3 (d), (e), (f); qualifiers ignored)',
    ifCritical: 'honoured',
  }),
  row({
    oid: OID.policyMappings,
    name: 'policyMappings',
    section: '4.2.1.5',
    processedBy: 'certificate-policies.ts (RFC 5280 6.1.4 (a), (b))',
    ifCritical: 'honoured',
  }),
  row({
    oid: OID.subjectAltName,
    name: 'subjectAltName',
    section: '4.2.1.6',
    processedBy: 'identity (CertificateInfo san)',
    ifCritical: 'honoured',
  }),
  unprocessed(OID.issuerAltName, 'issuerAltName', '4.2.1.7'),
  unprocessed(OID.subjectDirectoryAttributes, 'subjectDirectoryAttributes', '4.2.1.8'),
  row({
    oid: OID.basicConstraints,
    name: 'basicConstraints',
    section: '4.2.1.9',
    // Its presence in issuers is path processing (6.1.4 (k)), reported as CERT_ISSUER_NOT_CA.
    processedBy: 'path-rules.ts (cA, pathLenConstraint)',
    ifCritical: 'honoured',
  }),
  row({
    oid: OID.nameConstraints,
    name: 'nameConstraints',
    section: '4.2.1.10',
    processedBy: 'name-constraints.ts (RFC 5280 6.1.3 (b), (c), 6.1.4 (g))',
    ifCritical: 'honoured',
  }),
  row({
    oid: OID.policyConstraints,
    name: 'policyConstraints',
    section: '4.2.1.11',
    processedBy: 'certificate-policies.ts (RFC 5280 6.1.4 (i))',
    ifCritical: 'honoured',
  }),
  row({
    oid: OID.extKeyUsage,
    name: 'extKeyUsage',
    section: '4.2.1.12',
    processedBy: 'path-rules.ts (purpose, chained through CAs)',
    ifCritical: 'honoured',
  }),
  row({
    oid: OID.crlDistributionPoints,
    name: 'cRLDistributionPoints',
    section: '4.2.1.13',
    processedBy: 'revocation (CRL scope, fetching)',
    ifCritical: 'honoured',
  }),
  row({
    oid: OID.inhibitAnyPolicy,
    name: 'inhibitAnyPolicy',
    section: '4.2.1.14',
    processedBy: 'certificate-policies.ts (RFC 5280 6.1.4 (j))',
    ifCritical: 'honoured',
  }),
  unprocessed(OID.freshestCrl, 'freshestCRL', '4.2.1.15'),
  row({
    oid: OID.authorityInfoAccess,
    name: 'authorityInfoAccess',
    section: '4.2.2.1',
    // "This extension MUST be marked as non-critical"; certgate reads the OCSP URLs of a
    // non-critical one and keeps refusing a critical one as unsupported (its verdict since 0.1).
    processedBy: 'revocation (OCSP responder URLs)',
    ifCritical: 'unsupported',
  }),
  unprocessed(OID.subjectInfoAccess, 'subjectInfoAccess', '4.2.2.2'),
  // RFC 3739 3.2.6: "This extension may be critical or non-critical". An issuer's statements are
  // not read (certgate takes PSD2 attributes from the leaf only), so a critical one stays refused.
  unprocessed(OID.qcStatements, 'qcStatements', 'RFC 3739 3.2.6'),
];

function table(role: Role, overrides: readonly ExtensionRow[]): ExtensionTable {
  const rows = Object.freeze(COMMON.map((r) => overrides.find((o) => o.oid === r.oid) ?? r));
  const byOid = new Map(rows.map((r) => [r.oid, r]));
  const required = Object.freeze(rows.filter((r) => r.presence === 'required'));
  const unlessSelfIssued = Object.freeze(rows.filter((r) => r.presence === 'requiredUnlessSelfIssued'));
  return Object.freeze({
    role,
    rows,
    row: (oid: string) => byOid.get(oid),
    withPresence: (presence: Exclude<Presence, 'optional'>) => (presence === 'required' ? required : unlessSelfIssued),
  });
}

const SKI = COMMON.find((r) => r.oid === OID.subjectKeyIdentifier) as ExtensionRow;

/** Certificates in an issuer position: intermediates and trust anchors. */
export const CA_EXTENSIONS: ExtensionTable = table('ca', [
  // RFC 5280 4.2.1.2: "this extension MUST appear in all conforming CA certificates".
  row({
    ...SKI,
    presence: 'required',
    present: (cert) => cert.subjectKeyId !== undefined,
    absent: 'a CA certificate must have a subjectKeyIdentifier',
  }),
]);

/** The certificate a client presents for itself (and delegated OCSP responders). */
export const END_ENTITY_EXTENSIONS: ExtensionTable = table('endEntity', [
  row({
    oid: OID.qcStatements,
    name: 'qcStatements',
    section: 'RFC 3739 3.2.6',
    // RFC 3739 3.2.6 lets it be critical. Its one statement certgate acts on (ETSI TS 119 495 PSD2)
    // only ever grants roles, and a malformed one grants none (x509/psd2.ts): the other statements
    // (QcCompliance, QcType, QcPDS) describe the certificate's legal standing, not access.
    processedBy: 'x509/psd2.ts (CertificateInfo psd2, byPsd2)',
    ifCritical: 'honoured',
    // RFC 3739 3.2.6: in a critical qcStatements every statement is critical. Honoured only when
    // it decodes, its PSD2 statement is well-formed and every other statement is informational.
    understood: (cert) => cert.qcStatementsUnderstood === true,
  }),
]);

/** The table for a role. */
export function extensionTable(role: Role): ExtensionTable {
  return role === 'ca' ? CA_EXTENSIONS : END_ENTITY_EXTENSIONS;
}

const NONE: readonly string[] = Object.freeze([]);

/** Critical extensions the role does not process, in certificate order (RFC 5280 section 4.2). */
export function unprocessedCriticalExtensions(cert: ParsedCertificate, table: ExtensionTable): readonly string[] {
  let oids: string[] | undefined;
  for (const e of cert.extensions) {
    if (!e.critical) continue;
    const r = table.row(e.oid);
    const processed = r !== undefined && r.ifCritical !== 'unsupported' && (r.understood?.(cert) ?? true);
    if (!processed) (oids ??= []).push(e.oid);
  }
  return oids ?? NONE;
}

/** Names of extensions marked critical that the RFC requires to be non-critical, in certificate order. */
export function wronglyCriticalExtensions(cert: ParsedCertificate, table: ExtensionTable): readonly string[] {
  let names: string[] | undefined;
  for (const e of cert.extensions) {
    if (!e.critical) continue;
    const r = table.row(e.oid);
    if (r?.ifCritical === 'malformed') (names ??= []).push(r.name);
  }
  return names ?? NONE;
}

/**
 * The first presence rule the certificate breaks, as a profile violation, or undefined. Trust
 * anchors are not held to presence rules here (the caller decides; see certificate-rules.ts).
 */
export function missingExtension(
  cert: ParsedCertificate,
  table: ExtensionTable,
  presence: Exclude<Presence, 'optional'>,
): string | undefined {
  if (presence === 'requiredUnlessSelfIssued' && cert.selfIssued) return undefined;
  for (const r of table.withPresence(presence)) {
    const present = r.present ? r.present(cert) : cert.extensions.some((e) => e.oid === r.oid);
    if (!present) return r.absent ?? `it lacks the ${r.name} extension`;
  }
  return undefined;
}
