/**
 * A soft failure (OCSP cannot say, `whenUnavailable: 'allow'`) lets the certificate through for
 * SOFT_FAIL_RECHECK_MS, then asks again: the verdict's expiry moves on with the clock, and the
 * operator is told each time. Before, the result was remembered with the (longer-lived) "no
 * responder" answer and came back already expired. No network: the dev PKI's leaves name no
 * responder, which is itself "no answer".
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from 'certgate';
import { generateDevPki, type DevPkiFiles } from '../../src/devpki/generate.js';
import { SOFT_FAIL_RECHECK_MS } from '../../src/revocation/path-revocation.js';

let dir: string;
let files: DevPkiFiles;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-unit-'));
  files = await generateDevPki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OCSP soft failure', () => {
  it('each verdict holds for SOFT_FAIL_RECHECK_MS from when it was reached, and each is reported', async () => {
    let now = Date.now();
    const verifier = createVerifier({
      // No CRL either: nothing else vouches for the leaf, so "no answer" is a soft failure.
      ca: readFileSync(files.caBundle),
      ocsp: { whenUnavailable: 'allow' },
      clock: { now: () => now },
    });
    const unknown: boolean[] = [];
    verifier.on('revocation-unknown', (e) => unknown.push(e.allowed));
    const alice = readFileSync(files.clients.alice.cert);
    try {
      const first = await verifier.verify(alice);
      expect(first).toMatchObject({ ok: true });
      expect(first.ok && first.expiresAt.getTime()).toBe(now + SOFT_FAIL_RECHECK_MS);
      now += SOFT_FAIL_RECHECK_MS + 1_000;
      const second = await verifier.verify(alice);
      expect(second).toMatchObject({ ok: true });
      expect(second.ok && second.expiresAt.getTime()).toBe(now + SOFT_FAIL_RECHECK_MS);
      expect(unknown).toEqual([true, true]);
    } finally {
      verifier.close();
    }
  });
});
