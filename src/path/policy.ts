import type { ParsedCertificate } from '../x509/certificate.js';
import type { Failure, Purpose } from '../model/verdict.js';
import { checkCertificate } from './certificate-rules.js';
import { CA_EXTENSIONS, END_ENTITY_EXTENSIONS, type ExtensionTable, type Role } from './extensions.js';
import { checkPathRules } from './path-rules.js';
import { checkNameConstraints } from './name-constraints.js';
import {
  DEFAULT_POLICY_INPUTS,
  processPolicies,
  type PolicyInputs,
  type PolicyOutcome,
} from './certificate-policies.js';

export type { PolicyInputs, PolicyOutcome };

/**
 * Path validation policy as data (pyca/cryptography's `Policy`): built once from the verifier's
 * options and frozen. The validation time is not policy: it is passed with each path.
 */
export interface PathPolicy {
  /** The purpose the leaf's EKU (and its CAs' EKUs) must allow; false for CRL signer paths. */
  readonly purpose: Purpose | false;
  /** DSA keys (and the SHA-1 signatures they come with) are accepted only with this. */
  readonly legacyAlgorithms: boolean;
  /** How far validity windows are stretched at both ends, in milliseconds. */
  readonly clockToleranceMs: number;
  /** Non-self-issued intermediates allowed between leaf and anchor (path/builder.ts enforces it). */
  readonly maxChainDepth: number;
  /** The extension table per certificate role (src/path/extensions.ts). */
  readonly extensions: Readonly<Record<Role, ExtensionTable>>;
  /** RFC 5280 section 6.1.1's policy inputs (the `policies` option). */
  readonly policies: PolicyInputs;
}

export interface PathPolicyOptions {
  purpose: Purpose | false;
  legacyAlgorithms?: boolean;
  clockToleranceMs?: number;
  maxChainDepth?: number;
  policies?: PolicyInputs;
}

/** src/verifier/options.ts's default, repeated so that the policy stands on its own in tests. */
/** Intermediates allowed between leaf and anchor unless configured otherwise (`maxChainDepth`). */
export const DEFAULT_MAX_CHAIN_DEPTH = 8;

const EXTENSIONS: PathPolicy['extensions'] = Object.freeze({ ca: CA_EXTENSIONS, endEntity: END_ENTITY_EXTENSIONS });

/** Builds the frozen policy; misuse (wrong types, negative numbers) throws TypeError naming the option. */
export function pathPolicy(options: PathPolicyOptions): PathPolicy {
  const {
    purpose,
    legacyAlgorithms = false,
    clockToleranceMs = 0,
    maxChainDepth = DEFAULT_MAX_CHAIN_DEPTH,
    policies = DEFAULT_POLICY_INPUTS,
  } = options;
  if (purpose !== false && purpose !== 'clientAuth' && purpose !== 'serverAuth') {
    throw new TypeError(`pathPolicy: 'purpose' must be 'clientAuth', 'serverAuth' or false, got ${String(purpose)}`);
  }
  if (typeof legacyAlgorithms !== 'boolean') throw new TypeError("pathPolicy: 'legacyAlgorithms' must be a boolean");
  if (typeof clockToleranceMs !== 'number' || !Number.isFinite(clockToleranceMs) || clockToleranceMs < 0) {
    throw new TypeError(`pathPolicy: 'clockToleranceMs' must be a non-negative number, got ${clockToleranceMs}`);
  }
  if (!Number.isInteger(maxChainDepth) || maxChainDepth < 0) {
    throw new TypeError(`pathPolicy: 'maxChainDepth' must be a non-negative integer, got ${String(maxChainDepth)}`);
  }
  return Object.freeze({
    purpose,
    legacyAlgorithms,
    clockToleranceMs,
    maxChainDepth,
    extensions: EXTENSIONS,
    policies,
  });
}

/**
 * RFC 5280 section 6.1 rules on a complete path `[leaf, ...intermediates, anchor]`, revocation
 * aside: every certificate's own rules (leaf first), then the issuer rules and path-wide state
 * from the anchor down, then name constraints and certificate policies. Returns the first failure,
 * or the valid policies when the path is valid. A one-element path is a certificate configured as
 * a trust anchor and presented as itself (pinning).
 */
export function pathOutcome(
  path: readonly ParsedCertificate[],
  policy: PathPolicy,
  at: number,
  budget?: { nameComparisons: number; policyWork: number },
): PolicyOutcome {
  const n = path.length;
  for (const [i, cert] of path.entries()) {
    const failure = checkCertificate(cert, { isAnchor: i === n - 1 && n > 1, isLeaf: i === 0 }, policy, at);
    if (failure) return { ok: false, failure };
  }
  const failure = checkPathRules(path, policy) ?? checkNameConstraints(path, budget);
  if (failure) return { ok: false, failure };
  return processPolicies(path, policy.policies, budget);
}

/** {@link pathOutcome}'s failure alone (undefined when the path is valid). */
export function checkRules(path: readonly ParsedCertificate[], policy: PathPolicy, at: number): Failure | undefined {
  const outcome = pathOutcome(path, policy, at);
  return outcome.ok ? undefined : outcome.failure;
}
