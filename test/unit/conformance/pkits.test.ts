/**
 * NIST PKITS 1.0.1, all 249 tests (sections 4.1-4.16), run as PKITS intends: revocation checking
 * on (requireCrl), at a fixed time inside the suite's validity window, with each test's trust
 * anchor, intermediates, CRLs and policy inputs (RFC 5280 6.1.1). A valid path must also yield the
 * user-constrained policy set PKITS expects. The DSA tests run with `legacyAlgorithms: true`; by
 * default certgate refuses DSA, which is checked separately.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PoliciesOption } from 'certgate';
import { loadPkits, pkitsCert, pkitsCrl, pkitsPolicies, printTally, verdictOf, type PkitsTest } from './suites.js';

/** Inside the re-issued suite's window (2010 to 2030); PKITS leaves carry no EKU. */
const AT = new Date('2020-01-01T00:00:00Z');

/** The DSA tests: valid only with legacyAlgorithms (certgate refuses DSA and SHA-1 by default). */
const NEEDS_LEGACY_ALGORITHMS = new Set(['4.1.4', '4.1.5']);

/** Tests per section, all expected to pass: a drop in any section fails the suite. */
const SECTION_TOTALS: Record<string, number> = {
  '4.1': 6,
  '4.2': 8,
  '4.3': 11,
  '4.4': 21,
  '4.5': 8,
  '4.6': 17,
  '4.7': 5,
  '4.8': 35,
  '4.9': 8,
  '4.10': 23,
  '4.11': 11,
  '4.12': 11,
  '4.13': 38,
  '4.14': 35,
  '4.15': 10,
  '4.16': 2,
};

/** The test's policy inputs as the `policies` option. */
function policiesOf(t: PkitsTest): PoliciesOption {
  const { extra } = t;
  const option: PoliciesOption = {};
  if (extra.SetInitialPolicySet) option.initial = pkitsPolicies(extra.SetInitialPolicySet);
  if (extra.SetInitialExplicitPolicy === 'true') option.requireExplicit = true;
  if (extra.SetInitialPolicyMappingInhibit === 'true') option.inhibitMapping = true;
  if (extra.SetInitialInhibitAnyPolicy === 'true') option.inhibitAnyPolicy = true;
  return option;
}

/** PKITS: "If not specified, the user-constrained-policy-set for a valid path is NIST-test-policy-1." */
const expectedPolicies = (t: PkitsTest): string[] =>
  pkitsPolicies(t.extra.SetUserConstrainedPolicySet ?? '"NIST-test-policy-1"').sort();

async function run(t: PkitsTest, legacyAlgorithms: boolean) {
  return verdictOf(
    {
      ca: pkitsCert(t.trust_anchor),
      intermediates: t.intermediates.map(pkitsCert),
      crl: t.crls.map(pkitsCrl),
      requireCrl: true,
      legacyAlgorithms,
      policies: policiesOf(t),
    },
    pkitsCert(t.ee),
    AT,
  );
}

interface Outcome {
  id: string;
  valid: boolean;
  policies?: string[];
  detail: string;
}

const tests = loadPkits();
/** By test: PKITS subparts share an id (4.8.1 has four), each with its own policy inputs. */
const outcomes = new Map<PkitsTest, Outcome>();
const dsaByDefault = new Map<string, boolean>();
const section = (id: string) => id.split('.').slice(0, 2).join('.');
const passed = (t: PkitsTest): boolean => {
  const o = outcomes.get(t) as Outcome;
  if (o.valid !== t.should_validate) return false;
  return !o.valid || JSON.stringify(o.policies) === JSON.stringify(expectedPolicies(t));
};

beforeAll(async () => {
  for (const t of tests) {
    const r = await run(t, NEEDS_LEGACY_ALGORITHMS.has(t.id));
    const valid = r.result?.ok === true;
    const outcome: Outcome = { id: t.id, valid, detail: r.result && !r.result.ok ? r.result.detail : (r.error ?? '') };
    if (r.result?.ok) outcome.policies = [...r.result.policies].sort();
    outcomes.set(t, outcome);
    if (NEEDS_LEGACY_ALGORITHMS.has(t.id)) dsaByDefault.set(t.id, (await run(t, false)).result?.ok === true);
  }
  const tally = new Map<string, { pass: number; total: number }>();
  for (const t of tests) {
    const key = `PKITS ${section(t.id).padEnd(5)}`;
    const row = tally.get(key) ?? { pass: 0, total: 0 };
    row.total++;
    if (passed(t)) row.pass++;
    tally.set(key, row);
  }
  printTally('NIST PKITS: tests passed per section (verdict and user-constrained policy set)', tally);
}, 300_000);

describe('NIST PKITS 4.1-4.16 (all 249 tests)', () => {
  it('has the 249 tests', () => expect(tests).toHaveLength(249));

  it.each(tests.map((t) => [`${t.id} ${t.title}`, t] as const))('%s', (_label, t) => {
    const o = outcomes.get(t) as Outcome;
    const want: Omit<Outcome, 'detail'> = { id: t.id, valid: t.should_validate };
    if (t.should_validate) want.policies = expectedPolicies(t);
    const { detail, ...got } = o;
    expect(got, detail).toEqual(want);
  });

  it('refuses the DSA tests without legacyAlgorithms', () => {
    expect(Object.fromEntries(dsaByDefault)).toEqual({ '4.1.4': false, '4.1.5': false });
  });

  it('passes every test of every section (a drop in any section fails the suite)', () => {
    const totals: Record<string, number> = {};
    for (const t of tests) if (passed(t)) totals[section(t.id)] = (totals[section(t.id)] ?? 0) + 1;
    expect(totals).toEqual(SECTION_TOTALS);
  });
});
