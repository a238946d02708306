/**
 * NIST PKITS with `openssl verify`, for the README's conformance table: the same 249 tests, inputs
 * and instant as test/unit/conformance/pkits.test.ts, verdicts only (OpenSSL does not print the
 * user-constrained policy set in a comparable form). Two runs: OpenSSL's default checks plus
 * `-crl_check_all`, and with `-policy_check -extended_crl -use_deltas` and each test's policy
 * inputs. Usage: `npx tsx scripts/pkits-openssl.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, loadPkits, pkitsPolicies, type PkitsTest } from '../test/unit/conformance/suites.js';

/** 2020-01-01T00:00:00Z, inside the suite's validity window, as the runner uses. */
const AT = '1577836800';
const dir = mkdtempSync(join(tmpdir(), 'pkits-openssl-'));

function pem(kind: 'certs' | 'crls', name: string): string {
  const out = join(dir, `${name}.pem`);
  const [command, ext] = kind === 'certs' ? ['x509', 'crt'] : ['crl', 'crl'];
  const der = `${FIXTURES}pkits/${kind}/${name}.${ext}`;
  const r = spawnSync('openssl', [command as string, '-inform', 'DER', '-in', der, '-out', out]);
  if (r.status !== 0) throw new Error(`openssl ${command} ${der}: ${r.stderr}`);
  return out;
}

function policyArgs(t: PkitsTest): string[] {
  const e = t.extra;
  const args = ['-policy_check', '-extended_crl', '-use_deltas'];
  // Without -policy, OpenSSL 3.0 takes the initial policy set as empty (not anyPolicy, RFC 5280 6.1.1 (c)).
  const initial = e.SetInitialPolicySet ? pkitsPolicies(e.SetInitialPolicySet) : ['2.5.29.32.0'];
  for (const oid of initial) args.push('-policy', oid);
  if (e.SetInitialExplicitPolicy === 'true') args.push('-explicit_policy');
  if (e.SetInitialPolicyMappingInhibit === 'true') args.push('-inhibit_map');
  if (e.SetInitialInhibitAnyPolicy === 'true') args.push('-inhibit_any');
  return args;
}

function accepts(t: PkitsTest, extra: string[]): boolean {
  const untrusted = join(dir, `${t.id}-untrusted.pem`);
  writeFileSync(untrusted, t.intermediates.map((n) => readFileSync(pem('certs', n), 'utf8')).join(''));
  const args = ['verify', '-x509_strict', '-attime', AT, '-CAfile', pem('certs', t.trust_anchor), '-crl_check_all'];
  if (t.intermediates.length > 0) args.push('-untrusted', untrusted);
  for (const crl of t.crls) args.push('-CRLfile', pem('crls', crl));
  args.push(...extra, pem('certs', t.ee));
  return spawnSync('openssl', args).status === 0;
}

const tally = new Map<string, { plain: number; policy: number; total: number }>();
const missed: string[] = [];
for (const t of loadPkits()) {
  const section = t.id.split('.').slice(0, 2).join('.');
  const row = tally.get(section) ?? { plain: 0, policy: 0, total: 0 };
  row.total++;
  if (accepts(t, []) === t.should_validate) row.plain++;
  if (accepts(t, policyArgs(t)) === t.should_validate) row.policy++;
  else missed.push(t.id);
  tally.set(section, row);
}
rmSync(dir, { recursive: true, force: true });
const sum = (k: 'plain' | 'policy') => [...tally.values()].reduce((n, r) => n + r[k], 0);
for (const [section, r] of tally)
  console.log(`${section.padEnd(5)} default ${r.plain}/${r.total}  policy ${r.policy}/${r.total}`);
console.log(`total: default ${sum('plain')}/249, with -policy_check -extended_crl -use_deltas ${sum('policy')}/249`);
console.log(`missed with policy checks: ${missed.join(', ')}`);
