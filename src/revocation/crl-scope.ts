import type { ParsedCertificate } from '../x509/certificate.js';
import { ALL_REASONS, type DistributionPoint } from '../x509/distribution-points.js';
import type { ParsedCrl } from './crl.js';
import type { EntryStatus } from './crl-entries.js';

/**
 * Which CRLs speak for which certificate, per RFC 5280 section 6.3.3: a certificate's distribution
 * points (their names, reasons and CRL issuers) against a CRL's issuer and issuing distribution
 * point, and what an entry says about the certificate (section 5.3.3 for indirect CRLs).
 */

/**
 * RFC 5280 section 6.3.3: after the certificate's distribution points, "any available CRLs not
 * specified in a distribution point but issued by the certificate issuer" (every reason).
 */
const ISSUER_POINT: DistributionPoint = Object.freeze({});

/** The points whose CRLs are looked for, in order: the certificate's, then its issuer's own. */
export function pointsOf(cert: ParsedCertificate): readonly DistributionPoint[] {
  return cert.distributionPoints ? [...cert.distributionPoints, ISSUER_POINT] : [ISSUER_POINT];
}

/** The names of the entities whose CRLs may decide `cert`'s status (canonicalNameKey form). */
export function crlIssuersOf(points: readonly DistributionPoint[], cert: ParsedCertificate): Set<string> {
  const keys = new Set([cert.issuerKey]);
  for (const p of points) for (const k of p.crlIssuers ?? []) keys.add(k);
  return keys;
}

/** RFC 5280 section 6.3.3 (b)(1) and (b)(2)(i): why `crl` is not a CRL of `point` for `cert`. */
export function pointProblem(crl: ParsedCrl, cert: ParsedCertificate, point: DistributionPoint): string | undefined {
  if (point.crlIssuers) {
    // (b)(1): a point naming a CRL issuer is served by that issuer's indirect CRL only.
    if (!point.crlIssuers.includes(crl.issuerKey)) return 'its issuer is not the CRL issuer the certificate names';
    if (!crl.scope.indirect) return 'the certificate names its issuer as CRL issuer, but it is not an indirect CRL';
  } else if (crl.issuerKey !== cert.issuerKey) {
    return 'it is issued by another CA than the certificate';
  }
  // (b)(2)(i): a CRL partitioned to a distribution point covers the certificates that name it,
  // by the point's name or, where the point gives none, by its CRL issuer's name.
  const covered = crl.scope.distributionPoint;
  if (covered) {
    const names = point.names ?? point.crlIssuers?.map((k) => `dn:${k}`);
    if (!names?.some((n) => covered.includes(n))) return 'it covers another distribution point';
  }
  return undefined;
}

/** RFC 5280 section 6.3.3 (d): the reasons `crl` decides for `point` (interim_reasons_mask). */
export function reasonsCovered(crl: ParsedCrl, point: DistributionPoint): number {
  return (crl.scope.onlySomeReasons ?? ALL_REASONS) & (point.reasons ?? ALL_REASONS);
}

/**
 * What `crl` lists for `cert`: RFC 5280 section 5.3.3 (an indirect CRL's entries name their
 * certificate issuer); undefined when it lists nothing.
 */
export function entryFor(crl: ParsedCrl, cert: ParsedCertificate): EntryStatus | undefined {
  if (cert.issuerKey === crl.issuerKey) {
    if (crl.revoked.has(cert.serial)) return 'revoked';
    return crl.notes?.removed.has(cert.serialKey) ? 'removed' : undefined;
  }
  // Only an indirect CRL lists other issuers' certificates (the decoder refuses the rest).
  return crl.scope.indirect ? crl.notes?.others.get(cert.issuerKey)?.get(cert.serialKey) : undefined;
}

/**
 * RFC 5280 sections 5.2.4 and 6.3.3 (c): whether `delta` brings `complete` up to date: same
 * issuer, key and scope, a base no newer than the complete CRL, and itself newer.
 */
export function deltaOf(delta: ParsedCrl, complete: ParsedCrl): boolean {
  const base = delta.deltaBase;
  if (base === undefined || complete.crlNumber === undefined || delta.crlNumber === undefined) return false;
  return (
    delta.issuerKey === complete.issuerKey &&
    delta.authorityKeyId === complete.authorityKeyId &&
    sameScope(delta, complete) &&
    base <= complete.crlNumber &&
    delta.crlNumber > complete.crlNumber
  );
}

function sameScope(a: ParsedCrl, b: ParsedCrl): boolean {
  const x = a.scope;
  const y = b.scope;
  return (
    x.onlyUserCerts === y.onlyUserCerts &&
    x.onlyCaCerts === y.onlyCaCerts &&
    x.onlySomeReasons === y.onlySomeReasons &&
    (x.indirect ?? false) === (y.indirect ?? false) &&
    JSON.stringify(x.distributionPoint ?? null) === JSON.stringify(y.distributionPoint ?? null)
  );
}
