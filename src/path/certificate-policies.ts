import type { ParsedCertificate } from '../x509/certificate.js';
import { describe, type Failure } from '../model/verdict.js';
import { ANY_POLICY } from '../x509/policy-extensions.js';
import {
  applyMappings,
  isEmpty,
  mappingTable,
  nextLevel,
  MAX_POLICY_WORK_PER_VERIFICATION,
  PolicyBudget,
  PolicyGraphTooLarge,
  ROOT_LEVEL,
  userConstrainedPolicies,
  type PolicyLevel,
} from './policy-graph.js';

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

/** RFC 5280 section 6.1.2 (d), (e), (f): the counters, and who last lowered explicit_policy (for the detail). */
interface Counters {
  explicitPolicy: number;
  inhibitAnyPolicy: number;
  policyMapping: number;
  explicitBy?: ParsedCertificate;
}

const invalid = (detail: string): PolicyOutcome => ({ ok: false, failure: { code: 'CERT_POLICY_INVALID', detail } });

function noValidPolicy(counters: Counters, where: string): PolicyOutcome {
  const by = counters.explicitBy
    ? `${describe(counters.explicitBy)} requires an explicit policy (policyConstraints requireExplicitPolicy)`
    : 'the policies option requires an explicit policy (requireExplicit)';
  return invalid(`${by}, but no certificate policy is valid ${where}`);
}

/** RFC 5280 section 6.1.4 (i), (j) and 6.1.5 (b): a certificate's constraints can only lower the counters. */
function applyConstraints(counters: Counters, cert: ParsedCertificate, isLeaf: boolean): void {
  const explicit = cert.policyConstraints?.requireExplicitPolicy;
  // 6.1.5 (b) reads only a value of 0 in the leaf; min() with a larger value changes nothing that
  // is read afterwards, as explicit_policy is only compared with 0.
  if (explicit !== undefined && explicit < counters.explicitPolicy) {
    counters.explicitPolicy = explicit;
    counters.explicitBy = cert;
  }
  if (isLeaf) return;
  const mapping = cert.policyConstraints?.inhibitPolicyMapping;
  if (mapping !== undefined) counters.policyMapping = Math.min(counters.policyMapping, mapping);
  const any = cert.inhibitAnyPolicy;
  if (any !== undefined) counters.inhibitAnyPolicy = Math.min(counters.inhibitAnyPolicy, any);
}

/** RFC 5280 section 6.1.4 (h) and 6.1.5 (a): the counters count down, except over self-issued intermediates. */
function countDown(counters: Counters, cert: ParsedCertificate, isLeaf: boolean): void {
  if (isLeaf) {
    if (counters.explicitPolicy > 0) counters.explicitPolicy--;
    return;
  }
  if (cert.selfIssued) return;
  if (counters.explicitPolicy > 0) counters.explicitPolicy--;
  if (counters.policyMapping > 0) counters.policyMapping--;
  if (counters.inhibitAnyPolicy > 0) counters.inhibitAnyPolicy--;
}

/** RFC 5280 section 6.1.4 (a): anyPolicy can be neither mapped nor mapped to. */
function anyPolicyMapping(cert: ParsedCertificate): Failure | undefined {
  const bad = cert.policyMappings?.find(
    (m) => m.issuerDomainPolicy === ANY_POLICY || m.subjectDomainPolicy === ANY_POLICY,
  );
  if (!bad) return undefined;
  const mapping = `${bad.issuerDomainPolicy} to ${bad.subjectDomainPolicy}`;
  return { code: 'CERT_POLICY_INVALID', detail: `${describe(cert)} maps ${mapping}: anyPolicy cannot be mapped` };
}

const NO_VALID_POLICY: PolicyOutcome = Object.freeze({ ok: true, policies: Object.freeze([]) });

/**
 * The common case, answered without building anything: no certificate below the anchor constrains
 * policies (no policyConstraints, no policyMappings) and the option does not require an explicit
 * policy, so explicit_policy (n + 1, counted down at most n times) never reaches 0 and the path is
 * valid; and one of them has no certificatePolicies, so the tree is NULL (6.1.3 (e)) and no policy
 * is valid.
 */
function nothingToProcess(path: readonly ParsedCertificate[], n: number, inputs: PolicyInputs): boolean {
  if (inputs.requireExplicit) return false;
  let withoutPolicies = false;
  for (let i = 0; i < n; i++) {
    const cert = path[i] as ParsedCertificate;
    if (cert.policyConstraints || cert.policyMappings) return false;
    if (!cert.certificatePolicies) withoutPolicies = true;
  }
  return withoutPolicies;
}

/** A NULL valid_policy_tree (RFC 5280 section 6.1.3 (e)): it stays NULL down the path. */
const EMPTY_LEVEL: PolicyLevel = Object.freeze({ nodes: new Map(), hasAny: false });

/** RFC 5280 section 6.1.3 (d), (e) and 6.1.4 (b) for certificate number `i` of `n` (1 is under the anchor). */
function advance(
  above: PolicyLevel,
  cert: ParsedCertificate,
  i: number,
  n: number,
  c: Counters,
  b: PolicyBudget,
): PolicyLevel {
  // (e): no certificatePolicies, NULL tree; a NULL tree stays NULL (no work, no allocation).
  if (isEmpty(above) || !cert.certificatePolicies) return EMPTY_LEVEL;
  const anyAllowed = c.inhibitAnyPolicy > 0 || (i < n && cert.selfIssued);
  const level = nextLevel(above, cert.certificatePolicies, anyAllowed, b);
  if (i === n || !cert.policyMappings || isEmpty(level)) return level;
  return applyMappings(level, mappingTable(cert.policyMappings), c.policyMapping > 0, b);
}

/**
 * RFC 5280 sections 6.1.2 to 6.1.5 over `[leaf, ...intermediates, anchor]`: the user-constrained
 * policy set of the path (6.1.5 (g)), or CERT_POLICY_INVALID. The anchor is an input of path
 * validation, not a certificate of the path (RFC 5280 section 6.1): its policy extensions are not
 * read, and a pinned certificate (a one-element path) is a path of n = 0 certificates.
 */
export function processPolicies(
  path: readonly ParsedCertificate[],
  inputs: PolicyInputs,
  work: { policyWork: number } = { policyWork: MAX_POLICY_WORK_PER_VERIFICATION },
): PolicyOutcome {
  const n = path.length - 1;
  if (nothingToProcess(path, n, inputs)) return NO_VALID_POLICY;
  const budget = new PolicyBudget(work.policyWork);
  try {
    return processPath(path, n, inputs, budget);
  } finally {
    // Charged to the verification, refused paths included: the next path tried has what is left.
    work.policyWork -= budget.used;
  }
}

function processPath(
  path: readonly ParsedCertificate[],
  n: number,
  inputs: PolicyInputs,
  budget: PolicyBudget,
): PolicyOutcome {
  // 6.1.2 (d), (e), (f): n + 1, or 0 when the input says so.
  const counters: Counters = {
    explicitPolicy: inputs.requireExplicit ? 0 : n + 1,
    inhibitAnyPolicy: inputs.inhibitAnyPolicy ? 0 : n + 1,
    policyMapping: inputs.inhibitMapping ? 0 : n + 1,
  };
  const levels: PolicyLevel[] = [];
  let level = ROOT_LEVEL;
  for (let i = 1; i <= n; i++) {
    const cert = path[n - i] as ParsedCertificate;
    const isLeaf = i === n;
    const mappedAny = isLeaf ? undefined : anyPolicyMapping(cert);
    if (mappedAny) return { ok: false, failure: mappedAny };
    try {
      level = advance(level, cert, i, n, counters, budget);
    } catch (err) {
      if (err instanceof PolicyGraphTooLarge) return invalid(`${err.message} at ${describe(cert)}`);
      throw err;
    }
    // 6.1.3 (f): checked before this certificate's own counters change (6.1.4 (h) to (j)).
    if (counters.explicitPolicy === 0 && isEmpty(level)) return noValidPolicy(counters, `at ${describe(cert)}`);
    if (!isEmpty(level)) levels.push(level);
    countDown(counters, cert, isLeaf);
    applyConstraints(counters, cert, isLeaf);
  }
  const policies = levels.length === n ? userConstrainedPolicies(levels, inputs.initial) : [];
  // 6.1.6: valid when explicit_policy > 0 or the tree, intersected with the user's set (6.1.5 (g)), is not NULL.
  if (counters.explicitPolicy === 0 && policies.length === 0) {
    return noValidPolicy(counters, inputs.initial.includes(ANY_POLICY) ? 'for the path' : 'in policies.initial');
  }
  return { ok: true, policies };
}
