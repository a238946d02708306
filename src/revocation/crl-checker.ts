import { describe, type Failure, type Reliance } from '../model/verdict.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import type { ParsedCrl } from './crl.js';
import { ALL_REASONS, type DistributionPoint } from '../x509/distribution-points.js';
import { crlIssuersOf, deltaOf, entryFor, pointProblem, pointsOf, reasonsCovered } from './crl-scope.js';
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
type SignerFinding = Signed | { verifying: SignatureToCheck } | undefined;

/** Who signed a CRL (`key`: the certificate whose key verified it) and what that rests on. */
interface Signed {
  relied: Reliance;
  key: ParsedCertificate;
}

/** A complete CRL chosen for a distribution point, with what its signature rests on. */
interface Chosen extends Signed {
  crl: ParsedCrl;
}

/** One status decision's work: what was chosen, why others were not, signatures still to check. */
interface Decision {
  reasons: string[];
  checks: SignatureToCheck[];
  /** Per CRL: why it is unusable for the certificate whatever the point, or its signer. */
  judged: Map<ParsedCrl, { why: string } | { signer: SignerFinding }>;
}

/**
 * Configured CRLs indexed by issuer name; decides one certificate's status by RFC 5280 section
 * 6.3.3: the certificate's distribution points in turn (then its issuer's CRLs), each served by the
 * newest usable complete CRL per scope, brought up to date by a delta CRL, until the CRLs used
 * cover every reason (reasons_mask).
 */
export class CrlChecker {
  private readonly complete = new Map<string, ParsedCrl[]>();
  private readonly deltas = new Map<string, ParsedCrl[]>();

  /** `origins`: where each CRL (by id) was loaded from, named in refusal details. */
  constructor(
    crls: readonly ParsedCrl[],
    private readonly origins: ReadonlyMap<string, string> = new Map(),
  ) {
    for (const crl of crls) {
      const byIssuer = crl.deltaBase === undefined ? this.complete : this.deltas;
      const list = byIssuer.get(crl.issuerKey);
      if (list) list.push(crl);
      else byIssuer.set(crl.issuerKey, [crl]);
    }
  }

  /**
   * What a CRL's signature rests on: nothing more when the path's issuer signed it, else another
   * validated certificate with the CRL issuer's name (another key of the same CA, or an indirect
   * CRL's issuer), whose path and CRLs the verdict then also relies on.
   */
  private findSigner(crl: ParsedCrl, cert: ParsedCertificate, chain: Chain, reasons: string[]): SignerFinding {
    const { issuer, anchor, ctx } = chain;
    const unknownYet: SignatureToCheck[] = [];
    const verifies = oracle(ctx, unknownYet);
    // The path's issuer signs its own CRLs; an indirect CRL of another entity is not its to sign.
    const direct = crl.issuerKey === issuer.subjectKey ? signerProblem(crl, issuer, verifies) : 'another CA signs it';
    if (!direct) return { relied: { crls: [crl], certificates: [] }, key: issuer };
    const first = unknownYet[0];
    if (first) return { verifying: first };
    for (const other of ctx.signerCandidates(crl)) {
      if (other.id === issuer.id || signerProblem(crl, other, verifies)) continue;
      // The CRL issuer's own certificate, covered by the CRL it signs (an indirect CRL issuer whose
      // distribution point is its own CRL: PKITS 4.14.30). RFC 5280 6.3.3 (f) validates the signer's
      // path, whose revocation check (6.1.3 (a)(3)) is this same CRL: the recursion ends here, with
      // the signature verified and the rest of this certificate's path validated by the caller.
      // Only for an indirect CRL: a CA's own CRLs never vouch for the certificate of the key they use.
      if (other.id === cert.id && crl.scope.indirect) return { relied: { crls: [crl], certificates: [] }, key: other };
      const signer = ctx.validateSigner(other);
      // RFC 5280 section 6.3.3 (f): the CRL signer's path must end at the same trust anchor as the
      // certificate's; another CA that merely shares the issuer's name does not speak for it.
      if (signer.ok && signer.path[signer.path.length - 1]?.id !== anchor.id) {
        reasons.push(`its signer ${describe(other)} chains to another trust anchor`);
        continue;
      }
      if (signer.ok) {
        const certificates = [...signer.path, ...signer.relied.certificates];
        return { relied: { crls: [crl, ...signer.relied.crls], certificates }, key: other };
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
    const kind = crl.deltaBase === undefined ? 'CRL' : 'delta CRL';
    return origin ? `the ${kind} loaded from ${origin}${number}` : `the configured ${kind}${number}`;
  }

  /** Why `crl` cannot speak for `cert` whatever the point, or who vouches for its signature (memoised). */
  private judge(crl: ParsedCrl, cert: ParsedCertificate, chain: Chain, d: Decision) {
    let judged = d.judged.get(crl);
    if (!judged) {
      const why = applicabilityProblem(crl, cert, chain.isCa, chain.ctx.at, chain.ctx);
      if (why) judged = { why };
      else {
        const problems: string[] = [];
        judged = { signer: this.findSigner(crl, cert, chain, problems) };
        d.reasons.push(...problems.map((p) => `${this.label(crl)}: ${p}`));
      }
      d.judged.set(crl, judged);
      if ('why' in judged) d.reasons.push(`${this.label(crl)}: ${judged.why}`);
    }
    return judged;
  }

  /** The newest usable complete CRL per scope that serves `point` for `cert` (RFC 5280 6.3.3 (a), (b), (f), (g)). */
  private choose(cert: ParsedCertificate, point: DistributionPoint, chain: Chain, d: Decision): Chosen[] {
    const newest = new Map<string, Chosen>();
    for (const key of crlIssuersOf([point], cert)) {
      for (const crl of this.complete.get(key) ?? []) {
        const off = pointProblem(crl, cert, point);
        if (off) {
          d.reasons.push(`${this.label(crl)}: ${off}`);
          continue;
        }
        const slot = slotKey(crl);
        const chosen = newest.get(slot);
        if (chosen && !isNewer(crl, chosen.crl)) continue;
        const judged = this.judge(crl, cert, chain, d);
        if ('why' in judged || !judged.signer) continue;
        if ('verifying' in judged.signer) d.checks.push(judged.signer.verifying);
        else newest.set(slot, { crl, ...judged.signer });
      }
    }
    return [...newest.values()];
  }

  /**
   * RFC 5280 section 6.3.3 (c), (h), (i): the newest usable delta CRL that brings `chosen` up to
   * date, verified with the key that verified `chosen` (6.3.3 (h)); undefined when there is none;
   * 'unusable' when deltas exist but none is usable (a stale delta leaves the changes since the
   * complete CRL unknown).
   */
  private delta(
    chosen: Chosen,
    cert: ParsedCertificate,
    chain: Chain,
    d: Decision,
  ): ParsedCrl | 'unusable' | undefined {
    const deltas = (this.deltas.get(chosen.crl.issuerKey) ?? []).filter((x) => deltaOf(x, chosen.crl));
    if (deltas.length === 0) return undefined;
    const { ctx } = chain;
    let best: ParsedCrl | undefined;
    for (const delta of deltas) {
      if (best && !isNewer(delta, best)) continue;
      const pending: SignatureToCheck[] = [];
      const why =
        applicabilityProblem(delta, cert, chain.isCa, ctx.at, ctx) ??
        signerProblem(delta, chosen.key, oracle(ctx, pending));
      if (pending.length > 0) d.checks.push(...pending);
      else if (why) d.reasons.push(`${this.label(delta)}: ${why}`);
      else best = delta;
    }
    return best ?? 'unusable';
  }

  /** `anchor` ends the path being validated: a separate CRL signer must chain to it too. */
  check(
    cert: ParsedCertificate,
    issuer: ParsedCertificate,
    anchor: ParsedCertificate,
    isCa: boolean,
    ctx: CrlCheckContext,
  ): RevocationStatus {
    const points = pointsOf(cert);
    const issuers = [...crlIssuersOf(points, cert)];
    if (!issuers.some((k) => this.complete.has(k) || this.deltas.has(k))) return { status: 'unchecked' };
    const chain: Chain = { issuer, anchor, isCa, ctx };
    const d: Decision = { reasons: [], checks: [], judged: new Map() };
    const relied: Reliance = { crls: [], certificates: [] };
    let covered = 0;
    // RFC 5280 section 6.3.3 stops once the reasons are covered, and (e) skips a CRL that adds no
    // reason; certgate reads every usable CRL that serves the certificate, its issuer's own
    // included: a listing on any of them is a revocation (an indirect CRL issuer's clean CRL must
    // not hide a revocation by the certificate's issuer).
    for (const point of points) {
      for (const chosen of this.choose(cert, point, chain, d)) {
        const delta = this.delta(chosen, cert, chain, d);
        const entry = (delta && delta !== 'unusable' ? entryFor(delta, cert) : undefined) ?? entryFor(chosen.crl, cert);
        if (entry === 'revoked') {
          const by = delta && delta !== 'unusable' && entryFor(delta, cert) ? 'delta CRL' : 'CRL';
          const detail = `${describe(cert)} is revoked by the ${by} of "${chosen.crl.issuerDN}"`;
          return { status: 'revoked', failure: { code: 'CERT_REVOKED', detail } };
        }
        if (delta === 'unusable') {
          d.reasons.push(`${this.label(chosen.crl)}: no usable delta CRL brings it up to date`);
          continue;
        }
        covered |= reasonsCovered(chosen.crl, point);
        relied.crls.push(...chosen.relied.crls, ...(delta ? [delta] : []));
        relied.certificates.push(...chosen.relied.certificates);
      }
    }
    // A configured CRL of these issuers not loaded yet (or found malformed) may be a delta or
    // a partition that lists the certificate: nothing is known to be good until it is read.
    const loading = issuers.flatMap((k) => this.complete.get(k) ?? []).find((c) => c.placeholder);
    if (loading && covered === ALL_REASONS) d.reasons.push(`${this.label(loading)}: ${loading.unusableBecause}`);
    return this.verdict(cert, loading ? 0 : covered, relied, d);
  }

  private verdict(cert: ParsedCertificate, covered: number, relied: Reliance, d: Decision): RevocationStatus {
    if (d.checks.length > 0) {
      // A CRL that may be the newest of its slot is being checked: no verdict rests on an older one.
      const detail = `revocation status of ${describe(cert)} is unknown: the signature of a large CRL is being checked`;
      return { status: 'verifying', failure: { code: 'REVOCATION_UNKNOWN', detail }, checks: d.checks };
    }
    if (covered !== ALL_REASONS) {
      // Fail closed: a CRL is configured for this issuer, so "no usable CRL" is not "not revoked".
      const some = covered === 0 ? '' : 'the usable CRLs cover only some revocation reasons; ';
      const why = summary([...new Set(d.reasons)]);
      const reason = `no usable CRL from "${cert.issuerDN}" (${some}${why})`;
      const detail = `revocation status of ${describe(cert)} is unknown: ${reason}`;
      return { status: 'unknown', failure: { code: 'REVOCATION_UNKNOWN', detail } };
    }
    return { status: 'good', relied };
  }
}

/**
 * The memoised signature oracle of `ctx` as crl-usability.ts asks it: a signature not known yet
 * (a large CRL's, checked off the request path) counts as failing, and is listed in `unknownYet`.
 */
function oracle(ctx: CrlCheckContext, unknownYet: SignatureToCheck[]): CrlSignatureOracle {
  return (crl, signer) => {
    const known = ctx.crlSignedBy(crl, signer);
    if (known === undefined) unknownYet.push({ crl, signer });
    return known === true;
  };
}

/** The path position a status is decided for. */
interface Chain {
  issuer: ParsedCertificate;
  anchor: ParsedCertificate;
  isCa: boolean;
  ctx: CrlCheckContext;
}

/** Reasons in a detail, at most {@link MAX_REASONS_SHOWN} of them: a detail stays a line, not a list of every CRL. */
function summary(reasons: readonly string[]): string {
  const shown = reasons.slice(0, MAX_REASONS_SHOWN).join('; ');
  return reasons.length > MAX_REASONS_SHOWN ? `${shown}; and ${reasons.length - MAX_REASONS_SHOWN} more` : shown;
}

const MAX_REASONS_SHOWN = 5;
