import type { ClientCert, GuardOutcome } from '../guard/guard.js';
import type { RequestLike } from '../sources/source.js';
import { BOUND_TOKEN_CHALLENGE, boundTokenSetup, type BoundTokenOptionsBase, type TokenClaims } from './bound-token.js';
import { adapterSetup, notifyReject, type AdapterOptions } from './options.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

export type { ClientCert } from '../guard/guard.js';
export type { TokenClaims } from './bound-token.js';
export type RequireClientCertOptions = AdapterOptions;

/** `ctx.state` after the guard: type your context as `ParameterizedContext<ClientCertState>`. */
export interface ClientCertState {
  clientCert: ClientCert;
}

/** The slice of a Koa context the guard uses, so this module needs no Koa types at runtime. */
interface KoaContextLike {
  req: RequestLike;
  res: { readonly headersSent: boolean; readonly writableEnded: boolean };
  state: Record<string, unknown>;
  status: number;
  body: unknown;
  type: string;
}

/**
 * Koa middleware for `app.use()` or a single router route: the next middleware runs only for a
 * verified client certificate whose user holds a required role. Works on Koa 2 and 3.
 */
export function requireClientCert(options?: RequireClientCertOptions) {
  const { guard, forwardErrors, onReject } = adapterSetup(options, 'requireClientCert');

  return async function certgateRequireClientCert(ctx: KoaContextLike, next: () => Promise<unknown>): Promise<void> {
    const outcome: GuardOutcome = guard.cached(ctx.req) ?? (await guard.check(ctx.req));
    if (!outcome.ok) notifyReject(onReject, outcome.error);
    // Answered meanwhile (a request-timeout middleware): the route must not run, nothing is written.
    if (ctx.res.headersSent || ctx.res.writableEnded) return;
    if (outcome.ok) {
      ctx.state.clientCert = outcome.clientCert;
      await next();
      return;
    }
    if (forwardErrors) {
      throw outcome.error;
    }
    ctx.status = outcome.error.status;
    // Body first: Koa 2's body setter resets the type to JSON for objects.
    ctx.body = outcome.error.toProblem();
    ctx.type = PROBLEM_CONTENT_TYPE;
  };
}

/**
 * What `claims` receives: the Koa context. `state` is loosely typed, as Koa's own default state is:
 * token middlewares put the claims there untyped (koa-jwt: `ctx.state.user`).
 */
export interface BoundTokenContext {
  // biome-ignore lint/suspicious/noExplicitAny: Koa's DefaultState is `any`; a stricter type refuses `ctx.state.user`.
  state: any;
}

export interface RequireBoundTokenOptions extends BoundTokenOptionsBase {
  /**
   * The verified access token's claims, as the token middleware before this one left them: e.g.
   * `(ctx) => ctx.state.user` after koa-jwt. Undefined when there is no token.
   */
  claims(ctx: BoundTokenContext): TokenClaims | null | undefined;
}

/**
 * Koa middleware for RFC 8705 certificate-bound access tokens: after requireClientCert() and the
 * token middleware, refuses the request with 401 TOKEN_NOT_BOUND (and `WWW-Authenticate: Bearer
 * error="invalid_token"`) unless the token's `cnf["x5t#S256"]` is `ctx.state.clientCert.thumbprint`.
 * Without `ctx.state.clientCert` (no guard before it) it answers 500 CONFIG_INVALID: it never lets
 * the request through.
 */
export function requireBoundToken(options: RequireBoundTokenOptions) {
  const { check, forwardErrors, onReject } = boundTokenSetup<BoundTokenContext>(options);

  return async function certgateRequireBoundToken(
    ctx: KoaContextLike & { set(field: string, value: string): void },
    next: () => Promise<unknown>,
  ): Promise<void> {
    const error = check(ctx, ctx.state.clientCert as ClientCert | undefined);
    if (error === undefined) {
      await next();
      return;
    }
    notifyReject(onReject, error);
    if (forwardErrors) throw error;
    ctx.status = error.status;
    if (error.code === 'TOKEN_NOT_BOUND') ctx.set('WWW-Authenticate', BOUND_TOKEN_CHALLENGE);
    ctx.body = error.toProblem();
    ctx.type = PROBLEM_CONTENT_TYPE;
  };
}
