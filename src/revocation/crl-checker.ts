import { describe, type Failure, type Reliance } from '../model/verdict.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import type { ParsedCrl } from './crl.js';
import {
  applicabilityProblem,
  isNewer,
  signerProblem,
  slotKey,
  type CrlSignatureOracle,
  type CrlTimeRules,
} from './crl-usability.js';

/** A CRL signature not checked yet because it is large: checked off the request path, then decided again. */
export interface SignatureToCheck {
  crl: ParsedCrl;
  signer: ParsedCertificate;
}

export type RevocationStatus =
  | { status: 'good'; relied: Reliance }
  | { status: 'unchecked' }
  | { status: 'revoked' | 'unknown'; failure: Failure }
  | { status: 'verifying'; failure: Failure; checks: SignatureToCheck[] };

export type SignerValidation =
  | { ok: true; path: ParsedCertificate[]; relied: Reliance }
  | { ok: false; failure: Failure };

/** What the checker needs from a verification; the time rules are those of crl-usability.ts. */
export interface CrlCheckContext extends CrlTimeRules {
  /** The instant the status is decided for (epoch ms). */
  at: number;
  /**
   * Memoised: does `signer`'s key verify this CRL's signature? (The oracle of crl-usability.ts.)
   * Undefined when not known yet and too large to check on the request path.
   */
  crlSignedBy(crl: ParsedCrl, signer: ParsedCertificate): boolean | undefined;
  /** Certificates other than the path's issuer that carry the CRL issuer's name. */
  signerCandidates(crl: ParsedCrl): readonly ParsedCertificate[];
  /**
   * RFC 5280 section 6.3.3 (f): a CRL signed with another key of the same CA is usable only if
   * that key's certificate has a valid path of its own (revocation included).
   */
  validateSigner(signer: ParsedCertificate): SignerValidation;
}

/** What findSigner found: who vouches for the CRL, or that a signature must be checked first. */
type SignerFinding = Reliance | { verifying: SignatureToCheck } | undefined;

/** Configured CRLs indexed by issuer name; decides one certificate's status against its issuer. */
export class CrlChecker {
  private readonly byIssuer = new Map<string, ParsedCrl[]>();

  /** `origins`: where each CRL (by id) was loaded from, named in refusal details. */
  constructor(
    crls: readonly ParsedCrl[],
    private readonly origins: ReadonlyMap<string, string> = new Map(),
  ) {
    for (const crl of crls) {
      const list = this.byIssuer.get(crl.issuerKey);
      if (list) list.push(crl);
      else this.byIssuer.set(crl.issuerKey, [crl]);
    }
  }

  /**
   * What a CRL's signature rests on: nothing more when the path's issuer signed it, else another
   * validated certificate of the same CA, whose path and CRLs the verdict then also relies on.
   */
  private findSigner(
    crl: ParsedCrl,
    issuer: ParsedCertificate,
    anchor: ParsedCertificate,
    ctx: CrlCheckContext,
    reasons: string[],
  ): SignerFinding {
    const unknownYet: SignatureToCheck[] = [];
    const verifies: CrlSignatureOracle = (c, signer) => {
      const known = ctx.crlSignedBy(c, signer);
      if (known === undefined) unknownYet.push({ crl: c, signer });
      return known === true;
    };
    const direct = signerProblem(crl, issuer, verifies);
    if (!direct) return { crls: [crl], certificates: [] };
    const first = unknownYet[0];
    if (first) return { verifying: first };
    for (const other of ctx.signerCandidates(crl)) {
      if (other.id === issuer.id || signerProblem(crl, other, verifies)) continue;
      const signer = ctx.validateSigner(other);
      // RFC 5280 section 6.3.3 (f): the CRL signer's path must end at the same trust anchor as the
      // certificate's; another CA that merely shares the issuer's name does not speak for it.
      if (signer.ok && signer.path[signer.path.length - 1]?.id !== anchor.id) {
        reasons.push(`its signer ${describe(other)} chains to another trust anchor`);
        continue;
      }
      if (signer.ok) {
        return { crls: [crl, ...signer.relied.crls], certificates: [...signer.path, ...signer.relied.certificates] };
      }
      reasons.push(`its signer ${describe(other)} is not valid (${signer.failure.code}: ${signer.failure.detail})`);
    }
    const later = unknownYet[0];
    if (later) return { verifying: later };
    reasons.push(direct);
    return undefined;
  }

  /** A CRL as refusal details name it: where it was loaded from, when known, and its number. */
  private label(crl: ParsedCrl): string {
    const origin = this.origins.get(crl.id);
    const number = crl.crlNumber === undefined ? '' : ` (CRL number ${crl.crlNumber})`;
    return origin ? `the CRL loaded from ${origin}${number}` : `the configured CRL${number}`;
  }

  /** `anchor` ends the path being validated: a separate CRL signer must chain to it too. */
  check(
    cert: ParsedCertificate,
    issuer: ParsedCertificate,
    anchor: ParsedCertificate,
    isCa: boolean,
    ctx: CrlCheckContext,
  ): RevocationStatus {
    const candidates = this.byIssuer.get(cert.issuerKey);
    if (!candidates) return { status: 'unchecked' };
    // RFC 5280 sections 5.2.3 and 5.2.5: CRL numbers order the CRLs of one scope only (a partition
    // CRL and the full CRL are numbered apart), so the newest usable CRL is chosen per scope, and
    // the certificate is revoked if any of them lists it.
    const newest = new Map<string, { crl: ParsedCrl; relied: Reliance }>();
    const reasons: string[] = [];
    const checks: SignatureToCheck[] = [];
    for (const crl of candidates) {
      const why = applicabilityProblem(crl, cert, isCa, ctx.at, ctx);
      if (why) {
        reasons.push(`${this.label(crl)}: ${why}`);
        continue;
      }
      const slot = slotKey(crl);
      const chosen = newest.get(slot);
      if (chosen && !isNewer(crl, chosen.crl)) continue;
      const problems: string[] = [];
      const found = this.findSigner(crl, issuer, anchor, ctx, problems);
      reasons.push(...problems.map((p) => `${this.label(crl)}: ${p}`));
      if (found && 'verifying' in found) checks.push(found.verifying);
      else if (found) newest.set(slot, { crl, relied: found });
    }
    if (checks.length > 0) {
      // A CRL that may be the newest of its slot is being checked: no verdict rests on an older one.
      const detail = `revocation status of ${describe(cert)} is unknown: the signature of a large CRL is being checked`;
      return { status: 'verifying', failure: { code: 'REVOCATION_UNKNOWN', detail }, checks };
    }
    if (newest.size === 0) {
      // Fail closed: a CRL is configured for this issuer, so "no usable CRL" is not "not revoked".
      const why = summary([...new Set(reasons)]);
      const reason = `no usable CRL from "${cert.issuerDN}" (${why})`;
      const detail = `revocation status of ${describe(cert)} is unknown: ${reason}`;
      return { status: 'unknown', failure: { code: 'REVOCATION_UNKNOWN', detail } };
    }
    const relied: Reliance = { crls: [], certificates: [] };
    for (const { crl, relied: r } of newest.values()) {
      if (crl.revoked.has(cert.serial)) {
        const detail = `${describe(cert)} is revoked by the CRL of "${crl.issuerDN}"`;
        return { status: 'revoked', failure: { code: 'CERT_REVOKED', detail } };
      }
      relied.crls.push(...r.crls);
      relied.certificates.push(...r.certificates);
    }
    return { status: 'good', relied };
  }
}

/** Reasons in a detail, at most {@link MAX_REASONS_SHOWN} of them: a detail stays a line, not a list of every CRL. */
function summary(reasons: readonly string[]): string {
  const shown = reasons.slice(0, MAX_REASONS_SHOWN).join('; ');
  return reasons.length > MAX_REASONS_SHOWN ? `${shown}; and ${reasons.length - MAX_REASONS_SHOWN} more` : shown;
}

const MAX_REASONS_SHOWN = 5;
