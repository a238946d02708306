import type { ParsedCertificate } from '../x509/certificate.js';
import type { Failure } from '../model/verdict.js';
import { ANY_POLICY } from '../x509/policy-extensions.js';

/** RFC 5280 section 6.1.1 (c), (e), (f), (g): the policy inputs of path validation. */
export interface PolicyInputs {
  /** user-initial-policy-set: policy OIDs, or [anyPolicy] (the default). */
  readonly initial: readonly string[];
  /** initial-explicit-policy. */
  readonly requireExplicit: boolean;
  /** initial-policy-mapping-inhibit. */
  readonly inhibitMapping: boolean;
  /** initial-any-policy-inhibit. */
  readonly inhibitAnyPolicy: boolean;
}

export const DEFAULT_POLICY_INPUTS: PolicyInputs = Object.freeze({
  initial: Object.freeze([ANY_POLICY]),
  requireExplicit: false,
  inhibitMapping: false,
  inhibitAnyPolicy: false,
});

export type PolicyOutcome = { ok: true; policies: readonly string[] } | { ok: false; failure: Failure };

/**
 * RFC 5280 sections 6.1.2 to 6.1.5 over `[leaf, ...intermediates, anchor]`: the user-constrained
 * policy set of the path, or CERT_POLICY_INVALID. (Stub: filled in by the certificate policies work.)
 */
export function processPolicies(_path: readonly ParsedCertificate[], inputs: PolicyInputs): PolicyOutcome {
  return { ok: true, policies: inputs.initial };
}
