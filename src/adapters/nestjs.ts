/**
 * certgate for NestJS 10 and 11 (`certgate/nestjs`): a global module, a guard, route decorators and
 * an exception filter, on the Express and the Fastify platforms. The only entry that imports Nest.
 */
export { CertgateModule, type CertgateModuleAsyncOptions } from './nestjs/module.js';
export type { CertgateModuleOptions } from './nestjs/core.js';
export { ClientCertGuard } from './nestjs/guard.js';
export { CertgateExceptionFilter } from './nestjs/filter.js';
export {
  ClientCert,
  RequireClientCert,
  SkipClientCert,
  type RequireClientCertOptions,
} from './nestjs/decorators.js';
