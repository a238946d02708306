/**
 * The reported flood, over real TLS: unauthenticated handshakes, each presenting a distinct
 * self-signed certificate with a ~28 KB subject, against an HTTPS server whose guard (default
 * options) refuses them all. What the flood leaves on the heap (after GC, server, guard and
 * verifier still alive) must stay within the default cache bound, not grow with the number of
 * certificates (before the byte bounds: ~0.8 MB per certificate, 240 MB for this flood); and a
 * legitimate client is still served. bench/flood-memory.ts measures the same at 2,000 and 10,000.
 */
import { describe, expect, it } from 'vitest';
import { measureFloodMemory } from '../../bench/flood-memory.js';

/** The verifier's default cacheMaxBytes (40 MiB), as a figure: this test must mean the same on older code. */
const BOUND_MB = 40;

describe('a flood of hostile certificates over TLS', () => {
  it('leaves the heap within the default cache bound and serves a legitimate client after', async () => {
    const run = await measureFloodMemory(300);
    expect(run.refused).toBe(300);
    expect(run.legitimateClientStatus).toBe(200);
    // The verifier's 40 MiB is the bound; the guard's memory holds no refusals per connection.
    expect(run.retainedMb).toBeLessThan(BOUND_MB);
  }, 300_000);
});
