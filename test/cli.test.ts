import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { MAX_CRL_DOWNLOAD_BYTES, runCrl } from '../src/cli/crl.js';
import { UsageError } from '../src/cli/io.js';
import { generateDevPki, type DevPkiFiles } from '../src/devpki/generate.js';
import { makeOpensslCa } from './helpers/oracle.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let pki: DevPkiFiles;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-cli-'));
  pki = await generateDevPki(join(dir, 'pki'));
  writeFileSync(join(dir, 'garbage.pem'), 'this is not a certificate\n');
  writeFileSync(join(dir, 'empty.pem'), '');
});

describe('certgate verify', () => {
  it('accepts a good chain: exit 0', async () => {
    const r = await run('verify', pki.clients.alice.cert, '--ca', pki.caBundle, '--crl', pki.crl);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^OK: CN=alice,OU=Retail,O=Example Bank/);
  });

  it('rejects a revoked certificate: exit 1 and --json names the code', async () => {
    const r = await run('verify', pki.clients.mallory.cert, '--ca', pki.caBundle, '--crl', pki.crl, '--json');
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out);
    expect(json).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
    expect(typeof json.message).toBe('string');
  });

  it('--json on success has ok true', async () => {
    const r = await run('verify', pki.clients.alice.cert, '--ca', pki.caBundle, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true });
  });

  it('rejects an expired certificate, and --at moves the clock', async () => {
    expect((await run('verify', pki.clients.eve.cert, '--ca', pki.caBundle)).code).toBe(1);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const r = await run('verify', pki.clients.eve.cert, '--ca', pki.caBundle, '--at', twoDaysAgo, '--json');
    expect(JSON.parse(r.out)).toMatchObject({ ok: true });
  });

  it('--purpose serverAuth accepts the server certificate that clientAuth refuses', async () => {
    const refused = await run('verify', pki.serverCert, '--ca', pki.caBundle, '--json');
    expect(JSON.parse(refused.out).code).toBe('CERT_PURPOSE_INVALID');
    expect((await run('verify', pki.serverCert, '--ca', pki.caBundle, '--purpose', 'serverAuth')).code).toBe(0);
    expect((await run('verify', pki.serverCert, '--ca', pki.caBundle, '--purpose', 'any')).code).toBe(0);
  });

  it.each<[string, () => string[], RegExp]>([
    ['a missing file', () => ['verify', join(dir, 'nope.pem'), '--ca', pki.caBundle], /no such file/],
    ['garbage', () => ['verify', join(dir, 'garbage.pem'), '--ca', pki.caBundle], /no PEM block/],
    ['an empty file', () => ['verify', join(dir, 'empty.pem'), '--ca', pki.caBundle], /empty/],
    ['a key instead of a certificate', () => ['verify', pki.clients.alice.key, '--ca', pki.caBundle], /PRIVATE KEY/],
    ['a key as --ca', () => ['verify', pki.clients.alice.cert, '--ca', pki.clients.alice.key], /--ca .*PRIVATE KEY/],
    ['a missing --ca', () => ['verify', pki.clients.alice.cert], /--ca/],
    ['a bad --at', () => ['verify', pki.clients.alice.cert, '--ca', pki.caBundle, '--at', 'yesterday'], /--at/],
    [
      'a bad --purpose',
      () => ['verify', pki.clients.alice.cert, '--ca', pki.caBundle, '--purpose', 'email'],
      /--purpose/,
    ],
    ['an unknown flag', () => ['verify', pki.clients.alice.cert, '--ca', pki.caBundle, '--frobnicate'], /frobnicate/],
    [
      'a CRL file that is a certificate',
      () => ['verify', pki.clients.alice.cert, '--ca', pki.caBundle, '--crl', pki.caBundle],
      /--crl .*CERTIFICATE/,
    ],
    ['an unknown command', () => ['frobnicate'], /unknown command/],
  ])('%s: one line on stderr, exit 2, no stack trace', async (_label, argv, pattern) => {
    const r = await run(...argv());
    expect(r.code).toBe(2);
    expect(r.err).toMatch(pattern);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.out).toBe('');
  });
});

describe('certgate inspect', () => {
  it('prints the certificate as identify() sees it', async () => {
    const r = await run('inspect', pki.clients.alice.cert);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out.split('\n(')[0] as string);
    expect(json.subject).toEqual({ O: 'Example Bank', OU: 'Retail', CN: 'alice' });
    expect(json.subjectDN).toBe('CN=alice,OU=Retail,O=Example Bank');
    expect(json.san.email).toEqual(['alice@bank.example']);
    expect(json.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('refuses garbage with exit 2', async () => {
    const r = await run('inspect', join(dir, 'garbage.pem'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^certgate: /);
  });
});

describe('certgate dev-pki', () => {
  it('writes a PKI that verify accepts, and refuses a missing directory argument', async () => {
    const target = join(dir, 'fresh');
    const r = await run('dev-pki', target);
    expect(r.code).toBe(0);
    expect(r.out).toContain(join(target, 'alice.pem'));
    expect(
      (await run('verify', join(target, 'alice.pem'), '--ca', join(target, 'ca.pem'), '--crl', join(target, 'crl.pem')))
        .code,
    ).toBe(0);
    expect(
      (
        await run(
          'verify',
          join(target, 'mallory.pem'),
          '--ca',
          join(target, 'ca.pem'),
          '--crl',
          join(target, 'crl.pem'),
        )
      ).code,
    ).toBe(1);
    const usage = await run('dev-pki');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/usage: certgate dev-pki <dir>/);
  });
});

describe('certgate crl', () => {
  it('reports issuer, dates, entries and a verified signature: exit 0', async () => {
    const r = await run('crl', pki.crl, '--ca', pki.caBundle, '--ca', pki.intermediateCert, '--json');
    expect(r.code).toBe(0);
    const [intermediate, root] = JSON.parse(r.out);
    expect(intermediate).toMatchObject({
      issuer: 'CN=certgate Dev Intermediate CA,O=certgate dev',
      entries: 1,
      crlNumber: '1',
      freshness: 'current',
      usable: true,
    });
    expect(intermediate.signature).toMatch(/^verified with/);
    expect(root).toMatchObject({ issuer: 'CN=certgate Dev Root CA,O=certgate dev', entries: 0, usable: true });
  });

  it('exit 1 when the CRL cannot be verified with the given CA', async () => {
    const other = await generateDevPki(join(dir, 'other-for-crl'));
    const r = await run('crl', pki.crl, '--ca', other.caBundle, '--ca', other.intermediateCert, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)[0].signature).toMatch(/does not verify/);
  });

  it('fetches a CRL over HTTP, and refuses a 404 with exit 2', async () => {
    const body = readFileSync(pki.crl);
    const server = http.createServer((req, res) => {
      if (req.url === '/ca.crl') res.end(body);
      else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const ok = await run('crl', `http://127.0.0.1:${port}/ca.crl`, '--json');
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.out)).toHaveLength(2);
      const missing = await run('crl', `http://127.0.0.1:${port}/nope.crl`);
      expect(missing.code).toBe(2);
      expect(missing.err).toMatch(/HTTP 404/);
    } finally {
      server.close();
    }
  });

  it('judges the signer as the server does: a CA without cRLSign makes the CRL unusable (exit 1)', async () => {
    const ca = makeOpensslCa(join(dir, 'no-crlsign'), { keyUsage: 'keyCertSign', cn: 'No cRLSign CA' });
    const crl = await run('crl', ca.crl, '--ca', ca.cert, '--json');
    expect(crl.code).toBe(1);
    expect(JSON.parse(crl.out)).toMatchObject({ usable: false, signature: expect.stringMatching(/cRLSign/) });
    // `certgate verify` with the same files refuses for the same reason.
    const verify = await run('verify', ca.leaf, '--ca', ca.cert, '--crl', ca.crl, '--json');
    expect(verify.code).toBe(1);
    expect(JSON.parse(verify.out)).toMatchObject({ code: 'REVOCATION_UNKNOWN' });
  });

  it('caps a download while it streams: exactly the cap is read, one byte more is refused (exit 2)', async () => {
    const body = readFileSync(pki.crl);
    const server = http.createServer((_req, res) => {
      // No content-length: the body is streamed in chunks, so only the running count can stop it.
      res.write(body.subarray(0, 100));
      setImmediate(() => res.end(body.subarray(100)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ca.crl`;
    const io = { out: () => undefined, err: () => undefined };
    try {
      expect(await runCrl([url], io, { maxBytes: body.length })).toBe(0);
      const over = runCrl([url], io, { maxBytes: body.length - 1 });
      await expect(over).rejects.toBeInstanceOf(UsageError);
      await expect(over).rejects.toThrow(`over the ${body.length - 1}-byte limit`);
      // A file is held to the same cap, by its size.
      expect(await runCrl([pki.crl], io, { maxBytes: body.length })).toBe(0);
      await expect(runCrl([pki.crl], io, { maxBytes: body.length - 1 })).rejects.toBeInstanceOf(UsageError);
      // The documented default stays, and `certgate crl` (through main) uses it.
      expect(MAX_CRL_DOWNLOAD_BYTES).toBe(256 * 1024 * 1024);
      expect((await run('crl', url)).code).toBe(0);
    } finally {
      server.close();
    }
  });

  it('refuses a certificate given as a CRL with exit 2', async () => {
    const r = await run('crl', pki.clients.alice.cert);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/CERTIFICATE, not a CRL/);
  });
});
