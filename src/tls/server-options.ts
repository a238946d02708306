import { constants } from 'node:crypto';
import { configError } from '../verifier/option-values.js';
import { describeType } from '../x509/pem.js';
import { optionNames } from '../model/option-names.js';
import type { TlsVersionFloor } from './rule.js';

/** PEM text or a Buffer, or an array of these: what Node's TLS options take for keys and certificates. */
export type TlsPemInput = string | Buffer | readonly (string | Buffer)[];

/** What {@link tlsOptions} takes. */
export interface TlsOptionsInput {
  /** The server's private key. */
  key: TlsPemInput;
  /** The server's certificate (chain). */
  cert: TlsPemInput;
  /** The CAs whose client certificates the handshake asks for (and a guard without `ca` trusts). */
  ca: TlsPemInput;
  /** CRLs for the handshake (and a guard without `crl`). */
  crl?: TlsPemInput;
  /** Least protocol version: `'TLSv1.2'` (default) or `'TLSv1.3'`; RFC 9325 4.1 allows nothing lower. */
  minVersion?: TlsVersionFloor;
}

type PemOption = string | Buffer | (string | Buffer)[];

/** What {@link tlsOptions} returns: options for `https.createServer` and `http2.createSecureServer`. */
export interface MutualTlsServerOptions {
  key: PemOption;
  cert: PemOption;
  ca: PemOption;
  crl?: PemOption;
  /** Ask every client for a certificate... */
  requestCert: true;
  /** ...and let the guard decide: a client without one still gets a problem+json answer, not a reset. */
  rejectUnauthorized: false;
  minVersion: TlsVersionFloor;
  /** {@link RFC9325_TLS12_CIPHERS} and {@link TLS13_CIPHERS}. */
  ciphers: string;
  /**
   * `SSL_OP_NO_RENEGOTIATION`: a TLS 1.2 client cannot renegotiate other parameters (or another
   * certificate) under a verdict that was reached for the first handshake (RFC 9325 3.5).
   */
  secureOptions: number;
}

/**
 * RFC 9325 4.2: the four TLS 1.2 suites it recommends (ECDHE key exchange, AES-GCM), by their
 * OpenSSL names. No CBC (Lucky 13 and other padding oracles), no static RSA key exchange (no
 * forward secrecy), no DHE (RFC 9325 4.1: not recommended).
 */
export const RFC9325_TLS12_CIPHERS: readonly string[] = Object.freeze([
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
]);

/**
 * The TLS 1.3 suites Node enables by default (all AEAD, all forward secret). Named explicitly:
 * Node's `ciphers` option sets the TLS 1.3 list from its `TLS_` entries, so a list without them
 * would turn TLS 1.3 off.
 */
export const TLS13_CIPHERS: readonly string[] = Object.freeze([
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
]);

const WHERE = 'tlsOptions';
export const TLS_OPTIONS_NAMES = optionNames<TlsOptionsInput>()(['key', 'cert', 'ca', 'crl', 'minVersion']);

function isPem(value: unknown): value is string | Buffer {
  return (typeof value === 'string' && value.length > 0) || (Buffer.isBuffer(value) && value.length > 0);
}

/** A value as an error names it ("a undefined" would be describeType's). */
const described = (value: unknown): string => (value === undefined ? 'nothing' : describeType(value));

function pemOption(value: unknown, option: keyof TlsOptionsInput): PemOption {
  if (isPem(value)) return value;
  if (Array.isArray(value) && value.length > 0 && value.every(isPem)) return [...value];
  throw configError(
    WHERE,
    `option '${option}' must be PEM text, a Buffer, or a non-empty array of these, got ${described(value)}`,
  );
}

/**
 * The options of a mutual-TLS server that refuses weak clients in the handshake: a TLS 1.1
 * client, or a TLS 1.2 client offering only CBC or static-RSA suites, never gets a response.
 * Spread it to add options of your own: `https.createServer({ ...tlsOptions({ key, cert, ca }), ... })`.
 */
export function tlsOptions(input: TlsOptionsInput): MutualTlsServerOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw configError(WHERE, `options must be an object { key, cert, ca, crl?, minVersion? }, got ${described(input)}`);
  }
  for (const key of Object.keys(input)) {
    if (!(TLS_OPTIONS_NAMES as readonly string[]).includes(key)) {
      throw configError(WHERE, `unknown option '${key}' (known: ${TLS_OPTIONS_NAMES.join(', ')})`);
    }
  }
  const { minVersion = 'TLSv1.2' } = input;
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') {
    const got = typeof minVersion === 'string' ? `'${minVersion}'` : described(minVersion);
    throw configError(WHERE, `option 'minVersion' must be 'TLSv1.2' or 'TLSv1.3' (RFC 9325 4.1), got ${got}`);
  }
  const options: MutualTlsServerOptions = {
    key: pemOption(input.key, 'key'),
    cert: pemOption(input.cert, 'cert'),
    ca: pemOption(input.ca, 'ca'),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion,
    ciphers: [...TLS13_CIPHERS, ...RFC9325_TLS12_CIPHERS].join(':'),
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
  if (input.crl !== undefined) options.crl = pemOption(input.crl, 'crl');
  return options;
}
