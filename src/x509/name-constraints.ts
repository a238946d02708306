import { cursor, DerError, smallInteger, TAG, type Element } from './der.js';
import { readGeneralName, type GeneralName } from './general-name.js';

/**
 * RFC 5280 section 4.2.1.10: NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees
 * OPTIONAL, excludedSubtrees [1] GeneralSubtrees OPTIONAL }. (Decoding only: what the constraints
 * mean for a path is src/path/name-constraints.ts.)
 */
export interface GeneralSubtree {
  readonly base: GeneralName;
}

export interface NameConstraints {
  readonly permitted?: readonly GeneralSubtree[];
  readonly excluded?: readonly GeneralSubtree[];
}

const PERMITTED = 0xa0;
const EXCLUDED = 0xa1;
const MINIMUM = 0x80;
const MAXIMUM = 0x81;

/** True when `mask` is some 1 bits followed only by 0 bits (a CIDR prefix). */
function contiguous(mask: Buffer): boolean {
  let zeroSeen = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const one = (byte >> bit) & 1;
      if (one && zeroSeen) return false;
      if (!one) zeroSeen = true;
    }
  }
  return true;
}

/**
 * GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] BaseDistance DEFAULT 0, maximum [1]
 * BaseDistance OPTIONAL }. RFC 5280 section 4.2.1.10: "Within this profile, the minimum and maximum
 * fields are not used with any name forms, thus, the minimum MUST be zero, and maximum MUST be
 * absent." DER also forbids encoding a DEFAULT value, so an explicit minimum of 0 is refused too.
 */
function readSubtree(bytes: Uint8Array, el: Element): GeneralSubtree {
  const c = cursor(bytes, el, TAG.SEQUENCE);
  const base = readGeneralName(bytes, c.next(), 'constraint');
  const minimum = c.optional(MINIMUM);
  if (minimum) {
    const value = smallInteger(bytes, { ...minimum, tag: TAG.INTEGER });
    throw new DerError(`GeneralSubtree minimum ${value} is encoded (it must be the DEFAULT 0, omitted)`);
  }
  if (c.optional(MAXIMUM)) throw new DerError('GeneralSubtree maximum must be absent');
  c.end();
  // An iPAddress constraint is an address and a CIDR mask (RFC 5280 section 4.2.1.10: "192.0.2.0/24"
  // is encoded as C0 00 02 00 FF FF FF 00); a mask with holes names no subnet.
  if (base.type === 'iPAddress' && base.mask && !contiguous(base.mask)) {
    throw new DerError('iPAddress constraint mask is not contiguous');
  }
  return { base };
}

/** GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF GeneralSubtree, under its IMPLICIT [0] or [1] tag. */
function readSubtrees(bytes: Uint8Array, el: Element): GeneralSubtree[] {
  const c = cursor(bytes, el);
  const subtrees: GeneralSubtree[] = [];
  while (!c.done) subtrees.push(readSubtree(bytes, c.next()));
  if (subtrees.length === 0) throw new DerError('empty GeneralSubtrees (SIZE (1..MAX))');
  return subtrees;
}

/** Decodes the extension value; throws DerError on anything malformed. */
export function decodeNameConstraints(bytes: Uint8Array, root: Element): NameConstraints {
  const c = cursor(bytes, root, TAG.SEQUENCE);
  const permittedEl = c.optional(PERMITTED);
  const excludedEl = c.optional(EXCLUDED);
  c.end();
  // RFC 5280 section 4.2.1.10: "Conforming CAs MUST NOT issue certificates where name constraints
  // is an empty sequence. That is, either the permittedSubtrees field or the excludedSubtrees MUST
  // be present."
  if (!permittedEl && !excludedEl) throw new DerError('empty NameConstraints');
  const permitted = permittedEl ? readSubtrees(bytes, permittedEl) : undefined;
  const excluded = excludedEl ? readSubtrees(bytes, excludedEl) : undefined;
  return {
    ...(permitted ? { permitted } : {}),
    ...(excluded ? { excluded } : {}),
  };
}
