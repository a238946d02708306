/**
 * Finding 14: `certgate dev-pki DIR` overwrote existing keys and followed planted symlinks (and
 * hard links), so running it on a shared or attacker-writable folder could clobber a file
 * elsewhere or write a fresh private key into a file someone else can read. Now: a non-empty
 * folder is refused unless --force; no symlink is followed (the folder itself included); with
 * --force a planted link is replaced, never written through; private keys are created 0600.
 */
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDevPki } from '../../src/cli/dev-pki.js';
import { generateDevPki } from '../../src/devpki/generate.js';

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'certgate-devpki-adv-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
function folder(): string {
  const dir = join(base, `case-${++n}`);
  mkdirSync(dir);
  return dir;
}

async function devPki(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runDevPki(args, (line) => lines.push(line));
  return { code, out: lines.join('\n') };
}

const KEY_FILES = ['server-key.pem', 'alice-key.pem', 'bob-key.pem', 'mallory-key.pem', 'eve-key.pem'];

describe('certgate dev-pki on a folder that is not empty', () => {
  it('refuses a non-empty folder without --force and leaves it as it was', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'server-key.pem'), 'my real key\n');
    const r = await devPki(dir);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^certgate: .* is not empty.*--force/);
    expect(readdirSync(dir)).toEqual(['server-key.pem']);
    expect(readFileSync(join(dir, 'server-key.pem'), 'utf8')).toBe('my real key\n');
  });

  it('generateDevPki refuses it too, unless asked to overwrite', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'notes.txt'), 'keep me\n');
    await expect(generateDevPki(dir)).rejects.toThrow(/is not empty/);
    const files = await generateDevPki(dir, { force: true });
    expect(readFileSync(files.serverKey, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('keep me\n');
  });

  it('writes into an empty folder and into one that does not exist yet', async () => {
    expect((await devPki(folder())).code).toBe(0);
    expect((await devPki(join(folder(), 'new', 'pki'))).code).toBe(0);
  });
});

describe('certgate dev-pki never follows a link', () => {
  it('--force replaces a planted symlink instead of writing through it', async () => {
    const dir = folder();
    const victim = join(base, `victim-${n}.txt`);
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(dir, 'alice-key.pem'));
    symlinkSync(victim, join(dir, 'ca.pem'));
    const r = await devPki(dir, '--force');
    expect(r.code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    for (const name of ['alice-key.pem', 'ca.pem']) expect(lstatSync(join(dir, name)).isFile()).toBe(true);
    expect(readFileSync(join(dir, 'alice-key.pem'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('a dangling symlink is not followed to create its target', async () => {
    const dir = folder();
    const target = join(base, `created-by-symlink-${n}.pem`);
    symlinkSync(target, join(dir, 'server-key.pem'));
    expect((await devPki(dir, '--force')).code).toBe(0);
    expect(() => statSync(target)).toThrow();
    expect(lstatSync(join(dir, 'server-key.pem')).isFile()).toBe(true);
  });

  it('--force replaces a planted hard link: the other name keeps its content and gets no key', async () => {
    const dir = folder();
    const victim = join(base, `hard-victim-${n}.txt`);
    writeFileSync(victim, 'readable by someone else\n', { mode: 0o644 });
    linkSync(victim, join(dir, 'bob-key.pem'));
    expect((await devPki(dir, '--force')).code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('readable by someone else\n');
    expect(statSync(join(dir, 'bob-key.pem')).ino).not.toBe(statSync(victim).ino);
    expect(statSync(join(dir, 'bob-key.pem')).mode & 0o777).toBe(0o600);
  });

  it('refuses a folder that is itself a symlink, even with --force', async () => {
    const real = folder();
    const link = join(base, `link-${n}`);
    symlinkSync(real, link);
    const r = await devPki(link, '--force');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/symbolic link/);
    expect(readdirSync(real)).toEqual([]);
  });

  it('--force refuses a planted directory where a file goes, rather than writing elsewhere', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'eve-key.pem'));
    const r = await devPki(dir, '--force');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/eve-key\.pem/);
  });
});

describe('private keys are created 0600', () => {
  it('every key is 0600 even where an old key file was 0644, and public files are 0644', async () => {
    const dir = folder();
    for (const name of KEY_FILES) writeFileSync(join(dir, name), 'old\n', { mode: 0o644 });
    expect((await devPki(dir, '--force')).code).toBe(0);
    for (const name of KEY_FILES) expect(statSync(join(dir, name)).mode & 0o777, name).toBe(0o600);
    expect(statSync(join(dir, 'ca.pem')).mode & 0o777).toBe(0o644 & ~process.umask());
  });

  it('usage names --force, and an unknown flag is a usage error', async () => {
    const r = await devPki(folder(), '--forse');
    expect(r.code).toBe(2);
    expect(r.out).toBe('usage: certgate dev-pki <dir> [--force]');
  });
});
