import { readFile, stat } from 'node:fs/promises';
import { fetchBounded, LargeBodyDeclared } from './http-fetch.js';
import { crlWorkerAvailable, fetchOffThread } from './crl-offthread.js';
import { LARGE_CRL_BYTES } from './crl-header.js';
import type { ByteLease } from './byte-budget.js';

/** What a file or URL delivered: the bytes, and the validators for the next conditional request. */
export interface Delivery {
  bytes: Buffer;
  etag?: string | undefined;
  lastModified?: string | undefined;
}

/** What the store remembers about a file or URL between reads. */
export interface DeliveryState {
  spec: { location: string };
  fileStamp?: string;
  etag?: string | undefined;
  lastModified?: string | undefined;
}

/** A CRL file's bytes if it changed since the last read (undefined if not); size-capped before reading. */
export async function readChangedFile(state: DeliveryState, maxBytes: number): Promise<Delivery | undefined> {
  // An atomic rename gives a new inode; an in-place write a new mtime or size.
  const s = await stat(state.spec.location);
  const stamp = `${s.ino}:${s.mtimeMs}:${s.size}`;
  if (stamp === state.fileStamp) return undefined;
  if (s.size > maxBytes) throw new Error(`file is ${s.size} bytes, over the ${maxBytes}-byte limit`);
  const bytes = await readFile(state.spec.location);
  state.fileStamp = stamp;
  return { bytes };
}

/**
 * A CRL URL's body if it changed (a conditional request: undefined on 304), through the bounded
 * fetch. `offThread`: the CRL worker downloads it (a source whose last body was large), so that
 * receiving tens of megabytes does not take the event loop's CPU, `paced` if nothing waits for it
 * (pacing.ts); on the main thread if no worker runs.
 */
export async function fetchChanged(
  state: DeliveryState,
  limits: { maxBytes: number; timeoutMs: number; signal: AbortSignal; lease: ByteLease; offThread: boolean },
  paced: boolean,
): Promise<Delivery | undefined> {
  const headers: Record<string, string> = {};
  if (state.etag) headers['if-none-match'] = state.etag;
  if (state.lastModified) headers['if-modified-since'] = state.lastModified;
  const { lease, offThread, ...request } = limits;
  const url = state.spec.location;
  const inWorker = offThread ? await workerFetch(url, { headers, ...request }, lease, paced) : undefined;
  const response = inWorker ?? (await mainThreadFetch(url, { headers, ...request }, lease, paced));
  if (response.status === 304) return undefined;
  if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
  return { bytes: response.bytes, etag: response.etag, lastModified: response.lastModified };
}

/**
 * The fetch in the CRL worker; undefined when none could do it. A worker that died mid-download
 * charged its bytes to the lease: they are given back before the caller tries on the main thread.
 */
async function workerFetch(
  url: string,
  request: { headers: Record<string, string>; maxBytes: number; timeoutMs: number; signal: AbortSignal },
  lease: ByteLease,
  paced: boolean,
) {
  const inWorker = await fetchOffThread(url, request, lease.shared, paced);
  if (!inWorker) lease.release();
  return inWorker;
}

/**
 * The fetch on the main thread. A response that declares a large body is dropped unread and fetched
 * again by the worker when one can run: one extra request, rather than the event loop receiving it.
 */
async function mainThreadFetch(
  url: string,
  request: { headers: Record<string, string>; maxBytes: number; timeoutMs: number; signal: AbortSignal },
  lease: ByteLease,
  paced: boolean,
) {
  const handOffFrom = crlWorkerAvailable() ? LARGE_CRL_BYTES : undefined;
  let response: Awaited<ReturnType<typeof fetchBounded>>;
  try {
    response = await fetchBounded(url, { ...request, charge: lease.charge, handOffFrom });
  } catch (err) {
    if (!(err instanceof LargeBodyDeclared)) throw err;
    const inWorker = await workerFetch(url, request, lease, paced);
    if (inWorker) return inWorker;
    response = await fetchBounded(url, { ...request, charge: lease.charge });
  }
  const { status, bytes } = response;
  return {
    status,
    bytes,
    etag: response.headers.get('etag') ?? undefined,
    lastModified: response.headers.get('last-modified') ?? undefined,
  };
}
