/**
 * certgate/fastify, the edges: configuration errors at creation, a reply sent by someone else
 * while the guard was deciding, application callbacks that throw, and `decorateRequest`.
 * Fastify 5 over HTTPS; the protocol and version matrix is in test/fastify.test.ts.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError, createVerifier } from 'certgate';
import { requireClientCert } from 'certgate/fastify';
import { expectProblem, get, makePki, type Pem, type TestPki } from './helpers/clients.js';

let pki: TestPki;
let app: FastifyInstance;
let port: number;
let handlerRuns = 0;
const rejections: string[] = [];
const warnings: Error[] = [];
/** Fastify's own log lines at warn level and above (e.g. "Reply was already sent"). */
const fastifyLogs: string[] = [];
const onWarning = (w: Error) => {
  if (w.name === 'CertgateWarning') warnings.push(w);
};

/** An identity lookup slower than the hook before the guard, which answers 503 after 50 ms. */
const slowIdentify = async (cert: { subject: { CN?: unknown } }) => {
  await sleep(300);
  return cert.subject.CN === 'alice' ? { user: 'alice', roles: [] } : null;
};

beforeAll(async () => {
  pki = await makePki();
  process.on('warning', onWarning);
  app = Fastify({
    logger: { level: 'warn', stream: { write: (line: string) => void fastifyLogs.push(line) } },
    https: { key: pki.server.key, cert: pki.server.cert, ca: pki.ca, requestCert: true, rejectUnauthorized: false },
  });
  // Hidden-class friendly: the property exists on every request; the guard fills it in.
  app.decorateRequest('clientCert', null as never);
  app.get('/public', async (request) => ({ clientCert: request.clientCert }));
  app.get('/me', { onRequest: requireClientCert({ crl: pki.crl }) }, async (request) => request.clientCert.user);
  app.get(
    '/late',
    {
      onRequest: [
        (_request, reply, done) => {
          setTimeout(() => reply.code(503).send({ timeout: true }), 50).unref();
          done();
        },
        requireClientCert({ crl: pki.crl, identify: slowIdentify, onReject: (e) => void rejections.push(e.code) }),
      ],
    },
    async () => {
      handlerRuns++;
      return { ran: true };
    },
  );
  app.get(
    '/fragile',
    {
      onRequest: requireClientCert({
        onReject: () => {
          throw new Error('audit log unavailable');
        },
      }),
    },
    async () => 'never',
  );
  app.get(
    '/fragile-async',
    { onRequest: requireClientCert({ onReject: () => Promise.reject(new Error('audit sink down')) }) },
    async () => 'never',
  );
  const identifyThrows = () => {
    throw new Error('directory down');
  };
  app.get('/identify-throws', { onRequest: requireClientCert({ identify: identifyThrows }) }, async () => 'never');
  app.get(
    '/identify-throws-forwarded',
    { onRequest: requireClientCert({ identify: identifyThrows, forwardErrors: true }) },
    async () => 'never',
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  process.off('warning', onWarning);
  await app?.close();
});

const as = (client: Pem | undefined, path: string) =>
  get(port, path, { ca: pki.ca, giveUpAfterMs: 5000, ...(client ? { client } : {}) });

describe('Fastify: configuration errors at creation', () => {
  it('throws CONFIG_INVALID naming requireClientCert and the option, before any request', () => {
    const verifier = createVerifier({ ca: pki.ca });
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['unknown option', () => requireClientCert({ foo: 1 } as never), /foo/],
      ['empty roles', () => requireClientCert({ roles: [] }), /roles/],
      ['verifier and ca', () => requireClientCert({ verifier, ca: pki.ca }), /verifier/],
      ['forwardErrors not boolean', () => requireClientCert({ forwardErrors: 'yes' as never }), /forwardErrors/],
      ['onReject not a function', () => requireClientCert({ onReject: 'log' as never }), /onReject/],
    ];
    for (const [name, fn, mentions] of cases) {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(CertgateError);
      const e = err as CertgateError;
      expect({ name, code: e.code, status: e.status }).toEqual({ name, code: 'CONFIG_INVALID', status: 500 });
      expect(e.message).toMatch(/requireClientCert/);
      expect(e.message).toMatch(mentions);
    }
    verifier.close();
  });
});

describe('Fastify: decorateRequest', () => {
  it('a decorated clientCert stays null on unguarded routes and is set on guarded ones', async () => {
    expect((await as(pki.alice, '/public')).body).toEqual({ clientCert: null });
    expect((await as(pki.alice, '/me')).text).toBe('alice');
  });
});

describe('Fastify: a reply sent while the guard was deciding', () => {
  it('a late approval writes nothing and does not run the handler', async () => {
    handlerRuns = 0;
    const reply = await as(pki.alice, '/late');
    expect([reply.status, reply.body]).toEqual([503, { timeout: true }]);
    await sleep(400);
    expect(handlerRuns).toBe(0);
  });

  it('a late refusal writes nothing, and onReject still hears of it', async () => {
    rejections.length = 0;
    const reply = await as(pki.bob, '/late');
    expect([reply.status, reply.body]).toEqual([503, { timeout: true }]);
    await sleep(400);
    expect(rejections).toEqual(['IDENTITY_UNKNOWN']);
    expect(handlerRuns).toBe(0);
    // The hook tried no second answer (Fastify warns of one) and passed nothing to the error handler.
    expect(fastifyLogs.join('')).not.toMatch(/already sent|CertgateError|IDENTITY_UNKNOWN/);
  });
});

describe('Fastify: application callbacks that fail never crash the process or hang a request', () => {
  it('onReject that throws: the refusal is still sent, operators get a CertgateWarning', async () => {
    warnings.length = 0;
    expectProblem(await as(undefined, '/fragile'), 401, 'CERT_MISSING');
    // Again: each request is a new connection here (no agent), so this one is decided afresh too.
    expectProblem(await as(undefined, '/fragile'), 401, 'CERT_MISSING');
    await sleep(10);
    expect(warnings.map((w) => w.message)).toEqual(Array(2).fill('certgate: onReject threw: audit log unavailable'));
  });

  it('onReject that rejects: the refusal is still sent, the rejection is reported', async () => {
    warnings.length = 0;
    expectProblem(await as(undefined, '/fragile-async'), 401, 'CERT_MISSING');
    await sleep(10);
    expect(warnings.map((w) => w.message)).toEqual(['certgate: onReject rejected: audit sink down']);
  });

  it('identify that throws: 500 CONFIG_INVALID, answered by the hook or by Fastify, never a stack', async () => {
    expectProblem(await as(pki.alice, '/identify-throws'), 500, 'CONFIG_INVALID');
    const forwarded = await as(pki.alice, '/identify-throws-forwarded');
    expect([forwarded.status, forwarded.body?.code]).toEqual([500, 'CONFIG_INVALID']);
    expect(forwarded.text).not.toMatch(/directory down|\n\s+at /);
  });
});
