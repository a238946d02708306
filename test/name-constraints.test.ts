/**
 * Name constraints against OpenSSL as an oracle: test/fixtures/openssl-nc-pki.sh makes, with the
 * OpenSSL CLI alone, CAs constrained on every name form certgate checks (directoryName,
 * rfc822Name, dNSName, URI, iPAddress v4 and v6; permitted and excluded; two constrained CAs in
 * one path; a self-issued key-rollover CA below a constrained one) and leaves inside and outside
 * them. For each leaf, `openssl verify -x509_strict -purpose sslclient` and certgate get the same
 * root and intermediates and must agree, and every refusal must be CERT_NAME_CONSTRAINED.
 *
 * One deliberate disagreement: `noncrit` is issued by a CA whose nameConstraints extension is not
 * critical. OpenSSL accepts it (as the CA/Browser Forum allows non-critical name constraints);
 * RFC 5280 section 4.2.1.10 says "Conforming CAs MUST mark this extension as critical", and
 * certgate follows RFC 5280 (x509-limbo rfc5280::nc::permitted-dns-match-noncritical), so the
 * path is CERT_MALFORMED.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import { opensslVerify, removeTempDirs, tempDir } from './helpers/oracle.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/openssl-nc-pki.sh', import.meta.url));

/** Leaves inside every constraint above them: both tools accept these. */
const ACCEPTED = new Set([
  'dns-ok',
  'dns-apex',
  'dns-other-forms',
  'rollover-ok',
  'email-ok',
  'email-subdomain',
  'dn-ok',
  'dn-case',
  'uri-ok',
  'uri-host',
  'ip4-ok',
  'ip6-ok',
  'nested-ok',
]);

/** Where certgate follows RFC 5280 and OpenSSL does not: leaf -> [OpenSSL accepts, certgate's code]. */
const RFC_OVER_OPENSSL: Record<string, [boolean, string]> = {
  noncrit: [true, 'CERT_MALFORMED'],
};

let dir: string;
let leaves: string[];
let verifier: Verifier;

beforeAll(() => {
  dir = tempDir('certgate-nc-pki-');
  const res = spawnSync('bash', [SCRIPT, dir], { encoding: 'utf8' });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`openssl-nc-pki.sh failed (${res.status}):\n${res.stdout}${res.stderr}`);
  leaves = readFileSync(join(dir, 'leaves.txt'), 'utf8').trim().split('\n');
  verifier = createVerifier({
    ca: readFileSync(join(dir, 'root.pem'), 'utf8'),
    intermediates: readFileSync(join(dir, 'intermediates.pem'), 'utf8'),
  });
});

afterAll(() => removeTempDirs());

describe('name constraints: openssl verify -x509_strict agrees with certgate', () => {
  it('the PKI has the leaves this file expects', () => {
    expect(leaves).toHaveLength(38);
    for (const leaf of [...ACCEPTED, ...Object.keys(RFC_OVER_OPENSSL)]) expect(leaves).toContain(leaf);
  });

  it('every leaf', async () => {
    const rows: string[] = [];
    for (const leaf of leaves) {
      const file = join(dir, `${leaf}.pem`);
      const oracle = opensslVerify(file, {
        caFile: join(dir, 'root.pem'),
        untrustedFile: join(dir, 'intermediates.pem'),
      });
      const ours = await verifier.verify(readFileSync(file, 'utf8'));
      const theirs = oracle.ok ? 'OK' : oracle.output.trim();
      const said = `openssl: ${theirs}; certgate: ${ours.ok ? 'OK' : `${ours.code}: ${ours.detail}`}`;
      rows.push(`${leaf.padEnd(26)} openssl ${oracle.ok ? 'OK' : 'refuses'}  certgate ${ours.ok ? 'OK' : ours.code}`);
      const exception = RFC_OVER_OPENSSL[leaf];
      if (exception) {
        expect(oracle.ok, `${leaf}: ${said}`).toBe(exception[0]);
        expect(ours.ok ? 'OK' : ours.code, `${leaf}: ${said}`).toBe(exception[1]);
        continue;
      }
      expect(ours.ok, `${leaf}: ${said}`).toBe(oracle.ok);
      expect(ours.ok, `${leaf}: ${said}`).toBe(ACCEPTED.has(leaf));
      if (!ours.ok) expect(ours.code, `${leaf}: ${said}`).toBe('CERT_NAME_CONSTRAINED');
    }
    console.log(`name constraints, openssl verify vs certgate\n${rows.join('\n')}`);
  });
});
