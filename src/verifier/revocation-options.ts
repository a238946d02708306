import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { deferredCrl, HEAD_BYTES, LARGE_CRL_BYTES } from '../revocation/crl-header.js';
import type { PemOrDerInput } from '../x509/pem.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import { describeType } from '../x509/pem.js';
import type { ParsedCrl } from '../revocation/crl.js';
import { CertgateError } from '../errors.js';
import { optionNames } from '../model/option-names.js';
import {
  booleanOption,
  configError,
  errorCode,
  httpUrls,
  isPemOrDerInput,
  largeCrlHeader,
  parseCertificates,
  parseCrls,
  positiveMs,
  stringList,
  whenUnavailableOption,
} from './option-values.js';

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
  /**
   * `'reject'` (default): no answer is `REVOCATION_UNKNOWN`, unless a CRL vouches for the leaf;
   * `'allow'`: let it through and emit `revocation-unknown`.
   */
  whenUnavailable?: 'reject' | 'allow';
  /**
   * Responder certificates trusted directly (RFC 6960 section 4.2.2.2 (1)): a response signed by
   * one of their keys is believed about any certificate, without id-kp-OCSPSigning or a chain to
   * the issuer; their validity period is still checked. PEM text, a DER Buffer, or an array of these.
   */
  responderCertificates?: PemOrDerInput;
}

export const OCSP_OPTION_NAMES = optionNames<OcspOptions>()([
  'urls',
  'timeoutMs',
  'maxAgeMs',
  'whenUnavailable',
  'responderCertificates',
]);
export const DEFAULT_OCSP_TIMEOUT_MS = 5_000;
export const DEFAULT_OCSP_MAX_AGE_MS = 300_000;

export interface OcspSettings {
  urls: string[];
  timeoutMs: number;
  maxAgeMs: number;
  whenUnavailable: 'reject' | 'allow';
  responderCertificates: ParsedCertificate[];
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
   * once that certificate's signature has verified, for issuers with no CRL configured. Issuer
   * side first: a certificate's CRL is fetched only once the certificates above it are decided and
   * nothing else refuses the path. At most 64 URLs are followed, least recently used out first.
   */
  distributionPoints?: boolean;
  /** Upper bound between two fetches of a URL, in ms. Default 300,000 (5 minutes). */
  refreshIntervalMs?: number;
  /** How often files are checked for changes, in ms. Default 2,000. */
  fileCheckIntervalMs?: number;
  /**
   * `'reject'` (default): no usable CRL is `REVOCATION_UNKNOWN`; `'allow'`: let it through and emit
   * `revocation-unknown`.
   */
  whenUnavailable?: 'reject' | 'allow';
  /** Keep using a CRL this long (ms) after its nextUpdate while no newer one arrives. Default 0. */
  gracePeriodMs?: number;
  /** Timeout of one CRL fetch (redirects included: at most 3, same scheme only), in ms. Default 10,000. */
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

/** `ocsp: true` asks the responder each leaf names; the object form adjusts how. */
export function parseOcspOption(value: unknown, where: string): OcspSettings | undefined {
  if (value === undefined || value === false) return undefined;
  const base: OcspSettings = {
    urls: [],
    timeoutMs: DEFAULT_OCSP_TIMEOUT_MS,
    maxAgeMs: DEFAULT_OCSP_MAX_AGE_MS,
    whenUnavailable: 'reject',
    responderCertificates: [],
  };
  if (value === true) return base;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(
      where,
      `option 'ocsp' must be true, false or { ${OCSP_OPTION_NAMES.join(', ')} }, got ${describeType(value)}`,
    );
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(OCSP_OPTION_NAMES as readonly string[]).includes(key))
      throw configError(where, `unknown option 'ocsp.${key}' (known: ${OCSP_OPTION_NAMES.join(', ')})`);
  }
  return {
    urls: httpUrls(o.urls, where, 'ocsp.urls'),
    timeoutMs: positiveMs(o.timeoutMs, where, 'ocsp.timeoutMs', DEFAULT_OCSP_TIMEOUT_MS),
    maxAgeMs: positiveMs(o.maxAgeMs, where, 'ocsp.maxAgeMs', DEFAULT_OCSP_MAX_AGE_MS),
    whenUnavailable: whenUnavailableOption(o.whenUnavailable, where, 'ocsp.whenUnavailable'),
    responderCertificates: ocspResponderCertificates(o.responderCertificates, where),
  };
}

/**
 * A CRL file as read at creation: parsed now when small; when large, only its head is read and
 * checked now, and the CRL store loads it in full off the event loop (a placeholder stands in).
 */
function crlFile(file: string, where: string): ParsedCrl[] {
  try {
    const size = statSync(file).size;
    if (size < LARGE_CRL_BYTES) return parseCrls(readFileSync(file), where);
    const head = Buffer.alloc(HEAD_BYTES);
    const fd = openSync(file, 'r');
    let read: number;
    try {
      read = readSync(fd, head, 0, HEAD_BYTES, 0);
    } finally {
      closeSync(fd);
    }
    return [deferredCrl(largeCrlHeader(head.subarray(0, read), where, `"${file}" `, size), undefined)];
  } catch (err) {
    if (err instanceof CertgateError) throw err;
    throw configError(where, `option 'crl.files' names "${file}", which cannot be read (${errorCode(err)})`);
  }
}

function ocspResponderCertificates(value: unknown, where: string): ParsedCertificate[] {
  if (value === undefined) return [];
  const option = 'ocsp.responderCertificates';
  if (!isPemOrDerInput(value))
    throw configError(where, `option '${option}' must be PEM text, a DER Buffer, or an array of these`);
  const certs = parseCertificates(value, where, option);
  if (certs.length === 0) throw configError(where, `option '${option}' holds no certificate`);
  return certs;
}

/** `crl` is static PEM/DER, or an object of sources; files are read now, so a bad one fails at startup. */
export function parseCrlOption(value: unknown, where: string): CrlSettings {
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
    throw configError(
      where,
      `option 'crl' must be PEM text, a DER Buffer, an array of these, or { values, files, urls, ... }, ` +
        `got ${describeType(value)}`,
    );
  }
  const c = value as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!(CRL_OPTION_NAMES as readonly string[]).includes(key))
      throw configError(where, `unknown option 'crl.${key}' (known: ${CRL_OPTION_NAMES.join(', ')})`);
  }
  if (c.values !== undefined && !isPemOrDerInput(c.values))
    throw configError(where, `option 'crl.values' must be PEM text, a DER Buffer, or an array of these`);
  const files = stringList(c.files, where, 'files');
  const urls = httpUrls(c.urls, where, 'crl.urls');
  if (
    c.gracePeriodMs !== undefined &&
    (typeof c.gracePeriodMs !== 'number' || !Number.isFinite(c.gracePeriodMs) || c.gracePeriodMs < 0)
  ) {
    throw configError(where, `option 'crl.gracePeriodMs' must be a non-negative number of milliseconds`);
  }
  const gracePeriodMs = (c.gracePeriodMs as number | undefined) ?? 0;
  const initial: CrlSettings['initial'] = [];
  if (c.values !== undefined) initial.push({ source: 'values', crls: parseCrls(c.values as PemOrDerInput, where) });
  for (const file of files) initial.push({ source: file, crls: crlFile(file, where) });
  return {
    initial,
    sources: [
      ...files.map((location) => ({ kind: 'file' as const, location })),
      ...urls.map((location) => ({ kind: 'url' as const, location })),
    ],
    distributionPoints: booleanOption(c.distributionPoints, where, 'crl.distributionPoints'),
    refreshIntervalMs: positiveMs(c.refreshIntervalMs, where, 'crl.refreshIntervalMs', DEFAULT_CRL_REFRESH_MS),
    fileCheckIntervalMs: positiveMs(c.fileCheckIntervalMs, where, 'crl.fileCheckIntervalMs', DEFAULT_FILE_CHECK_MS),
    whenUnavailable: whenUnavailableOption(c.whenUnavailable, where, 'crl.whenUnavailable'),
    gracePeriodMs,
    fetchTimeoutMs: positiveMs(c.fetchTimeoutMs, where, 'crl.fetchTimeoutMs', DEFAULT_CRL_FETCH_TIMEOUT_MS),
    maxBytes: positiveMs(c.maxBytes, where, 'crl.maxBytes', DEFAULT_CRL_MAX_BYTES),
  };
}
