import { CertgateError, PUBLIC_MESSAGES } from '../errors.js';
import { type ClientCert, refusal, refusalOf } from '../guard/outcome.js';
import { configError } from '../verifier/options.js';
import { reportFailure, type OnReject } from './options.js';

/**
 * RFC 8705 section 3: certificate-bound access tokens. The token middleware (express-oauth2-jwt-bearer,
 * koa-jwt, an introspection step) verifies the token; the certificate guard verifies the client
 * certificate; this step only checks that the token's `cnf["x5t#S256"]` names that certificate.
 * Framework-free: the adapters translate its verdict.
 */

/**
 * The verified token's claims: a JWT payload, or an RFC 7662 introspection response (which carries
 * `cnf` the same way). Any object; a primitive is a type error.
 */
export type TokenClaims = object;

/** The parts of the options every framework shares; `claims` is typed per framework. */
export interface BoundTokenOptionsBase {
  /**
   * Pass a refusal to the framework's error handling (`next(err)` in Express, a thrown error in
   * Koa) instead of answering with a problem+json response. The error carries `headers` with the
   * `WWW-Authenticate` challenge, which Express's and Koa's default error handlers send. Default false.
   */
  forwardErrors?: boolean;
  /** Called with every refusal (its `detail` says what was wrong with the binding), e.g. for logging. */
  onReject?: OnReject;
}

const WHERE = 'requireBoundToken';
const OPTION_NAMES = new Set(['claims', 'forwardErrors', 'onReject']);

/**
 * RFC 6750 section 3 challenge for a token that is not bound: `invalid_token`, with the public
 * message as a fixed description (it only has characters RFC 6750 section 3 allows there).
 */
export const BOUND_TOKEN_CHALLENGE =
  `Bearer error="invalid_token", error_description="${PUBLIC_MESSAGES.TOKEN_NOT_BOUND}"` as const;

/** The verdict of one request: undefined lets it through, an error refuses it. */
export type BoundTokenCheck<R> = (request: R, clientCert: ClientCert | undefined) => CertgateError | undefined;

export interface BoundTokenSetup<R> {
  check: BoundTokenCheck<R>;
  forwardErrors: boolean;
  onReject: OnReject | undefined;
}

/** Validates the options once, when the middleware is created; a mistake is CONFIG_INVALID naming the option. */
export function boundTokenSetup<R>(
  options: (BoundTokenOptionsBase & { claims: (request: R) => unknown }) | undefined,
): BoundTokenSetup<R> {
  if (options === null || typeof options !== 'object') {
    throw configError(WHERE, `options must be an object with a 'claims' function, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) {
      throw configError(WHERE, `unknown option '${key}' (known: ${[...OPTION_NAMES].join(', ')})`);
    }
  }
  const { claims, forwardErrors, onReject } = options;
  if (typeof claims !== 'function') {
    throw configError(WHERE, `option 'claims' must be a function (request) => token claims, got ${describe(claims)}`);
  }
  if (forwardErrors !== undefined && typeof forwardErrors !== 'boolean') {
    throw configError(WHERE, `option 'forwardErrors' must be a boolean, got ${describe(forwardErrors)}`);
  }
  if (onReject !== undefined && typeof onReject !== 'function') {
    throw configError(WHERE, `option 'onReject' must be a function, got ${describe(onReject)}`);
  }
  return { check: boundTokenCheck(claims), forwardErrors: forwardErrors ?? false, onReject };
}

function boundTokenCheck<R>(claims: (request: R) => unknown): BoundTokenCheck<R> {
  let warned = false;
  /** A wiring mistake answers 500 on every request: operators hear of it once per middleware, not per request. */
  const wiring = (detail: string, cause?: unknown): CertgateError => {
    if (!warned) {
      warned = true;
      reportFailure(WHERE, new Error(detail));
    }
    // The client gets the public message only; the detail (which may quote the app's exception) is for operators.
    const { error } = refusalOf(
      new CertgateError('CONFIG_INVALID', PUBLIC_MESSAGES.CONFIG_INVALID, { detail: `${WHERE}: ${detail}`, cause }),
    ) as { error: CertgateError };
    return error;
  };

  return (request, clientCert) => {
    // Fail closed: without the guard's verdict there is no certificate to bind to. Not a 401: the
    // client cannot fix a route that lacks requireClientCert() (or runs it after this step).
    if (clientCert === undefined) {
      return wiring(
        'no verified client certificate on the request: put requireClientCert() before requireBoundToken()',
      );
    }
    let payload: unknown;
    try {
      payload = claims(request);
    } catch (err) {
      return wiring(`option 'claims' threw: ${(err as Error)?.message ?? String(err)}`, err);
    }
    // No token (the token middleware let an anonymous request through): nothing is bound.
    if (payload === undefined || payload === null) return notBound('no token claims on the request');
    try {
      if (typeof payload !== 'object' || Array.isArray(payload) || isThenable(payload)) {
        // Typically the raw token string (`req.auth.token`) or an async function: a wiring mistake.
        return wiring(
          `option 'claims' must return the verified token's claims (an object) or undefined, got ${describe(payload)}`,
        );
      }
    } catch (err) {
      // A `then` getter that throws: what claims returned cannot even be looked at.
      return wiring(`what option 'claims' returned threw when read: ${(err as Error)?.message ?? String(err)}`, err);
    }
    return bindingError(payload, clientCert.thumbprint);
  };
}

/**
 * RFC 8705 section 3.1: `cnf` is a JSON object whose `x5t#S256` member is the base64url (no
 * padding) SHA-256 of the certificate's DER. Compared exactly (padding, case and whitespace make it
 * another value). A plain compare, not a constant-time one: both sides are public (the client sent
 * the certificate, the token's holder can read `cnf`), so timing reveals nothing worth hiding.
 * Own properties only, so that a polluted Object.prototype cannot supply a binding.
 */
export function bindingError(claims: object, thumbprint: string): CertgateError | undefined {
  let cnf: unknown;
  let x5t: unknown;
  try {
    if (!Object.hasOwn(claims, 'cnf')) return notBound('the token has no cnf claim');
    cnf = (claims as { cnf: unknown }).cnf;
    if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) {
      return notBound(`the token's cnf claim is not a JSON object (${describe(cnf)})`);
    }
    if (!Object.hasOwn(cnf, 'x5t#S256')) return notBound("the token's cnf claim has no x5t#S256 member");
    x5t = (cnf as Record<string, unknown>)['x5t#S256'];
  } catch (err) {
    // A getter that throws: not a token any verifier produced.
    return notBound(`the token's claims could not be read: ${(err as Error)?.message ?? String(err)}`);
  }
  if (typeof x5t !== 'string') return notBound(`the token's cnf x5t#S256 is not a string (${describe(x5t)})`);
  if (x5t === thumbprint) return undefined;
  return notBound(`the token's cnf x5t#S256 ${clip(x5t)} is not the client certificate's ${thumbprint}`);
}

/** The refusal: a fresh error per request (the detail differs), made without stack frames. */
function notBound(detail: string): CertgateError {
  const { error } = refusal('TOKEN_NOT_BOUND', detail) as { error: CertgateError };
  // Express's finalhandler and Koa's ctx.onerror send `err.headers`: forwarded errors keep the challenge.
  Object.defineProperty(error, 'headers', {
    value: Object.freeze({ 'WWW-Authenticate': BOUND_TOKEN_CHALLENGE }),
    enumerable: false,
  });
  return error;
}

/** The operator detail quotes the token's value, bounded: a token can hold anything. */
function clip(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
}

function isThenable(value: object): boolean {
  const then = (value as { then?: unknown }).then;
  if (typeof then !== 'function') return false;
  // Nobody awaits it: a later rejection must not become an unhandled rejection.
  (value as PromiseLike<unknown>).then(undefined, () => undefined);
  return true;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof (value as { then?: unknown } | undefined)?.then === 'function')
    return 'a promise (claims must be synchronous)';
  return typeof value;
}
