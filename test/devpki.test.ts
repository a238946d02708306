import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDevPki } from '../src/cli/dev-pki.js';
import { generateDevPki, type DevPkiFiles } from '../src/devpki/generate.js';

const FIXTURE_SCRIPT = fileURLToPath(new URL('./fixtures/openssl-pki.sh', import.meta.url));

interface VerifyResult {
  ok: boolean;
  output: string;
}

/** Runs `openssl verify` in `cwd`; failures are results, not exceptions. */
function opensslVerify(cwd: string, args: string[]): VerifyResult {
  const res = spawnSync('openssl', ['verify', ...args], { cwd, encoding: 'utf8' });
  if (res.error) throw res.error;
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}` };
}

function countPemBlocks(path: string, label: string): number {
  return readFileSync(path, 'utf8').split(`-----BEGIN ${label}-----`).length - 1;
}

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('generateDevPki', () => {
  let files: DevPkiFiles;
  let dir: string;
  const verify = (...args: string[]) =>
    opensslVerify(dir, ['-CAfile', 'ca.pem', '-untrusted', 'intermediate-ca.pem', ...args]);

  beforeAll(async () => {
    // A subdirectory that does not exist yet: the generator must create it.
    dir = join(tempDir('certgate-devpki-'), 'pki');
    files = await generateDevPki(dir);
  });

  it('writes the documented files with private keys readable only by the owner', () => {
    expect(files.dir).toBe(dir);
    expect(files.caBundle).toBe(join(dir, 'ca.pem'));
    expect(files.clients.alice).toEqual({ cert: join(dir, 'alice.pem'), key: join(dir, 'alice-key.pem') });

    const keys = [files.serverKey, ...Object.values(files.clients).map((c) => c.key)];
    for (const key of keys) {
      expect(statSync(key).mode & 0o777).toBe(0o600);
      expect(readFileSync(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    }

    expect(countPemBlocks(files.caBundle, 'CERTIFICATE')).toBe(1);
    expect(countPemBlocks(files.chain, 'CERTIFICATE')).toBe(2);
    expect(countPemBlocks(files.serverCert, 'CERTIFICATE')).toBe(2);
    expect(countPemBlocks(files.clients.alice.cert, 'CERTIFICATE')).toBe(2);
    expect(countPemBlocks(files.crl, 'X509 CRL')).toBe(2);
    expect(readFileSync(join(dir, 'README.txt'), 'utf8')).toMatch(/development/i);
  });

  it('issues a client certificate for alice that OpenSSL accepts, CRLs included', () => {
    const res = verify('-purpose', 'sslclient', '-crl_check_all', '-CRLfile', 'crl.pem', 'alice.pem');
    expect(res.output).toContain('alice.pem: OK');
    expect(res.ok).toBe(true);
  });

  it('issues bob a valid certificate too (his rejection is an authorization matter)', () => {
    expect(verify('-purpose', 'sslclient', '-crl_check_all', '-CRLfile', 'crl.pem', 'bob.pem').ok).toBe(true);
  });

  it("revokes mallory in the intermediate's CRL", () => {
    expect(verify('-purpose', 'sslclient', 'mallory.pem').ok).toBe(true);
    const res = verify('-purpose', 'sslclient', '-crl_check', '-CRLfile', 'crl.pem', 'mallory.pem');
    expect(res.ok).toBe(false);
    expect(res.output).toContain('certificate revoked');
  });

  it('issues eve an expired certificate', () => {
    const res = verify('-purpose', 'sslclient', 'eve.pem');
    expect(res.ok).toBe(false);
    expect(res.output).toContain('certificate has expired');
  });

  it('issues a localhost server certificate', () => {
    expect(verify('-purpose', 'sslserver', 'server.pem').ok).toBe(true);
    const text = execFileSync('openssl', ['x509', '-in', 'server.pem', '-noout', '-ext', 'subjectAltName'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(text).toContain('DNS:localhost');
    expect(text).toContain('IP Address:127.0.0.1');
  });

  it('puts the client identity in subject and SAN email', () => {
    const text = execFileSync('openssl', ['x509', '-in', 'alice.pem', '-noout', '-subject', '-ext', 'subjectAltName'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(text).toContain('O = Example Bank, OU = Retail, CN = alice');
    expect(text).toContain('email:alice@bank.example');
  });

  it('honours options.now', async () => {
    const past = new Date('2001-06-01T00:00:00Z');
    const old = await generateDevPki(tempDir('certgate-devpki-now-'), { now: past });
    const dates = execFileSync('openssl', ['x509', '-in', old.clients.alice.cert, '-noout', '-startdate'], {
      encoding: 'utf8',
    });
    expect(dates).toContain('May 31 00:00:00 2001 GMT');
  });
});

describe('test/fixtures/openssl-pki.sh', () => {
  let dir: string;
  const verify = (...args: string[]) =>
    opensslVerify(dir, ['-CAfile', 'ca.pem', '-untrusted', 'intermediate.pem', ...args]);

  beforeAll(() => {
    dir = tempDir('certgate-openssl-pki-');
    execFileSync('bash', [FIXTURE_SCRIPT, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  }, 30_000);

  it('produces a good client certificate', () => {
    expect(
      verify('-purpose', 'sslclient', '-crl_check_all', '-CRLfile', 'crl.pem', '-CRLfile', 'root-crl.pem', 'good.pem')
        .ok,
    ).toBe(true);
  });

  it('revokes `revoked` in crl.pem', () => {
    expect(verify('revoked.pem').ok).toBe(true);
    const res = verify('-crl_check', '-CRLfile', 'crl.pem', 'revoked.pem');
    expect(res.ok).toBe(false);
    expect(res.output).toContain('certificate revoked');
  });

  it('produces an expired certificate', () => {
    const res = verify('expired.pem');
    expect(res.ok).toBe(false);
    expect(res.output).toContain('certificate has expired');
  });

  it('produces a server-only certificate unusable for client auth', () => {
    expect(verify('-purpose', 'sslserver', 'serveronly.pem').ok).toBe(true);
    const res = verify('-purpose', 'sslclient', 'serveronly.pem');
    expect(res.ok).toBe(false);
    expect(res.output).toContain('error 26');
  });

  it('produces a certificate with a corrupted signature', () => {
    const res = verify('wrongsig.pem');
    expect(res.ok).toBe(false);
    expect(res.output).toContain('certificate signature failure');
  });

  it('produces Ed25519 and RSA-PSS leaves that are otherwise valid', () => {
    expect(verify('-purpose', 'sslclient', 'ed25519.pem').ok).toBe(true);
    expect(verify('-purpose', 'sslclient', 'pss.pem').ok).toBe(true);
  });

  it('produces certificates that do not chain to the root', () => {
    expect(verify('selfsigned.pem').ok).toBe(false);
    const res = verify('-untrusted', 'untrusted-ee-issuer.pem', 'noca-issued.pem');
    expect(res.ok).toBe(false);
    expect(res.output).toContain('invalid CA certificate');
  });
});

describe('runDevPki', () => {
  it('prints usage and returns 2 without a directory', async () => {
    const lines: string[] = [];
    expect(await runDevPki([], (line) => lines.push(line))).toBe(2);
    expect(lines).toEqual(['usage: certgate dev-pki <dir> [--force]']);
  });

  it('lists every file it writes', async () => {
    const dir = tempDir('certgate-devpki-cli-');
    const lines: string[] = [];
    expect(await runDevPki([dir], (line) => lines.push(line))).toBe(0);
    expect(lines).toHaveLength(16);
    expect(lines[0]).toContain(join(dir, 'root-ca.pem'));
  });

  it('reports errors as one line instead of throwing', async () => {
    const file = join(tempDir('certgate-devpki-err-'), 'not-a-dir');
    writeFileSync(file, '');
    const lines: string[] = [];
    expect(await runDevPki([join(file, 'pki')], (line) => lines.push(line))).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^certgate: /);
  });
});
