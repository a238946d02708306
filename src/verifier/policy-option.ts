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

/** The largest arc src/x509/der.ts's readOid decodes: an OID with a larger one can never match. */
const MAX_ARC = Number.MAX_SAFE_INTEGER / 128;

/**
 * An OID as the DER decoder would print it: under arcs 0 and 1 the second arc is below 40 (X.690
 * 8.19.4 packs the first two arcs in one), so '1.40' is not an OID a certificate can carry.
 */
function isOidText(value: unknown): value is string {
  if (typeof value !== 'string' || !OID_TEXT.test(value)) return false;
  const arcs = value.split('.').map(Number);
  if ((arcs[0] as number) < 2 && (arcs[1] as number) >= 40) return false;
  return arcs.every((arc) => arc <= MAX_ARC);
}

/**
 * `policies.initial`: a non-empty array of OIDs. Indexed, not `every`: a sparse array's holes would
 * be skipped by `every` and reach the policy set as undefined. The refusal quotes the first bad
 * entry only (no JSON.stringify of the whole value: a BigInt or a cycle would throw it).
 */
function initialPolicies(list: unknown, where: string): readonly string[] {
  const refuse = (got: string) =>
    configError(where, `option 'policies.initial' must be a non-empty array of dotted OIDs, got ${got}`);
  if (!Array.isArray(list)) throw refuse(describeType(list));
  if (list.length === 0) throw refuse('an empty array');
  for (let i = 0; i < list.length; i++) {
    const entry: unknown = list[i];
    if (!isOidText(entry)) {
      const shown = typeof entry === 'string' ? JSON.stringify(entry.slice(0, 80)) : describeType(entry);
      throw refuse(`${shown} at index ${i}`);
    }
  }
  return Object.freeze([...new Set(list as string[])]);
}

export function parsePoliciesOption(value: unknown, where: string): PolicyInputs {
  if (value === undefined) return DEFAULT_POLICY_INPUTS;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(where, `option 'policies' must be an object, got ${describeType(value)}`);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) throw configError(where, `unknown option 'policies.${key}' (known: ${KEYS.join(', ')})`);
  }
  const initial = o.initial === undefined ? DEFAULT_POLICY_INPUTS.initial : initialPolicies(o.initial, where);
  return Object.freeze({
    initial: initial.includes(ANY_POLICY) ? DEFAULT_POLICY_INPUTS.initial : initial,
    requireExplicit: booleanOption(o.requireExplicit, where, 'policies.requireExplicit'),
    inhibitMapping: booleanOption(o.inhibitMapping, where, 'policies.inhibitMapping'),
    inhibitAnyPolicy: booleanOption(o.inhibitAnyPolicy, where, 'policies.inhibitAnyPolicy'),
  });
}
