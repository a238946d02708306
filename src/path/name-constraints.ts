import type { ParsedCertificate } from '../x509/certificate.js';
import type { Failure } from '../model/verdict.js';

/**
 * RFC 5280 sections 6.1.3 (b), (c) and 6.1.4 (g): the names of every certificate below a CA
 * against the subtrees that CA permits and excludes. (Stub: filled in by the name constraints work.)
 */
export function checkNameConstraints(_path: readonly ParsedCertificate[]): Failure | undefined {
  return undefined;
}
