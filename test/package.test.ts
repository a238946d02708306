/**
 * The published artefact, as a user gets it: `npm pack`, install the tarball into a scratch app,
 * then import it as ESM and require it as CommonJS, and run the `certgate` binary.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
let app: string;

beforeAll(() => {
  const work = mkdtempSync(join(tmpdir(), 'certgate-pack-'));
  execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: root, stdio: 'pipe' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack produced no tarball');
  app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true }));
  // Dependencies come from the npm cache that `npm ci` filled; the network is only a fallback.
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(work, tarball)], { cwd: app, stdio: 'pipe' });
  execFileSync(join(app, 'node_modules/.bin/certgate'), ['dev-pki', join(app, 'pki')], { stdio: 'pipe' });
}, 180_000);

function node(file: string, source: string): { status: number | null; stdout: string; stderr: string } {
  writeFileSync(join(app, file), source);
  const r = spawnSync(process.execPath, [file], { cwd: app, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const usage = (load: string) => `
${load}
const fs = require_or_import_fs;
const verifier = core.createVerifier({ ca: fs.readFileSync('pki/ca.pem'), crl: fs.readFileSync('pki/crl.pem') });
const results = await Promise.all(['alice', 'mallory'].map((n) => verifier.verify(fs.readFileSync('pki/' + n + '.pem'))));
let configError;
try { express.requireClientCert({ bogus: true }); } catch (e) { configError = e; }
console.log(JSON.stringify({
  alice: results[0].ok, mallory: results[1].code,
  express: typeof express.requireClientCert, koa: typeof koa.requireClientCert,
  sameErrorClass: configError instanceof core.CertgateError, code: configError && configError.code,
}));
`;

const expected = { alice: true, mallory: 'CERT_REVOKED', express: 'function', koa: 'function', sameErrorClass: true, code: 'CONFIG_INVALID' };

describe('the packed package in a fresh app', () => {
  it('works with import (ESM)', () => {
    const r = node(
      'esm.mjs',
      usage(`import * as core from 'certgate'; import * as express from 'certgate/express'; import * as koa from 'certgate/koa'; import * as fsMod from 'node:fs';`).replace(
        'require_or_import_fs',
        'fsMod',
      ),
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it('works with require (CommonJS)', () => {
    const body = usage(`const core = require('certgate'); const express = require('certgate/express'); const koa = require('certgate/koa');`).replace(
      'require_or_import_fs',
      `require('node:fs')`,
    );
    const r = node('cjs.cjs', `(async () => {${body}})().catch((e) => { console.error(e); process.exit(1); });`);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it('ships a working certgate binary with exit codes 0, 1, 2', () => {
    const bin = join(app, 'node_modules/.bin/certgate');
    const run = (...args: string[]) => spawnSync(bin, args, { cwd: app, encoding: 'utf8' });
    expect(run('verify', 'pki/alice.pem', '--ca', 'pki/ca.pem', '--crl', 'pki/crl.pem').status).toBe(0);
    expect(run('verify', 'pki/mallory.pem', '--ca', 'pki/ca.pem', '--crl', 'pki/crl.pem').status).toBe(1);
    const bad = run('verify', 'pki/alice-key.pem', '--ca', 'pki/ca.pem');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
