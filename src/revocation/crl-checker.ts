import { describe, type Failure, type Reliance } from '../model/verdict.js';
import { KEY_USAGE, type ParsedCertificate } from '../x509/certificate.js';
import type { ParsedCrl } from './crl.js';

export type RevocationStatus =
  | { status: 'good'; relied: Reliance }
  | { status: 'unchecked' }
  | { status: 'revoked' | 'unknown'; failure: Failure };

export interface CrlCheckContext {
  at: number;
  clockToleranceMs: number;
  /** How long after nextUpdate a CRL is still used when no newer one has arrived (ms). */
  gracePeriodMs: number;
  /** Memoised: does `signer`'s key verify this CRL's signature? */
  crlSignedBy(crl: ParsedCrl, signer: ParsedCertificate): boolean;
  /** Certificates other than the path's issuer that carry the CRL issuer's name. */
  signerCandidates(crl: ParsedCrl): readonly ParsedCertificate[];
  /**
   * RFC 5280 section 6.3.3 (f): a CRL signed with another key of the same CA is usable only if
   * that key's certificate has a valid path of its own (revocation included). Undefined = valid.
   */
  validateSigner(signer: ParsedCertificate): { ok: true; path: ParsedCertificate[]; relied: Reliance } | { ok: false; failure: Failure };
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

  /** Why `crl` says nothing about `cert`, whoever signed it; undefined when it applies. */
  private outOfScope(crl: ParsedCrl, cert: ParsedCertificate, isCa: boolean, ctx: CrlCheckContext): string | undefined {
    if (crl.unusableBecause) return crl.unusableBecause;
    // RFC 5280 section 6.3.3 (b)(2)(i): a CRL partitioned to a distribution point covers only
    // certificates whose CRL distribution points name it.
    const dp = crl.scope.distributionPoint;
    if (dp && !cert.crlDistributionPoints?.some((name) => dp.includes(name))) return 'it covers another distribution point';
    // RFC 5280 section 5.2.5: a CRL scoped to user (CA) certificates says nothing about CA (user) ones.
    if (crl.scope.onlyUserCerts && isCa) return 'it covers end-entity certificates only';
    if (crl.scope.onlyCaCerts && !isCa) return 'it covers CA certificates only';
    if (!crl.signatureAlgorithmsMatch) return 'its two signature algorithm fields differ';
    if (crl.thisUpdate.getTime() > ctx.at + ctx.clockToleranceMs) return `it is not yet valid (thisUpdate ${crl.thisUpdate.toISOString()})`;
    // RFC 5280 section 6.3.3 (a)(2): a CRL past nextUpdate is stale; one without nextUpdate never current.
    if (!crl.nextUpdate) return 'it has no nextUpdate';
    if (ctx.at >= crl.nextUpdate.getTime() + ctx.gracePeriodMs) return `it is stale (nextUpdate ${crl.nextUpdate.toISOString()})`;
    return undefined;
  }

  /** Why `signer` cannot vouch for `crl`; undefined when its key signed it and may sign CRLs. */
  private signerProblem(crl: ParsedCrl, signer: ParsedCertificate, ctx: CrlCheckContext): string | undefined {
    // RFC 5280 section 5.2.1: a CRL whose AKI names another key was signed by another key.
    if (crl.authorityKeyId && signer.subjectKeyId && crl.authorityKeyId !== signer.subjectKeyId) return `it names another key than that of ${describe(signer)}`;
    // RFC 5280 section 6.3.3 (f): the CRL signer needs cRLSign where keyUsage is present.
    if (signer.keyUsage !== undefined && (signer.keyUsage & KEY_USAGE.cRLSign) === 0) return `${describe(signer)} lacks the cRLSign key usage`;
    if (!ctx.crlSignedBy(crl, signer)) return `its signature does not verify with the key of ${describe(signer)}`;
    return undefined;
  }

  /** The path's issuer if it signed the CRL, else another validated certificate of the same CA. */
  /**
   * What a CRL's signature rests on: nothing more when the path's issuer signed it, else another
   * validated certificate of the same CA, whose path and CRLs the verdict then also relies on.
   */
  private findSigner(crl: ParsedCrl, issuer: ParsedCertificate, anchor: ParsedCertificate, ctx: CrlCheckContext, reasons: string[]): Reliance | undefined {
    const direct = this.signerProblem(crl, issuer, ctx);
    if (!direct) return { crls: [crl], certificates: [] };
    for (const other of ctx.signerCandidates(crl)) {
      if (other.id === issuer.id || this.signerProblem(crl, other, ctx)) continue;
      const signer = ctx.validateSigner(other);
      // RFC 5280 section 6.3.3 (f): the CRL signer's path must end at the same trust anchor as the
      // certificate's; another CA that merely shares the issuer's name does not speak for it.
      if (signer.ok && signer.path[signer.path.length - 1]?.id !== anchor.id) {
        reasons.push(`its signer ${describe(other)} chains to another trust anchor`);
        continue;
      }
      if (signer.ok) return { crls: [crl, ...signer.relied.crls], certificates: [...signer.path, ...signer.relied.certificates] };
      reasons.push(`its signer ${describe(other)} is not valid (${signer.failure.code}: ${signer.failure.detail})`);
    }
    reasons.push(direct);
    return undefined;
  }

  /** `anchor` ends the path being validated: a separate CRL signer must chain to it too. */
  check(cert: ParsedCertificate, issuer: ParsedCertificate, anchor: ParsedCertificate, isCa: boolean, ctx: CrlCheckContext): RevocationStatus {
    const candidates = this.byIssuer.get(cert.issuerKey);
    if (!candidates) return { status: 'unchecked' };
    let chosen: ParsedCrl | undefined;
    let relied: Reliance | undefined;
    const reasons: string[] = [];
    for (const crl of candidates) {
      const why = this.outOfScope(crl, cert, isCa, ctx);
      if (why) {
        reasons.push(why);
        continue;
      }
      if (chosen && !newer(crl, chosen)) continue;
      const found = this.findSigner(crl, issuer, anchor, ctx, reasons);
      if (found) {
        chosen = crl;
        relied = found;
      }
    }
    if (!chosen || !relied) {
      // Fail closed: a CRL is configured for this issuer, so "no usable CRL" is not "not revoked".
      return {
        status: 'unknown',
        failure: { code: 'REVOCATION_UNKNOWN', detail: `revocation status of ${describe(cert)} is unknown: no usable CRL from "${cert.issuerDN}" (${[...new Set(reasons)].join('; ')})` },
      };
    }
    if (chosen.revoked.has(cert.serial)) {
      return { status: 'revoked', failure: { code: 'CERT_REVOKED', detail: `${describe(cert)} is revoked by the CRL of "${chosen.issuerDN}"` } };
    }
    return { status: 'good', relied };
  }
}
