import { createPublicKey, type KeyObject } from 'node:crypto';
import { cursor, encodeElement, encodedOf, readRoot, TAG } from './der.js';
import type { ParsedCertificate } from './certificate.js';

/**
 * RFC 3279 section 2.3.2 and RFC 5280 section 6.1.4 (f): a DSA key without domain parameters
 * inherits them from its issuer's key. Returns the issuer key completed with the parameters of
 * `parameterSource`, or undefined when that certificate has none to give. Legacy PKIs only.
 */
export function dsaKeyWithInheritedParameters(
  issuer: ParsedCertificate,
  parameterSource: ParsedCertificate,
): KeyObject | undefined {
  if (parameterSource.key.type !== 'dsa' || !parameterSource.key.hasParameters) return undefined;
  const sourceAlg = cursor(parameterSource.spki, readRoot(parameterSource.spki, TAG.SEQUENCE)).next(TAG.SEQUENCE);
  const issuerSpki = cursor(issuer.spki, readRoot(issuer.spki, TAG.SEQUENCE));
  issuerSpki.next(TAG.SEQUENCE);
  const publicKeyBits = encodedOf(issuer.spki, issuerSpki.next(TAG.BIT_STRING));
  const spki = encodeElement(TAG.SEQUENCE, Buffer.concat([encodedOf(parameterSource.spki, sourceAlg), publicKeyBits]));
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}
