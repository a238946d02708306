/** Type-level contract of issue 13's public API: the policies option, verdict policies, identify's second argument. */
import { expectTypeOf } from 'vitest';
import {
  createVerifier,
  type ClientCert,
  type IdentifyFunction,
  type PoliciesOption,
  type VerifiedPath,
  type VerifySuccess,
} from 'certgate';

expectTypeOf<PoliciesOption>().toEqualTypeOf<{
  initial?: string[];
  requireExplicit?: boolean;
  inhibitMapping?: boolean;
  inhibitAnyPolicy?: boolean;
}>();
expectTypeOf<VerifySuccess['policies']>().toEqualTypeOf<readonly string[]>();
expectTypeOf<ClientCert['policies']>().toEqualTypeOf<readonly string[]>();
expectTypeOf<VerifiedPath['policies']>().toEqualTypeOf<readonly string[]>();
expectTypeOf<Parameters<IdentifyFunction>[1]>().toEqualTypeOf<VerifiedPath>();

createVerifier({ ca: '', policies: { initial: ['2.16.840.1.101.3.2.1.48.1'], requireExplicit: true } });
// @ts-expect-error: initial is a list of OIDs
createVerifier({ ca: '', policies: { initial: '2.16.840.1.101.3.2.1.48.1' } });
