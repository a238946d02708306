import { MAX_NAME_CONSTRAINT_COMPARISONS } from './name-constraints.js';
import { MAX_POLICY_WORK_PER_VERIFICATION } from './policy-graph.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import {
  describe,
  type Failure,
  type PathResult,
  type CheckedPath,
  type Reliance,
  type SignatureBudget,
  type SignatureCheck,
} from '../model/verdict.js';
import type { CertificatePool } from './pool.js';

/**
 * The signature-check cost one verification may spend, in signatureCost units (one unit is about
 * one ECDSA P-256 verification, ~0.12 ms on a small 2-core machine): path building backtracks over
 * candidate issuers, and a hostile chain must not turn one request into unbounded work. Like the
 * Go verifier's maxChainSignatureChecks (100 checks), but weighted: 200 P-256 or RSA-2048 checks,
 * 9 P-521 checks (a straight path of the default depth 8), 13 RSA-8192 ones; about 25 ms at most.
 */
export const MAX_SIGNATURE_COST = 200;

/** A fresh budget for one verification. */
export function signatureBudget(): SignatureBudget {
  return {
    remaining: MAX_SIGNATURE_COST,
    checks: 0,
    nameComparisons: MAX_NAME_CONSTRAINT_COMPARISONS,
    policyWork: MAX_POLICY_WORK_PER_VERIFICATION,
  };
}

export interface PathSearch {
  anchors: CertificatePool;
  /** Ids of anchors that do not end a path: a configured certificate issues them ({@link chainedAnchors}). */
  chainedAnchors: ReadonlySet<string>;
  /** Configured and presented intermediates together. */
  intermediates: CertificatePool;
  maxChainDepth: number;
  /** Memoised signature check: does `issuer`'s key verify `child`'s signature? */
  signedBy(child: ParsedCertificate, issuer: ParsedCertificate): SignatureCheck;
  /** What a check with `issuer`'s key costs, in signatureCost units. */
  costOf(issuer: ParsedCertificate): number;
  /** Per-path rules (validity, CA constraints, purpose, revocation) on a complete path leaf→anchor. */
  checkPath(path: ParsedCertificate[]): CheckedPath;
  budget: SignatureBudget;
}

/** Ranks how far an attempt got, so the reported failure is the most informative one. */
enum Progress {
  NoIssuer = 0,
  KeyMismatch = 1,
  TooDeep = 2,
  BadSignature = 3,
  CompletePath = 4,
}

function akiRank(child: ParsedCertificate, candidate: ParsedCertificate): number {
  // RFC 5280 section 4.2.1.1: the AKI keyIdentifier names the issuer key; try matching keys first,
  // then candidates that cannot be told apart, and known mismatches last.
  if (!child.authorityKeyId || !candidate.subjectKeyId) return 1;
  return child.authorityKeyId === candidate.subjectKeyId ? 0 : 2;
}

/** Issuer candidates for `child` by name: matching key identifiers first, then anchors before intermediates. */
function candidatesFor(child: ParsedCertificate, search: PathSearch): { c: ParsedCertificate; anchor: boolean }[] {
  const { chainedAnchors } = search;
  const anchors = search.anchors.withSubject(child.issuerKey).map((c) => ({ c, anchor: !chainedAnchors.has(c.id) }));
  const intermediates = search.intermediates
    .withSubject(child.issuerKey)
    .filter((c) => !search.anchors.has(c))
    .map((c) => ({ c, anchor: false }));
  return [...anchors, ...intermediates].sort(
    (a, b) => akiRank(child, a.c) - akiRank(child, b.c) || Number(b.anchor) - Number(a.anchor),
  );
}

/** How far a candidate whose signature failed got, and what to report. */
function signatureFailure(
  child: ParsedCertificate,
  issuer: ParsedCertificate,
  sig: Exclude<SignatureCheck, { ok: true }>,
): [Progress, Failure] {
  // A candidate whose key identifier differs from the AKI is only a name match: failing its
  // signature means "not this issuer" (as Go reports it), not a forged certificate.
  if (akiRank(child, issuer) === 2) {
    const detail =
      `no trusted issuer found for ${describe(child)}: ${describe(issuer)} has the issuer's name ` +
      `but another key (AKI ${child.authorityKeyId}, SKI ${issuer.subjectKeyId})`;
    return [Progress.KeyMismatch, { code: 'CERT_UNTRUSTED', detail }];
  }
  return [
    Progress.BadSignature,
    { code: sig.code, detail: `${describe(child)}: ${sig.detail} (tried issuer ${describe(issuer)})` },
  ];
}

/**
 * Depth-first search for a path from `leaf` to an anchor, backtracking over alternative issuers
 * (cross-signed and re-keyed CAs), within {@link MAX_SIGNATURE_COST}. The first path that passes
 * `checkPath` wins; otherwise the failure from the attempt that got furthest is reported.
 */
export function buildPath(leaf: ParsedCertificate, search: PathSearch): PathResult {
  const { budget } = search;
  let best: { progress: Progress; failure: Failure } = {
    progress: Progress.NoIssuer,
    failure: {
      code: 'CERT_UNTRUSTED',
      detail: `no trusted issuer found for ${describe(leaf)}: issuer "${leaf.issuerDN}" is not a configured CA`,
    },
  };
  const note = (progress: Progress, failure: Failure) => {
    if (progress > best.progress) best = { progress, failure };
  };

  // A certificate configured as a trust anchor is trusted as itself (pinning a self-signed client).
  if (search.anchors.has(leaf) && !search.chainedAnchors.has(leaf.id)) {
    const verdict = search.checkPath([leaf]);
    return verdict.ok ? { ok: true, path: [leaf], relied: verdict.relied, policies: verdict.policies } : verdict;
  }

  type Found = { path: ParsedCertificate[]; relied: Reliance; policies: readonly string[] };
  const extend = (path: ParsedCertificate[]): Found | undefined => {
    const child = path[path.length - 1] as ParsedCertificate;
    for (const { c: issuer, anchor } of candidatesFor(child, search)) {
      // A certificate may appear only once in a path (loops through cross-signatures).
      if (path.some((p) => p.id === issuer.id || (p.subjectKey === issuer.subjectKey && p.spki.equals(issuer.spki))))
        continue;
      // Self-issued certificates (key rollover) do not count towards the depth, as they do not
      // count towards pathLenConstraint (RFC 5280 section 6.1.4 (l)).
      const depth = path.slice(1).filter((c) => !c.selfIssued).length + (issuer.selfIssued ? 0 : 1);
      if (!anchor && depth > search.maxChainDepth) {
        note(Progress.TooDeep, {
          code: 'CERT_UNTRUSTED',
          detail: `no path within maxChainDepth ${search.maxChainDepth} for ${describe(leaf)}`,
        });
        continue;
      }
      const cost = search.costOf(issuer);
      if (budget.remaining < cost) {
        budget.remaining = 0;
        return undefined;
      }
      budget.remaining -= cost;
      budget.checks++;
      const sig = search.signedBy(child, issuer);
      if (!sig.ok) {
        note(...signatureFailure(child, issuer, sig));
        continue;
      }
      const next = [...path, issuer];
      if (anchor) {
        const verdict = search.checkPath(next);
        if (verdict.ok) return { path: next, relied: verdict.relied, policies: verdict.policies };
        note(Progress.CompletePath, verdict.failure);
        continue;
      }
      const found = extend(next);
      if (found) return found;
      if (budget.remaining <= 0) return undefined;
    }
    return undefined;
  };

  const found = extend([leaf]);
  if (found) return { ok: true, ...found };
  if (budget.remaining <= 0 && best.progress < Progress.CompletePath) {
    return {
      ok: false,
      failure: {
        code: 'CERT_UNTRUSTED',
        detail:
          `gave up building a path for ${describe(leaf)} after ${budget.checks} signature checks ` +
          `(signature cost budget of ${MAX_SIGNATURE_COST} spent)`,
      },
    };
  }
  return { ok: false, failure: best.failure };
}

/**
 * Self-signed as OpenSSL's X509_self_signed(cert, 0) decides it: same name, and no key identifier
 * that says another key signed it. An anchor's own signature is never checked (a SHA-1 root is a
 * fine anchor), so it does not decide either.
 */
function selfSigned(cert: ParsedCertificate): boolean {
  const { authorityKeyId: aki, subjectKeyId: ski } = cert;
  return cert.selfIssued && (!aki || !ski || aki === ski);
}

/** Could `issuer` have issued `child`: its subject is `child`'s issuer and no key identifier says otherwise. */
function mayHaveIssued(issuer: ParsedCertificate, child: ParsedCertificate): boolean {
  if (issuer.id === child.id || issuer.subjectKey !== child.issuerKey) return false;
  return !child.authorityKeyId || !issuer.subjectKeyId || child.authorityKeyId === issuer.subjectKeyId;
}

/**
 * The anchor model: which configured CA certificates do not end a path. A bundle such as
 * ca-chain.pem holds an intermediate next to the CA that issued it; ending the path at the
 * intermediate would never check it against its issuer's CRL, so a revoked intermediate would
 * keep working. As in OpenSSL, a self-signed certificate always ends a path, and so does one that
 * no configured certificate may have issued (an intermediate configured alone: a partial chain,
 * as Node's allowPartialTrustChain and OpenSSL's partial_chain allow). Any other configured
 * certificate whose configured issuers lead to such an end is an intermediate: the path goes on
 * to its issuer, whose signature, rules and CRL then apply. This is decided by names and key
 * identifiers only: a signature or key that would fail must refuse the path when it is built, not
 * turn the certificate it fails on into an anchor. Only certificates whose configured issuers
 * form a cycle with no end (two CAs that issue each other, no root) stay path ends themselves.
 */
export function chainedAnchors(anchors: CertificatePool): ReadonlySet<string> {
  const all = [...anchors.all()];
  const issuersOf = new Map(
    all.map((c) => [c.id, anchors.withSubject(c.issuerKey).filter((i) => mayHaveIssued(i, c))]),
  );
  const ends = all.filter((c) => selfSigned(c) || issuersOf.get(c.id)?.length === 0);
  const reachesEnd = new Set(ends.map((c) => c.id));
  const chained = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const cert of all) {
      if (reachesEnd.has(cert.id) || !issuersOf.get(cert.id)?.some((i) => reachesEnd.has(i.id))) continue;
      reachesEnd.add(cert.id);
      chained.add(cert.id);
      grew = true;
    }
  }
  return chained;
}
