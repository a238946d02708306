import { CertgateError, PUBLIC_MESSAGES, withoutStackFrames, type ReasonCode } from '../errors.js';
import type { CertificateInfo } from '../x509/certificate.js';
import type { CertificateOrigin } from '../sources/source.js';

export type { CertificateOrigin } from '../sources/source.js';

/** What a successful guard puts on `req.clientCert` / `ctx.state.clientCert`. */
export interface ClientCert {
  readonly user: string;
  readonly roles: readonly string[];
  readonly certificate: CertificateInfo;
  /** The validated path, leaf first, trust anchor last. */
  readonly chain: readonly CertificateInfo[];
  /** `'tls'`: the request's own TLS connection presented it; `'proxy'`: a trusted proxy forwarded it. */
  readonly source: CertificateOrigin;
}

/** The one result adapters translate: a verified client, or a refusal to answer with. */
export type GuardOutcome =
  | { readonly ok: true; readonly clientCert: ClientCert }
  | { readonly ok: false; readonly error: CertgateError };

/** A refusal to answer a request with; its error carries no stack frames (see withoutStackFrames). */
export function refusal(code: ReasonCode, detail?: string): GuardOutcome {
  const error = new CertgateError(code, PUBLIC_MESSAGES[code], detail === undefined ? undefined : { detail });
  return refusalOf(error);
}

export function refusalOf(error: CertgateError): GuardOutcome {
  return Object.freeze({ ok: false as const, error: withoutStackFrames(error) });
}
