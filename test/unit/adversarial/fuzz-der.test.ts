/**
 * Property-based fuzzing of certificate DER through the public decoding entry points: parsing a
 * certificate, and verifying a chain with createVerifier (`at` fixed). Inputs are genuine dev-PKI
 * certificates mutated (bit flips, byte overwrites, truncation, insertions, deletions, lying
 * length octets, a slice repeated thousands of times) or random bytes.
 *
 * Contract: parseCertificate returns or throws MalformedCertificateError; certificateInfo never
 * throws for a parsed certificate; verify() resolves (ok true or false), never rejects; each input
 * takes less than the 50 ms per-request budget. Seeded: a failure prints its seed and path.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '../../../src/index.js';
import { generateDevPki } from '../../../src/devpki/generate.js';
import { decodePemOrDer } from '../../../src/x509/pem.js';
import { certificateInfo, MalformedCertificateError, parseCertificate } from '../../../src/x509/certificate.js';
import { BUDGET_MS, fuzzParams, hostileBytes, onlyDocumentedErrors, costMs } from './fuzz-mutations.js';

const derOf = (path: string): Buffer[] => decodePemOrDer(readFileSync(path)).map((item) => item.der);

let dir: string;
let seeds: Buffer[];
let intermediate: Buffer;
let verifier: Verifier;
const AT = new Date();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-fuzz-der-'));
  const files = await generateDevPki(dir, { now: AT });
  const [alice, aliceIssuer] = derOf(files.clients.alice.cert) as [Buffer, Buffer];
  intermediate = aliceIssuer;
  seeds = [alice, ...derOf(files.serverCert), ...derOf(files.rootCert)];
  verifier = createVerifier({ ca: readFileSync(files.caBundle), crl: readFileSync(files.crl) });
});

afterAll(() => {
  verifier?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('fuzz: certificate DER', () => {
  it('parseCertificate returns or throws MalformedCertificateError, within the budget', async () => {
    let refused = 0;
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(hostileBytes(seeds), async (der) => {
        const ms = await costMs(async () => {
          const outcome = await onlyDocumentedErrors(() => {
            const cert = parseCertificate(der);
            certificateInfo(cert);
          }, [MalformedCertificateError]);
          if (outcome === 'refused') refused++;
        });
        slowest = Math.max(slowest, ms);
        expect(ms).toBeLessThan(BUDGET_MS);
      }),
      fuzzParams(400),
    );
    console.log(`fuzz-der parse: ${refused} of 400 refused, slowest ${slowest.toFixed(2)} ms`);
    expect(refused).toBeGreaterThan(0);
  });

  it('verify() of a mutated leaf (with its genuine intermediate) resolves, within the budget', async () => {
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(hostileBytes(seeds), async (der) => {
        const ms = await costMs(async () => {
          const result = await verifier.verify([der, intermediate], { at: AT });
          expect(typeof result.ok).toBe('boolean');
        });
        slowest = Math.max(slowest, ms);
        expect(ms).toBeLessThan(BUDGET_MS);
      }),
      fuzzParams(250),
    );
    console.log(`fuzz-der verify: slowest ${slowest.toFixed(2)} ms`);
  });
});
