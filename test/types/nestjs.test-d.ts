/**
 * Type tests of `certgate/nestjs` as a Nest application uses it. Never run: `npm run typecheck`
 * (tsc -p .) checks them, so a failing expectation is a compile error.
 */
import { Controller, type DynamicModule, Get, Module, UseGuards } from '@nestjs/common';
import { expectTypeOf } from 'vitest';
import type { CertgateError, CertificateInfo } from 'certgate';
import {
  type CertgateExceptionFilter,
  CertgateModule,
  type CertgateModuleOptions,
  ClientCert,
  ClientCertGuard,
  RequireClientCert,
  SkipClientCert,
} from 'certgate/nestjs';

declare const ca: Buffer;

@Controller('banking')
@UseGuards(ClientCertGuard)
@RequireClientCert({ roles: ['customer', 'auditor'] })
export class BankingController {
  @Get('accounts')
  @RequireClientCert({ roles: ['customer'] })
  accounts(@ClientCert() cert: ClientCert) {
    expectTypeOf(cert.user).toEqualTypeOf<string>();
    expectTypeOf(cert.roles).toEqualTypeOf<readonly string[]>();
    expectTypeOf(cert.certificate).toEqualTypeOf<CertificateInfo>();
    expectTypeOf(cert.chain).toEqualTypeOf<readonly CertificateInfo[]>();
    expectTypeOf(cert.source).toEqualTypeOf<'tls' | 'proxy'>();
    return { user: cert.user };
  }

  @Get('profile')
  @RequireClientCert()
  profile(@ClientCert() cert: ClientCert) {
    return cert.user;
  }

  @Get('open')
  @SkipClientCert()
  open() {
    return 'open';
  }

  // @ts-expect-error roles is an array of role names, not one name
  @RequireClientCert({ roles: 'customer' })
  @Get('wrong')
  wrong() {
    return 'never';
  }
}

// @ts-expect-error unknown option
RequireClientCert({ role: ['customer'] });

const root = CertgateModule.forRoot({ ca });
expectTypeOf(root).toEqualTypeOf<DynamicModule>();
expectTypeOf(CertgateModule.forRoot()).toEqualTypeOf<DynamicModule>();
expectTypeOf(
  CertgateModule.forRoot({ ca, crl: ca, roles: ['customer'], onReject: (e) => e.code }),
).toEqualTypeOf<DynamicModule>();
// @ts-expect-error roles is an array
CertgateModule.forRoot({ ca, roles: 'customer' });
// @ts-expect-error ca is PEM or DER, not a number
CertgateModule.forRoot({ ca: 42 });

expectTypeOf(
  CertgateModule.forRootAsync({
    inject: ['CONFIG'],
    useFactory: (config: { ca: Buffer }): CertgateModuleOptions => ({ ca: config.ca }),
  }),
).toEqualTypeOf<DynamicModule>();
// @ts-expect-error useFactory is required
CertgateModule.forRootAsync({ inject: [] });

@Module({ imports: [CertgateModule.forRoot({ ca })], controllers: [BankingController] })
export class AppModule {}

expectTypeOf<CertgateExceptionFilter['catch']>().parameter(0).toEqualTypeOf<CertgateError>();
