/**
 * Type tests of TLS strength (issue 12): `tlsOptions()` for Node's secure servers, the guard's
 * `tls` option, `clientCert.tls`. Never run: `npm run typecheck` checks them.
 */
import type http2 from 'node:http2';
import type https from 'node:https';
import { expectTypeOf } from 'vitest';
import {
  type ClientCert as CoreClientCert,
  clientCertGuard,
  type GuardOptions,
  type MutualTlsServerOptions,
  type NegotiatedTls,
  type TlsOptionsInput,
  tlsOptions,
  type TlsRuleOptions,
} from 'certgate';
import { type ClientCert, requireClientCert as expressGuard } from 'certgate/express';
import { requireClientCert as koaGuard } from 'certgate/koa';

/** For calls that must or must not compile (excess-property checks apply to a direct call). Never invoked. */
const compiles = (_call: () => unknown): void => {};

declare const pem: Buffer;
const options = tlsOptions({ key: pem, cert: pem, ca: [pem, 'PEM'], crl: pem, minVersion: 'TLSv1.3' });
expectTypeOf(options).toEqualTypeOf<MutualTlsServerOptions>();
expectTypeOf(options).toMatchTypeOf<https.ServerOptions>();
expectTypeOf(options).toMatchTypeOf<http2.SecureServerOptions>();
expectTypeOf<MutualTlsServerOptions['requestCert']>().toEqualTypeOf<true>();
expectTypeOf<MutualTlsServerOptions['rejectUnauthorized']>().toEqualTypeOf<false>();
compiles(
  () => ({ ...tlsOptions({ key: pem, cert: pem, ca: pem }), allowHTTP1: true }) satisfies http2.SecureServerOptions,
);
expectTypeOf<TlsOptionsInput['minVersion']>().toEqualTypeOf<'TLSv1.2' | 'TLSv1.3' | undefined>();
// @ts-expect-error below RFC 9325's floor
compiles(() => tlsOptions({ key: pem, cert: pem, ca: pem, minVersion: 'TLSv1.1' }));
// @ts-expect-error ca is required: the client CAs are the point of a mutual-TLS server
compiles(() => tlsOptions({ key: pem, cert: pem }));
// @ts-expect-error no pass-through: spread the result instead
compiles(() => tlsOptions({ key: pem, cert: pem, ca: pem, sessionTimeout: 300 }));

// The guard's tls option, on every adapter.
expectTypeOf<GuardOptions['tls']>().toEqualTypeOf<TlsRuleOptions | undefined>();
compiles(() => clientCertGuard({ tls: { minVersion: 'TLSv1.3' } }));
compiles(() => expressGuard({ tls: { minCipherBits: 256 } }));
compiles(() => koaGuard({ tls: {} }));
// @ts-expect-error minVersion is one of two values
compiles(() => clientCertGuard({ tls: { minVersion: 'TLSv1.1' } }));
// @ts-expect-error minCipherBits is a number
compiles(() => clientCertGuard({ tls: { minCipherBits: '128' } }));

// clientCert.tls: undefined for forwarded certificates.
expectTypeOf<ClientCert['tls']>().toEqualTypeOf<NegotiatedTls | undefined>();
expectTypeOf<CoreClientCert['tls']>().toEqualTypeOf<NegotiatedTls | undefined>();
declare const clientCert: ClientCert;
expectTypeOf(clientCert.tls?.bits).toEqualTypeOf<number | undefined>();
expectTypeOf<NegotiatedTls>().toEqualTypeOf<{
  readonly protocol: string;
  readonly cipher: string;
  readonly bits: number;
}>();
if (clientCert.tls) {
  // @ts-expect-error readonly
  clientCert.tls.bits = 256;
}
