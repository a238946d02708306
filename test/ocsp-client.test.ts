/**
 * The OCSP client's named limits, each at the point where it trips, with an injected clock (no
 * sleeps) and in-process answers served from 127.0.0.1.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_OCSP_RESPONSE_BYTES,
  MAX_OCSP_RETRY_MS,
  OCSP_NO_ANSWER_RECHECK_MS,
  OcspClient,
  type OcspEvents,
} from '../src/revocation/ocsp-client.js';
import { parseOcspResponse } from '../src/revocation/ocsp.js';
import { MAX_AGE_WITHOUT_NEXT_UPDATE_MS, validateOcspResponse } from '../src/revocation/ocsp-validation.js';
import { makeInProcessOcspPki, serveOcsp, type AnswerSpec, type InProcessOcspPki } from './helpers/ocsp-responder.js';

const DAY = 86_400_000;
const S = Date.UTC(2031, 4, 17, 10, 20, 30);
const HOUR_AHEAD: Pick<AnswerSpec, 'thisUpdate' | 'nextUpdate'> = {
  thisUpdate: new Date(S),
  nextUpdate: new Date(S + 3_600_000),
};

let pki: InProcessOcspPki;
beforeAll(async () => {
  pki = await makeInProcessOcspPki({ notBefore: new Date(S - 30 * DAY), notAfter: new Date(S + 30 * DAY) });
});

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A responder on 127.0.0.1 answering with `respond`, and a client asking it with a clock the test sets. */
async function setup(respond: () => Buffer | number, options: { maxAgeMs?: number; chunked?: boolean } = {}) {
  const responder = await serveOcsp(respond, { chunked: options.chunked ?? false });
  closers.push(() => responder.close());
  const clock = { t: S + 50, now: () => clock.t };
  const failures: OcspEvents['ocsp-failed'][] = [];
  const client = new OcspClient(
    {
      urls: [responder.url],
      timeoutMs: 5_000,
      maxAgeMs: options.maxAgeMs ?? 300_000,
      clockToleranceMs: 0,
      legacyAlgorithms: false,
      cacheSize: 16,
      clock,
    },
    (name, payload) => void (name === 'ocsp-failed' && failures.push(payload as OcspEvents['ocsp-failed'])),
  );
  closers.push(() => client.close());
  const query = () => client.query(pki.leaf, pki.ca);
  const cached = (at: number) => client.cached(pki.leaf, pki.ca, at);
  return { responder, clock, failures, query, cached };
}

describe('MAX_OCSP_RESPONSE_BYTES', () => {
  for (const chunked of [false, true]) {
    const how = chunked ? 'streamed without a length' : 'with a content-length';
    it(`a response of exactly the cap is read, one byte more is refused (${how})`, async () => {
      const atCap = pki.answer({ status: 'good', ...HOUR_AHEAD, size: MAX_OCSP_RESPONSE_BYTES });
      const overCap = pki.answer({ status: 'good', ...HOUR_AHEAD, size: MAX_OCSP_RESPONSE_BYTES + 1 });
      expect([atCap.length, overCap.length]).toEqual([MAX_OCSP_RESPONSE_BYTES, MAX_OCSP_RESPONSE_BYTES + 1]);
      // The larger one is a valid answer too: only its size can make it refused.
      const ctx = { at: S + 50, clockToleranceMs: 0, legacyAlgorithms: false };
      expect(validateOcspResponse(parseOcspResponse(overCap), pki.leaf, pki.ca, ctx).status).toBe('good');

      const fits = await setup(() => atCap, { chunked });
      expect((await fits.query()).status).toBe('good');
      const tooBig = await setup(() => overCap, { chunked });
      expect((await tooBig.query()).status).toBe('unavailable');
      expect(tooBig.failures).toEqual([expect.objectContaining({ error: expect.stringMatching(/byte limit/) })]);
    });
  }
});

describe('MAX_OCSP_RETRY_MS', () => {
  it('a failing responder is backed off 1 s, doubling up to the cap, and not asked before its time', async () => {
    const { responder, clock, failures, query } = await setup(() => 500);
    for (let attempt = 1; attempt <= 8; attempt++) {
      expect((await query()).status).toBe('unavailable');
      // Each attempt is a GET, then the same question by POST (RFC 5019 section 5: GET failed).
      expect(responder.requests).toBe(2 * attempt);
      const retryInMs = failures.at(-1)?.retryInMs as number;
      // One millisecond before the retry is due: answered from the backoff, no request.
      clock.t += retryInMs - 1;
      expect((await query()).status).toBe('unavailable');
      expect([responder.requests, failures.length]).toEqual([2 * attempt, attempt]);
      clock.t += 1;
    }
    expect(failures.map((f) => f.retryInMs)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(failures.at(-1)?.retryInMs).toBe(MAX_OCSP_RETRY_MS);
  });

  it('"no answer" is remembered until the retry, but never longer than OCSP_NO_ANSWER_RECHECK_MS', async () => {
    const { clock, failures, query } = await setup(() => 500);
    let answer = await query();
    expect(answer.until).toBe(clock.t + 1000);
    for (let attempt = 2; attempt <= 7; attempt++) {
      clock.t += failures.at(-1)?.retryInMs as number;
      answer = await query();
    }
    expect(failures.at(-1)?.retryInMs).toBe(MAX_OCSP_RETRY_MS);
    expect(answer.until).toBe(clock.t + OCSP_NO_ANSWER_RECHECK_MS);
  });
});

describe('OCSP_NO_ANSWER_RECHECK_MS', () => {
  it('an "unknown" answer is remembered that long, whatever its nextUpdate says', async () => {
    const { clock, query, cached } = await setup(() => pki.answer({ status: 'unknown', ...HOUR_AHEAD }));
    expect((await query()).status).toBe('unknown');
    const arrived = clock.t;
    expect(cached(arrived + OCSP_NO_ANSWER_RECHECK_MS - 1)?.status).toBe('unknown');
    expect(cached(arrived + OCSP_NO_ANSWER_RECHECK_MS)).toBeUndefined();
  });

  it('an unbelievable answer about this certificate is retried then; the responder is not backed off', async () => {
    // Good, but stamped 10 s ahead of the clock: no answer about this certificate only.
    const spec: AnswerSpec = { status: 'good', thisUpdate: new Date(S + 10_000), nextUpdate: new Date(S + DAY) };
    const { responder, clock, failures, query } = await setup(() => pki.answer(spec));
    const answer = await query();
    expect(answer).toMatchObject({ status: 'unavailable', until: clock.t + OCSP_NO_ANSWER_RECHECK_MS });
    expect(failures.map((f) => f.retryInMs)).toEqual([OCSP_NO_ANSWER_RECHECK_MS]);
    await query();
    expect(responder.requests).toBe(2);
  });
});

describe('how long an answer is remembered', () => {
  it('until nextUpdate, at most maxAgeMs', async () => {
    const good = () => pki.answer({ status: 'good', ...HOUR_AHEAD });
    const { clock, query, cached } = await setup(good, { maxAgeMs: 60_000 });
    expect((await query()).until).toBe(clock.t + 60_000);
    expect(cached(clock.t + 59_999)?.status).toBe('good');
    expect(cached(clock.t + 60_000)).toBeUndefined();
  });

  it('without nextUpdate, through the second MAX_AGE_WITHOUT_NEXT_UPDATE_MS after thisUpdate', async () => {
    const timeless = () => pki.answer({ status: 'good', thisUpdate: new Date(S) });
    const { query, cached } = await setup(timeless, { maxAgeMs: DAY });
    expect((await query()).until).toBe(S + MAX_AGE_WITHOUT_NEXT_UPDATE_MS + 1000);
    expect(cached(S + MAX_AGE_WITHOUT_NEXT_UPDATE_MS + 999)?.status).toBe('good');
    expect(cached(S + MAX_AGE_WITHOUT_NEXT_UPDATE_MS + 1000)).toBeUndefined();
  });

  it('a stale but final revocation is still revoked, for maxAgeMs', async () => {
    const keyCompromise = 1;
    const window = { thisUpdate: new Date(S), nextUpdate: new Date(S + 10_000) };
    const spec: AnswerSpec = { status: 'revoked', reason: keyCompromise, ...window };
    const { clock, query } = await setup(() => pki.answer(spec), { maxAgeMs: 60_000 });
    clock.t = S + DAY;
    expect(await query()).toMatchObject({ status: 'revoked', until: S + DAY + 60_000 });
  });

  it('concurrent questions about one certificate make one request', async () => {
    const { responder, query } = await setup(() => pki.answer({ status: 'good', ...HOUR_AHEAD }));
    const answers = await Promise.all([query(), query(), query()]);
    expect(answers.map((a) => a.status)).toEqual(['good', 'good', 'good']);
    expect(responder.requests).toBe(1);
  });
});
