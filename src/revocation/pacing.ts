/**
 * How long-running CRL work gives way. Work is cut into slices of about SLICE_MS (crl-bytes.ts);
 * between two slices it calls a Pause. On the main thread that is the next turn of the event loop
 * (requests waiting run first). In the CRL worker, a refresh (a CRL is already in use, so nothing
 * waits for this one) rests between slices instead: measured on a 2-core machine, a worker thread
 * that computes at full speed, even at the lowest priority, cut an mTLS server's throughput by
 * half while it ran, because the two cores slow each other down; a quarter of the time cuts it by
 * a tenth, and the refresh takes four times as long, which nobody waits for.
 */

/** Lets other work run; resolves when this work may go on. */
export type Pause = () => Promise<void>;

/** The next turn of the event loop (what the main thread's slices yield to). */
export const nextTurn: Pause = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A turn after the loop has polled for I/O again: a timer. (An immediate set while a request is
 * handled runs right after it, in the same turn, so the two add up to one block.)
 */
export const afterPoll: Pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The share of the time a paced job works (the rest of the time it sleeps). */
export const PACED_DUTY = 0.25;

/** A pause that sleeps long enough after a slice of `sliceMs` that the work takes `duty` of the time. */
export function restingPause(sliceMs: number, duty = PACED_DUTY): Pause {
  const restMs = Math.ceil((sliceMs * (1 - duty)) / duty);
  return () => new Promise<void>((resolve) => setTimeout(resolve, restMs));
}
