import { KEY_USAGE, MalformedCertificateError, OID, parseCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { verifySignature } from '../x509/signature.js';
import { keyPolicyViolation } from '../x509/key-policy.js';
import { END_ENTITY_EXTENSIONS, unprocessedCriticalExtensions } from '../path/extensions.js';
import { answersFor, OcspProtocolError, responderIdNames, type OcspBasicResponse, type OcspCertStatus } from './ocsp.js';

/**
 * Whether an OCSP response may be believed about one certificate (RFC 6960 sections 3.2 and
 * 4.2.2.2): it names the certificate (CertID), it is signed by the certificate's issuer or by a
 * responder certificate that issuer signed for id-kp-OCSPSigning, and it is current.
 */
export interface OcspValidationContext {
  /** Epoch ms the answer must be current at. */
  at: number;
  clockToleranceMs: number;
  legacyAlgorithms: boolean;
}

/** How old an answer without nextUpdate may be (OpenSSL's default -validity_period is the same). */
export const MAX_AGE_WITHOUT_NEXT_UPDATE_MS = 300_000;

export interface OcspVerdict {
  status: OcspCertStatus;
  revokedAt?: Date;
  reason?: number;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Epoch ms until which the answer may be relied on: nextUpdate, or 5 minutes after thisUpdate without one. */
  usableUntil: number;
  /** Who signed: 'the issuer' or the delegated responder's subject. */
  signer: string;
}

/** Throws OcspProtocolError saying why the response cannot be believed. */
export function validateOcspResponse(response: OcspBasicResponse, cert: ParsedCertificate, issuer: ParsedCertificate, ctx: OcspValidationContext): OcspVerdict {
  // Several entries for one certificate (a SHA-1 and a SHA-256 CertID, say): a revocation in any wins.
  const matching = response.responses.filter((r) => answersFor(r, cert, issuer));
  const single = matching.find((r) => r.status === 'revoked') ?? matching.find((r) => r.status === 'good') ?? matching[0];
  if (!single) throw new OcspProtocolError('the response does not answer for this certificate (no matching CertID)', true);

  const signer = responseSigner(response, issuer, ctx);
  if (!signer) throw new OcspProtocolError('the response is signed by neither the issuer nor a responder certificate the issuer signed for OCSP signing', true);
  const verified = safeVerify(() => verifySignature(response.signatureAlgorithm, response.tbs, response.signature, signer.publicKey(), ctx.legacyAlgorithms));
  if (verified !== true) throw new OcspProtocolError(`the response signature does not verify${verified ? ` (${verified})` : ''}`, true);

  const tol = ctx.clockToleranceMs;
  if (single.thisUpdate.getTime() > ctx.at + tol) throw new OcspProtocolError(`the answer is not yet valid (thisUpdate ${single.thisUpdate.toISOString()})`, true);
  if (single.nextUpdate) {
    if (single.nextUpdate.getTime() < ctx.at - tol) throw new OcspProtocolError(`the answer is stale (nextUpdate ${single.nextUpdate.toISOString()})`, true);
  } else if (single.thisUpdate.getTime() < ctx.at - MAX_AGE_WITHOUT_NEXT_UPDATE_MS - tol) {
    // RFC 6960 section 4.2.2.1: no nextUpdate means newer information is always available, so an
    // old answer is a possible replay.
    throw new OcspProtocolError(`the answer has no nextUpdate and was produced at ${single.thisUpdate.toISOString()}, over 5 minutes ago`, true);
  }
  const usableUntil = single.nextUpdate ? single.nextUpdate.getTime() + tol : single.thisUpdate.getTime() + MAX_AGE_WITHOUT_NEXT_UPDATE_MS + tol;
  const verdict: OcspVerdict = { status: single.status, thisUpdate: single.thisUpdate, usableUntil, signer: signer === issuer ? 'the issuer' : `"${signer.subjectDN}"` };
  if (single.nextUpdate) verdict.nextUpdate = single.nextUpdate;
  if (single.revokedAt) verdict.revokedAt = single.revokedAt;
  if (single.reason !== undefined) verdict.reason = single.reason;
  return verdict;
}

/**
 * The issuer itself, or a delegated responder: a certificate in the response, issued and signed
 * by the issuer, allowing id-kp-OCSPSigning explicitly (anyExtendedKeyUsage does not count), valid
 * now. Its own revocation is not checked (RFC 6960 section 4.2.2.2.1: id-pkix-ocsp-nocheck is the norm).
 */
function responseSigner(response: OcspBasicResponse, issuer: ParsedCertificate, ctx: OcspValidationContext): ParsedCertificate | undefined {
  if (responderIdNames(response.responderId, issuer)) return issuer;
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

function delegationProblem(responder: ParsedCertificate, issuer: ParsedCertificate, ctx: OcspValidationContext): string | undefined {
  if (responder.issuerKey !== issuer.subjectKey) return 'not issued by the issuer';
  if (!responder.extKeyUsage?.includes(OID.ocspSigning)) return 'no id-kp-OCSPSigning';
  if (responder.keyUsage !== undefined && !(responder.keyUsage & KEY_USAGE.digitalSignature)) return 'keyUsage lacks digitalSignature';
  if (unprocessedCriticalExtensions(responder, END_ENTITY_EXTENSIONS).length > 0) return 'unsupported critical extension';
  if (ctx.at + ctx.clockToleranceMs < responder.notBefore.getTime() || ctx.at - ctx.clockToleranceMs > responder.notAfter.getTime() + 1000) return 'outside its validity period';
  if (keyPolicyViolation(responder.key, ctx.legacyAlgorithms)) return 'weak key';
  if (!responder.signatureAlgorithmsMatch) return 'signature algorithms differ';
  const signed = safeVerify(() => verifySignature(responder.signatureAlgorithm, responder.tbs, responder.signature, issuer.publicKey(), ctx.legacyAlgorithms));
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
