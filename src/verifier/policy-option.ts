import { DEFAULT_POLICY_INPUTS, type PolicyInputs } from '../path/certificate-policies.js';
import { ANY_POLICY } from '../x509/policy-extensions.js';
import { describeType } from '../x509/pem.js';
import { booleanOption, configError } from './option-values.js';

/**
 * The `policies` option: RFC 5280 section 6.1.1's policy inputs. Policy processing is always on;
 * this only changes its inputs from the RFC's defaults.
 */
export interface PoliciesOption {
  /** user-initial-policy-set: the policy OIDs acceptable to you. Default [anyPolicy] ('2.5.29.32.0'). */
  initial?: string[];
  /** initial-explicit-policy: refuse a path with no valid policy (CERT_POLICY_INVALID). Default false. */
  requireExplicit?: boolean;
  /** initial-policy-mapping-inhibit: policy mappings are not followed. Default false. */
  inhibitMapping?: boolean;
  /** initial-any-policy-inhibit: anyPolicy in a certificate matches nothing. Default false. */
  inhibitAnyPolicy?: boolean;
}

const KEYS = ['initial', 'requireExplicit', 'inhibitMapping', 'inhibitAnyPolicy'];

/** A dotted OID of at least two arcs, without leading zeros (what the DER decoder produces). */
const OID_TEXT = /^[0-2]\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

export function parsePoliciesOption(value: unknown, where: string): PolicyInputs {
  if (value === undefined) return DEFAULT_POLICY_INPUTS;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(where, `option 'policies' must be an object, got ${describeType(value)}`);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) throw configError(where, `unknown option 'policies.${key}' (known: ${KEYS.join(', ')})`);
  }
  let initial: readonly string[] = DEFAULT_POLICY_INPUTS.initial;
  if (o.initial !== undefined) {
    const list = o.initial;
    if (!Array.isArray(list) || list.length === 0 || !list.every((p) => typeof p === 'string' && OID_TEXT.test(p))) {
      const got = JSON.stringify(list) ?? describeType(list);
      throw configError(where, `option 'policies.initial' must be a non-empty array of dotted OIDs, got ${got}`);
    }
    initial = Object.freeze([...new Set(list as string[])]);
  }
  return Object.freeze({
    initial: initial.includes(ANY_POLICY) ? DEFAULT_POLICY_INPUTS.initial : initial,
    requireExplicit: booleanOption(o.requireExplicit, where, 'policies.requireExplicit'),
    inhibitMapping: booleanOption(o.inhibitMapping, where, 'policies.inhibitMapping'),
    inhibitAnyPolicy: booleanOption(o.inhibitAnyPolicy, where, 'policies.inhibitAnyPolicy'),
  });
}
