/**
 * A strict, bounds-checked DER reader: just enough ASN.1 for X.509 certificates and CRLs.
 *
 * Why not @peculiar/asn1-schema (which certgate uses elsewhere): measured on this project's
 * hardware (bench/parse-cost.ts), decoding one certificate through asn1js + asn1-schema costs
 * 250-500 µs, most of the "unseen client certificate" budget, and a CRL with 100,000 entries
 * takes 6 s and half a gigabyte (asn1js refuses anything over ~2,000 entries by default). This
 * reader decodes a certificate in about 25 µs and a CRL in linear time (100,000 entries: 0.12 s).
 * Every read is checked against the enclosing element's end, lengths must be minimal DER, and
 * indefinite lengths and high tag numbers are refused. test/unit/der-fuzz.test.ts feeds it mutated
 * inputs; test/unit/der-differential.test.ts compares it with asn1-schema on every certificate and
 * CRL the test suite has.
 */

export class DerError extends Error {}

/** One TLV: `tag` is the identifier octet; content is `bytes[contentStart, end)`. */
export interface Element {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Reads the element starting at `pos`, which must end at or before `limit`. */
export function readElement(bytes: Uint8Array, pos: number, limit: number): Element {
  if (pos + 2 > limit) throw new DerError('truncated element header');
  const tag = bytes[pos] as number;
  // High tag numbers (0x1f) never occur in X.509; refusing them keeps the header one octet.
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag number form is not supported');
  const first = bytes[pos + 1] as number;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = pos + 2;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw new DerError('indefinite length is not DER');
    if (n > 4) throw new DerError('element length too large');
    if (pos + 2 + n > limit) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (bytes[pos + 2 + i] as number);
    // DER: the shortest length form, so no leading zero octet and no long form under 128.
    if (bytes[pos + 2] === 0 || length < 0x80) throw new DerError('non-minimal length encoding');
    contentStart = pos + 2 + n;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError('element extends past its container');
  return { tag, start: pos, contentStart, end };
}

/** The single element that must fill `bytes` exactly. */
export function readRoot(bytes: Uint8Array, expectTag: number): Element {
  const el = readElement(bytes, 0, bytes.length);
  if (el.tag !== expectTag)
    throw new DerError(`expected tag 0x${expectTag.toString(16)}, found 0x${el.tag.toString(16)}`);
  if (el.end !== bytes.length) throw new DerError('trailing bytes after the structure');
  return el;
}

/** Sequential reader over the content of one constructed element. */
export class Cursor {
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly parent: Element,
  ) {
    if ((parent.tag & 0x20) === 0) throw new DerError('expected a constructed element');
    this.pos = parent.contentStart;
  }

  get done(): boolean {
    return this.pos >= this.parent.end;
  }

  peekTag(): number | undefined {
    return this.done ? undefined : this.bytes[this.pos];
  }

  next(expectTag?: number): Element {
    if (this.done) throw new DerError('missing element');
    const el = readElement(this.bytes, this.pos, this.parent.end);
    if (expectTag !== undefined && el.tag !== expectTag) {
      throw new DerError(`expected tag 0x${expectTag.toString(16)}, found 0x${el.tag.toString(16)}`);
    }
    this.pos = el.end;
    return el;
  }

  /** The next element if it has `tag`, else undefined (for OPTIONAL and DEFAULT fields). */
  optional(tag: number): Element | undefined {
    return this.peekTag() === tag ? this.next(tag) : undefined;
  }

  end(): void {
    if (!this.done) throw new DerError('unexpected extra element');
  }
}

export function cursor(bytes: Uint8Array, el: Element, expectTag?: number): Cursor {
  if (expectTag !== undefined && el.tag !== expectTag)
    throw new DerError(`expected tag 0x${expectTag.toString(16)}, found 0x${el.tag.toString(16)}`);
  return new Cursor(bytes, el);
}

export function contentOf(bytes: Uint8Array, el: Element): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset + el.contentStart, el.end - el.contentStart);
}

export function encodedOf(bytes: Uint8Array, el: Element): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset + el.start, el.end - el.start);
}

/** INTEGER content octets (two's complement, minimal); callers treat serials as unsigned hex. */
export function integerBytes(bytes: Uint8Array, el: Element): Buffer {
  if (el.tag !== TAG.INTEGER) throw new DerError('expected an INTEGER');
  const c = contentOf(bytes, el);
  if (c.length === 0) throw new DerError('empty INTEGER');
  if (c.length > 1 && ((c[0] === 0 && (c[1] as number) < 0x80) || (c[0] === 0xff && (c[1] as number) >= 0x80))) {
    throw new DerError('non-minimal INTEGER encoding');
  }
  return c;
}

/** A small non-negative INTEGER (versions, pathLenConstraint). */
export function smallInteger(bytes: Uint8Array, el: Element): number {
  const c = integerBytes(bytes, el);
  if ((c[0] as number) >= 0x80) throw new DerError('negative INTEGER where a count is expected');
  if (c.length > 6) throw new DerError('INTEGER too large');
  let n = 0;
  for (const b of c) n = n * 256 + b;
  return n;
}

export function readBoolean(bytes: Uint8Array, el: Element): boolean {
  if (el.tag !== TAG.BOOLEAN || el.end - el.contentStart !== 1) throw new DerError('malformed BOOLEAN');
  const v = bytes[el.contentStart];
  // DER (X.690 11.1): TRUE is 0xff, FALSE is 0x00.
  if (v !== 0 && v !== 0xff) throw new DerError('BOOLEAN is not DER (0x00 or 0xff)');
  return v === 0xff;
}

export function readOid(bytes: Uint8Array, el: Element): string {
  if (el.tag !== TAG.OID) throw new DerError('expected an OBJECT IDENTIFIER');
  if (el.end === el.contentStart) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  let fresh = true;
  for (let i = el.contentStart; i < el.end; i++) {
    const b = bytes[i] as number;
    if (fresh && b === 0x80) throw new DerError('non-minimal OBJECT IDENTIFIER arc');
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OBJECT IDENTIFIER arc too large');
    fresh = (b & 0x80) === 0;
    if (fresh) {
      arcs.push(value);
      value = 0;
    }
  }
  if (!fresh) throw new DerError('truncated OBJECT IDENTIFIER');
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** BIT STRING: the unused-bit count and the data octets. */
export function readBitString(bytes: Uint8Array, el: Element): { unused: number; data: Buffer } {
  if (el.tag !== TAG.BIT_STRING || el.end === el.contentStart) throw new DerError('malformed BIT STRING');
  const unused = bytes[el.contentStart] as number;
  const data = Buffer.from(bytes.buffer, bytes.byteOffset + el.contentStart + 1, el.end - el.contentStart - 1);
  if (unused > 7 || (data.length === 0 && unused !== 0)) throw new DerError('malformed BIT STRING');
  // DER (X.690 11.2.1): the unused bits of the last octet are zero.
  if (unused > 0 && ((data[data.length - 1] as number) & ((1 << unused) - 1)) !== 0)
    throw new DerError('BIT STRING padding bits are not zero');
  return { unused, data };
}

/**
 * The first `bits` bits of a named-bit BIT STRING (KeyUsage, ReasonFlags) as flags: bit n (the
 * first octet's high bit is bit 0) is 1 << n. Bits past `bits` are ignored.
 */
export function namedBits(data: Uint8Array, bits: number): number {
  let flags = 0;
  for (let bit = 0; bit < Math.min(data.length * 8, bits); bit++) {
    if (((data[bit >> 3] as number) >> (7 - (bit & 7))) & 1) flags |= 1 << bit;
  }
  return flags;
}

function digits(s: string, from: number, count: number): number {
  const part = s.slice(from, from + count);
  if (!/^\d+$/.test(part) || part.length !== count) throw new DerError('malformed time');
  return Number(part);
}

/** UTCTime or GeneralizedTime, in the forms RFC 5280 section 4.1.2.5 allows (Zulu, seconds). */
export function readTime(bytes: Uint8Array, el: Element): Date {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset + el.contentStart, el.end - el.contentStart).toString('latin1');
  let year: number;
  let rest: number;
  if (el.tag === TAG.UTC_TIME) {
    if (!/^\d{12}Z$/.test(s)) throw new DerError('UTCTime must be YYMMDDHHMMSSZ');
    const yy = digits(s, 0, 2);
    // RFC 5280 section 4.1.2.5.1: YY >= 50 is 19YY, otherwise 20YY.
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = 2;
  } else if (el.tag === TAG.GENERALIZED_TIME) {
    // Fractional seconds are outside RFC 5280's profile but unambiguous; they are accepted and
    // truncated (x509-limbo expects acceptance).
    if (!/^\d{14}(\.\d*[1-9])?Z$/.test(s)) throw new DerError('GeneralizedTime must be YYYYMMDDHHMMSS[.fff]Z');
    year = digits(s, 0, 4);
    rest = 4;
  } else {
    throw new DerError('expected a time');
  }
  const month = digits(s, rest, 2);
  const day = digits(s, rest + 2, 2);
  const hour = digits(s, rest + 4, 2);
  const minute = digits(s, rest + 6, 2);
  const second = digits(s, rest + 8, 2);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  // Rejects 2023-02-30 and 24:00:00, which Date.UTC would silently roll over.
  if (
    d.getUTCMonth() !== month - 1 ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== minute ||
    d.getUTCSeconds() !== second
  ) {
    throw new DerError('time out of range');
  }
  return d;
}

/** Decodes the directory string types; undefined for any other tag (the value is then opaque). */
export function readString(bytes: Uint8Array, el: Element): string | undefined {
  const c = contentOf(bytes, el);
  switch (el.tag) {
    case TAG.UTF8_STRING: {
      const text = c.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(c)) throw new DerError('invalid UTF-8 in UTF8String');
      return text;
    }
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.NUMERIC_STRING:
    case TAG.VISIBLE_STRING:
      for (const b of c) if (b > 0x7f) throw new DerError('non-ASCII octet in an ASCII string type');
      return c.toString('latin1');
    case TAG.TELETEX_STRING:
      // T.61 in theory, Latin-1 in practice (what OpenSSL and Go do).
      return c.toString('latin1');
    case TAG.BMP_STRING: {
      if (c.length % 2 !== 0) throw new DerError('odd-length BMPString');
      const swapped = Buffer.from(c);
      swapped.swap16();
      return swapped.toString('utf16le');
    }
    case TAG.UNIVERSAL_STRING: {
      if (c.length % 4 !== 0) throw new DerError('UniversalString length not a multiple of 4');
      let out = '';
      for (let i = 0; i < c.length; i += 4) out += String.fromCodePoint(c.readUInt32BE(i));
      return out;
    }
    default:
      return undefined;
  }
}

/** Encodes one DER element (for the few structures certgate must assemble, such as an SPKI). */
export function encodeElement(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else {
    const octets: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v % 256);
    header = [tag, 0x80 | octets.length, ...octets];
  }
  return Buffer.concat([Buffer.from(header), content]);
}
