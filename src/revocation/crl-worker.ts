/**
 * The worker_threads side of crl-offthread.ts: decodes PEM, indexes the entries, hashes and checks
 * signatures of large CRLs so that the main thread (which serves requests) never does. It is its
 * own bundle entry (tsup.config.ts: dist/crl-worker.js and .cjs) and runs the same decoder as the
 * main thread (crl.ts), so both threads accept exactly the same CRLs.
 *
 * Every CRL's DER is written into a SharedArrayBuffer: the main thread reads it in place (no copy),
 * and a later signature check can be sent back here without copying it either. The index's typed
 * arrays are transferred (moved, not copied).
 */
import type { KeyObject } from 'node:crypto';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { crlDers } from './crl-bytes.js';
import { decodeCrl, indexEntries, MalformedCrlError, type IndexedEntries } from './crl.js';
import { verifySignature } from '../x509/signature.js';

/** A request to the worker. */
export type CrlWorkerJob =
  | {
      id: number;
      kind: 'parse';
      /** The CRL's bytes (PEM or DER) are input[offset, offset + length). */
      input: ArrayBuffer | SharedArrayBuffer;
      offset: number;
      length: number;
      keys: KeyObject[];
      legacyAlgorithms: boolean;
    }
  | { id: number; kind: 'verify'; der: SharedDer; key: KeyObject; legacyAlgorithms: boolean };

/** A DER CRL in shared memory. */
export interface SharedDer {
  buffer: SharedArrayBuffer;
  offset: number;
  length: number;
}

/** One parsed CRL: where its DER is, its entries, and which of the job's keys verified it. */
export interface ParsedInWorker {
  der: SharedDer;
  entries: IndexedEntries;
  verifiedBy: number[];
}

export type CrlWorkerReply =
  | { id: number; ok: true; crls: ParsedInWorker[] }
  | { id: number; ok: true; verified: boolean }
  | { id: number; ok: false; malformed: boolean; message: string };

const shared = (size: number) => Buffer.from(new SharedArrayBuffer(Math.max(1, size)));

function toShared(der: Buffer): Buffer {
  if (der.buffer instanceof SharedArrayBuffer) return der;
  const copy = shared(der.length);
  der.copy(copy);
  return copy.subarray(0, der.length);
}

/** Verified with `key`? Unsupported algorithms and weak keys are "no" here, as in the CRL store. */
function verifies(der: Buffer, key: KeyObject, legacyAlgorithms: boolean): boolean {
  try {
    const { crl } = decodeCrl(der);
    return verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, key, legacyAlgorithms);
  } catch {
    return false;
  }
}

async function parse(job: Extract<CrlWorkerJob, { kind: 'parse' }>): Promise<ParsedInWorker[]> {
  const input = Buffer.from(job.input, job.offset, job.length);
  let ders: Buffer[];
  try {
    ders = await crlDers(input, shared);
  } catch (err) {
    throw new MalformedCrlError((err as Error).message);
  }
  return ders.map((found) => {
    const der = toShared(found);
    const entries = indexEntries(der);
    const verifiedBy: number[] = [];
    job.keys.forEach((key, i) => {
      if (verifies(der, key, job.legacyAlgorithms)) verifiedBy.push(i);
    });
    const where = { buffer: der.buffer as SharedArrayBuffer, offset: der.byteOffset, length: der.length };
    return { der: where, entries, verifiedBy };
  });
}

async function run(job: CrlWorkerJob): Promise<void> {
  const port = parentPort;
  if (!port) return;
  try {
    if (job.kind === 'verify') {
      const der = Buffer.from(job.der.buffer, job.der.offset, job.der.length);
      port.postMessage({ id: job.id, ok: true, verified: verifies(der, job.key, job.legacyAlgorithms) });
      return;
    }
    const crls = await parse(job);
    const moved = crls.flatMap((c) => [c.entries.slots.buffer, c.entries.lengths.buffer]) as ArrayBuffer[];
    port.postMessage({ id: job.id, ok: true, crls } satisfies CrlWorkerReply, moved);
  } catch (err) {
    const reply: CrlWorkerReply = {
      id: job.id,
      ok: false,
      malformed: err instanceof MalformedCrlError,
      message: (err as Error).message,
    };
    port.postMessage(reply);
  }
}

/**
 * Below the threads that serve requests: on Linux a niceness is per thread, and 0 names this one,
 * so a busy machine gives the event loop its CPU first and the CRL load what is left (elsewhere
 * this may set the whole process's priority, or fail: then it is left as it is).
 */
export const WORKER_NICENESS = 10;
if (process.platform === 'linux') {
  try {
    setPriority(0, WORKER_NICENESS);
  } catch {
    // Not allowed here: the worker runs at the process's priority.
  }
}

// Jobs run one at a time, in order: the main thread queues them.
parentPort?.on('message', (job: CrlWorkerJob) => void run(job));
