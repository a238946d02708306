import { createHash, type KeyObject } from 'node:crypto';
import { dsaKeyWithInheritedParameters } from '../x509/dsa-inheritance.js';
import { LRUCache } from 'lru-cache';
import { CertgateError, PUBLIC_MESSAGES, type VerifyFailureCode } from '../errors.js';
import { decodePemOrDer, expectLabels, PemError, type PemOrDerInput } from '../x509/pem.js';
import { certificateInfo, MalformedCertificateError, parseCertificate, type CertificateInfo, type ParsedCertificate } from '../x509/certificate.js';
import { UnsupportedAlgorithmError, verifySignature } from '../x509/signature.js';
import { EventEmitter } from 'node:events';
import { CrlChecker } from '../revocation/crl-checker.js';
import { CrlStore, type CrlEvents } from '../revocation/crl-store.js';
import type { ParsedCrl } from '../revocation/crl.js';
import { parseVerifierOptions, type VerifierConfig, type VerifierOptions } from './options.js';
import { buildPath, CertificatePool, MAX_SIGNATURE_CHECKS, type Failure, type PathResult, type SignatureBudget, type SignatureCheck } from './path-builder.js';
import { checkPath, type PolicyInput } from './path-policy.js';

export type VerifyResult = VerifySuccess | VerifyFailure;

export interface VerifySuccess {
  ok: true;
  /** The leaf the client presented. */
  certificate: CertificateInfo;
  /** The validated path, leaf first, trust anchor last. */
  chain: readonly CertificateInfo[];
  /** When this verdict stops being true: the earliest notAfter in the path or nextUpdate of a CRL used. */
  expiresAt: Date;
}

export interface VerifyFailure {
  ok: false;
  code: VerifyFailureCode;
  /** Operator-facing: names the certificate, the issuer tried and the rule that failed. */
  message: string;
}

export interface VerifyOptions {
  /** Validate as of this instant instead of now. Results for explicit times are not cached. */
  at?: Date;
}

export interface Verifier {
  verify(chain: PemOrDerInput, options?: VerifyOptions): Promise<VerifyResult>;
  /** The trust anchors, as the verifier decoded them (for diagnostics). */
  readonly anchors: readonly CertificateInfo[];
  /**
   * Increases whenever the CRLs in use change: a verdict reached at an older revision must be
   * recomputed (guards compare it on every request, so a revocation applies to open connections).
   */
  readonly revision: number;
  /** Operator events: see {@link VerifierEvents}. */
  on<E extends keyof VerifierEvents>(event: E, listener: (payload: VerifierEvents[E]) => void): this;
  off<E extends keyof VerifierEvents>(event: E, listener: (payload: VerifierEvents[E]) => void): this;
  /** Fetches and re-reads every CRL source now; resolves when done. */
  refreshCrls(): Promise<void>;
  /** Stops refreshing CRLs (timers are unref'd, so this is needed only to stop work early). */
  close(): void;
}

export interface VerifierEvents extends CrlEvents {
  /** A certificate was refused as revoked. */
  'certificate-revoked': { code: 'CERT_REVOKED'; detail: string };
  /** Revocation could not be determined; with whenUnavailable 'allow' the certificate passed anyway. */
  'revocation-unknown': { detail: string; allowed: boolean };
}

/** Separate CRL-signing certificates validated within one verification, at most this deep. */
export const MAX_CRL_SIGNER_DEPTH = 2;

/** How long a rejection is remembered: long enough to absorb a retry storm, short enough to heal. */
export const REJECTION_CACHE_TTL_MS = 30_000;
/** Rejections that turn into acceptance with time alone, so remembering them would be wrong. */
const TIME_DEPENDENT: ReadonlySet<VerifyFailureCode> = new Set(['CERT_NOT_YET_VALID', 'REVOCATION_UNKNOWN']);

type Parsed = ParsedCertificate | { malformed: string };

function fail(code: VerifyFailureCode, message: string): VerifyFailure {
  return Object.freeze({ ok: false as const, code, message });
}

/** Creates a verifier; throws CertgateError `CONFIG_INVALID` naming the option at fault. */
export function createVerifier(options: VerifierOptions): Verifier {
  return verifierFromConfig(parseVerifierOptions(options));
}

export function verifierFromConfig(config: VerifierConfig): Verifier {
  const anchors = new CertificatePool(config.anchors);
  const configuredIntermediates = new CertificatePool(config.intermediates);
  const settings = config.crlSettings;
  const events = new EventEmitter();
  const store =
    settings.sources.length > 0 || settings.distributionPoints
      ? new CrlStore(
          {
            initial: settings.initial,
            sources: settings.sources,
            refreshIntervalMs: settings.refreshIntervalMs,
            fileCheckIntervalMs: settings.fileCheckIntervalMs,
            fetchTimeoutMs: settings.fetchTimeoutMs,
            maxBytes: settings.maxBytes,
            legacyAlgorithms: config.legacyAlgorithms,
          },
          (issuerKey) => [...anchors.withSubject(issuerKey), ...configuredIntermediates.withSubject(issuerKey)],
        )
      : undefined;
  for (const name of ['crl-loaded', 'crl-refresh-failed', 'crl-rejected', 'crl-stale'] as const) store?.on(name, (payload) => events.emit(name, payload));
  const fixedCrls = store ? undefined : new CrlChecker(config.crls);
  let outcomesRevision = 0;
  const parsed = new LRUCache<string, Parsed>({ max: Math.max(config.cacheSize, 16) });
  const signatures = new LRUCache<string, SignatureCheck>({ max: Math.max(config.cacheSize, 16) });
  const outcomes = config.cacheSize > 0 ? new LRUCache<string, VerifyResult>({ max: config.cacheSize }) : undefined;
  for (const c of [...config.anchors, ...config.intermediates]) parsed.set(c.id, c);

  const parse = (der: Buffer): Parsed => {
    const digest = createHash('sha256').update(der).digest();
    const id = digest.toString('hex');
    let p = parsed.get(id);
    if (!p) {
      try {
        p = parseCertificate(der, digest);
      } catch (err) {
        p = { malformed: (err as MalformedCertificateError).message };
      }
      parsed.set(id, p);
    }
    return p;
  };

  const inheritsDsaParameters = (issuer: ParsedCertificate) => config.legacyAlgorithms && issuer.key.type === 'dsa' && !issuer.key.hasParameters;

  /**
   * The issuer's key, completed with inherited DSA parameters where a legacy PKI needs them. The
   * parameters come only from a configured certificate whose own key verifies the issuer's
   * signature (its issuer on the path), never from what a client sent: borrowed parameters
   * decide what a signature proves.
   */
  const issuerKeys = (issuer: ParsedCertificate): KeyObject[] => {
    if (!inheritsDsaParameters(issuer)) return [issuer.publicKey()];
    return [...anchors.withSubject(issuer.issuerKey), ...configuredIntermediates.withSubject(issuer.issuerKey)]
      .filter((source) => source.key.type === 'dsa' && source.key.hasParameters && signedBy(issuer, source).ok)
      .map((source) => dsaKeyWithInheritedParameters(issuer, source))
      .filter((k): k is KeyObject => k !== undefined);
  };

  const signedBy = (child: ParsedCertificate, issuer: ParsedCertificate): SignatureCheck => {
    const key = `${child.id}:${issuer.id}`;
    let result = signatures.get(key);
    if (!result) {
      if (!child.signatureAlgorithmsMatch) {
        result = { ok: false, code: 'CERT_SIGNATURE_INVALID', detail: 'the signature algorithm inside the signed part differs from the outer one' };
      } else {
        try {
          result = issuerKeys(issuer).some((k) => verifySignature(child.signatureAlgorithm, child.tbs, child.signature, k, config.legacyAlgorithms))
            ? { ok: true }
            : { ok: false, code: 'CERT_SIGNATURE_INVALID', detail: 'signature does not verify with the issuer key' };
        } catch (err) {
          result =
            err instanceof UnsupportedAlgorithmError
              ? { ok: false, code: 'CERT_ALGORITHM_UNSUPPORTED', detail: err.message }
              : { ok: false, code: 'CERT_SIGNATURE_INVALID', detail: `issuer key unusable (${(err as Error).message})` };
        }
      }
      signatures.set(key, result);
    }
    return result;
  };

  const crlSignedBy = (crl: ParsedCrl, signer: ParsedCertificate): boolean => {
    const key = `crl:${crl.id}:${signer.id}`;
    let result = signatures.get(key);
    if (!result) {
      let ok = false;
      try {
        ok = issuerKeys(signer).some((k) => verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, k, config.legacyAlgorithms));
      } catch {
        ok = false;
      }
      result = ok ? { ok: true } : { ok: false, code: 'CERT_SIGNATURE_INVALID', detail: 'CRL signature does not verify' };
      signatures.set(key, result);
    }
    return result.ok;
  };

  /**
   * Path building plus policy for one certificate; also used for separate CRL signers, which
   * share the caller's signature budget. Signer candidates are configured certificates only: a
   * client cannot make the verifier validate certificates it sent just to sign a CRL.
   */
  const validate = (
    leaf: ParsedCertificate,
    intermediates: CertificatePool,
    at: number,
    purpose: VerifierConfig['purpose'],
    budget: SignatureBudget,
    signerDepth: number,
    wanted: Map<string, ParsedCertificate>,
  ): PathResult => {
    const policy: PolicyInput = {
      ...(store && settings.distributionPoints
        ? {
            wantCrls: (urls: readonly string[], issuer: ParsedCertificate) => {
              let fetching = false;
              for (const url of urls) {
                if (store.tried(url)) continue;
                if (!wanted.has(url)) wanted.set(url, issuer);
                fetching = true;
              }
              return fetching;
            },
          }
        : {}),
      at,
      clockToleranceMs: config.clockToleranceMs,
      purpose,
      crls: store?.checker ?? (fixedCrls as CrlChecker),
      gracePeriodMs: settings.gracePeriodMs,
      crlsPending: store?.pending ?? false,
      whenUnavailable: settings.whenUnavailable,
      onUnknown: (failure) => events.emit('revocation-unknown', { detail: failure.detail, allowed: true }),
      requireCrl: config.requireCrl,
      legacyAlgorithms: config.legacyAlgorithms,
      crlSignedBy,
      signerCandidates: (crl) => [...anchors.withSubject(crl.issuerKey), ...configuredIntermediates.withSubject(crl.issuerKey)],
      validateSigner: (signer) => {
        // A CRL signer's path needs its own revocation check, which may need another signer:
        // bounded so that a hostile set of CRLs cannot recurse.
        if (signerDepth >= MAX_CRL_SIGNER_DEPTH) return { ok: false, failure: { code: 'REVOCATION_UNKNOWN', detail: 'CRL signer paths nest too deeply' } };
        return validate(signer, configuredIntermediates, at, false, budget, signerDepth + 1, wanted);
      },
    };
    return buildPath(leaf, { anchors, intermediates, maxChainDepth: config.maxChainDepth, signedBy, checkPath: (path) => checkPath(path, policy), budget });
  };

  const verifyNow = (chain: PemOrDerInput, at: number, cacheable: boolean, wanted: Map<string, ParsedCertificate>): VerifyResult => {
    let ders: Buffer[];
    try {
      ders = expectLabels(decodePemOrDer(chain), ['CERTIFICATE'], 'certificate');
    } catch (err) {
      if (err instanceof PemError) return fail('CERT_MALFORMED', `the presented chain is unusable: ${err.message}`);
      return fail('CERT_MALFORMED', 'the presented chain is not PEM text, a DER Buffer, or an array of these');
    }
    if (ders.length === 0) return fail('CERT_MISSING', 'no certificate was presented');
    const certs: ParsedCertificate[] = [];
    for (const [i, der] of ders.entries()) {
      const p = parse(der);
      if ('malformed' in p) return fail('CERT_MALFORMED', `${i === 0 ? 'the leaf certificate' : `presented certificate #${i + 1}`} is malformed: ${p.malformed}`);
      certs.push(p);
    }
    const cacheKey = certs.map((c) => c.id).join(':');
    // New CRLs invalidate every remembered verdict (signature and parse caches stay valid).
    if (store && store.revision !== outcomesRevision) {
      outcomes?.clear();
      outcomesRevision = store.revision;
    }
    if (cacheable) {
      const hit = outcomes?.get(cacheKey);
      if (hit && (!hit.ok || hit.expiresAt.getTime() > at)) return hit;
    }

    const pool = certs.length > 1 ? new CertificatePool([...config.intermediates, ...certs.slice(1)]) : configuredIntermediates;
    const built = validate(certs[0] as ParsedCertificate, pool, at, config.purpose, { remaining: MAX_SIGNATURE_CHECKS }, 0, wanted);
    // A verdict that still waits for a distribution point's CRL is not remembered.
    if (wanted.size > 0) cacheable = false;

    let result: VerifyResult;
    if (built.ok) {
      // The verdict holds until the first certificate or CRL it rests on expires.
      const expiry = Math.min(
        ...[...built.path, ...built.relied.certificates].map((c) => c.notAfter.getTime()),
        ...built.relied.crls.map((c) => (c.nextUpdate as Date).getTime() + settings.gracePeriodMs),
        built.relied.recheckBy ?? Infinity,
      );
      const chainInfo = Object.freeze(built.path.map(certificateInfo));
      result = Object.freeze({ ok: true as const, certificate: chainInfo[0] as CertificateInfo, chain: chainInfo, expiresAt: new Date(expiry) });
      if (cacheable && outcomes) outcomes.set(cacheKey, result, { ttl: Math.max(1, expiry - at) });
    } else {
      result = failureResult(built.failure);
      if (wanted.size > 0) {
        // Not final yet: reported after the distribution point's CRL has been fetched.
      } else if (built.failure.code === 'CERT_REVOKED') events.emit('certificate-revoked', { code: 'CERT_REVOKED', detail: built.failure.detail });
      else if (built.failure.code === 'REVOCATION_UNKNOWN') events.emit('revocation-unknown', { detail: built.failure.detail, allowed: false });
      if (cacheable && outcomes && !TIME_DEPENDENT.has(built.failure.code)) outcomes.set(cacheKey, result, { ttl: REJECTION_CACHE_TTL_MS });
    }
    return result;
  };

  const verifier: Verifier = {
    anchors: Object.freeze(config.anchors.map(certificateInfo)),
    get revision() {
      return store?.revision ?? 0;
    },
    async verify(chain, options) {
      const at = options?.at;
      if (at !== undefined && (!(at instanceof Date) || Number.isNaN(at.getTime()))) {
        throw new CertgateError('CONFIG_INVALID', `verify: option 'at' must be a valid Date`);
      }
      // The first verifications wait for the first load of every CRL source (bounded by the fetch timeout).
      if (store) await store.ready;
      const when = at?.getTime() ?? Date.now();
      const wanted = new Map<string, ParsedCertificate>();
      const result = verifyNow(chain, when, at === undefined, wanted);
      if (wanted.size === 0 || !store) return result;
      // distributionPoints: fetch the CRLs the path's certificates name, then decide again.
      await store.discover(wanted);
      return verifyNow(chain, when, at === undefined, new Map());
    },
    on(event, listener) {
      events.on(event, listener as (payload: unknown) => void);
      return verifier;
    },
    off(event, listener) {
      events.off(event, listener as (payload: unknown) => void);
      return verifier;
    },
    async refreshCrls() {
      await store?.refreshAll();
    },
    close() {
      store?.close();
    },
  };
  return verifier;
}

function failureResult(failure: Failure): VerifyFailure {
  return fail(failure.code, failure.detail || PUBLIC_MESSAGES[failure.code]);
}

