import { describe } from '../model/verdict.js';
import { beforeStart, floorToSecond, reached } from '../time/window.js';
import { KEY_USAGE, type ParsedCertificate } from '../x509/certificate.js';
import type { ParsedCrl } from './crl.js';

/**
 * When a CRL may decide a certificate's status, in one place: the checker (per verification), the
 * store (before a downloaded CRL may replace one in use) and `certgate crl` all ask here, so the
 * server and the operator tool cannot disagree. Each rule returns why the CRL is unusable (operator
 * text) or undefined when the rule is met.
 */

/** How lenient the time rules are. */
export interface CrlTimeRules {
  /** Allowed clock skew against thisUpdate (ms). */
  clockToleranceMs: number;
  /** How long after nextUpdate a CRL is still used when no newer one has arrived (ms). */
  gracePeriodMs: number;
}

/** Does `signer`'s key verify `crl`'s signature? (Memoised by the caller; the store's is sliced.) */
export type CrlSignatureOracle = (crl: ParsedCrl, signer: ParsedCertificate) => boolean;
export type AsyncCrlSignatureOracle = (crl: ParsedCrl, signer: ParsedCertificate) => Promise<boolean>;

/** Why `crl` can decide nothing at all, whatever it is asked about and whoever signed it. */
export function unusableReason(crl: ParsedCrl): string | undefined {
  // Decoding records what certgate does not support: attribute certificate CRLs (RFC 5280 section
  // 5.2.5), unknown critical extensions (5.2), a critical CRL Number (5.2.3), a certificateIssuer
  // entry outside an indirect CRL (5.3.3).
  if (crl.unusableBecause) return crl.unusableBecause;
  // RFC 5280 section 5.1.1.2: signatureAlgorithm MUST equal the signature field inside tbsCertList.
  if (!crl.signatureAlgorithmsMatch) return 'its two signature algorithm fields differ';
  // RFC 5280 section 5.2.3: conforming CRL issuers MUST include the CRL number, and without it
  // there is no telling a newer CRL from a replayed older one (see isNewer).
  if (crl.crlNumber === undefined) return 'it has no CRL number';
  return undefined;
}

export type CrlFreshness = 'current' | 'not yet valid' | 'no nextUpdate' | 'stale';

/**
 * A CRL's freshness at `at`, with one-second granularity (src/time/window.ts).
 * - RFC 5280 section 5.1.2.4: a CRL issued after `at` (beyond the tolerance) is not yet valid.
 * - RFC 5280 section 5.1.2.5: nextUpdate is when the next CRL is due; conforming issuers MUST set
 *   it, and a CRL without it can never be shown current.
 * - RFC 5280 section 6.3.3 (a): once nextUpdate (plus the grace period) is reached, this CRL is
 *   stale and a newer one is needed to decide.
 */
export function freshness(crl: ParsedCrl, at: number, rules: CrlTimeRules): CrlFreshness {
  if (beforeStart(crl.thisUpdate.getTime(), at, rules.clockToleranceMs)) return 'not yet valid';
  if (!crl.nextUpdate) return 'no nextUpdate';
  if (reached(crl.nextUpdate.getTime() + rules.gracePeriodMs, at)) return 'stale';
  return 'current';
}

/** {@link freshness} as a reason, undefined when current. */
export function freshnessProblem(crl: ParsedCrl, at: number, rules: CrlTimeRules): string | undefined {
  switch (freshness(crl, at, rules)) {
    case 'current':
      return undefined;
    case 'not yet valid':
      return `it is not yet valid (thisUpdate ${crl.thisUpdate.toISOString()})`;
    case 'no nextUpdate':
      return 'it has no nextUpdate';
    case 'stale':
      return `it is stale (nextUpdate ${crl.nextUpdate?.toISOString()})`;
  }
}

/**
 * Why `crl` says nothing about `cert` (a CA certificate when `isCa`), whoever signed it. Which
 * distribution point it serves is crl-scope.ts's (RFC 5280 section 6.3.3 (b)(1), (b)(2)(i)).
 */
export function scopeProblem(crl: ParsedCrl, _cert: ParsedCertificate, isCa: boolean): string | undefined {
  // RFC 5280 sections 5.2.5 and 6.3.3 (b)(2)(ii)/(iii): a CRL scoped to user (CA) certificates
  // says nothing about CA (user) ones; `isCa` is the certificate's own cA flag, not its position.
  if (crl.scope.onlyUserCerts && isCa) return 'it covers end-entity certificates only';
  if (crl.scope.onlyCaCerts && !isCa) return 'it covers CA certificates only';
  return undefined;
}

/**
 * Everything about `crl` and `cert` but the signer: unusable parts, scope, then freshness at `at`.
 * Undefined when the CRL may decide `cert`'s status once a signer is found.
 */
export function applicabilityProblem(
  crl: ParsedCrl,
  cert: ParsedCertificate,
  isCa: boolean,
  at: number,
  rules: CrlTimeRules,
): string | undefined {
  return unusableReason(crl) ?? scopeProblem(crl, cert, isCa) ?? freshnessProblem(crl, at, rules);
}

/** Why `signer` may not sign `crl` whatever the signature says: a key it does not name, no cRLSign. */
export function signerKeyProblem(crl: ParsedCrl, signer: ParsedCertificate): string | undefined {
  // RFC 5280 section 5.2.1: a CRL whose authority key identifier names another key was signed by
  // another key (of a CA that may share this one's name).
  if (crl.authorityKeyId && signer.subjectKeyId && crl.authorityKeyId !== signer.subjectKeyId) {
    return `it names another key than that of ${describe(signer)}`;
  }
  // RFC 5280 sections 4.2.1.3 and 6.3.3 (f): where keyUsage is present, the CRL signer's key
  // must assert cRLSign.
  if (signer.keyUsage !== undefined && (signer.keyUsage & KEY_USAGE.cRLSign) === 0) {
    return `${describe(signer)} lacks the cRLSign key usage`;
  }
  return undefined;
}

function badSignature(signer: ParsedCertificate): string {
  return `its signature does not verify with the key of ${describe(signer)}`;
}

/** Why `signer` cannot vouch for `crl` (RFC 5280 section 6.3.3 (f), (g)); undefined when it can. */
export function signerProblem(
  crl: ParsedCrl,
  signer: ParsedCertificate,
  verifies: CrlSignatureOracle,
): string | undefined {
  // The cheap checks first: the signature is only worth computing for a key allowed to sign.
  const key = signerKeyProblem(crl, signer);
  if (key) return key;
  // RFC 5280 section 6.3.3 (g): the CRL's signature must verify with the signer's public key.
  return verifies(crl, signer) ? undefined : badSignature(signer);
}

/** {@link signerProblem} with an asynchronous oracle (the store verifies large CRLs in slices). */
export async function signerProblemAsync(
  crl: ParsedCrl,
  signer: ParsedCertificate,
  verifies: AsyncCrlSignatureOracle,
): Promise<string | undefined> {
  const key = signerKeyProblem(crl, signer);
  if (key) return key;
  return (await verifies(crl, signer)) ? undefined : badSignature(signer);
}

/**
 * True when `a` supersedes `b`, two CRLs of one slot ({@link sameSlot}): CRL numbers of different
 * scopes are not comparable. RFC 5280 section 5.2.3: the CRL Number increases monotonically,
 * so it decides whenever both CRLs carry different ones; otherwise the later thisUpdate (5.1.2.4)
 * wins, compared by whole seconds as X.509 times are.
 */
export function isNewer(a: ParsedCrl, b: ParsedCrl): boolean {
  if (a.crlNumber !== undefined && b.crlNumber !== undefined && a.crlNumber !== b.crlNumber)
    return a.crlNumber > b.crlNumber;
  return floorToSecond(a.thisUpdate.getTime()) > floorToSecond(b.thisUpdate.getTime());
}

/**
 * Whether two CRLs may replace each other where they are kept: same issuer name, same authority
 * key (RFC 5280 5.2.1), same scope (5.2.5), both complete or both delta CRLs (5.2.4). A CRL of
 * another slot never displaces this one.
 */
export function sameSlot(a: ParsedCrl, b: ParsedCrl): boolean {
  return slotKey(a) === slotKey(b);
}

/** Slot keys, per CRL: a CRL's slot never changes, and every status decision asks for it. */
const slotKeys = new WeakMap<ParsedCrl, string>();

/** The slot of {@link sameSlot} as a string: CRLs with equal keys are ordered by {@link isNewer}, others never. */
export function slotKey(c: ParsedCrl): string {
  let key = slotKeys.get(c);
  if (key === undefined) {
    key = JSON.stringify([
      c.issuerKey,
      c.authorityKeyId ?? '',
      c.scope.onlyUserCerts,
      c.scope.onlyCaCerts,
      c.scope.distributionPoint ?? [],
      c.scope.onlySomeReasons ?? null,
      c.scope.indirect ?? false,
      c.deltaBase === undefined ? 'complete' : 'delta',
    ]);
    slotKeys.set(c, key);
  }
  return key;
}

/** Why `crl` may not replace the CRL in use in its slot: that one is newer ({@link isNewer}). */
export function replaceProblem(crl: ParsedCrl, inUse: readonly ParsedCrl[]): string | undefined {
  const previous = inUse.find((c) => sameSlot(c, crl));
  if (!previous || !isNewer(previous, crl)) return undefined;
  return `older than the CRL in use (CRL number ${crl.crlNumber}, in use ${previous.crlNumber})`;
}
