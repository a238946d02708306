import { KEY_USAGE, OID, type ParsedCertificate } from '../x509/certificate.js';
import { describe, type Failure, type Purpose } from '../model/verdict.js';
import { keyPolicyViolation } from '../x509/key-policy.js';
import { afterEnd, beforeStart } from '../time/window.js';

const PURPOSE_OID: Record<Purpose, string> = { clientAuth: OID.clientAuth, serverAuth: OID.serverAuth };

/** RFC 5280 section 4.1.2.2: serial numbers are positive and at most 20 octets long. */
const MAX_SERIAL_OCTETS = 20;

/** What the path rules need besides the path: the time and the options that shape the rules. */
export interface PolicyInput {
  /** Epoch ms the path is validated at. */
  at: number;
  clockToleranceMs: number;
  purpose: Purpose | false;
  legacyAlgorithms: boolean;
}

/** No EKU extension, or one that lists the purpose or anyExtendedKeyUsage (RFC 5280 section 4.2.1.12). */
function allowsPurpose(cert: ParsedCertificate, purpose: Purpose | false): boolean {
  if (!purpose || !cert.extKeyUsage) return true;
  return cert.extKeyUsage.includes(PURPOSE_OID[purpose]) || cert.extKeyUsage.includes(OID.anyExtendedKeyUsage);
}

/** Rules each certificate must meet on its own, wherever it sits in the path. */
function checkCertificate(cert: ParsedCertificate, isAnchor: boolean, isLeaf: boolean, input: PolicyInput): Failure | undefined {
  const { at, clockToleranceMs: tol } = input;
  // RFC 5280 section 4.1.2.5: the validity period is inclusive at both ends, and its times have
  // one-second granularity, so notAfter covers the whole of its last second.
  if (beforeStart(cert.notBefore.getTime(), at, tol)) {
    return { code: 'CERT_NOT_YET_VALID', detail: `${describe(cert)} is not valid before ${cert.notBefore.toISOString()}` };
  }
  if (afterEnd(cert.notAfter.getTime(), at, tol)) {
    return { code: 'CERT_EXPIRED', detail: `${describe(cert)} expired at ${cert.notAfter.toISOString()}` };
  }
  // RFC 5280 section 4.2: an unrecognised critical extension means the certificate must be rejected.
  if (cert.unsupportedCriticalExtensions.length > 0) {
    return { code: 'CERT_EXTENSION_UNSUPPORTED', detail: `${describe(cert)} has unsupported critical extension(s) ${cert.unsupportedCriticalExtensions.join(', ')}` };
  }
  const profile = profileViolation(cert, isAnchor, isLeaf);
  if (profile) return { code: 'CERT_MALFORMED', detail: `${describe(cert)} violates RFC 5280: ${profile}` };
  const key = keyPolicyViolation(cert.key, input.legacyAlgorithms);
  if (key) return { code: 'CERT_ALGORITHM_UNSUPPORTED', detail: `${describe(cert)} has a ${key}` };
  return undefined;
}

/** MUSTs of the RFC 5280 certificate profile that every certificate in a path must meet. */
function profileViolation(cert: ParsedCertificate, isAnchor: boolean, isLeaf: boolean): string | undefined {
  // RFC 5280 section 4.1.2.2: a positive INTEGER of at most 20 octets. Negative serials are
  // tolerated (NIST PKITS 4.4.14 expects them to validate); zero is not.
  // Trust anchors are exempt from the serial and AKI rules: they are configured, not presented,
  // and long-lived roots predate them (x509-limbo online::fastly.com has a serial-0 root,
  // cve::cve-2024-0567 a cross-signed anchor without AKI).
  if (!isAnchor && cert.serialLength > MAX_SERIAL_OCTETS) return `its serial number is ${cert.serialLength} octets long (at most ${MAX_SERIAL_OCTETS})`;
  if (!isAnchor && /^0+$/.test(cert.serialKey)) return 'its serial number is zero';
  // RFC 5280 sections 4.2.1.1 and 4.2.1.2: AKI and SKI MUST be non-critical.
  if (cert.wronglyCritical.length > 0) return `${cert.wronglyCritical.join(' and ')} must not be critical`;
  // RFC 5280 section 4.2.1.1: the AKI keyIdentifier MUST be present except in self-signed certificates.
  if (!isAnchor && !cert.selfIssued && !cert.authorityKeyId) return 'it lacks an authorityKeyIdentifier keyIdentifier';
  // RFC 5280 section 4.2.1.3: keyCertSign may be asserted only with basicConstraints cA. (A
  // certificate in an issuer position is held to the stricter CA rules in checkIssuer.)
  if (isLeaf && cert.keyUsage !== undefined && (cert.keyUsage & KEY_USAGE.keyCertSign) !== 0 && cert.basicConstraints?.ca !== true) {
    return 'it asserts keyCertSign without basicConstraints cA';
  }
  return undefined;
}

/** Rules for a certificate that issued the one below it (an intermediate or the anchor). */
function checkIssuer(ca: ParsedCertificate, issued: ParsedCertificate, isAnchor: boolean, input: PolicyInput): Failure | undefined {
  const notCa = (why: string): Failure => ({ code: 'CERT_ISSUER_NOT_CA', detail: `${describe(ca)} ${why} but issued ${describe(issued)}` });
  // RFC 5280 section 6.1.4 (k) and 4.2.1.9: a CA certificate carries basicConstraints, critical,
  // with cA set. Applied to the anchor too, as a certificate that is not a CA is no trust anchor.
  if (!ca.basicConstraints) return notCa('has no basicConstraints');
  if (!ca.basicConstraints.ca) return notCa('is not a CA (basicConstraints cA is false)');
  // RFC 5280 section 4.2.1.9 makes basicConstraints critical in CA certificates, but path
  // processing (6.1.4 (k)) reads only cA, and NIST PKITS 4.6.4 expects a non-critical one in an
  // intermediate to validate. certgate enforces criticality on trust anchors, where it is a
  // configuration check (x509-limbo rfc5280::root-non-critical-basic-constraints).
  if (isAnchor && !ca.basicConstraints.critical) return { code: 'CERT_MALFORMED', detail: `${describe(ca)} violates RFC 5280: a trust anchor's basicConstraints must be critical` };
  // RFC 5280 section 6.1.4 (n): where keyUsage is present, keyCertSign must be set.
  if (ca.keyUsage !== undefined && (ca.keyUsage & KEY_USAGE.keyCertSign) === 0) return notCa('lacks the keyCertSign key usage');
  // RFC 5280 section 4.2.1.2: the SKI MUST appear in all conforming CA certificates.
  if (!ca.subjectKeyId) return { code: 'CERT_MALFORMED', detail: `${describe(ca)} violates RFC 5280: a CA certificate must have a subjectKeyIdentifier` };
  // RFC 5280 section 4.1.2.6: a CA's subject is non-empty (it is the issuer name of what it signs).
  if (ca.subjectName.length === 0) return { code: 'CERT_MALFORMED', detail: `${describe(ca)} violates RFC 5280: a CA certificate must have a non-empty subject` };
  // RFC 5280 section 4.2.1.12 leaves EKU in CA certificates to applications; like OpenSSL and Go,
  // certgate reads it as a constraint on the certificates the CA issues.
  if (!allowsPurpose(ca, input.purpose)) {
    return { code: 'CERT_PURPOSE_INVALID', detail: `${describe(ca)} restricts its certificates to extendedKeyUsage ${ca.extKeyUsage?.join(', ')}, not ${input.purpose}` };
  }
  return undefined;
}

/**
 * RFC 5280 section 6.1 rules on a complete path `[leaf, ...intermediates, anchor]`, revocation
 * aside. Returns the first failure, or undefined when the path is valid. A one-element path is a
 * certificate configured as a trust anchor and presented as itself (pinning).
 */
export function checkRules(path: readonly ParsedCertificate[], input: PolicyInput): Failure | undefined {
  const n = path.length;
  for (const [i, cert] of path.entries()) {
    const failure = checkCertificate(cert, i === n - 1 && n > 1, i === 0, input);
    if (failure) return failure;
  }

  // The anchor's own constraints are honoured too (as OpenSSL does): a root that limits path
  // length is taken at its word.
  const anchor = path[n - 1] as ParsedCertificate;
  let maxPathLength = n > 1 && anchor.basicConstraints?.pathLen !== undefined ? anchor.basicConstraints.pathLen : Infinity;
  for (let i = n - 1; i >= 1; i--) {
    const ca = path[i] as ParsedCertificate;
    const isAnchor = i === n - 1;
    const failure = checkIssuer(ca, path[i - 1] as ParsedCertificate, isAnchor, input);
    if (failure) return failure;
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
  if (!allowsPurpose(leaf, input.purpose)) {
    return { code: 'CERT_PURPOSE_INVALID', detail: `${describe(leaf)} does not allow ${input.purpose} (extendedKeyUsage ${leaf.extKeyUsage?.join(', ')})` };
  }

  return undefined;
}
