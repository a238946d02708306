import {
  applyDecorators,
  createParamDecorator,
  SetMetadata,
  UseGuards,
  type CustomDecorator,
  type ExecutionContext,
} from '@nestjs/common';
import type { ClientCert as VerifiedClientCert } from '../../guard/guard.js';
import { CLIENT_CERT_RULE, parseRoles, refusalError, type RouteRule } from './core.js';
import { ClientCertGuard } from './guard.js';

export interface RequireClientCertOptions {
  /** The user must hold one of these roles: replaces forRoot's `roles` for this route or controller. */
  roles?: readonly string[];
}

/**
 * On a handler or a controller class (the handler's wins): the route needs a verified client
 * certificate whose user holds one of `roles` (default: forRoot's `roles`). It applies
 * ClientCertGuard itself, so a route that asks for a certificate is never left open because
 * `@UseGuards(ClientCertGuard)` was forgotten (under a guard already there, the second run is a
 * cache hit of the same connection's verdict).
 */
export function RequireClientCert(options: RequireClientCertOptions = {}): ReturnType<typeof applyDecorators> {
  const roles = parseRoles(options?.roles, 'RequireClientCert');
  const rule: RouteRule = Object.freeze(roles ? { roles } : {});
  return applyDecorators(SetMetadata(CLIENT_CERT_RULE, rule), UseGuards(ClientCertGuard));
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
