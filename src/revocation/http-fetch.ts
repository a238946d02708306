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
  /**
   * Called with the size of each body chunk before it is kept; throws to abort the download (a
   * budget shared by downloads in flight, see byte-budget.ts).
   */
  charge?: (bytes: number) => void;
}

export interface BoundedResponse {
  status: number;
  headers: Headers;
  /** Empty for 304 and error statuses. */
  bytes: Buffer;
}

/**
 * Redirects followed per request. A CRL or OCSP URL that moves is followed a few hops (CDNs and
 * moved responders do redirect), never to another scheme: an http: URL stays http:, an https:
 * one stays https:, so a redirect can neither reach file:/data: nor change what the operator chose.
 */
export const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

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
  const response = await fetchFollowing(url, request, signal, fail);
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status, headers: response.headers, bytes: Buffer.alloc(0) };
  }
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > request.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`response is ${declared} bytes, over the ${request.maxBytes}-byte limit`);
  }
  // A compressed body (fetch decodes it) is longer than its declared length: no size known then.
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  const length = encoded ? 0 : declared;
  const bytes = await readCapped(response, request.maxBytes, length, request.charge).catch((err: Error) =>
    err instanceof BodyRefused ? Promise.reject(err) : fail(err),
  );
  return { status: response.status, headers: response.headers, bytes };
}

/**
 * The request, redirects followed by {@link MAX_REDIRECTS}'s policy: the same method, headers and
 * body at the new address. Each hop sends its own copy of the body: undici transfers (detaches)
 * the buffer it sends, so reusing one fails the second hop with "detached ArrayBuffer".
 */
async function fetchFollowing(
  url: string,
  request: BoundedRequest,
  signal: AbortSignal,
  fail: (err: unknown) => never,
): Promise<Response> {
  const scheme = parseUrl(url, url, fail).protocol;
  let current = url;
  for (let hop = 0; ; hop++) {
    const response = await fetch(current, {
      method: request.method ?? 'GET',
      headers: request.headers ?? {},
      ...(request.body ? { body: new Uint8Array(request.body) } : {}),
      redirect: 'manual',
      signal,
    }).catch(fail);
    if (!REDIRECT_STATUSES.has(response.status)) return response;
    await response.body?.cancel().catch(() => undefined);
    const location = response.headers.get('location');
    if (!location) throw new Error(`HTTP ${response.status} redirect from ${current} without a Location`);
    if (hop === MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects (last to ${location})`);
    const next = parseUrl(location, current, fail);
    if (next.protocol !== scheme)
      throw new Error(`redirect from ${current} to ${next.protocol} refused: only ${scheme} redirects are followed`);
    current = next.href;
  }
}

function parseUrl(location: string, base: string, fail: (err: unknown) => never): URL {
  try {
    return new URL(location, base);
  } catch (err) {
    return fail(err);
  }
}

/** A body refused on its own terms (too large, or over the shared budget): reported as it is. */
export class BodyRefused extends Error {}

/**
 * Reads a response body, aborting as soon as it passes `max` bytes (a hijacked URL may stream
 * forever). With a declared length the body goes straight into one buffer of that size: no chunk
 * list and no joined copy, so a download holds what it weighs, as charged.
 */
async function readCapped(
  response: Response,
  max: number,
  declared: number,
  charge: ((bytes: number) => void) | undefined,
): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const chargeOrRefuse = (bytes: number) => {
    try {
      charge?.(bytes);
    } catch (err) {
      throw new BodyRefused((err as Error).message);
    }
  };
  // The declared length is charged before its buffer exists: a server that declares 64 MiB and
  // then stalls must not hold memory the budget does not see.
  if (declared > 0) chargeOrRefuse(declared);
  const into = declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (total + chunk.length > max) throw new BodyRefused(`response is over the ${max}-byte limit`);
    if (!into) chargeOrRefuse(chunk.length);
    if (!into) chunks.push(chunk);
    else if (total + chunk.length > into.length) throw new BodyRefused(`response is longer than its declared length`);
    else into.set(chunk, total);
    total += chunk.length;
  }
  return into ? into.subarray(0, total) : joinChunks(chunks, total);
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
