import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { joinChunks, SLICE_MS } from './crl-bytes.js';
import type { Pause } from './pacing.js';

/**
 * The one HTTP client of revocation (CRL and OCSP): node:http with a timeout, a size cap enforced
 * while the body streams, and errors worded for operators. Revocation URLs can be hijacked, so
 * nothing here trusts the server to be brief or honest about its length. (Not fetch: undici's
 * first use loads for 40 ms in one block, and its web streams cost the event loop 30-40 ms at a
 * time while a 49 MB CRL downloads.)
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
  /** Makes the buffer a body of known length is read into (default: Buffer.allocUnsafe). */
  allocate?: (size: number) => Buffer;
  /** Called whenever reading the body has run SLICE_MS: a paced download rests there (pacing.ts). */
  pause?: Pause;
  /**
   * A body declared this long or longer is not read here: the response is dropped and
   * LargeBodyDeclared thrown, for the caller to fetch it where a large body costs nothing (the CRL worker).
   */
  handOffFrom?: number;
}

/** A response declared a body of at least `handOffFrom` bytes (see BoundedRequest). */
export class LargeBodyDeclared extends Error {}

/** Response headers, looked up by name (case-insensitive); repeated ones joined with ", ". */
export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface BoundedResponse {
  status: number;
  headers: ResponseHeaders;
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
    if (request.signal?.aborted) throw new Error('aborted: the verifier was closed');
    throw new Error(
      e?.name === 'TimeoutError' || timeout.aborted
        ? `no answer within ${request.timeoutMs} ms`
        : `fetch failed: ${causeOf(e)}`,
    );
  };
  const response = await requestFollowing(url, request, signal, fail);
  const status = response.statusCode ?? 0;
  const headers = headersOf(response);
  if (status < 200 || status > 299) {
    response.destroy();
    return { status, headers, bytes: Buffer.alloc(0) };
  }
  const declared = Number(headers.get('content-length') ?? 0);
  if (declared > request.maxBytes) {
    response.destroy();
    throw new Error(`response is ${declared} bytes, over the ${request.maxBytes}-byte limit`);
  }
  if (request.handOffFrom !== undefined && declared >= request.handOffFrom) {
    response.destroy();
    throw new LargeBodyDeclared(`the response declares ${declared} bytes`);
  }
  // A compressed body (decoded here, the cap applying to what it decodes to) has no known length.
  const encoding = (headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const body = decoded(response, encoding);
  const length = body === response ? declared : 0;
  const bytes = await readCapped(body, { ...request, declared: length }).catch((err: Error) => {
    response.destroy();
    body.destroy();
    return err instanceof BodyRefused ? Promise.reject(err) : fail(err);
  });
  return { status, headers, bytes };
}

/** The body as sent, or decompressed (servers should not compress unasked, but CDNs do). */
function decoded(response: IncomingMessage, encoding: string): Readable {
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : undefined;
  if (encoding === 'identity') return response;
  if (!decoder) {
    response.destroy();
    throw new Error(`the response's content-encoding ${encoding} is not supported`);
  }
  response.on('error', (err) => decoder.destroy(err));
  return response.pipe(decoder);
}

/** The request, redirects followed by {@link MAX_REDIRECTS}'s policy: the same method, headers and body. */
async function requestFollowing(
  url: string,
  request: BoundedRequest,
  signal: AbortSignal,
  fail: (err: unknown) => never,
): Promise<IncomingMessage> {
  const scheme = parseUrl(url, url, fail).protocol;
  if (scheme !== 'http:' && scheme !== 'https:') throw new Error(`${scheme} URLs are not fetched`);
  let current = url;
  for (let hop = 0; ; hop++) {
    const response = await requestOnce(new URL(current), request, signal).catch(fail);
    if (!REDIRECT_STATUSES.has(response.statusCode ?? 0)) return response;
    response.destroy();
    const location = response.headers.location;
    if (!location) throw new Error(`HTTP ${response.statusCode} redirect from ${current} without a Location`);
    if (hop === MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects (last to ${location})`);
    const next = parseUrl(location, current, fail);
    if (next.protocol !== scheme)
      throw new Error(`redirect from ${current} to ${next.protocol} refused: only ${scheme} redirects are followed`);
    current = next.href;
  }
}

/** One request: resolves with the response (its body not read yet), rejects on a network error or abort. */
function requestOnce(url: URL, request: BoundedRequest, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const headers = { ...(request.headers ?? {}) };
    if (request.body) headers['content-length'] = String(request.body.length);
    // No pooled keep-alive sockets: revocation requests are rare, and an idle one must not hold the process.
    const req = client.request(url, { method: request.method ?? 'GET', headers, signal, agent: false }, resolve);
    req.on('error', (err) => reject(signal.aborted ? (signal.reason ?? err) : err));
    req.end(request.body);
  });
}

function headersOf(response: IncomingMessage): ResponseHeaders {
  return {
    get(name) {
      const value = response.headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
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
  response: Readable,
  { maxBytes: max, declared, charge, allocate, pause }: BoundedRequest & { declared: number },
): Promise<Buffer> {
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
  const into = declared > 0 ? (allocate ?? Buffer.allocUnsafe)(declared) : undefined;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let since = performance.now();
  for await (const chunk of response as AsyncIterable<Buffer>) {
    // Resting here leaves the socket unread: TCP slows the sender down meanwhile.
    if (pause && performance.now() - since > SLICE_MS) {
      await pause();
      since = performance.now();
    }
    if (total + chunk.length > max) throw new BodyRefused(`response is over the ${max}-byte limit`);
    if (!into) chargeOrRefuse(chunk.length);
    if (!into) chunks.push(chunk);
    else if (total + chunk.length > into.length) throw new BodyRefused(`response is longer than its declared length`);
    else into.set(chunk, total);
    total += chunk.length;
  }
  // A body cut short of its declared length is not a CRL or an answer.
  if (into && total < declared) throw new Error(`the response ended after ${total} of ${declared} bytes`);
  return into ? into.subarray(0, total) : joinChunks(chunks, total);
}

/** A network error's useful part (ECONNREFUSED, ...). */
function causeOf(err: Error | undefined): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  // A string code (ECONNREFUSED, ...); a DOMException's numeric code says nothing to an operator.
  const raw = (err as { code?: unknown } | undefined)?.code;
  const code = typeof raw === 'string' ? raw : undefined;
  return cause?.code ?? code ?? cause?.message ?? err?.message ?? String(err);
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
