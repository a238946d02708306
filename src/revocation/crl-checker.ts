import type { Failure } from '../core/path-builder.js';
import { describe } from '../core/path-builder.js';
import { KEY_USAGE, type ParsedCertificate } from '../x509/certificate.js';
import type { ParsedCrl } from './crl.js';

export type RevocationStatus =
  | { status: 'good'; crl: ParsedCrl }
  | { status: 'unchecked' }
  | { status: 'revoked' | 'unknown'; failure: Failure };

export interface CrlCheckContext {
  at: number;
  clockToleranceMs: number;
  /** Memoised: does `issuer`'s key verify this CRL's signature? */
  crlSignedBy(crl: ParsedCrl, issuer: ParsedCertificate): boolean;
}

function newer(a: ParsedCrl, b: ParsedCrl): boolean {
  if (a.crlNumber !== undefined && b.crlNumber !== undefined && a.crlNumber !== b.crlNumber) return a.crlNumber > b.crlNumber;
  return a.thisUpdate.getTime() > b.thisUpdate.getTime();
}

/** Configured CRLs indexed by issuer name; decides one certificate's status against its issuer. */
export class CrlChecker {
  private readonly byIssuer = new Map<string, ParsedCrl[]>();

  constructor(crls: readonly ParsedCrl[]) {
    for (const crl of crls) {
      const list = this.byIssuer.get(crl.issuerKey);
      if (list) list.push(crl);
      else this.byIssuer.set(crl.issuerKey, [crl]);
    }
  }

  /** Why `crl` cannot vouch for `cert` issued by `issuer`, or undefined when it can. */
  private unusable(crl: ParsedCrl, cert: ParsedCertificate, issuer: ParsedCertificate, isCa: boolean, ctx: CrlCheckContext): string | undefined {
    // RFC 5280 section 5.2.1: a CRL whose AKI names another key was signed by another key of this CA.
    if (crl.authorityKeyId && issuer.subjectKeyId && crl.authorityKeyId !== issuer.subjectKeyId) return 'it was issued under a different key of this CA';
    if (crl.unusableBecause) return crl.unusableBecause;
    // RFC 5280 section 5.2.5: a CRL scoped to user (CA) certificates says nothing about CA (user) ones.
    if (crl.scope.onlyUserCerts && isCa) return 'it covers end-entity certificates only';
    if (crl.scope.onlyCaCerts && !isCa) return 'it covers CA certificates only';
    // RFC 5280 section 6.3.3 (f): the CRL issuer needs cRLSign where keyUsage is present.
    if (issuer.keyUsage !== undefined && (issuer.keyUsage & KEY_USAGE.cRLSign) === 0) return 'its issuer lacks the cRLSign key usage';
    if (!crl.signatureAlgorithmsMatch) return 'its two signature algorithm fields differ';
    if (!ctx.crlSignedBy(crl, issuer)) return `its signature does not verify with the key of ${describe(issuer)}`;
    if (crl.thisUpdate.getTime() > ctx.at + ctx.clockToleranceMs) return `it is not yet valid (thisUpdate ${crl.thisUpdate.toISOString()})`;
    // RFC 5280 section 6.3.3 (a)(2): a CRL past nextUpdate is stale; one without nextUpdate never current.
    if (!crl.nextUpdate) return 'it has no nextUpdate';
    if (ctx.at >= crl.nextUpdate.getTime()) return `it is stale (nextUpdate ${crl.nextUpdate.toISOString()})`;
    void cert;
    return undefined;
  }

  check(cert: ParsedCertificate, issuer: ParsedCertificate, isCa: boolean, ctx: CrlCheckContext): RevocationStatus {
    const candidates = this.byIssuer.get(cert.issuerKey);
    if (!candidates) return { status: 'unchecked' };
    let chosen: ParsedCrl | undefined;
    const reasons: string[] = [];
    for (const crl of candidates) {
      const why = this.unusable(crl, cert, issuer, isCa, ctx);
      if (why) reasons.push(why);
      else if (!chosen || newer(crl, chosen)) chosen = crl;
    }
    if (!chosen) {
      // Fail closed: a CRL is configured for this issuer, so "no usable CRL" is not "not revoked".
      return {
        status: 'unknown',
        failure: { code: 'REVOCATION_UNKNOWN', detail: `revocation status of ${describe(cert)} is unknown: no usable CRL from "${cert.issuerDN}" (${[...new Set(reasons)].join('; ')})` },
      };
    }
    if (chosen.revoked.has(cert.serialNumber)) {
      return { status: 'revoked', failure: { code: 'CERT_REVOKED', detail: `${describe(cert)} is revoked by the CRL of "${chosen.issuerDN}"` } };
    }
    return { status: 'good', crl: chosen };
  }
}
