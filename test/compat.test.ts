import { createRequire } from 'node:module';
// @ts-expect-error -- `express4` is an npm alias of express@4 without type declarations.
import express4 from 'express4';
// @ts-expect-error -- `koa2` is an npm alias of koa@2 without type declarations.
import Koa2 from 'koa2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError } from 'certgate';
import { requireClientCert as expressGuard } from 'certgate/express';
import { requireClientCert as koaGuard } from 'certgate/koa';
import {
  expectProblem,
  get,
  makePki,
  PROBLEM_KEYS,
  startHttps,
  type Reply,
  type RunningServer,
  type TestPki,
} from './helpers/clients.js';

const require = createRequire(import.meta.url);

let pki: TestPki;
let onExpress4: RunningServer;
let onKoa2: RunningServer;
const forwarded: unknown[] = [];

/* eslint-disable @typescript-eslint/no-explicit-any -- the aliased frameworks are untyped here */
beforeAll(async () => {
  pki = await makePki();

  const app: any = express4();
  app.get('/public', (_req: any, res: any) => res.json({ public: true }));
  app.use('/banking', expressGuard({ crl: pki.crl }));
  app.get('/banking/balance', (req: any, res: any) =>
    res.json({ user: req.clientCert?.user, roles: req.clientCert?.roles }),
  );
  app.use('/forwarded', expressGuard({ crl: pki.crl, forwardErrors: true }));
  app.get('/forwarded', (req: any, res: any) => res.json({ user: req.clientCert?.user }));
  app.use((err: any, _req: any, res: any, _next: any) => {
    forwarded.push(err);
    res.status(err.status ?? 500).json({ handledBy: 'app', code: err.code });
  });
  onExpress4 = await startHttps(pki, app);

  const koa: any = new Koa2();
  koa.use(async (ctx: any, next: () => Promise<void>) => {
    if (ctx.path === '/public') {
      ctx.body = { public: true };
      return;
    }
    await next();
  });
  koa.use(koaGuard({ crl: pki.crl }));
  koa.use((ctx: any) => {
    ctx.body = { user: ctx.state.clientCert?.user, roles: ctx.state.clientCert?.roles };
  });
  onKoa2 = await startHttps(pki, koa.callback());
});
/* eslint-enable @typescript-eslint/no-explicit-any */

afterAll(async () => {
  await Promise.all([onExpress4, onKoa2].map((s) => s?.close()));
});

const as = (server: RunningServer, client: TestPki['alice'] | undefined, path: string): Promise<Reply> =>
  get(server.port, path, { ca: pki.ca, ...(client ? { client } : {}) });

describe('Express 4 (express4 alias)', () => {
  it('is really Express 4', () => {
    expect(require('express4/package.json').version).toMatch(/^4\./);
  });

  it('public route without a certificate: 200', async () => {
    expect((await as(onExpress4, undefined, '/public')).status).toBe(200);
  });

  it('alice: 200 with req.clientCert', async () => {
    const reply = await as(onExpress4, pki.alice, '/banking/balance');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ user: 'alice', roles: [] });
  });

  it('no certificate: 401 CERT_MISSING', async () => {
    expectProblem(await as(onExpress4, undefined, '/banking/balance'), 401, 'CERT_MISSING');
  });

  it('mallory: 401 CERT_REVOKED', async () => {
    expectProblem(await as(onExpress4, pki.mallory, '/banking/balance'), 401, 'CERT_REVOKED');
  });

  it('forwardErrors reaches the Express 4 error handler', async () => {
    forwarded.length = 0;
    const reply = await as(onExpress4, pki.mallory, '/forwarded');
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ handledBy: 'app', code: 'CERT_REVOKED' });
    expect(forwarded[0]).toBeInstanceOf(CertgateError);
  });
});

describe('Koa 2 (koa2 alias)', () => {
  it('is really Koa 2', () => {
    expect(require('koa2/package.json').version).toMatch(/^2\./);
  });

  it('public path without a certificate: 200', async () => {
    expect((await as(onKoa2, undefined, '/public')).status).toBe(200);
  });

  it('alice: 200 with ctx.state.clientCert', async () => {
    const reply = await as(onKoa2, pki.alice, '/banking/balance');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ user: 'alice', roles: [] });
  });

  it('no certificate: 401 CERT_MISSING', async () => {
    const reply = await as(onKoa2, undefined, '/banking/balance');
    expect({ status: reply.status, code: reply.body?.code }).toEqual({ status: 401, code: 'CERT_MISSING' });
    expect(Object.keys(reply.body).sort()).toEqual(PROBLEM_KEYS);
  });

  it('mallory: 401 CERT_REVOKED', async () => {
    const reply = await as(onKoa2, pki.mallory, '/banking/balance');
    expect({ status: reply.status, code: reply.body?.code }).toEqual({ status: 401, code: 'CERT_REVOKED' });
    expect(reply.body.message).toBe('The client certificate or one of its issuers has been revoked.');
  });

  it('refusals are application/problem+json, as on Koa 3', async () => {
    // Regression: Koa 2's body setter resets the type to JSON for object bodies, so the adapter
    // sets the body first and the problem+json type after it.
    expectProblem(await as(onKoa2, undefined, '/banking/balance'), 401, 'CERT_MISSING');
    expectProblem(await as(onKoa2, pki.mallory, '/banking/balance'), 401, 'CERT_REVOKED');
  });
});
