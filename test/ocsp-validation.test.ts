/**
 * When an OCSP answer is current (RFC 6960 sections 3.2 and 4.2.2.1), judged with a frozen clock
 * that crosses second boundaries on purpose. Answers are built and signed in-process, so every
 * time in them is chosen to the millisecond.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from 'certgate';
import { OcspClient, type OcspEvents } from '../src/revocation/ocsp-client.js';
import { OcspProtocolError, parseOcspResponse } from '../src/revocation/ocsp.js';
import { MAX_AGE_WITHOUT_NEXT_UPDATE_MS, validateOcspResponse } from '../src/revocation/ocsp-validation.js';
import { makeInProcessOcspPki, serveOcsp, type AnswerSpec, type InProcessOcspPki } from './helpers/ocsp-responder.js';

const DAY = 86_400_000;
/** A whole second: S.993 is late in second S, S + 1000 the next second's first instant. */
const S = Date.UTC(2031, 4, 17, 10, 20, 30);
const validity = { notBefore: new Date(S - 30 * DAY), notAfter: new Date(S + 30 * DAY) };
/** CRLReason codes (RFC 5280 section 5.3.1). */
const KEY_COMPROMISE = 1;
const CERTIFICATE_HOLD = 6;

let pki: InProcessOcspPki;
beforeAll(async () => {
  pki = await makeInProcessOcspPki(validity);
});

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function judge(spec: AnswerSpec, at: number, clockToleranceMs = 0, p = pki) {
  const ctx = { at, clockToleranceMs, legacyAlgorithms: false };
  return validateOcspResponse(parseOcspResponse(p.answer(spec)), p.leaf, p.ca, ctx);
}

/** The problem code of the OcspProtocolError `fn` throws, or 'accepted'. */
function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof OcspProtocolError) return err.problem;
    throw err;
  }
  return 'accepted';
}

/** A client whose clock is `clock`, asking a responder on 127.0.0.1, recording the events. */
function clientFor(url: string, clock: { now(): number }, maxAgeMs = 300_000) {
  const events: { name: keyof OcspEvents; payload: unknown }[] = [];
  const client = new OcspClient(
    { urls: [url], timeoutMs: 5_000, maxAgeMs, clockToleranceMs: 0, legacyAlgorithms: false, cacheSize: 16, clock },
    (name, payload) => void events.push({ name, payload }),
  );
  closers.push(() => client.close());
  return { client, events };
}

describe('a live answer is judged at the instant it arrives, not when the request left', () => {
  for (const status of ['good', 'revoked'] as const) {
    it(`request sent at xx.993, thisUpdate xx+1.000, arrival xx+1.050: ${status}, as signed`, async () => {
      let t = S + 993;
      const thisUpdate = new Date(S + 1000);
      const responder = await serveOcsp(() => {
        t = S + 1050; // the responder stamped the new second; the answer arrives 57 ms after it left
        return pki.answer({ status, thisUpdate, nextUpdate: new Date(S + 3_600_000) });
      });
      closers.push(() => responder.close());
      const { client, events } = clientFor(responder.url, { now: () => t });
      const answer = await client.query(pki.leaf, pki.ca);
      expect(answer.status).toBe(status);
      expect(events.map((e) => e.name)).toEqual(['ocsp-response']);
      expect(responder.requests).toBe(1);
    });
  }

  it('whenUnavailable allow: a revoked answer stamped in the next second still refuses the certificate', async () => {
    let t = S + 993;
    const responder = await serveOcsp(() => {
      t = S + 1050;
      return pki.answer({ status: 'revoked', thisUpdate: new Date(S + 1000), reason: KEY_COMPROMISE });
    });
    closers.push(() => responder.close());
    const ocsp = { urls: [responder.url], whenUnavailable: 'allow' as const };
    const verifier = createVerifier({ ca: pki.caPem, ocsp, clock: { now: () => t } });
    closers.push(() => verifier.close());
    expect(await verifier.verify([pki.leafPem])).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
    // Remembered as revoked, not as "no answer" let through for 30 s.
    t += 10_000;
    expect(await verifier.verify([pki.leafPem])).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
    expect(responder.requests).toBe(1);
  });

  it('verify({ at }) judges the answer at `at`, whatever the clock says when it arrives', async () => {
    const t = S + 50;
    const spec: AnswerSpec = { status: 'good', thisUpdate: new Date(S), nextUpdate: new Date(S + 60_000) };
    const responder = await serveOcsp(() => pki.answer(spec));
    closers.push(() => responder.close());
    const { client } = clientFor(responder.url, { now: () => t });
    expect((await client.query(pki.leaf, pki.ca, S + 60_999)).status).toBe('good');
    expect((await client.query(pki.leaf, pki.ca, S + 61_000)).status).toBe('unavailable');
    expect((await client.query(pki.leaf, pki.ca, S - 1)).status).toBe('unavailable');
    // An answer judged at an explicit instant is not remembered for live verifications.
    expect(client.cached(pki.leaf, pki.ca, t)).toBeUndefined();
  });
});

describe('thisUpdate at one-second granularity, with clockTolerance', () => {
  it('a thisUpdate with fractional seconds in the same second as `at` is current', () => {
    expect(judge({ status: 'good', thisUpdate: new Date(S + 700) }, S + 300).status).toBe('good');
    expect(judge({ status: 'revoked', thisUpdate: new Date(S + 999) }, S).status).toBe('revoked');
  });

  it('the next second is early without tolerance, and current with any tolerance that reaches it', () => {
    const spec: AnswerSpec = { status: 'good', thisUpdate: new Date(S + 1000) };
    expect(problemOf(() => judge(spec, S + 999))).toBe('not-yet-valid');
    expect(judge(spec, S + 999, 1).status).toBe('good');
    expect(judge(spec, S + 1000).status).toBe('good');
  });

  it('a thisUpdate several seconds ahead: "good" and "unknown" are no answer, "revoked" is revoked', () => {
    const thisUpdate = new Date(S + 5000);
    expect(problemOf(() => judge({ status: 'good', thisUpdate }, S))).toBe('not-yet-valid');
    expect(problemOf(() => judge({ status: 'unknown', thisUpdate }, S))).toBe('not-yet-valid');
    expect(problemOf(() => judge({ status: 'good', thisUpdate }, S, 4000))).toBe('not-yet-valid');
    expect(judge({ status: 'good', thisUpdate }, S, 5000).status).toBe('good');
    // A signed revocation is not undone by the responder's clock running ahead (fail closed).
    const early = judge({ status: 'revoked', thisUpdate, reason: KEY_COMPROMISE }, S);
    expect(early).toMatchObject({ status: 'revoked', reason: KEY_COMPROMISE });
    expect(judge({ status: 'revoked', thisUpdate, reason: CERTIFICATE_HOLD }, S).status).toBe('revoked');
  });
});

describe('nextUpdate, and answers without one', () => {
  it('nextUpdate covers its whole second; clockTolerance extends it', () => {
    const spec: AnswerSpec = { status: 'good', thisUpdate: new Date(S), nextUpdate: new Date(S + 10_000) };
    expect(judge(spec, S + 10_999)).toMatchObject({ status: 'good', usableUntil: S + 11_000 });
    expect(problemOf(() => judge(spec, S + 11_000))).toBe('stale');
    expect(judge(spec, S + 12_999, 2000)).toMatchObject({ status: 'good', usableUntil: S + 13_000 });
    expect(problemOf(() => judge(spec, S + 13_000, 2000))).toBe('stale');
  });

  it('without nextUpdate an answer is current to the second MAX_AGE_WITHOUT_NEXT_UPDATE_MS after thisUpdate', () => {
    const spec: AnswerSpec = { status: 'good', thisUpdate: new Date(S) };
    const limit = S + MAX_AGE_WITHOUT_NEXT_UPDATE_MS;
    expect(judge(spec, limit)).toMatchObject({ status: 'good', usableUntil: limit + 1000 });
    expect(judge(spec, limit + 999).status).toBe('good');
    expect(problemOf(() => judge(spec, limit + 1000))).toBe('stale');
  });

  it('a stale revocation still revokes, except certificateHold, which may have been released since', () => {
    const stale = { thisUpdate: new Date(S), nextUpdate: new Date(S + 10_000) };
    const later = S + DAY;
    // RFC 5280 section 5.3.1: only certificateHold can be lifted (removeFromCRL); any other reason is final.
    const final = { status: 'revoked', usableUntil: Infinity };
    expect(judge({ status: 'revoked', ...stale, reason: KEY_COMPROMISE }, later)).toMatchObject(final);
    expect(judge({ status: 'revoked', ...stale }, later)).toMatchObject(final);
    expect(judge({ status: 'revoked', thisUpdate: new Date(S), reason: KEY_COMPROMISE }, later).status).toBe('revoked');
    expect(problemOf(() => judge({ status: 'revoked', ...stale, reason: CERTIFICATE_HOLD }, later))).toBe('stale');
    const held = judge({ status: 'revoked', ...stale, reason: CERTIFICATE_HOLD }, S + 10_999);
    expect(held).toMatchObject({ status: 'revoked', usableUntil: S + 11_000 });
    expect(problemOf(() => judge({ status: 'good', ...stale }, later))).toBe('stale');
  });
});

describe('a delegated responder certificate is judged at the same instant, to the second', () => {
  it('is accepted through the last second of its notAfter and from the first second of its notBefore', async () => {
    const responderValidity = { notBefore: new Date(S - 20_000), notAfter: new Date(S + 20_000) };
    const delegated = await makeInProcessOcspPki(validity, responderValidity);
    const spec: AnswerSpec = {
      status: 'good',
      thisUpdate: new Date(S - 30_000),
      nextUpdate: new Date(S + DAY),
      signer: 'responder',
    };
    expect(judge(spec, S + 20_999, 0, delegated)).toMatchObject({ status: 'good', signer: '"CN=responder"' });
    expect(problemOf(() => judge(spec, S + 21_000, 0, delegated))).toBe('unauthorized-signer');
    expect(judge(spec, S + 21_000, 1000, delegated).status).toBe('good');
    expect(judge(spec, S - 20_000, 0, delegated).status).toBe('good');
    expect(problemOf(() => judge(spec, S - 20_001, 0, delegated))).toBe('unauthorized-signer');
  });
});
