import { KEY_USAGE, OID, type ParsedCertificate } from '../x509/certificate.js';
import type { CrlChecker, CrlCheckContext } from '../revocation/crl-checker.js';
import type { ParsedCrl } from '../revocation/crl.js';
import { describe, type Failure } from './path-builder.js';
import type { Purpose } from './options.js';

const PURPOSE_OID: Record<Purpose, string> = { clientAuth: OID.clientAuth, serverAuth: OID.serverAuth };

export interface PolicyInput extends CrlCheckContext {
  purpose: Purpose | false;
  crls: CrlChecker;
  /** Filled with the CRLs the decision relied on, so the outcome can expire with them. */
  usedCrls: ParsedCrl[];
}

/**
 * RFC 5280 section 6.1 rules on a complete path `[leaf, ...intermediates, anchor]`, checked from
 * the anchor down. Returns the first failure, or undefined when the path is valid.
 */
export function checkPath(path: readonly ParsedCertificate[], input: PolicyInput): Failure | undefined {
  const n = path.length;
  const { at, clockToleranceMs: tol } = input;
  for (const cert of path) {
    // RFC 5280 section 4.1.2.5: the validity period is inclusive at both ends.
    if (at + tol < cert.notBefore.getTime()) {
      return { code: 'CERT_NOT_YET_VALID', detail: `${describe(cert)} is not valid before ${cert.notBefore.toISOString()}` };
    }
    if (at - tol > cert.notAfter.getTime()) {
      return { code: 'CERT_EXPIRED', detail: `${describe(cert)} expired at ${cert.notAfter.toISOString()}` };
    }
    // RFC 5280 section 4.2: an unrecognised critical extension means the certificate must be rejected.
    if (cert.unsupportedCriticalExtensions.length > 0) {
      return { code: 'CERT_EXTENSION_UNSUPPORTED', detail: `${describe(cert)} has unsupported critical extension(s) ${cert.unsupportedCriticalExtensions.join(', ')}` };
    }
  }

  // Anchor constraints are honoured too (as OpenSSL does): a root that says it is not a CA, or
  // limits path length, is taken at its word.
  const anchor = path[n - 1] as ParsedCertificate;
  let maxPathLength = n > 1 && anchor.basicConstraints?.pathLen !== undefined ? anchor.basicConstraints.pathLen : Infinity;
  for (let i = n - 1; i >= 1; i--) {
    const ca = path[i] as ParsedCertificate;
    const isAnchor = i === n - 1;
    // RFC 5280 section 6.1.4 (k): an intermediate must be a v3 CA (basicConstraints cA true);
    // a v1 anchor without extensions is accepted as a trust anchor.
    if (isAnchor ? ca.basicConstraints?.ca === false : ca.basicConstraints?.ca !== true) {
      return { code: 'CERT_ISSUER_NOT_CA', detail: `${describe(ca)} is not a CA (basicConstraints cA is ${ca.basicConstraints ? 'false' : 'absent'}) but issued ${describe(path[i - 1] as ParsedCertificate)}` };
    }
    // RFC 5280 section 6.1.4 (n): where keyUsage is present, keyCertSign must be set.
    if (ca.keyUsage !== undefined && (ca.keyUsage & KEY_USAGE.keyCertSign) === 0) {
      return { code: 'CERT_ISSUER_NOT_CA', detail: `${describe(ca)} lacks the keyCertSign key usage` };
    }
    if (!isAnchor) {
      // RFC 5280 section 6.1.4 (l), (m): self-issued certificates do not count against pathLen.
      if (!ca.selfIssued) {
        if (maxPathLength <= 0) {
          return { code: 'CERT_ISSUER_NOT_CA', detail: `${describe(ca)} exceeds the pathLenConstraint of a CA above it` };
        }
        maxPathLength--;
      }
      const own = ca.basicConstraints?.pathLen;
      if (own !== undefined && own < maxPathLength) maxPathLength = own;
    }
  }

  // RFC 5280 section 4.2.1.12: a leaf with an EKU extension may be used only for the listed purposes.
  const leaf = path[0] as ParsedCertificate;
  if (input.purpose && leaf.extKeyUsage) {
    const wanted = PURPOSE_OID[input.purpose];
    if (!leaf.extKeyUsage.includes(wanted) && !leaf.extKeyUsage.includes(OID.anyExtendedKeyUsage)) {
      return { code: 'CERT_PURPOSE_INVALID', detail: `${describe(leaf)} does not allow ${input.purpose} (extendedKeyUsage ${leaf.extKeyUsage.join(', ')})` };
    }
  }

  // RFC 5280 section 6.3: every certificate but the anchor against its issuer's CRL, where configured.
  input.usedCrls.length = 0;
  for (let i = 0; i < n - 1; i++) {
    const status = input.crls.check(path[i] as ParsedCertificate, path[i + 1] as ParsedCertificate, i > 0, input);
    if (status.status === 'good') input.usedCrls.push(status.crl);
    else if (status.status !== 'unchecked') return status.failure;
  }
  return undefined;
}
