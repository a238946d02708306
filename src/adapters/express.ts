import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientCert, GuardOutcome } from '../guard/guard.js';
import { BOUND_TOKEN_CHALLENGE, boundTokenSetup, type BoundTokenOptionsBase, type TokenClaims } from './bound-token.js';
import { adapterSetup, notifyReject, reportFailure, type AdapterOptions } from './options.js';
import { PROBLEM_CONTENT_TYPE, problemJson } from './problem.js';

export type { ClientCert } from '../guard/guard.js';
export type { TokenClaims } from './bound-token.js';
export type RequireClientCertOptions = AdapterOptions;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by certgate's requireClientCert() once the client certificate is verified. */
      clientCert?: ClientCert;
    }
  }
}

type Next = (err?: unknown) => void;
type Request = IncomingMessage & { clientCert?: ClientCert };

/** Someone else answered meanwhile (a request-timeout middleware): a late guard writes nothing. */
const answered = (res: ServerResponse): boolean => res.headersSent || res.writableEnded;

/**
 * Express middleware: refuses the request unless the TLS client certificate verifies, maps to a
 * user, and (with `roles`) holds a required role. Works on Express 4 and 5.
 */
export function requireClientCert(options?: RequireClientCertOptions) {
  const { guard, forwardErrors, onReject } = adapterSetup(options, 'requireClientCert');

  const settle = (outcome: GuardOutcome, req: Request, res: ServerResponse, next: Next): void => {
    if (!outcome.ok) notifyReject(onReject, outcome.error);
    // Neither the route nor the error handler may run on a response that is already finished.
    if (answered(res)) return;
    if (outcome.ok) {
      req.clientCert = outcome.clientCert;
      next();
      return;
    }
    if (forwardErrors) {
      next(outcome.error);
      return;
    }
    res.statusCode = outcome.error.status;
    res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
    res.end(problemJson(outcome.error));
  };

  /** A throw after the await has no caller to catch it: reported, and the request refused if still open. */
  const settleLate = (outcome: GuardOutcome, req: Request, res: ServerResponse, next: Next): void => {
    try {
      settle(outcome, req, res, next);
    } catch (err) {
      reportFailure('the Express middleware after certgate failed', err);
      if (!answered(res)) res.destroy();
    }
  };

  return function certgateRequireClientCert(req: Request, res: ServerResponse, next: Next): void {
    // Fast path: a connection already decided costs two WeakMap lookups, a clock read and a compare.
    const known = guard.cached(req);
    if (known) {
      settle(known, req, res, next);
      return;
    }
    guard.check(req).then(
      (outcome) => settleLate(outcome, req, res, next),
      // check() never rejects; should a broken guard do so anyway, the request still ends.
      (err: unknown) => {
        reportFailure('the certgate guard failed', err);
        if (!answered(res)) res.destroy();
      },
    );
  };
}

/** What `claims` receives: the Express request, with what token middlewares add (`req.auth`, `req.user`). */
export type BoundTokenRequest = IncomingMessage & Express.Request;

export interface RequireBoundTokenOptions extends BoundTokenOptionsBase {
  /**
   * The verified access token's claims, as the token middleware before this one left them: e.g.
   * `(req) => req.auth?.payload` after express-oauth2-jwt-bearer. Undefined when there is no token.
   */
  claims(req: BoundTokenRequest): TokenClaims | null | undefined;
}

/**
 * Express middleware for RFC 8705 certificate-bound access tokens: after requireClientCert() and
 * the token middleware, refuses the request with 401 TOKEN_NOT_BOUND (and `WWW-Authenticate:
 * Bearer error="invalid_token"`) unless the token's `cnf["x5t#S256"]` is `req.clientCert.thumbprint`.
 * Without `req.clientCert` (no guard before it) it answers 500 CONFIG_INVALID: it never lets the
 * request through.
 */
export function requireBoundToken(options: RequireBoundTokenOptions) {
  const { check, forwardErrors, onReject } = boundTokenSetup<BoundTokenRequest>(options);

  return function certgateRequireBoundToken(req: BoundTokenRequest, res: ServerResponse, next: Next): void {
    const error = check(req, req.clientCert);
    if (error === undefined) {
      next();
      return;
    }
    notifyReject(onReject, error);
    if (forwardErrors) {
      next(error);
      return;
    }
    res.statusCode = error.status;
    if (error.code === 'TOKEN_NOT_BOUND') res.setHeader('www-authenticate', BOUND_TOKEN_CHALLENGE);
    res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
    res.end(problemJson(error));
  };
}
