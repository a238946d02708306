import { decodePemOrDer } from '../../x509/pem.js';
import { escapeUnprintable } from '../../x509/name.js';
import { MAX_FORWARDED_CERTIFICATES, MAX_FORWARDED_HEADER_BYTES, type ProxyFormat } from './formats.js';

/**
 * TEMPORARY (h-proxy): decodes only 'nginx' and 'haproxy', enough for the proxy source's tests.
 * The formats helper's decoder (every format, fuzzed) replaces this file at merge with the same
 * exported names and signatures.
 */
export type ForwardedCertificate =
  | { kind: 'none' }
  | { kind: 'certificates'; ders: Buffer[] }
  | { kind: 'malformed'; detail: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function malformed(header: string, problem: string): ForwardedCertificate {
  return { kind: 'malformed', detail: `header ${escapeUnprintable(header)}: ${problem}` };
}

/** Splits concatenated DER SEQUENCEs (definite lengths), bounded by the certificate limit. */
function splitDer(bytes: Buffer): Buffer[] | string {
  const ders: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (ders.length >= MAX_FORWARDED_CERTIFICATES) return `more than ${MAX_FORWARDED_CERTIFICATES} certificates`;
    if (bytes[at] !== 0x30 || at + 2 > bytes.length) return 'not a DER SEQUENCE';
    const first = bytes[at + 1] as number;
    let length = first;
    let header = 2;
    if (first & 0x80) {
      const n = first & 0x7f;
      if (n === 0 || n > 3 || at + 2 + n > bytes.length) return 'a bad DER length';
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + (bytes[at + 2 + i] as number);
      header = 2 + n;
    }
    if (at + header + length > bytes.length) return 'truncated DER';
    ders.push(bytes.subarray(at, at + header + length));
    at += header + length;
  }
  return ders;
}

function base64Ders(value: string, header: string): Buffer[] | ForwardedCertificate {
  if (!BASE64.test(value) || value.length % 4 !== 0) return malformed(header, 'not valid base64');
  const split = splitDer(Buffer.from(value, 'base64'));
  return typeof split === 'string' ? malformed(header, split) : split;
}

function nginx(value: string, header: string): ForwardedCertificate {
  let pem: string;
  try {
    pem = decodeURIComponent(value);
  } catch {
    return malformed(header, 'not valid URL encoding');
  }
  try {
    const items = decodePemOrDer(pem);
    if (items.some((item) => item.label !== 'CERTIFICATE')) return malformed(header, 'not a CERTIFICATE PEM block');
    return { kind: 'certificates', ders: items.map((item) => item.der) };
  } catch (err) {
    return malformed(header, `not PEM: ${(err as Error).message}`);
  }
}

function haproxy(value: string, chain: string | undefined, names: { cert: string; chain?: string }) {
  const leaf = base64Ders(value, names.cert);
  if (!Array.isArray(leaf)) return leaf;
  if (leaf.length !== 1) return malformed(names.cert, 'not exactly one certificate');
  if (!chain) return { kind: 'certificates' as const, ders: leaf };
  const rest = base64Ders(chain, names.chain ?? 'chain');
  return Array.isArray(rest) ? { kind: 'certificates' as const, ders: [...leaf, ...rest] } : rest;
}

function decodeChecked(
  format: ProxyFormat,
  cert: readonly string[],
  chain: readonly string[],
  names: { cert: string; chain?: string },
): ForwardedCertificate {
  const bytes = [...cert, ...chain].reduce((n, v) => n + v.length, 0);
  if (bytes > MAX_FORWARDED_HEADER_BYTES) return malformed(names.cert, `over ${MAX_FORWARDED_HEADER_BYTES} bytes`);
  if (cert.length > 1) return malformed(names.cert, 'repeated');
  if (chain.length > 1) return malformed(names.chain ?? 'chain', 'repeated');
  const value = (cert[0] ?? '').trim();
  if (value === '') return { kind: 'none' };
  let result: ForwardedCertificate;
  if (format === 'nginx') result = nginx(value, names.cert);
  else if (format === 'haproxy') result = haproxy(value, chain[0]?.trim(), names);
  else return malformed(names.cert, `format ${format} is not decoded by this build`);
  if (result.kind === 'certificates' && result.ders.length > MAX_FORWARDED_CERTIFICATES) {
    return malformed(names.cert, `more than ${MAX_FORWARDED_CERTIFICATES} certificates`);
  }
  return result;
}

export function decodeForwarded(
  format: ProxyFormat,
  cert: readonly string[],
  chain: readonly string[],
  names: { cert: string; chain?: string },
): ForwardedCertificate {
  try {
    return decodeChecked(format, cert, chain, names);
  } catch (err) {
    return malformed(names.cert, `does not decode: ${(err as Error)?.message ?? String(err)}`);
  }
}
