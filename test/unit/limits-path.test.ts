/**
 * Path limits at the point where they trip, each exactly met (accepted) and exceeded by one
 * (refused with its reason code): the signature-check budget of path building
 * (MAX_SIGNATURE_COST, in P-256 checks here), the chain depth (maxChainDepth and its ceiling MAX_CHAIN_DEPTH_LIMIT),
 * the serial number length (MAX_SERIAL_OCTETS) and the key-strength floors (MIN_RSA_BITS, the
 * multiple-of-8 rule, MIN_LEGACY_DSA_BITS). Certificates are built in-process; the clock is frozen.
 */
// Before @peculiar/x509 (its DI container needs the reflect polyfill at import time).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertgateError, createVerifier, type VerifyResult } from 'certgate';
import { issue, type Made } from './pki.js';
import { MAX_SIGNATURE_COST } from '../../src/path/builder.js';
import { MAX_SERIAL_OCTETS } from '../../src/path/certificate-rules.js';
import { DEFAULT_MAX_CHAIN_DEPTH, MAX_CHAIN_DEPTH_LIMIT } from '../../src/verifier/options.js';
import {
  keyPolicyViolation,
  signatureCost,
  MAX_LEGACY_DSA_BITS,
  MAX_RSA_BITS,
  MAX_RSA_PUBLIC_EXPONENT,
  MIN_LEGACY_DSA_BITS,
  MIN_RSA_BITS,
} from '../../src/x509/key-policy.js';
import type { PublicKeyInfo } from '../../src/x509/certificate.js';

/** Inside every certificate's validity (pki.ts: 2020 to 2030). */
const AT = Date.UTC(2025, 0, 1);
const clock = { now: () => AT };
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

let root: Made;
const der = (m: Made): Buffer => m.cert.der;
const verify = (chain: Made[], options: { maxChainDepth?: number; intermediates?: Buffer[] } = {}) =>
  createVerifier({ ca: der(root), clock, ...options }).verify(chain.map(der));
const outcome = (r: VerifyResult) => (r.ok ? 'accepted' : r.code);

beforeAll(async () => {
  root = await issue({ subject: 'CN=Limits Root', ca: true, omit: ['aki'] });
});

describe('MAX_SIGNATURE_COST: the weighted signature budget of one path search', () => {
  /**
   * A leaf whose issuer name is shared by configured decoy CA certificates with other keys, listed
   * before the real issuer. The decoys carry the real issuer's key identifier, so akiRank puts them
   * in the same rank as the real one (0), and the pool keeps configuration order: every decoy
   * costs one failed signature check, then the real issuer one, then the anchor one. All keys are
   * P-256, one cost unit each, so the budget is MAX_SIGNATURE_COST checks. (Decoys are configured:
   * a presented chain adds at most MAX_PRESENTED_PER_NAME certificates of one name.)
   */
  let leaf: Made;
  let issuer: Made;
  let decoys: Made[];
  const intermediates = (list: Made[]) => ({ intermediates: list.map(der) });
  beforeAll(async () => {
    issuer = await issue({ subject: 'CN=Crowded Issuer', issuer: root, ca: true });
    leaf = await issue({ subject: 'CN=crowded leaf', issuer, eku: [CLIENT_AUTH] });
    const skiOfIssuer = new x509.SubjectKeyIdentifierExtension(issuer.keyId);
    const decoy = () =>
      issue({ subject: 'CN=Crowded Issuer', issuer: root, ca: true, omit: ['ski'], extra: [skiOfIssuer] });
    decoys = await Promise.all(Array.from({ length: MAX_SIGNATURE_COST - 1 }, decoy));
    for (const d of decoys) expect(d.cert.subjectKeyId).toBe(leaf.cert.authorityKeyId);
    expect(signatureCost(issuer.cert.key, false)).toBe(1);
  });

  it(`a search that needs exactly ${MAX_SIGNATURE_COST} P-256 signature checks succeeds`, async () => {
    const r = await verify([leaf], intermediates([...decoys.slice(0, MAX_SIGNATURE_COST - 2), issuer]));
    expect(outcome(r)).toBe('accepted');
    if (r.ok) expect(r.chain.map((c) => c.subject.CN)).toEqual(['crowded leaf', 'Crowded Issuer', 'Limits Root']);
  });

  it(`one that needs ${MAX_SIGNATURE_COST + 1} is refused CERT_UNTRUSTED: gave up after the budget`, async () => {
    const r = await verify([leaf], intermediates([...decoys, issuer]));
    expect(outcome(r)).toBe('CERT_UNTRUSTED');
    if (!r.ok) {
      expect(r.detail).toMatch(
        new RegExp(
          `^gave up .* after ${MAX_SIGNATURE_COST} signature checks ` +
            `\\(signature cost budget of ${MAX_SIGNATURE_COST} spent\\)$`,
        ),
      );
    }
  });

  it('the budget counts checks made, not certificates configured: the real issuer first needs two', async () => {
    expect(outcome(await verify([leaf], intermediates([issuer, ...decoys])))).toBe('accepted');
  });
});

/**
 * `n` CA certificates under the root (CN=Depth n issued by the root, ..., CN=Depth 1 at the bottom)
 * and a leaf under each: `leaves[k]` has a path of exactly k intermediates. `rolloverAt` adds a
 * self-issued certificate (same name, new key) under CN=Depth rolloverAt, which then signs below.
 */
async function ladder(n: number, rolloverAt?: number): Promise<{ leaves: Made[][] }> {
  let issuer = root;
  const above: Made[] = [];
  const leaves: Made[][] = [];
  for (let i = n; i >= 1; i--) {
    let ca = await issue({ subject: `CN=Depth ${i}`, issuer, ca: true });
    above.unshift(ca);
    if (i === rolloverAt) {
      ca = await issue({ subject: `CN=Depth ${i}`, issuer: ca, ca: true });
      expect(ca.cert.selfIssued).toBe(true);
      above.unshift(ca);
    }
    issuer = ca;
    const leaf = await issue({ subject: `CN=leaf under ${i}`, issuer, eku: [CLIENT_AUTH] });
    leaves[n - i + 1] = [leaf, ...above];
  }
  return { leaves };
}

const LIMIT = MAX_CHAIN_DEPTH_LIMIT;

describe('maxChainDepth and MAX_CHAIN_DEPTH_LIMIT', () => {
  let deep: Made[][];
  beforeAll(async () => {
    deep = (await ladder(LIMIT + 1)).leaves;
  });

  it(`the option accepts ${LIMIT} and refuses ${LIMIT + 1} with CONFIG_INVALID`, () => {
    expect(() => createVerifier({ ca: der(root), maxChainDepth: LIMIT })).not.toThrow();
    let thrown: unknown;
    try {
      createVerifier({ ca: der(root), maxChainDepth: LIMIT + 1 });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CertgateError);
    expect((thrown as CertgateError).code).toBe('CONFIG_INVALID');
    // The message names the option and its ceiling.
    expect((thrown as CertgateError).message).toContain(`'maxChainDepth' must be an integer from 0 to ${LIMIT}`);
  });

  it(`maxChainDepth ${LIMIT}: ${LIMIT} intermediates are accepted, ${LIMIT + 1} refused CERT_UNTRUSTED`, async () => {
    const exact = deep[LIMIT] as Made[];
    const over = deep[LIMIT + 1] as Made[];
    expect([exact.length, over.length]).toEqual([LIMIT + 1, LIMIT + 2]);
    const depth = { maxChainDepth: LIMIT };
    expect(outcome(await verify(exact, depth))).toBe('accepted');
    const refused = await verify(over, depth);
    expect(outcome(refused)).toBe('CERT_UNTRUSTED');
    if (!refused.ok) expect(refused.detail).toContain(`no path within maxChainDepth ${LIMIT}`);
  });

  it(`the default maxChainDepth (${DEFAULT_MAX_CHAIN_DEPTH}): that many intermediates pass, one more not`, async () => {
    expect(outcome(await verify(deep[DEFAULT_MAX_CHAIN_DEPTH] as Made[]))).toBe('accepted');
    expect(outcome(await verify(deep[DEFAULT_MAX_CHAIN_DEPTH + 1] as Made[]))).toBe('CERT_UNTRUSTED');
  });

  it(`a self-issued intermediate does not count: ${LIMIT} plus one rollover certificate pass`, async () => {
    const { leaves } = await ladder(LIMIT + 1, 5);
    const exact = leaves[LIMIT] as Made[];
    // The leaf, 32 CA certificates, and the self-issued one among them.
    expect(exact.length).toBe(LIMIT + 2);
    expect(exact.filter((m) => m.cert.selfIssued)).toHaveLength(1);
    const depth = { maxChainDepth: LIMIT };
    const r = await verify(exact, depth);
    expect(outcome(r)).toBe('accepted');
    if (r.ok) expect(r.chain).toHaveLength(LIMIT + 3);
    expect(outcome(await verify(leaves[LIMIT + 1] as Made[], depth))).toBe('CERT_UNTRUSTED');
  });
});

const OCTETS = MAX_SERIAL_OCTETS;

describe('MAX_SERIAL_OCTETS', () => {
  /** A positive serial of `octets` DER content octets (0x7f first: no sign octet is added). */
  const serialOf = (octets: number) => `7f${'5a'.repeat(octets - 1)}`;
  let issuer: Made;
  beforeAll(async () => {
    issuer = await issue({ subject: 'CN=Serial Issuer', issuer: root, ca: true });
  });

  it(`a leaf serial of ${OCTETS} octets is accepted, ${OCTETS + 1} refused CERT_MALFORMED`, async () => {
    const exact = await issue({
      subject: 'CN=serial ok',
      issuer,
      eku: [CLIENT_AUTH],
      serial: serialOf(OCTETS),
    });
    const over = await issue({
      subject: 'CN=serial long',
      issuer,
      eku: [CLIENT_AUTH],
      serial: serialOf(OCTETS + 1),
    });
    expect([exact.cert.serialLength, over.cert.serialLength]).toEqual([OCTETS, OCTETS + 1]);
    expect(outcome(await verify([exact, issuer]))).toBe('accepted');
    const r = await verify([over, issuer]);
    expect(outcome(r)).toBe('CERT_MALFORMED');
    if (!r.ok) expect(r.detail).toContain(`is ${OCTETS + 1} octets long (at most ${OCTETS})`);
  });

  it(`an intermediate serial of ${OCTETS + 1} octets is refused too; a trust anchor's is exempt`, async () => {
    const longIssuer = await issue({
      subject: 'CN=Long Serial CA',
      issuer: root,
      ca: true,
      serial: serialOf(OCTETS + 1),
    });
    const leaf = await issue({ subject: 'CN=under long', issuer: longIssuer, eku: [CLIENT_AUTH] });
    expect(outcome(await verify([leaf, longIssuer]))).toBe('CERT_MALFORMED');
    // Configured alone, it is the anchor (next to the root that issues it, it would be an intermediate).
    const r = await createVerifier({ ca: der(longIssuer), clock }).verify(der(leaf));
    expect(outcome(r)).toBe('accepted');
    const bundled = await createVerifier({ ca: [der(root), der(longIssuer)], clock }).verify(der(leaf));
    expect(outcome(bundled)).toBe('CERT_MALFORMED');
  });
});

describe('key strength floors (keyPolicyViolation)', () => {
  const rsa = (bits: number, type: 'rsa' | 'rsa-pss' = 'rsa', publicExponent = 65537n): PublicKeyInfo => ({
    type,
    algorithm: type === 'rsa' ? '1.2.840.113549.1.1.1' : '1.2.840.113549.1.1.10',
    bits,
    publicExponent,
    publicExponentBits: publicExponent > 0n ? publicExponent.toString(2).length : 0,
  });
  const dsa = (bits: number | undefined): PublicKeyInfo => ({
    type: 'dsa',
    algorithm: '1.2.840.10040.4.1',
    hasParameters: bits !== undefined,
    ...(bits === undefined ? {} : { bits }),
  });

  it.each(['rsa', 'rsa-pss'] as const)(
    `%s: ${MIN_RSA_BITS} bits pass; ${MIN_RSA_BITS - 1} and ${MIN_RSA_BITS - 8} fail`,
    (type) => {
      expect(keyPolicyViolation(rsa(MIN_RSA_BITS, type), false)).toBeUndefined();
      expect(keyPolicyViolation(rsa(MIN_RSA_BITS + 8, type), false)).toBeUndefined();
      for (const bits of [MIN_RSA_BITS - 1, MIN_RSA_BITS - 8]) {
        expect(keyPolicyViolation(rsa(bits, type), false)).toBe(
          `${bits}-bit RSA key (at least ${MIN_RSA_BITS} bits are required)`,
        );
        // legacyAlgorithms relaxes nothing for RSA.
        expect(keyPolicyViolation(rsa(bits, type), true)).toContain(`at least ${MIN_RSA_BITS} bits`);
      }
    },
  );

  it('RSA above the floor must still be a multiple of 8 bits', () => {
    for (const bits of [MIN_RSA_BITS + 1, MIN_RSA_BITS + 4, MIN_RSA_BITS + 7]) {
      expect(keyPolicyViolation(rsa(bits), false)).toContain('multiple of 8');
    }
  });

  it(`RSA: at most ${MAX_RSA_BITS} bits; the exponent odd, from 3 to ${MAX_RSA_PUBLIC_EXPONENT}`, () => {
    expect(keyPolicyViolation(rsa(MAX_RSA_BITS), false)).toBeUndefined();
    expect(keyPolicyViolation(rsa(MAX_RSA_BITS + 8), false)).toBe(
      `${MAX_RSA_BITS + 8}-bit RSA key (at most ${MAX_RSA_BITS} bits are accepted)`,
    );
    for (const e of [3n, 65537n, MAX_RSA_PUBLIC_EXPONENT])
      expect(keyPolicyViolation(rsa(2048, 'rsa', e), false)).toBe(undefined);
    for (const e of [-1n, 0n, 1n, 2n, 65536n]) {
      expect(keyPolicyViolation(rsa(2048, 'rsa', e), false)).toBe(
        `RSA key with the invalid (${e}) public exponent (an odd value from 3 to 2^31-1 is required)`,
      );
    }
    for (const bits of [32, 3071]) {
      expect(keyPolicyViolation(rsa(3072, 'rsa-pss', (1n << BigInt(bits - 1)) | 1n), true)).toBe(
        `RSA key with a ${bits}-bit public exponent (an odd value from 3 to 2^31-1 is required)`,
      );
    }
    expect(keyPolicyViolation({ type: 'rsa', algorithm: '1.2.840.113549.1.1.1', bits: 2048 }, false)).toBe(
      'malformed RSA key',
    );
  });

  it('signatureCost: one unit for P-256 and RSA up to 4096; more for the costly; refused keys cost 1', () => {
    const ec = (curve: string): PublicKeyInfo => ({ type: 'ec', algorithm: '1.2.840.10045.2.1', curve });
    expect(signatureCost(ec('1.2.840.10045.3.1.7'), false)).toBe(1);
    expect(signatureCost(ec('1.3.132.0.35'), false)).toBe(21);
    expect(signatureCost(rsa(2048), false)).toBe(1);
    expect(signatureCost(rsa(4096), false)).toBe(1);
    expect(signatureCost(rsa(8192), false)).toBe(8);
    expect(signatureCost(rsa(8192, 'rsa', MAX_RSA_PUBLIC_EXPONENT), false)).toBe(15);
    expect(signatureCost(dsa(3072), true)).toBe(20);
    expect(signatureCost(dsa(undefined), true)).toBe(20);
    expect(signatureCost(rsa(16384), false)).toBe(1);
  });

  it(`DSA: only with legacyAlgorithms, then ${MIN_LEGACY_DSA_BITS} bits pass, ${MIN_LEGACY_DSA_BITS - 1} fail`, () => {
    expect(keyPolicyViolation(dsa(2048), false)).toContain('legacyAlgorithms');
    expect(keyPolicyViolation(dsa(MIN_LEGACY_DSA_BITS), true)).toBeUndefined();
    expect(keyPolicyViolation(dsa(MIN_LEGACY_DSA_BITS - 1), true)).toBe(
      `${MIN_LEGACY_DSA_BITS - 1}-bit DSA key (at least ${MIN_LEGACY_DSA_BITS} bits even with legacyAlgorithms)`,
    );
    expect(keyPolicyViolation(dsa(MAX_LEGACY_DSA_BITS), true)).toBeUndefined();
    expect(keyPolicyViolation(dsa(MAX_LEGACY_DSA_BITS + 1), true)).toBe(
      `${MAX_LEGACY_DSA_BITS + 1}-bit DSA key (at most ${MAX_LEGACY_DSA_BITS} bits are accepted)`,
    );
    // Inherited parameters: the issuer's key, checked in its own right, carries the size.
    expect(keyPolicyViolation(dsa(undefined), true)).toBeUndefined();
  });

  it(`end to end: a ${MIN_RSA_BITS}-bit RSA leaf is accepted, a ${MIN_RSA_BITS - 8}-bit one refused`, async () => {
    const crypto = webcrypto as unknown as Crypto;
    const rsaKeys = (modulusLength: number) =>
      crypto.subtle.generateKey(
        { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
        true,
        ['sign', 'verify'],
      );
    const issuer = await issue({ subject: 'CN=RSA Leaf Issuer', issuer: root, ca: true });
    const [strong, weak] = await Promise.all([MIN_RSA_BITS, MIN_RSA_BITS - 8].map(rsaKeys));
    const ok = await issue({ subject: 'CN=rsa ok', issuer, eku: [CLIENT_AUTH], keys: strong as CryptoKeyPair });
    const short = await issue({ subject: 'CN=rsa short', issuer, eku: [CLIENT_AUTH], keys: weak as CryptoKeyPair });
    expect([ok.cert.key.bits, short.cert.key.bits]).toEqual([MIN_RSA_BITS, MIN_RSA_BITS - 8]);
    expect(outcome(await verify([ok, issuer]))).toBe('accepted');
    expect(outcome(await verify([short, issuer]))).toBe('CERT_ALGORITHM_UNSUPPORTED');
  });
});
