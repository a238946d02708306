/**
 * When a remembered OCSP answer is asked again ahead of its end (README "OCSP"), so that a
 * certificate in use never waits for the responder after its first request. Policy only: the
 * client (ocsp-client.ts) keeps the timers and the single flight.
 *
 * - How early: a tenth of the answer's lifetime (from its arrival to its `until`), at least one
 *   request timeout (a slow responder's timeout still ends before the answer does), at most half
 *   the lifetime. With the defaults (maxAgeMs 5 minutes, timeoutMs 5 s): 30 s before the end.
 * - Answers living under {@link MIN_OCSP_REFRESH_GAP_MS} twice over are not refreshed ahead: they
 *   are asked again when due, so a responder stamping short answers cannot make the refresh spin.
 * - Seen recently: a request used the answer (or fetched it) within the last answer lifetime. A
 *   certificate no one presents any more stops being refreshed after one more answer; the answer
 *   cache's LRU bounds how many are kept fresh.
 */

/** No refresh starts sooner than this after the answer it replaces arrived. */
export const MIN_OCSP_REFRESH_GAP_MS = 1_000;
/** Share of an answer's lifetime left when its refresh starts. */
export const OCSP_REFRESH_FRACTION = 0.1;
/** Node turns longer timer delays into 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Epoch ms at which an answer that arrived at `fetchedAt` and is usable until `until` should be
 * asked again; Infinity when it is not refreshed ahead.
 */
export function ocspRefreshAt(fetchedAt: number, until: number, timeoutMs: number): number {
  const lifetime = until - fetchedAt;
  if (!Number.isFinite(lifetime)) return Infinity;
  const lead = Math.min(lifetime / 2, Math.max(lifetime * OCSP_REFRESH_FRACTION, timeoutMs));
  const refreshAt = until - lead;
  return refreshAt - fetchedAt < MIN_OCSP_REFRESH_GAP_MS ? Infinity : refreshAt;
}

/** Whether an answer used at `usedAt` was seen recently enough at `now` to be refreshed. */
export function seenRecently(usedAt: number, fetchedAt: number, until: number, now: number): boolean {
  return usedAt >= now - (until - fetchedAt);
}

/** The delay a Node timer can wait until `at`. */
export function delayUntil(at: number, now: number): number {
  return Math.min(Math.max(at - now, 0), MAX_TIMER_MS);
}
