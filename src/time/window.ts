/**
 * Validity windows, in one place. X.509 times (certificate validity, CRL and OCSP thisUpdate and
 * nextUpdate) have one-second granularity: a time stamped with second S stands for the whole of
 * [S, S+1). Comparing them in milliseconds against a clock read would make a responder that
 * stamps "now" look like it answered from the future for the rest of the current second.
 */
export const SECOND_MS = 1000;

export function floorToSecond(ms: number): number {
  return Math.floor(ms / SECOND_MS) * SECOND_MS;
}

/** True when a window starting at `start` has not begun at `at` (within `toleranceMs`). */
export function beforeStart(start: number, at: number, toleranceMs: number): boolean {
  return floorToSecond(at + toleranceMs) < floorToSecond(start);
}

/**
 * True when a window ending at `end` is over at `at` (within `toleranceMs`). The end is inclusive
 * and covers its whole last second (RFC 5280 section 4.1.2.5: notAfter is the last valid second).
 */
export function afterEnd(end: number, at: number, toleranceMs: number): boolean {
  return floorToSecond(at - toleranceMs) > floorToSecond(end);
}

/**
 * The first instant at which {@link afterEnd} holds: something remembered until then (an OCSP
 * answer) is used exactly as long as it would be accepted.
 */
export function firstInstantAfter(end: number, toleranceMs: number): number {
  return floorToSecond(end) + SECOND_MS + toleranceMs;
}

/**
 * True once `at` has reached a deadline that is itself the first invalid instant, such as a CRL's
 * nextUpdate (plus a grace period): the next CRL is due then, so this one is stale from then on.
 */
export function reached(deadline: number, at: number): boolean {
  return at >= deadline;
}
