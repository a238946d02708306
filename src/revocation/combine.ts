import type { CrlFinding, Failure, OcspFinding } from '../model/verdict.js';

export type { CrlFinding, OcspFinding };

/**
 * How revocation findings become one decision: the README tables "Revocation" and "How CRL and
 * OCSP combine", as pure functions over findings, so the rules can be read and tested in one place
 * without certificates, CRLs or servers. Finding the facts (which CRL applies, what the responder
 * said) happens elsewhere; nothing here does I/O or reads a clock.
 */

export type WhenUnavailable = 'reject' | 'allow';

/**
 * `unknown` with `allowed: true` is a soft failure: the certificate passes, the operator is told
 * (`revocation-unknown`), and the verdict is re-examined soon.
 */
export type RevocationDecision =
  | { status: 'good' }
  | { status: 'revoked'; failure: Failure }
  | { status: 'unknown'; failure: Failure; allowed: boolean };

const GOOD: RevocationDecision = Object.freeze({ status: 'good' });

/**
 * A certificate only CRLs speak for (every intermediate; the leaf when OCSP is off). An issuer with
 * no CRL is not checked: `unchecked` arrives here as `unknown` when `requireCrl` (or a source that
 * has not delivered yet, or a distribution point that could not be fetched) says it must be.
 */
export function decideByCrl(crl: CrlFinding, whenUnavailable: WhenUnavailable): RevocationDecision {
  switch (crl.status) {
    case 'good':
    case 'unchecked':
      return GOOD;
    case 'revoked':
      return { status: 'revoked', failure: crl.failure };
    case 'unknown':
      return { status: 'unknown', failure: crl.failure, allowed: whenUnavailable === 'allow' };
  }
}

/**
 * The leaf when OCSP is on, row by row as the README table "How CRL and OCSP combine":
 * a CRL revocation refuses without asking OCSP (see {@link needsOcsp}); OCSP `revoked` wins (the
 * fresher source); OCSP `good` stands in for a leaf CRL that is stale, unreachable or required but
 * missing; a usable CRL vouches for the leaf when OCSP cannot say; with neither, `whenUnavailable`
 * decides: OCSP's alone when no CRL covers the issuer, the stricter of the two when a CRL should
 * have and could not.
 */
export function decideLeaf(
  crl: CrlFinding,
  ocsp: OcspFinding,
  rules: { crl: WhenUnavailable; ocsp: WhenUnavailable },
): RevocationDecision {
  if (crl.status === 'revoked') return { status: 'revoked', failure: crl.failure };
  if (ocsp.status === 'revoked') return { status: 'revoked', failure: ocsp.failure };
  if (ocsp.status === 'good' || crl.status === 'good') return GOOD;
  if (crl.status === 'unchecked') return { status: 'unknown', failure: ocsp.failure, allowed: rules.ocsp === 'allow' };
  // One detail for both sources: "<leaf> is unknown: <OCSP's reason>; and from CRLs: <CRLs' reason>".
  const crlReason = crl.failure.detail.replace(/^.* is unknown: /, '');
  const failure: Failure = {
    code: 'REVOCATION_UNKNOWN',
    detail: `${ocsp.failure.detail}; and from CRLs: ${crlReason}`,
  };
  return { status: 'unknown', failure, allowed: rules.ocsp === 'allow' && rules.crl === 'allow' };
}

/** Whether the leaf's CRL finding leaves anything for OCSP to say (a CRL revocation is final). */
export function needsOcsp(crl: CrlFinding): boolean {
  return crl.status !== 'revoked';
}

/**
 * One decision for a whole path: a revocation anywhere wins (it is final, and the most useful thing
 * to tell the operator), then the first unknown that must refuse, then the first soft failure;
 * otherwise good. Decisions are given leaf first.
 */
export function combinePath(decisions: readonly RevocationDecision[]): RevocationDecision {
  const revoked = decisions.find((d) => d.status === 'revoked');
  if (revoked) return revoked;
  const refused = decisions.find((d) => d.status === 'unknown' && !d.allowed);
  if (refused) return refused;
  return decisions.find((d) => d.status === 'unknown') ?? GOOD;
}
