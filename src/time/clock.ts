/**
 * Every time decision in certgate reads the time from a Clock, never from Date.now() directly:
 * tests freeze it and step it across second boundaries on purpose, and an application can run
 * certgate on its own notion of time (a trusted time source, a simulation).
 */
export interface Clock {
  /** The current time in epoch milliseconds. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
