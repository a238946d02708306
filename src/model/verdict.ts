import type { VerifyFailureCode } from '../errors.js';
import type { ParsedCertificate } from '../x509/certificate.js';

/**
 * The vocabulary that path building, path rules and revocation share. It sits below all of them
 * (it imports only types from x509), so no layer reaches up for it.
 */

/** The purpose a leaf's extended key usage must allow. */
export type Purpose = 'clientAuth' | 'serverAuth';

export interface Failure {
  code: VerifyFailureCode;
  /** Operator-facing explanation: names the certificate and, where one was tried, the issuer. */
  detail: string;
}

export type SignatureCheck =
  | { ok: true }
  | { ok: false; code: 'CERT_SIGNATURE_INVALID' | 'CERT_ALGORITHM_UNSUPPORTED'; detail: string };

/** What the CRLs say about one certificate. `unchecked`: no CRL is configured for its issuer. */
export type CrlFinding =
  | { status: 'good' }
  | { status: 'unchecked' }
  | { status: 'revoked' | 'unknown'; failure: Failure };

/** What the OCSP responder says about the leaf. `unknown` also covers "no trustworthy answer". */
export type OcspFinding = { status: 'good' } | { status: 'revoked' | 'unknown'; failure: Failure };

/** What an accepted path's verdict rests on besides the path itself, so it can expire with them. */
export interface Reliance {
  /** CRLs relied on: the verdict expires with the earliest nextUpdate (plus any grace period). */
  crls: { readonly nextUpdate: Date | undefined }[];
  /** Certificates outside the path that were needed, such as a separate CRL signer's path. */
  certificates: ParsedCertificate[];
  /** Set when revocation could not be determined and was allowed anyway: re-check by then (epoch ms). */
  recheckBy?: number;
  /** With OCSP on: what the CRLs said about the leaf, to be combined with the OCSP answer. */
  leafCrl?: CrlFinding;
}

export type PathVerdict = { ok: true; relied: Reliance } | { ok: false; failure: Failure };

/** A path's verdict with its valid certificate policies (RFC 5280 6.1.5 (g)'s user-constrained set). */
export type CheckedPath = { ok: true; relied: Reliance; policies: readonly string[] } | { ok: false; failure: Failure };

export type PathResult =
  | { ok: true; path: ParsedCertificate[]; relied: Reliance; policies: readonly string[] }
  | { ok: false; failure: Failure };

/**
 * The work left for one verification: the signature-check cost (in signatureCost units, see
 * x509/key-policy.ts), shared with the nested validation of CRL signers, with `checks` counting the
 * checks made for the operator's detail when the budget runs out; and the name constraint
 * comparisons and policy graph work left for all the paths tried (path building may try many,
 * each under constrained CAs: those caps are per verification, not per path).
 */
export interface SignatureBudget {
  remaining: number;
  checks: number;
  nameComparisons: number;
  /** Policy graph work left for all the paths tried (src/path/policy-graph.ts). */
  policyWork: number;
}

/** How operator details name a certificate. */
export function describe(cert: ParsedCertificate): string {
  return `certificate "${cert.subjectDN || '(empty subject)'}" (serial ${cert.serialNumber})`;
}
