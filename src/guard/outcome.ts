import { CertgateError, PUBLIC_MESSAGES, withoutStackFrames, type ReasonCode } from '../errors.js';
import type { CertificateInfo } from '../x509/certificate.js';
import type { CertificateOrigin } from '../sources/source.js';
import type { NegotiatedTls } from '../tls/rule.js';

export type { CertificateOrigin } from '../sources/source.js';

/** What a successful guard puts on `req.clientCert` / `ctx.state.clientCert`. */
export interface ClientCert {
  readonly user: string;
  readonly roles: readonly string[];
  readonly certificate: CertificateInfo;
  /** The validated path, leaf first, trust anchor last. */
  readonly chain: readonly CertificateInfo[];
  /** RFC 5280 6.1.5 (g): the certificate policy OIDs valid for the leaf (`['2.5.29.32.0']`: any policy). */
  readonly policies: readonly string[];
  /** `'tls'`: the request's own TLS connection presented it; `'proxy'`: a trusted proxy forwarded it. */
  readonly source: CertificateOrigin;
  /**
   * RFC 8705 `x5t#S256` of the leaf: base64url (no padding) of the SHA-256 of its DER, what a
   * certificate-bound access token names in `cnf["x5t#S256"]`.
   */
  readonly thumbprint: string;
  /**
   * What the client's TLS connection negotiated: `{ protocol, cipher (IANA name), bits }`.
   * Undefined for a certificate a proxy forwarded (the Node connection is the proxy's).
   */
  readonly tls?: NegotiatedTls;
}

/** The one result adapters translate: a verified client, or a refusal to answer with. */
export type GuardOutcome =
  | { readonly ok: true; readonly clientCert: ClientCert }
  | { readonly ok: false; readonly error: CertgateError };

/** A refusal to answer a request with; its error carries no stack frames (see withoutStackFrames). */
export function refusal(code: ReasonCode, detail?: string): GuardOutcome {
  // Made without capturing stack frames, which it would not keep anyway: capturing costs every
  // refusal, and with source maps on (--enable-source-maps, tsx) formatting them parsed certgate's
  // source map on the first refusal: 20 ms of a first request. (Restored before anything else runs.)
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return refusalOf(new CertgateError(code, PUBLIC_MESSAGES[code], detail === undefined ? undefined : { detail }));
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function refusalOf(error: CertgateError): GuardOutcome {
  return Object.freeze({ ok: false as const, error: withoutStackFrames(error) });
}
