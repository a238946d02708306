/**
 * Transport encodings shared by the forwarded-certificate formats: strict base64, percent
 * escapes, PEM certificate lists and concatenated DER. Each is one linear pass over its input and
 * throws FormatError naming the problem; decode.ts turns that into a `malformed` result.
 */
import { escapeUnprintable } from '../../x509/name.js';
import { decodePemOrDer, expectLabels } from '../../x509/pem.js';
import { MAX_FORWARDED_CERTIFICATES } from './formats.js';

/** A value that does not decode; the message is client-safe (no raw client text). */
export class FormatError extends Error {}

/** At most a few characters of client text, escaped: enough to recognise, never enough to inject. */
export function quoteSnippet(text: string): string {
  const cut = text.length > 24 ? `${text.slice(0, 24)}...` : text;
  return `"${escapeUnprintable(cut).replace(/[^\x20-\x7e]/g, '?')}"`;
}

/** A position in a header value, for the structured parsers (RFC 8941, XFCC). */
export class TextCursor {
  at = 0;
  constructor(
    readonly text: string,
    readonly what: string,
    /** How a failure reads: `${what} is not ${grammar(problem)} at character N`. */
    private readonly grammar: (problem: string) => string,
  ) {}
  peek(): string | undefined {
    return this.text[this.at];
  }
  matches(pattern: RegExp): boolean {
    const c = this.text[this.at];
    return c !== undefined && pattern.test(c);
  }
  fail(problem: string): never {
    throw new FormatError(`${this.what} is not ${this.grammar(problem)} at character ${this.at + 1}`);
  }
  /** Spaces, and tabs unless `tabsToo` is false (RFC 8941 lists allow OWS, items only SP). */
  skipSpaces(tabsToo = true): void {
    while (this.peek() === ' ' || (tabsToo && this.peek() === '\t')) this.at++;
  }
  takeWhile(pattern: RegExp): void {
    while (this.matches(pattern)) this.at++;
  }
}

const BASE64_PADDED = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 with its padding, as HAProxy, Go (Caddy, Traefik) and .NET write it: nothing else. */
export function strictBase64(text: string, what: string): Buffer {
  if (text === '') throw new FormatError(`${what} is empty`);
  if (!BASE64_PADDED.test(text)) throw new FormatError(`${what} is not base64 (a character outside A-Z a-z 0-9 + / =)`);
  if (text.length % 4 !== 0) throw new FormatError(`${what} is not base64 (its length is not a multiple of 4)`);
  return Buffer.from(text, 'base64');
}

const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

/**
 * Percent escapes decoded to latin1 text. `+` stays `+`: the proxies here escape a space as %20,
 * and base64 uses `+`, so reading `+` as a space (form encoding) would corrupt certificates.
 */
export function percentDecode(text: string, what: string): string {
  const bad = BAD_PERCENT.exec(text);
  if (bad !== null) {
    throw new FormatError(`${what} has a broken percent escape ${quoteSnippet(text.slice(bad.index, bad.index + 3))}`);
  }
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** Every CERTIFICATE block of PEM text (blocks of other labels are refused), at least one. */
export function pemCertificates(text: string, what: string): Buffer[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith('-----BEGIN ') || !trimmed.endsWith('-----')) {
    throw new FormatError(`${what} is not PEM (it does not run from -----BEGIN to -----END ...-----)`);
  }
  try {
    return expectLabels(decodePemOrDer(trimmed), ['CERTIFICATE'], 'certificate');
  } catch (err) {
    throw new FormatError(`${what} is not PEM: ${(err as Error).message}`);
  }
}

/** Where the DER element at `at` ends, reading only tag 0x30 and a definite length (at most 4 octets). */
function sequenceEnd(der: Buffer, at: number, what: string): number {
  if (der[at] !== 0x30) throw new FormatError(`${what} is not DER: byte ${at} is not a SEQUENCE tag`);
  const first = der[at + 1];
  if (first === undefined) throw new FormatError(`${what} is not DER: it ends inside a length`);
  let length = first;
  let body = at + 2;
  if (first >= 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4)
      throw new FormatError(`${what} is not DER: byte ${at + 1} is not a definite length`);
    if (body + octets > der.length) throw new FormatError(`${what} is not DER: it ends inside a length`);
    length = der.readUIntBE(body, octets);
    body += octets;
  }
  if (body + length > der.length) throw new FormatError(`${what} is not DER: an element runs past the end`);
  return body + length;
}

/**
 * DER certificates written back to back (HAProxy's ssl_c_chain_der), split by their outer
 * lengths. Whether each is a certificate is the verifier's question; this only finds the seams.
 */
export function splitConcatenatedDer(der: Buffer, what: string): Buffer[] {
  const items: Buffer[] = [];
  let at = 0;
  while (at < der.length) {
    if (items.length === MAX_FORWARDED_CERTIFICATES) {
      throw new FormatError(`${what} carries more than ${MAX_FORWARDED_CERTIFICATES} certificates`);
    }
    const end = sequenceEnd(der, at, what);
    items.push(der.subarray(at, end));
    at = end;
  }
  return items;
}

/** Exactly one DER certificate, where a format sends one per value. */
export function singleDer(der: Buffer, what: string): Buffer {
  const items = splitConcatenatedDer(der, what);
  if (items.length !== 1) throw new FormatError(`${what} holds ${items.length} DER elements, not one certificate`);
  return items[0] as Buffer;
}
