/**
 * OCSP answers refreshed ahead of their end (src/revocation/ocsp-refresh.ts): with an injected
 * clock and in-process answers from 127.0.0.1, a responder that holds its answer until the test
 * lets it go (so "did not wait" is an order of events, not a timing), and timers driven by
 * vitest's fake setTimeout (no sleeps).
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { OcspClient, type OcspAnswer, type OcspEvents } from '../src/revocation/ocsp-client.js';
import { ocspRefreshAt } from '../src/revocation/ocsp-refresh.js';
import { makeInProcessOcspPki, serveOcsp, type AnswerSpec, type InProcessOcspPki } from './helpers/ocsp-responder.js';

const DAY = 86_400_000;
const S = Date.UTC(2031, 4, 17, 10, 20, 30);
const MAX_AGE = 300_000;
const TIMEOUT = 5_000;
const GOOD: AnswerSpec = { status: 'good', thisUpdate: new Date(S), nextUpdate: new Date(S + DAY) };
const REVOKED: AnswerSpec = { ...GOOD, status: 'revoked', reason: 1, revokedAt: new Date(S - 60_000) };
const UNKNOWN: AnswerSpec = { ...GOOD, status: 'unknown' };

let pki: InProcessOcspPki;
beforeAll(async () => {
  pki = await makeInProcessOcspPki({ notBefore: new Date(S - 30 * DAY), notAfter: new Date(S + 30 * DAY) });
});

// Refresh timers are fake in every test: none fires unless a test moves them on.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const close of closers.splice(0)) await close();
});

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

/** A promise and its resolve function. */
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A client asking a responder that answers the n-th request with `answers[n]` (the last
 * repeating), once `release()` has been called for it; `arrived(n)` settles when request n is in.
 */
async function setup(answers: (AnswerSpec | number)[]) {
  const gates: Deferred[] = [];
  const arrivals: Deferred[] = [];
  const slot = <T>(list: T[], n: number, make: () => T) => (list[n] ??= make());
  let n = 0;
  const responder = await serveOcsp(async () => {
    const i = n++;
    slot(arrivals, i, deferred).resolve();
    await slot(gates, i, deferred).promise;
    const spec = answers[Math.min(i, answers.length - 1)] as AnswerSpec | number;
    return typeof spec === 'number' ? spec : pki.answer(spec);
  });
  closers.push(() => responder.close());
  const clock = { t: S + 50, now: () => clock.t };
  const events: { name: keyof OcspEvents; payload: unknown }[] = [];
  const config = { urls: [responder.url], timeoutMs: TIMEOUT, maxAgeMs: MAX_AGE, clockToleranceMs: 0 };
  const client = new OcspClient({ ...config, legacyAlgorithms: false, cacheSize: 16, clock }, (name, payload) =>
    events.push({ name, payload }),
  );
  closers.push(() => client.close());
  return {
    responder,
    clock,
    client,
    events,
    release: (i: number) => slot(gates, i, deferred).resolve(),
    arrived: (i: number) => slot(arrivals, i, deferred).promise,
    query: () => client.query(pki.leaf, pki.ca),
    cached: () => client.cached(pki.leaf, pki.ca, clock.t),
  };
}

/** Requests in flight (refreshes included): private, read to show that none was started. */
const inFlight = (client: OcspClient) => (client as unknown as { inFlight: Map<string, unknown> }).inFlight.size;

/** The first answer, asked at S + 50 and let through at once. */
async function firstAnswer(s: Awaited<ReturnType<typeof setup>>): Promise<OcspAnswer> {
  s.release(0);
  const answer = await s.query();
  expect(answer).toMatchObject({ status: 'good', until: S + 50 + MAX_AGE });
  return answer;
}

describe('a request near the end of an answer does not wait for the responder', () => {
  it('gets the current answer at once and starts one refresh; the refreshed answer is used after the end', async () => {
    const s = await setup([GOOD]);
    const first = await firstAnswer(s);
    const refreshAt = ocspRefreshAt(S + 50, first.until, TIMEOUT);
    expect(first.until - refreshAt).toBe(MAX_AGE / 10); // a tenth of the lifetime: 30 s before the end
    s.clock.t = refreshAt - 1;
    expect(s.cached()).toBe(first);
    expect(s.responder.requests).toBe(1); // not due yet
    s.clock.t = refreshAt;
    // The responder holds its answer: the request is answered from what is remembered.
    expect(s.cached()).toBe(first);
    await s.arrived(1);
    expect(s.cached()).toBe(first);
    expect(s.cached()).toBe(first);
    const joined = s.query(); // a request in flight is joined: one request per certificate
    expect(s.responder.requests).toBe(2);
    s.clock.t = refreshAt + 1_000;
    s.release(1);
    const second = await joined;
    expect(second).not.toBe(first);
    expect(second).toMatchObject({ status: 'good', until: refreshAt + 1_000 + MAX_AGE });
    // Past the first answer's end: the second is used, nobody waits.
    s.clock.t = first.until + 1;
    expect(s.cached()).toBe(second);
    expect(s.responder.requests).toBe(2);
  });

  it('a failed or "unknown" refresh never replaces a good answer: it stays until it ends, then the normal path', async () => {
    const s = await setup([GOOD, 500, 500, UNKNOWN]);
    const first = await firstAnswer(s);
    for (let i = 1; i <= 4; i++) s.release(i);
    const failedAt = first.until - 20_000;
    s.clock.t = failedAt;
    // A GET answered 500, then its POST: the responder is backed off 1 s, the good answer kept.
    expect(await s.query()).toBe(first);
    expect(s.responder.methods).toEqual(['GET', 'GET', 'POST']);
    expect(s.events.map((e) => e.name)).toEqual(['ocsp-response', 'ocsp-failed']);
    s.clock.t = failedAt + 999;
    expect(s.cached()).toBe(first);
    expect(await s.query()).toBe(first); // joins the refresh the request started: backed off, no request
    expect(s.responder.requests).toBe(3);
    s.clock.t = failedAt + 1_000;
    expect(await s.query()).toBe(first); // the responder may be asked again: it says "unknown"
    expect(s.responder.requests).toBe(4);
    // "Unknown" is remembered 30 s, past the good answer's end: no refresh is tried again before it.
    s.clock.t = first.until - 1;
    expect(s.cached()).toBe(first);
    expect(s.cached()).toBe(first);
    expect(inFlight(s.client)).toBe(0);
    expect(s.responder.requests).toBe(4);
    s.clock.t = first.until;
    expect(s.cached()).toBeUndefined(); // ended: the next request asks, as without a refresh
    expect((await s.query()).status).toBe('unknown');
  });

  it('a refresh that says revoked replaces the good answer at once and voids verdicts remembered from it', async () => {
    const s = await setup([GOOD, REVOKED]);
    const first = await firstAnswer(s);
    expect(s.client.revision).toBe(0);
    s.release(1);
    s.clock.t = first.until - 5_000;
    expect(s.cached()).toBe(first);
    const revoked = await s.query();
    expect(revoked.status).toBe('revoked');
    expect(s.cached()).toBe(revoked);
    expect(s.client.revision).toBe(1);
  });
});

describe('a refresh never goes back in time', () => {
  it('an older "good" answer (a replay, or a cache answering the GET) never replaces a revoked one in force', async () => {
    const OLDER_GOOD: AnswerSpec = { ...GOOD, thisUpdate: new Date(S - 120_000) };
    const s = await setup([REVOKED, OLDER_GOOD]);
    s.release(0);
    const revoked = await s.query();
    expect(revoked.status).toBe('revoked');
    s.release(1);
    s.clock.t = revoked.until - 5_000;
    expect(await s.query()).toBe(revoked);
    expect(s.responder.requests).toBe(2);
    expect(s.cached()).toBe(revoked);
    expect(s.client.revision).toBe(0);
  });

  it('an older "good" answer does not replace a newer good one either', async () => {
    const OLDER_GOOD: AnswerSpec = { ...GOOD, thisUpdate: new Date(S - 120_000) };
    const s = await setup([GOOD, OLDER_GOOD]);
    const first = await firstAnswer(s);
    s.release(1);
    s.clock.t = first.until - 5_000;
    expect(await s.query()).toBe(first);
    expect(s.responder.requests).toBe(2);
  });
});

describe('the refresh timer', () => {
  it('refreshes an answer in use before it ends, and stops once the certificate is no longer asked about', async () => {
    const s = await setup([GOOD]);
    for (let i = 0; i < 4; i++) s.release(i);
    const first = await s.query();
    const refreshAt = ocspRefreshAt(S + 50, first.until, TIMEOUT);
    expect(vi.getTimerCount()).toBe(1);
    // The timer fires at refreshAt; the clock it reads says the same.
    s.clock.t = refreshAt;
    vi.advanceTimersByTime(refreshAt - (S + 50));
    await s.arrived(1);
    await vi.waitFor(() => expect(s.cached()).not.toBe(first));
    const second = s.client.cached(pki.leaf, pki.ca, s.clock.t) as OcspAnswer; // a use of the second answer
    expect(second.until).toBe(refreshAt + MAX_AGE);
    // Used: refreshed again at its own time.
    const nextAt = ocspRefreshAt(refreshAt, second.until, TIMEOUT);
    s.clock.t = nextAt;
    vi.advanceTimersByTime(nextAt - refreshAt);
    await s.arrived(2);
    await vi.waitFor(() => expect(s.responder.requests).toBe(3));
    await vi.waitFor(() => expect(s.client.cached(pki.leaf, pki.ca, nextAt)?.until).toBe(nextAt + MAX_AGE));
    // The third answer is not used by any request (its fetch was the last use, a lifetime ago): no refresh.
    const lastAt = ocspRefreshAt(nextAt, nextAt + MAX_AGE, TIMEOUT);
    s.clock.t = lastAt + MAX_AGE;
    vi.advanceTimersByTime(lastAt - nextAt);
    expect(s.responder.requests).toBe(3);
  });

  it('close() stops every timer', async () => {
    const s = await setup([GOOD]);
    s.release(0);
    await s.query();
    expect(vi.getTimerCount()).toBe(1);
    s.client.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(MAX_AGE);
    expect(s.responder.requests).toBe(1);
  });
});
