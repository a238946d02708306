/**
 * Issue 8 bug: a verify() failure's `message` was operator text (DNs, serials) while a
 * CertgateError's `message` was the client-safe text, so answering clients from verify() leaked
 * details. Both now agree: `message` is client-safe, `detail` is for operators.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError, createVerifier, type Verifier } from 'certgate';
import { generateDevPki, type DevPkiFiles } from '../../src/devpki/generate.js';
import { PUBLIC_MESSAGES } from '../../src/errors.js';

let dir: string;
let files: DevPkiFiles;
let verifier: Verifier;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-unit-'));
  files = await generateDevPki(dir);
  verifier = createVerifier({ ca: readFileSync(files.caBundle), crl: readFileSync(files.crl) });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('VerifyFailure: message for clients, detail for operators', () => {
  it('a revoked certificate: message is the public text of its code, detail names the certificate', async () => {
    const result = await verifier.verify(readFileSync(files.clients.mallory.cert));
    if (result.ok) throw new Error('mallory must be refused');
    expect(result.code).toBe('CERT_REVOKED');
    expect(result.message).toBe(PUBLIC_MESSAGES.CERT_REVOKED);
    expect(result.message).not.toMatch(/mallory/);
    expect(result.detail).toMatch(/CN=mallory/);
    // The same pair as the CertgateError a guard answers with.
    const error = new CertgateError(result.code, result.message, { detail: result.detail });
    expect(error.message).toBe(result.message);
  });

  it('garbage input: CERT_MALFORMED with the public message, and the reason in detail', async () => {
    const result = await verifier.verify('not a certificate');
    expect(result).toMatchObject({ ok: false, code: 'CERT_MALFORMED', message: PUBLIC_MESSAGES.CERT_MALFORMED });
    expect(!result.ok && result.detail).toMatch(/no PEM block/);
  });

  it('every failure code has a public message that names no certificate', () => {
    for (const [code, text] of Object.entries(PUBLIC_MESSAGES)) {
      expect(text, code).not.toMatch(/CN=|serial/i);
    }
  });
});
