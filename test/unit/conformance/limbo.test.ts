/**
 * x509-limbo conformance (186 cases: tier A = RFC 5280 path validation, tier B = stricter Web-PKI
 * profile rules). Every case runs through createVerifier(...).verify(...); tier A must match
 * limbo's expected result, tier B must match the policy recorded for it below.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerifierOptions } from 'certgate';
import { loadLimbo, printTally, verdictOf, type LimboCase, type Verdict } from './suites.js';

/**
 * certgate's decision for each tier B case: follow limbo's strict (Web-PKI / CA/Browser Forum)
 * expectation, or keep the RFC 5280 verdict. Where a tier B case contradicts a tier A case
 * (`conflicts_with`), tier A wins.
 */
const TIER_B_POLICY: Record<string, { follow: 'limbo' | 'rfc5280'; why: string }> = {
  'webpki::cryptographydotio-chain': { follow: 'limbo', why: 'a valid real-world chain' },
  'webpki::cryptographydotio-chain-missing-intermediate': { follow: 'limbo', why: 'no path without the intermediate' },
  'rfc5280::serial::too-long': {
    follow: 'limbo',
    why: 'RFC 5280 4.1.2.2: at most 20 octets (not applied to trust anchors)',
  },
  'rfc5280::serial::zero': {
    follow: 'limbo',
    why: 'RFC 5280 4.1.2.2: serials are positive (not applied to trust anchors)',
  },
  'rfc5280::serial::negative': {
    follow: 'rfc5280',
    why: 'NIST PKITS 4.4.14 (Valid Negative Serial Number) expects acceptance; PKITS is a required suite',
  },
  'rfc5280::aki::cross-signed-root-missing-aki': {
    follow: 'rfc5280',
    why: 'trust anchors are exempt from the AKI rule: tier A cve::cve-2024-0567 has a cross-signed anchor without AKI',
  },
  'webpki::aki::root-with-aki-missing-keyidentifier': {
    follow: 'rfc5280',
    why: 'RFC 5280 4.2.1.1 allows any AKI form in a self-signed root; a CA/B rule',
  },
  'webpki::aki::root-with-aki-authoritycertissuer': {
    follow: 'rfc5280',
    why: 'RFC 5280 allows authorityCertIssuer; a CA/B rule',
  },
  'webpki::aki::root-with-aki-authoritycertserialnumber': {
    follow: 'rfc5280',
    why: 'RFC 5280 allows authorityCertSerialNumber; a CA/B rule',
  },
  'webpki::aki::root-with-aki-all-fields': { follow: 'rfc5280', why: 'RFC 5280 allows these AKI fields; a CA/B rule' },
  'webpki::aki::root-with-aki-ski-mismatch': {
    follow: 'rfc5280',
    why: 'a trust anchor is trusted by configuration; its AKI is informational',
  },
  'webpki::eku::ee-anyeku': {
    follow: 'rfc5280',
    why: 'RFC 5280 4.2.1.12 allows anyExtendedKeyUsage; private client PKIs use it',
  },
  'webpki::eku::ee-critical-eku': { follow: 'rfc5280', why: 'RFC 5280 4.2.1.12 allows a critical EKU' },
  'webpki::eku::ee-without-eku': {
    follow: 'rfc5280',
    why: 'conflicts with tier A rfc5280::eku::ee-without-eku (no EKU = any purpose); NIST PKITS leaves carry no EKU',
  },
  'webpki::eku::root-has-eku': {
    follow: 'rfc5280',
    why: "RFC 5280 allows EKU in a CA; certgate reads it as a constraint, and this root's EKU allows the purpose",
  },
  'webpki::explicit-curve': { follow: 'limbo', why: 'RFC 5480 2.1.1: only named curves' },
  'webpki::malformed-aia': {
    follow: 'limbo',
    why: 'RFC 5280 4.2.2.1: AuthorityInfoAccessSyntax has one or more AccessDescriptions; certgate decodes it',
  },
  'webpki::forbidden-p192-root': { follow: 'limbo', why: 'key policy: P-256, P-384, P-521 only' },
  'webpki::forbidden-p192-leaf': { follow: 'limbo', why: 'key policy: P-256, P-384, P-521 only' },
  'webpki::forbidden-dsa-root': { follow: 'limbo', why: 'key policy: DSA only with legacyAlgorithms' },
  'webpki::forbidden-dsa-leaf': { follow: 'limbo', why: 'key policy: DSA only with legacyAlgorithms' },
  'webpki::forbidden-weak-rsa-key-in-root': { follow: 'limbo', why: 'key policy: RSA of at least 2048 bits' },
  'webpki::forbidden-weak-rsa-in-leaf': { follow: 'limbo', why: 'key policy: RSA of at least 2048 bits' },
  'webpki::forbidden-rsa-not-divisible-by-8-in-root': {
    follow: 'limbo',
    why: 'key policy: RSA modulus a multiple of 8 bits',
  },
  'webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf': {
    follow: 'limbo',
    why: 'key policy: RSA modulus a multiple of 8 bits',
  },
  'webpki::v1-cert': {
    follow: 'limbo',
    why: 'RFC 5280 4.1.2.9: extensions only in v3 certificates (this one is v2 with extensions)',
  },
  'webpki::ee-basicconstraints-ca': { follow: 'rfc5280', why: 'RFC 5280 allows a CA certificate as an end entity' },
  'webpki::ca-as-leaf': { follow: 'rfc5280', why: 'conflicts with tier A rfc5280::ca-as-leaf' },
};

/** Figures of established verifiers on exactly these cases (from the issue), for the README table. */
const EXPECTED_TOTALS = { tierA: 158, tierB: 28, tierBMatchingLimbo: 15 };

function optionsFor(c: LimboCase): VerifierOptions {
  const purpose = c.extended_key_usage.includes('clientAuth')
    ? 'clientAuth'
    : c.extended_key_usage.includes('serverAuth') || c.validation_kind === 'SERVER'
      ? 'serverAuth'
      : 'clientAuth';
  return {
    ca: c.trusted_certs,
    intermediates: c.untrusted_intermediates,
    ...(c.crls.length > 0 ? { crl: c.crls } : {}),
    purpose,
    ...(c.max_chain_depth !== null ? { maxChainDepth: c.max_chain_depth } : {}),
  };
}

const flip = (v: Verdict): Verdict => (v === 'SUCCESS' ? 'FAILURE' : 'SUCCESS');

const { cases, categories } = loadLimbo();
const results = new Map<string, { verdict: Verdict; detail: string }>();

beforeAll(async () => {
  for (const c of cases) {
    const r = await verdictOf(
      optionsFor(c),
      c.peer_certificate,
      c.validation_time ? new Date(c.validation_time) : undefined,
    );
    results.set(c.id, {
      verdict: r.verdict,
      detail: r.result && !r.result.ok ? `${r.result.code}: ${r.result.detail}` : (r.error ?? ''),
    });
  }
  const tally = new Map<string, { pass: number; total: number }>();
  for (const c of cases) {
    const { tier, topic } = categories[c.id] as { tier: string; topic: string };
    const key = `${tier.startsWith('A') ? 'A' : 'B'} ${topic}`;
    const row = tally.get(key) ?? { pass: 0, total: 0 };
    row.total++;
    if (results.get(c.id)?.verdict === c.expected_result) row.pass++;
    tally.set(key, row);
  }
  printTally("x509-limbo: cases matching limbo's expected result, per tier and topic", tally);
}, 120_000);

describe('x509-limbo tier A (RFC 5280 path validation): every case as limbo expects', () => {
  const tierA = cases.filter((c) => categories[c.id]?.tier === 'A-core');
  it('has the 158 tier A cases', () => expect(tierA).toHaveLength(EXPECTED_TOTALS.tierA));
  it.each(tierA.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const r = results.get(c.id);
    expect({ id: c.id, verdict: r?.verdict, detail: r?.verdict === c.expected_result ? undefined : r?.detail }).toEqual(
      { id: c.id, verdict: c.expected_result, detail: undefined },
    );
  });
});

describe("x509-limbo tier B (Web-PKI profile): every case as certgate's recorded policy decides", () => {
  const tierB = cases.filter((c) => categories[c.id]?.tier !== 'A-core');
  it('records a decision for each of the 28 tier B cases, and no other', () => {
    expect(tierB).toHaveLength(EXPECTED_TOTALS.tierB);
    expect(Object.keys(TIER_B_POLICY).sort()).toEqual(tierB.map((c) => c.id).sort());
  });
  it.each(tierB.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const decision = TIER_B_POLICY[c.id];
    expect(decision, `no recorded decision for ${c.id}`).toBeDefined();
    const wanted = decision?.follow === 'limbo' ? c.expected_result : flip(c.expected_result);
    expect({ id: c.id, verdict: results.get(c.id)?.verdict, why: decision?.why }).toEqual({
      id: c.id,
      verdict: wanted,
      why: decision?.why,
    });
  });
  it('matches limbo on the cases certgate adopts (a drop fails the suite)', () => {
    const matching = tierB.filter((c) => results.get(c.id)?.verdict === c.expected_result).length;
    expect(matching).toBe(EXPECTED_TOTALS.tierBMatchingLimbo);
  });
});

describe('x509-limbo hostile inputs', () => {
  it('answers every denial-of-service case with a rejection (path building is bounded)', () => {
    const dos = cases.filter((c) => c.features.includes('denial-of-service'));
    expect(dos.length).toBeGreaterThan(0);
    for (const c of dos) expect(results.get(c.id)?.verdict, c.id).toBe(c.expected_result);
  });
});
