import type { CertificateInfo } from '../x509/certificate.js';
import { CertgateError } from '../errors.js';

/** Who a verified certificate belongs to, as the application sees it. */
export interface Identity {
  user: string;
  roles: readonly string[];
}

/** Maps a verified certificate to an identity; `null`/`undefined` means "not a known user". */
export type IdentifyFunction = (
  certificate: CertificateInfo,
) => Identity | null | undefined | Promise<Identity | null | undefined>;

/** A table entry: a user name, or a user with roles (the user defaults to the table key). */
export type IdentityEntry = string | { user?: string; roles?: readonly string[] };
export type IdentityTable = Readonly<Record<string, IdentityEntry>>;

/** Without `identify`, the user is the subject CN (the first one, if repeated) and roles are empty. */
export function defaultIdentify(certificate: CertificateInfo): Identity | undefined {
  const cn = certificate.subject.CN;
  const user = Array.isArray(cn) ? cn[0] : cn;
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
  for (const [key, entry] of Object.entries(table)) index.set(normalise(key), entryToIdentity(what, key, entry));
  return (keys: readonly string[]): Identity | undefined => {
    for (const k of keys) {
      const hit = index.get(normalise(k));
      if (hit) return hit;
    }
    return undefined;
  };
}

const asList = (v: string | readonly string[] | undefined): readonly string[] =>
  v === undefined ? [] : typeof v === 'string' ? [v] : v;
const same = (s: string) => s;
const lower = (s: string) => s.toLowerCase();

/** Identity by subject common name (exact, case-sensitive). */
export function byCommonName(table: IdentityTable): IdentifyFunction {
  const find = tableLookup(table, same, 'byCommonName');
  return (cert) => find(asList(cert.subject.CN));
}

/** Identity by the RFC 4514 subject DN exactly as `certgate inspect` prints it (`CN=alice,O=Example Bank`). */
export function bySubjectDN(table: IdentityTable): IdentifyFunction {
  const find = tableLookup(table, same, 'bySubjectDN');
  return (cert) => find([cert.subjectDN]);
}

/** Identity by a SAN rfc822Name (case-insensitive). */
export function byEmail(table: IdentityTable): IdentifyFunction {
  const find = tableLookup(table, lower, 'byEmail');
  return (cert) => find(cert.san.email);
}

/** Identity by a SAN URI, e.g. a SPIFFE ID (exact). */
export function byUri(table: IdentityTable): IdentifyFunction {
  const find = tableLookup(table, same, 'byUri');
  return (cert) => find(cert.san.uri);
}

/** Identity by SHA-256 certificate fingerprint (pinning); colons and case are ignored. */
export function byFingerprint(table: IdentityTable): IdentifyFunction {
  const find = tableLookup(table, (k) => k.replace(/:/g, '').toUpperCase(), 'byFingerprint');
  return (cert) => find([cert.fingerprint256]);
}
