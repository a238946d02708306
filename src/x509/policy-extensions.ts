import { contentOf, cursor, DerError, readOid, TAG, type Element } from './der.js';

/**
 * Decoding of the certificate policy extensions (RFC 5280 sections 4.2.1.4, 4.2.1.5, 4.2.1.11,
 * 4.2.1.14). What they mean for a path is src/path/certificate-policies.ts. The decoders are
 * strict: a DerError makes the certificate CERT_MALFORMED, critical or not, because a policy
 * extension that cannot be read cannot be processed (RFC 5280 section 6.1 processes them whatever
 * their criticality).
 */

/** The special policy that stands for every policy (RFC 5280 section 4.2.1.4). */
export const ANY_POLICY = '2.5.29.32.0';

/**
 * SkipCerts values above this are read as this: a path is far shorter, so the meaning is the same
 * ("never within this path"), and a 20-octet INTEGER does not become a float or an overflow.
 */
export const MAX_SKIP_CERTS = 0x7fffffff;

export interface PolicyMapping {
  readonly issuerDomainPolicy: string;
  readonly subjectDomainPolicy: string;
}

/** RFC 5280 section 4.2.1.11: SkipCerts values (non-negative integers). */
export interface PolicyConstraints {
  readonly requireExplicitPolicy?: number;
  readonly inhibitPolicyMapping?: number;
}

/**
 * RFC 5280 section 4.2.1.4: PolicyQualifierInfo ::= SEQUENCE { policyQualifierId OID, qualifier ANY
 * DEFINED BY policyQualifierId }. Checked for framing only: RFC 5280 section 6.1 ignores qualifiers.
 */
function checkQualifiers(bytes: Uint8Array, el: Element): void {
  const list = cursor(bytes, el, TAG.SEQUENCE);
  if (list.done) throw new DerError('policyQualifiers is empty (SIZE (1..MAX))');
  while (!list.done) {
    const info = cursor(bytes, list.next(TAG.SEQUENCE));
    readOid(bytes, info.next(TAG.OID));
    info.next();
    info.end();
  }
}

/**
 * RFC 5280 section 4.2.1.4: certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation,
 * PolicyInformation ::= SEQUENCE { policyIdentifier OID, policyQualifiers SEQUENCE SIZE (1..MAX) OF
 * PolicyQualifierInfo OPTIONAL }. The policy OIDs in certificate order; "a certificate policy OID
 * MUST NOT appear more than once", so a repeat is malformed (as BoringSSL reads it).
 */
export function decodeCertificatePolicies(bytes: Uint8Array, root: Element): string[] {
  const c = cursor(bytes, root, TAG.SEQUENCE);
  if (c.done) throw new DerError('certificatePolicies is empty (SIZE (1..MAX))');
  // A Set, not Array.includes: a hostile certificate may list thousands of policies.
  const policies = new Set<string>();
  while (!c.done) {
    const info = cursor(bytes, c.next(TAG.SEQUENCE));
    const oid = readOid(bytes, info.next(TAG.OID));
    const qualifiers = info.optional(TAG.SEQUENCE);
    if (qualifiers) checkQualifiers(bytes, qualifiers);
    info.end();
    if (policies.has(oid)) throw new DerError(`certificate policy ${oid} appears more than once`);
    policies.add(oid);
  }
  return [...policies];
}

/**
 * RFC 5280 section 4.2.1.5: PolicyMappings ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE {
 * issuerDomainPolicy OID, subjectDomainPolicy OID }. A mapping to or from anyPolicy is decoded:
 * refusing it is path processing's job (RFC 5280 section 6.1.4 (a)).
 */
export function decodePolicyMappings(bytes: Uint8Array, root: Element): PolicyMapping[] {
  const c = cursor(bytes, root, TAG.SEQUENCE);
  if (c.done) throw new DerError('policyMappings is empty (SIZE (1..MAX))');
  const mappings: PolicyMapping[] = [];
  while (!c.done) {
    const pair = cursor(bytes, c.next(TAG.SEQUENCE));
    const issuerDomainPolicy = readOid(bytes, pair.next(TAG.OID));
    const subjectDomainPolicy = readOid(bytes, pair.next(TAG.OID));
    pair.end();
    mappings.push(Object.freeze({ issuerDomainPolicy, subjectDomainPolicy }));
  }
  return mappings;
}

/** SkipCerts ::= INTEGER (0..MAX), with whatever tag it carries; clamped to MAX_SKIP_CERTS. */
function skipCerts(bytes: Uint8Array, el: Element): number {
  const c = contentOf(bytes, el);
  if (c.length === 0) throw new DerError('empty SkipCerts INTEGER');
  if (c.length > 1 && c[0] === 0 && (c[1] as number) < 0x80) throw new DerError('non-minimal INTEGER encoding');
  if ((c[0] as number) >= 0x80) throw new DerError('negative SkipCerts');
  let n = 0;
  for (const b of c) {
    n = n * 256 + b;
    if (n >= MAX_SKIP_CERTS) return MAX_SKIP_CERTS;
  }
  return n;
}

/** [0] and [1] IMPLICIT INTEGER: context-specific, primitive. */
const REQUIRE_EXPLICIT_POLICY = 0x80;
const INHIBIT_POLICY_MAPPING = 0x81;

/**
 * RFC 5280 section 4.2.1.11: PolicyConstraints ::= SEQUENCE { requireExplicitPolicy [0] SkipCerts
 * OPTIONAL, inhibitPolicyMapping [1] SkipCerts OPTIONAL } (IMPLICIT tags). "Conforming CAs MUST NOT
 * issue certificates where policy constraints is an empty sequence": an empty one is malformed.
 */
export function decodePolicyConstraints(bytes: Uint8Array, root: Element): PolicyConstraints {
  const c = cursor(bytes, root, TAG.SEQUENCE);
  if (c.done) throw new DerError('policyConstraints is an empty sequence');
  const explicit = c.optional(REQUIRE_EXPLICIT_POLICY);
  const mapping = c.optional(INHIBIT_POLICY_MAPPING);
  c.end();
  return Object.freeze({
    ...(explicit && { requireExplicitPolicy: skipCerts(bytes, explicit) }),
    ...(mapping && { inhibitPolicyMapping: skipCerts(bytes, mapping) }),
  });
}

/** RFC 5280 section 4.2.1.14: InhibitAnyPolicy ::= SkipCerts. */
export function decodeInhibitAnyPolicy(bytes: Uint8Array, root: Element): number {
  if (root.tag !== TAG.INTEGER) throw new DerError('expected an INTEGER');
  return skipCerts(bytes, root);
}
