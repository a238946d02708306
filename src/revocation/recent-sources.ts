/** At most this many CRL URLs found in certificates' distribution points are kept (and refreshed) at once. */
export const MAX_DISCOVERED_SOURCES = 64;

/**
 * The distribution point URLs a store follows, least recently used first. The URLs come from
 * certificates, so a client can name new ones at will: when the limit is reached the least
 * recently used idle URL makes room (it is fetched again if it is named again), instead of every
 * URL named after the limit failing forever.
 */
export class RecentSources {
  /** Insertion order is recency: the first key is the least recently used. */
  private readonly order = new Map<string, true>();

  constructor(private readonly limit = MAX_DISCOVERED_SOURCES) {}

  get size(): number {
    return this.order.size;
  }

  has(url: string): boolean {
    return this.order.has(url);
  }

  /** Marks a followed URL as just used (a path named it). */
  touch(url: string): void {
    if (this.order.delete(url)) this.order.set(url, true);
  }

  add(url: string): void {
    this.order.delete(url);
    this.order.set(url, true);
  }

  remove(url: string): void {
    this.order.delete(url);
  }

  /**
   * Whether one more URL fits; when full, the least recently used URL that `idle` allows to go,
   * undefined when none may (every one has a fetch in flight: the new URL waits for another request).
   */
  room(idle: (url: string) => boolean): { fits: true } | { fits: false; evict: string | undefined } {
    if (this.order.size < this.limit) return { fits: true };
    for (const url of this.order.keys()) if (idle(url)) return { fits: false, evict: url };
    return { fits: false, evict: undefined };
  }
}
