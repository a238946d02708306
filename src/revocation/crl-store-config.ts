/** The CRL store's configuration and events (crl-store.ts), apart so the store stays one concern. */
import type { Clock } from '../time/clock.js';
import type { ParsedCrl } from './crl.js';

/** A CRL location that is read again over time. */
export interface CrlSourceSpec {
  kind: 'file' | 'url';
  location: string;
}

export interface CrlStoreConfig {
  /** CRLs given as values (and files, as read at creation): the starting state. */
  initial: readonly { source: string; crls: readonly ParsedCrl[] }[];
  sources: readonly CrlSourceSpec[];
  refreshIntervalMs: number;
  /** How often files are checked for a change (stat), in ms. */
  fileCheckIntervalMs: number;
  fetchTimeoutMs: number;
  maxBytes: number;
  legacyAlgorithms: boolean;
  clock: Clock;
  /** Allowed clock skew against a delivered CRL's thisUpdate (ms); 0 when not given. */
  clockToleranceMs?: number;
  /** Bytes all URL downloads in flight may hold together; default MAX_CRL_BYTES_IN_FLIGHT (crl-store.ts). */
  maxBytesInFlight?: number;
}

/** Events for operators; listen with `verifier.on(name, listener)`. */
export interface CrlEvents {
  'crl-loaded': {
    source: string;
    issuer: string;
    entries: number;
    thisUpdate: Date;
    nextUpdate: Date | undefined;
    crlNumber: bigint | undefined;
    /**
     * Verified with a known issuer certificate's key as it arrived; false for a candidate, whose
     * issuer (a CA that clients send) is not configured: it is verified at use (README "CRLs that stay current").
     */
    verified: boolean;
  };
  'crl-refresh-failed': { source: string; error: string; retryInMs: number };
  'crl-rejected': { source: string; issuer: string; reason: string };
  /** A CRL in use is past its nextUpdate and no newer one could be had (reported once per CRL). */
  'crl-stale': { source: string; issuer: string; nextUpdate: Date | undefined };
}
