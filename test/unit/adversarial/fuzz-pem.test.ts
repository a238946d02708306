/**
 * Property-based fuzzing of PEM text through the public entry points: splitting PEM (or DER)
 * input, configuring a verifier's trust anchors with it, and verifying a presented chain given as
 * PEM (`at` fixed). Inputs are the dev PKI's genuine PEM files mutated byte by byte, soups of PEM
 * tokens (BEGIN and END lines of several labels, base64 lines, stray dashes), and huge counts of
 * one token (tens of thousands of BEGIN lines: the input that was quadratic, finding 13).
 *
 * Contract: decodePemOrDer returns or throws PemError; createVerifier works or throws
 * CertgateError; verify() resolves, never rejects; each input stays within the 50 ms budget.
 * Seeded: a failure prints its seed and path.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError, createVerifier, type Verifier } from '../../../src/index.js';
import { generateDevPki } from '../../../src/devpki/generate.js';
import { decodePemOrDer, PemError } from '../../../src/x509/pem.js';
import { BUDGET_MS, costMs, fuzzParams, hostileBytes, onlyDocumentedErrors } from './fuzz-mutations.js';

let dir: string;
let pems: Buffer[];
let tokens: string[];
let verifier: Verifier;
const AT = new Date();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-fuzz-pem-'));
  const files = await generateDevPki(dir, { now: AT });
  pems = [files.clients.alice.cert, files.caBundle, files.crl].map((path) => readFileSync(path));
  const base64Lines = String(pems[0])
    .split('\n')
    .filter((line) => /^[A-Za-z0-9+/=]+$/.test(line));
  tokens = [
    '-----BEGIN CERTIFICATE-----\n',
    '-----END CERTIFICATE-----\n',
    '-----BEGIN X509 CRL-----\n',
    '-----END X509 CRL-----\n',
    '-----BEGIN PRIVATE KEY-----\n',
    '-----BEGIN ',
    '-----END ',
    '-----',
    'CERTIFICATE',
    '\n',
    '\r\n',
    ' ',
    'Proc-Type: 4,ENCRYPTED\n',
    '*',
    ...base64Lines.slice(0, 6).map((line) => `${line}\n`),
  ];
  verifier = createVerifier({ ca: readFileSync(files.caBundle) });
});

afterAll(() => {
  verifier?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Mutated genuine PEM, a soup of PEM tokens, or one token (or two) repeated tens of thousands of times. */
function hostilePem(): fc.Arbitrary<string> {
  const token = fc.constantFrom(...tokens);
  return fc.oneof(
    hostileBytes(pems).map((bytes) => bytes.toString('latin1')),
    fc.array(token, { maxLength: 300 }).map((parts) => parts.join('')),
    fc
      .tuple(fc.array(token, { minLength: 1, maxLength: 2 }), fc.integer({ min: 1_000, max: 12_000 }), fc.boolean())
      .map(([unit, times, withGenuine]) => unit.join('').repeat(times) + (withGenuine ? String(pems[0]) : '')),
  );
}

describe('fuzz: PEM text', () => {
  it('decodePemOrDer returns or throws PemError (text and Buffer), within the budget', async () => {
    let refused = 0;
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(hostilePem(), async (text) => {
        for (const input of [text, Buffer.from(text, 'latin1')]) {
          const ms = await costMs(async () => {
            if ((await onlyDocumentedErrors(() => decodePemOrDer(input), [PemError])) === 'refused') refused++;
          });
          slowest = Math.max(slowest, ms);
          expect(ms).toBeLessThan(BUDGET_MS);
        }
      }),
      fuzzParams(200),
    );
    console.log(`fuzz-pem decode: ${refused} of 400 refused, costliest ${slowest.toFixed(2)} ms CPU`);
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(400);
  });

  it('createVerifier({ ca }) works or throws CertgateError, within the budget', async () => {
    await fc.assert(
      fc.asyncProperty(hostilePem(), async (text) => {
        const ms = await costMs(() =>
          onlyDocumentedErrors(() => createVerifier({ ca: text }).close(), [CertgateError]),
        );
        expect(ms).toBeLessThan(BUDGET_MS);
      }),
      fuzzParams(100),
    );
  });

  it('verify() of a hostile PEM chain resolves, within the budget', async () => {
    await fc.assert(
      fc.asyncProperty(hostilePem(), async (text) => {
        const ms = await costMs(async () => {
          const result = await verifier.verify(text, { at: AT });
          expect(typeof result.ok).toBe('boolean');
        });
        expect(ms).toBeLessThan(BUDGET_MS);
      }),
      fuzzParams(100),
    );
  });
});
