import { readFile, stat } from 'node:fs/promises';
import { fetchBounded } from './http-fetch.js';

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

/** A CRL URL's body if it changed (a conditional request: undefined on 304), through the bounded fetch. */
export async function fetchChanged(
  state: DeliveryState,
  limits: { maxBytes: number; timeoutMs: number; signal: AbortSignal; charge?: (bytes: number) => void },
): Promise<Delivery | undefined> {
  const headers: Record<string, string> = {};
  if (state.etag) headers['if-none-match'] = state.etag;
  if (state.lastModified) headers['if-modified-since'] = state.lastModified;
  const response = await fetchBounded(state.spec.location, { headers, ...limits });
  if (response.status === 304) return undefined;
  if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
  return {
    bytes: response.bytes,
    etag: response.headers.get('etag') ?? undefined,
    lastModified: response.headers.get('last-modified') ?? undefined,
  };
}
