/**
 * Type tests of `certgate/fastify`, as a user imports it. Never run: `npm run typecheck` checks
 * them, so a failing expectation is a compile error.
 */
import Fastify, { type onRequestHookHandler } from 'fastify';
import { expectTypeOf } from 'vitest';
import { byCommonName, createVerifier } from 'certgate';
import {
  type ClientCert,
  type ClientCertHook,
  requireClientCert,
  type RequireClientCertOptions,
} from 'certgate/fastify';

/** For calls that must or must not compile; never invoked. */
const compiles = (_call: () => unknown): void => {};

// The example from the issue compiles as written: `request.clientCert.user` is a string.
const app = Fastify({ https: { key: 'PEM', cert: 'PEM', ca: 'PEM', requestCert: true, rejectUnauthorized: false } });
app.get('/', async () => 'public');
app.get('/banking/accounts', { onRequest: requireClientCert({ ca: 'PEM', roles: ['customer'] }) }, async (request) => {
  expectTypeOf(request.clientCert).toEqualTypeOf<ClientCert>();
  expectTypeOf(request.clientCert.user).toEqualTypeOf<string>();
  expectTypeOf(request.clientCert.roles).toEqualTypeOf<readonly string[]>();
  return { user: request.clientCert.user };
});

// An encapsulated context, and a list of route hooks.
app.register(async (child) => {
  child.addHook('onRequest', requireClientCert({ ca: 'PEM', forwardErrors: true }));
  child.get('/me', async (request) => request.clientCert.user);
});
app.get('/two', { onRequest: [requireClientCert(), requireClientCert({ roles: ['admin'] })] }, async () => 'ok');

// A route with a declared reply type and params still accepts the hook.
app.get<{ Params: { id: string }; Reply: { 200: { user: string; id: string } } }>(
  '/accounts/:id',
  { onRequest: requireClientCert({ ca: 'PEM' }) },
  async (request) => ({ user: request.clientCert.user, id: request.params.id }),
);

// HTTP/2 with HTTP/1.1 fallback: the same hook, on routes and with addHook.
const h2 = Fastify({ http2: true, https: { allowHTTP1: true, key: 'PEM', cert: 'PEM' } });
h2.get('/h2', { onRequest: requireClientCert({ ca: 'PEM' }) }, async (request) => request.clientCert.user);
h2.addHook('onRequest', requireClientCert({ verifier: createVerifier({ ca: 'PEM' }) }));

// A hook of the shape Fastify calls.
expectTypeOf(requireClientCert).returns.toExtend<ClientCertHook>();
// Callback style, never a promise: Fastify runs the route on done() without awaiting anything.
expectTypeOf(requireClientCert()).returns.toEqualTypeOf<void>();
expectTypeOf<ClientCertHook>().toExtend<onRequestHookHandler>();
expectTypeOf(requireClientCert).parameters.toEqualTypeOf<[options?: RequireClientCertOptions]>();
compiles(() =>
  requireClientCert({
    crl: 'PEM',
    identify: byCommonName({ alice: { roles: ['customer'] } }),
    roles: ['customer'],
    identityTtlMs: 60_000,
    onReject: async (error) => {
      expectTypeOf(error.code).toBeString();
    },
  }),
);

// Bad options are compile errors (and CONFIG_INVALID at creation time).
// @ts-expect-error unknown option
compiles(() => requireClientCert({ ca: 'PEM', bogus: true }));
// @ts-expect-error roles is a list of strings
compiles(() => requireClientCert({ roles: 'customer' }));
// @ts-expect-error forwardErrors is a boolean
compiles(() => requireClientCert({ forwardErrors: 'yes' }));
// @ts-expect-error onReject is a function
compiles(() => requireClientCert({ onReject: true }));
