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
import { crlDers, SLICE_MS, verifyPausing } from './crl-bytes.js';
import { decodeCrl, indexEntries, indexEntriesInSlices, MalformedCrlError, type IndexedEntries } from './crl.js';
import { restingPause, type Pause } from './pacing.js';
import { verifySignature } from '../x509/signature.js';
import { chargeShared, type SharedLease } from './byte-budget.js';
import { fetchBounded } from './http-fetch.js';

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
      /** A refresh: worked at PACED_DUTY (pacing.ts), resting between slices, not at full speed. */
      paced: boolean;
    }
  | { id: number; kind: 'verify'; der: SharedDer; key: KeyObject; legacyAlgorithms: boolean }
  | {
      id: number;
      kind: 'fetch';
      url: string;
      headers: Record<string, string>;
      maxBytes: number;
      timeoutMs: number;
      /** The download's lease on the budget of downloads in flight (charged here, released there). */
      lease: SharedLease;
      paced: boolean;
    }
  /** Abandons job `id` (a fetch): what the verifier's close() aborts. No reply of its own. */
  | { id: number; kind: 'cancel' };

/** What a fetch job downloaded: the body (in shared memory) and the validators for the next request. */
export interface Fetched {
  status: number;
  etag?: string | undefined;
  lastModified?: string | undefined;
  body: SharedDer;
}

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
  | { id: number; ok: true; fetched: Fetched }
  | { id: number; ok: false; malformed: boolean; message: string };

const shared = (size: number) => Buffer.from(new SharedArrayBuffer(Math.max(1, size)));

function toShared(der: Buffer): Buffer {
  if (der.buffer instanceof SharedArrayBuffer) return der;
  const copy = shared(der.length);
  der.copy(copy);
  return copy.subarray(0, der.length);
}

/**
 * Verified with `key`? Unsupported algorithms and weak keys are "no" here, as in the CRL store.
 * With `pause`, the TBS bytes are hashed in slices with pauses between them.
 */
async function verifies(der: Buffer, key: KeyObject, legacyAlgorithms: boolean, pause?: Pause): Promise<boolean> {
  try {
    const { crl } = decodeCrl(der);
    if (pause) return await verifyPausing(crl, key, legacyAlgorithms, pause);
    return verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, key, legacyAlgorithms);
  } catch {
    return false;
  }
}

async function parse(job: Extract<CrlWorkerJob, { kind: 'parse' }>): Promise<ParsedInWorker[]> {
  const input = Buffer.from(job.input, job.offset, job.length);
  const pause = job.paced ? restingPause(SLICE_MS) : undefined;
  let ders: Buffer[];
  try {
    ders = await crlDers(input, shared, pause);
  } catch (err) {
    throw new MalformedCrlError((err as Error).message);
  }
  const parsed: ParsedInWorker[] = [];
  for (const found of ders) {
    const der = toShared(found);
    const entries = pause ? await indexEntriesInSlices(der, SLICE_MS, pause) : indexEntries(der);
    const verifiedBy: number[] = [];
    for (const [i, key] of job.keys.entries())
      if (await verifies(der, key, job.legacyAlgorithms, pause)) verifiedBy.push(i);
    const where = { buffer: der.buffer as SharedArrayBuffer, offset: der.byteOffset, length: der.length };
    parsed.push({ der: where, entries, verifiedBy });
  }
  return parsed;
}

/** Fetches in progress, by job id, so that a 'cancel' can abort them. */
const fetches = new Map<number, AbortController>();

/** A CRL URL's response read here, off the event loop that serves requests, into shared memory. */
async function download(job: Extract<CrlWorkerJob, { kind: 'fetch' }>): Promise<Fetched> {
  const abort = new AbortController();
  fetches.set(job.id, abort);
  try {
    const { url, headers, maxBytes, timeoutMs, lease } = job;
    const response = await fetchBounded(url, {
      headers,
      maxBytes,
      timeoutMs,
      signal: abort.signal,
      charge: (bytes) => chargeShared(lease, bytes),
      allocate: shared,
      pause: job.paced ? restingPause(SLICE_MS) : undefined,
    });
    const body = toShared(response.bytes);
    return {
      status: response.status,
      etag: response.headers.get('etag') ?? undefined,
      lastModified: response.headers.get('last-modified') ?? undefined,
      body: { buffer: body.buffer as SharedArrayBuffer, offset: body.byteOffset, length: body.length },
    };
  } finally {
    fetches.delete(job.id);
  }
}

async function run(job: CrlWorkerJob): Promise<void> {
  const port = parentPort;
  if (!port) return;
  if (job.kind === 'cancel') {
    fetches.get(job.id)?.abort();
    return;
  }
  try {
    if (job.kind === 'fetch') {
      port.postMessage({ id: job.id, ok: true, fetched: await download(job) } satisfies CrlWorkerReply);
      return;
    }
    if (job.kind === 'verify') {
      const der = Buffer.from(job.der.buffer, job.der.offset, job.der.length);
      port.postMessage({ id: job.id, ok: true, verified: await verifies(der, job.key, job.legacyAlgorithms) });
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

// Each job runs as it arrives: decoding and checking run to completion, downloads wait for their
// bytes meanwhile (a slow distribution point holds up nothing else).
parentPort?.on('message', (job: CrlWorkerJob) => void run(job));
