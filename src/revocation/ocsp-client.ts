import { LRUCache } from 'lru-cache';
import type { ParsedCertificate } from '../x509/certificate.js';
import type { Clock } from '../time/clock.js';
import { backoff, fetchBounded, MIN_RETRY_MS } from './http-fetch.js';
import { encodeOcspRequest, OcspProtocolError, parseOcspResponse } from './ocsp.js';
import { validateOcspResponse, type OcspVerdict } from './ocsp-validation.js';
import { ocspGetUrl } from './ocsp-get.js';
import { delayUntil, ocspRefreshAt, seenRecently } from './ocsp-refresh.js';

export interface OcspClientConfig {
  /** Responders to ask instead of the certificate's Authority Information Access. */
  urls: readonly string[];
  timeoutMs: number;
  maxAgeMs: number;
  clockToleranceMs: number;
  legacyAlgorithms: boolean;
  cacheSize: number;
  /** Estimated bytes the remembered answers may hold in all; default {@link DEFAULT_OCSP_CACHE_BYTES}. */
  cacheMaxBytes?: number;
  /** Responder certificates trusted directly (RFC 6960 section 4.2.2.2 (1)), parsed. */
  responderCertificates?: readonly ParsedCertificate[];
  clock: Clock;
}

/** Events for operators; listen with `verifier.on(name, listener)`. */
export interface OcspEvents {
  'ocsp-response': {
    url: string;
    subject: string;
    serialNumber: string;
    status: 'good' | 'revoked' | 'unknown';
    thisUpdate: Date;
    nextUpdate: Date | undefined;
    signer: string;
  };
  'ocsp-failed': { url: string; subject: string; serialNumber: string; error: string; retryInMs: number };
}

export type OcspAnswer =
  | { status: 'good' | 'revoked' | 'unknown'; url: string; verdict: OcspVerdict; until: number }
  | { status: 'unavailable'; why: string; until: number };

/** OCSP responses are small (a status and perhaps a responder certificate). */
export const MAX_OCSP_RESPONSE_BYTES = 256 * 1024;
/** A failing responder is left alone for at most this long before it is tried again. */
export const MAX_OCSP_RETRY_MS = 60_000;
/**
 * "No answer" about one certificate (a refused request, a bad or `unknown` answer) is remembered
 * this long: short, because a newly issued certificate may be unknown to the responder for a while.
 */
export const OCSP_NO_ANSWER_RECHECK_MS = 30_000;

/** The OCSP answers' share of a verifier's default `cacheMaxBytes`. */
export const DEFAULT_OCSP_CACHE_BYTES = 5 * 1024 * 1024;

/**
 * A remembered answer, with what refreshing it ahead needs: the certificate and its issuer (kept
 * by the parse cache anyway while in use), when it arrived and when a request last used it.
 */
interface Remembered {
  answer: OcspAnswer;
  cert: ParsedCertificate;
  issuer: ParsedCertificate;
  fetchedAt: number;
  usedAt: number;
  /** Epoch ms at which it is asked again in the background (Infinity: never ahead of time). */
  refreshAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * An answer's estimated bytes: its key (two SHA-256 ids), its strings, and a verdict of a few small
 * objects (a verdict holds no certificate: the responder's is checked, then dropped). The two
 * certificates held for the refresh are counted too, in case the parse cache lets them go.
 */
function answerBytes(entry: Remembered, key: string): number {
  const { answer, cert, issuer } = entry;
  const text = answer.status === 'unavailable' ? answer.why : answer.url;
  return 2048 + 2 * (key.length + text.length) + 2 * (cert.der.length + issuer.der.length);
}

/** A signed answer about the certificate: what a refresh may replace a current answer with. */
const isBelievable = (answer: OcspAnswer) => answer.status === 'good' || answer.status === 'revoked';

interface ResponderState {
  failures: number;
  retryAt: number;
  lastError: string;
}

/** What asking the configured responders in turn has gathered so far. */
interface Attempts {
  reasons: string[];
  /** Earliest instant asking again may help. */
  retryAt: number;
}

/**
 * Asks OCSP responders about leaf certificates: one request in flight per certificate, answers
 * remembered until their nextUpdate (at most maxAgeMs) and asked again ahead of that while the
 * certificate is in use (ocsp-refresh.ts), failing responders backed off so that an outage costs
 * one timeout, not one per request.
 */
export class OcspClient {
  private readonly answers: LRUCache<string, Remembered>;
  private readonly inFlight = new Map<string, Promise<OcspAnswer>>();
  private readonly responders = new Map<string, ResponderState>();
  private readonly stopping = new AbortController();
  private changes = 0;

  constructor(
    private readonly config: OcspClientConfig,
    private readonly emit: <E extends keyof OcspEvents>(event: E, payload: OcspEvents[E]) => void,
  ) {
    // ttlResolution 0: lru-cache would otherwise reuse a clock reading for 1 ms, whatever the injected clock says.
    this.answers = new LRUCache({
      max: Math.max(config.cacheSize, 16),
      maxSize: Math.max(config.cacheMaxBytes ?? DEFAULT_OCSP_CACHE_BYTES, 1),
      sizeCalculation: answerBytes,
      perf: config.clock,
      ttlResolution: 0,
      // An evicted or replaced answer is no longer refreshed.
      dispose: (entry) => clearTimeout(entry.timer),
    });
  }

  /**
   * Increases whenever a refresh changed the status of an answer still in use (good to revoked,
   * say): verdicts remembered from the older answer are void (the guard's, the outcome cache's).
   */
  get revision(): number {
    return this.changes;
  }

  /**
   * The remembered answer about `cert`, if still usable at `at`: the per-request fast path. Marks
   * the certificate as in use, and starts the refresh if it is due (should its timer be late).
   */
  cached(cert: ParsedCertificate, issuer: ParsedCertificate, at: number): OcspAnswer | undefined {
    const key = `${cert.id}:${issuer.id}`;
    const entry = this.answers.get(key);
    if (!entry || entry.answer.until <= at) return undefined;
    entry.usedAt = Math.max(entry.usedAt, at);
    if (at >= entry.refreshAt && !this.inFlight.has(key)) void this.shared(key, cert, issuer);
    return entry.answer;
  }

  /**
   * Asks the responders (or joins the request in flight) and remembers the answer, judged at the
   * instant it arrives. With `at` (verify's `at` option), the answer must be current at that
   * instant instead and is not remembered.
   */
  query(cert: ParsedCertificate, issuer: ParsedCertificate, at?: number): Promise<OcspAnswer> {
    if (at !== undefined) return this.ask(cert, issuer, at);
    return this.shared(`${cert.id}:${issuer.id}`, cert, issuer);
  }

  /** Stops the refresh timers and aborts the requests in flight. */
  close(): void {
    this.stopping.abort();
    for (const entry of this.answers.values()) clearTimeout(entry.timer);
  }

  /** The one request in flight about this certificate (a request's or a refresh's), started if none. */
  private shared(key: string, cert: ParsedCertificate, issuer: ParsedCertificate): Promise<OcspAnswer> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.ask(cert, issuer).then((fresh) => this.keep(key, cert, issuer, fresh));
      pending.finally(() => this.inFlight.delete(key)).catch(() => undefined);
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * Remembers a fresh answer and returns the one in force. A failure, an `unknown`, or an answer
   * older than the one in force (a replay, or a cache serving a pre-revocation answer to a GET)
   * never replaces a good or revoked answer that is still usable: that one stays until it ends
   * (tried again meanwhile when the responder may be asked again), then the normal path applies.
   */
  private keep(key: string, cert: ParsedCertificate, issuer: ParsedCertificate, fresh: OcspAnswer): OcspAnswer {
    if (this.stopping.signal.aborted) return fresh;
    const now = this.now();
    const current = this.answers.peek(key);
    const inForce = current && current.answer.until > now ? current : undefined;
    if (inForce && isBelievable(inForce.answer) && !supersedes(fresh, inForce.answer)) {
      // Tried again once asking may help (fresh.until), if that is before the end; else not at all.
      this.schedule(key, inForce, fresh.until < inForce.answer.until ? fresh.until : Infinity);
      return inForce.answer;
    }
    if (inForce && inForce.answer.status !== fresh.status) this.changes++;
    const usedAt = inForce?.usedAt ?? now;
    const until = fresh.until;
    const refreshAt = isBelievable(fresh) ? ocspRefreshAt(now, until, this.config.timeoutMs) : Infinity;
    const entry: Remembered = { answer: fresh, cert, issuer, fetchedAt: now, usedAt, refreshAt };
    this.answers.set(key, entry);
    this.schedule(key, entry, refreshAt);
    return fresh;
  }

  /** A timer (unref'd: it never keeps the process alive) that refreshes `entry` at `at` if still in use. */
  private schedule(key: string, entry: Remembered, at: number): void {
    clearTimeout(entry.timer);
    entry.refreshAt = at;
    if (!Number.isFinite(at) || this.stopping.signal.aborted) return;
    entry.timer = setTimeout(() => this.refreshIfInUse(key, entry), delayUntil(at, this.now()));
    entry.timer.unref();
  }

  private refreshIfInUse(key: string, entry: Remembered): void {
    const now = this.now();
    const { answer, fetchedAt, usedAt } = entry;
    if (this.answers.peek(key) !== entry || answer.until <= now) return;
    // The clock may disagree with the timer (an injected clock): not due yet, wait again.
    if (now < entry.refreshAt) this.schedule(key, entry, entry.refreshAt);
    else if (seenRecently(usedAt, fetchedAt, answer.until, now)) void this.shared(key, entry.cert, entry.issuer);
  }

  private now(): number {
    return this.config.clock.now();
  }

  /** Events are for logging: a listener that throws must not change a verdict. */
  private report<E extends keyof OcspEvents>(event: E, payload: OcspEvents[E]): void {
    try {
      this.emit(event, payload);
    } catch {
      // ignored on purpose
    }
  }

  private async ask(cert: ParsedCertificate, issuer: ParsedCertificate, at?: number): Promise<OcspAnswer> {
    const urls = this.config.urls.length > 0 ? this.config.urls : (cert.ocspUrls ?? []);
    if (urls.length === 0) {
      // A property of the certificate: asking again will not help.
      const why = 'the certificate names no OCSP responder (Authority Information Access) and ocsp.urls is not set';
      return { status: 'unavailable', why, until: this.now() + this.config.maxAgeMs };
    }
    const attempts: Attempts = { reasons: [], retryAt: Infinity };
    for (const url of urls) {
      const state = this.responders.get(url);
      if (state && state.retryAt > this.now()) {
        attempts.reasons.push(`${url}: ${state.lastError} (next try in ${state.retryAt - this.now()} ms)`);
        attempts.retryAt = Math.min(attempts.retryAt, state.retryAt);
        continue;
      }
      let verdict: OcspVerdict;
      try {
        verdict = await this.askResponder(url, cert, issuer, at);
      } catch (err) {
        if (this.stopping.signal.aborted) return { status: 'unavailable', why: 'the verifier was closed', until: 0 };
        this.failed(url, cert, err as Error, attempts);
        continue;
      }
      return this.answered(url, cert, verdict);
    }
    // Asking again helps once a responder may be tried again, but "no answer" is never kept long.
    const now = this.now();
    const until = Math.min(Math.max(attempts.retryAt, now + MIN_RETRY_MS), now + OCSP_NO_ANSWER_RECHECK_MS);
    return { status: 'unavailable', why: attempts.reasons.join('; '), until };
  }

  /** Records a failed attempt: the responder is backed off unless only this certificate's question failed. */
  private failed(url: string, cert: ParsedCertificate, err: Error, attempts: Attempts): void {
    const error = err.message;
    let retryInMs = OCSP_NO_ANSWER_RECHECK_MS;
    if (err instanceof OcspProtocolError && err.aboutCertificate) {
      // About this certificate only: other certificates may still ask this responder.
      attempts.retryAt = Math.min(attempts.retryAt, this.now() + retryInMs);
    } else {
      const state = this.responders.get(url) ?? { failures: 0, retryAt: 0, lastError: '' };
      state.failures++;
      state.lastError = error;
      retryInMs = backoff(state.failures, MAX_OCSP_RETRY_MS);
      state.retryAt = this.now() + retryInMs;
      this.responders.set(url, state);
      attempts.retryAt = Math.min(attempts.retryAt, state.retryAt);
    }
    attempts.reasons.push(`${url}: ${error}`);
    this.report('ocsp-failed', { url, subject: cert.subjectDN, serialNumber: cert.serialNumber, error, retryInMs });
  }

  /**
   * A believable answer: remembered until it goes stale, at most maxAgeMs (`unknown` only as long
   * as "no answer").
   */
  private answered(url: string, cert: ParsedCertificate, verdict: OcspVerdict): OcspAnswer {
    this.responders.delete(url);
    const { status, thisUpdate, nextUpdate, signer } = verdict;
    const { subjectDN: subject, serialNumber } = cert;
    this.report('ocsp-response', { url, subject, serialNumber, status, thisUpdate, nextUpdate, signer });
    const limit = status === 'unknown' ? OCSP_NO_ANSWER_RECHECK_MS : this.config.maxAgeMs;
    return { status, url, verdict, until: Math.min(verdict.usableUntil, this.now() + limit) };
  }

  /**
   * One request to one responder. A live answer is judged at the instant it arrived: the clock is
   * read after the response came in, so a responder stamping thisUpdate with the current second is
   * never "not yet valid" because the request left late in the previous second.
   */
  private async askResponder(
    url: string,
    cert: ParsedCertificate,
    issuer: ParsedCertificate,
    at: number | undefined,
  ): Promise<OcspVerdict> {
    const request = encodeOcspRequest(cert, issuer);
    const bytes = (await this.byGet(url, request)) ?? (await this.byPost(url, request));
    const parsed = parseOcspResponse(bytes);
    const { clockToleranceMs, legacyAlgorithms, responderCertificates } = this.config;
    const ctx = { at: at ?? this.now(), clockToleranceMs, legacyAlgorithms };
    return validateOcspResponse(parsed, cert, issuer, responderCertificates ? { ...ctx, responderCertificates } : ctx);
  }

  /**
   * The response body by GET (RFC 5019 section 5), or undefined to ask by POST instead: the request
   * is too long for GET, or the GET failed (a network error, a non-200 status: a proxy or
   * responder that does not take GET). A timeout or an oversized answer is not retried: during an
   * outage a retry would double every request's wait, and a POST answer would be as large.
   */
  private async byGet(url: string, request: Buffer): Promise<Buffer | undefined> {
    const getUrl = ocspGetUrl(url, request);
    if (!getUrl) return undefined;
    try {
      const headers = { accept: 'application/ocsp-response' };
      const response = await fetchBounded(getUrl, { method: 'GET', headers, ...this.limits() });
      return response.status === 200 ? response.bytes : undefined;
    } catch (err) {
      if (this.stopping.signal.aborted || !(err as Error).message.startsWith('fetch failed')) throw err;
      return undefined;
    }
  }

  private async byPost(url: string, request: Buffer): Promise<Buffer> {
    const response = await fetchBounded(url, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
      body: new Uint8Array(request),
      ...this.limits(),
    });
    if (response.status !== 200) throw new OcspProtocolError(`HTTP ${response.status}`, false, 'http-status');
    return response.bytes;
  }

  private limits() {
    const { timeoutMs } = this.config;
    return { timeoutMs, maxBytes: MAX_OCSP_RESPONSE_BYTES, signal: this.stopping.signal };
  }
}

/**
 * Whether `fresh` may replace the believable answer in force: it is believable too, and not
 * older (thisUpdate, whole seconds). A `revoked` answer is replaced only by a strictly newer one:
 * no nonce is sent, so an older signed "good" answer can be replayed or served from a cache.
 */
function supersedes(fresh: OcspAnswer, inForce: OcspAnswer): boolean {
  if (!isBelievable(fresh) || !isBelievable(inForce) || !('verdict' in fresh) || !('verdict' in inForce)) {
    return isBelievable(fresh);
  }
  const freshAt = Math.floor(fresh.verdict.thisUpdate.getTime() / 1000);
  const inForceAt = Math.floor(inForce.verdict.thisUpdate.getTime() / 1000);
  if (inForce.status === 'revoked' && fresh.status !== 'revoked') return freshAt > inForceAt;
  return freshAt >= inForceAt;
}
