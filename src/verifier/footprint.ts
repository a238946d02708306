import type { CertificateInfo, ParsedCertificate } from '../x509/certificate.js';

/**
 * Estimated heap bytes of what the caches hold, so that they are bounded by bytes, not entries: a
 * hostile certificate can be 100 times the size of a normal one. Measured on Node 20 (heap used
 * plus external after GC, over hundreds of parses of one shape; docs-drafts/memory.md): a parse
 * holds 12 to 15 bytes per DER byte (names decoded into objects and strings, the DER and its
 * slices), whatever the certificate's shape (7.5 KB for a 523-byte client certificate, 813 KB
 * for a 57 KB one with a 28 KB subject of 600 attributes); a CertificateInfo shares the DER and
 * holds 0.3 to 3 bytes per DER byte more (550 to 800 bytes for a normal certificate). The
 * estimates err high: a cache holds somewhat fewer entries than it could, never more bytes.
 */
export const PARSE_BYTES_PER_DER_BYTE = 15;
export const PARSE_FIXED_BYTES = 1024;
export const INFO_BYTES_PER_DER_BYTE = 2;
export const INFO_FIXED_BYTES = 512;
/** A JavaScript string holds up to 2 bytes per character; an object with a few fields, a few hundred bytes. */
const STRING_BYTES_PER_CHAR = 2;
export const ENTRY_FIXED_BYTES = 512;

export function parseBytes(cert: ParsedCertificate): number {
  return cert.der.length * PARSE_BYTES_PER_DER_BYTE + PARSE_FIXED_BYTES;
}

export function infoBytes(info: CertificateInfo): number {
  return info.raw.length * INFO_BYTES_PER_DER_BYTE + INFO_FIXED_BYTES;
}

export function stringBytes(...texts: ReadonlyArray<string | undefined>): number {
  return texts.reduce((n, t) => n + (t?.length ?? 0) * STRING_BYTES_PER_CHAR, 0);
}
