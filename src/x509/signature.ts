import { constants, createVerify, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier as AlgorithmIdentifierSchema } from '@peculiar/asn1-x509';
import type { AlgorithmIdentifier } from './certificate.js';
import { RsaSaPssParams } from '@peculiar/asn1-rsa';

const HASHES: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const MGF1 = '1.2.840.113549.1.1.8';

type KeyType = 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448' | 'dsa';

interface SignatureScheme {
  hash: string | null;
  keyTypes: readonly KeyType[];
  pss?: { saltLength: number };
}

/**
 * PKCS#1 v1.5 and ECDSA with SHA-2, RSA-PSS, Ed25519 and Ed448. SHA-1 and MD5 are refused:
 * collisions are practical, so a SHA-1 signature proves nothing about who issued a certificate.
 */
const FIXED_SCHEMES: Record<string, SignatureScheme> = {
  '1.2.840.113549.1.1.11': { hash: 'sha256', keyTypes: ['rsa'] },
  '1.2.840.113549.1.1.12': { hash: 'sha384', keyTypes: ['rsa'] },
  '1.2.840.113549.1.1.13': { hash: 'sha512', keyTypes: ['rsa'] },
  '1.2.840.10045.4.3.2': { hash: 'sha256', keyTypes: ['ec'] },
  '1.2.840.10045.4.3.3': { hash: 'sha384', keyTypes: ['ec'] },
  '1.2.840.10045.4.3.4': { hash: 'sha512', keyTypes: ['ec'] },
  '1.3.101.112': { hash: null, keyTypes: ['ed25519'] },
  '1.3.101.113': { hash: null, keyTypes: ['ed448'] },
};
const RSA_PSS = '1.2.840.113549.1.1.10';

/**
 * SHA-1 and DSA: collisions in SHA-1 are practical, and DSA is withdrawn (FIPS 186-5), so these
 * verify only when a closed legacy PKI opts in with `legacyAlgorithms: true`.
 */
const LEGACY_SCHEMES: Record<string, SignatureScheme & { name: string }> = {
  '1.2.840.113549.1.1.5': { hash: 'sha1', keyTypes: ['rsa'], name: 'sha1WithRSAEncryption' },
  '1.2.840.10045.4.1': { hash: 'sha1', keyTypes: ['ec'], name: 'ecdsa-with-SHA1' },
  '1.2.840.10040.4.3': { hash: 'sha1', keyTypes: ['dsa'], name: 'dsa-with-sha1' },
  '2.16.840.1.101.3.4.3.2': { hash: 'sha256', keyTypes: ['dsa'], name: 'dsa-with-sha256' },
};
const RSA_WITH_NULL_PARAMS = new Set(['1.2.840.113549.1.1.11', '1.2.840.113549.1.1.12', '1.2.840.113549.1.1.13']);
const NULL_DER = Buffer.from([0x05, 0x00]);

export class UnsupportedAlgorithmError extends Error {}

/**
 * The largest signature AlgorithmIdentifier parameters decoded. RSA-PSS parameters with SHA-512
 * take 65 bytes; 20 KB of junk used to be handed to the ASN.1 decoder once per issuer candidate.
 */
export const MAX_SIGNATURE_PARAMETER_BYTES = 128;

/** Outcomes of signatureScheme per decoded AlgorithmIdentifier, one map per legacyAlgorithms value. */
const resolved = [false, true].map(
  () => new WeakMap<AlgorithmIdentifier, SignatureScheme | UnsupportedAlgorithmError>(),
);

/**
 * Resolves an AlgorithmIdentifier to what Node's crypto.verify needs, or throws why it cannot.
 * Each decoded AlgorithmIdentifier is resolved once: a certificate tried against many issuer
 * candidates does not have its parameters decoded again for each.
 */
export function signatureScheme(alg: AlgorithmIdentifier, legacyAlgorithms = false): SignatureScheme {
  const memo = resolved[Number(legacyAlgorithms)] as WeakMap<AlgorithmIdentifier, SignatureScheme | Error>;
  let outcome = memo.get(alg);
  if (!outcome) {
    try {
      outcome = resolveScheme(alg, legacyAlgorithms);
    } catch (err) {
      outcome = err instanceof UnsupportedAlgorithmError ? err : new UnsupportedAlgorithmError(String(err));
    }
    memo.set(alg, outcome);
  }
  if (outcome instanceof Error) throw outcome;
  return outcome;
}

function resolveScheme(alg: AlgorithmIdentifier, legacyAlgorithms: boolean): SignatureScheme {
  if (alg.parameters && alg.parameters.length > MAX_SIGNATURE_PARAMETER_BYTES) {
    throw new UnsupportedAlgorithmError(
      `signature algorithm ${alg.algorithm} with ${alg.parameters.length} bytes of parameters ` +
        `(at most ${MAX_SIGNATURE_PARAMETER_BYTES} are decoded)`,
    );
  }
  const fixed = FIXED_SCHEMES[alg.algorithm];
  const params = alg.parameters;
  if (fixed) {
    // RFC 4055 section 5: PKCS#1 v1.5 parameters are NULL (absent is tolerated in the wild).
    // RFC 5758 section 3.2 / RFC 8410 section 3: ECDSA and EdDSA parameters are absent.
    const paramsOk = RSA_WITH_NULL_PARAMS.has(alg.algorithm)
      ? params === undefined || params.equals(NULL_DER)
      : params === undefined;
    if (!paramsOk)
      throw new UnsupportedAlgorithmError(`unexpected parameters for signature algorithm ${alg.algorithm}`);
    return fixed;
  }
  if (alg.algorithm === RSA_PSS) {
    if (!params) throw new UnsupportedAlgorithmError('RSA-PSS signature without parameters');
    let pss: RsaSaPssParams;
    try {
      pss = AsnConvert.parse(params, RsaSaPssParams);
    } catch {
      throw new UnsupportedAlgorithmError('RSA-PSS signature with undecodable parameters');
    }
    const hash = HASHES[pss.hashAlgorithm.algorithm];
    if (!hash) throw new UnsupportedAlgorithmError(`RSA-PSS with unsupported hash ${pss.hashAlgorithm.algorithm}`);
    if (pss.maskGenAlgorithm.algorithm !== MGF1)
      throw new UnsupportedAlgorithmError('RSA-PSS with a mask generation function other than MGF1');
    const mgfHash = pss.maskGenAlgorithm.parameters
      ? AsnConvert.parse(pss.maskGenAlgorithm.parameters, AlgorithmIdentifierSchema)
      : undefined;
    // Node's verify uses the signature hash for MGF1 too, so a different MGF1 hash cannot be checked.
    if (!mgfHash || mgfHash.algorithm !== pss.hashAlgorithm.algorithm) {
      throw new UnsupportedAlgorithmError('RSA-PSS whose MGF1 hash differs from the signature hash');
    }
    if (pss.trailerField !== 1) throw new UnsupportedAlgorithmError('RSA-PSS with a trailer field other than 1');
    return { hash, keyTypes: ['rsa', 'rsa-pss'], pss: { saltLength: pss.saltLength } };
  }
  const legacy = LEGACY_SCHEMES[alg.algorithm];
  if (legacy) {
    if (!legacyAlgorithms)
      throw new UnsupportedAlgorithmError(
        `signature algorithm ${alg.algorithm} (${legacy.name}) is accepted only with legacyAlgorithms: true`,
      );
    if (params !== undefined && !params.equals(NULL_DER))
      throw new UnsupportedAlgorithmError(`unexpected parameters for signature algorithm ${alg.algorithm}`);
    return legacy;
  }
  if (alg.algorithm === '1.2.840.113549.1.1.4' || alg.algorithm === '1.2.840.113549.1.1.2') {
    throw new UnsupportedAlgorithmError(
      `signature algorithm ${alg.algorithm} uses MD5 or MD2, which certgate never accepts`,
    );
  }
  throw new UnsupportedAlgorithmError(`unsupported signature algorithm ${alg.algorithm}`);
}

/**
 * Throws unless a key of `keyType` can verify signatures of `alg`: callers check it against the
 * decoded key information before importing the key (and the import is checked again below).
 */
export function checkSchemeFitsKey(alg: AlgorithmIdentifier, keyType: string | undefined, legacyAlgorithms = false) {
  schemeForKeyType(alg, keyType, legacyAlgorithms);
}

function schemeForKey(alg: AlgorithmIdentifier, key: KeyObject, legacyAlgorithms: boolean): SignatureScheme {
  return schemeForKeyType(alg, key.asymmetricKeyType, legacyAlgorithms);
}

function schemeForKeyType(alg: AlgorithmIdentifier, type: string | undefined, legacyAlgorithms: boolean) {
  const scheme = signatureScheme(alg, legacyAlgorithms);
  const keyType = type as KeyType | undefined;
  if (!keyType || !scheme.keyTypes.includes(keyType)) {
    throw new UnsupportedAlgorithmError(
      `signature algorithm ${alg.algorithm} does not fit the issuer's ${keyType ?? 'unknown'} key`,
    );
  }
  return scheme;
}

export interface StreamingVerifier {
  update(data: Uint8Array): void;
  verify(signature: Buffer): boolean;
}

/**
 * A verifier fed in pieces, for signed data too large to hash in one go (a 35 MiB CRL); undefined
 * for EdDSA, which cannot be streamed. Throws UnsupportedAlgorithmError like verifySignature.
 */
export function streamingVerifier(
  alg: AlgorithmIdentifier,
  key: KeyObject,
  legacyAlgorithms = false,
): StreamingVerifier | undefined {
  const scheme = schemeForKey(alg, key, legacyAlgorithms);
  if (!scheme.hash) return undefined;
  const verifier = createVerify(scheme.hash);
  return {
    update: (data) => void verifier.update(data),
    verify: (signature) => {
      try {
        return scheme.pss
          ? verifier.verify(
              { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.pss.saltLength },
              signature,
            )
          : verifier.verify(key, signature);
      } catch {
        return false;
      }
    },
  };
}

/** True when `signature` over `data` verifies with `key` under `alg`; throws UnsupportedAlgorithmError. */
export function verifySignature(
  alg: AlgorithmIdentifier,
  data: Buffer,
  signature: Buffer,
  key: KeyObject,
  legacyAlgorithms = false,
): boolean {
  const scheme = schemeForKey(alg, key, legacyAlgorithms);
  try {
    if (scheme.pss) {
      return cryptoVerify(
        scheme.hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.pss.saltLength },
        signature,
      );
    }
    return cryptoVerify(scheme.hash, data, key, signature);
  } catch {
    // OpenSSL throws on structurally bad signatures (wrong length, bad DER for ECDSA): that is "invalid".
    return false;
  }
}
