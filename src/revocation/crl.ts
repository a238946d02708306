import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  CertificateList,
  CRLNumber,
  IssuingDistributionPoint,
  type AlgorithmIdentifier,
  type Name,
} from '@peculiar/asn1-x509';
import { canonicalNameKey, formatDn } from '../x509/name.js';
import { outerLength, serialHex } from '../x509/certificate.js';

const CRL_OID = {
  authorityKeyIdentifier: '2.5.29.35',
  crlNumber: '2.5.29.20',
  issuingDistributionPoint: '2.5.29.28',
  deltaCrlIndicator: '2.5.29.27',
  freshestCrl: '2.5.29.46',
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  certificateIssuer: '2.5.29.29',
} as const;

/** What a CRL covers (RFC 5280 section 5.2.5, issuingDistributionPoint). */
export interface CrlScope {
  onlyUserCerts: boolean;
  onlyCaCerts: boolean;
}

export interface ParsedCrl {
  der: Buffer;
  id: string;
  tbs: Buffer;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Buffer;
  signatureAlgorithmsMatch: boolean;
  issuerName: Name;
  issuerKey: string;
  issuerDN: string;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  crlNumber: bigint | undefined;
  authorityKeyId: string | undefined;
  scope: CrlScope;
  /** Why this CRL cannot be used to decide anything, if it cannot (unsupported critical parts). */
  unusableBecause: string | undefined;
  /** Revoked serial numbers (as {@link serialHex} prints them): one hash lookup per check. */
  revoked: ReadonlySet<string>;
}

export class MalformedCrlError extends Error {}

/** Decodes one DER CRL and indexes its revoked serials; throws MalformedCrlError on bad input. */
export function parseCrl(der: Buffer): ParsedCrl {
  let asn: CertificateList;
  try {
    asn = AsnConvert.parse(der, CertificateList);
  } catch (err) {
    throw new MalformedCrlError(`not a DER X.509 CRL (${(err as Error).message})`);
  }
  try {
    if (outerLength(der) !== der.length) throw new MalformedCrlError('trailing bytes after the CRL');
    const tbs = asn.tbsCertList;
    const unusable: string[] = [];
    let crlNumber: bigint | undefined;
    let authorityKeyId: string | undefined;
    const scope: CrlScope = { onlyUserCerts: false, onlyCaCerts: false };
    for (const ext of tbs.crlExtensions ?? []) {
      const value = ext.extnValue.buffer;
      switch (ext.extnID) {
        case CRL_OID.crlNumber:
          // The schema decodes CRLNumber as a JS number: exact up to 2^53, enough to order CRLs.
          crlNumber = BigInt(AsnConvert.parse(value, CRLNumber).value);
          break;
        case CRL_OID.authorityKeyIdentifier: {
          const aki = AsnConvert.parse(value, AuthorityKeyIdentifier);
          if (aki.keyIdentifier) authorityKeyId = Buffer.from(aki.keyIdentifier.buffer).toString('hex');
          break;
        }
        case CRL_OID.issuingDistributionPoint: {
          // RFC 5280 section 5.2.5: only the user/CA scope flags are supported; a CRL partitioned by
          // distribution point or reason, or an indirect CRL, would need processing certgate lacks.
          const idp = AsnConvert.parse(value, IssuingDistributionPoint);
          scope.onlyUserCerts = idp.onlyContainsUserCerts;
          scope.onlyCaCerts = idp.onlyContainsCACerts;
          if (idp.distributionPoint) unusable.push('it is partitioned by distribution point');
          if (idp.onlySomeReasons) unusable.push('it covers only some revocation reasons');
          if (idp.indirectCRL) unusable.push('it is an indirect CRL');
          if (idp.onlyContainsAttributeCerts) unusable.push('it covers attribute certificates only');
          break;
        }
        case CRL_OID.deltaCrlIndicator:
          // RFC 5280 section 5.2.4: a delta CRL lists only changes; it is never complete on its own.
          unusable.push('it is a delta CRL');
          break;
        case CRL_OID.freshestCrl:
          break;
        default:
          if (ext.critical) unusable.push(`it has an unsupported critical extension ${ext.extnID}`);
      }
    }
    const revoked = new Set<string>();
    for (const entry of tbs.revokedCertificates ?? []) {
      for (const ext of entry.crlEntryExtensions ?? []) {
        if (ext.extnID === CRL_OID.certificateIssuer) unusable.push('an entry names another certificate issuer (indirect CRL)');
        else if (ext.critical && ext.extnID !== CRL_OID.reasonCode && ext.extnID !== CRL_OID.invalidityDate) {
          unusable.push(`an entry has an unsupported critical extension ${ext.extnID}`);
        }
      }
      revoked.add(serialHex(entry.userCertificate));
    }
    return {
      der,
      id: createHash('sha256').update(der).digest('hex'),
      tbs: Buffer.from(asn.tbsCertListRaw ?? AsnConvert.serialize(tbs)),
      signatureAlgorithm: asn.signatureAlgorithm,
      signature: Buffer.from(asn.signature),
      signatureAlgorithmsMatch: Buffer.from(AsnConvert.serialize(asn.signatureAlgorithm)).equals(
        Buffer.from(AsnConvert.serialize(tbs.signature)),
      ),
      issuerName: tbs.issuer,
      issuerKey: canonicalNameKey(tbs.issuer),
      issuerDN: formatDn(tbs.issuer),
      thisUpdate: tbs.thisUpdate.getTime(),
      nextUpdate: tbs.nextUpdate?.getTime(),
      crlNumber,
      authorityKeyId,
      scope,
      unusableBecause: unusable.length > 0 ? [...new Set(unusable)].join('; ') : undefined,
      revoked,
    };
  } catch (err) {
    if (err instanceof MalformedCrlError) throw err;
    throw new MalformedCrlError(`undecodable CRL content (${(err as Error).message})`);
  }
}
