import { createHash } from 'node:crypto';
import {
  contentOf,
  cursor,
  DerError,
  encodedOf,
  integerBytes,
  readBoolean,
  readElement,
  readTime,
  smallInteger,
  TAG,
  type Element,
} from '../x509/der.js';
import { readAlgorithm, type AlgorithmIdentifier } from '../x509/certificate.js';
import { canonicalNameKey, distributionPointNames, formatDn, readName, type Name } from '../x509/name.js';
import { SerialIndex } from './serial-index.js';
import { extensionValue, readExtensions, readSigned } from '../x509/signed.js';

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
  /** The distribution point this CRL is partitioned to, if any (generalNameKey form). */
  distributionPoint?: string[];
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
  /** Revoked serials, matched on exact DER content octets (ParsedCertificate.serial). */
  revoked: SerialIndex;
}

export class MalformedCrlError extends Error {}

function implicitBoolean(bytes: Uint8Array, el: Element): boolean {
  return readBoolean(bytes, { ...el, tag: TAG.BOOLEAN });
}

/**
 * revokedCertificates ::= SEQUENCE OF SEQUENCE { userCertificate INTEGER, revocationDate Time,
 * crlEntryExtensions Extensions OPTIONAL }. The hot loop of large CRLs: it records where each
 * serial sits instead of copying it, and decodes entry extensions only where there are some.
 */
function indexEntries(der: Buffer, revokedEl: Element, unusable: string[]): SerialIndex {
  let offsets = new Uint32Array(1024);
  let lengths = new Uint8Array(1024);
  let count = 0;
  let pos = revokedEl.contentStart;
  const end = revokedEl.end;
  while (pos < end) {
    const entry = readElement(der, pos, end);
    if (entry.tag !== TAG.SEQUENCE) throw new DerError('a revoked entry must be a SEQUENCE');
    const serial = readElement(der, entry.contentStart, entry.end);
    integerBytes(der, serial);
    const date = readElement(der, serial.end, entry.end);
    if (date.tag !== TAG.UTC_TIME && date.tag !== TAG.GENERALIZED_TIME) throw new DerError('revocationDate must be a time');
    if (date.end < entry.end) {
      const extensions = readElement(der, date.end, entry.end);
      if (extensions.end !== entry.end) throw new DerError('unexpected extra element in a revoked entry');
      for (const ext of readExtensions(der, extensions)) {
        if (ext.oid === CRL_OID.certificateIssuer) unusable.push('an entry names another certificate issuer (indirect CRL)');
        else if (ext.critical && ext.oid !== CRL_OID.reasonCode && ext.oid !== CRL_OID.invalidityDate) {
          unusable.push(`an entry has an unsupported critical extension ${ext.oid}`);
        }
      }
    }
    const length = serial.end - serial.contentStart;
    if (length <= 255) {
      if (count === offsets.length) {
        const grownOffsets = new Uint32Array(count * 2);
        grownOffsets.set(offsets);
        offsets = grownOffsets;
        const grownLengths = new Uint8Array(count * 2);
        grownLengths.set(lengths);
        lengths = grownLengths;
      }
      offsets[count] = serial.contentStart;
      lengths[count] = length;
      count++;
    }
    pos = entry.end;
  }
  return new SerialIndex(der, offsets, lengths, count);
}

/**
 * Decodes one DER CRL and indexes its revoked serials in one linear pass; throws
 * MalformedCrlError on bad input. Nothing here is trusted until the signature over `tbs` has
 * been verified against the issuer (see CrlChecker).
 */
export function parseCrl(der: Buffer): ParsedCrl {
  try {
    const { tbs: tbsEl, algorithm: outerAlgEl, signature } = readSigned(der);

    const tbs = cursor(der, tbsEl);
    const versionEl = tbs.optional(TAG.INTEGER);
    // RFC 5280 section 5.1.2.1: version, if present, is v2 (1).
    if (versionEl && smallInteger(der, versionEl) !== 1) throw new DerError('CRL version must be v2');
    const innerAlgEl = tbs.next(TAG.SEQUENCE);
    const issuerName = readName(der, tbs.next(TAG.SEQUENCE));
    const thisUpdate = readTime(der, tbs.next());
    const nextTag = tbs.peekTag();
    const nextUpdate = nextTag === TAG.UTC_TIME || nextTag === TAG.GENERALIZED_TIME ? readTime(der, tbs.next()) : undefined;
    const revokedEl = tbs.optional(TAG.SEQUENCE);
    const extensionsEl = tbs.optional(0xa0);
    tbs.end();

    const unusable: string[] = [];
    const revoked = revokedEl ? indexEntries(der, revokedEl, unusable) : new SerialIndex(der, new Uint32Array(0), new Uint8Array(0), 0);

    let crlNumber: bigint | undefined;
    let authorityKeyId: string | undefined;
    const scope: CrlScope = { onlyUserCerts: false, onlyCaCerts: false };
    if (extensionsEl) {
      const wrapper = cursor(der, extensionsEl);
      const extensions = readExtensions(der, wrapper.next(TAG.SEQUENCE));
      wrapper.end();
      for (const ext of extensions) {
        const value = extensionValue(der, ext.value);
        switch (ext.oid) {
          case CRL_OID.crlNumber: {
            // RFC 5280 section 5.2.3: CRLNumber is non-critical.
            if (ext.critical) unusable.push('its CRL number extension is marked critical');
            const n = integerBytes(der, value);
            crlNumber = BigInt(`0x${n.toString('hex')}`);
            break;
          }
          case CRL_OID.authorityKeyIdentifier: {
            const keyId = cursor(der, value, TAG.SEQUENCE).optional(0x80);
            if (keyId) authorityKeyId = contentOf(der, keyId).toString('hex');
            break;
          }
          case CRL_OID.issuingDistributionPoint: {
            // RFC 5280 section 5.2.5: the distribution point and the user/CA scope flags are
            // supported; a CRL partitioned by reason, or an indirect CRL, is not.
            const idp = cursor(der, value, TAG.SEQUENCE);
            const dp = idp.optional(0xa0);
            if (dp) scope.distributionPoint = distributionPointNames(der, dp);
            const user = idp.optional(0x81);
            const ca = idp.optional(0x82);
            if (user) scope.onlyUserCerts = implicitBoolean(der, user);
            if (ca) scope.onlyCaCerts = implicitBoolean(der, ca);
            if (idp.optional(0x83)) unusable.push('it covers only some revocation reasons');
            const indirect = idp.optional(0x84);
            if (indirect && implicitBoolean(der, indirect)) unusable.push('it is an indirect CRL');
            const attr = idp.optional(0x85);
            if (attr && implicitBoolean(der, attr)) unusable.push('it covers attribute certificates only');
            idp.end();
            break;
          }
          case CRL_OID.deltaCrlIndicator:
            // RFC 5280 section 5.2.4: a delta CRL lists only changes; it is never complete alone.
            unusable.push('it is a delta CRL');
            break;
          default:
            if (ext.critical) unusable.push(`it has an unsupported critical extension ${ext.oid}`);
        }
      }
    }

    // RFC 5280 section 5.2.3: conforming CRL issuers MUST include the CRL number, and certgate
    // needs it to tell a newer CRL from an older one.
    if (crlNumber === undefined) unusable.push('it has no CRL number');

    return {
      der,
      id: createHash('sha256').update(der).digest('hex'),
      tbs: encodedOf(der, tbsEl),
      signatureAlgorithm: readAlgorithm(der, outerAlgEl),
      signature,
      signatureAlgorithmsMatch: encodedOf(der, outerAlgEl).equals(encodedOf(der, innerAlgEl)),
      issuerName,
      issuerKey: canonicalNameKey(issuerName),
      issuerDN: formatDn(issuerName),
      thisUpdate,
      nextUpdate,
      crlNumber,
      authorityKeyId,
      scope,
      unusableBecause: unusable.length > 0 ? [...new Set(unusable)].join('; ') : undefined,
      revoked,
    };
  } catch (err) {
    if (err instanceof MalformedCrlError) throw err;
    throw new MalformedCrlError(err instanceof DerError ? err.message : `undecodable CRL (${(err as Error).message})`);
  }
}
