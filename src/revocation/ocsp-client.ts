import { LRUCache } from 'lru-cache';
import type { ParsedCertificate } from '../x509/certificate.js';
import type { Clock } from '../time/clock.js';
import { backoff, fetchBounded, MIN_RETRY_MS } from './http-fetch.js';
import { encodeOcspRequest, OcspProtocolError, parseOcspResponse } from './ocsp.js';
import { validateOcspResponse, type OcspVerdict } from './ocsp-validation.js';

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
 * An answer's estimated bytes: its key (two SHA-256 ids), its strings, and a verdict of a few small
 * objects (a verdict holds no certificate: the responder's is checked, then dropped).
 */
function answerBytes(answer: OcspAnswer, key: string): number {
  const text = answer.status === 'unavailable' ? answer.why : answer.url;
  return 2048 + 2 * (key.length + text.length);
}

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
 * remembered until their nextUpdate (at most maxAgeMs), failing responders backed off so that an
 * outage costs one timeout, not one per request.
 */
export class OcspClient {
  private readonly answers: LRUCache<string, OcspAnswer>;
  private readonly inFlight = new Map<string, Promise<OcspAnswer>>();
  private readonly responders = new Map<string, ResponderState>();
  private readonly stopping = new AbortController();

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
    });
  }

  /** The remembered answer about `cert`, if still usable at `at`: the per-request fast path. */
  cached(cert: ParsedCertificate, issuer: ParsedCertificate, at: number): OcspAnswer | undefined {
    const answer = this.answers.get(`${cert.id}:${issuer.id}`);
    return answer && answer.until > at ? answer : undefined;
  }

  /**
   * Asks the responders (or joins the request in flight) and remembers the answer, judged at the
   * instant it arrives. With `at` (verify's `at` option), the answer must be current at that
   * instant instead and is not remembered.
   */
  query(cert: ParsedCertificate, issuer: ParsedCertificate, at?: number): Promise<OcspAnswer> {
    if (at !== undefined) return this.ask(cert, issuer, at);
    const key = `${cert.id}:${issuer.id}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.ask(cert, issuer).then((answer) => {
        this.answers.set(key, answer);
        return answer;
      });
      pending.finally(() => this.inFlight.delete(key)).catch(() => undefined);
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  close(): void {
    this.stopping.abort();
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
    const response = await fetchBounded(url, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
      body: new Uint8Array(encodeOcspRequest(cert, issuer)),
      timeoutMs: this.config.timeoutMs,
      maxBytes: MAX_OCSP_RESPONSE_BYTES,
      signal: this.stopping.signal,
    });
    if (response.status !== 200) throw new OcspProtocolError(`HTTP ${response.status}`, false, 'http-status');
    const parsed = parseOcspResponse(response.bytes);
    return validateOcspResponse(parsed, cert, issuer, {
      at: at ?? this.now(),
      clockToleranceMs: this.config.clockToleranceMs,
      legacyAlgorithms: this.config.legacyAlgorithms,
    });
  }
}
