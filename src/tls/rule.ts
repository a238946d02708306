import { configError, integerInRange } from '../verifier/option-values.js';
import { describeType } from '../x509/pem.js';
import { optionNames } from '../model/option-names.js';
import type { TransportFacts } from '../sources/source.js';
import { cipherBits, isKnownCipher } from './cipher-bits.js';

/**
 * The guard's `tls` rule: the least protocol version and bulk-cipher key bits a client's TLS
 * connection must have. A backstop: the handshake (`tlsOptions()`) is where weak clients should be
 * stopped; this rule catches servers configured otherwise, decided once per connection.
 */

/** The protocol floors a rule may name: RFC 9325 4.1 allows nothing below TLS 1.2. */
export type TlsVersionFloor = 'TLSv1.2' | 'TLSv1.3';

/** The guard's `tls` option. */
export interface TlsRuleOptions {
  /** Least protocol version. Default `'TLSv1.2'`. */
  minVersion?: TlsVersionFloor;
  /** Least key bits of the bulk cipher (128 to 256). Default 128. */
  minCipherBits?: number;
}

export interface TlsRule {
  readonly minVersion: TlsVersionFloor;
  readonly minCipherBits: number;
}

/** What `clientCert.tls` says about the connection a certificate was presented on. */
export interface NegotiatedTls {
  /** The negotiated protocol (`socket.getProtocol()`), e.g. `'TLSv1.3'`. */
  readonly protocol: string;
  /** The cipher suite's IANA name, e.g. `'TLS_AES_256_GCM_SHA384'`. */
  readonly cipher: string;
  /** Key bits of its bulk cipher (0: NULL, or a cipher certgate does not know). */
  readonly bits: number;
}

/** The least `minCipherBits` (RFC 9325 4.1: no cipher under 128 bits) and the most (AES-256). */
export const MIN_CIPHER_BITS_FLOOR = 128;
export const MAX_CIPHER_BITS = 256;

export const DEFAULT_TLS_RULE: TlsRule = Object.freeze({ minVersion: 'TLSv1.2', minCipherBits: MIN_CIPHER_BITS_FLOOR });

export const TLS_RULE_OPTION_NAMES = optionNames<TlsRuleOptions>()(['minVersion', 'minCipherBits']);

/**
 * Protocols as `getProtocol()` names them, oldest first. A name not listed (`'unknown'`, none)
 * ranks below every floor: what certgate cannot place fails the rule.
 */
const PROTOCOL_RANK: ReadonlyMap<string, number> = new Map([
  ['SSLv2', 0],
  ['SSLv3', 1],
  ['TLSv1', 2],
  ['TLSv1.1', 3],
  ['TLSv1.2', 4],
  ['TLSv1.3', 5],
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates the guard's `tls` option once, up front; a partial object keeps the other default. */
export function parseTlsRule(value: unknown, where: string): TlsRule {
  if (value === undefined) return DEFAULT_TLS_RULE;
  if (!isPlainObject(value)) {
    throw configError(
      where,
      `option 'tls' must be an object { minVersion?, minCipherBits? }, got ${describeType(value)}`,
    );
  }
  for (const key of Object.keys(value)) {
    if (!(TLS_RULE_OPTION_NAMES as readonly string[]).includes(key)) {
      throw configError(where, `unknown option 'tls.${key}' (known: ${TLS_RULE_OPTION_NAMES.join(', ')})`);
    }
  }
  const { minVersion = DEFAULT_TLS_RULE.minVersion, minCipherBits = DEFAULT_TLS_RULE.minCipherBits } = value;
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') {
    const got = typeof minVersion === 'string' ? `'${minVersion}'` : describeType(minVersion);
    throw configError(where, `option 'tls.minVersion' must be 'TLSv1.2' or 'TLSv1.3' (RFC 9325 4.1), got ${got}`);
  }
  const bits = integerInRange(minCipherBits, where, 'tls.minCipherBits', MIN_CIPHER_BITS_FLOOR, MAX_CIPHER_BITS);
  return Object.freeze({ minVersion, minCipherBits: bits });
}

/** A connection's TLS facts as `clientCert.tls` shows them. */
export function negotiatedTls(facts: TransportFacts): NegotiatedTls {
  return Object.freeze({
    protocol: facts.protocol ?? 'unknown',
    cipher: facts.standardCipher ?? facts.cipher ?? 'unknown',
    bits: cipherBits(facts.standardCipher),
  });
}

/** The operator detail of a connection below the rule, or undefined when it meets it. */
export function belowRule(tls: NegotiatedTls, openSslName: string | undefined, rule: TlsRule): string | undefined {
  const rank = PROTOCOL_RANK.get(tls.protocol) ?? -1;
  if (rank >= (PROTOCOL_RANK.get(rule.minVersion) as number) && tls.bits >= rule.minCipherBits) return undefined;
  // Both names: operators search server configurations (OpenSSL) and client logs (IANA).
  const names = openSslName && openSslName !== tls.cipher ? `${openSslName} (${tls.cipher}, ` : `${tls.cipher} (`;
  const unknown = isKnownCipher(tls.cipher) ? '' : ': a cipher certgate does not know';
  return (
    `${tls.protocol} with ${names}${tls.bits}-bit${unknown}) is below the rule: ` +
    `${rule.minVersion}, ${rule.minCipherBits} bits`
  );
}
