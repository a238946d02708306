/**
 * requireBoundToken without servers: options checked at creation, and every shape of `cnf` a token
 * can carry, through the Express and Koa middlewares with stand-in requests.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CertgateError, type ClientCert } from 'certgate';
import { requireBoundToken as expressBound } from 'certgate/express';
import { requireBoundToken as koaBound } from 'certgate/koa';
import { BOUND_TOKEN_CHALLENGE, bindingError } from '../../src/adapters/bound-token.js';

const THUMBPRINT = createHash('sha256').update('a certificate').digest('base64url');
const clientCert = { user: 'alice', roles: [], thumbprint: THUMBPRINT } as unknown as ClientCert;

afterEach(() => {
  vi.restoreAllMocks();
});

function configErrorOf(fn: () => unknown): CertgateError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CertgateError);
    expect((err as CertgateError).code).toBe('CONFIG_INVALID');
    return err as CertgateError;
  }
  throw new Error('expected CONFIG_INVALID, nothing was thrown');
}

/** Runs the Express middleware on a stand-in request; what it answered or passed on. */
function runExpress(claims: unknown, cert: ClientCert | undefined = clientCert, forwardErrors = false) {
  const headers: Record<string, string> = {};
  const res = {
    statusCode: 200,
    body: undefined as string | undefined,
    setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = value),
    end: (body: string) => (res.body = body),
  };
  let nextArg: unknown = 'not called';
  const mw = expressBound({ claims: () => claims as object, forwardErrors });
  mw({ clientCert: cert } as never, res as never, (err?: unknown) => (nextArg = err));
  return { status: res.statusCode, headers, body: res.body && JSON.parse(res.body), next: nextArg };
}

const none = (): undefined => undefined;

describe('requireBoundToken options (checked when the middleware is created)', () => {
  it.each([
    ['no options', undefined, "'claims' function"],
    ['claims missing', {}, "option 'claims' must be a function"],
    ['claims a string', { claims: 'auth.payload' }, "option 'claims' must be a function"],
    ['forwardErrors a string', { claims: none, forwardErrors: 'yes' }, "option 'forwardErrors'"],
    ['onReject an object', { claims: none, onReject: {} }, "option 'onReject'"],
    ['an unknown option', { claims: none, claim: none }, "unknown option 'claim'"],
  ])('%s: CONFIG_INVALID naming the option', (_what, options, expected) => {
    for (const make of [expressBound, koaBound]) {
      const error = configErrorOf(() => make(options as never));
      expect(error.message).toMatch(/^requireBoundToken: /);
      expect(error.message).toContain(expected);
    }
  });
});

describe('bindingError: RFC 8705 section 3.1 cnf["x5t#S256"], compared exactly', () => {
  it('accepts the exact thumbprint, with other confirmation members beside it', () => {
    expect(bindingError({ cnf: { 'x5t#S256': THUMBPRINT } }, THUMBPRINT)).toBeUndefined();
    expect(bindingError({ cnf: { 'x5t#S256': THUMBPRINT, jkt: 'x' } }, THUMBPRINT)).toBeUndefined();
  });

  it.each([
    ['no cnf', {}, 'no cnf claim'],
    ['cnf null', { cnf: null }, 'not a JSON object (null)'],
    ['cnf a string', { cnf: THUMBPRINT }, 'not a JSON object (string)'],
    ['cnf an array', { cnf: [{ 'x5t#S256': THUMBPRINT }] }, 'not a JSON object (an array)'],
    ['no x5t#S256', { cnf: { jkt: THUMBPRINT } }, 'no x5t#S256 member'],
    ['x5t#S256 a number', { cnf: { 'x5t#S256': 1 } }, 'not a string (number)'],
    ['x5t#S256 an array', { cnf: { 'x5t#S256': [THUMBPRINT] } }, 'not a string (an array)'],
    ['padding', { cnf: { 'x5t#S256': `${THUMBPRINT}=` } }, 'is not the client certificate'],
    ['upper case', { cnf: { 'x5t#S256': THUMBPRINT.toUpperCase() } }, 'is not the client certificate'],
    ['standard base64', { cnf: { 'x5t#S256': Buffer.from(THUMBPRINT, 'base64url').toString('base64') } }, 'is not'],
    ['a trailing space', { cnf: { 'x5t#S256': `${THUMBPRINT} ` } }, 'is not the client certificate'],
    ['x5t (SHA-1 name)', { cnf: { x5t: THUMBPRINT } }, 'no x5t#S256 member'],
  ])('%s: TOKEN_NOT_BOUND', (_what, claims, detail) => {
    const error = bindingError(claims, THUMBPRINT);
    expect(error?.code).toBe('TOKEN_NOT_BOUND');
    expect(error?.status).toBe(401);
    expect(error?.detail).toContain(detail);
    expect(error?.message).toBe('The access token is not bound to the client certificate of this connection.');
  });

  it('standard base64 (+ and /, without padding) of a thumbprint with - and _ is another value', () => {
    const urlSafe = createHash('sha256').update('cert 7').digest('base64url');
    expect(urlSafe).toMatch(/-.*_|_.*-/);
    const standard = Buffer.from(urlSafe, 'base64url').toString('base64').replace(/=+$/, '');
    expect(standard).not.toBe(urlSafe);
    expect(bindingError({ cnf: { 'x5t#S256': standard } }, urlSafe)?.code).toBe('TOKEN_NOT_BOUND');
    expect(bindingError({ cnf: { 'x5t#S256': urlSafe } }, urlSafe)).toBeUndefined();
  });

  it('reads own properties only: a polluted Object.prototype supplies no binding', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.cnf = { 'x5t#S256': THUMBPRINT };
    try {
      expect(bindingError({}, THUMBPRINT)?.code).toBe('TOKEN_NOT_BOUND');
      expect(bindingError({ cnf: Object.create({ 'x5t#S256': THUMBPRINT }) }, THUMBPRINT)?.code).toBe(
        'TOKEN_NOT_BOUND',
      );
    } finally {
      delete proto.cnf;
    }
  });

  it('a getter that throws is TOKEN_NOT_BOUND, not a crash', () => {
    const claims = Object.defineProperty({}, 'cnf', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(bindingError(claims, THUMBPRINT)?.detail).toContain('could not be read: boom');
  });

  it('bounds a long token value in the operator detail', () => {
    const detail = bindingError({ cnf: { 'x5t#S256': 'A'.repeat(10_000) } }, THUMBPRINT)?.detail ?? '';
    expect(detail.length).toBeLessThan(200);
  });

  it('a refusal has no stack frames and carries the challenge as err.headers (for forwarded errors)', () => {
    const error = bindingError({}, THUMBPRINT)!;
    expect(error.stack).toBe(`CertgateError [TOKEN_NOT_BOUND]: ${error.message}`);
    expect((error as unknown as { headers: unknown }).headers).toEqual({ 'WWW-Authenticate': BOUND_TOKEN_CHALLENGE });
    expect(Object.keys(error)).not.toContain('headers');
  });

  it('the challenge is RFC 6750 section 3 invalid_token with a description of allowed characters', () => {
    expect(BOUND_TOKEN_CHALLENGE).toMatch(
      /^Bearer error="invalid_token", error_description="[\x20\x21\x23-\x5B\x5D-\x7E]+"$/,
    );
  });
});

describe('requireBoundToken for Express, with stand-in requests', () => {
  it('calls next() for a bound token and writes nothing', () => {
    const r = runExpress({ cnf: { 'x5t#S256': THUMBPRINT } });
    expect([r.next, r.body, r.headers]).toEqual([undefined, undefined, {}]);
  });

  it('answers 401 problem+json with the challenge for undefined and null claims', () => {
    for (const claims of [undefined, null]) {
      const r = runExpress(claims);
      expect([r.status, r.body.code, r.next]).toEqual([401, 'TOKEN_NOT_BOUND', 'not called']);
      expect(r.headers).toEqual({
        'www-authenticate': BOUND_TOKEN_CHALLENGE,
        'content-type': 'application/problem+json',
      });
    }
  });

  it('answers 500 CONFIG_INVALID (no challenge) without a client certificate, and warns once', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const mw = expressBound({ claims: () => ({ cnf: { 'x5t#S256': THUMBPRINT } }) });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = { statusCode: 0, setHeader: vi.fn(), end: vi.fn() };
      mw({} as never, res as never, () => statuses.push(-1));
      statuses.push(res.statusCode);
      expect(res.setHeader).not.toHaveBeenCalledWith('www-authenticate', expect.anything());
    }
    expect(statuses).toEqual([500, 500, 500]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain('put requireClientCert() before requireBoundToken()');
  });

  it.each([
    ['a string (the raw token)', () => 'eyJhbGciOi...'],
    ['a number', () => 42],
    ['an array', () => [{ cnf: { 'x5t#S256': THUMBPRINT } }]],
    ['a promise', () => Promise.resolve({ cnf: { 'x5t#S256': THUMBPRINT } })],
    ['a promise that rejects (no unhandled rejection)', () => Promise.reject(new Error('late'))],
  ])('claims returning %s: 500 CONFIG_INVALID', async (_what, claims) => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const r = runExpress(claims());
    await new Promise((resolve) => setImmediate(resolve));
    expect([r.status, r.body.code]).toEqual([500, 'CONFIG_INVALID']);
    expect(r.body.message).toBe('Client certificate authentication is misconfigured on this server.');
  });

  it('claims that throws: 500 with the public message only; the exception is in detail and cause', () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const secret = new Error('SELECT * FROM tokens failed at db-7');
    const mw = expressBound({
      claims: () => {
        throw secret;
      },
      forwardErrors: true,
    });
    let forwarded: CertgateError | undefined;
    mw({ clientCert } as never, {} as never, (err?: unknown) => (forwarded = err as CertgateError));
    expect(forwarded?.message).toBe('Client certificate authentication is misconfigured on this server.');
    expect(forwarded?.detail).toBe("requireBoundToken: option 'claims' threw: SELECT * FROM tokens failed at db-7");
    expect(forwarded?.cause).toBe(secret);
    expect(forwarded?.expose).toBe(false);
    const r = runExpress(undefined, undefined);
    expect(JSON.stringify(r.body)).not.toContain('requireBoundToken');
  });

  it('forwardErrors passes the CertgateError to next() and writes nothing', () => {
    const r = runExpress({ cnf: {} }, clientCert, true);
    expect(r.next).toBeInstanceOf(CertgateError);
    expect((r.next as CertgateError).code).toBe('TOKEN_NOT_BOUND');
    expect([r.body, r.headers]).toEqual([undefined, {}]);
  });

  it('onReject gets every refusal; one that throws or rejects changes nothing', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const seen: string[] = [];
    for (const onReject of [
      (e: CertgateError) => void seen.push(e.code),
      () => {
        throw new Error('log sink down');
      },
      () => Promise.reject(new Error('log sink down')),
    ]) {
      const res = { statusCode: 0, setHeader: vi.fn(), end: vi.fn() };
      expressBound({ claims: () => ({}), onReject })({ clientCert } as never, res as never, () => undefined);
      expect(res.statusCode).toBe(401);
    }
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['TOKEN_NOT_BOUND']);
    expect(warn).toHaveBeenCalledTimes(2);
  });
});

describe('requireBoundToken for Koa, with stand-in contexts', () => {
  const ctxOf = (state: Record<string, unknown>) => {
    const headers: Record<string, string> = {};
    return {
      req: {},
      res: { headersSent: false, writableEnded: false },
      state,
      status: 404,
      body: undefined as unknown,
      type: '',
      headers,
      set: (name: string, value: string) => (headers[name] = value),
    };
  };

  it('awaits next() for a bound token', async () => {
    const ctx = ctxOf({ clientCert, user: { cnf: { 'x5t#S256': THUMBPRINT } } });
    const next = vi.fn(async () => undefined);
    await koaBound({ claims: (c) => c.state.user })(ctx as never, next);
    expect(next).toHaveBeenCalledOnce();
    expect(ctx.status).toBe(404);
  });

  it('answers 401 with the challenge, or throws with forwardErrors', async () => {
    const ctx = ctxOf({ clientCert, user: { cnf: { 'x5t#S256': THUMBPRINT.toLowerCase() } } });
    const next = vi.fn(async () => undefined);
    await koaBound({ claims: (c) => c.state.user })(ctx as never, next);
    expect([ctx.status, (ctx.body as { code: string }).code, ctx.type]).toEqual([
      401,
      'TOKEN_NOT_BOUND',
      'application/problem+json',
    ]);
    expect(ctx.headers).toEqual({ 'WWW-Authenticate': BOUND_TOKEN_CHALLENGE });
    await expect(
      koaBound({ claims: (c) => c.state.user, forwardErrors: true })(ctxOf({ clientCert }) as never, next),
    ).rejects.toMatchObject({ code: 'TOKEN_NOT_BOUND', status: 401 });
    expect(next).not.toHaveBeenCalled();
  });

  it('answers 500 CONFIG_INVALID without ctx.state.clientCert', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const ctx = ctxOf({ user: { cnf: { 'x5t#S256': THUMBPRINT } } });
    await koaBound({ claims: (c) => c.state.user })(ctx as never, async () => undefined);
    expect([ctx.status, (ctx.body as { code: string }).code, ctx.headers]).toEqual([500, 'CONFIG_INVALID', {}]);
  });
});
