import { createParamDecorator, SetMetadata, type CustomDecorator, type ExecutionContext } from '@nestjs/common';
import type { ClientCert as VerifiedClientCert } from '../../guard/guard.js';
import { parseRoles, refusalError, type RouteRule } from './core.js';

/** Where `@RequireClientCert()` and `@SkipClientCert()` keep a route's rule (handler, then class). */
export const CLIENT_CERT_RULE = 'certgate:client-cert-rule';

export interface RequireClientCertOptions {
  /** The user must hold one of these roles: replaces forRoot's `roles` for this route or controller. */
  roles?: readonly string[];
}

/**
 * On a handler or a controller class (the handler's wins): under ClientCertGuard, the route needs
 * a verified client certificate whose user holds one of `roles` (default: forRoot's `roles`).
 */
export function RequireClientCert(options: RequireClientCertOptions = {}): CustomDecorator<string> {
  const roles = parseRoles(options?.roles, 'RequireClientCert');
  const rule: RouteRule = Object.freeze(roles ? { roles } : {});
  return SetMetadata(CLIENT_CERT_RULE, rule);
}

/** A public route or controller under a global ClientCertGuard (APP_GUARD): no certificate asked. */
export function SkipClientCert(): CustomDecorator<string> {
  return SetMetadata(CLIENT_CERT_RULE, Object.freeze({ skip: true } satisfies RouteRule));
}

/** The verified client certificate of a request ClientCertGuard let through. */
export type ClientCert = VerifiedClientCert;

/**
 * Parameter decorator: `@ClientCert() cert: ClientCert`. On a route ClientCertGuard does not guard
 * there is no certificate: a 500 CONFIG_INVALID (a wiring mistake), never an `undefined` user.
 */
export const ClientCert = createParamDecorator((_data: unknown, context: ExecutionContext): ClientCert => {
  const request = context.switchToHttp().getRequest<{ clientCert?: ClientCert }>();
  const cert = request?.clientCert;
  if (cert === undefined) {
    throw refusalError('CONFIG_INVALID', '@ClientCert() on a route that ClientCertGuard does not guard');
  }
  return cert;
});
