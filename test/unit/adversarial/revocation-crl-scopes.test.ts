/**
 * Two usable CRLs of one issuer in different scopes: a full CRL and a partition CRL (an
 * issuingDistributionPoint naming one distribution point), made by `openssl ca`. A CA may number
 * each scope on its own, so CRL numbers say nothing across scopes: when several usable CRLs cover
 * a certificate, any of them listing it revokes it (RFC 5280 sections 5.2.3, 5.2.5, 6.3.3).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from 'certgate';
import { opensslCrlNextUpdates, removeTempDirs, tempDir } from '../../helpers/oracle.js';
import { OpensslCa } from '../../helpers/openssl-ca.js';

const PARTITION = 'http://crl.example.test/partition-1.crl';

let ca: Buffer;
let partitioned: Buffer;
let unpartitioned: Buffer;
let fullCrl: Buffer;
let partitionCrl: Buffer;

beforeAll(() => {
  const root = OpensslCa.root(tempDir('certgate-crl-scopes-'), 'Scoped CRL CA');
  const decoy = root.leaf('decoy', []);
  root.revoke(decoy.file, 'superseded');
  const inPartition = root.leaf('in-partition', [PARTITION]);
  const outside = root.leaf('outside', []);
  // The full CRL is numbered 0x50 and issued before the revocations below.
  fullCrl = root.crl(undefined, 0x50);
  root.revoke(inPartition.file, 'keyCompromise');
  root.revoke(outside.file, 'keyCompromise');
  // The partition CRL is newer, has its own (lower) numbering, and lists both.
  partitionCrl = root.crl([PARTITION], 0x10);
  ca = readFileSync(root.cert);
  partitioned = inPartition.chain;
  unpartitioned = outside.chain;
});
afterAll(() => removeTempDirs());

describe('CRL numbers are compared only within one scope', () => {
  it('fixture: OpenSSL reads both CRLs', () => {
    for (const der of [fullCrl, partitionCrl]) {
      const pem = `-----BEGIN X509 CRL-----\n${der.toString('base64')}\n-----END X509 CRL-----\n`;
      expect(opensslCrlNextUpdates(pem)).toHaveLength(1);
    }
  });

  it.each([
    ['full CRL first', () => [fullCrl, partitionCrl]],
    ['partition CRL first', () => [partitionCrl, fullCrl]],
  ])('a newer partition CRL with a lower number still revokes (%s)', async (_, crls) => {
    const verifier = createVerifier({ ca, crl: crls() });
    try {
      const r = await verifier.verify(partitioned);
      expect(r.ok ? 'accepted' : r.code).toBe('CERT_REVOKED');
    } finally {
      verifier.close();
    }
  });

  it('a certificate outside the partition is judged by the full CRL alone', async () => {
    const verifier = createVerifier({ ca, crl: [fullCrl, partitionCrl] });
    try {
      // Listed only by the partition CRL, which does not cover it: the full CRL decides (good).
      expect((await verifier.verify(unpartitioned)).ok).toBe(true);
    } finally {
      verifier.close();
    }
  });

  it('fixture: the full CRL alone (issued before the revocation) does not list the partitioned certificate', async () => {
    const verifier = createVerifier({ ca, crl: [fullCrl] });
    try {
      expect((await verifier.verify(partitioned)).ok).toBe(true);
    } finally {
      verifier.close();
    }
  });
});
