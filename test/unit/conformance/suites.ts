/** Loads the conformance vectors copied into test/fixtures/conformance (see its README). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createVerifier, type VerifierOptions, type VerifyResult } from 'certgate';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/conformance/', import.meta.url));

export type Verdict = 'SUCCESS' | 'FAILURE';

export interface LimboCase {
  id: string;
  description: string;
  features: string[];
  validation_kind: 'SERVER' | 'CLIENT';
  trusted_certs: string[];
  untrusted_intermediates: string[];
  peer_certificate: string;
  validation_time: string | null;
  extended_key_usage: string[];
  expected_result: Verdict;
  max_chain_depth: number | null;
  crls: string[];
  conflicts_with: string[];
}

export interface Category {
  topic: string;
  tier: 'A-core' | 'B-pedantic/webpki-profile';
}

export function loadLimbo(): { cases: LimboCase[]; categories: Record<string, Category> } {
  const suite = JSON.parse(readFileSync(`${FIXTURES}x509-limbo/limbo-client-subset.json`, 'utf8')) as {
    testcases: LimboCase[];
  };
  const categories = JSON.parse(readFileSync(`${FIXTURES}x509-limbo/categories.json`, 'utf8')) as Record<
    string,
    Category
  >;
  return { cases: suite.testcases, categories };
}

export interface PkitsTest {
  id: string;
  title: string;
  trust_anchor: string;
  intermediates: string[];
  ee: string;
  crls: string[];
  should_validate: boolean;
  /** The policy inputs that differ from RFC 5280 6.1.1's defaults, and the expected user-constrained set. */
  extra: Record<string, string>;
}

/** All 249 tests, sections 4.1 to 4.16. */
export function loadPkits(): PkitsTest[] {
  return JSON.parse(readFileSync(`${FIXTURES}pkits/pkits.json`, 'utf8')) as PkitsTest[];
}

/** PKITS policy names as OIDs (PKITS 1.0.1 section 3.2). */
const PKITS_POLICY: Record<string, string> = {
  anyPolicy: '2.5.29.32.0',
  'NIST-test-policy-1': '2.16.840.1.101.3.2.1.48.1',
  'NIST-test-policy-2': '2.16.840.1.101.3.2.1.48.2',
  'NIST-test-policy-3': '2.16.840.1.101.3.2.1.48.3',
  'NIST-test-policy-6': '2.16.840.1.101.3.2.1.48.6',
};

/** A quoted, comma-separated PKITS policy list as OIDs (`""` is the empty set). */
export function pkitsPolicies(quoted: string): string[] {
  const names = quoted.replace(/^"|"$/g, '');
  if (names === '') return [];
  return names.split(',').map((name) => {
    const oid = PKITS_POLICY[name];
    if (!oid) throw new Error(`unknown PKITS policy name ${name}`);
    return oid;
  });
}

export const pkitsCert = (name: string) => readFileSync(`${FIXTURES}pkits/certs/${name}.crt`);
export const pkitsCrl = (name: string) => readFileSync(`${FIXTURES}pkits/crls/${name}.crl`);

/** Runs one verification; a throw (which createVerifier may do for a malformed trust anchor) is a FAILURE verdict. */
export async function verdictOf(
  options: VerifierOptions,
  chain: string | Buffer,
  at: Date | undefined,
): Promise<{ verdict: Verdict; result?: VerifyResult; error?: string }> {
  try {
    const result = await createVerifier(options).verify(chain, at ? { at } : undefined);
    return { verdict: result.ok ? 'SUCCESS' : 'FAILURE', result };
  } catch (err) {
    return { verdict: 'FAILURE', error: (err as Error).message };
  }
}

/** Prints `topic  passed/total` lines, for the README table and for humans reading CI logs. */
export function printTally(title: string, rows: Map<string, { pass: number; total: number }>): void {
  const lines = [...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([topic, { pass, total }]) => `  ${topic.padEnd(58)} ${pass}/${total}`);
  console.log(`${title}\n${lines.join('\n')}`);
}
