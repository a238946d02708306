import type { PublicKeyInfo } from './certificate.js';

/** RSA keys shorter than this are refused (NIST SP 800-131A; CA/Browser Forum BR 6.1.5). */
export const MIN_RSA_BITS = 2048;

/** Even legacy PKIs get no DSA below this (FIPS 186-2's largest size, what old PKIs used). */
export const MIN_LEGACY_DSA_BITS = 1024;

/** The NIST curves certgate accepts for ECDSA keys, by OID. */
export const ACCEPTED_CURVES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};

/**
 * The key-strength floor every certificate in a path must meet, anchors included: a weak key
 * anywhere lets someone forge what sits below it. Returns why a key is refused, or undefined.
 */
export function keyPolicyViolation(key: PublicKeyInfo, legacyAlgorithms: boolean): string | undefined {
  switch (key.type) {
    case 'rsa':
    case 'rsa-pss':
      if (key.bits === undefined) return 'malformed RSA key';
      if (key.bits < MIN_RSA_BITS) return `${key.bits}-bit RSA key (at least ${MIN_RSA_BITS} bits are required)`;
      if (key.bits % 8 !== 0) return `${key.bits}-bit RSA key (the modulus length must be a multiple of 8)`;
      return undefined;
    case 'ec':
      // RFC 5480 section 2.1.1: only named curves; explicit parameters hide what the curve is.
      if (key.explicitCurve) return 'EC key with explicit curve parameters (only named curves are accepted)';
      return key.curve && ACCEPTED_CURVES[key.curve]
        ? undefined
        : `EC key on an unsupported curve ${key.curve ?? ''}`.trimEnd();
    case 'ed25519':
    case 'ed448':
      return undefined;
    case 'dsa':
      if (!legacyAlgorithms) return 'DSA key (accepted only with legacyAlgorithms: true)';
      // A key without parameters inherits them from its issuer, whose own key is checked here too.
      return key.bits !== undefined && key.bits < MIN_LEGACY_DSA_BITS
        ? `${key.bits}-bit DSA key (at least ${MIN_LEGACY_DSA_BITS} bits even with legacyAlgorithms)`
        : undefined;
    default:
      return `key of unsupported type ${key.algorithm}`;
  }
}
