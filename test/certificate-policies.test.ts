/**
 * Certificate policies against OpenSSL as the oracle: a PKI made with the OpenSSL CLI
 * (test/fixtures/openssl-policy-pki.sh) with certificatePolicies, policyMappings, policyConstraints
 * (critical and not) and inhibitAnyPolicy; for every leaf and each set of policy inputs, certgate's
 * verdict must match `openssl verify -x509_strict -policy_check` given the same inputs, and its
 * `policies` must match the user policies `-policy_print` lists.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type PoliciesOption } from 'certgate';
import { opensslVerify, removeTempDirs, tempDir } from './helpers/oracle.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/openssl-policy-pki.sh', import.meta.url));
const P1 = '1.3.6.1.4.1.55555.1.1';
const P2 = '1.3.6.1.4.1.55555.1.2';
const P3 = '1.3.6.1.4.1.55555.1.3';
const ANY = '2.5.29.32.0';

const LEAVES = [
  'p12-leaf-p1',
  'p12-leaf-p2',
  'p12-leaf-p3',
  'p12-leaf-none',
  'explicit-leaf-p1',
  'explicit-leaf-p3',
  'explicit-leaf-none',
  'explicitcrit-leaf-p1',
  'map-leaf-p2',
  'map-leaf-p1',
  'nomap-leaf-p2',
  'any-leaf-p3',
  'noany-leaf-p1',
] as const;

/** certgate's `policies` option for each set of inputs. */
const INPUTS: Record<string, PoliciesOption> = {
  default: {},
  explicit: { requireExplicit: true },
  'initial P1': { initial: [P1] },
  'initial P2,P3 explicit': { initial: [P2, P3], requireExplicit: true },
  'inhibit mapping': { inhibitMapping: true, requireExplicit: true },
  'inhibit anyPolicy': { inhibitAnyPolicy: true, requireExplicit: true },
};

/**
 * The `openssl verify` flags that mean the same (RFC 5280 6.1.1). The user-initial-policy-set is
 * always given: without `-policy`, OpenSSL takes it as empty rather than RFC 5280's default
 * {anyPolicy}, and then refuses every path where explicit policy is required (by -explicit_policy
 * or by a certificate's requireExplicitPolicy), however valid its policies.
 */
function opensslFlags(option: PoliciesOption): string[] {
  const flags = (option.initial ?? [ANY]).flatMap((p) => ['-policy', p]);
  if (option.requireExplicit) flags.push('-explicit_policy');
  if (option.inhibitMapping) flags.push('-inhibit_map');
  if (option.inhibitAnyPolicy) flags.push('-inhibit_any');
  return flags;
}

let dir: string;

beforeAll(() => {
  dir = tempDir('certgate-policies-');
  execFileSync('bash', [SCRIPT, dir], { stdio: 'pipe' });
});

afterAll(() => removeTempDirs());

/** The policies `-policy_print` lists under `heading` ("Authority Policies" or "User Policies"). */
function printedPolicies(output: string, heading: string): string[] {
  const lines = output.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${heading}:`));
  if (start < 0 || lines[start]?.includes('<empty>')) return [];
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith(' ')) break;
    const m = /^ {2}Policy: (.+)$/.exec(line);
    if (m) out.push(m[1] === 'X509v3 Any Policy' ? ANY : (m[1] as string));
  }
  return out.sort();
}

async function compare(leaf: string, inputs: string) {
  const option = INPUTS[inputs] as PoliciesOption;
  const file = (name: string) => join(dir, `${name}.pem`);
  const openssl = opensslVerify(file(leaf), {
    caFile: file('root'),
    untrustedFile: file('intermediates'),
    extra: ['-policy_check', '-policy_print', ...opensslFlags(option)],
  });
  const verifier = createVerifier({
    ca: readFileSync(file('root')),
    intermediates: readFileSync(file('intermediates')),
    policies: option,
  });
  const result = await verifier.verify(readFileSync(file(leaf)));
  return {
    openssl: openssl.ok ? printedPolicies(openssl.output, 'User Policies') : 'refused',
    certgate: result.ok ? [...result.policies].sort() : result.code,
    output: openssl.output,
  };
}

describe('certificate policies: certgate and openssl verify -policy_check agree', () => {
  const cases = LEAVES.flatMap((leaf) => Object.keys(INPUTS).map((inputs) => [leaf, inputs] as const));

  it.each(cases)('%s with %s inputs', async (leaf, inputs) => {
    const { openssl, certgate, output } = await compare(leaf, inputs);
    const expected = openssl === 'refused' ? 'CERT_POLICY_INVALID' : openssl;
    expect(certgate, output).toEqual(expected);
  });
});

describe('the policy PKI is not trivially agreed on', () => {
  it.each([
    // PKITS 4.8.4's bug: a non-critical policyConstraints requiring an explicit policy.
    ['explicit-leaf-p3', 'default', 'CERT_POLICY_INVALID'],
    ['explicit-leaf-none', 'default', 'CERT_POLICY_INVALID'],
    ['explicitcrit-leaf-p1', 'default', 'CERT_POLICY_INVALID'],
    ['explicit-leaf-p1', 'default', [P1]],
    ['p12-leaf-p3', 'default', []],
    ['p12-leaf-p3', 'explicit', 'CERT_POLICY_INVALID'],
    ['map-leaf-p2', 'default', [P1]],
    ['map-leaf-p2', 'inhibit mapping', 'CERT_POLICY_INVALID'],
    ['nomap-leaf-p2', 'default', 'CERT_POLICY_INVALID'],
    ['any-leaf-p3', 'default', [P3]],
    ['any-leaf-p3', 'inhibit anyPolicy', 'CERT_POLICY_INVALID'],
    ['noany-leaf-p1', 'default', 'CERT_POLICY_INVALID'],
    ['p12-leaf-p2', 'initial P2,P3 explicit', [P2]],
  ] as const)('%s with %s inputs: %j', async (leaf, inputs, want) => {
    expect((await compare(leaf, inputs)).certgate).toEqual(want);
  });
});
