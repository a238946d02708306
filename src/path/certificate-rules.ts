import { KEY_USAGE, type ParsedCertificate } from '../x509/certificate.js';
import { describe, type Failure } from '../model/verdict.js';
import { keyPolicyViolation } from '../x509/key-policy.js';
import { afterEnd, beforeStart } from '../time/window.js';
import { missingExtension, unprocessedCriticalExtensions, wronglyCriticalExtensions } from './extensions.js';
import type { PathPolicy } from './policy.js';

/**
 * Rules each certificate must meet on its own, wherever it sits in the path: nothing here looks
 * at another certificate (those rules, and the state they carry down the path, are path-rules.ts).
 */

/** RFC 5280 section 4.1.2.2: serial numbers are positive and at most 20 octets long. */
export const MAX_SERIAL_OCTETS = 20;

/** Where a certificate sits: the trust anchor is configured, the leaf is presented for itself. */
export interface Position {
  /** The last certificate of a path of two or more (a pinned one-element path is a leaf). */
  isAnchor: boolean;
  isLeaf: boolean;
}

/** RFC 5280 section 4.1.2.5 and 6.1.3 (a) (2): the validation time must be inside the validity period. */
export function validityFailure(cert: ParsedCertificate, at: number, toleranceMs: number): Failure | undefined {
  // The period is inclusive at both ends, and its times have one-second granularity, so notAfter
  // covers the whole of its last second (src/time/window.ts).
  if (beforeStart(cert.notBefore.getTime(), at, toleranceMs)) {
    const detail = `${describe(cert)} is not valid before ${cert.notBefore.toISOString()}`;
    return { code: 'CERT_NOT_YET_VALID', detail };
  }
  if (afterEnd(cert.notAfter.getTime(), at, toleranceMs)) {
    return { code: 'CERT_EXPIRED', detail: `${describe(cert)} expired at ${cert.notAfter.toISOString()}` };
  }
  return undefined;
}

/** MUSTs of the RFC 5280 certificate profile that every certificate in a path must meet. */
function profileViolation(cert: ParsedCertificate, position: Position, policy: PathPolicy): string | undefined {
  const { isAnchor, isLeaf } = position;
  const table = policy.extensions[isLeaf ? 'endEntity' : 'ca'];
  // RFC 5280 section 4.1.2.2: a positive INTEGER of at most 20 octets. Negative serials are
  // tolerated (NIST PKITS 4.4.14 expects them to validate); zero is not.
  // Trust anchors are exempt from the serial and AKI rules: they are configured, not presented,
  // and long-lived roots predate them (x509-limbo online::fastly.com has a serial-0 root,
  // cve::cve-2024-0567 a cross-signed anchor without AKI).
  if (!isAnchor && cert.serialLength > MAX_SERIAL_OCTETS) {
    return `its serial number is ${cert.serialLength} octets long (at most ${MAX_SERIAL_OCTETS})`;
  }
  if (!isAnchor && /^0+$/.test(cert.serialKey)) return 'its serial number is zero';
  // RFC 5280 sections 4.2.1.1 and 4.2.1.2: AKI and SKI MUST be non-critical (the table's 'malformed' rows).
  const wronglyCritical = wronglyCriticalExtensions(cert, table);
  if (wronglyCritical.length > 0) return `${wronglyCritical.join(' and ')} must not be critical`;
  // RFC 5280 section 4.2.1.1: the AKI keyIdentifier MUST be present except in self-signed certificates.
  if (!isAnchor) {
    const missing = missingExtension(cert, table, 'requiredUnlessSelfIssued');
    if (missing) return missing;
  }
  // RFC 5280 section 4.2.1.3: keyCertSign may be asserted only with basicConstraints cA. (A
  // certificate in an issuer position is held to the stricter CA rules in path-rules.ts.)
  const keyCertSign = cert.keyUsage !== undefined && (cert.keyUsage & KEY_USAGE.keyCertSign) !== 0;
  if (isLeaf && keyCertSign && cert.basicConstraints?.ca !== true) {
    return 'it asserts keyCertSign without basicConstraints cA';
  }
  return nameProfileViolation(cert, isAnchor);
}

const SUBJECT_ALT_NAME = '2.5.29.17';

/** The RFC 5280 profile MUSTs on nameConstraints (section 4.2.1.10) and on an empty subject's SAN (4.2.1.6). */
function nameProfileViolation(cert: ParsedCertificate, isAnchor: boolean): string | undefined {
  const nc = cert.nameConstraints;
  // "The name constraints extension, which MUST be used only in a CA certificate" (x509-limbo
  // rfc5280::nc::not-allowed-in-ee-critical and -noncritical).
  if (nc && cert.basicConstraints?.ca !== true) return 'nameConstraints appears in a certificate that is not a CA';
  // "Conforming CAs MUST mark this extension as critical." The CA/Browser Forum Baseline
  // Requirements (7.1.2.5.2) allow it non-critical for legacy clients; certgate follows RFC 5280
  // (x509-limbo rfc5280::nc::permitted-dns-match-noncritical). Applied to the trust anchor too:
  // certgate honours the anchor's constraints, as it holds the anchor's basicConstraints to critical.
  if (nc && !nc.critical) return 'its nameConstraints extension must be critical';
  // "If the subject field contains an empty sequence, then the issuing CA MUST include a
  // subjectAltName extension that is marked as critical." (Anchors are configured, not presented.)
  if (!isAnchor && cert.subjectName.length === 0) {
    const san = cert.extensions.find((e) => e.oid === SUBJECT_ALT_NAME);
    if (san && !san.critical) return 'its subject is empty but its subjectAltName is not critical';
  }
  return undefined;
}

/**
 * Validity, the extension table, the profile MUSTs and the key policy, in that order (the first
 * failure is reported, so the order is part of the behaviour).
 */
export function checkCertificate(
  cert: ParsedCertificate,
  position: Position,
  policy: PathPolicy,
  at: number,
): Failure | undefined {
  const validity = validityFailure(cert, at, policy.clockToleranceMs);
  if (validity) return validity;
  // RFC 5280 section 4.2: an unrecognised critical extension means the certificate must be rejected.
  const unprocessed = unprocessedCriticalExtensions(cert, policy.extensions[position.isLeaf ? 'endEntity' : 'ca']);
  if (unprocessed.length > 0) {
    const detail = `${describe(cert)} has unsupported critical extension(s) ${unprocessed.join(', ')}`;
    return { code: 'CERT_EXTENSION_UNSUPPORTED', detail };
  }
  const profile = profileViolation(cert, position, policy);
  if (profile) return { code: 'CERT_MALFORMED', detail: `${describe(cert)} violates RFC 5280: ${profile}` };
  const key = keyPolicyViolation(cert.key, policy.legacyAlgorithms);
  if (key) return { code: 'CERT_ALGORITHM_UNSUPPORTED', detail: `${describe(cert)} has a ${key}` };
  return undefined;
}
