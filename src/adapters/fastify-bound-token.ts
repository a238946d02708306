import type { FastifyRequest } from 'fastify';
import { BOUND_TOKEN_CHALLENGE, boundTokenSetup, type BoundTokenOptionsBase, type TokenClaims } from './bound-token.js';
import type { ClientCertHook, FastifyRequestLike } from './fastify.js';
import { notifyReject } from './options.js';
import { PROBLEM_CONTENT_TYPE, problemBytes } from './problem.js';

export interface RequireBoundTokenOptions extends BoundTokenOptionsBase {
  /**
   * The verified access token's claims, as the hook before this one left them: e.g.
   * `(request) => request.user` after @fastify/jwt's `request.jwtVerify()`. Undefined when there is no token.
   */
  claims(request: FastifyRequest): TokenClaims | null | undefined;
}

/**
 * Fastify hook for RFC 8705 certificate-bound access tokens, after requireClientCert() and the
 * token check (e.g. `preHandler: [verifyToken, requireBoundToken(...)]`): refuses the request with
 * 401 TOKEN_NOT_BOUND (and `WWW-Authenticate: Bearer error="invalid_token"`) unless the token's
 * `cnf["x5t#S256"]` is `request.clientCert.thumbprint`. Without `request.clientCert` (no guard
 * before it) it answers 500 CONFIG_INVALID: it never lets the request through. Synchronous.
 */
export function requireBoundToken(options: RequireBoundTokenOptions): ClientCertHook {
  const { check, forwardErrors, onReject } = boundTokenSetup<FastifyRequest>(options);

  return function certgateRequireBoundToken(request: FastifyRequestLike, reply, done): void {
    // The hook is only ever given Fastify's own request; FastifyRequestLike is the slice it reads.
    const error = check(request as FastifyRequest, request.clientCert);
    if (error === undefined) {
      done();
      return;
    }
    notifyReject(onReject, error);
    // Also before forwarding: a custom error handler that only sends a body keeps status and challenge.
    reply.code(error.status);
    if (error.code === 'TOKEN_NOT_BOUND') reply.header('www-authenticate', BOUND_TOKEN_CHALLENGE);
    if (forwardErrors) {
      done(error);
      return;
    }
    reply.header('content-type', PROBLEM_CONTENT_TYPE);
    reply.send(problemBytes(error) as never);
  };
}
