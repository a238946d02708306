import type { ParsedCertificate } from '../x509/certificate.js';
import { describe, type Failure, type PathVerdict, type Reliance } from '../model/verdict.js';
import type { CrlChecker, CrlCheckContext, SignatureToCheck } from './crl-checker.js';
import { combinePath, decideByCrl, needsOcsp, type CrlFinding, type RevocationDecision } from './combine.js';

export interface RevocationInput extends CrlCheckContext {
  crls: CrlChecker;
  /** Every certificate but the anchor must be covered by a usable CRL from its issuer. */
  requireCrl: boolean;
  /** Why CRL sources have not delivered yet (undefined when all have): an issuer without a CRL may be theirs. */
  crlsPending: string | undefined;
  /**
   * Set with `distributionPoints`: the CRLs a certificate names (its signature has verified) may
   * be fetched. `untried`: whether any of these URLs has not been tried yet; `request`: asks for
   * them, for the caller to fetch before deciding again; `seen`: a path named them (they stay
   * followed longest).
   */
  distributionPoints?: {
    untried(urls: readonly string[]): boolean;
    request(urls: readonly string[], issuer: ParsedCertificate): void;
    seen(urls: readonly string[]): void;
  };
  /** Asks for large CRL signatures to be checked off the request path, for the caller to decide again after. */
  checkSignatures?(checks: readonly SignatureToCheck[]): void;
  /** 'allow': an undeterminable status lets the certificate through (reported via onUnknown). */
  whenUnavailable: 'reject' | 'allow';
  /**
   * OCSP will also be asked about the leaf: the leaf's CRL status is recorded in the reliance
   * (`leafCrl`) instead of deciding on its own; only a revocation refuses at once.
   */
  leafOcsp?: boolean;
  onUnknown(failure: Failure): void;
}

/**
 * Distribution point URLs followed per certificate, in certificate order. The URIs a certificate
 * lists are alternatives for its CRLs; a certificate listing hundreds would otherwise make every
 * verification fetch them all, and push other URLs out of the 64 followed (an adversarial review
 * measured 1,152 requests for one verification of a certificate naming 400).
 */
export const MAX_CRL_URLS_PER_CERTIFICATE = 4;

/** The URLs of `cert`'s distribution points that are followed (see MAX_CRL_URLS_PER_CERTIFICATE). */
const followedUrls = (cert: ParsedCertificate): readonly string[] =>
  (cert.crlUrls ?? []).slice(0, MAX_CRL_URLS_PER_CERTIFICATE);

/** How long a verdict that soft-failed revocation is kept before revocation is tried again. */
export const SOFT_FAIL_RECHECK_MS = 30_000;

/**
 * A certificate whose CRL is being fetched from its distribution point, or whose CRL's signature is
 * being checked: decided again after. `ask` starts that work.
 */
type Pending = { status: 'pending'; failure: Failure; ask(): void };

function unknown(cert: ParsedCertificate, why: string): CrlFinding {
  return {
    status: 'unknown',
    failure: { code: 'REVOCATION_UNKNOWN', detail: `revocation status of ${describe(cert)} is unknown: ${why}` },
  };
}

/** What the CRLs say about `cert`, with the configured reasons why "no CRL" cannot mean "not checked". */
function crlFinding(
  path: readonly ParsedCertificate[],
  i: number,
  input: RevocationInput,
  relied: Reliance,
): CrlFinding | Pending {
  const cert = path[i] as ParsedCertificate;
  const issuer = path[i + 1] as ParsedCertificate;
  const anchor = path[path.length - 1] as ParsedCertificate;
  const dp = input.distributionPoints;
  const urls = followedUrls(cert);
  if (dp && urls.length > 0) dp.seen(urls);
  // RFC 5280 section 6.3.3 (b)(2)(ii)/(iii): CRL scope follows the certificate's own cA flag, not its position.
  const status = input.crls.check(cert, issuer, anchor, cert.basicConstraints?.ca === true, input);
  if (status.status === 'good') {
    relied.crls.push(...status.relied.crls);
    relied.certificates.push(...status.relied.certificates);
    return { status: 'good' };
  }
  if (status.status === 'verifying') {
    const checks = status.checks;
    return { status: 'pending', failure: status.failure, ask: () => input.checkSignatures?.(checks) };
  }
  if (status.status !== 'unchecked') return status;
  if (dp && urls.length > 0) {
    // RFC 5280 section 4.2.1.13: the certificate names where its CRL is; the caller fetches it
    // (checked against this issuer's key) and decides again. Until then: unknown.
    const where = urls.join(', ');
    if (dp.untried(urls)) {
      const { failure } = unknown(cert, `its CRL at ${where} has not been fetched`) as { failure: Failure };
      return { status: 'pending', failure, ask: () => dp.request(urls, issuer) };
    }
    return unknown(cert, `its CRL at ${where} could not be fetched`);
  }
  if (input.requireCrl) return unknown(cert, `no CRL from "${cert.issuerDN}" is configured and requireCrl is set`);
  if (input.crlsPending) return unknown(cert, `no CRL from "${cert.issuerDN}" is in use: ${input.crlsPending}`);
  return status;
}

/**
 * RFC 5280 section 6.3: every certificate but the anchor against its issuer's CRL, combined by
 * combine.ts. With OCSP on, the leaf's CRL finding is recorded (`relied.leafCrl`) for OCSP to be
 * combined with later; only a CRL revocation of the leaf refuses here.
 *
 * Distribution points are fetched issuer side first: only for the certificate nearest the anchor
 * whose CRL is missing, and only when nothing else in the path refuses. The certificates below it
 * wait until it is decided: a revoked intermediate's key can mint leaves naming any URL, and those
 * must never be fetched (the path is CERT_REVOKED once the intermediate's CRL arrives). Large CRL
 * signatures not checked yet wait the same way, one certificate per round.
 */
export function checkRevocation(path: readonly ParsedCertificate[], input: RevocationInput): PathVerdict {
  const relied: Reliance = { crls: [], certificates: [] };
  const decisions: RevocationDecision[] = [];
  const pending: Pending[] = [];
  for (let i = 0; i < path.length - 1; i++) {
    const finding = crlFinding(path, i, input, relied);
    if (finding.status === 'pending') {
      pending.push(finding);
      continue;
    }
    if (i === 0 && input.leafOcsp) {
      relied.leafCrl = finding;
      if (needsOcsp(finding)) continue;
    }
    decisions.push(decideByCrl(finding, input.whenUnavailable));
  }
  const decision = combinePath(decisions);
  if (decision.status === 'revoked' || (decision.status === 'unknown' && !decision.allowed))
    return { ok: false, failure: decision.failure };
  const nearestAnchor = pending[pending.length - 1];
  if (nearestAnchor) {
    nearestAnchor.ask();
    return { ok: false, failure: nearestAnchor.failure };
  }
  for (const d of decisions) {
    if (d.status !== 'unknown') continue;
    // Soft fail: let it through, tell the operator, and look again soon.
    input.onUnknown(d.failure);
    relied.recheckBy = Math.min(relied.recheckBy ?? Infinity, input.at + SOFT_FAIL_RECHECK_MS);
  }
  return { ok: true, relied };
}
