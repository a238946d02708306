import { PUBLIC_MESSAGES, type VerifyFailureCode } from '../errors.js';
import type { CertificateInfo } from '../x509/certificate.js';

export type VerifyResult = VerifySuccess | VerifyFailure;

export interface VerifySuccess {
  readonly ok: true;
  /** The leaf the client presented. */
  readonly certificate: CertificateInfo;
  /** The validated path, leaf first, trust anchor last. */
  readonly chain: readonly CertificateInfo[];
  /**
   * When this verdict stops being true: the earliest notAfter in the path, nextUpdate of a CRL or
   * end of an OCSP answer relied on.
   */
  readonly expiresAt: Date;
  /**
   * RFC 5280 6.1.5 (g): the certificate policies valid for the leaf, as OIDs (the user-constrained
   * policy set): `['2.5.29.32.0']` (anyPolicy) when any policy is, `[]` when none is. Named as the
   * trust anchor's policy domain names them (a policy mapped on the way down, RFC 5280 4.2.1.5, is
   * reported under its issuer-domain OID), sorted by OID.
   */
  readonly policies: readonly string[];
}

export interface VerifyFailure {
  readonly ok: false;
  readonly code: VerifyFailureCode;
  /** Client-safe: the same short text as `CertgateError.message` for this code. */
  readonly message: string;
  /** Operator-facing: names the certificate, the issuer tried and the rule that failed (logs, never clients). */
  readonly detail: string;
}

export function failure(code: VerifyFailureCode, detail: string): VerifyFailure {
  return Object.freeze({
    ok: false as const,
    code,
    message: PUBLIC_MESSAGES[code],
    detail: detail || PUBLIC_MESSAGES[code],
  });
}
