import type { ParsedCrl } from './crl.js';

/** What {@link notDelivered} reads of a source's state. */
interface SourceStatus {
  spec: { location: string };
  discovered?: boolean;
  loaded: boolean;
  failures: number;
  lastProblem?: string;
}

/**
 * Why configured sources have not delivered a CRL yet (operator text for refusal details),
 * undefined when all have: never read, or read and failed (how often, and the last problem).
 */
export function notDelivered(states: Iterable<SourceStatus>): string | undefined {
  const waiting: string[] = [];
  for (const s of states) {
    if (s.loaded || s.discovered) continue;
    const where = s.spec.location;
    waiting.push(
      s.lastProblem === undefined
        ? `${where} has not been read yet`
        : `${where} has not delivered a usable CRL (${s.failures} attempts, the last: ${s.lastProblem})`,
    );
  }
  return waiting.length > 0 ? waiting.join('; ') : undefined;
}

/**
 * The soonest a candidate's times may make a source fetch again: its nextUpdate is the sender's
 * word, and a forged short-lived CRL must not set the pace of downloads.
 */
export const MIN_CANDIDATE_REFETCH_MS = 60_000;

/**
 * When a source should fetch again: ahead of the earliest nextUpdate of its verified CRLs, and of
 * its candidates no sooner than {@link MIN_CANDIDATE_REFETCH_MS} from `now`. Infinity when none has one.
 */
export function refetchAfter(verified: readonly ParsedCrl[], candidates: readonly ParsedCrl[], now: number): number {
  return Math.min(
    ...verified.map(refetchAt),
    ...candidates.map((c) => Math.max(refetchAt(c), now + MIN_CANDIDATE_REFETCH_MS)),
  );
}

/** When to fetch a CRL again: ahead of nextUpdate by a tenth of its lifetime, at most a minute. */
function refetchAt(crl: ParsedCrl): number {
  if (!crl.nextUpdate) return Infinity;
  const next = crl.nextUpdate.getTime();
  return next - Math.min(60_000, (next - crl.thisUpdate.getTime()) / 10);
}
