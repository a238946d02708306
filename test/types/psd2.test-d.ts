/**
 * Type tests of the PSD2 additions, as a user imports them. Never run: `npm run typecheck` checks
 * them, so a failing expectation is a compile error.
 */
import { expectTypeOf } from 'vitest';
import {
  byPsd2,
  type CertificateInfo,
  type IdentifyByCertificate,
  type IdentifyFunction,
  type Psd2Info,
  type Psd2Role,
  type Verifier,
  type VerifierEvents,
} from 'certgate';

expectTypeOf<Psd2Role>().toEqualTypeOf<'PSP_AS' | 'PSP_PI' | 'PSP_AI' | 'PSP_IC'>();
expectTypeOf<Psd2Info>().toEqualTypeOf<{
  readonly roles: readonly Psd2Role[];
  readonly ncaName: string;
  readonly ncaId: string;
}>();
expectTypeOf<CertificateInfo['psd2']>().toEqualTypeOf<Psd2Info | undefined>();
expectTypeOf<CertificateInfo['organizationIdentifier']>().toEqualTypeOf<string | undefined>();
expectTypeOf(byPsd2).parameters.toEqualTypeOf<[]>();
expectTypeOf(byPsd2()).toEqualTypeOf<IdentifyByCertificate>();
expectTypeOf(byPsd2()).toMatchTypeOf<IdentifyFunction>();
expectTypeOf<VerifierEvents['psd2-statement-ignored']>().toEqualTypeOf<{ subjectDN: string; reason: string }>();

declare const verifier: Verifier;
verifier.on('psd2-statement-ignored', (event) => {
  expectTypeOf(event.reason).toEqualTypeOf<string>();
});

declare const info: CertificateInfo;
// Frozen data: neither the roles nor the statement can be changed by a handler.
// @ts-expect-error readonly array
info.psd2?.roles.push('PSP_AI');
// @ts-expect-error readonly property
if (info.psd2) info.psd2.ncaId = 'XX';
// @ts-expect-error a role name outside ETSI TS 119 495's four
const role: Psd2Role = 'PSP_XX';
void role;
