import type { ParsedCrl } from './crl.js';

/**
 * Issuers remembered as covered without a usable CRL after their candidate CRL was dropped
 * (crl-slots.ts); the oldest is forgotten beyond this. Names only: a few hundred bytes each.
 */
export const MAX_UNCOVERED_ISSUERS = 1024;

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

/** When to fetch a CRL again: ahead of nextUpdate by a tenth of its lifetime, at most a minute. */
export function refetchAt(crl: ParsedCrl): number {
  if (!crl.nextUpdate) return Infinity;
  const next = crl.nextUpdate.getTime();
  return next - Math.min(60_000, (next - crl.thisUpdate.getTime()) / 10);
}
