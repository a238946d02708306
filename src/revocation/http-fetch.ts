import { joinChunks } from './crl-bytes.js';

/**
 * The one HTTP client of revocation (CRL and OCSP): Node's fetch with a timeout, a size cap
 * enforced while the body streams, and errors worded for operators. Revocation URLs can be
 * hijacked, so nothing here trusts the server to be brief or honest about its length.
 */
export interface BoundedRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer>;
  timeoutMs: number;
  maxBytes: number;
  /** Aborts the request (the verifier's close()). */
  signal?: AbortSignal;
}

export interface BoundedResponse {
  status: number;
  headers: Headers;
  /** Empty for 304 and error statuses. */
  bytes: Buffer;
}

export async function fetchBounded(url: string, request: BoundedRequest): Promise<BoundedResponse> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  const fail = (err: unknown): never => {
    const e = err as Error;
    throw new Error(
      e?.name === 'TimeoutError' || timeout.aborted
        ? `no answer within ${request.timeoutMs} ms`
        : `fetch failed: ${causeOf(e)}`,
    );
  };
  const response = await fetch(url, {
    method: request.method ?? 'GET',
    headers: request.headers ?? {},
    ...(request.body ? { body: request.body } : {}),
    redirect: 'follow',
    signal,
  }).catch(fail);
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status, headers: response.headers, bytes: Buffer.alloc(0) };
  }
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > request.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`response is ${declared} bytes, over the ${request.maxBytes}-byte limit`);
  }
  const bytes = await readCapped(response, request.maxBytes).catch((err: Error) =>
    err instanceof BodyTooLarge ? Promise.reject(err) : fail(err),
  );
  return { status: response.status, headers: response.headers, bytes };
}

class BodyTooLarge extends Error {}

/** Reads a response body, aborting as soon as it passes `max` bytes (a hijacked URL may stream forever). */
async function readCapped(response: Response, max: number): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > max) throw new BodyTooLarge(`response is over the ${max}-byte limit`);
    chunks.push(chunk);
  }
  return joinChunks(chunks, total);
}

/** undici reports "fetch failed" with the useful part (ECONNREFUSED, ...) in `cause`. */
function causeOf(err: Error | undefined): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? err?.message ?? String(err);
}

/** First retry after a failure; doubles per failure up to a cap. */
export const MIN_RETRY_MS = 1_000;

export function backoff(attempts: number, cap: number): number {
  return Math.min(cap, MIN_RETRY_MS * 2 ** Math.min(attempts - 1, 30));
}

/** Node turns longer timer delays into 1 ms; 24 days is far beyond any refresh schedule. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay a refresh timer may wait: at least MIN_RETRY_MS, at most what a Node timer can wait. */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(ms, MIN_RETRY_MS), MAX_TIMER_MS);
}

/**
 * The wait before attempt `attempts` + 1 of a failing CRL source: doubling from MIN_RETRY_MS up to
 * `capMs` (refreshIntervalMs), never under MIN_RETRY_MS however short the cap.
 */
export function retryDelayMs(attempts: number, capMs: number): number {
  return timerDelay(backoff(attempts, capMs));
}
