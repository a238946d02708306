/**
 * The option-name lists that reject unknown options at run time must name exactly the keys of the
 * option types: an option added to an interface but not to its list would be refused as "unknown",
 * and a name left in a list after its option is gone would be accepted and ignored.
 */
import { expectTypeOf } from 'vitest';
import type { AdapterOptions } from '../../src/adapters/options.js';
import type { GUARD_OPTION_NAMES, GuardOptions } from '../../src/guard/guard.js';
import type { PROXY_OPTION_NAMES, ProxyOptions } from '../../src/guard/proxy-options.js';
import type {
  CRL_OPTION_NAMES,
  CrlOptions,
  OCSP_OPTION_NAMES,
  OcspOptions,
  VERIFIER_OPTION_NAMES,
  VerifierOptions,
} from '../../src/verifier/options.js';

expectTypeOf<(typeof VERIFIER_OPTION_NAMES)[number]>().toEqualTypeOf<keyof VerifierOptions>();
expectTypeOf<(typeof CRL_OPTION_NAMES)[number]>().toEqualTypeOf<keyof CrlOptions>();
expectTypeOf<(typeof OCSP_OPTION_NAMES)[number]>().toEqualTypeOf<keyof OcspOptions>();
// The guard's own options, on top of the verifier's.
expectTypeOf<(typeof GUARD_OPTION_NAMES)[number]>().toEqualTypeOf<Exclude<keyof GuardOptions, keyof VerifierOptions>>();
// The adapters take the guard's options plus these two, which adapterSetup() handles itself.
expectTypeOf<Exclude<keyof AdapterOptions, keyof GuardOptions>>().toEqualTypeOf<'forwardErrors' | 'onReject'>();
// The `proxy` option's own keys (issue 9).
expectTypeOf<(typeof PROXY_OPTION_NAMES)[number]>().toEqualTypeOf<keyof ProxyOptions>();
