/**
 * Hostile PEM text: many BEGIN lines without an END used to make the PEM scanner re-scan the rest
 * of the input from every BEGIN (quadratic: 512 KiB blocked verify() for over a second, 1 MiB took
 * `certgate inspect` 26 s). The scanner now makes one pass; these inputs end in a few milliseconds
 * with the documented error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { CertgateError, createVerifier } from '../../../src/index.js';
import { decodePemOrDer, PemError } from '../../../src/x509/pem.js';
import { issue } from '../pki.js';

const KIB = 1024;
/** Generous: the quadratic scanner took 1-26 s on these inputs; the linear one takes a few ms. */
const BOUND_MS = 200;

function unterminatedBegins(bytes: number): string {
  const line = '-----BEGIN CERTIFICATE-----\n';
  return line.repeat(Math.ceil(bytes / line.length));
}

function timed<T>(run: () => T): { ms: number; value: T } {
  const start = performance.now();
  const value = run();
  return { ms: performance.now() - start, value };
}

async function timedAsync<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await run();
  return { ms: performance.now() - start, value };
}

const dir = mkdtempSync(join(tmpdir(), 'certgate-pem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PEM scanning is linear', () => {
  it.each([512, 1024])('%i KiB of unterminated BEGIN lines fail with PemError quickly', (kib) => {
    const text = unterminatedBegins(kib * KIB);
    const { ms } = timed(() => expect(() => decodePemOrDer(text)).toThrow(PemError));
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('unterminated BEGIN lines with a different label before a real block', () => {
    const text = `${'-----BEGIN X509 CRL-----\nAAAA\n'.repeat(40_000)}-----BEGIN CERTIFICATE-----\nAAAA\n`;
    const { ms } = timed(() => expect(() => decodePemOrDer(text)).toThrow(PemError));
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('verify() answers CERT_MALFORMED for 512 KiB of unterminated BEGIN lines, quickly', async () => {
    const ca = await issue({ subject: 'CN=PEM CA', ca: true });
    const verifier = createVerifier({ ca: ca.x509.toString('pem'), clock: { now: () => Date.UTC(2025, 0, 1) } });
    const chain = unterminatedBegins(512 * KIB);
    const { ms, value } = await timedAsync(() => verifier.verify(chain));
    verifier.close();
    expect(value.ok).toBe(false);
    expect(value.ok ? undefined : value.code).toBe('CERT_MALFORMED');
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it('createVerifier refuses a 1 MiB CA bundle of unterminated BEGIN lines with CONFIG_INVALID, quickly', () => {
    const text = unterminatedBegins(1024 * KIB);
    const { ms, value: error } = timed(() => {
      try {
        createVerifier({ ca: text });
        return undefined;
      } catch (err) {
        return err;
      }
    });
    expect(ms).toBeLessThan(BOUND_MS);
    expect(error).toBeInstanceOf(CertgateError);
    expect((error as CertgateError).code).toBe('CONFIG_INVALID');
  });

  it('certgate inspect on 1 MiB of unterminated BEGIN lines: exit 2, quickly', async () => {
    const file = join(dir, 'begins.pem');
    writeFileSync(file, unterminatedBegins(1024 * KIB));
    const err: string[] = [];
    const { ms, value } = await timedAsync(() => main(['inspect', file], { out: () => {}, err: (l) => err.push(l) }));
    expect(value).toBe(2);
    expect(err.join('\n')).toMatch(/^certgate: certificate file ".*" is unusable: /);
    expect(ms).toBeLessThan(BOUND_MS);
  });
});

describe('PEM blocks still decode as before', () => {
  it('reads several blocks, ignoring text around them', async () => {
    const a = await issue({ subject: 'CN=a' });
    const b = await issue({ subject: 'CN=b' });
    const text = `Bag Attributes\n${a.x509.toString('pem')}\nsubject=CN=b\n${b.x509.toString('pem')}\ntrailer`;
    const items = decodePemOrDer(text);
    expect(items.map((i) => i.label)).toEqual(['CERTIFICATE', 'CERTIFICATE']);
    expect(items[0]?.der.equals(a.cert.der)).toBe(true);
    expect(items[1]?.der.equals(b.cert.der)).toBe(true);
  });

  it('refuses a block whose END label differs, a non-base64 body and an empty block', () => {
    expect(() => decodePemOrDer('-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n')).toThrow(PemError);
    expect(() => decodePemOrDer('-----BEGIN CERTIFICATE-----\nAA*A\n-----END CERTIFICATE-----\n')).toThrow(
      /not valid base64/,
    );
    expect(() => decodePemOrDer('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')).toThrow(/empty/);
  });

  it('a CertgateError from createVerifier names the unusable option', () => {
    expect(() => createVerifier({ ca: '-----BEGIN CERTIFICATE-----\nAAAA\n' })).toThrow(CertgateError);
  });
});
