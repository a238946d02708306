import type { ParsedCertificate } from '../x509/certificate.js';
import type { ParsedCrl } from './crl.js';
import { verifyInSlices } from './crl-bytes.js';
import { verifiedOnly } from './crl-slots.js';
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
  /** Known certificates with the CRL issuer's name: configured ones, and the issuer that named a distribution point. */
  issuers: readonly ParsedCertificate[];
  /** The CRLs the source has in use. */
  inUse: readonly ParsedCrl[];
  legacyAlgorithms: boolean;
}

/**
 * Why a delivered CRL may not enter the CRL store (each rule lives in crl-usability.ts), undefined
 * when it may. A CRL whose issuer certificate is known enters verified (ParsedCrl.verifiedWith);
 * one whose issuer is not known enters as a candidate, verified at use (crl-slots.ts).
 */
export async function admissionProblem(crl: ParsedCrl, ctx: AdmissionContext): Promise<string | undefined> {
  // A newer CRL is taken even if already past nextUpdate (the checker applies gracePeriodMs), but
  // not one from the future.
  if (freshness(crl, ctx.now, ctx.timeRules) === 'not yet valid') return freshnessProblem(crl, ctx.now, ctx.timeRules);
  // A CRL no verification could use (delta, indirect, no CRL number, ...) must not take a slot.
  const unusable = unusableReason(crl);
  if (unusable) return `unusable: ${unusable}`;
  // Verified before it may replace a verified CRL: against a known certificate of its issuer; a
  // signer the checker would refuse (AKI, cRLSign) does not count either. A known certificate of
  // another key (an issuing CA's previous key, say) says nothing either way: with no issuer
  // certificate of its key known (a CA that clients send), it is a candidate.
  const issuers = ctx.issuers.filter((c) => mayHoldKeyOf(crl, c));
  const verified = verifiedOnly(ctx.inUse);
  if (issuers.length === 0) return replaceProblem(crl, verified);
  const problems: string[] = [];
  const verifies = (c: ParsedCrl, signer: ParsedCertificate) => signedInSlices(c, signer, ctx.legacyAlgorithms);
  for (const issuer of issuers) {
    const problem = await signerProblemAsync(crl, issuer, verifies);
    if (!problem) return replaceProblem(crl, verified);
    problems.push(problem);
  }
  return [...new Set(problems)].join('; ');
}

/** Whether `cert` may hold the key that signed `crl`: its AKI, when both carry one, names `cert`'s key. */
function mayHoldKeyOf(crl: ParsedCrl, cert: ParsedCertificate): boolean {
  return !crl.authorityKeyId || !cert.subjectKeyId || crl.authorityKeyId === cert.subjectKeyId;
}

/** The signature oracle of crl-usability.ts, in slices; records who verified it (ParsedCrl.verifiedWith). */
async function signedInSlices(crl: ParsedCrl, signer: ParsedCertificate, legacyAlgorithms: boolean): Promise<boolean> {
  let ok = false;
  try {
    ok = await verifyInSlices(crl, signer.publicKey(), legacyAlgorithms);
  } catch {
    ok = false;
  }
  if (ok) crl.verifiedWith.add(signer.id);
  return ok;
}
