import { cursor, DerError, namedBits, readBitString, TAG, type Element } from './der.js';
import { readDistributionPointName, readGeneralNames, resolveDistributionPointName } from './general-name.js';
import { canonicalNameKey, type Name } from './name.js';

/**
 * RFC 5280 section 4.2.1.13: CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint,
 * DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL,
 * reasons [1] ReasonFlags OPTIONAL, cRLIssuer [2] GeneralNames OPTIONAL }: what RFC 5280 section
 * 6.3.3 matches CRLs against.
 */
export interface DistributionPoint {
  /**
   * The point's names (generalNameKey form), a nameRelativeToCRLIssuer appended to its CRL
   * issuer's name (the cRLIssuer, else the certificate's issuer); undefined when not given.
   */
  readonly names?: readonly string[];
  /** ReasonFlags as bits (bit n is 1 << n); undefined: every reason. */
  readonly reasons?: number;
  /**
   * canonicalNameKey of the cRLIssuer's directory names: the CRL is an indirect CRL of that
   * entity (RFC 5280 section 5.2.5). Undefined: the certificate's issuer issues it.
   */
  readonly crlIssuers?: readonly string[];
}

/**
 * ReasonFlags bits 1 to 8 (keyCompromise to aACompromise): what a set of CRLs must cover between
 * them before a certificate's status is known (RFC 5280 section 6.3.3, reasons_mask). Bit 0
 * (unused) is not a reason.
 */
export const ALL_REASONS = 0x1fe;

/** ReasonFlags ::= BIT STRING, as bits (bit n is 1 << n), given the element (any tag). */
export function readReasonFlags(bytes: Uint8Array, el: Element): number {
  return namedBits(readBitString(bytes, { ...el, tag: TAG.BIT_STRING }).data, 9) & ALL_REASONS;
}

/** The extension's value, its relative names resolved against `issuerName` (the certificate's issuer). */
export function readDistributionPoints(bytes: Uint8Array, root: Element, issuerName: Name): DistributionPoint[] {
  const c = cursor(bytes, root, TAG.SEQUENCE);
  if (c.done) throw new DerError('empty cRLDistributionPoints');
  const points: DistributionPoint[] = [];
  while (!c.done) {
    const dp = cursor(bytes, c.next(TAG.SEQUENCE));
    const nameEl = dp.optional(0xa0);
    const reasonsEl = dp.optional(0x81);
    const issuerEl = dp.optional(0xa2);
    dp.end();
    // RFC 5280 section 4.2.1.13: "either distributionPoint or cRLIssuer MUST be present".
    if (!nameEl && !issuerEl) throw new DerError('a distribution point names neither a point nor a CRL issuer');
    const issuerNames = issuerEl
      ? readGeneralNames(bytes, issuerEl).flatMap((n) => (n.type === 'directoryName' ? [n.name] : []))
      : undefined;
    const point: { names?: readonly string[]; reasons?: number; crlIssuers?: readonly string[] } = {};
    if (nameEl) {
      const crlIssuer = issuerNames?.[0] ?? issuerName;
      point.names = resolveDistributionPointName(readDistributionPointName(bytes, nameEl), crlIssuer);
    }
    if (reasonsEl) point.reasons = readReasonFlags(bytes, reasonsEl);
    if (issuerNames) point.crlIssuers = issuerNames.map(canonicalNameKey);
    points.push(Object.freeze(point));
  }
  return points;
}
