/**
 * NIST PKITS 1.0.1, sections 4.1-4.7 and 4.16 (78 tests: signatures, validity, name chaining,
 * basic revocation, self-issued certificates, basicConstraints, keyUsage, private critical
 * extensions). Run as PKITS intends: revocation checking on (requireCrl), at a fixed time inside
 * the suite's validity window, with the test's trust anchor, intermediates and CRLs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPkits, pkitsCert, pkitsCrl, printTally, verdictOf, type PkitsTest, type Verdict } from './suites.js';

/** Inside the re-issued suite's window (2010 to 2030); PKITS leaves carry no EKU. */
const AT = new Date('2020-01-01T00:00:00Z');

/**
 * The only tests whose default-policy verdict differs from PKITS: they need DSA with SHA-1, which
 * certgate refuses unless `legacyAlgorithms: true`. With that option all 78 pass.
 */
const NEEDS_LEGACY_ALGORITHMS = new Set(['4.1.4', '4.1.5']);

const tests = loadPkits();
const verdicts = { default: new Map<string, Verdict>(), legacy: new Map<string, Verdict>() };
const details = new Map<string, string>();

async function run(t: PkitsTest, legacyAlgorithms: boolean) {
  return verdictOf(
    {
      ca: pkitsCert(t.trust_anchor),
      intermediates: t.intermediates.map(pkitsCert),
      crl: t.crls.map(pkitsCrl),
      requireCrl: true,
      legacyAlgorithms,
    },
    pkitsCert(t.ee),
    AT,
  );
}

beforeAll(async () => {
  const tally = new Map<string, { pass: number; total: number }>();
  for (const t of tests) {
    const d = await run(t, false);
    const l = await run(t, true);
    verdicts.default.set(t.id, d.verdict);
    verdicts.legacy.set(t.id, l.verdict);
    details.set(t.id, d.result && !d.result.ok ? `${d.result.code}: ${d.result.detail}` : (d.error ?? ''));
    const section = `PKITS ${t.id.split('.').slice(0, 2).join('.')}`;
    for (const [label, v] of [
      ['default', d.verdict],
      ['legacyAlgorithms', l.verdict],
    ] as const) {
      const key = `${section} (${label})`;
      const row = tally.get(key) ?? { pass: 0, total: 0 };
      row.total++;
      if ((v === 'SUCCESS') === t.should_validate) row.pass++;
      tally.set(key, row);
    }
  }
  printTally('NIST PKITS: tests passed per section and policy', tally);
}, 120_000);

const expected = (t: PkitsTest): Verdict => (t.should_validate ? 'SUCCESS' : 'FAILURE');

describe('NIST PKITS 4.1-4.7 and 4.16', () => {
  it('has the 78 tests in scope', () => expect(tests).toHaveLength(78));

  it.each(tests.map((t) => [`${t.id} ${t.title}`, t] as const))('%s', (_label, t) => {
    const wantDefault = NEEDS_LEGACY_ALGORITHMS.has(t.id) ? 'FAILURE' : expected(t);
    expect(
      { id: t.id, default: verdicts.default.get(t.id), legacyAlgorithms: verdicts.legacy.get(t.id) },
      details.get(t.id),
    ).toEqual({
      id: t.id,
      default: wantDefault,
      legacyAlgorithms: expected(t),
    });
  });

  it('passes 76 of 78 by default and all 78 with legacyAlgorithms (a drop fails the suite)', () => {
    const pass = (m: Map<string, Verdict>) => tests.filter((t) => m.get(t.id) === expected(t)).length;
    expect({ default: pass(verdicts.default), legacyAlgorithms: pass(verdicts.legacy) }).toEqual({
      default: 76,
      legacyAlgorithms: 78,
    });
  });
});
