/**
 * The published artefact, as a user gets it: `npm pack`, install the tarball into a scratch app,
 * then import it as ESM and require it as CommonJS, run the `certgate` binary, and compile a
 * strict TypeScript consumer against the shipped declarations.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
let app: string;
/** A second scratch app with Fastify and NestJS installed beside certgate (optional peers). */
let frameworksApp: string;

beforeAll(() => {
  const work = mkdtempSync(join(tmpdir(), 'certgate-pack-'));
  execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: root, stdio: 'pipe' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack produced no tarball');
  app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true }));
  // Dependencies come from the npm cache that `npm ci` filled; the network is only a fallback.
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(work, tarball)], {
    cwd: app,
    stdio: 'pipe',
  });
  execFileSync(join(app, 'node_modules/.bin/certgate'), ['dev-pki', join(app, 'pki')], { stdio: 'pipe' });
  frameworksApp = join(work, 'frameworks-app');
  execFileSync('mkdir', ['-p', frameworksApp]);
  writeFileSync(
    join(frameworksApp, 'package.json'),
    JSON.stringify({ name: 'scratch-frameworks-app', version: '1.0.0', private: true }),
  );
  const frameworks = ['fastify@^5', '@nestjs/common@^11', '@nestjs/core@^11', 'reflect-metadata', 'rxjs'];
  execFileSync(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(work, tarball), ...frameworks],
    { cwd: frameworksApp, stdio: 'pipe' },
  );
  execFileSync('cp', ['-r', join(app, 'pki'), join(frameworksApp, 'pki')]);
}, 300_000);

function node(file: string, source: string, cwd = app): { status: number | null; stdout: string; stderr: string } {
  writeFileSync(join(cwd, file), source);
  const r = spawnSync(process.execPath, [file], { cwd, encoding: 'utf8' });
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

const expected = {
  alice: true,
  mallory: 'CERT_REVOKED',
  express: 'function',
  koa: 'function',
  sameErrorClass: true,
  code: 'CONFIG_INVALID',
};

/** The repository's TypeScript compiler, by explicit path (the scratch app has none of its own). */
const TSC = join(root, 'node_modules/typescript/bin/tsc');

/**
 * A strict ESM consumer (.mts) of the main types. Every `@ts-expect-error` must be used: were the
 * declarations missing or `any`, those lines would compile and tsc would fail on the directives.
 */
const CONSUMER_ESM = `
import { readFileSync } from 'node:fs';
import {
  CertgateError, createVerifier, REASON_CODES,
  type CertificateInfo, type ReasonCode, type Verifier, type VerifierOptions, type VerifyFailureCode, type VerifyResult,
} from 'certgate';
import { requireClientCert as expressGuard, type ClientCert, type RequireClientCertOptions } from 'certgate/express';
import { requireClientCert as koaGuard, type ClientCertState } from 'certgate/koa';

const options: VerifierOptions = {
  ca: readFileSync('pki/ca.pem'),
  crl: { files: ['pki/crl.pem'], whenUnavailable: 'reject' },
};
const verifier: Verifier = createVerifier(options);

export async function describe(pem: Buffer): Promise<string> {
  const result: VerifyResult = await verifier.verify(pem, { at: new Date() });
  if (result.ok) {
    const leaf: CertificateInfo = result.certificate;
    const chain: readonly CertificateInfo[] = result.chain;
    const until: Date = result.expiresAt;
    return leaf.subjectDN + ' ' + leaf.san.dns.join(',') + ' ' + chain.length + ' ' + until.toISOString();
  }
  const code: VerifyFailureCode = result.code;
  const reason: ReasonCode = code;
  const status: number = REASON_CODES[reason];
  const message: string = result.message;
  return code + ' ' + status + ' ' + message;
}

export function codeOf(error: unknown): ReasonCode | undefined {
  return error instanceof CertgateError ? error.code : undefined;
}

const guardOptions: RequireClientCertOptions = {
  verifier,
  roles: ['teller'],
  onReject: (e: CertgateError) => e.detail,
};
export const expressMiddleware = expressGuard(guardOptions);
export const koaMiddleware = koaGuard({ ca: readFileSync('pki/ca.pem'), forwardErrors: true });

export function userOf(req: Express.Request, state: ClientCertState): string {
  const fromExpress: ClientCert | undefined = req.clientCert;
  return fromExpress?.user ?? state.clientCert.user;
}

// @ts-expect-error \`ca\` is required
createVerifier({});
// @ts-expect-error unknown option
expressGuard({ bogus: true });
// @ts-expect-error not a reason code
export const notACode: ReasonCode = 'CERT_FINE';
// @ts-expect-error a verification never fails with ROLE_FORBIDDEN
export const notAFailure: VerifyFailureCode = 'ROLE_FORBIDDEN';
`;

/** The same through require(): the CommonJS declarations (.d.cts). */
const CONSUMER_CJS = `
import certgate = require('certgate');
import express = require('certgate/express');
import koa = require('certgate/koa');

const verifier: certgate.Verifier = certgate.createVerifier({ ca: 'PEM' });
async function codeOf(pem: string): Promise<certgate.VerifyFailureCode | undefined> {
  const result: certgate.VerifyResult = await verifier.verify(pem);
  return result.ok ? undefined : result.code;
}
const status: number = certgate.REASON_CODES.CERT_REVOKED;
const middlewares = [express.requireClientCert({ verifier }), koa.requireClientCert({ roles: ['teller'] })];
// @ts-expect-error \`ca\` is required
certgate.createVerifier({});
export = { codeOf, status, middlewares };
`;

/** A strict consumer of the framework entries: the Fastify augmentation and the Nest decorators. */
const CONSUMER_FRAMEWORKS = `
import Fastify from 'fastify';
import type { DynamicModule } from '@nestjs/common';
import { Controller, Get, UseGuards } from '@nestjs/common';
import { requireClientCert } from 'certgate/fastify';
import { CertgateModule, ClientCert, ClientCertGuard, RequireClientCert } from 'certgate/nestjs';

const app = Fastify();
app.get('/', { onRequest: requireClientCert({ ca: 'PEM', roles: ['customer'] }) }, async (request) => {
  const user: string = request.clientCert.user;
  return { user };
});
// @ts-expect-error roles is an array
requireClientCert({ roles: 'customer' });

export const root: DynamicModule = CertgateModule.forRoot({ ca: 'PEM' });

@Controller('banking')
@UseGuards(ClientCertGuard)
export class BankingController {
  @Get('accounts')
  @RequireClientCert({ roles: ['customer'] })
  accounts(@ClientCert() cert: ClientCert): { user: string } {
    return { user: cert.user };
  }
}
`;

describe('the packed package in a fresh app', () => {
  it('works with import (ESM)', () => {
    const r = node(
      'esm.mjs',
      usage(
        `import * as core from 'certgate'; import * as express from 'certgate/express'; import * as koa from 'certgate/koa'; import * as fsMod from 'node:fs';`,
      ).replace('require_or_import_fs', 'fsMod'),
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it('works with require (CommonJS)', () => {
    const body = usage(
      `const core = require('certgate'); const express = require('certgate/express'); const koa = require('certgate/koa');`,
    ).replace('require_or_import_fs', `require('node:fs')`);
    const r = node('cjs.cjs', `(async () => {${body}})().catch((e) => { console.error(e); process.exit(1); });`);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it('compiles a strict TypeScript consumer (ESM and CommonJS, nodenext) against the shipped declarations', () => {
    writeFileSync(join(app, 'consumer.mts'), CONSUMER_ESM);
    writeFileSync(join(app, 'consumer.cts'), CONSUMER_CJS);
    const compilerOptions = {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      // Check the shipped .d.ts files too: with skipLibCheck a broken import in them would pass as any.
      skipLibCheck: false,
      // Node's types from the repository (the scratch app installs only certgate).
      typeRoots: [join(root, 'node_modules/@types')],
      types: ['node'],
    };
    const tsconfig = { compilerOptions, files: ['consumer.mts', 'consumer.cts'] };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json', '--listFiles'], { cwd: app, encoding: 'utf8' });
    const errors = r.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
    expect(errors).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
    // The types came from the package's exports map: ESM and CommonJS declarations of each entry.
    const used = r.stdout.split('\n').filter((f) => f.includes('/node_modules/certgate/'));
    for (const entry of ['index', 'express', 'koa']) {
      for (const ext of ['d.ts', 'd.cts']) {
        const file = `/node_modules/certgate/dist/${entry}.${ext}`;
        expect(
          used.some((f) => f.endsWith(file)),
          file,
        ).toBe(true);
      }
    }
  }, 120_000);

  it('certgate/fastify guards a real Fastify server (ESM) and certgate/nestjs loads (CommonJS)', () => {
    const fastify = node(
      'fastify.mjs',
      `
import https from 'node:https';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { requireClientCert } from 'certgate/fastify';
const file = (n) => readFileSync('pki/' + n);
const app = Fastify({ https: { key: file('server-key.pem'), cert: file('server.pem'), ca: file('ca.pem'), requestCert: true, rejectUnauthorized: false } });
app.get('/', { onRequest: requireClientCert({ ca: file('ca.pem'), crl: file('crl.pem') }) }, async (req) => ({ user: req.clientCert.user }));
await app.listen({ port: 0, host: '127.0.0.1' });
const ask = (client) => new Promise((resolve, reject) => {
  https.get({ host: '127.0.0.1', port: app.server.address().port, path: '/', servername: 'localhost', ca: file('ca.pem'), agent: false, ...client }, (res) => {
    let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve(res.statusCode + ' ' + JSON.parse(body)[client.cert ? 'user' : 'code']));
  }).on('error', reject);
});
const answers = [await ask({ cert: file('alice.pem'), key: file('alice-key.pem') }), await ask({})];
await app.close();
console.log(JSON.stringify(answers));
`,
      frameworksApp,
    );
    expect(fastify.stderr).toBe('');
    expect(JSON.parse(fastify.stdout)).toEqual(['200 alice', '401 CERT_MISSING']);
    const nest = node(
      'nest.cjs',
      `
require('reflect-metadata');
const { CertgateModule, ClientCertGuard } = require('certgate/nestjs');
const { CertgateError } = require('certgate');
const mod = CertgateModule.forRoot({ ca: require('node:fs').readFileSync('pki/ca.pem') });
let error;
try { CertgateModule.forRoot({ bogus: true }); } catch (e) { error = e; }
console.log(JSON.stringify({ global: mod.global, guard: typeof ClientCertGuard, sameClass: error instanceof CertgateError, code: error && error.code }));
`,
      frameworksApp,
    );
    expect(nest.stderr).toBe('');
    expect(JSON.parse(nest.stdout)).toEqual({
      global: true,
      guard: 'function',
      sameClass: true,
      code: 'CONFIG_INVALID',
    });
  });

  it('compiles a strict TypeScript consumer of certgate/fastify and certgate/nestjs against the shipped declarations', () => {
    writeFileSync(join(frameworksApp, 'consumer.mts'), CONSUMER_FRAMEWORKS);
    const compilerOptions = {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      experimentalDecorators: true,
      // certgate's declarations are checked (skipLibCheck would let a broken import in them pass as
      // any); the frameworks' own declarations are not certgate's to check.
      skipLibCheck: false,
      typeRoots: [join(root, 'node_modules/@types')],
      types: ['node'],
    };
    writeFileSync(join(frameworksApp, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.mts'] }));
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json', '--listFiles'], {
      cwd: frameworksApp,
      encoding: 'utf8',
    });
    const errors = r.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
    expect(errors).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
    const used = r.stdout.split('\n').filter((f) => f.includes('/node_modules/certgate/'));
    for (const entry of ['fastify', 'nestjs']) {
      expect(used.some((f) => f.endsWith(`/node_modules/certgate/dist/${entry}.d.ts`))).toBe(true);
    }
  }, 120_000);

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
