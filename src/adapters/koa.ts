import type { ClientCert, GuardOutcome } from '../guard/guard.js';
import type { RequestLike } from '../sources/source.js';
import { adapterSetup, notifyReject, type AdapterOptions } from './options.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.js';

export type { ClientCert } from '../guard/guard.js';
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
    ctx.body = problemBody(outcome.error);
    ctx.type = PROBLEM_CONTENT_TYPE;
  };
}
