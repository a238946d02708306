/**
 * Revocation and verdict-cache limits at the point where they trip, on a frozen injected clock:
 * - MAX_CRL_SIGNER_DEPTH: separate CRL signers (RFC 5280 6.3.3 (f)) nested exactly that deep are
 *   validated; one more is refused REVOCATION_UNKNOWN "CRL signer paths nest too deeply".
 * - SOFT_FAIL_RECHECK_MS: an acceptance despite an unusable CRL (whenUnavailable 'allow') expires
 *   exactly that long after the verification instant, and is recomputed then, not before.
 * - REJECTION_CACHE_TTL_MS: a refusal is answered from the cache until exactly that long after it
 *   was reached and recomputed after; CERT_NOT_YET_VALID and REVOCATION_UNKNOWN are never cached.
 * - cacheSize (default DEFAULT_CACHE_SIZE): that many verdicts are kept, one more evicts the least
 *   recently used (at a small size: the bound is the same code at any size).
 * "Recomputed" is observed twice over: a new result object (a cache hit returns the remembered
 * one) and the operator event that only a computed verdict emits.
 */
// Before @peculiar/x509 (its DI container needs the reflect polyfill at import time).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type VerifyResult } from 'certgate';
import { issue, type Made } from './pki.js';
import { MAX_CRL_SIGNER_DEPTH } from '../../src/verifier/path-validation.js';
import { REJECTION_CACHE_TTL_MS } from '../../src/verifier/outcome-cache.js';
import { SOFT_FAIL_RECHECK_MS } from '../../src/revocation/path-revocation.js';
import { encodeElement, TAG } from '../../src/x509/der.js';

/** Inside every certificate's validity (pki.ts: 2020 to 2030), with milliseconds on purpose. */
const AT = Date.UTC(2025, 0, 1, 12, 0, 0, 250);
const HOUR = 3_600_000;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const outcome = (r: VerifyResult) => (r.ok ? 'accepted' : r.code);

/** A frozen clock the test moves by hand. */
function frozen(at: number) {
  const clock = { t: at, now: () => clock.t };
  return clock;
}

/** issuingDistributionPoint: distributionPoint fullName = one URI (RFC 5280 5.2.5). */
function idpFor(url: string): x509.Extension {
  const uri = encodeElement(0x86, Buffer.from(url, 'latin1'));
  const value = encodeElement(TAG.SEQUENCE, encodeElement(0xa0, encodeElement(0xa0, uri)));
  return new x509.Extension('2.5.29.28', true, new Uint8Array(value));
}

interface CrlSpec {
  /** Whose name the CRL carries (the CA) and whose key signs it (the CA or a separate signer). */
  name: Made;
  signer: Made;
  number: number;
  idp?: string;
  revoked?: string[];
  thisUpdate?: number;
  nextUpdate?: number;
}

async function crl(spec: CrlSpec): Promise<Buffer> {
  const made = await x509.X509CrlGenerator.create({
    issuer: spec.name.x509.subjectName,
    thisUpdate: new Date(spec.thisUpdate ?? AT - HOUR),
    nextUpdate: new Date(spec.nextUpdate ?? AT + HOUR),
    signingKey: spec.signer.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: [
      new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(spec.number))),
      new x509.AuthorityKeyIdentifierExtension(spec.signer.keyId),
      ...(spec.idp ? [idpFor(spec.idp)] : []),
    ],
    entries: (spec.revoked ?? []).map((serialNumber) => ({ serialNumber, revocationDate: new Date(AT - HOUR) })),
  });
  return Buffer.from(made.rawData);
}

let root: Made;
beforeAll(async () => {
  root = await issue({ subject: 'CN=Revocation Limits CA', ca: true, omit: ['aki'] });
});

describe('MAX_CRL_SIGNER_DEPTH: separate CRL signers whose own status needs another separate signer', () => {
  const url = (k: number) => `http://crl.example/part-${k}.crl`;
  let leaf: Made;
  /** signers[k] (k >= 1): the CA's name, another key, cRLSign only; its CRL is partition k + 1. */
  const signers: Made[] = [];

  beforeAll(async () => {
    leaf = await issue({
      subject: 'CN=signer depth leaf',
      issuer: root,
      eku: [CLIENT_AUTH],
      extra: [new x509.CRLDistributionPointsExtension([url(0)])],
    });
    for (let k = 1; k <= MAX_CRL_SIGNER_DEPTH + 1; k++) {
      signers[k] = await issue({
        subject: 'CN=Revocation Limits CA',
        issuer: root,
        omit: ['keyUsage'],
        extra: [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.cRLSign, true),
          new x509.CRLDistributionPointsExtension([url(k)]),
        ],
      });
    }
  });

  /**
   * The CA's CRLs, one per partition: partition k (covering the leaf for k = 0, signer k after)
   * is signed by signer k + 1 while k < `separate`, and by the CA's own key from there on. The
   * leaf's status then rests on `separate` nested signers, each validated in its own right.
   */
  async function verifyWithNested(separate: number): Promise<{ result: VerifyResult }> {
    const crls: Buffer[] = [];
    for (let k = 0; k <= separate; k++) {
      const signer = k < separate ? (signers[k + 1] as Made) : root;
      // The innermost CRL is due first: a verdict that relies on it expires with it.
      const nextUpdate = k === separate ? AT + HOUR : AT + 2 * HOUR;
      crls.push(await crl({ name: root, signer, number: k + 1, idp: url(k), nextUpdate }));
    }
    const used = signers.slice(1, separate + 1);
    const verifier = createVerifier({
      ca: root.cert.der,
      intermediates: used.map((s) => s.cert.der),
      crl: crls,
      clock: frozen(AT),
    });
    return { result: await verifier.verify(leaf.cert.der) };
  }

  it('each signer is self-issued under the CA, and is not its issuer', () => {
    for (const s of signers.slice(1)) {
      expect(s.cert.selfIssued).toBe(true);
      expect(s.cert.subjectKeyId).not.toBe(root.keyId);
    }
  });

  it(`${MAX_CRL_SIGNER_DEPTH} nested separate signers: accepted, the verdict relying on the innermost`, async () => {
    const { result } = await verifyWithNested(MAX_CRL_SIGNER_DEPTH);
    expect(outcome(result)).toBe('accepted');
    // It expires with the CRL that vouches for the innermost signer (X.509 times are whole seconds).
    if (result.ok) expect(result.expiresAt.getTime()).toBe(Math.floor((AT + HOUR) / 1000) * 1000);
  });

  it(`${MAX_CRL_SIGNER_DEPTH + 1} nested separate signers: REVOCATION_UNKNOWN, nested too deeply`, async () => {
    const { result } = await verifyWithNested(MAX_CRL_SIGNER_DEPTH + 1);
    expect(outcome(result)).toBe('REVOCATION_UNKNOWN');
    if (!result.ok) expect(result.detail).toContain('CRL signer paths nest too deeply');
  });

  it('the deepest signer is refused for its depth alone: on its own, its path and CRL are good', async () => {
    const deepest = signers[MAX_CRL_SIGNER_DEPTH + 1] as Made;
    const ownCrl = await crl({ name: root, signer: root, number: 1, idp: url(MAX_CRL_SIGNER_DEPTH + 1) });
    const r = await createVerifier({ ca: root.cert.der, crl: ownCrl, purpose: false, clock: frozen(AT) }).verify(
      deepest.cert.der,
    );
    expect(outcome(r)).toBe('accepted');
  });
});

describe('SOFT_FAIL_RECHECK_MS: an acceptance despite an unusable CRL', () => {
  it(`expires exactly ${SOFT_FAIL_RECHECK_MS} ms after the verification instant, and is recomputed then`, async () => {
    const leaf = await issue({ subject: 'CN=soft fail leaf', issuer: root, eku: [CLIENT_AUTH] });
    const stale = await crl({ name: root, signer: root, number: 1, thisUpdate: AT - 2 * HOUR, nextUpdate: AT - HOUR });
    const clock = frozen(AT);
    const verifier = createVerifier({ ca: root.cert.der, crl: { values: stale, whenUnavailable: 'allow' }, clock });
    const unknown: boolean[] = [];
    verifier.on('revocation-unknown', ({ allowed }) => unknown.push(allowed));

    const first = await verifier.verify(leaf.cert.der);
    if (!first.ok) throw new Error(first.detail);
    expect(first.expiresAt.getTime()).toBe(AT + SOFT_FAIL_RECHECK_MS);
    expect(unknown).toEqual([true]);

    clock.t = AT + SOFT_FAIL_RECHECK_MS - 1;
    expect(await verifier.verify(leaf.cert.der)).toBe(first);
    expect(unknown).toEqual([true]);

    clock.t = AT + SOFT_FAIL_RECHECK_MS;
    const again = await verifier.verify(leaf.cert.der);
    expect(again).not.toBe(first);
    expect(unknown).toEqual([true, true]);
    if (again.ok) expect(again.expiresAt.getTime()).toBe(AT + 2 * SOFT_FAIL_RECHECK_MS);
  });
});

describe('REJECTION_CACHE_TTL_MS: refusals are remembered, except those time alone can cure', () => {
  let revokedLeaf: Made;
  let revokingCrl: Buffer;
  beforeAll(async () => {
    revokedLeaf = await issue({ subject: 'CN=revoked leaf', issuer: root, eku: [CLIENT_AUTH] });
    revokingCrl = await crl({ name: root, signer: root, number: 1, revoked: [revokedLeaf.cert.serialNumber] });
  });

  /** A verifier that refuses the revoked leaf, and the count of revocations it computed. */
  async function refusedAt(at: number) {
    const clock = frozen(at);
    const verifier = createVerifier({ ca: root.cert.der, crl: revokingCrl, clock });
    const computed: string[] = [];
    verifier.on('certificate-revoked', ({ code }) => computed.push(code));
    const first = await verifier.verify(revokedLeaf.cert.der);
    expect(outcome(first)).toBe('CERT_REVOKED');
    expect(computed).toHaveLength(1);
    return { clock, verifier, first, computed };
  }

  // Each probe gets its own verifier: lru-cache (ttlResolution 1) reuses its last clock reading for
  // a millisecond of real time, so a second probe made right after another could read a stale instant.
  it(`a refusal is answered from the cache at exactly ${REJECTION_CACHE_TTL_MS} ms after it was reached`, async () => {
    const { clock, verifier, first, computed } = await refusedAt(AT);
    clock.t = AT + REJECTION_CACHE_TTL_MS;
    expect(await verifier.verify(revokedLeaf.cert.der)).toBe(first);
    expect(computed).toHaveLength(1);
  });

  it(`and recomputed one millisecond later`, async () => {
    const { clock, verifier, first, computed } = await refusedAt(AT);
    clock.t = AT + REJECTION_CACHE_TTL_MS + 1;
    const again = await verifier.verify(revokedLeaf.cert.der);
    expect(outcome(again)).toBe('CERT_REVOKED');
    expect(again).not.toBe(first);
    expect(computed).toHaveLength(2);
  });

  it('CERT_NOT_YET_VALID is recomputed on every verification', async () => {
    const early = await issue({
      subject: 'CN=early leaf',
      issuer: root,
      eku: [CLIENT_AUTH],
      notBefore: new Date(AT + HOUR),
    });
    const verifier = createVerifier({ ca: root.cert.der, clock: frozen(AT) });
    const first = await verifier.verify(early.cert.der);
    expect(outcome(first)).toBe('CERT_NOT_YET_VALID');
    const second = await verifier.verify(early.cert.der);
    expect(outcome(second)).toBe('CERT_NOT_YET_VALID');
    expect(second).not.toBe(first);
  });

  it('REVOCATION_UNKNOWN is recomputed on every verification', async () => {
    const leaf = await issue({ subject: 'CN=unknown leaf', issuer: root, eku: [CLIENT_AUTH] });
    const stale = await crl({ name: root, signer: root, number: 1, thisUpdate: AT - 2 * HOUR, nextUpdate: AT - HOUR });
    const verifier = createVerifier({ ca: root.cert.der, crl: stale, clock: frozen(AT) });
    const refusedUnknown: boolean[] = [];
    verifier.on('revocation-unknown', ({ allowed }) => refusedUnknown.push(allowed));
    const first = await verifier.verify(leaf.cert.der);
    const second = await verifier.verify(leaf.cert.der);
    expect([outcome(first), outcome(second)]).toEqual(['REVOCATION_UNKNOWN', 'REVOCATION_UNKNOWN']);
    expect(second).not.toBe(first);
    expect(refusedUnknown).toEqual([false, false]);
  });

  it('the control: any other refusal (an expired leaf) is remembered at the same instant', async () => {
    const expired = await issue({
      subject: 'CN=expired leaf',
      issuer: root,
      eku: [CLIENT_AUTH],
      notAfter: new Date(AT - HOUR),
    });
    const verifier = createVerifier({ ca: root.cert.der, clock: frozen(AT) });
    const first = await verifier.verify(expired.cert.der);
    expect(outcome(first)).toBe('CERT_EXPIRED');
    expect(await verifier.verify(expired.cert.der)).toBe(first);
  });
});

describe('cacheSize: the bound of the verdict cache', () => {
  it('keeps exactly cacheSize verdicts; one more evicts the least recently used', async () => {
    const leaves = await Promise.all(
      ['a', 'b', 'c'].map((n) => issue({ subject: `CN=cached ${n}`, issuer: root, eku: [CLIENT_AUTH] })),
    );
    const [a, b, c] = leaves.map((m) => m.cert.der) as [Buffer, Buffer, Buffer];
    const verifier = createVerifier({ ca: root.cert.der, cacheSize: 2, clock: frozen(AT) });
    const first = { a: await verifier.verify(a), b: await verifier.verify(b) };
    // Both kept; asking for a makes b the least recently used.
    expect(await verifier.verify(a)).toBe(first.a);
    expect(await verifier.verify(b)).toBe(first.b);
    expect(await verifier.verify(a)).toBe(first.a);
    const firstC = await verifier.verify(c);
    const again = await verifier.verify(b);
    expect(outcome(again)).toBe('accepted');
    expect(again).not.toBe(first.b);
    // b's return evicted a in turn (least recently used since c came); c stayed.
    expect(await verifier.verify(c)).toBe(firstC);
  });

  it('cacheSize 0 keeps none', async () => {
    const leaf = await issue({ subject: 'CN=uncached', issuer: root, eku: [CLIENT_AUTH] });
    const verifier = createVerifier({ ca: root.cert.der, cacheSize: 0, clock: frozen(AT) });
    const first = await verifier.verify(leaf.cert.der);
    expect(outcome(first)).toBe('accepted');
    expect(await verifier.verify(leaf.cert.der)).not.toBe(first);
  });
});
