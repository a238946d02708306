import { EventEmitter } from 'node:events';
import { fetchChanged, readChangedFile } from './crl-delivery.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import type { CrlSourceSpec, CrlStoreConfig } from './crl-store-config.js';
import { retryDelayMs, timerDelay } from './http-fetch.js';
import { CrlChecker } from './crl-checker.js';
import { ByteBudget } from './byte-budget.js';
import { MAX_DISCOVERED_SOURCES, RecentSources } from './recent-sources.js';
import type { ParsedCrl } from './crl.js';
import { decodeDelivery, StaticCrls } from './crl-static.js';
import { type Admitted, MAX_CANDIDATES_PER_DELIVERY, SourceCrls } from './crl-slots.js';
import { freshness } from './crl-usability.js';
import { admission, type Admission } from './crl-admission.js';
import { notDelivered, refetchAfter } from './crl-source-status.js';
import { LARGE_CRL_BYTES } from './crl-header.js';

export type { CrlEvents, CrlSourceSpec, CrlStoreConfig } from './crl-store-config.js';
export { MAX_DISCOVERED_SOURCES };

/**
 * Bytes that CRL downloads in flight may hold together (raised to `maxBytes` when that is larger,
 * so one CRL of the allowed size always fits). A download that would pass it fails as
 * "unavailable" and is retried with backoff; the CRL in use, if any, stays.
 */
export const MAX_CRL_BYTES_IN_FLIGHT = 64 * 1024 * 1024;

interface SourceState {
  spec: CrlSourceSpec;
  /** Found in a certificate's CRL distribution points rather than configured. */
  discovered?: boolean;
  /** For discovered sources: the issuer certificates (of verified paths) that named this URL. */
  namedBy?: ParsedCertificate[];
  /** Polls since the CRLs in use went past nextUpdate with nothing newer: drives the backoff. */
  staleRounds: number;
  /** The CRLs in use (`kept.list`), verified and candidates: crl-slots.ts has the rule. */
  kept: SourceCrls;
  loaded: boolean;
  failures: number;
  /** What went wrong the last time this source was read (operator text), for refusal details. */
  lastProblem?: string;
  timer?: NodeJS.Timeout;
  inFlight?: Promise<void>;
  etag?: string | undefined;
  lastModified?: string | undefined;
  fileStamp?: string;
  /** The size of the last body delivered (0 before any). */
  lastBodyBytes: number;
}

/**
 * The CRLs a verifier uses, kept current: files are re-read when they change, URLs are fetched
 * again before `nextUpdate` and at most every `refreshIntervalMs`, one fetch at a time per source.
 * A CRL whose issuer certificate is known (configured, or the issuer that named a distribution
 * point) is verified before it enters; one whose issuer is not known (a CA that clients send) is
 * kept as a candidate and verified at use (crl-slots.ts has the rule). Failures keep the CRLs in
 * use and retry with backoff. Every change bumps `revision`, which invalidates cached verdicts.
 */
export class CrlStore extends EventEmitter {
  private readonly states = new Map<string, SourceState>();
  private readonly reportedStale = new Set<string>();
  /** Distribution point URLs followed, least recently used first. */
  private readonly recent = new RecentSources();
  private readonly budget: ByteBudget;
  /** Static CRLs (values; files not watched): large ones load after creation (crl-static.ts). */
  private readonly fixed: StaticCrls;
  private current: CrlChecker;
  private closed = false;
  /** Aborts fetches in flight on close(). */
  private readonly stopping = new AbortController();
  revision = 0;
  /** Settles once every URL and file source has been tried once. */
  readonly ready: Promise<void>;
  /** Time rules for a delivered CRL: the clock tolerance, no grace period. */
  private readonly strictTime: { clockToleranceMs: number; gracePeriodMs: number };

  constructor(
    private readonly config: CrlStoreConfig,
    /** Configured certificates with a given canonical subject, to verify new CRLs against. */
    private readonly issuersNamed: (issuerKey: string) => readonly ParsedCertificate[],
  ) {
    super();
    this.strictTime = { clockToleranceMs: config.clockToleranceMs ?? 0, gracePeriodMs: 0 };
    this.budget = new ByteBudget(Math.max(config.maxBytesInFlight ?? MAX_CRL_BYTES_IN_FLIGHT, config.maxBytes));
    const fixed = config.initial.filter((i) => !config.sources.some((s) => s.location === i.source));
    const statics = { issuersNamed, legacyAlgorithms: config.legacyAlgorithms, emit: this.emitter };
    this.fixed = new StaticCrls(fixed, statics, () => this.install());
    for (const spec of config.sources) {
      const initial = config.initial.find((i) => i.source === spec.location);
      this.states.set(spec.location, {
        spec,
        kept: new SourceCrls(initial?.crls ?? []),
        loaded: initial !== undefined,
        failures: 0,
        staleRounds: 0,
        lastBodyBytes: 0,
      });
    }
    this.current = this.newChecker();
    this.ready = Promise.all([...[...this.states.values()].map((s) => this.refresh(s)), this.fixed.ready]).then(() => {
      for (const s of this.states.values()) this.schedule(s);
    });
  }

  get checker(): CrlChecker {
    return this.current;
  }

  /**
   * Why configured sources have not delivered a CRL yet (operator text), undefined when all have:
   * while one has not, revocation for an issuer without a CRL is unknown (it may be that source's).
   */
  get pending(): string | undefined {
    return notDelivered(this.states.values());
  }

  /**
   * Fetches (once, then keeps refreshing) CRLs named in certificates' distribution points.
   * Bounded: the URLs come from certificates a trusted CA signed, but there is no reason to follow
   * an unbounded number of them (MAX_DISCOVERED_SOURCES, least recently used first out).
   */
  async discover(wanted: ReadonlyMap<string, ParsedCertificate>): Promise<void> {
    if (this.closed) return;
    const waits: Promise<void>[] = [];
    for (const [url, issuer] of wanted) {
      let state = this.states.get(url);
      this.recent.touch(url);
      if (!state) {
        if (!this.makeRoom()) continue;
        this.recent.add(url);
        // The CRL at a distribution point is accepted only if it verifies with the key of the
        // issuer whose (verified) certificate named it: plain-http CRL URLs are easy to intercept.
        state = {
          spec: { kind: 'url', location: url },
          kept: new SourceCrls([]),
          loaded: false,
          failures: 0,
          staleRounds: 0,
          lastBodyBytes: 0,
          discovered: true,
          namedBy: [issuer],
        };
        this.states.set(url, state);
        const fresh = state;
        waits.push(this.refresh(fresh).then(() => this.schedule(fresh)));
      } else {
        if (state.namedBy && !state.namedBy.some((c) => c.id === issuer.id)) state.namedBy.push(issuer);
        if (state.inFlight) waits.push(state.inFlight);
      }
    }
    await Promise.all(waits);
  }

  /** Whether a distribution point URL has been tried at least once (loaded or failed). */
  tried(url: string): boolean {
    const s = this.states.get(url);
    return s !== undefined && !s.inFlight && (s.loaded || s.failures > 0);
  }

  /**
   * Whether discover() would fetch this URL (or wait for its fetch in flight): not tried yet, the
   * store not closed, and a new URL still within MAX_DISCOVERED_SOURCES. A URL it would skip is
   * "could not be fetched" for the caller, never "being fetched" forever.
   */
  willFetch(url: string): boolean {
    if (this.closed || this.tried(url)) return false;
    if (this.states.has(url)) return true;
    const room = this.recent.room(this.idle);
    return room.fits || room.evict !== undefined;
  }

  /** A path named these distribution point URLs: they are the last to make room for new ones. */
  seen(urls: readonly string[]): void {
    for (const url of urls) this.recent.touch(url);
  }

  private readonly idle = (url: string): boolean => !this.states.get(url)?.inFlight;

  /** Room for one more discovered URL: evicts the least recently used idle one if full; false if none may go. */
  private makeRoom(): boolean {
    const room = this.recent.room(this.idle);
    if (room.fits) return true;
    if (room.evict === undefined) return false;
    const evicted = this.states.get(room.evict);
    this.recent.remove(room.evict);
    this.states.delete(room.evict);
    clearTimeout(evicted?.timer);
    // Its CRLs leave with it: verdicts that rested on them are decided again (and fetch it again).
    if (evicted && evicted.kept.list.length > 0) this.install();
    return true;
  }

  private readonly emitter = (event: 'crl-loaded' | 'crl-rejected', payload: never) => this.emit(event, payload);

  close(): void {
    this.closed = true;
    this.fixed.closed = true;
    this.stopping.abort();
    for (const s of this.states.values()) clearTimeout(s.timer);
  }

  private all(): ParsedCrl[] {
    return [...this.fixed.crls, ...[...this.states.values()].flatMap((s) => s.kept.list)];
  }

  /** A checker over the CRLs in use, which names each CRL's source in its refusal details. */
  private newChecker(): CrlChecker {
    const origins = new Map<string, string>();
    for (const s of this.states.values()) for (const crl of s.kept.list) origins.set(crl.id, s.spec.location);
    return new CrlChecker(this.all(), origins);
  }

  /** The CRLs in use changed: a new checker, and verdicts that rested on the old ones are void. */
  private install(): void {
    this.current = this.newChecker();
    this.revision++;
  }

  private schedule(state: SourceState): void {
    // An evicted source is no longer refreshed.
    if (this.closed || this.states.get(state.spec.location) !== state) return;
    clearTimeout(state.timer);
    let delay = this.failureDelay(state);
    if (delay === undefined) {
      // Fetch again ahead of the earliest nextUpdate (a tenth of the CRL's lifetime, at most a
      // minute, early), and at least every refreshIntervalMs; while the CRL in use is past
      // nextUpdate and nothing newer comes, back off instead of polling every second.
      const now = this.config.clock.now();
      const untilDue = refetchAfter(state.kept.verifiedCrls, state.kept.unverifiedCrls, now) - now;
      if (untilDue <= 0) {
        state.staleRounds++;
        delay = retryDelayMs(state.staleRounds, this.config.refreshIntervalMs);
      } else {
        state.staleRounds = 0;
        delay = timerDelay(Math.min(this.config.refreshIntervalMs, untilDue));
      }
    }
    state.timer = setTimeout(() => {
      void this.refresh(state).then(() => this.schedule(state));
    }, delay);
    state.timer.unref();
  }

  /**
   * When a file is looked at again, or a failing URL retried; undefined for a URL that works. What
   * 'crl-refresh-failed' reports as retryInMs is what the timer then waits.
   */
  private failureDelay(state: SourceState): number | undefined {
    if (state.spec.kind === 'file') return timerDelay(this.config.fileCheckIntervalMs);
    if (state.failures > 0) return retryDelayMs(state.failures, this.config.refreshIntervalMs);
    return undefined;
  }

  /** One refresh of one source; concurrent callers share the fetch in flight (single flight). */
  private refresh(state: SourceState): Promise<void> {
    state.inFlight ??= this.load(state).finally(() => {
      state.inFlight = undefined;
    });
    return state.inFlight;
  }

  /** Refreshes every source now (for operators and tests); resolves when all are done. */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.states.values()].map((s) => this.refresh(s)));
  }

  private async load(state: SourceState): Promise<void> {
    if (this.closed) return;
    const source = state.spec.location;
    // Held from the first byte until the CRLs are parsed and checked: what a download weighs.
    const lease = this.budget.lease();
    try {
      const { maxBytes, fetchTimeoutMs } = this.config;
      // A source whose last body was large is downloaded by the CRL worker (crl-delivery.ts), paced
      // while its CRLs in use are current: nothing waits for the new one (pacing.ts).
      const offThread = state.lastBodyBytes >= LARGE_CRL_BYTES;
      const paced = this.allCurrent(state.kept.list);
      const limits = { maxBytes, timeoutMs: fetchTimeoutMs, signal: this.stopping.signal, lease, offThread };
      const delivered =
        state.spec.kind === 'file' ? await readChangedFile(state, maxBytes) : await fetchChanged(state, limits, paced);
      if (delivered) {
        state.lastBodyBytes = delivered.bytes.length;
        const { issuersNamed, config } = this;
        const options = { issuersNamed, legacyAlgorithms: config.legacyAlgorithms, emit: this.emitter, paced };
        await this.accept(state, await decodeDelivery(source, delivered.bytes, state.kept.list, options));
        // Validators are remembered only for a body that was accepted, so a refused response is
        // fetched in full again rather than answered with 304 forever.
        state.etag = delivered.etag;
        state.lastModified = delivered.lastModified;
      } else if (state.kept.list.length === 0) {
        throw new Error('nothing new was delivered and no CRL from this source is in use');
      }
      state.loaded = state.kept.list.length > 0;
      state.failures = 0;
      state.lastProblem = undefined;
    } catch (err) {
      state.failures++;
      state.lastProblem = (err as Error).message;
      const retryInMs = this.failureDelay(state) ?? 0;
      this.emit('crl-refresh-failed', { source, error: (err as Error).message, retryInMs });
    } finally {
      lease.release();
    }
    this.reportStale(state);
  }

  /** Whether there are CRLs in use and each is usable and current (nothing waits on a new one). */
  private allCurrent(crls: readonly ParsedCrl[]): boolean {
    const now = this.config.clock.now();
    const current = (c: ParsedCrl) => !c.unusableBecause && freshness(c, now, this.strictTime) === 'current';
    return crls.length > 0 && crls.every(current);
  }

  /** 'crl-stale' once per CRL in use that is past nextUpdate (grace not counted) or has none. */
  private reportStale(state: SourceState): void {
    const source = state.spec.location;
    const now = this.config.clock.now();
    const inUse = new Set(this.all().map((c) => c.id));
    for (const id of this.reportedStale) if (!inUse.has(id)) this.reportedStale.delete(id);
    for (const crl of state.kept.list) {
      const when = freshness(crl, now, this.strictTime);
      if ((when === 'stale' || when === 'no nextUpdate') && !this.reportedStale.has(crl.id)) {
        this.reportedStale.add(crl.id);
        this.emit('crl-stale', { source, issuer: crl.issuerDN, nextUpdate: crl.nextUpdate });
      }
    }
  }

  /** Parses, checks and installs what a source delivered; throws (keeping the CRLs in use) if nothing new enters. */
  private async accept(state: SourceState, parsed: ParsedCrl[]): Promise<void> {
    const source = state.spec.location;
    if (parsed.length === 0) throw new Error('no CRL in the response');
    const admitted: Admitted[] = [];
    const refusals: string[] = [];
    const refuse = (crl: ParsedCrl, reason: string) => {
      this.emit('crl-rejected', { source, issuer: crl.issuerDN, reason });
      refusals.push(reason);
    };
    for (const crl of parsed) {
      const decided = await this.admission(crl, state);
      if ('problem' in decided) refuse(crl, decided.problem);
      else admitted.push({ crl, signer: decided.signer });
    }
    const previous = ids(state.kept.list);
    for (const crl of state.kept.deliver(admitted)) {
      refuse(crl, `not kept: more than ${MAX_CANDIDATES_PER_DELIVERY} unverified CRLs in one delivery`);
    }
    const inUse = state.kept.list;
    if (ids(inUse) === previous) {
      if (refusals.length > 0) throw new Error(`the delivered CRL was refused: ${[...new Set(refusals)].join('; ')}`);
      return;
    }
    this.install();
    for (const { crl, signer } of admitted) {
      if (!inUse.includes(crl)) continue;
      const { issuerDN: issuer, thisUpdate, nextUpdate, crlNumber } = crl;
      const entries = crl.revoked.size;
      this.emit('crl-loaded', { source, issuer, entries, thisUpdate, nextUpdate, crlNumber, verified: !!signer });
    }
  }

  /**
   * `crl`'s signature verified with `signer`, the issuer of a validated path (or a configured CRL
   * signer): a source holding it as a candidate keeps it as verified and learns `signer` (crl-slots.ts).
   */
  learn(crl: ParsedCrl, signer: ParsedCertificate): void {
    let changed = false;
    for (const state of this.states.values()) {
      if (state.kept.learn(crl, signer)) changed = true;
    }
    if (changed) this.install();
  }

  /** Whether a delivered CRL may enter, verified or as a candidate (crl-admission.ts). */
  private admission(crl: ParsedCrl, state: SourceState): Promise<Admission> {
    const named = (state.namedBy ?? []).filter((c) => c.subjectKey === crl.issuerKey);
    return admission(crl, {
      now: this.config.clock.now(),
      timeRules: this.strictTime,
      issuers: [...this.issuersNamed(crl.issuerKey), ...named],
      learned: state.kept.learnedSigners(crl.issuerKey),
      verifiedFor: (c, signer) => state.kept.verifiedFor(c, signer),
      legacyAlgorithms: this.config.legacyAlgorithms,
    });
  }
}

const ids = (list: readonly ParsedCrl[]) =>
  list
    .map((c) => c.id)
    .sort()
    .join();
