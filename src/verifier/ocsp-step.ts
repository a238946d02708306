import type { OcspFinding } from '../model/verdict.js';
import { describe } from '../model/verdict.js';
import { decideLeaf } from '../revocation/combine.js';
import type { OcspAnswer } from '../revocation/ocsp-client.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import { SOFT_FAIL_RECHECK_MS } from '../revocation/path-revocation.js';
import type { VerifierEventBus } from './events.js';
import type { Outcome } from './outcome-cache.js';
import { failure, type VerifyResult, type VerifySuccess } from './results.js';

/** What an OCSP answer says about the leaf, as a finding for combine.ts. */
export function ocspFinding(answer: OcspAnswer, leaf: ParsedCertificate): OcspFinding {
  if (answer.status === 'good') return { status: 'good' };
  if (answer.status === 'revoked') {
    const { revokedAt, reason, signer } = answer.verdict;
    const when = revokedAt ? ` at ${revokedAt.toISOString()}` : '';
    const why = reason === undefined ? '' : ` (reason ${reason})`;
    const source = `the OCSP responder at ${answer.url} (signed by ${signer})`;
    const detail = `${describe(leaf)} was revoked${when}${why}, says ${source}`;
    return { status: 'revoked', failure: { code: 'CERT_REVOKED', detail } };
  }
  const ocspWhy =
    answer.status === 'unavailable'
      ? `no OCSP answer (${answer.why})`
      : `the OCSP responder at ${answer.url} does not know it`;
  return {
    status: 'unknown',
    failure: { code: 'REVOCATION_UNKNOWN', detail: `revocation status of ${describe(leaf)} is unknown: ${ocspWhy}` },
  };
}

/**
 * The leaf's OCSP answer folded into a path verdict that passed everything else (README "How CRL
 * and OCSP combine", decided by combine.ts). The verdict's lifetime shrinks to the answer's.
 */
export function applyOcsp(
  outcome: Outcome,
  answer: OcspAnswer,
  at: number,
  rules: { crl: 'reject' | 'allow'; ocsp: 'reject' | 'allow' },
  events: VerifierEventBus,
): VerifyResult {
  // The same answer gives the same result, while that result holds: a soft failure's result ends
  // after SOFT_FAIL_RECHECK_MS even when the answer itself is remembered longer.
  const previous = outcome.withOcsp;
  const stillHolds = previous?.answer === answer && (!previous.result.ok || previous.result.expiresAt.getTime() > at);
  if (stillHolds) return previous.result;
  const result = outcome.result as VerifySuccess;
  const leaf = (outcome.path as readonly ParsedCertificate[])[0] as ParsedCertificate;
  const until = (...limits: number[]) =>
    Object.freeze({ ...result, expiresAt: new Date(Math.min(result.expiresAt.getTime(), answer.until, ...limits)) });
  const decision = decideLeaf(outcome.leafCrl ?? { status: 'unchecked' }, ocspFinding(answer, leaf), rules);
  let combined: VerifyResult;
  if (decision.status === 'good') combined = until();
  else if (decision.status === 'revoked') {
    combined = failure('CERT_REVOKED', decision.failure.detail);
    events.emit('certificate-revoked', { code: 'CERT_REVOKED', detail: decision.failure.detail });
  } else {
    events.emit('revocation-unknown', { detail: decision.failure.detail, allowed: decision.allowed });
    combined = decision.allowed
      ? until(at + SOFT_FAIL_RECHECK_MS)
      : failure('REVOCATION_UNKNOWN', decision.failure.detail);
  }
  outcome.withOcsp = { answer, result: combined };
  return combined;
}
