import { parseArgs } from 'node:util';
import { decodeEach, PemError } from '../x509/pem.js';
import { parseCrl, type ParsedCrl } from '../revocation/crl.js';
import { type BoundedResponse, fetchBounded } from '../revocation/http-fetch.js';
import {
  freshness,
  signerProblem,
  unusableReason,
  type CrlFreshness,
  type CrlSignatureOracle,
} from '../revocation/crl-usability.js';
import { CertificateCache } from '../verifier/certificate-cache.js';
import { readCertificateFile, readInputFile, UsageError, type CliIo } from './io.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import { systemClock, type Clock } from '../time/clock.js';

export const CRL_USAGE = 'usage: certgate crl <file|url> [--ca F ...] [--json]';

/** A CRL bigger than this is refused when fetched or read: no real CA publishes one that large. */
export const MAX_CRL_DOWNLOAD_BYTES = 256 * 1024 * 1024;
export const CRL_FETCH_TIMEOUT_MS = 15_000;

/** Internal: what tests may change about `certgate crl` (the defaults are the documented ones). */
export interface CrlCommandLimits {
  /** Size cap for a downloaded or read CRL; default {@link MAX_CRL_DOWNLOAD_BYTES}. */
  maxBytes?: number;
  /** Fetch timeout; default {@link CRL_FETCH_TIMEOUT_MS}. */
  timeoutMs?: number;
  clock?: Clock;
}

/** The same defaults as the server: no clock tolerance, no grace period (createVerifier's). */
const SERVER_DEFAULT_TIME_RULES = { clockToleranceMs: 0, gracePeriodMs: 0 };

/** Fetched with the server's bounded client: the cap applies while the body streams. */
async function fetchCrl(url: string, limits: Required<Omit<CrlCommandLimits, 'clock'>>): Promise<Buffer> {
  let response: BoundedResponse;
  try {
    response = await fetchBounded(url, { timeoutMs: limits.timeoutMs, maxBytes: limits.maxBytes });
  } catch (err) {
    throw new UsageError(`cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (response.status !== 200) throw new UsageError(`cannot fetch ${url}: HTTP ${response.status}`);
  return response.bytes;
}

/** The server's CRL signature oracle itself (no configured CAs: so no inherited DSA parameters). */
const oracle = new CertificateCache(16, false, []);
const verifies: CrlSignatureOracle = (crl, signer) => oracle.crlSignedBy(crl, signer);

/** Whether a --ca certificate may sign `crl` by the server's rules (crl-usability.ts signerProblem). */
function signatureStatus(crl: ParsedCrl, issuers: ParsedCertificate[]): { verified: boolean; text: string } {
  if (issuers.length === 0) return { verified: false, text: 'not checked (give the issuer CA with --ca)' };
  const named = issuers.filter((c) => c.subjectKey === crl.issuerKey);
  if (named.length === 0) return { verified: false, text: `no --ca certificate is named "${crl.issuerDN}"` };
  const problems: string[] = [];
  for (const cert of named) {
    const problem = signerProblem(crl, cert, verifies);
    if (!problem) return { verified: true, text: `verified with "${cert.subjectDN}" (serial ${cert.serialNumber})` };
    problems.push(problem);
  }
  const why = [...new Set(problems)].join('; ');
  return {
    verified: false,
    text: `does not verify with any --ca certificate named "${crl.issuerDN}" that may sign it: ${why}`,
  };
}

const FRESHNESS_TEXT: Record<CrlFreshness, string> = {
  current: 'current',
  'not yet valid': 'not yet valid',
  'no nextUpdate': 'no nextUpdate (never current)',
  stale: 'stale',
};

interface CrlReport {
  issuer: string;
  /** RFC 5280 section 5.2.4: "complete CRL", or "delta CRL of base N" (its BaseCRLNumber). */
  kind: string;
  /** RFC 5280 section 5.2.5 (issuingDistributionPoint): what the CRL covers, when not everything. */
  scope?: string;
  thisUpdate: string;
  nextUpdate: string | null;
  crlNumber: string | null;
  entries: number;
  freshness: string;
  signature: string;
  unusable?: string;
  usable: boolean;
}

/** ReasonFlags bits 1 to 8 by name (RFC 5280 section 4.2.1.13). */
const REASON_NAMES = [
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'privilegeWithdrawn',
  'aACompromise',
];

/** IA5String general names by tag (generalNameKey form is "<tag hex>:<content hex>"). */
const TEXT_NAMES: Record<string, string> = { '81': 'email', '82': 'DNS', '86': 'URI' };

/** A distribution point name key as text: URI:..., else the key itself (a DN key is readable). */
function nameText(key: string): string {
  const at = key.indexOf(':');
  const label = TEXT_NAMES[key.slice(0, at)];
  return label ? `${label}:${Buffer.from(key.slice(at + 1), 'hex').toString('latin1')}` : key;
}

/** The issuingDistributionPoint in words; undefined for a CRL of every certificate and reason. */
function scopeText(crl: ParsedCrl): string | undefined {
  const { distributionPoint, onlyUserCerts, onlyCaCerts, onlySomeReasons, indirect } = crl.scope;
  const parts: string[] = [];
  if (distributionPoint) parts.push(`distribution point ${distributionPoint.map(nameText).join(', ')}`);
  if (onlyUserCerts) parts.push('end-entity certificates only');
  if (onlyCaCerts) parts.push('CA certificates only');
  if (onlySomeReasons !== undefined) {
    const names = REASON_NAMES.filter((_, i) => onlySomeReasons & (1 << (i + 1)));
    parts.push(`only reasons ${names.join(', ') || '(none)'}`);
  }
  if (indirect) parts.push('indirect (entries may name other certificate issuers)');
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** Every entry: the index's, removeFromCRL ones and other issuers' (crl-entries.ts EntryNotes). */
function entryCount(crl: ParsedCrl): number {
  let n = crl.revoked.size + (crl.notes?.removed.size ?? 0);
  for (const entries of crl.notes?.others.values() ?? []) n += entries.size;
  return n;
}

function report(crl: ParsedCrl, issuers: ParsedCertificate[], now: number): CrlReport {
  const signature = signatureStatus(crl, issuers);
  const fresh = freshness(crl, now, SERVER_DEFAULT_TIME_RULES);
  const unusable = unusableReason(crl);
  const scope = scopeText(crl);
  return {
    issuer: crl.issuerDN,
    kind: crl.deltaBase === undefined ? 'complete CRL' : `delta CRL of base ${crl.deltaBase}`,
    ...(scope ? { scope } : {}),
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate?.toISOString() ?? null,
    crlNumber: crl.crlNumber?.toString() ?? null,
    entries: entryCount(crl),
    freshness: FRESHNESS_TEXT[fresh],
    signature: signature.text,
    ...(unusable ? { unusable } : {}),
    usable: fresh === 'current' && !unusable && (issuers.length === 0 || signature.verified),
  };
}

function print(reports: CrlReport[], io: CliIo): void {
  for (const r of reports) {
    io.out(`issuer:      ${r.issuer}`);
    io.out(`kind:        ${r.kind}`);
    if (r.scope) io.out(`scope:       ${r.scope}`);
    io.out(`thisUpdate:  ${r.thisUpdate}`);
    io.out(`nextUpdate:  ${r.nextUpdate ?? '(none)'} (${r.freshness})`);
    io.out(`CRL number:  ${r.crlNumber ?? '(none: certgate will not use this CRL)'}`);
    io.out(`entries:     ${r.entries}`);
    io.out(`signature:   ${r.signature}`);
    if (r.unusable) io.out(`unusable:    ${r.unusable}`);
    io.out(`verdict:     ${r.usable ? 'usable' : 'NOT usable now'}`);
  }
}

/**
 * `certgate crl`: what the server will see in a CRL, judged by the server's own rules
 * (crl-usability.ts). Exit 0 usable, 1 not usable now, 2 input error.
 */
export async function runCrl(args: string[], io: CliIo, limits: CrlCommandLimits = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ca: { type: 'string', multiple: true }, json: { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new UsageError(CRL_USAGE);
  const source = positionals[0] as string;
  const maxBytes = limits.maxBytes ?? MAX_CRL_DOWNLOAD_BYTES;
  const bytes = /^https?:\/\//i.test(source)
    ? await fetchCrl(source, { maxBytes, timeoutMs: limits.timeoutMs ?? CRL_FETCH_TIMEOUT_MS })
    : readInputFile(source, 'CRL', maxBytes);
  let crls: ParsedCrl[];
  try {
    crls = decodeEach(bytes, 'X509 CRL', 'CRL', parseCrl, 'does not parse');
  } catch (err) {
    if (err instanceof PemError) throw new UsageError(`CRL "${source}" is unusable: ${err.message}`);
    throw err;
  }
  const issuers = (values.ca ?? []).flatMap((f) => readCertificateFile(f, '--ca'));
  const now = (limits.clock ?? systemClock).now();
  const reports = crls.map((crl) => report(crl, issuers, now));
  if (values.json) io.out(JSON.stringify(reports.length === 1 ? reports[0] : reports));
  else print(reports, io);
  return reports.every((r) => r.usable) ? 0 : 1;
}
