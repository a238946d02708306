import type { ParsedCertificate } from '../x509/certificate.js';
import { describe, type Failure, type PathVerdict, type Reliance } from '../model/verdict.js';
import type { CrlChecker, CrlCheckContext } from './crl-checker.js';

export interface RevocationInput extends CrlCheckContext {
  crls: CrlChecker;
  /** Every certificate but the anchor must be covered by a usable CRL from its issuer. */
  requireCrl: boolean;
  /** CRL sources that have not delivered yet: an issuer without a CRL may be theirs. */
  crlsPending: boolean;
  /**
   * Set with distributionPoints: asks for the CRLs a certificate names (its signature has
   * verified). Returns whether any of them will be fetched (false: all were tried already, and failed).
   */
  wantCrls?(urls: readonly string[], issuer: ParsedCertificate): boolean;
  /** 'allow': an undeterminable status lets the certificate through (reported via onUnknown). */
  whenUnavailable: 'reject' | 'allow';
  /**
   * OCSP will also be asked about the leaf: the leaf's CRL status is recorded in the reliance
   * (`leafCrl`) instead of deciding on its own; only a revocation refuses at once.
   */
  leafOcsp?: boolean;
  onUnknown(failure: Failure): void;
}

/** How long a verdict that soft-failed revocation is kept before revocation is tried again. */
export const SOFT_FAIL_RECHECK_MS = 30_000;

/** RFC 5280 section 6.3: every certificate but the anchor against its issuer's CRL. */
export function checkRevocation(path: readonly ParsedCertificate[], input: RevocationInput): PathVerdict {
  const relied: Reliance = { crls: [], certificates: [] };
  let pendingFetch: Failure | undefined;
  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i] as ParsedCertificate;
    // RFC 5280 section 6.3.3 (b)(2)(ii)/(iii): CRL scope follows the certificate's own cA flag, not its position.
    const status = input.crls.check(cert, path[i + 1] as ParsedCertificate, path[path.length - 1] as ParsedCertificate, cert.basicConstraints?.ca === true, input);
    if (status.status === 'good') {
      if (i === 0) relied.leafCrl = 'good';
      relied.crls.push(...status.relied.crls);
      relied.certificates.push(...status.relied.certificates);
    } else if (status.status === 'revoked') {
      return { ok: false, failure: status.failure };
    } else {
      let unknown: Failure | undefined = status.status === 'unknown' ? status.failure : undefined;
      if (!unknown && status.status === 'unchecked' && input.wantCrls && cert.crlUrls?.length) {
        // RFC 5280 section 4.2.1.13: the certificate names where its CRL is; the caller fetches
        // it (checked against this issuer's key) and decides again. Until then: unknown. The loop
        // goes on so that every certificate's distribution points are collected in one pass.
        if (input.wantCrls(cert.crlUrls, path[i + 1] as ParsedCertificate)) {
          pendingFetch ??= { code: 'REVOCATION_UNKNOWN', detail: `revocation status of ${describe(cert)} is unknown: its CRL at ${cert.crlUrls.join(', ')} has not been fetched` };
          continue;
        }
        unknown = { code: 'REVOCATION_UNKNOWN', detail: `revocation status of ${describe(cert)} is unknown: its CRL at ${cert.crlUrls.join(', ')} could not be fetched` };
      }
      if (!unknown && input.requireCrl) {
        unknown = { code: 'REVOCATION_UNKNOWN', detail: `revocation status of ${describe(cert)} is unknown: no CRL from "${cert.issuerDN}" is configured and requireCrl is set` };
      }
      if (!unknown && input.crlsPending) {
        unknown = { code: 'REVOCATION_UNKNOWN', detail: `revocation status of ${describe(cert)} is unknown: CRL sources have not been loaded yet` };
      }
      if (i === 0 && input.leafOcsp) {
        relied.leafCrl = unknown ?? 'unchecked';
        continue;
      }
      if (unknown) {
        if (input.whenUnavailable === 'reject') return { ok: false, failure: unknown };
        // Soft fail: let it through, tell the operator, and look again soon.
        input.onUnknown(unknown);
        relied.recheckBy = Math.min(relied.recheckBy ?? Infinity, input.at + SOFT_FAIL_RECHECK_MS);
      }
    }
  }
  if (pendingFetch) return { ok: false, failure: pendingFetch };
  return { ok: true, relied };
}
