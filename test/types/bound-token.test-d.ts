/**
 * Type tests of requireBoundToken: `claims` reads what the token middleware left on the request
 * (express-oauth2-jwt-bearer's `req.auth`, koa-jwt's `ctx.state.user`, a Fastify request's own
 * fields), the middleware fits `app.use()`, routers and Fastify hooks, and a wrong option is a
 * compile error. Never run: `npm run typecheck` checks them.
 */
import express from 'express';
import type { AuthResult, JWTPayload } from 'express-oauth2-jwt-bearer';
import fastify from 'fastify';
import Koa, { type ParameterizedContext } from 'koa';
import Router from '@koa/router';
import { expectTypeOf } from 'vitest';
import { requireBoundToken, requireClientCert, type BoundTokenRequest } from 'certgate/express';
import {
  requireBoundToken as fastifyRequireBoundToken,
  requireClientCert as fastifyRequireClientCert,
} from 'certgate/fastify';
import {
  requireBoundToken as koaRequireBoundToken,
  requireClientCert as koaRequireClientCert,
  type ClientCertState,
} from 'certgate/koa';

// Express: req.auth is express-oauth2-jwt-bearer's augmentation, req.clientCert certgate's.
const app = express();
app.use(requireClientCert());
app.use(
  requireBoundToken({
    claims: (req) => {
      expectTypeOf(req.auth).toEqualTypeOf<AuthResult | undefined>();
      expectTypeOf(req.clientCert?.thumbprint).toEqualTypeOf<string | undefined>();
      return req.auth?.payload;
    },
  }),
);
app.get('/r', requireClientCert(), requireBoundToken({ claims: (req) => req.auth?.payload, forwardErrors: true }));
// A handler typed with Express's own Request is accepted too.
requireBoundToken({ claims: (req: express.Request) => req.auth?.payload });
expectTypeOf<BoundTokenRequest['auth']>().toEqualTypeOf<AuthResult | undefined>();
requireBoundToken({ claims: () => ({ cnf: { 'x5t#S256': 'x' } }) as JWTPayload, onReject: (e) => e.code });

// @ts-expect-error claims is required
requireBoundToken({});
// @ts-expect-error claims must be a function, not a path
requireBoundToken({ claims: 'auth.payload' });
// @ts-expect-error claims must return an object or undefined, not the raw token string
requireBoundToken({ claims: (req) => req.auth?.token });
// @ts-expect-error unknown option
requireBoundToken({ claims: (req) => req.auth?.payload, realm: 'api' });
// @ts-expect-error forwardErrors is a boolean
requireBoundToken({ claims: (req) => req.auth?.payload, forwardErrors: 'yes' });

// Koa: ctx.state is as loosely typed as Koa's default state (koa-jwt puts the claims there).
const koa = new Koa();
koa.use(koaRequireClientCert());
koa.use(koaRequireBoundToken({ claims: (ctx) => ctx.state.user }));
type State = Partial<ClientCertState> & { user?: JWTPayload };
const router = new Router<State>();
router.get('/r', koaRequireClientCert(), koaRequireBoundToken({ claims: (ctx) => ctx.state.user }), (ctx) => {
  expectTypeOf(ctx.state.clientCert?.thumbprint).toEqualTypeOf<string | undefined>();
});
koaRequireBoundToken({ claims: (ctx: ParameterizedContext<State>) => ctx.state.user });

// @ts-expect-error claims is required
koaRequireBoundToken({ onReject: () => undefined });
// @ts-expect-error claims must return an object or undefined
koaRequireBoundToken({ claims: () => 'token' });

// Fastify: a preHandler after the token check; claims gets Fastify's own request.
const f = fastify();
f.get(
  '/r',
  {
    onRequest: fastifyRequireClientCert(),
    preHandler: [
      fastifyRequireBoundToken({
        claims: (request) => {
          expectTypeOf(request.clientCert.thumbprint).toEqualTypeOf<string>();
          return request.headers.authorization === undefined ? undefined : { cnf: {} };
        },
      }),
    ],
  },
  async () => ({}),
);
// @ts-expect-error claims must return an object or undefined
fastifyRequireBoundToken({ claims: (request) => request.headers.authorization });
// @ts-expect-error onReject is a function
fastifyRequireBoundToken({ claims: () => undefined, onReject: true });
