import type { Element } from './der.js';

/**
 * Decoding of the certificate policy extensions (RFC 5280 sections 4.2.1.4, 4.2.1.5, 4.2.1.11,
 * 4.2.1.14). What they mean for a path is src/path/certificate-policies.ts.
 */

/** The special policy that stands for every policy (RFC 5280 section 4.2.1.4). */
export const ANY_POLICY = '2.5.29.32.0';

export interface PolicyMapping {
  readonly issuerDomainPolicy: string;
  readonly subjectDomainPolicy: string;
}

/** RFC 5280 section 4.2.1.11: SkipCerts values (non-negative integers). */
export interface PolicyConstraints {
  readonly requireExplicitPolicy?: number;
  readonly inhibitPolicyMapping?: number;
}

/** certificatePolicies: the policy OIDs in certificate order (qualifiers are not kept). (Stub.) */
export function decodeCertificatePolicies(_bytes: Uint8Array, _root: Element): string[] {
  return [];
}

/** policyMappings. (Stub.) */
export function decodePolicyMappings(_bytes: Uint8Array, _root: Element): PolicyMapping[] {
  return [];
}

/** policyConstraints. (Stub.) */
export function decodePolicyConstraints(_bytes: Uint8Array, _root: Element): PolicyConstraints {
  return {};
}

/** inhibitAnyPolicy ::= SkipCerts. (Stub.) */
export function decodeInhibitAnyPolicy(_bytes: Uint8Array, _root: Element): number {
  return 0;
}
