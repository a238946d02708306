/**
 * Type tests of the 0.2 API changes from issue 8 (checked by `npm run typecheck`):
 *   1. VerifyFailure has `detail: string` (operator text); `message` is the client-safe text,
 *      as on CertgateError.
 *   2. Results and CertificateInfo are readonly in the declarations (certificateInfo() also
 *      freezes them at run time).
 */
import type { ParameterizedContext } from 'koa';
import { expectTypeOf } from 'vitest';
import type { CertificateInfo, VerifyFailure, VerifySuccess } from 'certgate';
import type { ClientCert } from 'certgate/express';

declare const failure: VerifyFailure;
declare const success: VerifySuccess;
declare const info: CertificateInfo;
declare const clientCert: ClientCert;

// 1. LEAD, PLEASE CONFIRM: `detail` on failures, a string (not optional), beside `message`.
expectTypeOf<VerifyFailure>().toHaveProperty('detail');
expectTypeOf(failure.detail).toEqualTypeOf<string>();
expectTypeOf(failure.message).toEqualTypeOf<string>();

// 2. Readonly: every assignment below must be a compile error (an unused @ts-expect-error fails).
// @ts-expect-error readonly
success.ok = true;
// @ts-expect-error readonly
success.certificate = info;
// @ts-expect-error readonly
success.chain = [];
// @ts-expect-error readonly
success.expiresAt = new Date();
// @ts-expect-error readonly
failure.ok = false;
// @ts-expect-error readonly
failure.code = 'CERT_REVOKED';
// @ts-expect-error readonly
failure.message = '';
// @ts-expect-error readonly
failure.detail = '';

// @ts-expect-error readonly
info.subject = {};
// @ts-expect-error readonly
info.issuer = {};
// @ts-expect-error readonly
info.subjectDN = '';
// @ts-expect-error readonly
info.issuerDN = '';
// @ts-expect-error readonly
info.san = { dns: [], email: [], uri: [], ip: [] };
// @ts-expect-error readonly
info.serialNumber = '';
// @ts-expect-error readonly
info.fingerprint256 = '';
// @ts-expect-error readonly
info.notBefore = new Date();
// @ts-expect-error readonly
info.notAfter = new Date();
// @ts-expect-error readonly
info.raw = Buffer.alloc(0);
// Nested values are frozen at run time too: their types say so.
// @ts-expect-error readonly
info.san.dns = [];
// @ts-expect-error readonly array
info.san.dns.push('x');
// @ts-expect-error readonly
info.subject.CN = 'mallory';
expectTypeOf(info.san.dns).toEqualTypeOf<readonly string[]>();

// What the adapters hand to the application (req.clientCert, ctx.state.clientCert).
// @ts-expect-error readonly
clientCert.user = 'mallory';
// @ts-expect-error readonly
clientCert.roles = ['admin'];
// @ts-expect-error readonly
clientCert.certificate = info;
// @ts-expect-error readonly
clientCert.chain = [];
declare const ctx: ParameterizedContext<{ clientCert: ClientCert }>;
// @ts-expect-error readonly
ctx.state.clientCert.user = 'mallory';
