import type { PublicKeyInfo } from './certificate.js';

/** RSA keys shorter than this are refused (NIST SP 800-131A; CA/Browser Forum BR 6.1.5). */
export const MIN_RSA_BITS = 2048;

/**
 * RSA keys longer than this are refused (Go's crypto/tls limit, CVE-2023-29409): verification
 * cost grows with the cube of the modulus, and no public PKI issues longer keys.
 */
export const MAX_RSA_BITS = 8192;

/**
 * The largest RSA public exponent accepted (Go's crypto/rsa bound, 2^31 - 1). Verification costs
 * one modular squaring per exponent bit: a 3071-bit exponent makes one check ~18 ms.
 */
export const MAX_RSA_PUBLIC_EXPONENT = 2n ** 31n - 1n;

/** Even legacy PKIs get no DSA below this (FIPS 186-2's largest size, what old PKIs used). */
export const MIN_LEGACY_DSA_BITS = 1024;

/** Nor above this: FIPS 186-4's largest size (DSA verification cost grows with p). */
export const MAX_LEGACY_DSA_BITS = 3072;

/** The NIST curves certgate accepts for ECDSA keys, by OID. */
export const ACCEPTED_CURVES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};

function rsaViolation(key: PublicKeyInfo): string | undefined {
  const { bits, publicExponent: e, publicExponentBits: eBits } = key;
  if (bits === undefined || eBits === undefined) return 'malformed RSA key';
  if (bits < MIN_RSA_BITS) return `${bits}-bit RSA key (at least ${MIN_RSA_BITS} bits are required)`;
  if (bits > MAX_RSA_BITS) return `${bits}-bit RSA key (at most ${MAX_RSA_BITS} bits are accepted)`;
  if (bits % 8 !== 0) return `${bits}-bit RSA key (the modulus length must be a multiple of 8)`;
  // RFC 8017 section 3.1: 3 <= e < n; an even e has no inverse modulo lambda(n).
  if (e === undefined || e < 3n || e % 2n === 0n || e > MAX_RSA_PUBLIC_EXPONENT) {
    const shown = e === undefined || e > MAX_RSA_PUBLIC_EXPONENT ? `a ${eBits}-bit` : `the invalid (${e})`;
    return `RSA key with ${shown} public exponent (an odd value from 3 to 2^31-1 is required)`;
  }
  return undefined;
}

/**
 * The key-strength floor (and ceiling) every certificate in a path must meet, anchors included:
 * a weak key anywhere lets someone forge what sits below it, and an oversized one makes each
 * check a denial of service. Checked before a key is ever used. Returns why a key is refused.
 */
export function keyPolicyViolation(key: PublicKeyInfo, legacyAlgorithms: boolean): string | undefined {
  switch (key.type) {
    case 'rsa':
    case 'rsa-pss':
      return rsaViolation(key);
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
      if (key.bits !== undefined && key.bits < MIN_LEGACY_DSA_BITS)
        return `${key.bits}-bit DSA key (at least ${MIN_LEGACY_DSA_BITS} bits even with legacyAlgorithms)`;
      if (key.bits !== undefined && key.bits > MAX_LEGACY_DSA_BITS)
        return `${key.bits}-bit DSA key (at most ${MAX_LEGACY_DSA_BITS} bits are accepted)`;
      return undefined;
    default:
      return `key of unsupported type ${key.algorithm}`;
  }
}

/**
 * What one signature check with `key` costs, in units of one ECDSA P-256 verification (about
 * 0.12 ms on the 2-core bench machine; see docs for the measured table). Rounded up, so that a
 * budget in these units bounds time whatever mix of keys a client brings. Keys the policy
 * refuses cost one unit: they are refused before any arithmetic.
 */
export function signatureCost(key: PublicKeyInfo, legacyAlgorithms: boolean): number {
  if (keyPolicyViolation(key, legacyAlgorithms)) return 1;
  switch (key.type) {
    case 'rsa':
    case 'rsa-pss': {
      // Cost grows like bits^3 above 4096 (measured: RSA-8192 ~8 units); a larger exponent adds
      // squarings (65537 has 17 bits).
      const bits = key.bits as number;
      const exponentBits = key.publicExponentBits as number;
      return Math.max(1, Math.ceil((bits / 4096) ** 3 * Math.max(1, exponentBits / 17)));
    }
    case 'ec':
      return EC_COST[key.curve as string] ?? 1;
    case 'ed25519':
      return 2;
    case 'ed448':
      return 4;
    case 'dsa':
      // Without parameters the size is the inherited one, unknown here: assume the largest.
      return Math.ceil(7 * ((key.bits ?? MAX_LEGACY_DSA_BITS) / 2048) ** 2.5);
    default:
      return 1;
  }
}

const EC_COST: Record<string, number> = { '1.2.840.10045.3.1.7': 1, '1.3.132.0.34': 8, '1.3.132.0.35': 21 };
