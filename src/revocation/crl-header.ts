import { cursor, DerError, readElement, readTime, smallInteger, TAG, type Element } from '../x509/der.js';
import { canonicalNameKey, formatDn, readName, type Name } from '../x509/name.js';
import { decodeCrlHeader, MalformedCrlError, type ParsedCrl } from './crl.js';
import { SerialIndex } from './serial-index.js';

/**
 * What is checked synchronously of a large CRL (createVerifier must neither block nor accept a
 * CRL it can already tell is malformed): the PEM armour, the outer DER framing and the TBS fields
 * before the entries (version, signature algorithm, issuer, thisUpdate, nextUpdate), read from the
 * first HEAD_BYTES only. For a DER Buffer, everything but the entries (decodeCrlHeader: the lengths
 * against the buffer's size, the CRL extensions, the signature). The entries themselves are checked
 * later, off the event loop (crl-offthread.ts).
 */

/** Bytes of PEM text (or DER) read to check a large CRL's header. */
export const HEAD_BYTES = 64 * 1024;

/** The issuer a large CRL names, known before its entries are read. */
export interface CrlHeader {
  issuerName: Name;
  issuerKey: string;
  issuerDN: string;
}

const BEGIN = '-----BEGIN X509 CRL-----';
const END = '-----END X509 CRL-----';

/** The first HEAD_BYTES of `input`, as bytes. */
function head(input: string | Uint8Array, from: number): Buffer {
  if (typeof input === 'string') return Buffer.from(input.slice(from, from + HEAD_BYTES), 'latin1');
  return Buffer.from(input.buffer, input.byteOffset + from, Math.min(HEAD_BYTES, input.length - from));
}

/** The header of a PEM block's DER, from the start of its base64 body. */
function pemHead(input: string | Uint8Array, partial: boolean): Buffer {
  const begin = input.indexOf(BEGIN as never);
  if (begin < 0) throw new MalformedCrlError('it holds neither DER nor an X509 CRL PEM block');
  // From the end: a forward search of 66 MB of PEM in a Buffer costs over 100 ms.
  if (!partial && input.lastIndexOf(END as never) < begin)
    throw new MalformedCrlError('an X509 CRL PEM block has no END line');
  const text = head(input, begin + BEGIN.length)
    .toString('latin1')
    .split('-----')[0]
    ?.replace(/\s+/g, '') as string;
  if (/[^A-Za-z0-9+/=]/.test(text)) throw new MalformedCrlError('the X509 CRL PEM block is not valid base64');
  return Buffer.from(text.slice(0, text.length - (text.length % 4)), 'base64');
}

/** An element's header (tag and length) at `pos`, its content possibly past the end of `bytes`. */
function framing(bytes: Buffer, pos: number, limit: number): Element {
  if (pos + 6 > bytes.length && limit > bytes.length) throw new DerError('the CRL header is too large to check');
  return readElement(bytes, pos, limit);
}

/** The TBS fields before the entries, from a prefix of the DER (`total`: the DER's size, if known). */
function headerOfPrefix(der: Buffer, total: number): CrlHeader {
  const outer = framing(der, 0, total);
  if (outer.tag !== TAG.SEQUENCE) throw new DerError('a CRL must be a SEQUENCE');
  const tbs = framing(der, outer.contentStart, outer.end);
  if (tbs.tag !== TAG.SEQUENCE) throw new DerError('tbsCertList must be a SEQUENCE');
  // The fields before the entries must lie within the prefix read.
  const fields = cursor(der, { ...tbs, end: Math.min(tbs.end, der.length) });
  const version = fields.optional(TAG.INTEGER);
  if (version && smallInteger(der, version) !== 1) throw new DerError('CRL version must be v2');
  fields.next(TAG.SEQUENCE);
  const issuerName = readName(der, fields.next(TAG.SEQUENCE));
  readTime(der, fields.next());
  const nextTag = fields.peekTag();
  if (nextTag === TAG.UTC_TIME || nextTag === TAG.GENERALIZED_TIME) readTime(der, fields.next());
  if (fields.peekTag() === TAG.SEQUENCE) framing(der, fields.pos, tbs.end);
  return { issuerName, issuerKey: canonicalNameKey(issuerName), issuerDN: formatDn(issuerName) };
}

/**
 * The synchronous check of a large CRL input (PEM text or DER bytes); throws MalformedCrlError.
 * `total`: the CRL's size, when `input` is only its head (a file's first HEAD_BYTES).
 */
export function checkCrlHeader(input: string | Uint8Array, total = input.length): CrlHeader {
  try {
    const first = typeof input === 'string' ? input.charCodeAt(0) : input[0];
    if (first === 0x30) {
      if (typeof input !== 'string' && input.length === total) {
        const { issuerName, issuerKey, issuerDN } = decodeCrlHeader(Buffer.from(input.buffer, input.byteOffset, total));
        return { issuerName, issuerKey, issuerDN };
      }
      return headerOfPrefix(head(input, 0), total);
    }
    return headerOfPrefix(pemHead(input, total > input.length), Number.MAX_SAFE_INTEGER);
  } catch (err) {
    if (err instanceof MalformedCrlError) throw err;
    throw new MalformedCrlError(err instanceof DerError ? err.message : `undecodable CRL (${(err as Error).message})`);
  }
}

/** Inputs at least this large are checked in part at once, and loaded in full later (bytes). */
export const LARGE_CRL_BYTES = 512 * 1024;

/** A large CRL to load after createVerifier: its input (undefined: a file the CRL store reads). */
export interface DeferredCrl {
  header: CrlHeader;
  /** Cleared once loaded (or found malformed): the configuration keeps the placeholder, not the bytes. */
  input: string | Uint8Array | undefined;
}

const deferredLoads = new WeakMap<ParsedCrl, DeferredCrl>();

/** The placeholder of a large CRL whose header has been checked, standing in until it is loaded. */
export function deferredCrl(header: CrlHeader, input: string | Uint8Array | undefined): ParsedCrl {
  const crl = placeholderCrl(header, 'the configured CRL has not been loaded yet');
  deferredLoads.set(crl, { header, input });
  return crl;
}

/** The load a placeholder from deferredCrl() stands for; undefined for any other CRL. */
export function deferredLoadOf(crl: ParsedCrl): DeferredCrl | undefined {
  return deferredLoads.get(crl);
}

/**
 * A stand-in for a large CRL not loaded yet or found malformed: it names the issuer, so that
 * issuer's certificates are REVOCATION_UNKNOWN (with `why`) rather than unchecked, and lists nothing.
 */
export function placeholderCrl(header: CrlHeader, why: string): ParsedCrl {
  return {
    der: Buffer.alloc(0),
    id: `placeholder:${header.issuerKey}:${why}`,
    tbs: Buffer.alloc(0),
    signatureAlgorithm: { algorithm: '', parameters: undefined },
    signature: Buffer.alloc(0),
    signatureAlgorithmsMatch: false,
    ...header,
    thisUpdate: new Date(0),
    nextUpdate: undefined,
    crlNumber: undefined,
    authorityKeyId: undefined,
    scope: { onlyUserCerts: false, onlyCaCerts: false },
    unusableBecause: why,
    placeholder: true,
    revoked: SerialIndex.EMPTY,
    verifiedWith: new Set(),
  };
}
