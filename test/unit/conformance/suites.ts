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
}

/** Sections 4.1 to 4.7 and 4.16: the client-certificate verifier's scope (78 tests). */
export function loadPkits(): PkitsTest[] {
  const all = JSON.parse(readFileSync(`${FIXTURES}pkits/pkits.json`, 'utf8')) as PkitsTest[];
  return all.filter((t) => /^4\.([1-7]|16)\./.test(t.id));
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
