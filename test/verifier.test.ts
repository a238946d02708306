import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError, createVerifier, type VerifierOptions, type VerifyResult, type VerifySuccess } from 'certgate';
import {
  makeDevPki,
  makeOpensslPki,
  makeSameNameIntermediates,
  makeShortLivedIntermediate,
  makeWronglySignedCrl,
  opensslCrlNextUpdates,
  opensslSerial,
  opensslSubjectRfc2253,
  opensslVerify,
  pemBlocks,
  pemToDer,
  removeTempDirs,
  type DevPki,
  type OpensslPki,
  type SameNameIntermediates,
  type ShortLivedIntermediate,
} from './helpers/oracle.js';

let dev: DevPki;
let ossl: OpensslPki;

beforeAll(async () => {
  ossl = makeOpensslPki();
  dev = await makeDevPki();
});

afterAll(() => removeTempDirs());

const notAfterOf = (pem: string) => new Date(new X509Certificate(pem).validTo);
const notBeforeOf = (pem: string) => new Date(new X509Certificate(pem).validFrom);
const plus = (d: Date, ms: number) => new Date(d.getTime() + ms);
const SECOND = 1000;
const DAY = 24 * 60 * 60 * SECOND;

/** Narrows to success, failing with the verifier's own explanation otherwise. */
function accepted(result: VerifyResult): VerifySuccess {
  if (!result.ok) throw new Error(`expected acceptance, got ${result.code}: ${result.detail}`);
  return result;
}

/** Asserts a rejection with `code`; the whole result is shown when it does not match. */
function expectRejected(result: VerifyResult, code: string): void {
  expect(result).toMatchObject({ ok: false, code });
  expect(typeof (result as { message?: unknown }).message).toBe('string');
}

function configError(options: unknown): CertgateError {
  try {
    createVerifier(options as VerifierOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(CertgateError);
    return err as CertgateError;
  }
  throw new Error(`createVerifier accepted ${JSON.stringify(options)}`);
}

/** CONFIG_INVALID whose message names the option at fault. */
function expectConfigInvalid(options: unknown, option: string): void {
  const err = configError(options);
  expect(err.code).toBe('CONFIG_INVALID');
  expect(err.message).toContain(`'${option}'`);
}

describe('dev PKI (generateDevPki)', () => {
  const devVerifier = (extra: Partial<VerifierOptions> = {}) => createVerifier({ ca: dev.ca, crl: dev.crl, ...extra });

  describe('accepted chains', () => {
    it('accepts a leaf + intermediate chain given as PEM text', async () => {
      const r = accepted(await devVerifier().verify(dev.chain.alice));
      expect(r.certificate.subject.CN).toBe('alice');
    });

    it('accepts the same chain given as a PEM Buffer', async () => {
      const r = accepted(await devVerifier().verify(Buffer.from(dev.chain.bob)));
      expect(r.certificate.subject.CN).toBe('bob');
    });

    it('accepts the chain given as an array of DER Buffers', async () => {
      const ders = pemBlocks(dev.chain.alice).map(pemToDer);
      expect(ders).toHaveLength(2);
      expect(ders.every((d) => d[0] === 0x30)).toBe(true);
      const r = accepted(await devVerifier().verify(ders));
      expect(r.certificate.raw.equals(ders[0] as Buffer)).toBe(true);
      expect(r.chain).toHaveLength(3);
    });

    it('accepts a leaf alone when the intermediate is configured in `intermediates`', async () => {
      const r = accepted(await devVerifier({ intermediates: dev.intermediate }).verify(dev.leaf.alice));
      expect(r.chain.map((c) => c.subject.CN)).toEqual([
        'alice',
        'certgate Dev Intermediate CA',
        'certgate Dev Root CA',
      ]);
    });

    it('rejects a leaf alone with CERT_UNTRUSTED when no intermediate is known', async () => {
      expectRejected(await devVerifier().verify(dev.leaf.alice), 'CERT_UNTRUSTED');
    });

    it('rejects a dev PKI client against the OpenSSL PKI root (another CA) with CERT_UNTRUSTED', async () => {
      expectRejected(await createVerifier({ ca: ossl.ca }).verify(dev.chain.alice), 'CERT_UNTRUSTED');
    });
  });

  describe('result shape', () => {
    let r: VerifySuccess;
    beforeAll(async () => {
      r = accepted(await devVerifier().verify(dev.chain.alice));
    });

    it('describes the leaf subject as a Node-style name object', () => {
      expect(r.certificate.subject).toEqual({ CN: 'alice', O: 'Example Bank', OU: 'Retail' });
      expect(r.certificate.issuer).toEqual({ O: 'certgate dev', CN: 'certgate Dev Intermediate CA' });
    });

    it('prints subjectDN in RFC 4514 order, as OpenSSL does with -nameopt RFC2253', () => {
      expect(r.certificate.subjectDN).toBe(opensslSubjectRfc2253(dev.leafFile.alice));
      expect(r.certificate.subjectDN).toBe('CN=alice,OU=Retail,O=Example Bank');
      expect(r.certificate.issuerDN).toBe('CN=certgate Dev Intermediate CA,O=certgate dev');
    });

    it('lists the SAN email', () => {
      expect(r.certificate.san.email).toEqual(['alice@bank.example']);
      expect(r.certificate.san.uri).toEqual([]);
      expect(r.certificate.san.dns).toEqual([]);
    });

    it('gives the serial number as uppercase hex equal to `openssl x509 -serial`', () => {
      expect(r.certificate.serialNumber).toMatch(/^[0-9A-F]+$/);
      expect(r.certificate.serialNumber).toBe(opensslSerial(dev.leafFile.alice));
    });

    it("gives fingerprint256 equal to Node's X509Certificate#fingerprint256", () => {
      expect(r.certificate.fingerprint256).toBe(new X509Certificate(dev.leaf.alice).fingerprint256);
      expect(r.chain[2]?.fingerprint256).toBe(new X509Certificate(dev.ca).fingerprint256);
    });

    it('gives notBefore/notAfter as Dates and raw as the DER Buffer', () => {
      const node = new X509Certificate(dev.leaf.alice);
      expect(r.certificate.notBefore).toBeInstanceOf(Date);
      expect(r.certificate.notAfter).toBeInstanceOf(Date);
      expect(r.certificate.notBefore.getTime()).toBe(new Date(node.validFrom).getTime());
      expect(r.certificate.notAfter.getTime()).toBe(new Date(node.validTo).getTime());
      expect(Buffer.isBuffer(r.certificate.raw)).toBe(true);
      expect(r.certificate.raw.equals(node.raw)).toBe(true);
    });

    it('returns the chain leaf → intermediate → root', () => {
      expect(r.chain).toHaveLength(3);
      expect(r.chain[0]).toBe(r.certificate);
      expect(r.chain[1]?.raw.equals(pemToDer(dev.intermediate))).toBe(true);
      expect(r.chain[2]?.raw.equals(pemToDer(dev.ca))).toBe(true);
      expect(r.chain[1]?.subjectDN).toBe(r.certificate.issuerDN);
      expect(r.chain[2]?.subjectDN).toBe(r.chain[1]?.issuerDN);
    });

    it('expires the verdict at the earliest path notAfter or CRL nextUpdate', () => {
      const candidates = [
        notAfterOf(dev.leaf.alice),
        notAfterOf(dev.intermediate),
        notAfterOf(dev.ca),
        ...opensslCrlNextUpdates(dev.crl),
      ].map((d) => d.getTime());
      expect(candidates).toHaveLength(5);
      expect(r.expiresAt).toBeInstanceOf(Date);
      expect(r.expiresAt.getTime()).toBe(Math.min(...candidates));
      // In the dev PKI the CRLs (30 days) run out long before the leaf (1 year).
      expect(r.expiresAt.getTime()).toBeLessThan(notAfterOf(dev.leaf.alice).getTime());
    });

    it('expires at the leaf notAfter when no CRL is configured', async () => {
      const noCrl = accepted(await createVerifier({ ca: dev.ca }).verify(dev.chain.alice));
      expect(noCrl.expiresAt.getTime()).toBe(notAfterOf(dev.leaf.alice).getTime());
    });

    it("does not let a caller's recycled input buffer change `raw` in later results", async () => {
      const v = createVerifier({ ca: dev.ca });
      const der = pemToDer(dev.leaf.bob);
      const mine = Buffer.from(der);
      accepted(await v.verify([mine, pemToDer(dev.intermediate)]));
      mine.fill(0); // the caller recycles its buffer after verification
      const again = accepted(await v.verify([Buffer.from(der), pemToDer(dev.intermediate)], { at: new Date() }));
      // Regression: DER inputs are copied, so a caller recycling its buffer cannot change the
      // cached certificate's `raw`.
      expect(again.certificate.raw.equals(der)).toBe(true);
    });
  });

  describe('reason codes', () => {
    it('CERT_MISSING for an empty array', async () => {
      expectRejected(await devVerifier().verify([]), 'CERT_MISSING');
    });

    it('CERT_REVOKED for mallory when the CRL is configured (and accepted without it)', async () => {
      expectRejected(await devVerifier().verify(dev.chain.mallory), 'CERT_REVOKED');
      accepted(await createVerifier({ ca: dev.ca }).verify(dev.chain.mallory));
    });

    it('CERT_EXPIRED for eve', async () => {
      expectRejected(await devVerifier().verify(dev.chain.eve), 'CERT_EXPIRED');
    });

    it('CERT_EXPIRED for an `at` after the intermediate notAfter', async () => {
      const at = plus(notAfterOf(dev.intermediate), SECOND);
      expectRejected(await createVerifier({ ca: dev.ca }).verify(dev.chain.alice, { at }), 'CERT_EXPIRED');
    });

    it('CERT_NOT_YET_VALID for an `at` before the leaf notBefore', async () => {
      const at = plus(notBeforeOf(dev.leaf.alice), -1);
      expectRejected(await createVerifier({ ca: dev.ca }).verify(dev.chain.alice, { at }), 'CERT_NOT_YET_VALID');
      accepted(await createVerifier({ ca: dev.ca }).verify(dev.chain.alice, { at: notBeforeOf(dev.leaf.alice) }));
    });

    it('REVOCATION_UNKNOWN for an `at` after the CRL nextUpdate (stale CRL)', async () => {
      const nextUpdate = Math.max(...opensslCrlNextUpdates(dev.crl).map((d) => d.getTime()));
      const at = new Date(nextUpdate + DAY);
      expect(at.getTime()).toBeLessThan(notAfterOf(dev.leaf.alice).getTime());
      expectRejected(await devVerifier().verify(dev.chain.alice, { at }), 'REVOCATION_UNKNOWN');
      // The same instant without the CRL: the certificates themselves are still valid.
      accepted(await createVerifier({ ca: dev.ca }).verify(dev.chain.alice, { at }));
    });
  });

  describe('validity boundaries and clockTolerance', () => {
    it('accepts the whole last second of notAfter (inclusive, one-second granularity) and rejects the next', async () => {
      const v = createVerifier({ ca: dev.ca });
      const notAfter = notAfterOf(dev.leaf.alice);
      accepted(await v.verify(dev.chain.alice, { at: notAfter }));
      accepted(await v.verify(dev.chain.alice, { at: plus(notAfter, 999) }));
      expectRejected(await v.verify(dev.chain.alice, { at: plus(notAfter, 1000) }), 'CERT_EXPIRED');
    });

    it('lets a just-expired certificate through within clockTolerance (seconds)', async () => {
      const at = plus(notAfterOf(dev.leaf.eve), 30 * SECOND);
      expectRejected(await createVerifier({ ca: dev.ca }).verify(dev.chain.eve, { at }), 'CERT_EXPIRED');
      expectRejected(
        await createVerifier({ ca: dev.ca, clockTolerance: 10 }).verify(dev.chain.eve, { at }),
        'CERT_EXPIRED',
      );
      const r = accepted(await createVerifier({ ca: dev.ca, clockTolerance: 60 }).verify(dev.chain.eve, { at }));
      expect(r.certificate.subject.CN).toBe('eve');
    });

    it('applies clockTolerance to notBefore too', async () => {
      const at = plus(notBeforeOf(dev.leaf.alice), -30 * SECOND);
      expectRejected(await createVerifier({ ca: dev.ca }).verify(dev.chain.alice, { at }), 'CERT_NOT_YET_VALID');
      accepted(await createVerifier({ ca: dev.ca, clockTolerance: 60 }).verify(dev.chain.alice, { at }));
    });

    it('throws CONFIG_INVALID for an invalid `at` (a programming error, not certificate input)', async () => {
      await expect(devVerifier().verify(dev.chain.alice, { at: new Date('nope') })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
    });
  });

  describe('maxChainDepth', () => {
    it('default accepts leaf → intermediate → root; maxChainDepth 1 does too', async () => {
      accepted(await createVerifier({ ca: dev.ca }).verify(dev.chain.alice));
      accepted(await createVerifier({ ca: dev.ca, maxChainDepth: 1 }).verify(dev.chain.alice));
    });

    it('maxChainDepth 0 rejects leaf → intermediate → root with CERT_UNTRUSTED', async () => {
      expectRejected(await createVerifier({ ca: dev.ca, maxChainDepth: 0 }).verify(dev.chain.alice), 'CERT_UNTRUSTED');
    });

    it('maxChainDepth 0 still accepts a leaf issued directly by an anchor', async () => {
      // The intermediate alone: next to its root it would be an intermediate, not an anchor.
      const r = accepted(await createVerifier({ ca: dev.intermediate, maxChainDepth: 0 }).verify(dev.leaf.alice));
      expect(r.chain).toHaveLength(2);
      expectRejected(
        await createVerifier({ ca: [dev.ca, dev.intermediate], maxChainDepth: 0 }).verify(dev.leaf.alice),
        'CERT_UNTRUSTED',
      );
    });
  });

  describe('verdict cache', () => {
    it('returns the identical result object for the same chain verified twice', async () => {
      const v = devVerifier();
      const first = await v.verify(dev.chain.alice);
      const second = await v.verify(dev.chain.alice);
      accepted(first);
      expect(second).toEqual(first);
      expect(second).toBe(first);
    });

    it('remembers rejections too', async () => {
      const v = devVerifier();
      const first = await v.verify(dev.chain.mallory);
      expectRejected(first, 'CERT_REVOKED');
      expect(await v.verify(dev.chain.mallory)).toBe(first);
    });

    it('does not cache results for an explicit `at`, nor let a cached verdict answer for one', async () => {
      const v = devVerifier();
      const now = await v.verify(dev.chain.alice);
      accepted(now);
      const at = new Date();
      const a = await v.verify(dev.chain.alice, { at });
      const b = await v.verify(dev.chain.alice, { at });
      expect(b).toEqual(a);
      expect(b).not.toBe(a);
      expectRejected(await v.verify(dev.chain.alice, { at: plus(notAfterOf(dev.leaf.alice), SECOND) }), 'CERT_EXPIRED');
    });

    it('does not cache with cacheSize 0', async () => {
      const v = devVerifier({ cacheSize: 0 });
      const a = await v.verify(dev.chain.alice);
      const b = await v.verify(dev.chain.alice);
      expect(b).toEqual(a);
      expect(b).not.toBe(a);
    });
  });
});

describe('OpenSSL PKI (test/fixtures/openssl-pki.sh)', () => {
  const full = (extra: Partial<VerifierOptions> = {}) =>
    createVerifier({ ca: ossl.ca, intermediates: ossl.intermediate, crl: [ossl.crl, ossl.rootCrl], ...extra });

  it('accepts good as [leaf PEM, intermediate PEM] and as DER', async () => {
    const v = createVerifier({ ca: ossl.ca, crl: [ossl.crl, ossl.rootCrl] });
    const r = accepted(await v.verify([ossl.leaf.good, ossl.intermediate]));
    expect(r.certificate.subjectDN).toBe('CN=good,OU=clients,O=certgate test');
    expect(r.certificate.subjectDN).toBe(opensslSubjectRfc2253(ossl.path('good.pem')));
    expect(r.certificate.serialNumber).toBe(opensslSerial(ossl.path('good.pem')));
    expect(r.chain).toHaveLength(3);
    accepted(await v.verify([pemToDer(ossl.leaf.good), pemToDer(ossl.intermediate)]));
    // One PEM string holding both blocks.
    accepted(await v.verify(ossl.leaf.good + ossl.intermediate));
  });

  it('accepts good alone with `intermediates`, rejects it alone without', async () => {
    accepted(await full().verify(ossl.leaf.good));
    expectRejected(await createVerifier({ ca: ossl.ca }).verify(ossl.leaf.good), 'CERT_UNTRUSTED');
  });

  it('accepts an Ed25519 leaf', async () => {
    const r = accepted(await full().verify(ossl.leaf.ed25519));
    expect(r.certificate.subject.CN).toBe('ed25519');
  });

  it('accepts a leaf signed with RSASSA-PSS', async () => {
    const r = accepted(await full().verify(ossl.leaf.pss));
    expect(r.certificate.subject.CN).toBe('pss');
  });

  it('CERT_UNTRUSTED for a self-signed certificate', async () => {
    expectRejected(await full().verify(ossl.leaf.selfsigned), 'CERT_UNTRUSTED');
  });

  it('accepts a self-signed certificate pinned as its own trust anchor', async () => {
    const r = accepted(await createVerifier({ ca: ossl.leaf.selfsigned }).verify(ossl.leaf.selfsigned));
    expect(r.chain).toHaveLength(1);
  });

  it('CERT_SIGNATURE_INVALID for wrongsig (presented or configured intermediate)', async () => {
    expectRejected(await full().verify(ossl.leaf.wrongsig), 'CERT_SIGNATURE_INVALID');
    expectRejected(
      await createVerifier({ ca: ossl.ca }).verify([ossl.leaf.wrongsig, ossl.intermediate]),
      'CERT_SIGNATURE_INVALID',
    );
  });

  it('CERT_EXPIRED for expired', async () => {
    expectRejected(await full().verify(ossl.leaf.expired), 'CERT_EXPIRED');
  });

  it('CERT_REVOKED for revoked with the CRL, accepted without it', async () => {
    expectRejected(await full().verify(ossl.leaf.revoked), 'CERT_REVOKED');
    expectRejected(
      await createVerifier({ ca: ossl.ca, crl: ossl.crl }).verify([ossl.leaf.revoked, ossl.intermediate]),
      'CERT_REVOKED',
    );
    accepted(await createVerifier({ ca: ossl.ca, intermediates: ossl.intermediate }).verify(ossl.leaf.revoked));
  });

  it("CERT_PURPOSE_INVALID for serveronly with the default purpose; accepted for 'serverAuth' and false", async () => {
    expectRejected(await full().verify(ossl.leaf.serveronly), 'CERT_PURPOSE_INVALID');
    expectRejected(await full({ purpose: 'clientAuth' }).verify(ossl.leaf.serveronly), 'CERT_PURPOSE_INVALID');
    accepted(await full({ purpose: 'serverAuth' }).verify(ossl.leaf.serveronly));
    accepted(await full({ purpose: false }).verify(ossl.leaf.serveronly));
    // And the other way round: a clientAuth-only leaf is not a server certificate.
    expectRejected(await full({ purpose: 'serverAuth' }).verify(ossl.leaf.good), 'CERT_PURPOSE_INVALID');
  });

  it('CERT_ISSUER_NOT_CA for noca-issued with its CA:FALSE issuer in the chain', async () => {
    expectRejected(await full().verify([ossl.leaf['noca-issued'], ossl.eeIssuer]), 'CERT_ISSUER_NOT_CA');
    expectRejected(
      await createVerifier({ ca: ossl.ca }).verify([ossl.leaf['noca-issued'], ossl.eeIssuer, ossl.intermediate]),
      'CERT_ISSUER_NOT_CA',
    );
    // The CA:FALSE issuer asserts keyCertSign, which RFC 5280 section 4.2.1.3 allows only with
    // cA, so it is no good client certificate either (x509-limbo rfc5280::leaf-ku-keycertsign).
    expectRejected(await full().verify(ossl.eeIssuer), 'CERT_MALFORMED');
  });

  describe('CERT_MALFORMED', () => {
    it('for garbage bytes', async () => {
      expectRejected(await full().verify(Buffer.from('this is not a certificate at all')), 'CERT_MALFORMED');
      expectRejected(await full().verify(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05])), 'CERT_MALFORMED');
      expectRejected(await full().verify('this is not a certificate at all'), 'CERT_MALFORMED');
    });

    it('for truncated DER', async () => {
      const der = pemToDer(ossl.leaf.good);
      expectRejected(await full().verify(der.subarray(0, der.length - 20)), 'CERT_MALFORMED');
      expectRejected(await full().verify(der.subarray(0, 10)), 'CERT_MALFORMED');
    });

    it('for DER with trailing bytes', async () => {
      const der = pemToDer(ossl.leaf.good);
      expectRejected(await full().verify(Buffer.concat([der, Buffer.from([0, 0])])), 'CERT_MALFORMED');
    });

    it('for a PEM PRIVATE KEY given as the chain', async () => {
      const key = ossl.read('good-key.pem');
      expect(key).toContain('-----BEGIN PRIVATE KEY-----');
      expectRejected(await full().verify(key), 'CERT_MALFORMED');
      expectRejected(await full().verify(ossl.leaf.good + key), 'CERT_MALFORMED');
    });

    it('for a CERTIFICATE PEM block with invalid base64', async () => {
      const bad = '-----BEGIN CERTIFICATE-----\nMIIB*not~base64!!\n-----END CERTIFICATE-----\n';
      expectRejected(await full().verify(bad), 'CERT_MALFORMED');
    });

    it('for a CERTIFICATE PEM block whose base64 is not a certificate', async () => {
      const bad = `-----BEGIN CERTIFICATE-----\n${Buffer.from('hello world, not DER').toString('base64')}\n-----END CERTIFICATE-----\n`;
      expectRejected(await full().verify(bad), 'CERT_MALFORMED');
    });

    it('for a malformed second certificate after a good leaf', async () => {
      expectRejected(await full().verify([pemToDer(ossl.leaf.good), Buffer.from('junk')]), 'CERT_MALFORMED');
    });
  });

  it('never throws for bad certificate input: it resolves with ok:false', async () => {
    const v = full();
    const inputs: unknown[] = [
      undefined,
      null,
      42,
      {},
      [null],
      [{}],
      '',
      Buffer.alloc(0),
      Buffer.from([0x30]),
      Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
      '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      ossl.read('good-key.pem'),
      ossl.crl,
    ];
    for (const input of inputs) {
      const r = await v.verify(input as never);
      expect(r.ok, `input ${String(input).slice(0, 40)}`).toBe(false);
      expect(['CERT_MISSING', 'CERT_MALFORMED']).toContain((r as { code: string }).code);
    }
  });

  describe('REVOCATION_UNKNOWN', () => {
    it('for a stale CRL (`at` after its nextUpdate)', async () => {
      const [nextUpdate] = opensslCrlNextUpdates(ossl.crl) as [Date];
      const at = plus(nextUpdate, DAY);
      expect(at.getTime()).toBeLessThan(notAfterOf(ossl.leaf.good).getTime());
      expectRejected(await full().verify(ossl.leaf.good, { at }), 'REVOCATION_UNKNOWN');
      expectRejected(
        await createVerifier({ ca: ossl.ca, intermediates: ossl.intermediate, crl: ossl.crl }).verify(ossl.leaf.good, {
          at,
        }),
        'REVOCATION_UNKNOWN',
      );
      // Just before nextUpdate the CRL is current.
      accepted(await full().verify(ossl.leaf.good, { at: plus(nextUpdate, -SECOND) }));
    });

    describe('for a CRL signed by the wrong key', () => {
      let bad: { pem: string; file: string };
      beforeAll(() => {
        bad = makeWronglySignedCrl(ossl);
      });

      it('which OpenSSL rejects too (the fixture really is wrongly signed)', () => {
        const verdict = opensslVerify(ossl.path('good.pem'), {
          caFile: ossl.path('ca.pem'),
          untrustedFile: ossl.path('intermediate.pem'),
          crlFiles: [bad.file],
        });
        expect(verdict.ok).toBe(false);
        expect(verdict.output).toMatch(/CRL signature failure/);
      });

      it('is REVOCATION_UNKNOWN, even for a leaf the real CRL revokes', async () => {
        const v = createVerifier({ ca: ossl.ca, intermediates: ossl.intermediate, crl: bad.pem });
        expectRejected(await v.verify(ossl.leaf.good), 'REVOCATION_UNKNOWN');
        // The impostor lists nothing: trusting it would have let `revoked` through.
        expectRejected(await v.verify(ossl.leaf.revoked), 'REVOCATION_UNKNOWN');
      });

      it('is not remembered by the verdict cache (time or a CRL refresh can cure it)', async () => {
        const v = createVerifier({ ca: ossl.ca, intermediates: ossl.intermediate, crl: bad.pem });
        const first = await v.verify(ossl.leaf.good);
        expectRejected(first, 'REVOCATION_UNKNOWN');
        const second = await v.verify(ossl.leaf.good);
        expect(second).toEqual(first);
        expect(second).not.toBe(first);
      });

      it('is ignored when a correctly signed CRL from the same issuer is also configured', async () => {
        const v = createVerifier({ ca: ossl.ca, intermediates: ossl.intermediate, crl: [bad.pem, ossl.crl] });
        accepted(await v.verify(ossl.leaf.good));
        expectRejected(await v.verify(ossl.leaf.revoked), 'CERT_REVOKED');
      });
    });
  });

  describe('an intermediate that expires before its leaf', () => {
    let short: ShortLivedIntermediate;
    beforeAll(() => {
      short = makeShortLivedIntermediate(ossl, 2);
    });

    it('is accepted now, with expiresAt at the intermediate notAfter', async () => {
      const r = accepted(await createVerifier({ ca: ossl.ca, intermediates: short.intermediate }).verify(short.leaf));
      expect(r.expiresAt.getTime()).toBe(notAfterOf(short.intermediate).getTime());
      expect(r.expiresAt.getTime()).toBeLessThan(r.certificate.notAfter.getTime());
    });

    it('is CERT_EXPIRED for an `at` after the intermediate notAfter, though the leaf is still valid', async () => {
      const at = plus(notAfterOf(short.intermediate), SECOND);
      expect(at.getTime()).toBeLessThan(notAfterOf(short.leaf).getTime());
      const v = createVerifier({ ca: ossl.ca, intermediates: short.intermediate });
      expectRejected(await v.verify(short.leaf, { at }), 'CERT_EXPIRED');
      accepted(await v.verify(short.leaf, { at: notAfterOf(short.intermediate) }));
      // OpenSSL agrees at that instant.
      const verdict = opensslVerify(short.leafFile, {
        caFile: ossl.path('ca.pem'),
        untrustedFile: short.intermediateFile,
        extra: ['-attime', String(Math.floor(at.getTime() / 1000))],
      });
      expect(verdict.ok).toBe(false);
      expect(verdict.output).toMatch(/expired/);
    });
  });

  describe('path building with two same-named intermediates', () => {
    let twins: SameNameIntermediates;
    beforeAll(() => {
      twins = makeSameNameIntermediates(ossl);
    });

    it('the wrong twin alone gives CERT_SIGNATURE_INVALID (it is a real candidate)', async () => {
      expectRejected(await createVerifier({ ca: ossl.ca }).verify([twins.leaf, twins.wrong]), 'CERT_SIGNATURE_INVALID');
    });

    it('finds the valid path when the client presents the wrong twin and the right one is in `intermediates`', async () => {
      const r = accepted(
        await createVerifier({ ca: ossl.ca, intermediates: twins.right }).verify([twins.leaf, twins.wrong]),
      );
      expect(r.chain).toHaveLength(3);
      expect(r.chain[1]?.raw.equals(pemToDer(twins.right))).toBe(true);
    });

    it('finds the valid path when the client presents both twins, wrong one first', async () => {
      const r = accepted(await createVerifier({ ca: ossl.ca }).verify([twins.leaf, twins.wrong, twins.right]));
      expect(r.chain[1]?.raw.equals(pemToDer(twins.right))).toBe(true);
    });

    it('prints a serial whose DER needs a leading zero like OpenSSL does', async () => {
      const r = accepted(await createVerifier({ ca: ossl.ca, intermediates: twins.right }).verify(twins.leaf));
      expect(r.certificate.serialNumber).toBe('FF01');
      expect(r.certificate.serialNumber).toBe(opensslSerial(twins.leafFile));
    });
  });
});

describe('createVerifier option validation', () => {
  it('requires `ca`', () => {
    expectConfigInvalid({}, 'ca');
    expectConfigInvalid({ intermediates: dev.intermediate }, 'ca');
  });

  it('rejects an empty `ca`', () => {
    expectConfigInvalid({ ca: '' }, 'ca');
    expectConfigInvalid({ ca: '   \n' }, 'ca');
    expectConfigInvalid({ ca: Buffer.alloc(0) }, 'ca');
  });

  it('rejects an empty `ca` array (no trust anchors at all)', () => {
    // An empty trust store is a configuration mistake, as for `ca: ''`.
    expectConfigInvalid({ ca: [] }, 'ca');
  });

  it('rejects a `ca` that holds only a private key', () => {
    expectConfigInvalid({ ca: ossl.read('root-key.pem') }, 'ca');
    expectConfigInvalid({ ca: pemToDer(ossl.read('root-key.pem')) }, 'ca');
  });

  it('rejects a garbage `ca`', () => {
    expectConfigInvalid({ ca: 'garbage' }, 'ca');
    expectConfigInvalid({ ca: Buffer.from('garbage') }, 'ca');
    expectConfigInvalid({ ca: [ossl.ca, 'garbage'] }, 'ca');
    expectConfigInvalid({ ca: 42 }, 'ca');
  });

  it('names `intermediates` when it is unusable', () => {
    expectConfigInvalid({ ca: ossl.ca, intermediates: 'garbage' }, 'intermediates');
  });

  it('rejects a `crl` that does not parse', () => {
    const notDer = `-----BEGIN X509 CRL-----\n${Buffer.from('definitely not a CRL').toString('base64')}\n-----END X509 CRL-----\n`;
    expectConfigInvalid({ ca: ossl.ca, crl: notDer }, 'crl');
    expectConfigInvalid({ ca: ossl.ca, crl: 'garbage' }, 'crl');
    expectConfigInvalid({ ca: ossl.ca, crl: ossl.ca }, 'crl');
    const der = pemToDer(ossl.crl);
    expectConfigInvalid({ ca: ossl.ca, crl: der.subarray(0, der.length - 10) }, 'crl');
  });

  it('rejects an unknown option, naming it', () => {
    expectConfigInvalid({ ca: ossl.ca, foo: 1 }, 'foo');
  });

  it("rejects purpose 'email'", () => {
    expectConfigInvalid({ ca: ossl.ca, purpose: 'email' }, 'purpose');
    expectConfigInvalid({ ca: ossl.ca, purpose: true }, 'purpose');
  });

  it('rejects maxChainDepth -1, 1.5 and beyond the limit', () => {
    expectConfigInvalid({ ca: ossl.ca, maxChainDepth: -1 }, 'maxChainDepth');
    expectConfigInvalid({ ca: ossl.ca, maxChainDepth: 1.5 }, 'maxChainDepth');
    expectConfigInvalid({ ca: ossl.ca, maxChainDepth: '2' }, 'maxChainDepth');
    expectConfigInvalid({ ca: ossl.ca, maxChainDepth: 1000 }, 'maxChainDepth');
  });

  it("rejects clockTolerance 'x' and negative values", () => {
    expectConfigInvalid({ ca: ossl.ca, clockTolerance: 'x' }, 'clockTolerance');
    expectConfigInvalid({ ca: ossl.ca, clockTolerance: -1 }, 'clockTolerance');
    expectConfigInvalid({ ca: ossl.ca, clockTolerance: Number.NaN }, 'clockTolerance');
  });

  it('rejects options that are not an object', () => {
    expect(configError(undefined).code).toBe('CONFIG_INVALID');
    expect(configError('ca.pem').code).toBe('CONFIG_INVALID');
  });

  it('accepts a valid full configuration and exposes the anchors', () => {
    const v = createVerifier({
      ca: ossl.ca,
      intermediates: ossl.intermediate,
      crl: [ossl.crl, ossl.rootCrl],
      purpose: false,
      maxChainDepth: 0,
      clockTolerance: 1.5,
      cacheSize: 0,
    });
    expect(v.anchors).toHaveLength(1);
    expect(v.anchors[0]?.fingerprint256).toBe(new X509Certificate(ossl.ca).fingerprint256);
  });

  it('accepts several anchors given as a PEM Buffer and a DER Buffer', () => {
    const v = createVerifier({ ca: [Buffer.from(dev.ca), pemToDer(ossl.ca)] });
    expect(v.anchors.map((a) => a.subject.CN)).toEqual(['certgate Dev Root CA', 'certgate Test Root CA']);
  });
});
