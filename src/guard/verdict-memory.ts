import { LRUCache } from 'lru-cache';
import type { Clock } from '../time/clock.js';
import type { Verifier, VerifySuccess } from '../verifier/verifier.js';
import type { GuardOutcome } from './outcome.js';
import { ENTRY_FIXED_BYTES, infoBytes, stringBytes } from '../verifier/footprint.js';

/** One remembered guard decision. */
export interface Remembered {
  outcome: GuardOutcome;
  /** Epoch ms after which the outcome must be recomputed (certificate or CRL expiry, refusal TTL). */
  expiresAt: number;
  /** The verifier and its CRL revision the outcome was reached with: new CRLs void it. */
  verifier?: Verifier;
  revision?: number;
  /** For trust taken from the HTTPS server: false once its `ca`/`crl` changed (setSecureContext). */
  current?: () => boolean;
}

/** Request-scoped verdicts (forwarded certificates) remembered, at most this many per guard. */
export const MAX_REQUEST_SCOPED_VERDICTS = 10_000;
/** Verified leaves remembered for new connections of known clients, at most this many per guard. */
export const MAX_VERIFIED_LEAVES = 10_000;

/**
 * Estimated bytes each of a guard's two LRUs may hold (8 MiB in all): a flood of hostile
 * credentials evicts entries, it cannot grow memory.
 */
export const VERDICT_MEMORY_BYTES = 4 * 1024 * 1024;

/** An Error object with its captured stack trace, beyond its strings. */
const ERROR_FIXED_BYTES = 2048;

/** A remembered guard outcome's estimated bytes: its key, and its certificate infos or refusal texts. */
export function rememberedBytes(outcome: GuardOutcome, key: string): number {
  const held = outcome.ok
    ? outcome.clientCert.chain.reduce((n, info) => n + infoBytes(info), 0) +
      stringBytes(outcome.clientCert.user, ...outcome.clientCert.roles)
    : ERROR_FIXED_BYTES + stringBytes(outcome.error.message, outcome.error.detail);
  return ENTRY_FIXED_BYTES + stringBytes(key) + held;
}

/** A remembered verified leaf's estimated bytes: its key and its result's certificate infos. */
export function verifiedLeafBytes(result: VerifySuccess, key: string): number {
  return ENTRY_FIXED_BYTES + stringBytes(key) + result.chain.reduce((n, info) => n + infoBytes(info), 0);
}

/** A leaf's verification, reusable by another connection that presents the same leaf. */
interface VerifiedLeaf {
  result: VerifySuccess;
  verifier: Verifier;
  revision: number;
}

/**
 * A guard's decisions by the source's cache key: per connection in a WeakMap (gone with the
 * connection), per credential string in an LRU; successful verifications also per leaf, for the
 * next connections of the same client. Concurrent first requests on one key (HTTP/2 streams
 * opened together) share one decision in flight.
 */
export class VerdictMemory {
  private readonly byConnection = new WeakMap<object, Remembered>();
  private readonly byCredential = new LRUCache<string, Remembered>({
    max: MAX_REQUEST_SCOPED_VERDICTS,
    maxSize: VERDICT_MEMORY_BYTES,
    sizeCalculation: (entry, key) => rememberedBytes(entry.outcome, key),
  });
  /** Successful verifications by the leaf a source named (`leafKey`); refusals are never reused. */
  private readonly verifiedLeaves = new LRUCache<string, VerifiedLeaf>({
    max: MAX_VERIFIED_LEAVES,
    maxSize: VERDICT_MEMORY_BYTES,
    sizeCalculation: (leaf, key) => verifiedLeafBytes(leaf.result, key),
  });
  private readonly connectionsInFlight = new WeakMap<object, Promise<GuardOutcome>>();
  private readonly credentialsInFlight = new Map<string, Promise<GuardOutcome>>();

  constructor(private readonly clock: Clock) {}

  /** Bytes (estimated) the two LRUs hold now. */
  get bytes(): { byCredential: number; verifiedLeaves: number } {
    return { byCredential: this.byCredential.calculatedSize, verifiedLeaves: this.verifiedLeaves.calculatedSize };
  }

  /** The remembered outcome, if still valid: the per-request fast path. */
  get(key: object | string): GuardOutcome | undefined {
    return this.valid(typeof key === 'string' ? this.byCredential.get(key) : this.byConnection.get(key))?.outcome;
  }

  /**
   * The verification of this leaf by `verifier` on another connection, if it still holds: a known
   * client's new connection then costs a lookup, not a chain read and a path validation. (Identity
   * and roles are still decided per connection.)
   */
  verifiedLeaf(leafKey: string, verifier: Verifier): VerifySuccess | undefined {
    const known = this.verifiedLeaves.get(leafKey);
    if (!known || known.verifier !== verifier || known.revision !== verifier.revision) return undefined;
    return this.clock.now() <= known.result.expiresAt.getTime() ? known.result : undefined;
  }

  rememberVerifiedLeaf(leafKey: string, verifier: Verifier, revision: number, result: VerifySuccess): void {
    this.verifiedLeaves.set(leafKey, { result, verifier, revision });
  }

  private valid(entry: Remembered | undefined): Remembered | undefined {
    if (!entry || this.clock.now() > entry.expiresAt) return undefined;
    // A refreshed CRL applies at once, also to keep-alive connections approved before it.
    if (entry.verifier && entry.verifier.revision !== entry.revision) return undefined;
    if (entry.current && !entry.current()) return undefined;
    return entry;
  }

  /** Whether a decision for this key is in flight (check() joins it rather than start another). */
  deciding(key: object | string): boolean {
    return typeof key === 'string' ? this.credentialsInFlight.has(key) : this.connectionsInFlight.has(key);
  }

  /** Remembers a decision made without going through decideOnce (a synchronous one). */
  remember(key: object | string, entry: Remembered): void {
    this.set(key, entry);
  }

  private set(key: object | string, entry: Remembered): void {
    if (typeof key === 'string') this.byCredential.set(key, entry);
    else this.byConnection.set(key, entry);
  }

  /** Runs `decide` once per key at a time and remembers what it returns. */
  decideOnce(key: object | string, decide: () => Promise<Remembered>): Promise<GuardOutcome> {
    const pending = typeof key === 'string' ? this.credentialsInFlight.get(key) : this.connectionsInFlight.get(key);
    if (pending) return pending;
    const run = decide().then((entry) => {
      this.set(key, entry);
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
