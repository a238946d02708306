import type { KeyObject } from 'node:crypto';
import { streamingVerifier, verifySignature } from '../x509/signature.js';
import { monotonicNow, type ParsedCrl } from './crl.js';
import { verifyOffThread } from './crl-offthread.js';

/**
 * Turning a large CRL download into DER without stalling the event loop: one copy into a buffer
 * of the final size, PEM decoded in slices, a yield whenever a slice has run for a few ms.
 * (A single 35 MiB Buffer.concat or PEM decode blocks for 100 ms to 2 s.)
 */

/** Work done between two yields to the event loop, in ms. */
export const SLICE_MS = 5;
/** Bytes decoded or hashed per step: 1-2 ms of work here, so a slice ends close to SLICE_MS. */
const SLICE_BYTES = 128 * 1024;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** TBS sizes from which a signature is checked in the CRL worker rather than here. */
const OFF_THREAD_BYTES = 256 * 1024;

/**
 * A CRL's signature checked without blocking the event loop: in the CRL worker when the CRL was
 * decoded there (crl-offthread.ts), else here over its TBS bytes in slices (one crypto.verify over
 * 35 MiB blocks for 25 ms). Throws UnsupportedAlgorithmError as verifySignature does.
 */
export async function verifyInSlices(crl: ParsedCrl, key: KeyObject, legacyAlgorithms: boolean): Promise<boolean> {
  if (crl.tbs.length >= OFF_THREAD_BYTES) {
    // The worker cannot tell an unsupported algorithm from a bad signature: the check below can.
    streamingVerifier(crl.signatureAlgorithm, key, legacyAlgorithms);
    const verified = await verifyOffThread(crl, key, legacyAlgorithms);
    if (verified !== undefined) return verified;
  }
  const streaming = streamingVerifier(crl.signatureAlgorithm, key, legacyAlgorithms);
  if (!streaming) return verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, key, legacyAlgorithms);
  let since = performance.now();
  for (let pos = 0; pos < crl.tbs.length; pos += SLICE_BYTES) {
    streaming.update(crl.tbs.subarray(pos, pos + SLICE_BYTES));
    if (performance.now() - since > SLICE_MS) {
      await yieldToEventLoop();
      since = performance.now();
    }
  }
  return streaming.verify(crl.signature);
}

/** Joins chunks into one Buffer, copying in slices (`now` is injectable for tests). */
export async function joinChunks(chunks: readonly Uint8Array[], total: number, now = monotonicNow): Promise<Buffer> {
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  let since = now();
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
    if (now() - since > SLICE_MS) {
      await yieldToEventLoop();
      since = now();
    }
  }
  return out;
}

const BEGIN = Buffer.from('-----BEGIN X509 CRL-----');
const END = Buffer.from('-----END X509 CRL-----');
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;

/** Where a decoded CRL's bytes go: a Buffer of at least `size` bytes (a worker asks for shared memory). */
export type Allocate = (size: number) => Buffer;

/**
 * The DER CRLs in a download: the bytes themselves when they are DER (a SEQUENCE), else every
 * `X509 CRL` PEM block, base64-decoded slice by slice straight into one buffer from `allocate`
 * (sized from the block's length: base64 never decodes to more than 3/4 of it). Throws on anything else.
 */
export async function crlDers(bytes: Buffer | string, allocate: Allocate = Buffer.allocUnsafe): Promise<Buffer[]> {
  // A string is PEM text (a configured value): it is decoded from the string, never copied whole.
  if (typeof bytes !== 'string' && bytes[0] === 0x30) return [bytes];
  const ders: Buffer[] = [];
  let from = 0;
  for (;;) {
    const begin = bytes.indexOf(BEGIN as never, from);
    if (begin < 0) break;
    const bodyStart = begin + BEGIN.length;
    const end = bytes.indexOf(END as never, bodyStart);
    if (end < 0) throw new Error('an X509 CRL PEM block has no END line');
    // Finding the END line of a 66 MB block takes a few ms: the decoding starts in a task of its own.
    if (end - bodyStart > SLICE_BYTES) await yieldToEventLoop();
    ders.push(await decodePemBody(bytes, bodyStart, end, allocate));
    from = end + END.length;
  }
  if (ders.length === 0)
    throw new Error(bytes.length === 0 ? 'the response is empty' : 'it holds neither DER nor an X509 CRL PEM block');
  return ders;
}

async function decodePemBody(
  bytes: Buffer | string,
  bodyStart: number,
  end: number,
  allocate: Allocate,
): Promise<Buffer> {
  const out = allocate(Math.ceil((end - bodyStart) / 4) * 3);
  let size = 0;
  let carry = '';
  let since = performance.now();
  for (let pos = bodyStart; pos < end; pos += SLICE_BYTES) {
    // Strip whitespace, and carry the characters that do not fill a 4-character group.
    const upTo = Math.min(end, pos + SLICE_BYTES);
    const chunk = typeof bytes === 'string' ? bytes.slice(pos, upTo) : bytes.toString('latin1', pos, upTo);
    const text = carry + chunk.replace(/\s+/g, '');
    if (NOT_BASE64.test(text)) throw new Error('the X509 CRL PEM block is not valid base64');
    const whole = text.length - (text.length % 4);
    size += out.write(text.slice(0, whole), size, 'base64');
    carry = text.slice(whole);
    if (performance.now() - since > SLICE_MS) {
      await yieldToEventLoop();
      since = performance.now();
    }
  }
  if (carry.length > 0) throw new Error('the X509 CRL PEM block is not valid base64 (truncated)');
  if (size === 0) throw new Error('the X509 CRL PEM block is empty');
  return out.subarray(0, size);
}
