import type { CertificateInfo } from '../x509/certificate.js';
import { escapeUnprintable } from '../x509/name.js';
import { CertgateError, PUBLIC_MESSAGES } from '../errors.js';

/** Who a verified certificate belongs to, as the application sees it. */
export interface Identity {
  user: string;
  roles: readonly string[];
}

/** What else the verification established, for `identify`: the path and its valid policies. */
export interface VerifiedPath {
  /** The validated path, leaf first, trust anchor last. */
  readonly chain: readonly CertificateInfo[];
  /** RFC 5280 6.1.5 (g): the certificate policy OIDs valid for the leaf (`['2.5.29.32.0']`: any). */
  readonly policies: readonly string[];
}

/**
 * Maps a verified certificate to an identity; `null`/`undefined` means "not a known user". The
 * second argument carries the verified path and its certificate policies (to map policies to roles).
 */
export type IdentifyFunction = (
  certificate: CertificateInfo,
  verified: VerifiedPath,
) => Identity | null | undefined | Promise<Identity | null | undefined>;

/** An identify function that needs the certificate only (what the helpers below return). */
export type IdentifyByCertificate = (
  certificate: CertificateInfo,
) => Identity | null | undefined | Promise<Identity | null | undefined>;

/** A table entry: a user name, or a user with roles (the user defaults to the table key). */
export type IdentityEntry = string | { user?: string; roles?: readonly string[] };
export type IdentityTable = Readonly<Record<string, IdentityEntry>>;

/**
 * Refuses the certificate as `IDENTITY_UNKNOWN` (403) with `detail` for the operator. The guard
 * answers an `identify` that throws this (code IDENTITY_UNKNOWN or ROLE_FORBIDDEN) with that
 * refusal; anything else thrown is a 500.
 */
export function identityRefusal(detail: string): CertgateError {
  return new CertgateError('IDENTITY_UNKNOWN', PUBLIC_MESSAGES.IDENTITY_UNKNOWN, { detail });
}

const asList = (v: string | readonly string[] | undefined): readonly string[] =>
  v === undefined ? [] : typeof v === 'string' ? [v] : v;

/**
 * The one name rule of every helper: the name it reads (subject CN, SAN rfc822Name, SAN URI) must
 * appear at most once. Two CNs ("CN=mallory, CN=admin", which `openssl ca` issues as requested)
 * would otherwise be one user to one reader and another user to the next, so they name nobody.
 */
function theOnly(values: readonly string[], what: string, certificate: CertificateInfo): string | undefined {
  if (values.length <= 1) return values[0];
  const listed = values.map((v) => escapeUnprintable(JSON.stringify(v))).join(', ');
  throw identityRefusal(
    `${certificate.subjectDN}: ${values.length} ${what} (${listed}); a certificate naming more than one is refused`,
  );
}

/** Without `identify`, the user is the subject CN (refused if repeated) and roles are empty. */
export function defaultIdentify(certificate: CertificateInfo): Identity | undefined {
  const user = theOnly(asList(certificate.subject.CN), 'subject CNs', certificate);
  return user ? { user, roles: [] } : undefined;
}

function entryToIdentity(what: string, key: string, entry: IdentityEntry): Identity {
  if (typeof entry === 'string') return Object.freeze({ user: entry, roles: Object.freeze([]) });
  const bad = (why: string) => new CertgateError('CONFIG_INVALID', `${what}: entry "${key}" ${why}`);
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw bad('must be a user name or { user?, roles? }');
  if (entry.user !== undefined && typeof entry.user !== 'string') throw bad("has a 'user' that is not a string");
  // A string here would be spread into one-letter roles, so it is refused, not coerced.
  if (entry.roles !== undefined && (!Array.isArray(entry.roles) || !entry.roles.every((r) => typeof r === 'string')))
    throw bad("has 'roles' that are not an array of strings");
  return Object.freeze({ user: entry.user ?? key, roles: Object.freeze([...(entry.roles ?? [])]) });
}

function tableLookup(table: IdentityTable, normalise: (key: string) => string, what: string) {
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new CertgateError('CONFIG_INVALID', `${what}: expected a table object keyed by ${what.replace(/^by/, '')}`);
  }
  const index = new Map<string, Identity>();
  const keyOf = new Map<string, string>();
  for (const [key, entry] of Object.entries(table)) {
    const normalised = normalise(key);
    // Two entries that match the same certificate would make the answer depend on table order.
    const clash = keyOf.get(normalised);
    if (clash !== undefined) {
      throw new CertgateError('CONFIG_INVALID', `${what}: entries "${clash}" and "${key}" match the same certificates`);
    }
    keyOf.set(normalised, key);
    index.set(normalised, entryToIdentity(what, key, entry));
  }
  return (key: string | undefined): Identity | undefined => (key === undefined ? undefined : index.get(normalise(key)));
}

const same = (s: string) => s;
const lower = (s: string) => s.toLowerCase();
/** RFC 5321: the domain is case-insensitive, the local part may not be. */
const lowerDomain = (s: string) => {
  const at = s.lastIndexOf('@');
  return at < 0 ? s : s.slice(0, at + 1) + s.slice(at + 1).toLowerCase();
};

/** Identity by subject common name (exact, case-sensitive); a certificate with several CNs is refused. */
export function byCommonName(table: IdentityTable): IdentifyByCertificate {
  const find = tableLookup(table, same, 'byCommonName');
  return (cert) => find(theOnly(asList(cert.subject.CN), 'subject CNs', cert));
}

/** Identity by the RFC 4514 subject DN exactly as `certgate inspect` prints it (`CN=alice,O=Example Bank`). */
export function bySubjectDN(table: IdentityTable): IdentifyByCertificate {
  const find = tableLookup(table, same, 'bySubjectDN');
  return (cert) => find(cert.subjectDN);
}

export interface ByEmailOptions {
  /**
   * Compare the local part (before the `@`) case-sensitively, as RFC 5321 allows a mail system to.
   * Default false: the whole address is compared case-insensitively, as most mail providers treat it.
   */
  caseSensitiveLocalPart?: boolean;
}

/**
 * Identity by the SAN rfc822Name (case-insensitive unless `caseSensitiveLocalPart`); the subject's
 * emailAddress attribute is not read. A certificate with several SAN emails is refused.
 */
export function byEmail(table: IdentityTable, options: ByEmailOptions = {}): IdentifyByCertificate {
  const sensitive = options?.caseSensitiveLocalPart ?? false;
  if (typeof sensitive !== 'boolean') {
    throw new CertgateError('CONFIG_INVALID', `byEmail: option 'caseSensitiveLocalPart' must be a boolean`);
  }
  const find = tableLookup(table, sensitive ? lowerDomain : lower, 'byEmail');
  return (cert) => find(theOnly(cert.san.email, 'SAN email addresses', cert));
}

/** Identity by the SAN URI, e.g. a SPIFFE ID (exact); a certificate with several SAN URIs is refused. */
export function byUri(table: IdentityTable): IdentifyByCertificate {
  const find = tableLookup(table, same, 'byUri');
  return (cert) => find(theOnly(cert.san.uri, 'SAN URIs', cert));
}

/** Identity by SHA-256 certificate fingerprint (pinning); colons and case are ignored. */
export function byFingerprint(table: IdentityTable): IdentifyByCertificate {
  const find = tableLookup(table, (k) => k.replace(/:/g, '').toUpperCase(), 'byFingerprint');
  return (cert) => find(cert.fingerprint256);
}

/**
 * Identity of a PSD2 third-party provider (eIDAS QWAC or QSealC, ETSI TS 119 495): the user is the
 * subject's organizationIdentifier (`PSDGB-FCA-123456`), the roles are the PSP roles of the
 * certificate's PSD2 statement (`PSP_AS`, `PSP_PI`, `PSP_AI`, `PSP_IC`), so that `roles:
 * ['PSP_AI']` on a route admits account-information providers only. A certificate without a
 * well-formed statement, or without exactly one organizationIdentifier, names nobody (403
 * IDENTITY_UNKNOWN, the detail saying what is missing).
 */
export function byPsd2(): IdentifyByCertificate {
  return (cert) => {
    // Two identifiers are refused naming both (the theOnly rule); none, or one that is not a
    // directory string, leaves `organizationIdentifier` undefined.
    theOnly(asList(cert.subject.organizationIdentifier), 'organizationIdentifiers', cert);
    const user = cert.organizationIdentifier;
    if (!user) throw identityRefusal(`${cert.subjectDN}: the subject has no organizationIdentifier (2.5.4.97)`);
    // "PSDGB-FCA-1" followed by an invisible character prints as another TPP's identifier.
    if (escapeUnprintable(user) !== user) {
      throw identityRefusal(`${cert.subjectDN}: the organizationIdentifier has unprintable characters`);
    }
    if (!cert.psd2) {
      throw identityRefusal(
        `${cert.subjectDN}: no PSD2 statement (ETSI TS 119 495) in qcStatements, ` +
          `or one certgate ignored (see the 'psd2-statement-ignored' event)`,
      );
    }
    return Object.freeze({ user, roles: cert.psd2.roles });
  };
}
