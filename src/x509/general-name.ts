import { contentOf, cursor, DerError, encodedOf, readOid, readString, TAG, type Element } from './der.js';
import { canonicalNameKey, readName, readRdn, type Name, type NameAttribute } from './name.js';

/**
 * GeneralName (RFC 5280 section 4.2.1.6), all nine forms. The module uses IMPLICIT tags, except
 * where the tagged type is a CHOICE or ANY (directoryName's Name, otherName's value,
 * ediPartyName's DirectoryStrings), which X.680 31.2.7 makes EXPLICIT.
 */
export type GeneralName =
  /** [0] OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY DEFINED BY type-id }. */
  | { readonly type: 'otherName'; readonly typeId: string /** The value's full DER. */; readonly value: Buffer }
  | { readonly type: 'rfc822Name'; readonly value: string }
  | { readonly type: 'dNSName'; readonly value: string }
  /** [3] ORAddress: kept opaque (the SEQUENCE's content octets), as no rule reads it. */
  | { readonly type: 'x400Address'; readonly content: Buffer }
  | { readonly type: 'directoryName'; readonly name: Name }
  /** [5] EDIPartyName ::= SEQUENCE { nameAssigner [0] DirectoryString OPTIONAL, partyName [1] DirectoryString }. */
  | { readonly type: 'ediPartyName'; readonly nameAssigner: string | undefined; readonly partyName: string }
  | { readonly type: 'uniformResourceIdentifier'; readonly value: string }
  /** [7] OCTET STRING: 4 or 16 octets; in name constraints, address then mask (8 or 32 octets). */
  | { readonly type: 'iPAddress'; readonly address: Buffer; readonly mask?: Buffer }
  | { readonly type: 'registeredID'; readonly oid: string };

export type GeneralNameType = GeneralName['type'];

const CONTEXT = 0x80;
const CONSTRUCTED = 0x20;

/**
 * Where a GeneralName appears. In a name (subjectAltName, distribution points, access locations)
 * an iPAddress is an address; in a name constraint's GeneralSubtree (RFC 5280 section 4.2.1.10)
 * it is an address followed by a mask of the same length.
 */
export type GeneralNameContext = 'name' | 'constraint';

/** IA5String: ASCII only (X.680 41; RFC 5280 section 4.2.1.6 gives these forms no other repertoire). */
function ia5(bytes: Uint8Array, el: Element): string {
  const c = contentOf(bytes, el);
  for (const b of c) if (b > 0x7f) throw new DerError('non-ASCII octet in IA5String');
  return c.toString('latin1');
}

function ipAddress(octets: Buffer, context: GeneralNameContext): GeneralName {
  if (context === 'name') {
    if (octets.length !== 4 && octets.length !== 16) throw new DerError('iPAddress must be 4 or 16 octets');
    return { type: 'iPAddress', address: Buffer.from(octets) };
  }
  if (octets.length !== 8 && octets.length !== 32) throw new DerError('iPAddress constraint must be 8 or 32 octets');
  const half = octets.length / 2;
  const address = Buffer.from(octets.subarray(0, half));
  return { type: 'iPAddress', address, mask: Buffer.from(octets.subarray(half)) };
}

/** A DirectoryString inside an EXPLICIT context tag (ediPartyName's fields). */
function directoryString(bytes: Uint8Array, el: Element): string {
  const inner = cursor(bytes, el);
  const value = inner.next();
  inner.end();
  const text = readString(bytes, value);
  if (text === undefined) throw new DerError('ediPartyName field is not a DirectoryString');
  return text;
}

function otherName(bytes: Uint8Array, el: Element): GeneralName {
  const c = cursor(bytes, el);
  const typeId = readOid(bytes, c.next(TAG.OID));
  const wrapper = cursor(bytes, c.next(CONTEXT | CONSTRUCTED | 0));
  const value = wrapper.next();
  wrapper.end();
  c.end();
  return { type: 'otherName', typeId, value: Buffer.from(encodedOf(bytes, value)) };
}

function ediPartyName(bytes: Uint8Array, el: Element): GeneralName {
  const c = cursor(bytes, el);
  const assignerEl = c.optional(CONTEXT | CONSTRUCTED | 0);
  const partyName = directoryString(bytes, c.next(CONTEXT | CONSTRUCTED | 1));
  c.end();
  return { type: 'ediPartyName', nameAssigner: assignerEl ? directoryString(bytes, assignerEl) : undefined, partyName };
}

function x400Address(bytes: Uint8Array, el: Element): GeneralName {
  // ORAddress ::= SEQUENCE { built-in-standard-attributes SEQUENCE, ... }: its structure is
  // checked down to well-formed elements, and the first must be the standard attributes.
  const c = cursor(bytes, el);
  c.next(TAG.SEQUENCE);
  while (!c.done) c.next();
  return { type: 'x400Address', content: Buffer.from(contentOf(bytes, el)) };
}

/**
 * Decodes one GeneralName strictly. Throws DerError on an unknown tag, a constructed encoding of
 * a primitive form (or the reverse), non-ASCII IA5 text, or a wrong iPAddress length.
 */
export function readGeneralName(bytes: Uint8Array, el: Element, context: GeneralNameContext = 'name'): GeneralName {
  switch (el.tag) {
    case CONTEXT | CONSTRUCTED | 0:
      return otherName(bytes, el);
    case CONTEXT | 1:
      return { type: 'rfc822Name', value: ia5(bytes, el) };
    case CONTEXT | 2:
      return { type: 'dNSName', value: ia5(bytes, el) };
    case CONTEXT | CONSTRUCTED | 3:
      return x400Address(bytes, el);
    case CONTEXT | CONSTRUCTED | 4: {
      // directoryName [4] is EXPLICIT: the Name is wrapped.
      const inner = cursor(bytes, el);
      const name = readName(bytes, inner.next(TAG.SEQUENCE));
      inner.end();
      return { type: 'directoryName', name };
    }
    case CONTEXT | CONSTRUCTED | 5:
      return ediPartyName(bytes, el);
    case CONTEXT | 6:
      return { type: 'uniformResourceIdentifier', value: ia5(bytes, el) };
    case CONTEXT | 7:
      return ipAddress(contentOf(bytes, el), context);
    case CONTEXT | 8:
      return { type: 'registeredID', oid: readOid(bytes, { ...el, tag: TAG.OID }) };
    default:
      throw new DerError(`invalid GeneralName tag 0x${el.tag.toString(16)}`);
  }
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName, given the SEQUENCE (or an IMPLICIT tag of it). */
export function readGeneralNames(bytes: Uint8Array, el: Element, context: GeneralNameContext = 'name'): GeneralName[] {
  const c = cursor(bytes, el);
  const names: GeneralName[] = [];
  while (!c.done) names.push(readGeneralName(bytes, c.next(), context));
  return names;
}

/** IPv6 text via the WHATWG URL parser, which compresses zero runs the standard way. */
export function ipText(address: Buffer): string {
  if (address.length === 4) return Array.from(address).join('.');
  const groups: string[] = [];
  for (let i = 0; i < address.length; i += 2) groups.push(address.readUInt16BE(i).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/**
 * A comparable key for one GeneralName, as distribution point names are matched: directory names
 * by the RFC 5280 section 7.1 rules, other forms by their tag and content octets. The name is
 * decoded strictly first, so a malformed name fails here rather than never matching.
 */
export function generalNameKey(bytes: Uint8Array, el: Element): string {
  const name = readGeneralName(bytes, el);
  if (name.type === 'directoryName') return `dn:${canonicalNameKey(name.name)}`;
  return `${el.tag.toString(16)}:${contentOf(bytes, el).toString('hex')}`;
}

/**
 * DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] RDN }:
 * the fullName's keys ({@link generalNameKey}), or the RDN, which names a distribution point only
 * once appended to its CRL issuer's name (RFC 5280 sections 4.2.1.13 and 5.2.5): see
 * {@link resolveDistributionPointName}.
 */
export type DistributionPointName = { readonly full: readonly string[] } | { readonly relative: NameAttribute[] };

export function readDistributionPointName(bytes: Uint8Array, el: Element): DistributionPointName {
  const choice = cursor(bytes, el);
  const name = choice.next();
  choice.end();
  if (name.tag === (CONTEXT | CONSTRUCTED | 1)) return { relative: readRdn(bytes, name) };
  if (name.tag !== (CONTEXT | CONSTRUCTED | 0)) throw new DerError('invalid DistributionPointName');
  const names = cursor(bytes, name);
  const keys: string[] = [];
  while (!names.done) keys.push(generalNameKey(bytes, names.next()));
  if (keys.length === 0) throw new DerError('empty fullName');
  return { full: keys };
}

/** The keys a distribution point name stands for, a relative one appended to `crlIssuer`. */
export function resolveDistributionPointName(name: DistributionPointName, crlIssuer: Name): readonly string[] {
  return 'full' in name ? name.full : [`dn:${canonicalNameKey([...crlIssuer, name.relative])}`];
}
