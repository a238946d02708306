/**
 * The one entry point for forwarded certificates: the raw values of the certificate header and the
 * chain header, as the trusted proxy wrote them, to DER certificates (leaf first), "no
 * certificate", or a client-safe reason why they do not decode. Only the transport encoding is
 * checked here; whether the DER is a certificate, and a trusted one, is the verifier's question.
 *
 * Never throws, and costs time linear in the input: the byte limit is checked before any decoding.
 */
import { escapeUnprintable } from '../../x509/name.js';
import { FormatError } from './encodings.js';
import { MAX_FORWARDED_CERTIFICATES, MAX_FORWARDED_HEADER_BYTES, type ProxyFormat } from './formats.js';
import { DECODERS } from './values.js';

export type ForwardedCertificate =
  | { kind: 'none' }
  | { kind: 'certificates'; ders: Buffer[] }
  | { kind: 'malformed'; detail: string };

const NONE: ForwardedCertificate = { kind: 'none' };

/** Node reads header bytes as latin1 text, so a character below U+0100 is one raw byte; a wider one counts in UTF-8. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the latin1 range is the point
const BEYOND_LATIN1 = /[^\x00-\xff]/;

function rawBytes(values: readonly string[]): number {
  let total = 0;
  for (const value of values) {
    // The length first: a huge value is refused without reading it.
    if (total + value.length > MAX_FORWARDED_HEADER_BYTES) return total + value.length;
    total += BEYOND_LATIN1.test(value) ? Buffer.byteLength(value, 'utf8') : value.length;
  }
  return total;
}

const isOws = (code: number): boolean => code === 0x20 || code === 0x09;

/**
 * OWS around a field value is not part of it (RFC 9110 section 5.5). An index walk: a regex
 * anchored at the end retries from every space of a long interior run (quadratic: 64 KiB, 2 s).
 */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function malformed(detail: string): ForwardedCertificate {
  return { kind: 'malformed', detail: escapeUnprintable(detail) };
}

/** A chain header's lines as one value: only RFC 9440's sf-list may span lines (combined with `,`). */
function chainValue(format: ProxyFormat, chain: readonly string[], name: string): string | FormatError {
  const lines = chain.map(trimOws);
  if (format === 'rfc9440') return lines.filter((line) => line !== '').join(', ');
  if (lines.length > 1) return new FormatError(`${name} header appears ${lines.length} times; a proxy sets it once`);
  return lines[0] ?? '';
}

/** A chain header that repeats the leaf first (a proxy that forwards the whole peer chain) adds it once. */
function joinChain(leaf: Buffer[], chain: Buffer[]): Buffer[] {
  const last = leaf[leaf.length - 1];
  const repeated = last !== undefined && chain[0]?.equals(last) === true;
  return [...leaf, ...(repeated ? chain.slice(1) : chain)];
}

function decodeChecked(
  format: ProxyFormat,
  cert: readonly string[],
  chain: readonly string[],
  names: { cert: string; chain?: string },
): ForwardedCertificate {
  const chainName = names.chain ?? `${names.cert} chain`;
  if (cert.length > 1) {
    return malformed(`${names.cert} header appears ${cert.length} times; a proxy sets it once, so one was injected`);
  }
  const bytes = rawBytes([...cert, ...chain]);
  if (bytes > MAX_FORWARDED_HEADER_BYTES) {
    return malformed(`${names.cert} header is over ${MAX_FORWARDED_HEADER_BYTES} bytes (with its chain header)`);
  }
  const chainText = chainValue(format, chain, chainName);
  if (chainText instanceof FormatError) return malformed(chainText.message);
  const leafText = trimOws(cert[0] ?? '');
  const decoder = DECODERS[format];
  const leaf = leafText === '' ? 'none' : decoder.leaf(leafText, `${names.cert} header`);
  if (leaf === 'none') {
    return chainText === '' ? NONE : malformed(`${chainName} header is set but ${names.cert} carries no certificate`);
  }
  const ders = chainText === '' ? leaf : joinChain(leaf, decoder.chain(chainText, `${chainName} header`));
  if (ders.length > MAX_FORWARDED_CERTIFICATES) {
    return malformed(
      `${names.cert} header carries ${ders.length} certificates, more than ${MAX_FORWARDED_CERTIFICATES}`,
    );
  }
  return { kind: 'certificates', ders };
}

/**
 * `cert` and `chain`: every raw value of the certificate header and of the chain header, in arrival order
 * (from rawHeaders; the caller has NOT joined them). A repeated certificate header is malformed (RFC 9440: a
 * repeated Client-Cert is malformed; for the others a repeat means someone injected one); a chain header may be
 * split over several lines only for rfc9440 (structured-field list: combine). `names` are the header names for details.
 */
export function decodeForwarded(
  format: ProxyFormat,
  cert: readonly string[],
  chain: readonly string[],
  names: { cert: string; chain?: string },
): ForwardedCertificate {
  try {
    if (!Object.hasOwn(DECODERS, format)) return malformed(`unknown forwarded-certificate format`);
    return decodeChecked(format, cert, chain, names);
  } catch (err) {
    if (err instanceof FormatError) return malformed(err.message);
    // Not expected: any other failure still fails closed, without echoing what was thrown.
    return malformed(`${names?.cert ?? 'the certificate'} header could not be decoded`);
  }
}
