// Types only (no runtime import of Fastify): brings the module into a program that compiles this
// file alone (the declaration build), which the augmentation below needs to find it.
import type {} from 'fastify';

import type { ClientCert, GuardOutcome } from '../guard/guard.js';
import type { RequestLike } from '../sources/source.js';
import { adapterSetup, notifyReject, reportFailure, type AdapterOptions } from './options.js';
import { PROBLEM_CONTENT_TYPE, problemBytes } from './problem.js';

export type { ClientCert } from '../guard/guard.js';
export type RequireClientCertOptions = AdapterOptions;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The verified client certificate's identity, set by certgate's requireClientCert() before the
     * handler runs. Only on the routes the hook guards: elsewhere it is undefined at run time.
     */
    clientCert: ClientCert;
  }
}

/**
 * The parts of a Fastify request the hook uses: Fastify 4 and 5, HTTP/1.1 (`raw` is an
 * IncomingMessage) and HTTP/2 (`raw` is an Http2ServerRequest; the TLS source keys its session).
 */
export interface FastifyRequestLike {
  readonly raw: RequestLike;
  clientCert?: ClientCert;
}

/**
 * The parts of a Fastify reply the hook uses. `send` takes `never` so that a route whose reply
 * type is declared (`Reply: { 200: ... }`) still accepts the hook; it is called with the JSON body's bytes.
 */
export interface FastifyReplyLike {
  readonly sent: boolean;
  readonly raw: { readonly headersSent: boolean; destroy(error?: Error): unknown };
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  send(payload: never): unknown;
}

/**
 * A callback-style `onRequest` hook (no promise when the connection is already decided, which is
 * every request after a connection's first). Fastify forbids `async` hooks that also take `done`.
 */
export type ClientCertHook = (
  request: FastifyRequestLike,
  reply: FastifyReplyLike,
  done: (error?: Error) => void,
) => void;

/** Answered meanwhile (a timeout hook, a hijacked reply): a late guard writes nothing. */
const answered = (reply: FastifyReplyLike): boolean => reply.sent || reply.raw.headersSent;

/**
 * Fastify `onRequest` hook: refuses the request unless the TLS client certificate verifies, maps
 * to a user, and (with `roles`) holds a required role; the handler then reads
 * `request.clientCert`. For one route (`{ onRequest: requireClientCert(...) }`) or an encapsulated
 * context (`addHook('onRequest', ...)`). Works on Fastify 4 and 5, over HTTP/1.1 and HTTP/2.
 */
export function requireClientCert(options?: RequireClientCertOptions): ClientCertHook {
  const { guard, forwardErrors, onReject } = adapterSetup(options, 'requireClientCert');

  /** Lets the request through, or refuses it: the outcome's own status, problem+json or forwarded. */
  const settle = (outcome: GuardOutcome, request: FastifyRequestLike, reply: FastifyReplyLike, done: Done): void => {
    if (outcome.ok) {
      request.clientCert = outcome.clientCert;
      done();
      return;
    }
    const { error } = outcome;
    notifyReject(onReject, error);
    // Also before forwarding: a custom error handler that only sends a body still answers with
    // certgate's status (Fastify's default handler takes `error.status` when none is set).
    reply.code(error.status);
    if (forwardErrors) {
      done(error);
      return;
    }
    reply.header('content-type', PROBLEM_CONTENT_TYPE);
    // Not calling done(): a hook that sends ends Fastify's hook chain.
    reply.send(problemBytes(error) as never);
  };

  /** After the await: the reply may have been sent meanwhile, and nothing catches a throw. */
  const settleLate = (outcome: GuardOutcome, request: FastifyRequestLike, reply: FastifyReplyLike, done: Done) => {
    try {
      if (!answered(reply)) {
        settle(outcome, request, reply, done);
        return;
      }
      // Neither the handler nor the error handler may run on a reply that is already sent.
      if (!outcome.ok) notifyReject(onReject, outcome.error);
    } catch (err) {
      reportFailure('the Fastify hook chain after certgate failed', err);
      if (!answered(reply)) reply.raw.destroy();
    }
  };

  return function certgateRequireClientCert(request, reply, done): void {
    // Fast path: a connection already decided is answered synchronously, without a promise. No
    // answered() check: Fastify calls a hook only while the reply is unsent (hookIterator).
    const known = guard.cached(request.raw);
    if (known) {
      settle(known, request, reply, done);
      return;
    }
    guard.check(request.raw).then(
      (outcome) => settleLate(outcome, request, reply, done),
      // check() never rejects; should a broken guard do so anyway, the request still ends.
      (err: unknown) => {
        reportFailure('the certgate guard failed', err);
        if (!answered(reply)) reply.raw.destroy();
      },
    );
  };
}

type Done = (error?: Error) => void;

export { requireBoundToken, type RequireBoundTokenOptions } from './fastify-bound-token.js';
export type { TokenClaims } from './bound-token.js';
