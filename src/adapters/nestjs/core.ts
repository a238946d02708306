import type { CertgateError, ReasonCode } from '../../errors.js';
import { configError } from '../../verifier/options.js';
import type { ClientCertGuard, GuardOutcome } from '../../guard/guard.js';
import { refusal } from '../../guard/outcome.js';
import { roleDetail } from '../../guard/identity-step.js';
import { adapterSetup, type AdapterOptions, type OnReject } from '../options.js';

/**
 * `CertgateModule.forRoot()` options: the guard's options (`ca`, `crl`, `identify`, `roles`, `proxy`,
 * `verifier`, ...) and `onReject`. `forwardErrors: true` leaves refusals to the application's own
 * exception filters (certgate registers none); the CertgateError is what they catch.
 */
export type CertgateModuleOptions = AdapterOptions;

/** Where `@RequireClientCert()` and `@SkipClientCert()` keep a route's rule (handler, then class). */
export const CLIENT_CERT_RULE = 'certgate:client-cert-rule';

/** What a route asks for: `@RequireClientCert()` (its roles, if any) or `@SkipClientCert()`. */
export interface RouteRule {
  readonly roles?: readonly string[];
  readonly skip?: true;
}

/**
 * The module's one certificate guard: one verifier (one trust store, CRL store and cache) and one
 * `identify` per connection for every route. Roles are applied per route on top of its outcome,
 * so a route's roles need no guard (nor cache) of their own.
 */
export interface CertgateCore {
  readonly guard: ClientCertGuard;
  readonly roles: readonly string[] | undefined;
  readonly forwardErrors: boolean;
  readonly onReject: OnReject | undefined;
}

/** The same rule as the guard's `roles` option, checked where the roles are given. */
export function parseRoles(roles: unknown, where: string): readonly string[] | undefined {
  if (roles === undefined) return undefined;
  if (!Array.isArray(roles) || roles.length === 0 || !roles.every((r) => typeof r === 'string')) {
    throw configError(where, `option 'roles' must be a non-empty array of strings`);
  }
  return Object.freeze([...roles]);
}

/** Validates everything now: a configuration error stops the application's start, not a request. */
export function createCore(options: CertgateModuleOptions | undefined, where: string): CertgateCore {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw configError(where, `options must be an object`);
  }
  const { roles, ...rest } = options ?? {};
  const parsedRoles = parseRoles(roles, where);
  const { guard, forwardErrors, onReject } = adapterSetup(rest, where);
  return Object.freeze({ guard, roles: parsedRoles, forwardErrors, onReject });
}

/** A verified client must also hold one of the route's roles (the route's, else forRoot's). */
export function withRoles(outcome: GuardOutcome, roles: readonly string[] | undefined): GuardOutcome {
  if (!outcome.ok || roles === undefined) return outcome;
  const { user, roles: held } = outcome.clientCert;
  if (roles.some((r) => held.includes(r))) return outcome;
  return refusal('ROLE_FORBIDDEN', roleDetail(user, held, roles));
}

/** A refusal's error without stack frames (see refusal()), for a throw outside the guard's outcome. */
export function refusalError(code: ReasonCode, detail: string): CertgateError {
  return (refusal(code, detail) as Extract<GuardOutcome, { ok: false }>).error;
}
