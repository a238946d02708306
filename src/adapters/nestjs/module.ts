import { Module, type DynamicModule, type FactoryProvider, type ModuleMetadata, type Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { configError } from '../../verifier/options.js';
import { createCore, type CertgateCore, type CertgateModuleOptions } from './core.js';
import { CertgateExceptionFilter } from './filter.js';
import { CERTGATE_CORE, ClientCertGuard } from './guard.js';

/** `CertgateModule.forRootAsync()`: the options from a factory, e.g. one that reads ConfigService. */
export interface CertgateModuleAsyncOptions {
  /** Modules whose providers the factory injects (e.g. ConfigModule). */
  imports?: ModuleMetadata['imports'];
  /** Tokens of the factory's arguments, in order (explicit: no decorator metadata is needed). */
  inject?: FactoryProvider['inject'];
  useFactory: (...args: never[]) => CertgateModuleOptions | Promise<CertgateModuleOptions>;
  /**
   * Decided here, not by the factory: whether certgate registers its exception filter is known
   * before any provider runs. See {@link CertgateModuleOptions}.
   */
  forwardErrors?: boolean;
}

function moduleOf(core: Provider, forwardErrors: boolean, imports: ModuleMetadata['imports'] = []): DynamicModule {
  const filter: Provider[] = forwardErrors ? [] : [{ provide: APP_FILTER, useClass: CertgateExceptionFilter }];
  return {
    module: CertgateModule,
    // Global: ClientCertGuard works in any module's @UseGuards once the root module imports this.
    global: true,
    imports,
    providers: [core, ClientCertGuard, ...filter],
    exports: [CERTGATE_CORE, ClientCertGuard],
  };
}

/**
 * Client-certificate authentication for a Nest application (Express or Fastify platform, Nest 10
 * and 11). Import once, in the root module; then `@UseGuards(ClientCertGuard)`,
 * `@RequireClientCert({ roles })` and `@ClientCert()` anywhere.
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: Nest modules are classes; forRoot() is its convention.
export class CertgateModule {
  /** Options are checked here: a mistake stops the application's start, naming the option. */
  static forRoot(options: CertgateModuleOptions = {}): DynamicModule {
    const core = createCore(options, 'CertgateModule.forRoot');
    return moduleOf({ provide: CERTGATE_CORE, useValue: core }, core.forwardErrors);
  }

  /** Options from a factory: checked when Nest creates the module (NestFactory.create rejects). */
  static forRootAsync(options: CertgateModuleAsyncOptions): DynamicModule {
    const where = 'CertgateModule.forRootAsync';
    if (typeof options?.useFactory !== 'function') throw configError(where, `option 'useFactory' must be a function`);
    const { useFactory, inject = [], imports, forwardErrors = false } = options;
    if (typeof forwardErrors !== 'boolean') {
      throw configError(where, `option 'forwardErrors' must be a boolean, got ${typeof forwardErrors}`);
    }
    const core: Provider = {
      provide: CERTGATE_CORE,
      inject,
      useFactory: async (...args: never[]): Promise<CertgateCore> => {
        const given = await useFactory(...args);
        if (given?.forwardErrors !== undefined) {
          throw configError(where, `option 'forwardErrors' goes beside 'useFactory', not in what it returns`);
        }
        return createCore(given, where);
      },
    };
    return moduleOf(core, forwardErrors, imports);
  }
}
