/**
 * Type tests of the `proxy` guard option from issue 9 (behind a TLS-terminating proxy), as a user
 * imports it. Never run: `npm run typecheck` checks them, so a failing expectation or an unused
 * @ts-expect-error is a compile error.
 */
import type { ParameterizedContext } from 'koa';
import { expectTypeOf } from 'vitest';
import {
  type CertificateOrigin,
  type ClientCert as CoreClientCert,
  clientCertGuard,
  createVerifier,
  type GuardOptions,
  type ProxyFormat,
  type ProxyHeaderIgnored,
  type ProxyOptions,
  type ProxyTrust,
} from 'certgate';
import { type ClientCert, requireClientCert as expressGuard } from 'certgate/express';
import { type ClientCertState, requireClientCert as koaGuard } from 'certgate/koa';

/** For calls that must or must not compile (excess-property checks apply to a direct call). Never invoked. */
const compiles = (_call: () => unknown): void => {};

// Where the certificate came from: the request's own TLS connection, or a trusted proxy's header.
expectTypeOf<ClientCert['source']>().toEqualTypeOf<'tls' | 'proxy'>();
expectTypeOf<CoreClientCert['source']>().toEqualTypeOf<'tls' | 'proxy'>();
expectTypeOf<CertificateOrigin>().toEqualTypeOf<'tls' | 'proxy'>();
declare const clientCert: ClientCert;
// @ts-expect-error readonly
clientCert.source = 'tls';

// The formats: a literal union, exactly the table.
expectTypeOf<ProxyFormat>().toEqualTypeOf<
  'rfc9440' | 'xfcc' | 'nginx' | 'haproxy' | 'apache' | 'caddy' | 'traefik' | 'aws-alb' | 'azure'
>();
expectTypeOf<ProxyOptions['format']>().toEqualTypeOf<ProxyFormat>();
expectTypeOf<ProxyOptions['trust']>().toEqualTypeOf<ProxyTrust>();

// trust: a string (IP, CIDR or a proxy-addr name), a list of them, or a predicate on the peer address.
const withTrust = (trust: ProxyOptions['trust']): ProxyOptions => ({ trust, format: 'nginx' });
withTrust('loopback');
withTrust('linklocal');
withTrust('uniquelocal');
withTrust('10.0.0.1');
withTrust('10.0.0.0/8');
withTrust(['127.0.0.1', '::1', 'uniquelocal']);
withTrust(['10.0.0.0/8'] as const);
withTrust((addr: string) => addr === '10.0.0.1');
withTrust((addr) => {
  expectTypeOf(addr).toEqualTypeOf<string>();
  return addr.startsWith('10.');
});
expectTypeOf<string>().toExtend<ProxyTrust>();
expectTypeOf<readonly string[]>().toExtend<ProxyTrust>();
expectTypeOf<(addr: string) => boolean>().toExtend<ProxyTrust>();
// @ts-expect-error a number is no address
withTrust(10);
// @ts-expect-error a list of numbers neither
withTrust([10]);
// @ts-expect-error the predicate answers a boolean
withTrust((addr: string) => addr);
// @ts-expect-error the predicate gets the address as a string
withTrust((addr: number) => addr > 0);

// format and trust are required; header, chainHeader and the event are optional.
const every: ProxyOptions = {
  trust: ['10.0.0.0/8'],
  format: 'haproxy',
  header: 'x-ssl-client-cert',
  chainHeader: 'x-ssl-client-chain',
  onHeaderIgnored: (event) => {
    expectTypeOf(event).toEqualTypeOf<ProxyHeaderIgnored>();
    expectTypeOf(event.peer).toEqualTypeOf<string>();
    expectTypeOf(event.header).toEqualTypeOf<string>();
  },
};
expectTypeOf(every).toExtend<GuardOptions['proxy']>();
for (const format of [
  'rfc9440',
  'xfcc',
  'nginx',
  'haproxy',
  'apache',
  'caddy',
  'traefik',
  'aws-alb',
  'azure',
] as const) {
  expectTypeOf({ trust: 'loopback', format }).toExtend<ProxyOptions>();
}
// @ts-expect-error a wrong format
compiles(() => expressGuard({ ca: 'PEM', proxy: { trust: 'loopback', format: 'envoy' } }));
// @ts-expect-error format names are lower case
compiles(() => koaGuard({ ca: 'PEM', proxy: { trust: 'loopback', format: 'NGINX' } }));
// @ts-expect-error a format given as any string
compiles(() => expressGuard({ ca: 'PEM', proxy: { trust: 'loopback', format: 'nginx' as string } }));
// @ts-expect-error format is required
compiles(() => expressGuard({ ca: 'PEM', proxy: { trust: 'loopback' } }));
// @ts-expect-error trust is required
compiles(() => koaGuard({ ca: 'PEM', proxy: { format: 'nginx' } }));
// @ts-expect-error unknown proxy option (also CONFIG_INVALID at run time)
compiles(() => expressGuard({ ca: 'PEM', proxy: { trust: 'loopback', format: 'nginx', verified: true } }));
// @ts-expect-error header names are strings
compiles(() => expressGuard({ ca: 'PEM', proxy: { trust: 'loopback', format: 'nginx', header: 1 } }));

// The option compiles for every adapter, and for the framework-free guard.
compiles(() => expressGuard({ ca: 'PEM', proxy: { trust: 'loopback', format: 'nginx' } }));
compiles(() => koaGuard({ ca: 'PEM', proxy: { trust: 'loopback', format: 'nginx' } }));
compiles(() => clientCertGuard({ ca: 'PEM', proxy: { trust: 'loopback', format: 'nginx' } }));
compiles(() =>
  expressGuard({
    ca: 'PEM',
    intermediates: 'PEM',
    crl: { urls: ['http://crl.example.test/intermediate.crl'] },
    roles: ['teller'],
    proxy: { trust: ['10.0.0.0/8'], format: 'xfcc', onHeaderIgnored: () => {} },
  }),
);
compiles(() =>
  koaGuard({
    verifier: createVerifier({ ca: 'PEM' }),
    proxy: { trust: (addr) => addr === '10.0.0.1', format: 'rfc9440', chainHeader: 'client-cert-chain' },
  }),
);
declare const koaCtx: ParameterizedContext<ClientCertState>;
expectTypeOf(koaCtx.state.clientCert.source).toEqualTypeOf<CertificateOrigin>();
