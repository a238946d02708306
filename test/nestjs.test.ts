import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError } from 'certgate';
import { CertgateModule, ClientCertGuard, RequireClientCert, type CertgateModuleOptions } from 'certgate/nestjs';
import { createBankingApp } from '../examples/nestjs-banking.js';
import { expectProblem, get, makePki, type TestPki } from './helpers/clients.js';
import { bankingOptions, startNestApp, USERS, type Platform, type RunningNestApp } from './helpers/nest-app.js';

let pki: TestPki;
const running: RunningNestApp[] = [];

beforeAll(async () => {
  pki = await makePki();
});
afterAll(async () => {
  await Promise.all(running.map((r) => r.close()));
});

async function start(options: Omit<Parameters<typeof startNestApp>[0], 'tls'>): Promise<RunningNestApp> {
  const app = await startNestApp({ ...options, tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca } });
  running.push(app);
  return app;
}

const as = (app: RunningNestApp, path: string, who?: 'alice' | 'bob' | 'mallory') =>
  get(app.port, path, { ca: pki.ca, ...(who ? { client: pki[who] } : {}) });

describe.each<Platform>(['express', 'fastify'])('Nest 11 on the %s platform', (platform) => {
  let app: RunningNestApp;
  beforeAll(async () => {
    app = await start({ platform, certgate: CertgateModule.forRoot(bankingOptions(pki)) });
  });

  it('lets a good client through with its user', async () => {
    const r = await as(app, '/banking/accounts', 'alice');
    expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: { user: 'alice' } });
  });

  it('refuses a request without a certificate: 401 CERT_MISSING problem+json', async () => {
    expectProblem(await as(app, '/banking/accounts'), 401, 'CERT_MISSING');
  });

  it('refuses a revoked certificate: 401 CERT_REVOKED', async () => {
    expectProblem(await as(app, '/banking/accounts', 'mallory'), 401, 'CERT_REVOKED');
  });

  it('refuses a user without the route role: 403 ROLE_FORBIDDEN', async () => {
    expectProblem(await as(app, '/banking/accounts', 'bob'), 403, 'ROLE_FORBIDDEN');
  });

  it('still requires a certificate on a guarded handler without @RequireClientCert', async () => {
    expectProblem(await as(app, '/banking/profile'), 401, 'CERT_MISSING');
    const r = await as(app, '/banking/profile', 'bob');
    expect(r.body).toEqual({ user: 'bob', roles: ['auditor'], cn: 'bob', source: 'tls' });
  });

  it('takes class-level roles, and a handler’s own roles over them', async () => {
    expect((await as(app, '/audit/log', 'bob')).body).toEqual({ user: 'bob', entries: 3 });
    expectProblem(await as(app, '/audit/log', 'alice'), 403, 'ROLE_FORBIDDEN');
    expect((await as(app, '/audit/own', 'alice')).body).toEqual({ user: 'alice' });
    expectProblem(await as(app, '/audit/own', 'bob'), 403, 'ROLE_FORBIDDEN');
  });

  it('leaves an unguarded controller and a @SkipClientCert handler public', async () => {
    const r = await as(app, '/public');
    expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: { page: 'public' } });
    expect((await as(app, '/audit/open')).body).toEqual({ page: 'open' });
  });

  it('answers refusals without a word in Nest’s log (no content-type rewrite, no error logged)', async () => {
    const said: unknown[] = [];
    const logger = { log() {}, warn: (m: unknown) => said.push(m), error: (m: unknown) => said.push(m) };
    const quiet = await start({ platform, logger, certgate: CertgateModule.forRoot(bankingOptions(pki)) });
    expectProblem(await as(quiet, '/banking/accounts'), 401, 'CERT_MISSING');
    expectProblem(await as(quiet, '/banking/accounts', 'bob'), 403, 'ROLE_FORBIDDEN');
    expect(said).toEqual([]);
  });

  it('@RequireClientCert() without @UseGuards still guards its route (never silently public)', async () => {
    expectProblem(await as(app, '/lone'), 401, 'CERT_MISSING');
    expect((await as(app, '/lone', 'alice')).body).toEqual({ page: 'lone' });
  });

  it('sends the content type every certgate adapter sends, exactly (no charset appended)', async () => {
    const r = await as(app, '/banking/accounts');
    expect([r.status, r.headers['content-type']]).toEqual([401, 'application/problem+json']);
  });

  it('answers @ClientCert() on an unguarded route with 500 CONFIG_INVALID', async () => {
    expectProblem(await as(app, '/public/miswired', 'alice'), 500, 'CONFIG_INVALID');
  });
});

describe.each<Platform>(['express', 'fastify'])('Nest 11 (%s): module options', (platform) => {
  it("applies forRoot's roles to handlers without their own", async () => {
    const app = await start({
      platform,
      certgate: CertgateModule.forRoot(bankingOptions(pki, { roles: ['auditor'] })),
    });
    expect((await as(app, '/banking/profile', 'bob')).status).toBe(200);
    expectProblem(await as(app, '/banking/profile', 'alice'), 403, 'ROLE_FORBIDDEN');
    // A route's roles replace forRoot's.
    expect((await as(app, '/banking/accounts', 'alice')).body).toEqual({ user: 'alice' });
  });

  it('answers an identify that throws with 500 CONFIG_INVALID, and the process stays up', async () => {
    const rejected: string[] = [];
    const app = await start({
      platform,
      certgate: CertgateModule.forRoot({
        ca: pki.ca,
        identify: () => {
          throw new Error('user store down');
        },
        onReject: (e) => {
          rejected.push(e.code);
          throw new Error('the logger is broken too');
        },
      }),
    });
    const r = await as(app, '/banking/profile', 'alice');
    expectProblem(r, 500, 'CONFIG_INVALID');
    expect(r.text).not.toMatch(/user store down|at .*\.ts/);
    expect(rejected).toEqual(['CONFIG_INVALID']);
    expect((await as(app, '/public')).status).toBe(200);
  });
});

describe.each<Platform>(['express', 'fastify'])("Nest 11 (%s): certgate's filter and the app's own", (platform) => {
  // Nest asks the filter given last first; APP_FILTER providers are given at NestFactory.create(),
  // app.useGlobalFilters() later.
  it('app.useGlobalFilters(catch-all) takes refusals too (it was given last)', async () => {
    const app = await start({ platform, globalFilter: true, certgate: CertgateModule.forRoot(bankingOptions(pki)) });
    const r = await as(app, '/banking/accounts');
    expect({ status: r.status, body: r.body }).toEqual({
      status: 418,
      body: { caughtBy: 'app', name: 'CertgateError', code: 'CERT_MISSING' },
    });
  });

  it("app.useGlobalFilters(catch-all, CertgateExceptionFilter): certgate's refusals, the app's the rest", async () => {
    const app = await start({
      platform,
      globalFilter: 'then-certgate',
      certgate: CertgateModule.forRoot(bankingOptions(pki)),
    });
    expectProblem(await as(app, '/banking/accounts'), 401, 'CERT_MISSING');
    const r = await as(app, '/public/boom');
    expect({ status: r.status, body: r.body }).toEqual({ status: 418, body: { caughtBy: 'app', name: 'Error' } });
  });

  it("an APP_FILTER catch-all in the root module: certgate's filter answers its refusals", async () => {
    const app = await start({ platform, appFilter: true, certgate: CertgateModule.forRoot(bankingOptions(pki)) });
    expectProblem(await as(app, '/banking/accounts'), 401, 'CERT_MISSING');
    expect((await as(app, '/public/boom')).status).toBe(418);
  });

  it('forwardErrors: the CertgateError goes to the app’s filter', async () => {
    const app = await start({
      platform,
      globalFilter: true,
      certgate: CertgateModule.forRoot(bankingOptions(pki, { forwardErrors: true })),
    });
    const r = await as(app, '/banking/accounts');
    expect({ status: r.status, body: r.body }).toEqual({
      status: 418,
      body: { caughtBy: 'app', name: 'CertgateError', code: 'CERT_MISSING' },
    });
  });
});

/** A configuration module of the app's, as ConfigModule would be. */
@Module({ providers: [{ provide: 'BANK_CONFIG', useFactory: () => bankingOptions(pki) }], exports: ['BANK_CONFIG'] })
class BankConfigModule {}

describe('Nest 11: configuration', () => {
  it('forRoot() refuses bad options at once: CONFIG_INVALID naming the option', () => {
    const fails = (options: object) => {
      try {
        CertgateModule.forRoot(options as never);
      } catch (err) {
        expect(err).toBeInstanceOf(CertgateError);
        return err as CertgateError;
      }
      throw new Error('forRoot accepted bad options');
    };
    expect(fails({ ca: 'not a certificate' }).code).toBe('CONFIG_INVALID');
    expect(fails({ ca: pki.ca, roles: [] }).message).toMatch(/CertgateModule\.forRoot.*'roles'/);
    expect(fails({ ca: pki.ca, identify: 'alice' }).message).toMatch(/'identify'/);
    expect(fails({ ca: pki.ca, crl: pki.crl, caa: pki.ca }).message).toMatch(/caa/);
  });

  it('@RequireClientCert() refuses bad roles where the class is declared', () => {
    expect(() => RequireClientCert({ roles: [] })).toThrow(/RequireClientCert.*'roles'/);
  });

  it('forRootAsync(): options from an injected provider', async () => {
    const certgate = CertgateModule.forRootAsync({
      imports: [BankConfigModule],
      inject: ['BANK_CONFIG'],
      useFactory: (config: CertgateModuleOptions) => ({ ...config, roles: ['customer'] }),
    });
    const app = await start({ platform: 'express', certgate });
    expect((await as(app, '/banking/profile', 'alice')).status).toBe(200);
    expectProblem(await as(app, '/banking/profile', 'bob'), 403, 'ROLE_FORBIDDEN');
    expectProblem(await as(app, '/banking/profile', 'mallory'), 401, 'CERT_REVOKED');
  });

  it('forRootAsync(): bad options from the factory fail NestFactory.create, naming the option', async () => {
    const certgate = CertgateModule.forRootAsync({ useFactory: async () => ({ ca: pki.ca, identityTtlMs: -1 }) });
    const failed = await start({ platform: 'fastify', certgate }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(CertgateError);
    expect((failed as CertgateError).code).toBe('CONFIG_INVALID');
    expect((failed as CertgateError).message).toMatch(/CertgateModule\.forRootAsync.*'identityTtlMs'/);
  });

  it('without ca: trusts what the HTTPS server trusts (its ca)', async () => {
    const app = await start({ platform: 'express', certgate: CertgateModule.forRoot({ identify: USERS }) });
    expect((await as(app, '/banking/accounts', 'alice')).body).toEqual({ user: 'alice' });
    expectProblem(await as(app, '/banking/accounts'), 401, 'CERT_MISSING');
  });

  it('as a global guard (APP_GUARD): every route asks, @SkipClientCert() opens one', async () => {
    const app = await start({
      platform: 'fastify',
      globalGuard: true,
      certgate: CertgateModule.forRoot(bankingOptions(pki)),
    });
    expectProblem(await as(app, '/public'), 401, 'CERT_MISSING');
    expect((await as(app, '/public', 'alice')).status).toBe(200);
    expect((await as(app, '/audit/open')).body).toEqual({ page: 'open' });
    expectProblem(await as(app, '/audit/log', 'alice'), 403, 'ROLE_FORBIDDEN');
  });
});

/** One HTTP/2 request on its own session (a real HTTP/2 client, not the HTTP/1.1 fallback). */
function h2get(port: number, path: string, client?: { cert: Buffer; key: Buffer }) {
  const session = http2.connect(`https://localhost:${port}`, {
    ca: pki.ca,
    ...(client ?? {}),
    servername: 'localhost',
  });
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string; body: any }>(
    (resolve, reject) => {
      const req = session.request({ ':path': path });
      let status = 0;
      let headers: Record<string, unknown> = {};
      let text = '';
      req.on('response', (h) => {
        status = Number(h[':status']);
        headers = h;
      });
      req.setEncoding('utf8');
      req.on('data', (d: string) => (text += d));
      req.on('end', () => resolve({ status, headers, text, body: JSON.parse(text) }));
      req.on('error', reject);
      req.end();
    },
  ).finally(() => session.close());
}

describe('Nest 11 on the Fastify platform over HTTP/2', () => {
  it('verifies on HTTP/2 streams and on the HTTP/1.1 fallback', async () => {
    const app = await start({
      platform: 'fastify',
      http2: true,
      certgate: CertgateModule.forRoot(bankingOptions(pki)),
    });
    expect(await h2get(app.port, '/banking/accounts', pki.alice)).toMatchObject({
      status: 200,
      body: { user: 'alice' },
    });
    expectProblem(await h2get(app.port, '/banking/accounts'), 401, 'CERT_MISSING');
    expectProblem(await h2get(app.port, '/banking/accounts', pki.mallory), 401, 'CERT_REVOKED');
    expectProblem(await h2get(app.port, '/banking/accounts', pki.bob), 403, 'ROLE_FORBIDDEN');
    expect((await as(app, '/banking/accounts', 'alice')).body).toEqual({ user: 'alice' });
  });
});

describe('examples/nestjs-banking.ts', () => {
  it('serves its routes as its header says', async () => {
    const app = await createBankingApp(pki.files.dir, { logger: false });
    await app.listen(0, '127.0.0.1');
    const nest = { port: (app.getHttpServer().address() as AddressInfo).port, close: () => app.close(), app };
    running.push(nest);
    expect((await as(nest, '/')).body).toEqual({ page: 'public', tls: 'one-way' });
    expect((await as(nest, '/banking/accounts', 'alice')).body).toEqual({ user: 'alice', balance: 1234.56 });
    expect((await as(nest, '/banking/audit', 'bob')).body).toEqual({ user: 'bob', entries: 3 });
    expectProblem(await as(nest, '/banking/accounts'), 401, 'CERT_MISSING');
    expectProblem(await as(nest, '/banking/audit', 'alice'), 403, 'ROLE_FORBIDDEN');
    expectProblem(await as(nest, '/banking/whoami', 'mallory'), 401, 'CERT_REVOKED');
  });
});

describe('Nest 11: ClientCertGuard without CertgateModule', () => {
  it('fails NestFactory.create with a message that says what to import', async () => {
    @Controller('x')
    @UseGuards(ClientCertGuard)
    class LonelyController {
      @Get()
      x() {
        return 'never';
      }
    }
    @Module({ controllers: [LonelyController] })
    class LonelyModule {}
    const failed = await NestFactory.create(LonelyModule, { logger: false, abortOnError: false }).then(
      (app) => app.close(),
      (err: unknown) => err,
    );
    expect(String((failed as Error)?.message)).toMatch(/CertgateModule\.forRoot\(\)/);
  });
});
