import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier as AlgorithmIdentifierSchema } from '@peculiar/asn1-x509';
import {
  BasicOCSPResponse,
  CertID,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  TBSRequest,
  id_pkix_ocsp_basic,
} from '@peculiar/asn1-ocsp';
import { readRoot, TAG } from '../x509/der.js';
import { readAlgorithm, type AlgorithmIdentifier, type ParsedCertificate } from '../x509/certificate.js';
import { canonicalNameKey, readName } from '../x509/name.js';

/**
 * OCSP messages (RFC 6960): the request for one certificate, and the decoded basic response.
 * The ASN.1 is @peculiar/asn1-ocsp's; this module turns it into plain values and refuses
 * responses that are not a successful basic response. Whether a response may be believed is
 * decided in ocsp-validation.ts.
 */

const SHA1 = '1.3.14.3.2.26';
/**
 * CertID hash algorithms a response may use; requests use SHA-1, which every responder supports
 * (RFC 5019 section 2.1.1).
 */
const CERT_ID_HASHES: Record<string, string> = {
  [SHA1]: 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** What is wrong with an OCSP exchange, for code (the message is for operators). */
export type OcspProblem =
  | 'malformed'
  | 'responder-status'
  | 'http-status'
  | 'no-match'
  | 'unauthorized-signer'
  | 'bad-signature'
  | 'not-yet-valid'
  | 'stale';

/**
 * Why an OCSP answer cannot be used. `aboutCertificate`: the problem concerns this question only
 * (a refusal of the request, a bad or mismatched answer), so the responder is not backed off for
 * every other certificate; otherwise the responder itself is failing.
 */
export class OcspProtocolError extends Error {
  constructor(
    message: string,
    readonly aboutCertificate = false,
    readonly problem: OcspProblem = 'malformed',
  ) {
    super(message);
  }
}

/** Responder statuses that refuse this request rather than report an outage (RFC 6960 section 2.3). */
const REQUEST_REFUSALS = new Set<number>([
  OCSPResponseStatus.malformedRequest,
  OCSPResponseStatus.sigRequired,
  OCSPResponseStatus.unauthorized,
]);

export type OcspCertStatus = 'good' | 'revoked' | 'unknown';

export interface OcspSingleResponse {
  hashAlgorithm: string;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  serial: Buffer;
  status: OcspCertStatus;
  revokedAt?: Date;
  /** CRLReason code, when the responder gave one. */
  reason?: number;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export type OcspResponderId = { nameKey: string } | { keyHash: Buffer };

export interface OcspBasicResponse {
  /** The signed ResponseData, exactly as received. */
  tbs: Buffer;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Buffer;
  /** Certificates the responder attached (a delegated responder's own certificate), DER. */
  certs: Buffer[];
  responderId: OcspResponderId;
  producedAt: Date;
  responses: OcspSingleResponse[];
}

function hashOf(algorithm: string, data: Buffer): Buffer | undefined {
  const name = CERT_ID_HASHES[algorithm];
  return name ? createHash(name).update(data).digest() : undefined;
}

/**
 * The DER OCSPRequest asking about `cert`, issued by `issuer` (no nonce: answers stay cacheable,
 * as RFC 5019 intends).
 */
export function encodeOcspRequest(cert: ParsedCertificate, issuer: ParsedCertificate): Buffer {
  const certId = new CertID({
    hashAlgorithm: new AlgorithmIdentifierSchema({ algorithm: SHA1, parameters: null }),
    issuerNameHash: new OctetString(hashOf(SHA1, cert.issuerNameDer) as Buffer),
    issuerKeyHash: new OctetString(hashOf(SHA1, issuer.publicKeyBits) as Buffer),
    serialNumber: new Uint8Array(cert.serial).buffer,
  });
  const tbsRequest = new TBSRequest({ requestList: [new Request({ reqCert: certId })] });
  const request = new OCSPRequest({ tbsRequest });
  return Buffer.from(AsnConvert.serialize(request));
}

/**
 * Whether a single response's CertID names `cert` as issued by `issuer`. The name hash is over the
 * certificate's issuer field (RFC 6960 section 4.1.1); responders that hash the issuer's own
 * subject encoding (OpenSSL does) are matched too, the path having established they are one name.
 */
export function answersFor(single: OcspSingleResponse, cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  if (!single.serial.equals(cert.serial)) return false;
  const keyHash = hashOf(single.hashAlgorithm, issuer.publicKeyBits);
  if (!keyHash?.equals(single.issuerKeyHash)) return false;
  const names = [cert.issuerNameDer, issuer.subjectNameDer];
  return names.some((name) => hashOf(single.hashAlgorithm, name)?.equals(single.issuerNameHash));
}

/** Whether the ResponderID names this certificate (by subject, or by the SHA-1 of its key). */
export function responderIdNames(id: OcspResponderId, cert: ParsedCertificate): boolean {
  if ('nameKey' in id) return id.nameKey === cert.subjectKey;
  return (hashOf(SHA1, cert.publicKeyBits) as Buffer).equals(id.keyHash);
}

const STATUS_NAMES: Record<number, string> = {
  [OCSPResponseStatus.malformedRequest]: 'malformedRequest',
  [OCSPResponseStatus.internalError]: 'internalError',
  [OCSPResponseStatus.tryLater]: 'tryLater',
  [OCSPResponseStatus.sigRequired]: 'sigRequired',
  [OCSPResponseStatus.unauthorized]: 'unauthorized',
};

/** Decodes an OCSPResponse; throws OcspProtocolError unless it is a successful basic response. */
export function parseOcspResponse(der: Buffer): OcspBasicResponse {
  let outer: OCSPResponse;
  try {
    outer = AsnConvert.parse(der, OCSPResponse);
  } catch {
    throw new OcspProtocolError('the response is not a DER OCSPResponse');
  }
  if (outer.responseStatus !== OCSPResponseStatus.successful) {
    const status = outer.responseStatus;
    const why = `the responder answered ${STATUS_NAMES[status] ?? `status ${status}`}`;
    throw new OcspProtocolError(why, REQUEST_REFUSALS.has(status), 'responder-status');
  }
  if (!outer.responseBytes) throw new OcspProtocolError('the successful response carries no responseBytes');
  const { responseType } = outer.responseBytes;
  if (responseType !== id_pkix_ocsp_basic) throw new OcspProtocolError(`unsupported response type ${responseType}`);
  try {
    const basic = AsnConvert.parse(outer.responseBytes.response.buffer, BasicOCSPResponse) as BasicOCSPResponse & {
      tbsResponseDataRaw?: ArrayBuffer;
    };
    if (!basic.tbsResponseDataRaw) throw new OcspProtocolError('the signed part of the response cannot be located');
    const data = basic.tbsResponseData;
    const algDer = Buffer.from(AsnConvert.serialize(basic.signatureAlgorithm));
    let responderId: OcspResponderId;
    if (data.responderID.byKey) responderId = { keyHash: Buffer.from(data.responderID.byKey.buffer) };
    else if (data.responderID.byName) {
      const nameDer = Buffer.from(AsnConvert.serialize(data.responderID.byName));
      responderId = { nameKey: canonicalNameKey(readName(nameDer, readRoot(nameDer, TAG.SEQUENCE))) };
    } else throw new OcspProtocolError('the response has no responderID');
    return {
      tbs: Buffer.from(basic.tbsResponseDataRaw),
      signatureAlgorithm: readAlgorithm(algDer, readRoot(algDer, TAG.SEQUENCE)),
      signature: Buffer.from(basic.signature),
      certs: (basic.certs ?? []).map((c) => Buffer.from(AsnConvert.serialize(c))),
      responderId,
      producedAt: data.producedAt,
      responses: data.responses.map((r) => {
        const status = r.certStatus;
        const single: OcspSingleResponse = {
          hashAlgorithm: r.certID.hashAlgorithm.algorithm,
          issuerNameHash: Buffer.from(r.certID.issuerNameHash.buffer),
          issuerKeyHash: Buffer.from(r.certID.issuerKeyHash.buffer),
          serial: Buffer.from(r.certID.serialNumber),
          status: status.revoked ? 'revoked' : status.good !== undefined ? 'good' : 'unknown',
          thisUpdate: r.thisUpdate,
        };
        if (status.revoked) {
          single.revokedAt = status.revoked.revocationTime;
          if (status.revoked.revocationReason !== undefined) single.reason = status.revoked.revocationReason.reason;
        }
        if (r.nextUpdate) single.nextUpdate = r.nextUpdate;
        return single;
      }),
    };
  } catch (err) {
    if (err instanceof OcspProtocolError) throw err;
    throw new OcspProtocolError(`the basic response does not decode (${(err as Error).message})`);
  }
}
