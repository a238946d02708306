import { CertgateError } from '../errors.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import { certificateInfo, type CertificateInfo } from '../x509/certificate.js';
import { decodePemOrDer, expectLabels, PemError, type PemOrDerInput } from '../x509/pem.js';
import { CertificatePool } from '../path/pool.js';
import type { Clock } from '../time/clock.js';
import { CertificateCache } from './certificate-cache.js';
import { VerifierEventBus, type VerifierEvents } from './events.js';
import { applyOcsp } from './ocsp-step.js';
import { parseVerifierOptions, type VerifierConfig, type VerifierOptions } from './options.js';
import { OutcomeCache, type Outcome } from './outcome-cache.js';
import { ChainDecider } from './chain-decider.js';
import { PathValidator } from './path-validation.js';
import { failure, type VerifyResult } from './results.js';
import { RevocationSources } from './revocation-sources.js';
import { Wanted } from './wanted.js';

export type { VerifierEvents } from './events.js';
export type { VerifyFailure, VerifyResult, VerifySuccess } from './results.js';

export interface VerifyOptions {
  /** Validate as of this instant instead of now. Results for explicit times are not cached. */
  at?: Date;
}

export interface Verifier {
  verify(chain: PemOrDerInput, options?: VerifyOptions): Promise<VerifyResult>;
  /** The trust anchors, as the verifier decoded them (for diagnostics). */
  readonly anchors: readonly CertificateInfo[];
  /**
   * Increases whenever the CRLs in use change or a refreshed OCSP answer changes status: a verdict
   * reached at an older revision must be recomputed (guards compare it on every request, so a
   * revocation applies to open connections).
   */
  readonly revision: number;
  /** The clock every time decision of this verifier reads (the `clock` option). */
  readonly clock: Clock;
  /** Operator events: see {@link VerifierEvents}. */
  on<E extends keyof VerifierEvents>(event: E, listener: (payload: VerifierEvents[E]) => void): this;
  off<E extends keyof VerifierEvents>(event: E, listener: (payload: VerifierEvents[E]) => void): this;
  /** Fetches and re-reads every CRL source now; resolves when done. */
  refreshCrls(): Promise<void>;
  /** Stops refreshing CRLs (timers are unref'd, so this is needed only to stop work early). */
  close(): void;
}

/** Bytes (estimated) each cache of a verifier holds: per cache, checked against its share of `cacheMaxBytes`. */
export interface CacheUsage {
  proven: number;
  unproven: number;
  signatures: number;
  outcomes: number;
}

const usageOf = new WeakMap<Verifier, () => CacheUsage>();

/** What a verifier's caches hold now (for tests and the flood bench; not part of the public API). */
export function cacheUsage(verifier: Verifier): CacheUsage | undefined {
  return usageOf.get(verifier)?.();
}

/**
 * Decides, gets what the decision asked for, decides again: fetches of the CRLs a path's
 * distribution points name and large CRL signatures checked off the request path. One
 * certificate per round, issuer side first (path-revocation.ts), at most `rounds` rounds (two per
 * certificate: a fetch, then a signature).
 */
async function settleDecision(
  decideNow: (wanted: Wanted) => Outcome,
  get: (wanted: Wanted) => Promise<unknown>,
  rounds: number,
): Promise<Outcome> {
  let wanted = new Wanted();
  let decided = decideNow(wanted);
  for (let round = 0; !wanted.empty && round < rounds; round++) {
    await get(wanted);
    wanted = new Wanted();
    decided = decideNow(wanted);
  }
  return decided;
}

/** The 'psd2-statement-ignored' event, for a leaf that verified for the first time since it was parsed. */
function reportPsd2(fresh: readonly ParsedCertificate[], path: readonly ParsedCertificate[], events: VerifierEventBus) {
  const leaf = path[0];
  if (leaf?.psd2Ignored !== undefined && fresh.includes(leaf)) {
    events.emit('psd2-statement-ignored', { subjectDN: leaf.subjectDN, reason: leaf.psd2Ignored });
  }
}

/** Creates a verifier; throws CertgateError `CONFIG_INVALID` naming the option at fault. */
export function createVerifier(options: VerifierOptions): Verifier {
  return verifierFromConfig(parseVerifierOptions(options));
}

/** The presented chain as DER, or why it is unusable. */
function decodeChain(chain: PemOrDerInput): Buffer[] | VerifyResult {
  try {
    return expectLabels(decodePemOrDer(chain), ['CERTIFICATE'], 'certificate');
  } catch (err) {
    if (err instanceof PemError) return failure('CERT_MALFORMED', `the presented chain is unusable: ${err.message}`);
    return failure('CERT_MALFORMED', 'the presented chain is not PEM text, a DER Buffer, or an array of these');
  }
}

/**
 * A verifier is four parts composed here: the certificate cache (parses, signature oracle), the
 * revocation sources (CRLs, OCSP), the path validator (RFC 5280 section 6) and the outcome cache.
 * This function is the verify flow: decode, reuse a remembered verdict or validate, fetch what
 * distribution points name and decide again, then ask OCSP about the leaf.
 */
export function verifierFromConfig(config: VerifierConfig): Verifier {
  const { clock } = config;
  const anchors = new CertificatePool(config.anchors);
  const intermediates = new CertificatePool(config.intermediates);
  const events = new VerifierEventBus();
  const budget = config.cacheBudget;
  const configured = [anchors, intermediates];
  const cache = new CertificateCache(config.cacheSize, config.legacyAlgorithms, configured, budget, clock);
  const revocation = new RevocationSources(config, (key) => validator.configuredNamed(key), events);
  const validator: PathValidator = new PathValidator(config, anchors, intermediates, cache, revocation);
  const ocspRules = {
    crl: config.crlSettings.whenUnavailable,
    ocsp: config.ocsp?.whenUnavailable ?? 'reject',
  } as const;

  const outcomes = new OutcomeCache(config.cacheSize, clock, budget.outcomes, (c) => cache.isPinned(c));
  const chains = new ChainDecider(config, intermediates, cache, revocation, validator, outcomes, events);
  const decide = chains.decide.bind(chains);
  const fetchWanted = (wanted: Wanted) =>
    Promise.all([revocation.discover(wanted.urls), validator.checkCrlSignatures(wanted.signatures)]);
  const rounds = 2 * (config.maxChainDepth + 1);

  const verifier: Verifier = {
    anchors: Object.freeze(config.anchors.map(certificateInfo)),
    get revision() {
      return revocation.revision;
    },
    clock,
    async verify(chain, options) {
      const at = options?.at;
      if (at !== undefined && (!(at instanceof Date) || Number.isNaN(at.getTime()))) {
        throw new CertgateError('CONFIG_INVALID', `verify: option 'at' must be a valid Date`);
      }
      const ders = decodeChain(chain);
      if (!Array.isArray(ders)) return ders;
      // The first verifications wait for the first load of every CRL source (bounded by the fetch timeout).
      const ready = revocation.ready();
      if (ready) await ready;
      // Every decision reads the clock when it is made, never before an await: a fetch may take seconds.
      const now = () => at?.getTime() ?? clock.now();
      const settle = () =>
        settleDecision((wanted) => decide(ders, now(), at === undefined, wanted), fetchWanted, rounds);
      let outcome = await settle();
      // Only certificates on a path to an anchor keep their parses beyond a short while.
      const kept = outcome.result.ok ? outcome.path : undefined;
      const fresh = kept ? cache.keep(kept) : undefined;
      // The PSD2 event is for a leaf that is accepted in the end (OCSP included), once per parse.
      const reported = (result: VerifyResult): VerifyResult => {
        if (result.ok && kept && fresh) reportPsd2(fresh, kept, events);
        return result;
      };
      const ocsp = revocation.ocsp;
      // OCSP asks about the leaf of a path that passed everything else (an anchor presented as
      // the leaf has no issuer to ask about).
      if (!ocsp || !outcome.result.ok || !outcome.path || outcome.path.length < 2) return reported(outcome.result);
      const [leaf, issuer] = outcome.path as [ParsedCertificate, ParsedCertificate];
      // An explicit `at` needs an answer current at that instant: never a remembered one.
      const answer =
        at === undefined
          ? (ocsp.cached(leaf, issuer, now()) ?? (await ocsp.query(leaf, issuer)))
          : await ocsp.query(leaf, issuer, at.getTime());
      // The wait for the responder may outlast the verdict (a certificate expiring meanwhile).
      if (outcome.result.ok && outcome.result.expiresAt.getTime() <= now()) outcome = await settle();
      const after = now();
      if (!outcome.result.ok || !outcome.path) return outcome.result;
      return reported(applyOcsp(outcome, answer, after, ocspRules, events));
    },
    on(event, listener) {
      events.on(event, listener);
      return verifier;
    },
    off(event, listener) {
      events.off(event, listener);
      return verifier;
    },
    refreshCrls: () => revocation.refresh(),
    close: () => revocation.close(),
  };
  usageOf.set(verifier, () => ({ ...cache.usage(), outcomes: outcomes.bytes }));
  return verifier;
}
