/**
 * Property-based fuzzing of OCSP responses through the decoding and validation entry points
 * (parseOcspResponse, then validateOcspResponse about the leaf, `at` fixed). Inputs are genuine
 * responses (good and revoked, signed by the CA or its delegated responder) mutated, or random
 * bytes.
 *
 * Contract: nothing but OcspProtocolError is thrown (the documented error, which the verifier turns
 * into an "unknown" OCSP finding), and each input stays within the 50 ms budget. Seeded: a failure
 * prints its seed and path.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { OcspProtocolError, parseOcspResponse } from '../../../src/revocation/ocsp.js';
import { validateOcspResponse } from '../../../src/revocation/ocsp-validation.js';
import { makeInProcessOcspPki, type InProcessOcspPki } from '../../helpers/ocsp-responder.js';
import { BUDGET_MS, fuzzParams, hostileBytes, onlyDocumentedErrors, costMs } from './fuzz-mutations.js';

const DAY = 86_400_000;
const AT = Date.UTC(2031, 4, 17, 10, 20, 30);

let pki: InProcessOcspPki;
let seeds: Buffer[];

beforeAll(async () => {
  pki = await makeInProcessOcspPki({ notBefore: new Date(AT - 30 * DAY), notAfter: new Date(AT + 30 * DAY) });
  const thisUpdate = new Date(AT - 60_000);
  const nextUpdate = new Date(AT + DAY);
  seeds = [
    pki.answer({ status: 'good', thisUpdate, nextUpdate }),
    pki.answer({ status: 'good', thisUpdate, nextUpdate, signer: 'responder' }),
    pki.answer({ status: 'revoked', thisUpdate, revokedAt: new Date(AT - DAY), reason: 1 }),
  ];
});

describe('fuzz: OCSP responses', () => {
  it('the genuine responses validate (the seeds reach the signature and currency checks)', () => {
    const ctx = { at: AT, clockToleranceMs: 0, legacyAlgorithms: false };
    const statuses = seeds.map((der) => validateOcspResponse(parseOcspResponse(der), pki.leaf, pki.ca, ctx).status);
    expect(statuses).toEqual(['good', 'good', 'revoked']);
  });

  it('parse and validate throw nothing but OcspProtocolError, within the budget', async () => {
    const ctx = { at: AT, clockToleranceMs: 0, legacyAlgorithms: false };
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(hostileBytes(seeds), async (der) => {
        const ms = await costMs(async () => {
          const outcome = await onlyDocumentedErrors(
            () => validateOcspResponse(parseOcspResponse(der), pki.leaf, pki.ca, ctx),
            [OcspProtocolError],
          );
          if (outcome === 'refused') refused++;
        });
        expect(ms).toBeLessThan(BUDGET_MS);
      }),
      fuzzParams(200),
    );
    console.log(`fuzz-ocsp: ${refused} of 200 refused`);
    expect(refused).toBeGreaterThan(0);
  });
});
