import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ClientCert, GuardOutcome } from '../../guard/guard.js';
import type { RequestLike } from '../../sources/source.js';
import { notifyReject } from '../options.js';
import { CLIENT_CERT_RULE, withRoles, type CertgateCore, type RouteRule } from './core.js';

/**
 * The injection token of the module's {@link CertgateCore} (explicit: no decorator metadata is
 * emitted). Nest names a token it cannot resolve, so its description says what is missing;
 * Symbol.for: the ESM and the CommonJS build of certgate agree on it.
 */
export const CERTGATE_CORE = Symbol.for('certgate: import CertgateModule.forRoot() in the root module');

type FrameworkRequest = { clientCert?: ClientCert; raw?: unknown };

/** Express hands Nest Node's own request; Fastify wraps it (FastifyRequest.raw). */
function nodeRequest(request: FrameworkRequest): RequestLike {
  const raw = request.raw;
  return (typeof raw === 'object' && raw !== null && 'socket' in raw ? raw : request) as RequestLike;
}

/**
 * `@UseGuards(ClientCertGuard)` on a controller or handler, or a global guard (APP_GUARD): the route
 * runs only for a verified client certificate whose user holds a required role. Refusals are
 * thrown as CertgateError; certgate's exception filter answers them with problem+json.
 */
@Injectable()
export class ClientCertGuard implements CanActivate {
  constructor(
    @Inject(CERTGATE_CORE) private readonly core: CertgateCore,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<RouteRule | undefined>(CLIENT_CERT_RULE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (rule?.skip) return true;
    // A WebSocket or microservice message has no TLS client certificate here: closed, not open,
    // and refused the way Nest refuses there (a guard's `false`: its Forbidden, WsException or
    // RpcException), not with an HTTP answer certgate's filter could not give.
    if (context.getType() !== 'http') return false;
    const request = context.switchToHttp().getRequest<FrameworkRequest>();
    const roles = rule?.roles ?? this.core.roles;
    const raw = nodeRequest(request);
    // Fast path: a connection already decided answers without a promise.
    const known = this.core.guard.cached(raw);
    if (known) return this.settle(known, roles, request);
    return this.core.guard.check(raw).then((outcome) => this.settle(outcome, roles, request));
  }

  private settle(outcome: GuardOutcome, roles: readonly string[] | undefined, request: FrameworkRequest): true {
    const decided = withRoles(outcome, roles);
    if (!decided.ok) {
      notifyReject(this.core.onReject, decided.error);
      throw decided.error;
    }
    request.clientCert = decided.clientCert;
    return true;
  }
}
