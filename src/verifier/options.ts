import { readFileSync } from 'node:fs';
import { CertgateError } from '../errors.js';
import { decodeEach, describeType, PemError, type PemOrDerInput } from '../x509/pem.js';
import { parseCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { parseCrl, type ParsedCrl } from '../revocation/crl.js';

import type { Purpose } from '../model/verdict.js';
import { optionNames } from '../model/option-names.js';
import { systemClock, type Clock } from '../time/clock.js';

export type { Purpose };

export interface VerifierOptions {
  /** Trust anchors: PEM text (one or more certificates), a DER Buffer, or an array of these. */
  ca: PemOrDerInput;
  /** Untrusted certificates that may help build a path (for clients that send only their leaf). */
  intermediates?: PemOrDerInput;
  /**
   * Certificate revocation lists; each must be signed by its issuer and current to be used.
   * Static values, or an object naming files and URLs that are kept current (see CrlOptions).
   */
  crl?: PemOrDerInput | CrlOptions;
  /** The extended key usage the leaf must allow, or `false` to skip the check. Default `'clientAuth'`. */
  purpose?: Purpose | false;
  /** How many intermediates a path may have between the leaf and the anchor. Default 8. */
  maxChainDepth?: number;
  /** Seconds of clock skew tolerated on validity periods and CRL thisUpdate. Default 0. */
  clockTolerance?: number;
  /** How many verification outcomes and parsed certificates to remember. Default 10,000. */
  cacheSize?: number;
  /**
   * Require a usable CRL for every certificate in the path but the anchor: an issuer with no
   * CRL configured is then `REVOCATION_UNKNOWN` instead of "not checked". Default false.
   */
  requireCrl?: boolean;
  /** Also accept SHA-1 signatures and DSA keys, for closed legacy PKIs only. Default false. */
  legacyAlgorithms?: boolean;
  /**
   * Ask an OCSP responder (RFC 6960) whether the leaf is revoked: `true` uses the responder the
   * certificate names, the object form configures it (see OcspOptions). Default off.
   */
  ocsp?: boolean | OcspOptions;
  /** Where every time decision reads the time (validity, CRL and OCSP freshness, caches). Default: the system clock. */
  clock?: Clock;
}

/** OCSP for the leaf certificate; see README "OCSP". */
export interface OcspOptions {
  /** Responders to ask instead of the one in the certificate's Authority Information Access, in order. */
  urls?: readonly string[];
  /** Timeout of one OCSP request, in ms. Default 5,000. */
  timeoutMs?: number;
  /**
   * The longest an answer is relied on, in ms: answers are asked again at their nextUpdate or
   * after this, whichever is sooner. Default 300,000 (5 minutes).
   */
  maxAgeMs?: number;
  /** `'reject'` (default): no answer is `REVOCATION_UNKNOWN`, unless a CRL vouches for the leaf; `'allow'`: let it through and emit `revocation-unknown`. */
  whenUnavailable?: 'reject' | 'allow';
}

export const OCSP_OPTION_NAMES = optionNames<OcspOptions>()(['urls', 'timeoutMs', 'maxAgeMs', 'whenUnavailable']);
export const DEFAULT_OCSP_TIMEOUT_MS = 5_000;
export const DEFAULT_OCSP_MAX_AGE_MS = 300_000;

export interface OcspSettings {
  urls: string[];
  timeoutMs: number;
  maxAgeMs: number;
  whenUnavailable: 'reject' | 'allow';
}

/** CRLs that stay current without a restart. */
export interface CrlOptions {
  /** Static CRLs, as for the plain form. */
  values?: PemOrDerInput;
  /** Paths re-read when they change (an atomic rename of a new CRL into place is picked up). */
  files?: readonly string[];
  /** `http:`/`https:` URLs fetched before nextUpdate and at most every `refreshIntervalMs`. */
  urls?: readonly string[];
  /**
   * Also fetch the CRL named in a certificate's CRL Distribution Points (http: and https: only),
   * once that certificate's signature has verified, for issuers with no CRL configured.
   */
  distributionPoints?: boolean;
  /** Upper bound between two fetches of a URL, in ms. Default 300,000 (5 minutes). */
  refreshIntervalMs?: number;
  /** How often files are checked for changes, in ms. Default 2,000. */
  fileCheckIntervalMs?: number;
  /** `'reject'` (default): no usable CRL is `REVOCATION_UNKNOWN`; `'allow'`: let it through and emit `revocation-unknown`. */
  whenUnavailable?: 'reject' | 'allow';
  /** Keep using a CRL this long (ms) after its nextUpdate while no newer one arrives. Default 0. */
  gracePeriodMs?: number;
  /** Timeout of one CRL fetch, in ms. Default 10,000. */
  fetchTimeoutMs?: number;
  /** Largest CRL accepted from a file or URL, in bytes. Default 64 MiB (a 1,000,000-entry DER CRL is ~35 MiB). */
  maxBytes?: number;
}

export const CRL_OPTION_NAMES = optionNames<CrlOptions>()([
  'values',
  'files',
  'urls',
  'distributionPoints',
  'refreshIntervalMs',
  'fileCheckIntervalMs',
  'whenUnavailable',
  'gracePeriodMs',
  'fetchTimeoutMs',
  'maxBytes',
]);
export const DEFAULT_CRL_REFRESH_MS = 300_000;
export const DEFAULT_FILE_CHECK_MS = 2_000;
export const DEFAULT_CRL_FETCH_TIMEOUT_MS = 10_000;
export const DEFAULT_CRL_MAX_BYTES = 64 * 1024 * 1024;

/** Validated live-CRL settings; `sources` empty means the CRLs never change. */
export interface CrlSettings {
  /** CRLs from values and from files as read at creation, by source (a file path or 'values'). */
  initial: { source: string; crls: ParsedCrl[] }[];
  sources: { kind: 'file' | 'url'; location: string }[];
  distributionPoints: boolean;
  refreshIntervalMs: number;
  fileCheckIntervalMs: number;
  whenUnavailable: 'reject' | 'allow';
  gracePeriodMs: number;
  fetchTimeoutMs: number;
  maxBytes: number;
}

/** Frozen, validated form of {@link VerifierOptions}: what the verifier actually works with. */
export interface VerifierConfig {
  anchors: ParsedCertificate[];
  intermediates: ParsedCertificate[];
  crls: ParsedCrl[];
  crlSettings: CrlSettings;
  purpose: Purpose | false;
  maxChainDepth: number;
  clockToleranceMs: number;
  cacheSize: number;
  requireCrl: boolean;
  legacyAlgorithms: boolean;
  /** Undefined: OCSP is off. */
  ocsp: OcspSettings | undefined;
  clock: Clock;
}

export const DEFAULT_MAX_CHAIN_DEPTH = 8;
export const DEFAULT_CACHE_SIZE = 10_000;
/** A depth beyond this is a configuration mistake, and would let one request cost many signatures. */
export const MAX_CHAIN_DEPTH_LIMIT = 32;

export const VERIFIER_OPTION_NAMES = optionNames<VerifierOptions>()([
  'ca',
  'intermediates',
  'crl',
  'purpose',
  'maxChainDepth',
  'clockTolerance',
  'cacheSize',
  'requireCrl',
  'legacyAlgorithms',
  'ocsp',
  'clock',
]);

export function configError(where: string, message: string, cause?: unknown): CertgateError {
  return new CertgateError('CONFIG_INVALID', `${where}: ${message}`, { detail: message, cause });
}

function parseCertificates(input: PemOrDerInput, where: string, option: string): ParsedCertificate[] {
  try {
    return decodeEach(input, 'CERTIFICATE', 'certificate', parseCertificate, 'is malformed');
  } catch (err) {
    if (err instanceof PemError) throw configError(where, `option '${option}' ${err.message.startsWith('certificate #') ? 'has a problem: ' : 'is unusable: '}${err.message}`, err);
    throw err;
  }
}

function parseCrls(input: PemOrDerInput, where: string): ParsedCrl[] {
  try {
    return decodeEach(input, 'X509 CRL', 'CRL', parseCrl, 'does not parse');
  } catch (err) {
    if (err instanceof PemError) throw configError(where, `option 'crl' is unusable: ${err.message}`, err);
    throw err;
  }
}

function positiveMs(value: unknown, where: string, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw configError(where, `option '${option}' must be a positive number of milliseconds, got ${typeof value === 'number' ? value : describeType(value)}`);
  }
  return value;
}

function stringList(value: unknown, where: string, option: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    throw configError(where, `option '${option}' must be an array of non-empty strings`);
  }
  return [...value];
}

function httpUrls(value: unknown, where: string, option: string): string[] {
  const urls = stringList(value, where, option);
  for (const url of urls) {
    let protocol = '';
    try {
      protocol = new URL(url).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'http:' && protocol !== 'https:') throw configError(where, `option '${option}' holds "${url}", which is not an http: or https: URL`);
  }
  return urls;
}

function whenUnavailableOption(value: unknown, where: string, option: string): 'reject' | 'allow' {
  if (value === undefined) return 'reject';
  if (value !== 'reject' && value !== 'allow') throw configError(where, `option '${option}' must be 'reject' or 'allow', got ${JSON.stringify(value) ?? describeType(value)}`);
  return value;
}

/** `ocsp: true` asks the responder each leaf names; the object form adjusts how. */
function parseOcspOption(value: unknown, where: string): OcspSettings | undefined {
  if (value === undefined || value === false) return undefined;
  const base: OcspSettings = { urls: [], timeoutMs: DEFAULT_OCSP_TIMEOUT_MS, maxAgeMs: DEFAULT_OCSP_MAX_AGE_MS, whenUnavailable: 'reject' };
  if (value === true) return base;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(where, `option 'ocsp' must be true, false or { urls, timeoutMs, maxAgeMs, whenUnavailable }, got ${describeType(value)}`);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(OCSP_OPTION_NAMES as readonly string[]).includes(key)) throw configError(where, `unknown option 'ocsp.${key}' (known: ${OCSP_OPTION_NAMES.join(', ')})`);
  }
  return {
    urls: httpUrls(o.urls, where, 'ocsp.urls'),
    timeoutMs: positiveMs(o.timeoutMs, where, 'ocsp.timeoutMs', DEFAULT_OCSP_TIMEOUT_MS),
    maxAgeMs: positiveMs(o.maxAgeMs, where, 'ocsp.maxAgeMs', DEFAULT_OCSP_MAX_AGE_MS),
    whenUnavailable: whenUnavailableOption(o.whenUnavailable, where, 'ocsp.whenUnavailable'),
  };
}

/** `crl` is static PEM/DER, or an object of sources; files are read now, so a bad one fails at startup. */
function parseCrlOption(value: unknown, where: string): CrlSettings {
  const base = {
    sources: [] as CrlSettings['sources'],
    distributionPoints: false,
    refreshIntervalMs: DEFAULT_CRL_REFRESH_MS,
    fileCheckIntervalMs: DEFAULT_FILE_CHECK_MS,
    whenUnavailable: 'reject' as const,
    gracePeriodMs: 0,
    fetchTimeoutMs: DEFAULT_CRL_FETCH_TIMEOUT_MS,
    maxBytes: DEFAULT_CRL_MAX_BYTES,
  };
  if (value === undefined) return { ...base, initial: [] };
  if (isPemOrDerInput(value)) return { ...base, initial: [{ source: 'values', crls: parseCrls(value, where) }] };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(where, `option 'crl' must be PEM text, a DER Buffer, an array of these, or { values, files, urls, ... }, got ${describeType(value)}`);
  }
  const c = value as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!(CRL_OPTION_NAMES as readonly string[]).includes(key)) throw configError(where, `unknown option 'crl.${key}' (known: ${CRL_OPTION_NAMES.join(', ')})`);
  }
  if (c.values !== undefined && !isPemOrDerInput(c.values)) throw configError(where, `option 'crl.values' must be PEM text, a DER Buffer, or an array of these`);
  const files = stringList(c.files, where, 'files');
  const urls = httpUrls(c.urls, where, 'crl.urls');
  if (c.gracePeriodMs !== undefined && (typeof c.gracePeriodMs !== 'number' || !Number.isFinite(c.gracePeriodMs) || c.gracePeriodMs < 0)) {
    throw configError(where, `option 'crl.gracePeriodMs' must be a non-negative number of milliseconds`);
  }
  const gracePeriodMs = (c.gracePeriodMs as number | undefined) ?? 0;
  const initial: CrlSettings['initial'] = [];
  if (c.values !== undefined) initial.push({ source: 'values', crls: parseCrls(c.values as PemOrDerInput, where) });
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      throw configError(where, `option 'crl.files' names "${file}", which cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    initial.push({ source: file, crls: parseCrls(bytes, where) });
  }
  return {
    initial,
    sources: [...files.map((location) => ({ kind: 'file' as const, location })), ...urls.map((location) => ({ kind: 'url' as const, location }))],
    distributionPoints: booleanOption(c.distributionPoints, where, 'crl.distributionPoints'),
    refreshIntervalMs: positiveMs(c.refreshIntervalMs, where, 'crl.refreshIntervalMs', DEFAULT_CRL_REFRESH_MS),
    fileCheckIntervalMs: positiveMs(c.fileCheckIntervalMs, where, 'crl.fileCheckIntervalMs', DEFAULT_FILE_CHECK_MS),
    whenUnavailable: whenUnavailableOption(c.whenUnavailable, where, 'crl.whenUnavailable'),
    gracePeriodMs,
    fetchTimeoutMs: positiveMs(c.fetchTimeoutMs, where, 'crl.fetchTimeoutMs', DEFAULT_CRL_FETCH_TIMEOUT_MS),
    maxBytes: positiveMs(c.maxBytes, where, 'crl.maxBytes', DEFAULT_CRL_MAX_BYTES),
  };
}

function nonNegativeInteger(value: unknown, where: string, option: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw configError(where, `option '${option}' must be an integer from 0 to ${max}, got ${typeof value === 'number' ? value : describeType(value)}`);
  }
  return value;
}

function booleanOption(value: unknown, where: string, option: string): boolean {
  if (value === undefined) return false;
  // Strings like 'false' are refused rather than read as true.
  if (typeof value !== 'boolean') throw configError(where, `option '${option}' must be true or false, got ${describeType(value)}`);
  return value;
}

function isPemOrDerInput(value: unknown): value is PemOrDerInput {
  const one = (v: unknown) => typeof v === 'string' || v instanceof Uint8Array;
  return one(value) || (Array.isArray(value) && value.every(one));
}

/** Validates options once, up front; every problem names the option and what was wrong. */
export function parseVerifierOptions(
  options: unknown,
  where = 'createVerifier',
  extraKeys: readonly string[] = [],
  { requireAnchors = true }: { requireAnchors?: boolean } = {},
): VerifierConfig {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError(where, `options must be an object, got ${describeType(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(VERIFIER_OPTION_NAMES as readonly string[]).includes(key) && !extraKeys.includes(key)) {
      throw configError(where, `unknown option '${key}' (known: ${[...VERIFIER_OPTION_NAMES, ...extraKeys].join(', ')})`);
    }
  }
  for (const key of ['ca', 'intermediates'] as const) {
    if (o[key] !== undefined && !isPemOrDerInput(o[key])) {
      throw configError(where, `option '${key}' must be PEM text, a DER Buffer, or an array of these, got ${describeType(o[key])}`);
    }
  }
  if (o.ca === undefined) throw configError(where, `option 'ca' is required: the certificate authorities whose clients you trust`);
  const anchors = parseCertificates(o.ca as PemOrDerInput, where, 'ca');
  // An empty trust store would refuse every client: a configuration mistake, not a policy.
  if (requireAnchors && anchors.length === 0) throw configError(where, `option 'ca' holds no certificate`);
  const intermediates = o.intermediates === undefined ? [] : parseCertificates(o.intermediates as PemOrDerInput, where, 'intermediates');
  const crlSettings = parseCrlOption(o.crl, where);
  const crls = crlSettings.initial.flatMap((i) => i.crls);

  const purpose = o.purpose === undefined ? 'clientAuth' : o.purpose;
  if (purpose !== 'clientAuth' && purpose !== 'serverAuth' && purpose !== false) {
    throw configError(where, `option 'purpose' must be 'clientAuth', 'serverAuth' or false, got ${JSON.stringify(purpose) ?? describeType(purpose)}`);
  }
  const maxChainDepth = o.maxChainDepth === undefined ? DEFAULT_MAX_CHAIN_DEPTH : nonNegativeInteger(o.maxChainDepth, where, 'maxChainDepth', MAX_CHAIN_DEPTH_LIMIT);
  let clockToleranceMs = 0;
  if (o.clockTolerance !== undefined) {
    if (typeof o.clockTolerance !== 'number' || !Number.isFinite(o.clockTolerance) || o.clockTolerance < 0) {
      throw configError(where, `option 'clockTolerance' must be a non-negative number of seconds, got ${String(o.clockTolerance)}`);
    }
    clockToleranceMs = o.clockTolerance * 1000;
  }
  const cacheSize = o.cacheSize === undefined ? DEFAULT_CACHE_SIZE : nonNegativeInteger(o.cacheSize, where, 'cacheSize', 10_000_000);
  const requireCrl = booleanOption(o.requireCrl, where, 'requireCrl');
  const legacyAlgorithms = booleanOption(o.legacyAlgorithms, where, 'legacyAlgorithms');
  const ocsp = parseOcspOption(o.ocsp, where);
  const clock = o.clock === undefined ? systemClock : (o.clock as Clock);
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
    throw configError(where, `option 'clock' must be an object with a now() method returning epoch milliseconds, got ${describeType(o.clock)}`);
  }
  return Object.freeze({ anchors, intermediates, crls, crlSettings, purpose, maxChainDepth, clockToleranceMs, cacheSize, requireCrl, legacyAlgorithms, ocsp, clock });
}
