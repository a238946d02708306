import { describeType, type PemOrDerInput } from '../x509/pem.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import type { ParsedCrl } from '../revocation/crl.js';
import {
  booleanOption,
  configError,
  integerInRange,
  isPemOrDerInput,
  nonNegativeInteger,
  parseCertificates,
} from './option-values.js';
import {
  parseCrlOption,
  parseOcspOption,
  type CrlOptions,
  type CrlSettings,
  type OcspOptions,
  type OcspSettings,
} from './revocation-options.js';

import type { Purpose } from '../model/verdict.js';
import { optionNames } from '../model/option-names.js';
import { DEFAULT_MAX_CHAIN_DEPTH } from '../path/policy.js';

export { DEFAULT_MAX_CHAIN_DEPTH };
import { systemClock, type Clock } from '../time/clock.js';
import type { PolicyInputs } from '../path/certificate-policies.js';
import { parsePoliciesOption, type PoliciesOption } from './policy-option.js';

export type { PoliciesOption };

export type { Purpose };
export { configError } from './option-values.js';
export {
  CRL_OPTION_NAMES,
  OCSP_OPTION_NAMES,
  type CrlOptions,
  type CrlSettings,
  type OcspOptions,
  type OcspSettings,
} from './revocation-options.js';

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
   * Bytes (estimated) the verifier's caches may hold in all: parsed certificates, signature checks,
   * outcomes, OCSP answers. Default 40 MiB (see {@link cacheBudget} for each cache's share).
   */
  cacheMaxBytes?: number;
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
  /**
   * RFC 5280 6.1.1's certificate policy inputs (processing is always on, with the RFC's defaults:
   * any policy acceptable, none required). `initial` alone refuses nothing: a path with no valid
   * policy is refused only with `requireExplicit` or when a CA in the path requires one.
   */
  policies?: PoliciesOption;
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
  /** Each cache's share of the `cacheMaxBytes` option. */
  cacheBudget: CacheBudget;
  requireCrl: boolean;
  legacyAlgorithms: boolean;
  /** Undefined: OCSP is off. */
  ocsp: OcspSettings | undefined;
  clock: Clock;
  policies: PolicyInputs;
}

export const DEFAULT_CACHE_SIZE = 10_000;
/**
 * The verifier's caches in all, by default. With a guard's verdict memory (8 MiB) and the TLS
 * source's intermediates (16 MiB, per process) that is 64 MiB, whatever a flood of hostile
 * certificates sends.
 */
export const DEFAULT_CACHE_MAX_BYTES = 40 * 1024 * 1024;
/** Below this the caches could not hold one large certificate chain; above, a typo more likely than a plan. */
export const MIN_CACHE_MAX_BYTES = 1024 * 1024;
export const MAX_CACHE_MAX_BYTES = 64 * 1024 * 1024 * 1024;

/** Bytes per cache, each a fixed share of `cacheMaxBytes`. */
export interface CacheBudget {
  /** Parses of configured certificates are pinned; this is for presented ones that reached a trust anchor. */
  proven: number;
  /** Presented certificates not (yet) on a path to an anchor: small and short-lived. */
  unproven: number;
  signatures: number;
  outcomes: number;
  ocsp: number;
}

/** Shares in sixteenths: parses and outcomes serve known clients; unproven parses only one verification. */
export function cacheBudget(total: number): CacheBudget {
  const share = (sixteenths: number) => Math.floor((total * sixteenths) / 16);
  return { proven: share(6), unproven: share(1), signatures: share(1), outcomes: share(6), ocsp: share(2) };
}
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
  'cacheMaxBytes',
  'requireCrl',
  'legacyAlgorithms',
  'ocsp',
  'clock',
  'policies',
]);

function rejectUnknownKeys(o: Record<string, unknown>, where: string, extraKeys: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!(VERIFIER_OPTION_NAMES as readonly string[]).includes(key) && !extraKeys.includes(key)) {
      const known = [...VERIFIER_OPTION_NAMES, ...extraKeys].join(', ');
      throw configError(where, `unknown option '${key}' (known: ${known})`);
    }
  }
}

function purposeOption(value: unknown, where: string): Purpose | false {
  const purpose = value === undefined ? 'clientAuth' : value;
  if (purpose !== 'clientAuth' && purpose !== 'serverAuth' && purpose !== false) {
    const got = JSON.stringify(purpose) ?? describeType(purpose);
    throw configError(where, `option 'purpose' must be 'clientAuth', 'serverAuth' or false, got ${got}`);
  }
  return purpose;
}

/** Seconds in the option, milliseconds in the configuration. */
function clockToleranceOption(value: unknown, where: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw configError(where, `option 'clockTolerance' must be a non-negative number of seconds, got ${String(value)}`);
  }
  return value * 1000;
}

function clockOption(value: unknown, where: string): Clock {
  const clock = value === undefined ? systemClock : (value as Clock);
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
    const got = describeType(value);
    throw configError(where, `option 'clock' must be an object with a now() method returning epoch ms, got ${got}`);
  }
  return clock;
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
  rejectUnknownKeys(o, where, extraKeys);
  for (const key of ['ca', 'intermediates'] as const) {
    if (o[key] !== undefined && !isPemOrDerInput(o[key])) {
      throw configError(
        where,
        `option '${key}' must be PEM text, a DER Buffer, or an array of these, got ${describeType(o[key])}`,
      );
    }
  }
  if (o.ca === undefined)
    throw configError(where, `option 'ca' is required: the certificate authorities whose clients you trust`);
  const anchors = parseCertificates(o.ca as PemOrDerInput, where, 'ca');
  // An empty trust store would refuse every client: a configuration mistake, not a policy.
  if (requireAnchors && anchors.length === 0) throw configError(where, `option 'ca' holds no certificate`);
  const intermediates =
    o.intermediates === undefined ? [] : parseCertificates(o.intermediates as PemOrDerInput, where, 'intermediates');
  const crlSettings = parseCrlOption(o.crl, where);
  const crls = crlSettings.initial.flatMap((i) => i.crls);

  const purpose = purposeOption(o.purpose, where);
  const maxChainDepth =
    o.maxChainDepth === undefined
      ? DEFAULT_MAX_CHAIN_DEPTH
      : nonNegativeInteger(o.maxChainDepth, where, 'maxChainDepth', MAX_CHAIN_DEPTH_LIMIT);
  const clockToleranceMs = clockToleranceOption(o.clockTolerance, where);
  const cacheSize =
    o.cacheSize === undefined ? DEFAULT_CACHE_SIZE : nonNegativeInteger(o.cacheSize, where, 'cacheSize', 10_000_000);
  const cacheMaxBytes =
    o.cacheMaxBytes === undefined
      ? DEFAULT_CACHE_MAX_BYTES
      : integerInRange(o.cacheMaxBytes, where, 'cacheMaxBytes', MIN_CACHE_MAX_BYTES, MAX_CACHE_MAX_BYTES);
  const requireCrl = booleanOption(o.requireCrl, where, 'requireCrl');
  const legacyAlgorithms = booleanOption(o.legacyAlgorithms, where, 'legacyAlgorithms');
  const ocsp = parseOcspOption(o.ocsp, where);
  const clock = clockOption(o.clock, where);
  const policies = parsePoliciesOption(o.policies, where);
  return Object.freeze({
    anchors,
    intermediates,
    crls,
    crlSettings,
    purpose,
    maxChainDepth,
    clockToleranceMs,
    cacheSize,
    cacheBudget: Object.freeze(cacheBudget(cacheMaxBytes)),
    requireCrl,
    legacyAlgorithms,
    ocsp,
    clock,
    policies,
  });
}
