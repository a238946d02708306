/**
 * Property-based fuzzing of the large-CRL path (src/revocation/crl-header.ts, crl-offthread.ts,
 * crl-worker.ts): mutated CRLs of more than LARGE_CRL_BYTES, with a reason code on every entry.
 *
 * Contract: checkCrlHeader returns or throws MalformedCrlError, and never refuses a CRL parseCrl
 * accepts (a good CRL is never CONFIG_INVALID); the CRL worker accepts exactly what parseCrl
 * accepts, with the same id and entries; createVerifier with such a CRL works or throws
 * CertgateError, and verify() resolves, never "accepted" for a CRL that does not parse.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CertgateError, createVerifier } from '../../../src/index.js';
import { checkCrlHeader, LARGE_CRL_BYTES } from '../../../src/revocation/crl-header.js';
import { loadCrls } from '../../../src/revocation/crl-offthread.js';
import { MalformedCrlError, parseCrl } from '../../../src/revocation/crl.js';
import { encodeElement, TAG } from '../../../src/x509/der.js';
import { fuzzParams, hostileBytes, onlyDocumentedErrors } from './fuzz-mutations.js';
import { chain, issue } from '../pki.js';

const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
const utc = encodeElement(TAG.UTC_TIME, Buffer.from('260101000000Z', 'latin1'));
const alg = Buffer.from('300a06082a8648ce3d040302', 'hex');
/** Entry extensions: a reason code (the fast path), a critical one, a reason with an invalidity date. */
const EXTENSIONS = [
  '300c300a0603551d1504030a0101',
  '300f300d0603551d150101ff04030a0104',
  seq(
    Buffer.from('300a0603551d1504030a0105', 'hex'),
    seq(
      Buffer.from('0603551d18', 'hex'),
      encodeElement(TAG.OCTET_STRING, encodeElement(TAG.GENERALIZED_TIME, Buffer.from('20260101000000Z'))),
    ),
  ).toString('hex'),
];

/** An unsigned but well-formed CRL of `count` entries over LARGE_CRL_BYTES, issuer `name`. */
function largeCrl(name: Buffer, count: number): Buffer {
  const entries: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const serial = randomBytes(16);
    serial[0] = ((serial[0] as number) & 0x7f) | 1;
    const ext = EXTENSIONS[i % 50 === 0 ? (i / 50) % EXTENSIONS.length : 0] as string;
    entries.push(seq(encodeElement(TAG.INTEGER, serial), utc, Buffer.from(ext, 'hex')));
  }
  const crlNumber = encodeElement(
    0xa0,
    seq(seq(Buffer.from('0603551d14', 'hex'), encodeElement(TAG.OCTET_STRING, Buffer.from('020102', 'hex')))),
  );
  const tbs = seq(Buffer.from('020101', 'hex'), alg, name, utc, utc, seq(...entries), crlNumber);
  return seq(tbs, alg, encodeElement(TAG.BIT_STRING, Buffer.from([0, 1, 2, 3])));
}

describe('fuzz: large CRLs', async () => {
  const { root, leaf } = await chain();
  const ca = await issue({ subject: 'CN=Fuzz Large CA', ca: true });
  const seed = largeCrl(Buffer.from(ca.x509.subjectName.toArrayBuffer()), 13_000);
  const reference = parseCrl(seed);

  it('the seed is large and uses every entry-extension shape', () => {
    expect(seed.length).toBeGreaterThan(LARGE_CRL_BYTES);
    expect(reference.revoked.size).toBe(13_000);
    expect(reference.unusableBecause).toBeUndefined();
  });

  it('checkCrlHeader returns or throws MalformedCrlError, and accepts whatever parseCrl accepts', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(hostileBytes([seed]), async (der) => {
        let parsed: ReturnType<typeof parseCrl> | undefined;
        try {
          parsed = parseCrl(der);
        } catch {
          parsed = undefined;
        }
        const outcome = await onlyDocumentedErrors(() => checkCrlHeader(der), [MalformedCrlError]);
        if (outcome === 'refused') refused++;
        if (parsed) {
          expect(outcome).not.toBe('refused');
          expect(checkCrlHeader(der).issuerKey).toBe(parsed.issuerKey);
        }
      }),
      fuzzParams(300),
    );
    expect(refused).toBeGreaterThan(0);
  });

  it('the CRL worker accepts exactly what parseCrl accepts, with the same id and entries', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(hostileBytes([seed]), async (der) => {
        const input = der.length >= LARGE_CRL_BYTES ? der : Buffer.concat([der, Buffer.alloc(LARGE_CRL_BYTES)]);
        let expected: ReturnType<typeof parseCrl> | undefined;
        try {
          expected = parseCrl(input);
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedCrlError);
        }
        const got = await loadCrls(input).then(
          (crls) => crls,
          (err: unknown) => err,
        );
        if (!expected) {
          expect(got).toBeInstanceOf(MalformedCrlError);
          return;
        }
        accepted++;
        const [crl] = got as Awaited<ReturnType<typeof loadCrls>>;
        expect(crl?.id).toBe(expected.id);
        expect(crl?.revoked.size).toBe(expected.revoked.size);
        expect(crl?.unusableBecause).toBe(expected.unusableBecause);
      }),
      fuzzParams(60),
    );
    expect(accepted).toBeGreaterThan(0);
  }, 120_000);

  it('createVerifier works or throws CertgateError; verify() resolves and never accepts on a broken CRL', async () => {
    const caPem = root.x509.toString('pem');
    const rootCrl = largeCrl(Buffer.from(root.x509.subjectName.toArrayBuffer()), 13_000);
    await fc.assert(
      fc.asyncProperty(hostileBytes([rootCrl]), async (der) => {
        let verifier: ReturnType<typeof createVerifier> | undefined;
        const outcome = await onlyDocumentedErrors(() => {
          verifier = createVerifier({ ca: caPem, crl: der });
        }, [CertgateError]);
        if (outcome === 'refused' || !verifier) return;
        try {
          const result = await verifier.verify(leaf.x509.toString('pem'));
          // The CRL is unsigned: while it still names the root, the intermediate cannot be shown good.
          let names: string | undefined;
          try {
            names = checkCrlHeader(der).issuerKey;
          } catch {
            names = undefined;
          }
          if (names === root.cert.subjectKey) expect(result.ok).toBe(false);
        } finally {
          verifier.close();
        }
      }),
      fuzzParams(30),
    );
  }, 120_000);
});
