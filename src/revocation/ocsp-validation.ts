import {
  KEY_USAGE,
  MalformedCertificateError,
  OID,
  parseCertificate,
  type ParsedCertificate,
} from '../x509/certificate.js';
import { verifySignature } from '../x509/signature.js';
import { keyPolicyViolation } from '../x509/key-policy.js';
import { END_ENTITY_EXTENSIONS, unprocessedCriticalExtensions } from '../path/extensions.js';
import { validityFailure } from '../path/certificate-rules.js';
import { afterEnd, beforeStart, firstInstantAfter } from '../time/window.js';
import {
  answersFor,
  OcspProtocolError,
  responderIdNames,
  type OcspBasicResponse,
  type OcspCertStatus,
  type OcspSingleResponse,
} from './ocsp.js';

/**
 * Whether an OCSP response may be believed about one certificate (RFC 6960 sections 3.2 and
 * 4.2.2.2): it names the certificate (CertID), it is signed by the certificate's issuer or by a
 * responder certificate that issuer signed for id-kp-OCSPSigning, and it is current.
 */
export interface OcspValidationContext {
  /**
   * Epoch ms the answer must be current at: the instant a live answer arrived (read after the
   * response came in, never before the request left), or verify's explicit `at`.
   */
  at: number;
  clockToleranceMs: number;
  legacyAlgorithms: boolean;
  /**
   * Responder certificates trusted directly (RFC 6960 section 4.2.2.2 (1), a local configuration
   * of OCSP signing authority): a response they sign is believed about any certificate, with no
   * id-kp-OCSPSigning and no chain to the issuer; only their validity period and key are checked.
   */
  responderCertificates?: readonly ParsedCertificate[];
}

/** How old an answer without nextUpdate may be (OpenSSL's default -validity_period is the same). */
export const MAX_AGE_WITHOUT_NEXT_UPDATE_MS = 300_000;

/**
 * CRLReason certificateHold: the one revocation that can be lifted (RFC 5280 section 5.3.1,
 * removeFromCRL).
 */
const CERTIFICATE_HOLD = 6;

export interface OcspVerdict {
  status: OcspCertStatus;
  revokedAt?: Date;
  reason?: number;
  thisUpdate: Date;
  nextUpdate?: Date;
  /**
   * Epoch ms from which the answer may no longer be relied on: the second after nextUpdate, or
   * after thisUpdate + MAX_AGE_WITHOUT_NEXT_UPDATE_MS without one (plus the clock tolerance).
   * Infinity for a final revocation, which no later answer can undo.
   */
  usableUntil: number;
  /** Who signed: 'the issuer' or the delegated responder's subject. */
  signer: string;
}

/** Throws OcspProtocolError saying why the response cannot be believed. */
export function validateOcspResponse(
  response: OcspBasicResponse,
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  ctx: OcspValidationContext,
): OcspVerdict {
  const single = answerAbout(response, cert, issuer);
  const signer = responseSigner(response, issuer, ctx);
  if (!signer) {
    const trusted = ctx.responderCertificates?.length ? ', nor a locally trusted responder certificate' : '';
    const why =
      'the response is signed by neither the issuer nor a responder certificate the issuer signed for OCSP signing' +
      trusted;
    throw new OcspProtocolError(why, true, 'unauthorized-signer');
  }
  const { signatureAlgorithm, tbs, signature } = response;
  const legacy = ctx.legacyAlgorithms;
  const verified = safeVerify(() => verifySignature(signatureAlgorithm, tbs, signature, signer.publicKey(), legacy));
  if (verified !== true) {
    const why = `the response signature does not verify${verified ? ` (${verified})` : ''}`;
    throw new OcspProtocolError(why, true, 'bad-signature');
  }
  const verdict: OcspVerdict = {
    status: single.status,
    thisUpdate: single.thisUpdate,
    usableUntil: currency(single, ctx),
    signer: signerName(signer, issuer, ctx),
  };
  if (single.nextUpdate) verdict.nextUpdate = single.nextUpdate;
  if (single.revokedAt) verdict.revokedAt = single.revokedAt;
  if (single.reason !== undefined) verdict.reason = single.reason;
  return verdict;
}

/**
 * The single response about `cert`. Several (a SHA-1 and a SHA-256 CertID, say): a revocation
 * in any wins.
 */
function answerAbout(
  response: OcspBasicResponse,
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
): OcspSingleResponse {
  const matching = response.responses.filter((r) => answersFor(r, cert, issuer));
  const single =
    matching.find((r) => r.status === 'revoked') ?? matching.find((r) => r.status === 'good') ?? matching[0];
  if (!single) {
    const why = 'the response does not answer for this certificate (no matching CertID)';
    throw new OcspProtocolError(why, true, 'no-match');
  }
  return single;
}

/**
 * Whether the (validly signed) answer is current at `ctx.at`, at one-second granularity
 * (src/time/window.ts); returns its usableUntil, throws when it cannot be relied on.
 *
 * A signed `revoked` answer fails closed:
 * - early (thisUpdate ahead of `at`, the responder's clock running ahead): still revoked. Being
 *   early cannot make a revocation untrue, and treating it as "no answer" would let a revoked
 *   certificate through under whenUnavailable 'allow'.
 * - stale (past nextUpdate, or older than MAX_AGE_WITHOUT_NEXT_UPDATE_MS without one): still
 *   revoked, and final (usableUntil Infinity), because a revocation is never lifted (RFC 5280
 *   section 5.3.1), except certificateHold: a stale hold may have been released since, so it is
 *   no answer like any stale answer.
 */
function currency(single: OcspSingleResponse, ctx: OcspValidationContext): number {
  const tol = ctx.clockToleranceMs;
  const revoked = single.status === 'revoked';
  const final = revoked && single.reason !== CERTIFICATE_HOLD;
  if (!revoked && beforeStart(single.thisUpdate.getTime(), ctx.at, tol)) {
    const why = `the answer is not yet valid (thisUpdate ${single.thisUpdate.toISOString()})`;
    throw new OcspProtocolError(why, true, 'not-yet-valid');
  }
  if (final) return Infinity;
  if (single.nextUpdate) {
    // RFC 6960 section 4.2.2.1: an answer whose nextUpdate is earlier than the local time is
    // unreliable; nextUpdate, a whole second, is current through that second.
    if (afterEnd(single.nextUpdate.getTime(), ctx.at, tol)) {
      const why = `the answer is stale (nextUpdate ${single.nextUpdate.toISOString()})`;
      throw new OcspProtocolError(why, true, 'stale');
    }
    return firstInstantAfter(single.nextUpdate.getTime(), tol);
  }
  // RFC 6960 section 4.2.2.1: no nextUpdate means newer information is always available, so an
  // old answer is a possible replay.
  const limit = single.thisUpdate.getTime() + MAX_AGE_WITHOUT_NEXT_UPDATE_MS;
  if (afterEnd(limit, ctx.at, tol)) {
    const when = single.thisUpdate.toISOString();
    const why = `the answer has no nextUpdate and was produced at ${when}, over 5 minutes ago`;
    throw new OcspProtocolError(why, true, 'stale');
  }
  return firstInstantAfter(limit, tol);
}

function signerName(signer: ParsedCertificate, issuer: ParsedCertificate, ctx: OcspValidationContext): string {
  if (signer === issuer) return 'the issuer';
  const local = ctx.responderCertificates?.includes(signer) ? 'the locally trusted responder ' : '';
  return `${local}"${signer.subjectDN}"`;
}

/**
 * The issuer itself; a locally trusted responder certificate (ocsp.responderCertificates) valid at
 * `ctx.at`; or a delegated responder: a certificate in the response, issued and signed by the
 * issuer, allowing id-kp-OCSPSigning explicitly (anyExtendedKeyUsage does not count), valid at
 * `ctx.at`. Its own revocation is not checked (RFC 6960 section 4.2.2.2.1: id-pkix-ocsp-nocheck
 * is the norm).
 */
function responseSigner(
  response: OcspBasicResponse,
  issuer: ParsedCertificate,
  ctx: OcspValidationContext,
): ParsedCertificate | undefined {
  if (responderIdNames(response.responderId, issuer)) return issuer;
  for (const trusted of ctx.responderCertificates ?? []) {
    if (!responderIdNames(response.responderId, trusted)) continue;
    if (validityFailure(trusted, ctx.at, ctx.clockToleranceMs)) continue;
    if (keyPolicyViolation(trusted.key, ctx.legacyAlgorithms)) continue;
    return trusted;
  }
  for (const der of response.certs) {
    let candidate: ParsedCertificate;
    try {
      candidate = parseCertificate(der);
    } catch (err) {
      if (err instanceof MalformedCertificateError) continue;
      throw err;
    }
    if (!responderIdNames(response.responderId, candidate)) continue;
    if (delegationProblem(candidate, issuer, ctx) === undefined) return candidate;
  }
  return undefined;
}

function delegationProblem(
  responder: ParsedCertificate,
  issuer: ParsedCertificate,
  ctx: OcspValidationContext,
): string | undefined {
  if (responder.issuerKey !== issuer.subjectKey) return 'not issued by the issuer';
  if (!responder.extKeyUsage?.includes(OID.ocspSigning)) return 'no id-kp-OCSPSigning';
  const { keyUsage } = responder;
  if (keyUsage !== undefined && !(keyUsage & KEY_USAGE.digitalSignature)) return 'keyUsage lacks digitalSignature';
  if (unprocessedCriticalExtensions(responder, END_ENTITY_EXTENSIONS).length > 0)
    return 'unsupported critical extension';
  if (validityFailure(responder, ctx.at, ctx.clockToleranceMs)) return 'outside its validity period';
  if (keyPolicyViolation(responder.key, ctx.legacyAlgorithms)) return 'weak key';
  if (!responder.signatureAlgorithmsMatch) return 'signature algorithms differ';
  const { signatureAlgorithm, tbs, signature } = responder;
  const legacy = ctx.legacyAlgorithms;
  const signed = safeVerify(() => verifySignature(signatureAlgorithm, tbs, signature, issuer.publicKey(), legacy));
  return signed === true ? undefined : 'not signed by the issuer';
}

/** true, false, or the reason the signature could not be checked at all (unsupported algorithm). */
function safeVerify(check: () => boolean): boolean | string {
  try {
    return check();
  } catch (err) {
    return (err as Error).message;
  }
}
