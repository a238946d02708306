/**
 * Bytes that downloads in flight may hold together. Each CRL download is capped on its own
 * (`maxBytes`), but distribution points are named by certificates, so many downloads can run at
 * once: without a shared bound, N URLs x maxBytes is held in memory at the same time.
 */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Bytes held now by all leases (for tests and operators). */
  get inUse(): number {
    return this.used;
  }

  /** A lease for one download: charge() as bytes arrive, release() once they are no longer held. */
  lease(): ByteLease {
    let held = 0;
    return {
      charge: (bytes: number) => {
        // A download that would pass the limit fails now (its source is "unavailable" and retried
        // with backoff) rather than wait: waiting would let slow hostile servers hold the budget.
        if (this.used + bytes > this.limit)
          throw new Error(`CRL downloads in flight would hold more than ${this.limit} bytes; try again later`);
        this.used += bytes;
        held += bytes;
      },
      release: () => {
        this.used -= held;
        held = 0;
      },
    };
  }
}

export interface ByteLease {
  charge(bytes: number): void;
  release(): void;
}
