/**
 * Envoy's X-Forwarded-Client-Cert (Envoy docs, "HTTP header manipulation: x-forwarded-client-cert"):
 * elements separated by `,`, each a `;`-separated list of key=value pairs, keys case-insensitive;
 * a value holding `,` `;` or `=` is double-quoted, with `"` inside it written `\"`. Each proxy
 * appends its own element, so only the LAST one is the nearest (trusted) proxy's word: earlier
 * elements may have come from the client. `Cert` is URL-encoded PEM of the leaf, `Chain` the
 * URL-encoded PEM chain including the leaf.
 */
import { FormatError, pemCertificates, percentDecode, quoteSnippet, TextCursor } from './encodings.js';

type Element = Map<string, string>;

type Scanner = TextCursor;

function readKey(scanner: Scanner): string {
  const start = scanner.at;
  while (scanner.matches(/[A-Za-z0-9_-]/)) scanner.at++;
  if (scanner.at === start) scanner.fail('a key is missing or has a character outside A-Z a-z 0-9 _ -');
  return scanner.text.slice(start, scanner.at).toLowerCase();
}

/** A quoted value, its `\"` (and `\\`) unescaped: separators inside it are text, never structure. */
function readQuoted(scanner: Scanner): string {
  scanner.at++;
  const parts: string[] = [];
  let from = scanner.at;
  for (;;) {
    const c = scanner.peek();
    if (c === undefined) scanner.fail('a quoted value has no closing quote');
    if (c === '"') break;
    if (c === '\\' && (scanner.text[scanner.at + 1] === '"' || scanner.text[scanner.at + 1] === '\\')) {
      parts.push(scanner.text.slice(from, scanner.at));
      from = scanner.at + 1;
      scanner.at += 2;
      continue;
    }
    scanner.at++;
  }
  parts.push(scanner.text.slice(from, scanner.at));
  scanner.at++;
  return parts.join('');
}

function readValue(scanner: Scanner): string {
  if (scanner.peek() === '"') return readQuoted(scanner);
  const start = scanner.at;
  while (scanner.peek() !== undefined && scanner.peek() !== ';' && scanner.peek() !== ',') {
    if (scanner.peek() === '"') scanner.fail('a quote inside an unquoted value');
    scanner.at++;
  }
  return scanner.text.slice(start, scanner.at).trimEnd();
}

/** Keys a proxy writes once per element (DNS and URI repeat, one pair per SAN): a second one was injected. */
const SINGLE_KEYS = new Set(['cert', 'chain', 'by', 'hash', 'subject']);

/** One element, up to its `,` or the end. */
function readElement(scanner: Scanner): Element {
  const element: Element = new Map();
  for (;;) {
    scanner.skipSpaces();
    const key = readKey(scanner);
    scanner.skipSpaces();
    if (scanner.peek() !== '=') scanner.fail(`the key ${quoteSnippet(key)} has no =`);
    scanner.at++;
    scanner.skipSpaces();
    if (SINGLE_KEYS.has(key) && element.has(key))
      scanner.fail(`the key ${quoteSnippet(key)} appears twice in one element`);
    element.set(key, readValue(scanner));
    scanner.skipSpaces();
    if (scanner.peek() !== ';') return element;
    scanner.at++;
  }
}

/**
 * Keys whose values Envoy writes unquoted and unescaped (a certificate's URI and DNS SANs, the
 * proxy's own URI): a SAN holding `,Cert="..."` splits one element into two, so with several
 * elements nobody can tell where the nearest proxy's element begins.
 */
const UNESCAPED_KEYS = ['uri', 'dns', 'by'] as const;

/**
 * The last element: every element is parsed (quotes decide where elements end), only the last kept.
 * Several elements are refused when any carries a key Envoy writes unescaped (see UNESCAPED_KEYS):
 * one edge proxy with SANITIZE_SET writes one element, and that is what certgate reads.
 */
export function lastXfccElement(text: string, what: string): Element {
  const scanner = new TextCursor(text, what, (problem) => `XFCC: ${problem}`);
  const elements = [readElement(scanner)];
  while (scanner.peek() === ',') {
    scanner.at++;
    elements.push(readElement(scanner));
  }
  if (scanner.peek() !== undefined) scanner.fail('text after a value');
  if (elements.length > 1 && elements.some((e) => UNESCAPED_KEYS.some((k) => e.has(k)))) {
    throw new FormatError(
      `${what}: ${elements.length} elements, and URI, DNS or By values (which Envoy writes unescaped) ` +
        'make their boundaries untrustworthy; forward from one proxy with SANITIZE_SET',
    );
  }
  return elements[elements.length - 1] as Element;
}

/** The certificates of the nearest proxy's element: Chain (leaf first) if given, else Cert. */
export function xfccCertificates(text: string, what: string): Buffer[] {
  const element = lastXfccElement(text, what);
  const cert = element.get('cert');
  const chain = element.get('chain');
  if (cert === undefined && chain === undefined) {
    throw new FormatError(`${what}: the last element (the nearest proxy's) carries neither Cert nor Chain`);
  }
  const leaf = cert === undefined ? undefined : pemCertificates(percentDecode(cert, `${what} Cert`), `${what} Cert`);
  if (leaf !== undefined && leaf.length !== 1) throw new FormatError(`${what} Cert holds ${leaf.length} certificates`);
  if (chain === undefined) return leaf as Buffer[];
  const ders = pemCertificates(percentDecode(chain, `${what} Chain`), `${what} Chain`);
  if (leaf !== undefined && !(ders[0] as Buffer).equals(leaf[0] as Buffer)) {
    throw new FormatError(`${what}: Chain does not start with the Cert of the same element`);
  }
  return ders;
}
