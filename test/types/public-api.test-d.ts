/**
 * Type tests of the public API, as a user imports it (`certgate`, `certgate/express`,
 * `certgate/koa`). Never run: `npm run typecheck` (tsc -p ., part of `npm test`) checks them, so a
 * failing expectation is a compile error. The emitted declarations themselves are checked by the
 * TypeScript consumer in test/package.test.ts.
 */
import type { Application, Request as ExpressRequest } from 'express';
import type Koa from 'koa';
import type { ParameterizedContext } from 'koa';
import { expectTypeOf } from 'vitest';
import {
  type CertificateInfo,
  CertgateError,
  createVerifier,
  REASON_CODES,
  type ReasonCode,
  statusFor,
  type Verifier,
  type VerifierOptions,
  type VerifyFailure,
  type VerifyFailureCode,
  type VerifyResult,
  type VerifySuccess,
} from 'certgate';
import {
  type ClientCert,
  requireClientCert as expressGuard,
  type RequireClientCertOptions as ExpressOptions,
} from 'certgate/express';
import {
  type ClientCertState,
  requireClientCert as koaGuard,
  type RequireClientCertOptions as KoaOptions,
} from 'certgate/koa';

/**
 * For calls that must or must not compile: excess-property checks apply to a direct call, not to
 * expectTypeOf().toBeCallableWith() (its arguments are inferred). Never invoked: nothing here runs.
 */
const compiles = (_call: () => unknown): void => {};

// createVerifier: options in, a Verifier out; `ca` is the one required option.
expectTypeOf(createVerifier).parameters.toEqualTypeOf<[VerifierOptions]>();
expectTypeOf(createVerifier).returns.toEqualTypeOf<Verifier>();
expectTypeOf(createVerifier).toBeCallableWith({ ca: 'PEM' });
expectTypeOf(createVerifier).toBeCallableWith({
  ca: [Buffer.alloc(0)],
  intermediates: 'PEM',
  crl: { files: ['crl.pem'], urls: ['https://example.test/crl'], whenUnavailable: 'allow' },
  ocsp: { urls: ['http://ocsp.example.test'], timeoutMs: 1000 },
  purpose: false,
  clockTolerance: 5,
  clock: { now: () => 0 },
});
// @ts-expect-error `ca` is required
expectTypeOf(createVerifier).toBeCallableWith({});
// @ts-expect-error unknown options are compile errors too (and CONFIG_INVALID at run time)
compiles(() => createVerifier({ ca: 'PEM', bogus: true }));
// @ts-expect-error unknown CRL option
compiles(() => createVerifier({ ca: 'PEM', crl: { files: [], bogus: true } }));
// @ts-expect-error unknown OCSP option
compiles(() => createVerifier({ ca: 'PEM', ocsp: { bogus: true } }));
// @ts-expect-error whenUnavailable is 'reject' | 'allow'
expectTypeOf(createVerifier).toBeCallableWith({ ca: 'PEM', crl: { whenUnavailable: 'maybe' } });
expectTypeOf<Verifier['verify']>().returns.toEqualTypeOf<Promise<VerifyResult>>();

// VerifyResult: a union discriminated by `ok`.
expectTypeOf<VerifyResult>().toEqualTypeOf<VerifySuccess | VerifyFailure>();
declare const result: VerifyResult;
if (result.ok) {
  expectTypeOf(result).toEqualTypeOf<VerifySuccess>();
  expectTypeOf(result.certificate).toEqualTypeOf<CertificateInfo>();
  expectTypeOf(result.chain).toEqualTypeOf<readonly CertificateInfo[]>();
  expectTypeOf(result.expiresAt).toEqualTypeOf<Date>();
  expectTypeOf(result).not.toHaveProperty('code');
} else {
  expectTypeOf(result).toEqualTypeOf<VerifyFailure>();
  expectTypeOf(result.code).toEqualTypeOf<VerifyFailureCode>();
  expectTypeOf(result.message).toEqualTypeOf<string>();
  expectTypeOf(result).not.toHaveProperty('certificate');
}

// Reason codes: public API, never renamed (README "Reason codes"); new ones may be added.
type DocumentedCode =
  | 'CERT_MISSING'
  | 'CERT_UNTRUSTED'
  | 'CERT_SIGNATURE_INVALID'
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'CERT_REVOKED'
  | 'CERT_PURPOSE_INVALID'
  | 'CERT_ISSUER_NOT_CA'
  | 'CERT_MALFORMED'
  | 'CERT_EXTENSION_UNSUPPORTED'
  | 'CERT_ALGORITHM_UNSUPPORTED'
  | 'REVOCATION_UNKNOWN'
  | 'IDENTITY_UNKNOWN'
  | 'ROLE_FORBIDDEN'
  | 'CONFIG_INVALID';
expectTypeOf<keyof typeof REASON_CODES>().toEqualTypeOf<ReasonCode>();
expectTypeOf<DocumentedCode>().toExtend<ReasonCode>();
expectTypeOf(REASON_CODES).toExtend<Readonly<Record<ReasonCode, number>>>();
expectTypeOf(REASON_CODES.CERT_REVOKED).toEqualTypeOf<401>();
expectTypeOf(REASON_CODES.IDENTITY_UNKNOWN).toEqualTypeOf<403>();
expectTypeOf(REASON_CODES.REVOCATION_UNKNOWN).toEqualTypeOf<503>();
expectTypeOf(REASON_CODES.CONFIG_INVALID).toEqualTypeOf<500>();
expectTypeOf(statusFor).parameters.toEqualTypeOf<[ReasonCode]>();
// A verification fails with a certificate code, never with an identity, role or config code.
expectTypeOf<VerifyFailureCode>().toExtend<ReasonCode>();
expectTypeOf<Extract<VerifyFailureCode, 'IDENTITY_UNKNOWN' | 'ROLE_FORBIDDEN' | 'CONFIG_INVALID'>>().toBeNever();
expectTypeOf<
  Exclude<DocumentedCode, 'IDENTITY_UNKNOWN' | 'ROLE_FORBIDDEN' | 'CONFIG_INVALID'>
>().toExtend<VerifyFailureCode>();

// CertgateError: the one error class; `code` is a ReasonCode.
expectTypeOf<CertgateError>().toExtend<Error>();
expectTypeOf<CertgateError['code']>().toEqualTypeOf<ReasonCode>();
expectTypeOf<CertgateError['status']>().toEqualTypeOf<number>();
expectTypeOf<CertgateError['message']>().toEqualTypeOf<string>();
expectTypeOf<CertgateError['detail']>().toEqualTypeOf<string | undefined>();
expectTypeOf<CertgateError['expose']>().toEqualTypeOf<boolean>();
declare const thrown: unknown;
if (thrown instanceof CertgateError) expectTypeOf(thrown.code).toEqualTypeOf<ReasonCode>();

// CertificateInfo: the fields users read.
expectTypeOf<CertificateInfo['subjectDN']>().toEqualTypeOf<string>();
expectTypeOf<CertificateInfo['issuerDN']>().toEqualTypeOf<string>();
expectTypeOf<CertificateInfo['serialNumber']>().toEqualTypeOf<string>();
expectTypeOf<CertificateInfo['fingerprint256']>().toEqualTypeOf<string>();
expectTypeOf<CertificateInfo['notBefore']>().toEqualTypeOf<Date>();
expectTypeOf<CertificateInfo['notAfter']>().toEqualTypeOf<Date>();
expectTypeOf<CertificateInfo['raw']>().toEqualTypeOf<Buffer>();
expectTypeOf<CertificateInfo['subject']>().toExtend<Readonly<Record<string, string | readonly string[]>>>();
expectTypeOf<CertificateInfo['san']>().toHaveProperty('dns');
expectTypeOf<CertificateInfo['san']>().toHaveProperty('email');
expectTypeOf<CertificateInfo['san']>().toHaveProperty('uri');
expectTypeOf<CertificateInfo['san']>().toHaveProperty('ip');

// certgate/express: options optional; the middleware fits app.use(); req.clientCert is typed.
expectTypeOf(expressGuard).parameters.toEqualTypeOf<[options?: ExpressOptions]>();
expectTypeOf(expressGuard).toBeCallableWith();
expectTypeOf(expressGuard).toBeCallableWith({ ca: 'PEM', roles: ['teller'], forwardErrors: true });
expectTypeOf(expressGuard).toBeCallableWith({ verifier: createVerifier({ ca: 'PEM' }), onReject: () => {} });
// @ts-expect-error unknown option
compiles(() => expressGuard({ ca: 'PEM', bogus: true }));
// @ts-expect-error roles are strings
expectTypeOf(expressGuard).toBeCallableWith({ roles: [1] });
expectTypeOf<ExpressOptions>().toExtend<Partial<VerifierOptions>>();
declare const app: Application;
app.use('/banking', expressGuard({ roles: ['teller'] }));
app.get('/banking/me', expressGuard(), (req) => {
  expectTypeOf(req.clientCert).toEqualTypeOf<ClientCert | undefined>();
});
expectTypeOf<ExpressRequest['clientCert']>().toEqualTypeOf<ClientCert | undefined>();
expectTypeOf<ClientCert['user']>().toEqualTypeOf<string>();
expectTypeOf<ClientCert['roles']>().toEqualTypeOf<readonly string[]>();
expectTypeOf<ClientCert['certificate']>().toEqualTypeOf<CertificateInfo>();
expectTypeOf<ClientCert['chain']>().toEqualTypeOf<readonly CertificateInfo[]>();

// certgate/koa: the same options; the middleware fits app.use(); ctx.state.clientCert is typed.
expectTypeOf(koaGuard).parameters.toEqualTypeOf<[options?: KoaOptions]>();
expectTypeOf<KoaOptions>().toEqualTypeOf<ExpressOptions>();
expectTypeOf(koaGuard).toBeCallableWith({ ca: 'PEM', identify: () => ({ user: 'alice', roles: ['teller'] }) });
// @ts-expect-error unknown option
compiles(() => koaGuard({ roles: ['teller'], bogus: true }));
declare const koa: Koa<ClientCertState>;
koa.use(koaGuard({ roles: ['teller'] }));
koa.use((ctx: ParameterizedContext<ClientCertState>) => {
  expectTypeOf(ctx.state.clientCert).toEqualTypeOf<ClientCert>();
});
