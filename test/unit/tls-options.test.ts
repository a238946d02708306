/**
 * The guard's `tls` option and `tlsOptions()`: validated up front (CONFIG_INVALID naming the
 * option); and the rule in the guard with sources that report unusual transport facts.
 */
import { constants } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError, clientCertGuard, createVerifier, tlsOptions, type Verifier } from 'certgate';
import { requireClientCert as expressGuard } from 'certgate/express';
import { requireClientCert as koaGuard } from 'certgate/koa';
import { generateDevPki, type DevPkiFiles } from '../../src/devpki/generate.js';
import { createGuard } from '../../src/guard/guard.js';
import { ConnectionClosedError, type PresentedCertificate, type TransportFacts } from '../../src/sources/source.js';
import { DEFAULT_TLS_RULE, parseTlsRule } from '../../src/tls/rule.js';
import { RFC9325_TLS12_CIPHERS, TLS13_CIPHERS } from '../../src/tls/server-options.js';
import { decodeEach } from '../../src/x509/pem.js';

let dir: string;
let files: DevPkiFiles;
let verifier: Verifier;
let aliceDers: Buffer[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-unit-'));
  files = await generateDevPki(dir);
  verifier = createVerifier({ ca: readFileSync(files.caBundle), intermediates: readFileSync(files.intermediateCert) });
  aliceDers = decodeEach(
    readFileSync(files.clients.alice.cert),
    'CERTIFICATE',
    'certificate',
    (d) => Buffer.from(d),
    '',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configProblem(make: () => unknown): string {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(CertgateError);
    expect((err as CertgateError).code).toBe('CONFIG_INVALID');
    return (err as CertgateError).message;
  }
  throw new Error('expected CONFIG_INVALID, nothing was thrown');
}

describe("the guard's tls option", () => {
  it.each([
    [null, /option 'tls' must be an object \{ minVersion\?, minCipherBits\? \}, got null/],
    ['TLSv1.2', /option 'tls' must be an object/],
    [[], /option 'tls' must be an object/],
    [
      { minVersion: 'TLSv1.1' },
      /option 'tls.minVersion' must be 'TLSv1.2' or 'TLSv1.3' \(RFC 9325 4.1\), got 'TLSv1.1'/,
    ],
    [{ minVersion: 1.3 }, /option 'tls.minVersion' must be 'TLSv1.2' or 'TLSv1.3'/],
    [{ minCipherBits: 112 }, /option 'tls.minCipherBits' must be an integer from 128 to 256, got 112/],
    [{ minCipherBits: 0 }, /option 'tls.minCipherBits' must be an integer from 128 to 256, got 0/],
    [{ minCipherBits: 128.5 }, /option 'tls.minCipherBits' must be an integer from 128 to 256/],
    [{ minCipherBits: '128' }, /option 'tls.minCipherBits' must be an integer from 128 to 256, got a string/],
    [{ minCipherBits: 512 }, /option 'tls.minCipherBits' must be an integer from 128 to 256, got 512/],
    [{ minVersoin: 'TLSv1.3' }, /unknown option 'tls.minVersoin' \(known: minVersion, minCipherBits\)/],
  ])('%o: CONFIG_INVALID at creation', (value, message) => {
    for (const make of [clientCertGuard, expressGuard, koaGuard]) {
      expect(configProblem(() => make({ tls: value as never }))).toMatch(message);
    }
  });

  it('a partial object keeps the other default', () => {
    expect(parseTlsRule(undefined, 'w')).toBe(DEFAULT_TLS_RULE);
    expect(DEFAULT_TLS_RULE).toEqual({ minVersion: 'TLSv1.2', minCipherBits: 128 });
    expect(parseTlsRule({}, 'w')).toEqual(DEFAULT_TLS_RULE);
    expect(parseTlsRule({ minVersion: 'TLSv1.3' }, 'w')).toEqual({ minVersion: 'TLSv1.3', minCipherBits: 128 });
    expect(parseTlsRule({ minCipherBits: 256 }, 'w')).toEqual({ minVersion: 'TLSv1.2', minCipherBits: 256 });
  });
});

/** A guard over a source that presents alice's chain on one connection, with these transport facts. */
function guardOver(transport: () => TransportFacts | undefined, options = {}) {
  const key = {};
  const reading = {
    kind: 'certificate',
    scope: 'connection',
    cacheKey: key,
    ders: aliceDers,
    via: 'a test connection',
    get transport() {
      return transport();
    },
  } as PresentedCertificate;
  const guard = createGuard({ verifier, ...options }, 'test', { read: () => reading });
  return { guard, req: { socket: key } };
}

describe('the rule in the guard', () => {
  it('a reading without transport facts (a forwarded certificate): not applied, clientCert.tls undefined', async () => {
    const { guard, req } = guardOver(() => undefined, { tls: { minVersion: 'TLSv1.3', minCipherBits: 256 } });
    const outcome = await guard.check(req);
    expect(outcome.ok && outcome.clientCert.tls).toBeUndefined();
    expect(outcome.ok).toBe(true);
  });

  it('unknown protocol and cipher: refused (fail closed)', async () => {
    const { guard, req } = guardOver(() => ({ protocol: undefined, cipher: undefined }));
    const outcome = await guard.check(req);
    expect(outcome.ok ? undefined : [outcome.error.code, outcome.error.detail]).toEqual([
      'TLS_TOO_WEAK',
      'unknown with unknown (0-bit: a cipher certgate does not know) is below the rule: TLSv1.2, 128 bits ' +
        '[a test connection]',
    ]);
  });

  it('a connection closed before its TLS parameters were read: CERT_MISSING, not a configuration error', async () => {
    const { guard, req } = guardOver(() => {
      throw new ConnectionClosedError('the connection closed before its TLS parameters were read');
    });
    const outcome = await guard.check(req);
    expect(outcome.ok ? undefined : outcome.error.code).toBe('CERT_MISSING');
  });

  it('the rule is read once per connection, refused or approved', async () => {
    for (const protocol of ['TLSv1.3', 'TLSv1.1']) {
      let reads = 0;
      const { guard, req } = guardOver(() => {
        reads++;
        return { protocol, cipher: 'X', standardCipher: 'TLS_AES_256_GCM_SHA384' };
      });
      const first = await guard.check(req);
      for (let i = 0; i < 5; i++) expect(guard.cached(req)).toBe(first);
      expect(await guard.check(req)).toBe(first);
      expect([first.ok, reads]).toEqual([protocol === 'TLSv1.3', 1]);
    }
  });
});

describe('tlsOptions()', () => {
  const pem = () => ({ key: 'KEY', cert: 'CERT', ca: 'CA' });

  it('defaults: TLS 1.2 floor, RFC 9325 suites for TLS 1.2, Node’s TLS 1.3 suites', () => {
    const options = tlsOptions(pem());
    expect(options).toEqual({
      ...pem(),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ciphers: [...TLS13_CIPHERS, ...RFC9325_TLS12_CIPHERS].join(':'),
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
    });
    expect('crl' in options).toBe(false);
    // The TLS 1.3 suites are those Node enables by default.
    expect(TLS13_CIPHERS).toEqual(tls.DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_')));
  });

  it('arrays are copied; crl and minVersion TLSv1.3 are passed on', () => {
    const ca = [Buffer.from('A'), 'B'];
    const options = tlsOptions({ ...pem(), ca, crl: 'CRL', minVersion: 'TLSv1.3' });
    expect(options.ca).toEqual(ca);
    expect(options.ca).not.toBe(ca);
    expect([options.crl, options.minVersion]).toEqual(['CRL', 'TLSv1.3']);
  });

  it.each([
    [undefined, /^tlsOptions: options must be an object \{ key, cert, ca, crl\?, minVersion\? \}, got nothing/],
    [
      { key: 'K', cert: 'C' },
      /^tlsOptions: option 'ca' must be PEM text, a Buffer, or a non-empty array of these, got nothing/,
    ],
    [{ key: 1, cert: 'C', ca: 'A' }, /option 'key' must be PEM text/],
    [{ key: 'K', cert: [], ca: 'A' }, /option 'cert' must be PEM text, a Buffer, or a non-empty array/],
    [{ key: 'K', cert: 'C', ca: [''] }, /option 'ca' must be PEM text/],
    [{ key: 'K', cert: 'C', ca: 'A', crl: 3 }, /option 'crl' must be PEM text/],
    [
      { key: 'K', cert: 'C', ca: 'A', minVersion: 'TLSv1.1' },
      /option 'minVersion' must be 'TLSv1.2' or 'TLSv1.3' \(RFC 9325 4.1\), got 'TLSv1.1'/,
    ],
    [{ key: 'K', cert: 'C', ca: 'A', minVersion: 'TLSv1' }, /got 'TLSv1'/],
    [
      { key: 'K', cert: 'C', ca: 'A', passphrase: 'x' },
      /unknown option 'passphrase' \(known: key, cert, ca, crl, minVersion\)/,
    ],
  ])('%o: CONFIG_INVALID', (input, message) => {
    expect(configProblem(() => tlsOptions(input as never))).toMatch(message);
  });
});
