/**
 * A large CRL (OpenSSL-made, 60,000 entries with a reason code each, about 3 MB) of an issuing CA
 * that clients send, configured as a static value with `ca` = the root only: its signature is too
 * large to check on the request path (LARGE_CRL_TBS_BYTES), so it is checked off it at first use
 * and the verification decided again. A forged CRL of that size is never used.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import { pemToDer, removeTempDirs, tempDir } from './helpers/oracle.js';
import { OpensslCa } from './helpers/openssl-ca.js';
import { CrlSignatures, LARGE_CRL_TBS_BYTES } from '../src/verifier/crl-signatures.js';
import { CertificateCache } from '../src/verifier/certificate-cache.js';
import { parseCrl } from '../src/revocation/crl.js';
import type { ParsedCertificate } from '../src/x509/certificate.js';

let root: OpensslCa;
let issuing: OpensslCa;
let impostor: OpensslCa;
let alice: { chain: Buffer; file: string };
let bob: { chain: Buffer; file: string };
let bigCrl: Buffer;
const verifiers: Verifier[] = [];

beforeAll(() => {
  const dir = tempDir('certgate-large-candidate-');
  root = OpensslCa.root(dir, 'Large Root');
  issuing = root.intermediate('Large Issuing CA', []);
  impostor = OpensslCa.root(`${dir}/other`, 'Other Root').intermediate('Large Issuing CA', []);
  alice = issuing.leaf('alice', []);
  bob = issuing.leaf('bob', []);
  issuing.revoke(alice.file, 'keyCompromise');
  issuing.revokeMany(60_000);
  bigCrl = issuing.crl();
  impostor.revokeMany(60_000);
});

afterAll(() => {
  for (const v of verifiers) v.close();
  removeTempDirs();
});

function rootOnly(crl: Buffer | Buffer[]): Verifier {
  const v = createVerifier({ ca: readFileSync(root.cert), crl });
  verifiers.push(v);
  return v;
}

const code = (r: Awaited<ReturnType<Verifier['verify']>>) => (r.ok ? 'accepted' : r.code);

describe('a large static CRL of a client-sent CA', () => {
  it('is over the size checked on the request path', () => {
    expect(bigCrl.length).toBeGreaterThan(2 * LARGE_CRL_TBS_BYTES);
  });

  it('decides at first use: the revoked client refused, the other let in, concurrent ones alike', async () => {
    const v = rootOnly(bigCrl);
    const results = await Promise.all([v.verify(alice.chain), v.verify(bob.chain), v.verify(alice.chain)]);
    expect(results.map(code)).toEqual(['CERT_REVOKED', 'accepted', 'CERT_REVOKED']);
    expect(code(await v.verify(bob.chain))).toBe('accepted');
  });

  it('a large CRL of another key under the same name is never used', async () => {
    const v = rootOnly(impostor.crl());
    const r = await v.verify(bob.chain);
    expect(code(r)).toBe('REVOCATION_UNKNOWN');
    expect(r.ok ? '' : r.detail).toMatch(/names another key/);
  });

  it('a forged large CRL (the same authority key, a signature that does not verify) is never used', async () => {
    const forged = Buffer.from(bigCrl);
    forged.writeUInt8((forged.at(-1) as number) ^ 0x01, forged.length - 1);
    const v = rootOnly(forged);
    const r = await v.verify(bob.chain);
    expect(code(r)).toBe('REVOCATION_UNKNOWN');
    expect(r.ok ? '' : r.detail).toMatch(/its signature does not verify with the key of .*Large Issuing CA/);
  });

  it('the signature is not checked on the request path, then is known once checked off it', async () => {
    const cache = new CertificateCache(16, false, []);
    const signer = cache.parse(pemToDer(readFileSync(issuing.cert, 'utf8'))) as ParsedCertificate;
    const crl = parseCrl(bigCrl);
    const signatures = new CrlSignatures(cache, false);
    expect(signatures.signedBy(crl, signer)).toBeUndefined();
    await signatures.check([{ crl, signer }]);
    expect(signatures.signedBy(crl, signer)).toBe(true);
    expect(crl.verifiedWith.has(signer.id)).toBe(true);
  });
});
