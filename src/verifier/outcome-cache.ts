import { LRUCache } from 'lru-cache';
import type { VerifyFailureCode } from '../errors.js';
import type { CrlFinding } from '../model/verdict.js';
import type { OcspAnswer } from '../revocation/ocsp-client.js';
import type { Clock } from '../time/clock.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import type { VerifyResult } from './results.js';
import { ENTRY_FIXED_BYTES, infoBytes, parseBytes, stringBytes } from './footprint.js';

/** How long a rejection is remembered: long enough to absorb a retry storm, short enough to heal. */
export const REJECTION_CACHE_TTL_MS = 30_000;
/** Rejections that turn into acceptance with time alone, so remembering them would be wrong. */
const TIME_DEPENDENT: ReadonlySet<VerifyFailureCode> = new Set(['CERT_NOT_YET_VALID', 'REVOCATION_UNKNOWN']);

/** A path verdict as remembered: the result, and what OCSP needs to finish it. */
export interface Outcome {
  result: VerifyResult;
  path?: readonly ParsedCertificate[];
  leafCrl?: CrlFinding;
  /** The last OCSP answer applied to this outcome and the result it gave (the hot path reuses it). */
  withOcsp?: { answer: OcspAnswer; result: VerifyResult };
}

/**
 * Verdicts per presented chain (keyed by the certificates' SHA-256), never outliving what they
 * rest on: an acceptance until its `expiresAt`, a rejection for {@link REJECTION_CACHE_TTL_MS}
 * unless time alone can cure it. A CRL change (a new revision) forgets them all.
 */
export class OutcomeCache {
  private readonly entries: LRUCache<string, Outcome> | undefined;
  private revision = 0;

  /**
   * `maxBytes` bounds the estimated bytes of all outcomes; `pinned` says which certificates the
   * verifier holds anyway (configured ones), whose parses an outcome does not add to.
   */
  constructor(cacheSize: number, clock: Clock, maxBytes: number, pinned: (cert: ParsedCertificate) => boolean) {
    const sizeCalculation = (outcome: Outcome, key: string) => outcomeBytes(outcome, key, pinned);
    // ttlResolution 0: lru-cache would otherwise reuse a clock reading for 1 ms, whatever the injected clock says.
    this.entries =
      cacheSize > 0
        ? new LRUCache({ max: cacheSize, maxSize: maxBytes, sizeCalculation, perf: clock, ttlResolution: 0 })
        : undefined;
  }

  /** Bytes (estimated) the outcomes hold now. */
  get bytes(): number {
    return this.entries?.calculatedSize ?? 0;
  }

  get(key: string, at: number, revision: number): Outcome | undefined {
    if (revision !== this.revision) {
      this.entries?.clear();
      this.revision = revision;
    }
    const hit = this.entries?.get(key);
    return hit && (!hit.result.ok || hit.result.expiresAt.getTime() > at) ? hit : undefined;
  }

  remember(key: string, outcome: Outcome, at: number): void {
    const { result } = outcome;
    if (!this.entries) return;
    if (result.ok) this.entries.set(key, outcome, { ttl: Math.max(1, result.expiresAt.getTime() - at) });
    else if (!TIME_DEPENDENT.has(result.code)) this.entries.set(key, outcome, { ttl: REJECTION_CACHE_TTL_MS });
  }
}

const OCSP_FOLD_BYTES = 1024;

/**
 * An outcome's estimated bytes: its key, its result's strings or certificate infos, and its leaf's
 * parse (unless configured). The path's other certificates are configured ones or intermediates a
 * trusted CA issued, shared by every leaf below them and few: the parse cache accounts for them.
 */
function outcomeBytes(outcome: Outcome, key: string, pinned: (cert: ParsedCertificate) => boolean): number {
  const { result } = outcome;
  // An acceptance may later carry its OCSP fold (withOcsp): a result sharing these infos, and a detail.
  const held = result.ok
    ? result.chain.reduce((n, info) => n + infoBytes(info), OCSP_FOLD_BYTES)
    : stringBytes(result.message, result.detail);
  const leaf = outcome.path?.[0];
  const parse = leaf && !pinned(leaf) ? parseBytes(leaf) : 0;
  return ENTRY_FIXED_BYTES + stringBytes(key) + held + parse;
}
