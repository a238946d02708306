/**
 * Bytes that downloads in flight may hold together. Each CRL download is capped on its own
 * (`maxBytes`), but distribution points are named by certificates, so many downloads can run at
 * once: without a shared bound, N URLs x maxBytes is held in memory at the same time.
 *
 * The counters are in shared memory, so that a download run by the CRL worker (crl-offthread.ts)
 * charges the same budget, chunk by chunk, as one run on the main thread, and a worker that dies
 * mid-download cannot leak what it charged: the lease's own counter says what to give back.
 */
export class ByteBudget {
  private readonly used = new BigInt64Array(new SharedArrayBuffer(8));

  constructor(readonly limit: number) {}

  /** Bytes held now by all leases (for tests and operators). */
  get inUse(): number {
    return Number(Atomics.load(this.used, 0));
  }

  /** A lease for one download: charge() as bytes arrive, release() once they are no longer held. */
  lease(): ByteLease {
    const shared: SharedLease = {
      budget: this.used.buffer as SharedArrayBuffer,
      held: new SharedArrayBuffer(8),
      limit: this.limit,
    };
    return {
      shared,
      charge: (bytes: number) => chargeShared(shared, bytes),
      release: () => {
        const held = Atomics.exchange(new BigInt64Array(shared.held), 0, 0n);
        Atomics.sub(this.used, 0, held);
      },
    };
  }
}

export interface ByteLease {
  charge(bytes: number): void;
  release(): void;
  /** The lease as shared memory, for charge() in another thread (chargeShared). */
  readonly shared: SharedLease;
}

/** A lease's counters in shared memory: the budget's total, this lease's part, and the limit. */
export interface SharedLease {
  budget: SharedArrayBuffer;
  held: SharedArrayBuffer;
  limit: number;
}

/**
 * Charges `bytes` to a lease from any thread; throws if the budget would pass its limit. A
 * download that would pass it fails now (its source is "unavailable" and retried with backoff)
 * rather than wait: waiting would let slow hostile servers hold the budget.
 */
export function chargeShared(lease: SharedLease, bytes: number): void {
  const amount = BigInt(bytes);
  const budget = new BigInt64Array(lease.budget);
  if (Atomics.add(budget, 0, amount) + amount > BigInt(lease.limit)) {
    Atomics.sub(budget, 0, amount);
    throw new Error(`CRL downloads in flight would hold more than ${lease.limit} bytes; try again later`);
  }
  Atomics.add(new BigInt64Array(lease.held), 0, amount);
}
