/**
 * One Nest application for the NestJS tests, on the Express or the Fastify platform. Imports no
 * test framework: test/helpers/nest10-child.ts runs it under Nest 10 in a child process.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import {
  Catch,
  Controller,
  Get,
  Module,
  UseGuards,
  type ArgumentsHost,
  type DynamicModule,
  type ExceptionFilter,
  type HttpServer,
  type INestApplication,
  type LoggerService,
  type Provider,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, HttpAdapterHost, NestFactory } from '@nestjs/core';
import { byCommonName } from '../../src/index.js';
import {
  CertgateExceptionFilter,
  ClientCert,
  ClientCertGuard,
  RequireClientCert,
  SkipClientCert,
  type CertgateModuleOptions,
} from '../../src/adapters/nestjs.js';

export const USERS = byCommonName({
  alice: { user: 'alice', roles: ['customer'] },
  bob: { user: 'bob', roles: ['auditor'] },
  mallory: { user: 'mallory', roles: ['customer'] },
  eve: { user: 'eve', roles: ['customer'] },
});

@Controller('banking')
@UseGuards(ClientCertGuard)
class BankingController {
  @Get('accounts')
  @RequireClientCert({ roles: ['customer'] })
  accounts(@ClientCert() cert: ClientCert) {
    return { user: cert.user };
  }

  /** No @RequireClientCert: the guard still wants a verified certificate (and forRoot's roles). */
  @Get('profile')
  profile(@ClientCert() cert: ClientCert) {
    return { user: cert.user, roles: cert.roles, cn: cert.certificate.subject.CN, source: cert.source };
  }
}

/** Class-level roles, a handler's own roles (the handler wins), and a public handler. */
@Controller('audit')
@UseGuards(ClientCertGuard)
@RequireClientCert({ roles: ['auditor'] })
class AuditController {
  @Get('log')
  log(@ClientCert() cert: ClientCert) {
    return { user: cert.user, entries: 3 };
  }

  @Get('own')
  @RequireClientCert({ roles: ['customer'] })
  own(@ClientCert() cert: ClientCert) {
    return { user: cert.user };
  }

  @Get('open')
  @SkipClientCert()
  open() {
    return { page: 'open' };
  }
}

/** @RequireClientCert() without @UseGuards: the decorator applies the guard itself. */
@Controller('lone')
class LoneController {
  @Get()
  @RequireClientCert()
  lone() {
    return { page: 'lone' };
  }
}

@Controller('public')
class PublicController {
  @Get()
  index() {
    return { page: 'public' };
  }

  /** @ClientCert() without the guard: a wiring mistake, answered 500 CONFIG_INVALID. */
  @Get('miswired')
  miswired(@ClientCert() cert: ClientCert) {
    return { user: cert.user };
  }

  @Get('boom')
  boom() {
    throw new Error('boom: the application failed');
  }
}

/** An application's own catch-all filter: 418 and what it caught, to tell who answered. */
@Catch()
export class AppCatchAll implements ExceptionFilter {
  constructor(private readonly adapter: HttpServer) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const e = err as { name?: string; code?: string };
    const body = { caughtBy: 'app', name: e?.name, code: e?.code };
    this.adapter.reply(host.switchToHttp().getResponse(), body, 418);
  }
}

export type Platform = 'express' | 'fastify';

export interface NestAppOptions {
  platform: Platform;
  /** PEM text of the server's certificate, key and client CAs. */
  tls: { cert: string | Buffer; key: string | Buffer; ca: string | Buffer };
  /** CertgateModule.forRoot(...) or forRootAsync(...). */
  certgate: DynamicModule;
  /**
   * The app's catch-all filter by app.useGlobalFilters(); 'then-certgate': followed by certgate's
   * (the last one given is asked first).
   */
  globalFilter?: boolean | 'then-certgate';
  /** The app's catch-all filter as an APP_FILTER provider of the root module. */
  appFilter?: boolean;
  /** Nest's logger; default none. */
  logger?: LoggerService;
  /** ClientCertGuard as a global guard (APP_GUARD) of the root module. */
  globalGuard?: boolean;
  /** Fastify only: HTTP/2 with HTTP/1.1 fallback (ALPN). */
  http2?: boolean;
}

export interface RunningNestApp {
  app: INestApplication;
  port: number;
  close(): Promise<void>;
}

function rootModule(certgate: DynamicModule, providers: Provider[]) {
  @Module({
    imports: [certgate],
    controllers: [BankingController, AuditController, LoneController, PublicController],
    providers,
  })
  class AppModule {}
  return AppModule;
}

async function createApp(options: NestAppOptions, module: unknown): Promise<INestApplication> {
  // Ask every client for a certificate; the guard decides (public routes stay reachable without one).
  const https = { ...options.tls, requestCert: true, rejectUnauthorized: false };
  // abortOnError false: a configuration error rejects here instead of exiting the process.
  const nestOptions = { logger: options.logger ?? (false as const), abortOnError: false };
  if (options.platform === 'express') {
    return NestFactory.create(module as never, { ...nestOptions, httpsOptions: https });
  }
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  const adapter = options.http2
    ? new FastifyAdapter({ http2: true, https: { ...https, allowHTTP1: true } })
    : new FastifyAdapter({ https });
  return NestFactory.create(module as never, adapter as never, nestOptions);
}

export async function startNestApp(options: NestAppOptions): Promise<RunningNestApp> {
  const providers: Provider[] = [];
  if (options.appFilter) {
    const useFactory = (h: HttpAdapterHost) => new AppCatchAll(h.httpAdapter);
    providers.push({ provide: APP_FILTER, inject: [HttpAdapterHost], useFactory });
  }
  if (options.globalGuard) providers.push({ provide: APP_GUARD, useClass: ClientCertGuard });
  const app = await createApp(options, rootModule(options.certgate, providers));
  if (options.globalFilter) app.useGlobalFilters(new AppCatchAll(app.getHttpAdapter()));
  if (options.globalFilter === 'then-certgate')
    app.useGlobalFilters(new CertgateExceptionFilter(app.get(HttpAdapterHost)));
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return { app, port, close: () => app.close() };
}

/** The module options most apps here use: the dev PKI's CA and CRL, users by common name. */
export function bankingOptions(
  pki: { ca: string | Buffer; crl: string | Buffer },
  more: CertgateModuleOptions = {},
): CertgateModuleOptions {
  return { ca: pki.ca, crl: pki.crl, identify: USERS, ...more };
}
