import type { ParsedCertificate } from '../x509/certificate.js';
import type { SignatureToCheck } from '../revocation/crl-checker.js';

/**
 * What one decision asked for before it can be final: CRLs named by distribution points (each
 * with the issuer certificate that named it) and large CRL signatures to check off the request
 * path. The verifier gets them, then decides again (verifier.ts).
 */
export class Wanted {
  readonly urls = new Map<string, ParsedCertificate>();
  readonly signatures: SignatureToCheck[] = [];

  get empty(): boolean {
    return this.urls.size === 0 && this.signatures.length === 0;
  }
}
