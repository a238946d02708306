/**
 * Property-based fuzzing of CRLs through the public entry points: decoding a CRL, and configuring
 * a verifier with it (`crl` option) and verifying a genuine chain against it with `at` fixed.
 * Inputs are the dev PKI's genuine CRLs (one with a revoked entry, one empty) mutated, or random
 * bytes.
 *
 * Contract: parseCrl returns or throws MalformedCrlError; createVerifier with the CRL works or
 * throws CertgateError; its verify() resolves, never rejects; each input stays within the 50 ms
 * budget. Seeded: a failure prints its seed and path.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError, createVerifier } from '../../../src/index.js';
import { generateDevPki } from '../../../src/devpki/generate.js';
import { MalformedCrlError, parseCrl } from '../../../src/revocation/crl.js';
import { decodePemOrDer } from '../../../src/x509/pem.js';
import { BUDGET_MS, fuzzParams, hostileBytes, onlyDocumentedErrors, costMs } from './fuzz-mutations.js';

let dir: string;
let seeds: Buffer[];
let ca: Buffer;
let aliceChain: Buffer;
const AT = new Date();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-fuzz-crl-'));
  const files = await generateDevPki(dir, { now: AT });
  seeds = decodePemOrDer(readFileSync(files.crl)).map((item) => item.der);
  ca = readFileSync(files.caBundle);
  aliceChain = readFileSync(files.clients.alice.cert);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fuzz: CRL DER', () => {
  it('parseCrl returns or throws MalformedCrlError, within the budget', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(hostileBytes(seeds), async (der) => {
        const ms = await costMs(async () => {
          if ((await onlyDocumentedErrors(() => parseCrl(der), [MalformedCrlError])) === 'refused') refused++;
        });
        expect(ms).toBeLessThan(BUDGET_MS);
      }),
      fuzzParams(400),
    );
    console.log(`fuzz-crl parse: ${refused} of 400 refused`);
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(400);
  });

  it('createVerifier({ crl }) works or throws CertgateError, and its verify() resolves, within the budget', async () => {
    let built = 0;
    await fc.assert(
      fc.asyncProperty(hostileBytes(seeds), async (der) => {
        const ms = await costMs(async () => {
          let verifier: ReturnType<typeof createVerifier> | undefined;
          const outcome = await onlyDocumentedErrors(() => {
            verifier = createVerifier({ ca, crl: der });
          }, [CertgateError]);
          if (outcome === 'refused' || !verifier) return;
          built++;
          try {
            const result = await verifier.verify(aliceChain, { at: AT });
            expect(typeof result.ok).toBe('boolean');
          } finally {
            verifier.close();
          }
        });
        expect(ms).toBeLessThan(BUDGET_MS);
      }),
      fuzzParams(150),
    );
    console.log(`fuzz-crl createVerifier: ${built} of 150 built`);
  });
});
