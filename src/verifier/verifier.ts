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
import { buildPath, MAX_SIGNATURE_CHECKS } from '../path/builder.js';
import { CertificatePool } from '../path/pool.js';
import { checkRules, type PolicyInput } from '../path/policy.js';
import { checkRevocation, SOFT_FAIL_RECHECK_MS, type RevocationInput } from '../revocation/path-revocation.js';
import { describe, type Failure, type Reliance, type PathResult, type SignatureBudget, type SignatureCheck } from '../model/verdict.js';
import { OcspClient, type OcspAnswer, type OcspEvents } from '../revocation/ocsp-client.js';

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

export interface VerifierEvents extends CrlEvents, OcspEvents {
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

/** A path verdict as remembered: the result, and what OCSP needs to finish it. */
interface Outcome {
  result: VerifyResult;
  path?: readonly ParsedCertificate[];
  leafCrl?: Reliance['leafCrl'];
  /** The last OCSP answer applied to this outcome and the result it gave (the hot path reuses it). */
  withOcsp?: { answer: OcspAnswer; result: VerifyResult };
}

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
            clock: config.clock,
          },
          (issuerKey) => [...anchors.withSubject(issuerKey), ...configuredIntermediates.withSubject(issuerKey)],
        )
      : undefined;
  for (const name of ['crl-loaded', 'crl-refresh-failed', 'crl-rejected', 'crl-stale'] as const) store?.on(name, (payload) => events.emit(name, payload));
  const fixedCrls = store ? undefined : new CrlChecker(config.crls);
  const ocsp = config.ocsp
    ? new OcspClient(
        { ...config.ocsp, clockToleranceMs: config.clockToleranceMs, legacyAlgorithms: config.legacyAlgorithms, cacheSize: config.cacheSize, clock: config.clock },
        (event, payload) => events.emit(event, payload),
      )
    : undefined;
  let outcomesRevision = 0;
  const parsed = new LRUCache<string, Parsed>({ max: Math.max(config.cacheSize, 16) });
  const signatures = new LRUCache<string, SignatureCheck>({ max: Math.max(config.cacheSize, 16) });
  const outcomes = config.cacheSize > 0 ? new LRUCache<string, Outcome>({ max: config.cacheSize, perf: config.clock }) : undefined;
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
    if (crl.verifiedWith.has(signer.id)) return true;
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
    const policy: PolicyInput & RevocationInput = {
      // OCSP is about the client's leaf, not about the certificates that sign CRLs.
      leafOcsp: ocsp !== undefined && signerDepth === 0,
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
    return buildPath(leaf, { anchors, intermediates, maxChainDepth: config.maxChainDepth, signedBy, checkPath: (path) => {
        const failure = checkRules(path, policy);
        return failure ? { ok: false, failure } : checkRevocation(path, policy);
      }, budget });
  };

  const verifyNow = (chain: PemOrDerInput, at: number, cacheable: boolean, wanted: Map<string, ParsedCertificate>): Outcome => {
    let ders: Buffer[];
    try {
      ders = expectLabels(decodePemOrDer(chain), ['CERTIFICATE'], 'certificate');
    } catch (err) {
      if (err instanceof PemError) return { result: fail('CERT_MALFORMED', `the presented chain is unusable: ${err.message}`) };
      return { result: fail('CERT_MALFORMED', 'the presented chain is not PEM text, a DER Buffer, or an array of these') };
    }
    if (ders.length === 0) return { result: fail('CERT_MISSING', 'no certificate was presented') };
    const certs: ParsedCertificate[] = [];
    for (const [i, der] of ders.entries()) {
      const p = parse(der);
      if ('malformed' in p) return { result: fail('CERT_MALFORMED', `${i === 0 ? 'the leaf certificate' : `presented certificate #${i + 1}`} is malformed: ${p.malformed}`) };
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
      if (hit && (!hit.result.ok || hit.result.expiresAt.getTime() > at)) return hit;
    }

    const pool = certs.length > 1 ? new CertificatePool([...config.intermediates, ...certs.slice(1)]) : configuredIntermediates;
    const built = validate(certs[0] as ParsedCertificate, pool, at, config.purpose, { remaining: MAX_SIGNATURE_CHECKS }, 0, wanted);
    // A verdict that still waits for a distribution point's CRL is not remembered.
    if (wanted.size > 0) cacheable = false;

    let outcome: Outcome;
    if (built.ok) {
      // The verdict holds until the first certificate or CRL it rests on expires.
      const expiry = Math.min(
        ...[...built.path, ...built.relied.certificates].map((c) => c.notAfter.getTime()),
        ...built.relied.crls.map((c) => (c.nextUpdate as Date).getTime() + settings.gracePeriodMs),
        built.relied.recheckBy ?? Infinity,
      );
      const chainInfo = Object.freeze(built.path.map(certificateInfo));
      const result = Object.freeze({ ok: true as const, certificate: chainInfo[0] as CertificateInfo, chain: chainInfo, expiresAt: new Date(expiry) });
      outcome = { result, path: built.path, leafCrl: built.relied.leafCrl };
      if (cacheable && outcomes) outcomes.set(cacheKey, outcome, { ttl: Math.max(1, expiry - at) });
    } else {
      outcome = { result: failureResult(built.failure) };
      if (wanted.size > 0) {
        // Not final yet: reported after the distribution point's CRL has been fetched.
      } else if (built.failure.code === 'CERT_REVOKED') events.emit('certificate-revoked', { code: 'CERT_REVOKED', detail: built.failure.detail });
      else if (built.failure.code === 'REVOCATION_UNKNOWN') events.emit('revocation-unknown', { detail: built.failure.detail, allowed: false });
      if (cacheable && outcomes && !TIME_DEPENDENT.has(built.failure.code)) outcomes.set(cacheKey, outcome, { ttl: REJECTION_CACHE_TTL_MS });
    }
    return outcome;
  };

  /** The leaf's OCSP answer folded into a path verdict (README "How CRL and OCSP combine"). */
  const applyOcsp = (outcome: Outcome, answer: OcspAnswer, at: number): VerifyResult => {
    if (outcome.withOcsp?.answer === answer) return outcome.withOcsp.result;
    const result = outcome.result as VerifySuccess;
    const leaf = (outcome.path as readonly ParsedCertificate[])[0] as ParsedCertificate;
    const until = (...limits: number[]) => Object.freeze({ ...result, expiresAt: new Date(Math.min(result.expiresAt.getTime(), answer.until, ...limits)) });
    let combined: VerifyResult;
    if (answer.status === 'revoked') {
      const { revokedAt, reason, signer } = answer.verdict;
      const detail = `${describe(leaf)} was revoked${revokedAt ? ` at ${revokedAt.toISOString()}` : ''}${reason === undefined ? '' : ` (reason ${reason})`}, says the OCSP responder at ${answer.url} (signed by ${signer})`;
      combined = fail('CERT_REVOKED', detail);
      events.emit('certificate-revoked', { code: 'CERT_REVOKED', detail });
    } else if (answer.status === 'good' || outcome.leafCrl === 'good') {
      // A good OCSP answer, or a CRL that covers the leaf when OCSP cannot say.
      combined = until();
    } else {
      const crlUnknown = typeof outcome.leafCrl === 'object' ? outcome.leafCrl : undefined;
      const ocspWhy = answer.status === 'unavailable' ? `no OCSP answer (${answer.why})` : `the OCSP responder at ${answer.url} does not know it`;
      const detail = `revocation status of ${describe(leaf)} is unknown: ${ocspWhy}${crlUnknown ? `; and from CRLs: ${crlUnknown.detail.replace(/^.* is unknown: /, '')}` : ''}`;
      const reject = config.ocsp?.whenUnavailable === 'reject' || (crlUnknown !== undefined && settings.whenUnavailable === 'reject');
      events.emit('revocation-unknown', { detail, allowed: !reject });
      combined = reject ? fail('REVOCATION_UNKNOWN', detail) : until(at + SOFT_FAIL_RECHECK_MS);
    }
    outcome.withOcsp = { answer, result: combined };
    return combined;
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
      const when = at?.getTime() ?? config.clock.now();
      const wanted = new Map<string, ParsedCertificate>();
      let outcome = verifyNow(chain, when, at === undefined, wanted);
      if (wanted.size > 0 && store) {
        // distributionPoints: fetch the CRLs the path's certificates name, then decide again.
        await store.discover(wanted);
        outcome = verifyNow(chain, when, at === undefined, new Map());
      }
      // OCSP asks about the leaf of a path that passed everything else (an anchor presented as
      // the leaf has no issuer to ask about).
      if (!ocsp || !outcome.result.ok || !outcome.path || outcome.path.length < 2) return outcome.result;
      const [leaf, issuer] = outcome.path as [ParsedCertificate, ParsedCertificate];
      // An explicit `at` needs an answer current at that instant: never a remembered one.
      const answer = at === undefined ? (ocsp.cached(leaf, issuer, when) ?? (await ocsp.query(leaf, issuer))) : await ocsp.query(leaf, issuer, when);
      return applyOcsp(outcome, answer, when);
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
      ocsp?.close();
    },
  };
  return verifier;
}

function failureResult(failure: Failure): VerifyFailure {
  return fail(failure.code, failure.detail || PUBLIC_MESSAGES[failure.code]);
}

