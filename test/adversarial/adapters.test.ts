/**
 * Adapters never crash the process: a guard that answers late (a timeout middleware answered
 * first) neither writes to the finished response nor runs the route; an onReject that rejects is
 * reported, not thrown; a forwarded error shows no internal stack frames. Real TLS, real client
 * certificates; promises resolved by the test, no sleeps.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CertgateError, Identity } from 'certgate';
import { requireClientCert as expressGuard } from 'certgate/express';
import { requireClientCert as koaGuard } from 'certgate/koa';
import { get, makePki, startHttps, type RunningServer, type TestPki } from '../helpers/clients.js';

/** An identify whose answers the test gives, one call at a time. */
class SlowIdentify {
  private readonly waiting: Array<(answer: (identity: Identity | null) => void) => void> = [];
  private readonly started: Array<(identity: Identity | null) => void> = [];

  readonly identify = (): Promise<Identity | null> =>
    new Promise((resolve) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter(resolve);
      else this.started.push(resolve);
    });

  /** Resolves with the function that answers the next identify() call, once it has been made. */
  nextCall(): Promise<(identity: Identity | null) => void> {
    const started = this.started.shift();
    if (started) return Promise.resolve(started);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** Lets queued promise callbacks, nextTicks and immediates run (not a sleep: no timer). */
async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

let pki: TestPki;
let expressServer: RunningServer;
let koaServer: RunningServer;
const slow = new SlowIdentify();
/** Fires the timeout middleware's answer for a request, by its x-trace header. */
const timeouts = new Map<string, () => void>();
/** Waiters for a request (by x-trace) to reach the timeout middleware, i.e. the guard behind it. */
const arrivals = new Map<string, () => void>();
const arrived = (trace: string) => new Promise<void>((resolve) => arrivals.set(trace, resolve));
/** A CRL server that holds every request until the test answers it. */
let crlServer: http.Server;
const crlRequests: http.ServerResponse[] = [];
let crlRequested: () => void = () => {};
/** Route handlers that ran, by path. */
const ran: string[] = [];
const rejected: CertgateError[] = [];
/** Errors forwarded to the framework (next(err) in Express, a throw in Koa). */
const forwarded: unknown[] = [];
const crashes: unknown[] = [];
const warnings: Error[] = [];
const onCrash = (err: unknown): void => {
  crashes.push(err);
};
const onWarning = (w: Error): void => {
  warnings.push(w);
};

function expressApp(): express.Express {
  const app = express();
  app.use((req, res, next) => {
    const trace = req.get('x-trace');
    if (trace) timeouts.set(trace, () => res.status(503).json({ timedOut: true }));
    next();
    if (trace) arrivals.get(trace)?.();
  });
  const slowGuard = expressGuard({ identify: slow.identify, onReject: (e) => rejected.push(e) });
  app.use('/slow', slowGuard);
  app.use('/slow-forward', expressGuard({ identify: slow.identify, forwardErrors: true }));
  app.use(
    '/sink-down',
    expressGuard({
      onReject: async () => {
        throw new Error('log sink down');
      },
    }),
  );
  app.use('/forwarded', expressGuard({ forwardErrors: true }));
  const crlUrl = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}/ca.crl`;
  app.use(
    '/crl-pending',
    // The intermediate is configured: a URL's CRL is taken only for a configured issuer (mallory's).
    expressGuard({
      intermediates: [pki.intermediate],
      crl: { urls: [crlUrl], fetchTimeoutMs: 60_000 },
      onReject: (e) => rejected.push(e),
    }),
  );
  app.get(/.*/, (req, res) => {
    ran.push(req.path);
    res.json({ user: req.clientCert?.user });
  });
  app.use((err: unknown, _req: express.Request, _res: express.Response, next: express.NextFunction) => {
    forwarded.push(err);
    next(err);
  });
  return app;
}

function koaApp(): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    const trace = ctx.get('x-trace');
    if (!trace) return next();
    let fire!: () => void;
    const timedOut = new Promise<'timeout'>((resolve) => (fire = () => resolve('timeout')));
    timeouts.set(trace, fire);
    const first = await Promise.race([next().then(() => 'done' as const), timedOut]);
    if (first === 'timeout') {
      ctx.status = 503;
      ctx.body = { timedOut: true };
    }
  });
  const routes: Record<string, Koa.Middleware> = {
    '/slow': koaGuard({ identify: slow.identify, onReject: (e) => rejected.push(e) }),
    '/slow-forward': koaGuard({ identify: slow.identify, forwardErrors: true }),
    '/sink-down': koaGuard({
      onReject: async () => {
        throw new Error('log sink down');
      },
    }),
  };
  app.use(async (ctx, next) => {
    const prefix = Object.keys(routes).find((p) => ctx.path.startsWith(`${p}/`));
    if (!prefix) return next();
    try {
      await routes[prefix]!(ctx, async () => {
        ran.push(ctx.path);
        ctx.body = { user: (ctx.state.clientCert as { user?: string } | undefined)?.user };
      });
    } catch (err) {
      forwarded.push(err);
      throw err;
    }
  });
  return app;
}

beforeAll(async () => {
  pki = await makePki();
  crlServer = http.createServer((_req, res) => {
    crlRequests.push(res);
    crlRequested();
  });
  await new Promise<void>((resolve) => crlServer.listen(0, '127.0.0.1', resolve));
  expressServer = await startHttps(pki, expressApp());
  koaServer = await startHttps(pki, koaApp().callback());
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  process.on('warning', onWarning);
});

afterAll(async () => {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  process.off('warning', onWarning);
  await Promise.all([expressServer?.close(), koaServer?.close()]);
  crlServer?.closeAllConnections();
  await new Promise((resolve) => crlServer?.close(resolve));
});

afterEach(() => {
  crashes.length = 0;
  ran.length = 0;
  rejected.length = 0;
  forwarded.length = 0;
  warnings.length = 0;
});

const servers = () =>
  [
    ['Express', expressServer],
    ['Koa', koaServer],
  ] as const;

describe.each(['Express', 'Koa'] as const)('%s: a late guard answer after a timeout middleware answered', (name) => {
  const server = () => Object.fromEntries(servers())[name] as RunningServer;
  let n = 0;

  async function timedOutRequest(path: string, answer: Identity | null): Promise<number> {
    const trace = `${name}-${++n}`;
    const reply = get(server().port, path, { ca: pki.ca, client: pki.alice, headers: { 'x-trace': trace } });
    const release = await slow.nextCall();
    timeouts.get(trace)!();
    const { status } = await reply;
    release(answer);
    await settle();
    return status;
  }

  it('a refusal after the timeout: the client got the timeout answer, nothing crashed', async () => {
    expect(await timedOutRequest('/slow/a', null)).toBe(503);
    expect(crashes).toEqual([]);
    // The refusal is still reported to onReject (logs), only not written.
    expect(rejected.map((e) => e.code)).toEqual(['IDENTITY_UNKNOWN']);
  });

  it('a refusal with forwardErrors after the timeout: not forwarded, nothing crashed', async () => {
    expect(await timedOutRequest('/slow-forward/a', null)).toBe(503);
    expect(forwarded).toEqual([]);
    expect(crashes).toEqual([]);
  });

  it('an approval after the timeout: the route does not run on the finished response', async () => {
    expect(await timedOutRequest('/slow/b', { user: 'alice', roles: [] })).toBe(503);
    expect(ran).toEqual([]);
    expect(crashes).toEqual([]);
  });

  it('an onReject that rejects (a log sink that is down) is reported, the refusal still answered', async () => {
    const reply = await get(server().port, '/sink-down/x', { ca: pki.ca });
    expect({ status: reply.status, code: reply.body.code }).toEqual({ status: 401, code: 'CERT_MISSING' });
    await settle();
    expect(crashes).toEqual([]);
    expect(warnings.map((w) => w.message)).toContainEqual(expect.stringContaining('log sink down'));
  });
});

describe('Express: a first CRL download still pending when the timeout middleware answers', () => {
  it('neither the approval (alice) nor the refusal (mallory, revoked) is written; nothing crashed', async () => {
    const fetched = new Promise<void>((resolve) => (crlRequested = resolve));
    const waiting = ['crl-alice', 'crl-mallory'].map(arrived);
    const replies = [
      get(expressServer.port, '/crl-pending/a', { ca: pki.ca, client: pki.alice, headers: { 'x-trace': 'crl-alice' } }),
      get(expressServer.port, '/crl-pending/m', {
        ca: pki.ca,
        client: pki.mallory,
        headers: { 'x-trace': 'crl-mallory' },
      }),
    ];
    await Promise.all([fetched, ...waiting]);
    timeouts.get('crl-alice')!();
    timeouts.get('crl-mallory')!();
    expect((await Promise.all(replies)).map((r) => r.status)).toEqual([503, 503]);
    const crl = crlRequests[0]!;
    crl.writeHead(200, { 'content-type': 'application/pkix-crl' });
    crl.end(pki.crl);
    // A later request waits behind the same download, so once it is answered the late ones have decided.
    const after = await get(expressServer.port, '/crl-pending/after', { ca: pki.ca, client: pki.alice });
    expect(after.status).toBe(200);
    await settle();
    // Alice's connection closed after the 503 (no keep-alive): her approval, reached after that,
    // lets nothing through and is reported as such; mallory's refusal is reported as it is.
    expect(rejected.map((e) => `${e.code}: ${e.code === 'CERT_MISSING' ? e.detail : ''}`).sort()).toEqual([
      'CERT_MISSING: the connection closed while its verdict was being made',
      'CERT_REVOKED: ',
    ]);
    expect(ran).toEqual(['/crl-pending/after']);
    expect(crashes).toEqual([]);
  });
});

describe("forwardErrors and Express's default error handler", () => {
  it('the page it renders outside production has no stack frames or internal paths', async () => {
    const reply = await get(expressServer.port, '/forwarded/x', { ca: pki.ca });
    expect(reply.status).toBe(401);
    expect(reply.text).toContain('CertgateError [CERT_MISSING]: A client certificate is required.');
    expect(reply.text).not.toMatch(/\bat |\/src\/|node_modules|file:/);
    await settle();
    expect(crashes).toEqual([]);
  });
});
