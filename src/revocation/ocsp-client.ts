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
  clock: Clock;
}

/** Events for operators; listen with `verifier.on(name, listener)`. */
export interface OcspEvents {
  'ocsp-response': { url: string; subject: string; serialNumber: string; status: 'good' | 'revoked' | 'unknown'; thisUpdate: Date; nextUpdate: Date | undefined; signer: string };
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

interface ResponderState {
  failures: number;
  retryAt: number;
  lastError: string;
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
    this.answers = new LRUCache({ max: Math.max(config.cacheSize, 16), perf: config.clock });
  }

  /** The remembered answer about `cert`, if still usable at `at`: the per-request fast path. */
  cached(cert: ParsedCertificate, issuer: ParsedCertificate, at: number): OcspAnswer | undefined {
    const answer = this.answers.get(`${cert.id}:${issuer.id}`);
    return answer && answer.until > at ? answer : undefined;
  }

  /**
   * Asks the responders (or joins the request in flight) and remembers the answer. With `at`
   * (verify's `at` option), the answer must be current at that instant and is not remembered.
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
      return { status: 'unavailable', why: 'the certificate names no OCSP responder (Authority Information Access) and ocsp.urls is not set', until: this.config.clock.now() + this.config.maxAgeMs };
    }
    const reasons: string[] = [];
    let retryAt = Infinity;
    for (const url of urls) {
      const state = this.responders.get(url) ?? { failures: 0, retryAt: 0, lastError: '' };
      if (state.retryAt > this.config.clock.now()) {
        reasons.push(`${url}: ${state.lastError} (next try in ${state.retryAt - this.config.clock.now()} ms)`);
        retryAt = Math.min(retryAt, state.retryAt);
        continue;
      }
      let verdict: OcspVerdict;
      try {
        verdict = await this.askResponder(url, cert, issuer, at ?? this.config.clock.now());
      } catch (err) {
        if (this.stopping.signal.aborted) return { status: 'unavailable', why: 'the verifier was closed', until: 0 };
        const error = (err as Error).message;
        let retryInMs = OCSP_NO_ANSWER_RECHECK_MS;
        if (err instanceof OcspProtocolError && err.aboutCertificate) {
          // About this certificate only: other certificates may still ask this responder.
          retryAt = Math.min(retryAt, this.config.clock.now() + retryInMs);
        } else {
          state.failures++;
          state.lastError = error;
          retryInMs = backoff(state.failures, MAX_OCSP_RETRY_MS);
          state.retryAt = this.config.clock.now() + retryInMs;
          this.responders.set(url, state);
          retryAt = Math.min(retryAt, state.retryAt);
        }
        reasons.push(`${url}: ${error}`);
        this.report('ocsp-failed', { url, subject: cert.subjectDN, serialNumber: cert.serialNumber, error, retryInMs });
        continue;
      }
      this.responders.delete(url);
      this.report('ocsp-response', { url, subject: cert.subjectDN, serialNumber: cert.serialNumber, status: verdict.status, thisUpdate: verdict.thisUpdate, nextUpdate: verdict.nextUpdate, signer: verdict.signer });
      const limit = verdict.status === 'unknown' ? OCSP_NO_ANSWER_RECHECK_MS : this.config.maxAgeMs;
      return { status: verdict.status, url, verdict, until: Math.min(verdict.usableUntil, this.config.clock.now() + limit) };
    }
    return { status: 'unavailable', why: reasons.join('; '), until: Math.min(Math.max(retryAt, this.config.clock.now() + MIN_RETRY_MS), this.config.clock.now() + OCSP_NO_ANSWER_RECHECK_MS) };
  }

  private async askResponder(url: string, cert: ParsedCertificate, issuer: ParsedCertificate, at: number): Promise<OcspVerdict> {
    const response = await fetchBounded(url, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
      body: new Uint8Array(encodeOcspRequest(cert, issuer)),
      timeoutMs: this.config.timeoutMs,
      maxBytes: MAX_OCSP_RESPONSE_BYTES,
      signal: this.stopping.signal,
    });
    if (response.status !== 200) throw new OcspProtocolError(`HTTP ${response.status}`);
    return validateOcspResponse(parseOcspResponse(response.bytes), cert, issuer, {
      at,
      clockToleranceMs: this.config.clockToleranceMs,
      legacyAlgorithms: this.config.legacyAlgorithms,
    });
  }
}
