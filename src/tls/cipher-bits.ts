/**
 * Key bits of a cipher suite's bulk (record-protection) cipher, by IANA name: what the guard's
 * `tls.minCipherBits` rule compares. Data, not parsing rules: a suite whose bulk cipher is not in
 * this table counts as 0 bits, so a cipher certgate does not know fails the rule (fail closed).
 */

/**
 * The bulk cipher part of an IANA suite name (`TLS_<kx>_WITH_<bulk>_<mac>` in TLS 1.2 and
 * earlier, `TLS_<bulk>_<hash>` in TLS 1.3) and its key bits.
 */
export const BULK_CIPHER_BITS: ReadonlyMap<string, number> = new Map([
  // RFC 9325 4.2: the AEAD ciphers it recommends, and ChaCha20-Poly1305 (RFC 7905, TLS 1.3).
  ['AES_128_GCM', 128],
  ['AES_256_GCM', 256],
  ['CHACHA20_POLY1305', 256],
  // RFC 6655 / 7251 and TLS 1.3: AES-CCM, with the full or the 8-octet tag (same key).
  ['AES_128_CCM', 128],
  ['AES_128_CCM_8', 128],
  ['AES_256_CCM', 256],
  ['AES_256_CCM_8', 256],
  // RFC 6209: ARIA-GCM, in Node's default cipher list (OpenSSL's HIGH).
  ['ARIA_128_GCM', 128],
  ['ARIA_256_GCM', 256],
  ['ARIA_128_CBC', 128],
  ['ARIA_256_CBC', 256],
  // RFC 5932 / 6367: Camellia, negotiable at OpenSSL's default security level.
  ['CAMELLIA_128_CBC', 128],
  ['CAMELLIA_256_CBC', 256],
  ['CAMELLIA_128_GCM', 128],
  ['CAMELLIA_256_GCM', 256],
  // CBC: the key is as long, so the bits rule passes it; the handshake (`tlsOptions`) excludes it.
  ['AES_128_CBC', 128],
  ['AES_256_CBC', 256],
  // Three keys of 56 bits, 112 bits of strength (NIST SP 800-57): below any allowed minimum.
  ['3DES_EDE_CBC', 112],
  // No encryption at all.
  ['NULL', 0],
]);

/** The MAC (TLS 1.2 and earlier) or handshake hash (TLS 1.3) that ends most suite names. */
const HASH_SUFFIX = /_(?:SHA|SHA256|SHA384|MD5)$/;

/** The bulk cipher an IANA suite name names (a key of BULK_CIPHER_BITS), or undefined if it names none. */
export function bulkCipherOf(ianaName: string | undefined): string | undefined {
  if (!ianaName?.startsWith('TLS_')) return undefined;
  const at = ianaName.indexOf('_WITH_');
  const rest = at === -1 ? ianaName.slice('TLS_'.length) : ianaName.slice(at + '_WITH_'.length);
  return rest.replace(HASH_SUFFIX, '');
}

/**
 * Key bits of the bulk cipher of the suite an IANA name (`getCipher().standardName`) names; 0 for
 * NULL, for a cipher not in BULK_CIPHER_BITS and for no name at all.
 */
export function cipherBits(ianaName: string | undefined): number {
  const bulk = bulkCipherOf(ianaName);
  return (bulk !== undefined && BULK_CIPHER_BITS.get(bulk)) || 0;
}

/** Whether BULK_CIPHER_BITS knows the suite's bulk cipher (an unknown one counts 0 bits). */
export function isKnownCipher(ianaName: string | undefined): boolean {
  const bulk = bulkCipherOf(ianaName);
  return bulk !== undefined && BULK_CIPHER_BITS.has(bulk);
}
