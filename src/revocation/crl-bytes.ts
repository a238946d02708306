import type { KeyObject } from 'node:crypto';
import { streamingVerifier, verifySignature } from '../x509/signature.js';
import { monotonicNow, type ParsedCrl } from './crl.js';
import { verifyOffThread } from './crl-offthread.js';
import { nextTurn, type Pause } from './pacing.js';

/**
 * Turning a large CRL download into DER without stalling the event loop: one copy into a buffer
 * of the final size, PEM decoded in slices, a yield whenever a slice has run for a few ms.
 * (A single 35 MiB Buffer.concat or PEM decode blocks for 100 ms to 2 s.)
 */

/** Work done between two yields to the event loop, in ms. */
export const SLICE_MS = 5;
/** Bytes decoded or hashed per step: 1-2 ms of work here, so a slice ends close to SLICE_MS. */
const SLICE_BYTES = 128 * 1024;

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
  return verifyPausing(crl, key, legacyAlgorithms, nextTurn);
}

/** The signature check over the TBS bytes in steps, calling `pause` whenever a slice has run SLICE_MS. */
export async function verifyPausing(
  crl: Pick<ParsedCrl, 'signatureAlgorithm' | 'tbs' | 'signature'>,
  key: KeyObject,
  legacyAlgorithms: boolean,
  pause: Pause,
): Promise<boolean> {
  const streaming = streamingVerifier(crl.signatureAlgorithm, key, legacyAlgorithms);
  if (!streaming) return verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, key, legacyAlgorithms);
  let since = performance.now();
  for (let pos = 0; pos < crl.tbs.length; pos += SLICE_BYTES) {
    streaming.update(crl.tbs.subarray(pos, pos + SLICE_BYTES));
    if (performance.now() - since > SLICE_MS) {
      await pause();
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
      await nextTurn();
      since = now();
    }
  }
  return out;
}

const BEGIN = Buffer.from('-----BEGIN X509 CRL-----');
const END = Buffer.from('-----END X509 CRL-----');

/** Where a decoded CRL's bytes go: a Buffer of at least `size` bytes (a worker asks for shared memory). */
export type Allocate = (size: number) => Buffer;

/**
 * The DER CRLs in a download: the bytes themselves when they are DER (a SEQUENCE), else every
 * `X509 CRL` PEM block, base64-decoded slice by slice straight into one buffer from `allocate`
 * (sized from the block's length: base64 never decodes to more than 3/4 of it). Throws on anything else.
 */
export async function crlDers(
  bytes: Buffer | string,
  allocate: Allocate = Buffer.allocUnsafe,
  pause: Pause = nextTurn,
): Promise<Buffer[]> {
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
    if (end - bodyStart > SLICE_BYTES) await pause();
    ders.push(await decodePemBody(bytes, bodyStart, end, allocate, pause));
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
  pause: Pause,
): Promise<Buffer> {
  const out = allocate(Math.ceil((end - bodyStart) / 4) * 3);
  // The base64 characters of a step, without the line breaks (Node decodes base64 several times
  // faster without them), and the 1-3 characters of an incomplete last group carried to the next.
  const scratch = Buffer.allocUnsafe(SLICE_BYTES + 3);
  let carried = 0;
  let size = 0;
  let since = performance.now();
  for (let pos = bodyStart; pos < end; pos += SLICE_BYTES) {
    const count = base64Into(scratch, carried, bytes, pos, Math.min(end, pos + SLICE_BYTES));
    if (count < 0) throw new Error('the X509 CRL PEM block is not valid base64');
    const whole = count - (count % 4);
    size += out.write(scratch.toString('latin1', 0, whole), size, 'base64');
    scratch.copyWithin(0, whole, count);
    carried = count - whole;
    if (performance.now() - since > SLICE_MS) {
      await pause();
      since = performance.now();
    }
  }
  if (carried > 0) throw new Error('the X509 CRL PEM block is not valid base64 (truncated)');
  if (size === 0) throw new Error('the X509 CRL PEM block is empty');
  return out.subarray(0, size);
}

/** Base64 characters and the ASCII whitespace PEM allows around them (1 and 2); everything else 0. */
const PEM_CHAR = (() => {
  const table = new Uint8Array(256);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=') table[c.charCodeAt(0)] = 1;
  for (const c of ' \t\n\v\f\r') table[c.charCodeAt(0)] = 2;
  return table;
})();

/**
 * Copies the base64 characters of bytes[from, to) into `into` from `at`, skipping whitespace;
 * returns where they end there, or -1 at a character that is neither.
 */
function base64Into(into: Buffer, at: number, bytes: Buffer | string, from: number, to: number): number {
  let n = at;
  if (typeof bytes === 'string') {
    for (let i = from; i < to; i++) {
      const code = bytes.charCodeAt(i);
      const kind = code < 256 ? (PEM_CHAR[code] as number) : 0;
      if (kind === 0) return -1;
      if (kind === 1) into[n++] = code;
    }
  } else {
    for (let i = from; i < to; i++) {
      const code = bytes[i] as number;
      const kind = PEM_CHAR[code] as number;
      if (kind === 0) return -1;
      if (kind === 1) into[n++] = code;
    }
  }
  return n;
}
