/**
 * Type tests of the framework-free guard on plain Node servers: `check()` and `cached()` accept
 * `node:http`/`node:https` requests and `node:http2` compatibility requests, and a refusal's
 * `toProblem()` is the typed RFC 9457 body. Never run: `npm run typecheck` checks them.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { expectTypeOf } from 'vitest';
import {
  type CertgateError,
  type ClientCert,
  clientCertGuard,
  type GuardOutcome,
  type ProblemBody,
  type ReasonCode,
} from 'certgate';

const guard = clientCertGuard({ ca: Buffer.from(''), roles: ['customer'] });
declare const h1: IncomingMessage;
declare const h2: Http2ServerRequest;

expectTypeOf(guard.check(h1)).toEqualTypeOf<Promise<GuardOutcome>>();
expectTypeOf(guard.check(h2)).toEqualTypeOf<Promise<GuardOutcome>>();
expectTypeOf(guard.cached(h2)).toEqualTypeOf<GuardOutcome | undefined>();

async function narrowed(): Promise<void> {
  const outcome = await guard.check(h2);
  if (outcome.ok) {
    expectTypeOf(outcome.clientCert).toEqualTypeOf<ClientCert>();
    expectTypeOf(outcome.clientCert.user).toEqualTypeOf<string>();
  } else {
    expectTypeOf(outcome.error).toEqualTypeOf<CertgateError>();
    expectTypeOf(outcome.error.toProblem()).toEqualTypeOf<ProblemBody>();
    expectTypeOf(outcome.error.toProblem().status).toEqualTypeOf<number>();
    expectTypeOf(outcome.error.code).toEqualTypeOf<ReasonCode>();
  }
}
void narrowed;

// Not a request: a number or a string is a compile error, not a runtime surprise.
// @ts-expect-error -- check() takes a request-like object
void guard.check(42);
// @ts-expect-error -- roles is an array of strings
clientCertGuard({ roles: 'customer' });
