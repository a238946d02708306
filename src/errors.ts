/**
 * Reason codes are public API: adapters map them to HTTP statuses, operators grep logs for them,
 * and the README documents each one. Never rename a code; add new ones instead.
 */
export const REASON_CODES = {
  CERT_MISSING: 401,
  CERT_UNTRUSTED: 401,
  CERT_SIGNATURE_INVALID: 401,
  CERT_EXPIRED: 401,
  CERT_NOT_YET_VALID: 401,
  CERT_REVOKED: 401,
  CERT_PURPOSE_INVALID: 401,
  CERT_ISSUER_NOT_CA: 401,
  CERT_MALFORMED: 401,
  CERT_EXTENSION_UNSUPPORTED: 401,
  CERT_ALGORITHM_UNSUPPORTED: 401,
  /** RFC 5280 4.2.1.10: a name outside a CA's permitted subtrees or inside its excluded ones. */
  CERT_NAME_CONSTRAINED: 401,
  /** RFC 5280 6.1.5 (g): an explicit policy is required and no certificate policy is valid for the path. */
  CERT_POLICY_INVALID: 401,
  REVOCATION_UNKNOWN: 503,
  IDENTITY_UNKNOWN: 403,
  ROLE_FORBIDDEN: 403,
  /** The TLS connection is below the guard's `tls` rule (protocol version or cipher strength). */
  TLS_TOO_WEAK: 403,
  /** RFC 8705: the access token is not bound to the client certificate of this connection. */
  TOKEN_NOT_BOUND: 401,
  /** Not a verdict on the client: the guard or verifier is misconfigured. */
  CONFIG_INVALID: 500,
} as const;

export type ReasonCode = keyof typeof REASON_CODES;

/** Reason codes a certificate verification can end with (a subset of {@link ReasonCode}). */
export type VerifyFailureCode = Exclude<
  ReasonCode,
  'IDENTITY_UNKNOWN' | 'ROLE_FORBIDDEN' | 'TLS_TOO_WEAK' | 'TOKEN_NOT_BOUND' | 'CONFIG_INVALID'
>;

/** The HTTP status the adapters answer with for a reason code. */
export function statusFor(code: ReasonCode): number {
  return REASON_CODES[code];
}

/**
 * RFC 9457 problem details as every certgate adapter sends them (`application/problem+json`), plus
 * `code` and `message` for clients that only read those. Only client-safe text: never `detail`.
 */
export interface ProblemBody {
  /** `urn:certgate:error:<code>`. */
  type: string;
  /** The reason code. */
  title: string;
  status: number;
  /** The public message (the same as `message`): the operator detail stays on the error. */
  detail: string;
  code: string;
  message: string;
}

/**
 * The one error class certgate throws or passes to `next(err)`. `message` is safe to show to a
 * client; `detail` is for operators (logs, CLI) and may name certificates and issuers.
 */
export class CertgateError extends Error {
  override readonly name = 'CertgateError';
  readonly code: ReasonCode;
  readonly status: number;
  readonly detail: string | undefined;
  /** Express's and Koa's error handlers show `message` to clients only when this is true. */
  readonly expose: boolean;

  constructor(code: ReasonCode, message: string, options?: { detail?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = statusFor(code);
    this.detail = options?.detail;
    this.expose = this.status < 500;
  }

  /**
   * The response body certgate's adapters send for this error (RFC 9457 problem details, served as
   * `application/problem+json` with `status`): for plain Node servers and adapters of your own.
   */
  toProblem(): ProblemBody {
    return {
      type: `urn:certgate:error:${this.code}`,
      title: this.code,
      status: this.status,
      detail: this.message,
      code: this.code,
      message: this.message,
    };
  }
}

/**
 * A refusal's stack names certgate's own files, which Express's default error handler prints
 * outside production: a refusal made per request (never a programming error) carries only its
 * first line, e.g. `CertgateError [CERT_REVOKED]: The client certificate ... has been revoked.`
 */
export function withoutStackFrames(error: CertgateError): CertgateError {
  Object.defineProperty(error, 'stack', {
    value: `${error.name} [${error.code}]: ${error.message}`,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return error;
}

/** Client-facing messages: short and stable; the specifics go to `detail`. */
export const PUBLIC_MESSAGES: Record<ReasonCode, string> = {
  CERT_MISSING: 'A client certificate is required.',
  CERT_UNTRUSTED: 'The client certificate is not issued by a trusted certificate authority.',
  CERT_SIGNATURE_INVALID: 'A signature in the client certificate chain is invalid.',
  CERT_EXPIRED: 'The client certificate or one of its issuers has expired.',
  CERT_NOT_YET_VALID: 'The client certificate or one of its issuers is not yet valid.',
  CERT_REVOKED: 'The client certificate or one of its issuers has been revoked.',
  CERT_PURPOSE_INVALID: 'The client certificate is not valid for this purpose.',
  CERT_ISSUER_NOT_CA: 'A certificate in the chain is not allowed to issue certificates.',
  CERT_MALFORMED: 'The client certificate could not be parsed.',
  CERT_EXTENSION_UNSUPPORTED: 'The client certificate chain has a critical extension this server does not support.',
  CERT_ALGORITHM_UNSUPPORTED:
    'The client certificate chain uses a key or signature algorithm this server does not accept.',
  CERT_NAME_CONSTRAINED: 'A name in the client certificate is outside what its issuing authority may certify.',
  CERT_POLICY_INVALID: 'The client certificate chain has no certificate policy this server accepts.',
  REVOCATION_UNKNOWN: 'The revocation status of the client certificate cannot be determined.',
  IDENTITY_UNKNOWN: 'The client certificate does not map to a known user.',
  ROLE_FORBIDDEN: 'The user of this client certificate lacks the required role.',
  TLS_TOO_WEAK: 'The TLS connection does not meet the required protocol version or cipher strength.',
  TOKEN_NOT_BOUND: 'The access token is not bound to the client certificate of this connection.',
  CONFIG_INVALID: 'Client certificate authentication is misconfigured on this server.',
};
