import { LRUCache } from 'lru-cache';
import type { Clock } from '../time/clock.js';
import type { Verifier } from '../verifier/verifier.js';
import type { GuardOutcome } from './outcome.js';

/** One remembered guard decision. */
export interface Remembered {
  outcome: GuardOutcome;
  /** Epoch ms after which the outcome must be recomputed (certificate or CRL expiry, refusal TTL). */
  expiresAt: number;
  /** The verifier and its CRL revision the outcome was reached with: new CRLs void it. */
  verifier?: Verifier;
  revision?: number;
}

/** Request-scoped verdicts (forwarded certificates) remembered, at most this many per guard. */
export const MAX_REQUEST_SCOPED_VERDICTS = 10_000;

/**
 * A guard's decisions by the source's cache key: per connection in a WeakMap (gone with the
 * connection), per credential string in an LRU. Concurrent first requests on one key (HTTP/2
 * streams opened together) share one decision in flight.
 */
export class VerdictMemory {
  private readonly byConnection = new WeakMap<object, Remembered>();
  private readonly byCredential = new LRUCache<string, Remembered>({ max: MAX_REQUEST_SCOPED_VERDICTS });
  private readonly connectionsInFlight = new WeakMap<object, Promise<GuardOutcome>>();
  private readonly credentialsInFlight = new Map<string, Promise<GuardOutcome>>();

  constructor(private readonly clock: Clock) {}

  /** The remembered outcome, if still valid: the per-request fast path. */
  get(key: object | string): GuardOutcome | undefined {
    const entry = typeof key === 'string' ? this.byCredential.get(key) : this.byConnection.get(key);
    if (!entry || this.clock.now() > entry.expiresAt) return undefined;
    // A refreshed CRL applies at once, also to keep-alive connections approved before it.
    if (entry.verifier && entry.verifier.revision !== entry.revision) return undefined;
    return entry.outcome;
  }

  /** Runs `decide` once per key at a time and remembers what it returns. */
  decideOnce(key: object | string, decide: () => Promise<Remembered>): Promise<GuardOutcome> {
    const pending = typeof key === 'string' ? this.credentialsInFlight.get(key) : this.connectionsInFlight.get(key);
    if (pending) return pending;
    const run = decide().then((entry) => {
      if (typeof key === 'string') this.byCredential.set(key, entry);
      else this.byConnection.set(key, entry);
      return entry.outcome;
    });
    const settled = run.finally(() => {
      if (typeof key === 'string') this.credentialsInFlight.delete(key);
      else this.connectionsInFlight.delete(key);
    });
    if (typeof key === 'string') this.credentialsInFlight.set(key, settled);
    else this.connectionsInFlight.set(key, settled);
    return settled;
  }
}
