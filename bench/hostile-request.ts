// Part 4: the event-loop time one hostile, unauthenticated request costs before it is refused.
import { createVerifier, type VerifyResult } from 'certgate';
import { HOSTILE_SHAPES, hostileChain, type HostileShape } from './hostile-pki.js';
import { median, round } from './stats.js';

export interface HostileRequestResult {
  shape: HostileShape;
  /** Certificates presented, leaf included, and their total size. */
  certificates: number;
  bytes: number;
  /** The refusal's reason code (a hostile request must never be accepted). */
  code: string;
  /** verify() wall time, ms: a new leaf per request, the same candidates (parsed once). */
  newLeaf: Timing;
  /** verify() wall time, ms: nothing seen before (new leaf and new candidates per request). */
  newChain: Timing;
}

/**
 * Wall time (what the event loop is held for) and this process's CPU time over the same call:
 * on a machine shared with other work, wall time includes waiting for a core; CPU time does not.
 */
interface Timing {
  n: number;
  medianMs: number;
  maxMs: number;
  cpuMedianMs: number;
  cpuMaxMs: number;
}

/** Same-named candidates per hostile chain (per level for the P-521 tree, 8 levels deep). */
const CANDIDATES: Record<HostileShape, number> = {
  'huge-exponent': 100,
  'pss-junk': 100,
  'rsa-16384': 100,
  p521: 100,
  'p521-tree': 4,
  'huge-names': 16,
};

function summary(samples: [number, number][]): Timing {
  const wall = samples.map(([w]) => w);
  const cpu = samples.map(([, c]) => c);
  const r = (xs: number[]) => ({ median: round(median(xs), 2), max: round(Math.max(...xs), 2) });
  return {
    n: samples.length,
    medianMs: r(wall).median,
    maxMs: r(wall).max,
    cpuMedianMs: r(cpu).median,
    cpuMaxMs: r(cpu).max,
  };
}

/**
 * verify() of each hostile shape against a verifier trusting `ca` (which never issued any of it).
 * verify() runs synchronously up to its verdict when no CRL is fetched, so its wall time is the
 * event-loop time the request takes. Throws if a hostile chain is ever accepted.
 */
export async function measureHostileRequests(ca: string, iterations: number): Promise<HostileRequestResult[]> {
  const at = new Date();
  const out: HostileRequestResult[] = [];
  for (const shape of HOSTILE_SHAPES) {
    const hostile = hostileChain(shape, CANDIDATES[shape], at);
    const verifier = createVerifier({ ca, clock: { now: () => at.getTime() } });
    const time = async (chain: Buffer[]): Promise<[[number, number], VerifyResult]> => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      const r = await verifier.verify(chain);
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      if (r.ok) throw new Error(`bench sanity: hostile chain ${shape} was accepted`);
      return [[ms, (used.user + used.system) / 1000], r];
    };
    const [, first] = await time(hostile.chain);
    const newLeaf: [number, number][] = [];
    const newChain: [number, number][] = [];
    for (let i = 0; i < iterations; i++) {
      newLeaf.push((await time([hostile.freshLeaf(), ...hostile.chain.slice(1)]))[0]);
      newChain.push((await time(hostile.freshChain()))[0]);
    }
    out.push({
      shape,
      certificates: hostile.chain.length,
      bytes: hostile.chain.reduce((n, c) => n + c.length, 0),
      code: first.ok ? 'accepted' : first.code,
      newLeaf: summary(newLeaf),
      newChain: summary(newChain),
    });
  }
  return out;
}
