import { KEY_USAGE, OID, type ParsedCertificate } from '../x509/certificate.js';
import { describe, type Failure, type Purpose } from '../model/verdict.js';
import { missingExtension } from './extensions.js';
import type { PathPolicy } from './policy.js';

/**
 * Rules that relate certificates to each other: what an issuer must be to issue the certificate
 * below it, and the state RFC 5280 section 6.1.2 carries down the path from the anchor.
 */

/**
 * Path-wide state (RFC 5280 section 6.1.2), updated once per certificate from the anchor down.
 * Today it holds the path length budget; name constraints (permitted_subtrees, excluded_subtrees,
 * 6.1.2 (b) and (c)) and certificate policies (valid_policy_tree, explicit_policy,
 * inhibit_anyPolicy, policy_mapping, 6.1.2 (a), (d) to (f)) belong here next.
 */
export interface PathState {
  /** RFC 5280 section 6.1.2 (k) max_path_length: non-self-issued CAs still allowed below. */
  maxPathLength: number;
}

const PURPOSE_OID: Record<Purpose, string> = { clientAuth: OID.clientAuth, serverAuth: OID.serverAuth };

/** No EKU extension, or one that lists the purpose or anyExtendedKeyUsage (RFC 5280 section 4.2.1.12). */
export function allowsPurpose(cert: ParsedCertificate, purpose: Purpose | false): boolean {
  if (!purpose || !cert.extKeyUsage) return true;
  return cert.extKeyUsage.includes(PURPOSE_OID[purpose]) || cert.extKeyUsage.includes(OID.anyExtendedKeyUsage);
}

/** Key types that agree keys (ECDH, X25519, X448, DH) rather than only sign or encrypt. */
const KEY_AGREEMENT_ALGORITHMS = new Set(['1.3.101.110', '1.3.101.111', '1.2.840.10046.2.1', '1.2.840.113549.1.3.1']);

function agreesKeys(cert: ParsedCertificate): boolean {
  return cert.key.type === 'ec' || KEY_AGREEMENT_ALGORITHMS.has(cert.key.algorithm);
}

/**
 * RFC 5280 section 4.2.1.3 with RFC 8446 section 4.4.3 (and RFC 5246 section 7.4.8): a TLS client
 * proves its key by signing the handshake, so where keyUsage is present a clientAuth leaf needs
 * digitalSignature, or keyAgreement with a key that can agree keys (OpenSSL's sslclient purpose
 * allows keyAgreement with any key; an RSA key cannot agree keys). serverAuth is left to its EKU:
 * it serves the CLI and the conformance suites, whose RFC 5280 cases (x509-limbo
 * rfc5280::ca-as-leaf) accept a keyCertSign-only CA as the leaf.
 */
export function keyUsageAllowsPurpose(cert: ParsedCertificate, purpose: Purpose | false): boolean {
  const { keyUsage } = cert;
  if (purpose !== 'clientAuth' || keyUsage === undefined) return true;
  if (keyUsage & KEY_USAGE.digitalSignature) return true;
  return (keyUsage & KEY_USAGE.keyAgreement) !== 0 && agreesKeys(cert);
}

const malformed = (cert: ParsedCertificate, why: string): Failure => ({
  code: 'CERT_MALFORMED',
  detail: `${describe(cert)} violates RFC 5280: ${why}`,
});

/** Rules for a certificate that issued the one below it (an intermediate or the anchor), in reporting order. */
export function checkIssuer(
  ca: ParsedCertificate,
  issued: ParsedCertificate,
  isAnchor: boolean,
  policy: PathPolicy,
): Failure | undefined {
  const notCa = (why: string): Failure => ({
    code: 'CERT_ISSUER_NOT_CA',
    detail: `${describe(ca)} ${why} but issued ${describe(issued)}`,
  });
  // RFC 5280 section 6.1.4 (k) and 4.2.1.9: a CA certificate carries basicConstraints, critical,
  // with cA set. Applied to the anchor too, as a certificate that is not a CA is no trust anchor.
  if (!ca.basicConstraints) return notCa('has no basicConstraints');
  if (!ca.basicConstraints.ca) return notCa('is not a CA (basicConstraints cA is false)');
  // RFC 5280 section 4.2.1.9 makes basicConstraints critical in CA certificates, but path
  // processing (6.1.4 (k)) reads only cA, and NIST PKITS 4.6.4 expects a non-critical one in an
  // intermediate to validate. certgate enforces criticality on trust anchors, where it is a
  // configuration check (x509-limbo rfc5280::root-non-critical-basic-constraints).
  if (isAnchor && !ca.basicConstraints.critical) {
    return malformed(ca, "a trust anchor's basicConstraints must be critical");
  }
  // RFC 5280 section 6.1.4 (n): where keyUsage is present, keyCertSign must be set.
  if (ca.keyUsage !== undefined && (ca.keyUsage & KEY_USAGE.keyCertSign) === 0) {
    return notCa('lacks the keyCertSign key usage');
  }
  // RFC 5280 section 4.2.1.2: the SKI MUST appear in all conforming CA certificates (the CA
  // role's 'required' rows).
  const missing = missingExtension(ca, policy.extensions.ca, 'required');
  if (missing) return malformed(ca, missing);
  // RFC 5280 section 4.1.2.6: a CA's subject is non-empty (it is the issuer name of what it signs).
  if (ca.subjectName.length === 0) return malformed(ca, 'a CA certificate must have a non-empty subject');
  // RFC 5280 section 4.2.1.12 leaves EKU in CA certificates to applications; like OpenSSL and Go,
  // certgate reads it as a constraint on the certificates the CA issues.
  if (!allowsPurpose(ca, policy.purpose)) {
    const usages = ca.extKeyUsage?.join(', ');
    const detail = `${describe(ca)} restricts its certificates to extendedKeyUsage ${usages}, not ${policy.purpose}`;
    return { code: 'CERT_PURPOSE_INVALID', detail };
  }
  return undefined;
}

/**
 * RFC 5280 section 6.1.2 (k): the initial state. The anchor's own constraints are honoured too
 * (as OpenSSL does): a root that limits path length is taken at its word.
 */
export function initialState(anchor: ParsedCertificate, pathLength: number): PathState {
  const pathLen = anchor.basicConstraints?.pathLen;
  return { maxPathLength: pathLength > 1 && pathLen !== undefined ? pathLen : Infinity };
}

/** RFC 5280 section 6.1.4 (l), (m): an intermediate CA consumes and may tighten the path length budget. */
export function advanceState(state: PathState, ca: ParsedCertificate): Failure | undefined {
  // Self-issued certificates do not count against pathLen.
  if (!ca.selfIssued) {
    if (state.maxPathLength <= 0) {
      return { code: 'CERT_ISSUER_NOT_CA', detail: `${describe(ca)} exceeds the pathLenConstraint of a CA above it` };
    }
    state.maxPathLength--;
  }
  const own = ca.basicConstraints?.pathLen;
  if (own !== undefined && own < state.maxPathLength) state.maxPathLength = own;
  return undefined;
}

/**
 * The issuer rules and path-wide state over a complete path `[leaf, ...intermediates, anchor]`,
 * walked from the anchor down (RFC 5280 section 6.1.3, 6.1.4), then the leaf's purpose (EKU, then
 * keyUsage).
 */
export function checkPathRules(path: readonly ParsedCertificate[], policy: PathPolicy): Failure | undefined {
  const n = path.length;
  const state = initialState(path[n - 1] as ParsedCertificate, n);
  for (let i = n - 1; i >= 1; i--) {
    const ca = path[i] as ParsedCertificate;
    const isAnchor = i === n - 1;
    const failure = checkIssuer(ca, path[i - 1] as ParsedCertificate, isAnchor, policy);
    if (failure) return failure;
    const exceeded = isAnchor ? undefined : advanceState(state, ca);
    if (exceeded) return exceeded;
  }
  // RFC 5280 section 4.2.1.12: a leaf with an EKU extension may be used only for the listed purposes.
  const leaf = path[0] as ParsedCertificate;
  if (!allowsPurpose(leaf, policy.purpose)) {
    const usages = leaf.extKeyUsage?.join(', ');
    const detail = `${describe(leaf)} does not allow ${policy.purpose} (extendedKeyUsage ${usages})`;
    return { code: 'CERT_PURPOSE_INVALID', detail };
  }
  // RFC 5280 section 4.2.1.3: where keyUsage is present, it must allow the purpose's use of the key.
  if (!keyUsageAllowsPurpose(leaf, policy.purpose)) {
    const why = `keyUsage allows no ${policy.purpose} use of its ${leaf.key.type} key`;
    const detail = `${describe(leaf)} does not allow ${policy.purpose} (${why})`;
    return { code: 'CERT_PURPOSE_INVALID', detail };
  }
  return undefined;
}
