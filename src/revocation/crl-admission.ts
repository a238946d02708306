import type { ParsedCertificate } from '../x509/certificate.js';
import type { ParsedCrl } from './crl.js';
import { verifyInSlices } from './crl-bytes.js';
import {
  freshness,
  freshnessProblem,
  replaceProblem,
  signerProblemAsync,
  unusableReason,
  type CrlTimeRules,
} from './crl-usability.js';

/** What deciding whether a delivered CRL may enter needs to know. */
export interface AdmissionContext {
  /** The instant of the decision (read per CRL: a bundle's earlier CRLs took time to check). */
  now: number;
  /** The clock tolerance, and no grace period. */
  timeRules: CrlTimeRules;
  /** Configured certificates with the CRL issuer's name, and the issuer that named a distribution point. */
  issuers: readonly ParsedCertificate[];
  /** Issuer certificates of verified paths that verified this source's earlier CRLs (crl-slots.ts). */
  learned: readonly ParsedCertificate[];
  /** The verified CRL in use for `crl`'s slot and `signer`'s key, which a new one must not be older than. */
  verifiedFor(crl: ParsedCrl, signer: ParsedCertificate): ParsedCrl | undefined;
  legacyAlgorithms: boolean;
}

/** A CRL may enter (verified by `signer`, or a candidate when undefined), or not, and why. */
export type Admission = { problem: string } | { signer: ParsedCertificate | undefined };

/**
 * Whether a delivered CRL may enter a file or URL source (each rule lives in crl-usability.ts):
 * - a CRL whose issuer is configured (or named the distribution point) must verify with that
 *   certificate, or it is refused, as ever;
 * - one whose issuer a verified path taught the source (crl-slots.ts) enters verified if it
 *   verifies with it; if not (a new key, or a forgery), it is a candidate, like one whose issuer
 *   is not known at all: verified at use, never trusted before.
 * A verified CRL older than the one in use for its slot and key is refused.
 */
export async function admission(crl: ParsedCrl, ctx: AdmissionContext): Promise<Admission> {
  // A newer CRL is taken even if already past nextUpdate (the checker applies gracePeriodMs), but
  // not one from the future.
  const { now, timeRules } = ctx;
  if (freshness(crl, now, timeRules) === 'not yet valid')
    return { problem: `${freshnessProblem(crl, now, timeRules)}` };
  // A CRL no verification could use (delta, indirect, no CRL number, ...) must not take a slot.
  const unusable = unusableReason(crl);
  if (unusable) return { problem: `unusable: ${unusable}` };
  const verified = await verifiedBy(crl, ctx.issuers, ctx);
  if ('signer' in verified || ctx.issuers.length > 0) return verified;
  const learned = await verifiedBy(crl, ctx.learned, ctx);
  return 'signer' in learned ? learned : { signer: undefined };
}

/** The first of `issuers` that verifies `crl` (the checker's signer rules: AKI, cRLSign, signature). */
async function verifiedBy(
  crl: ParsedCrl,
  issuers: readonly ParsedCertificate[],
  ctx: AdmissionContext,
): Promise<Admission> {
  const problems: string[] = [];
  const verifies = (c: ParsedCrl, signer: ParsedCertificate) => signedInSlices(c, signer, ctx.legacyAlgorithms);
  for (const issuer of issuers) {
    const problem = await signerProblemAsync(crl, issuer, verifies);
    if (problem) {
      problems.push(problem);
      continue;
    }
    const inUse = ctx.verifiedFor(crl, issuer);
    const older = replaceProblem(crl, inUse ? [inUse] : []);
    return older ? { problem: older } : { signer: issuer };
  }
  return { problem: [...new Set(problems)].join('; ') };
}

/** The signature oracle of crl-usability.ts, in slices; records who verified it (ParsedCrl.verifiedWith). */
async function signedInSlices(crl: ParsedCrl, signer: ParsedCertificate, legacyAlgorithms: boolean): Promise<boolean> {
  // Checked already where it was decoded (the CRL worker tries the configured issuers' keys).
  if (crl.verifiedWith.has(signer.id)) return true;
  let ok = false;
  try {
    ok = await verifyInSlices(crl, signer.publicKey(), legacyAlgorithms);
  } catch {
    ok = false;
  }
  if (ok) crl.verifiedWith.add(signer.id);
  return ok;
}
