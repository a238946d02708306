import type { ParsedCertificate } from '../x509/certificate.js';
import type { ParsedCrl } from '../revocation/crl.js';
import { CrlChecker } from '../revocation/crl-checker.js';
import { CrlStore } from '../revocation/crl-store.js';
import { deferredLoadOf } from '../revocation/crl-header.js';
import { OcspClient } from '../revocation/ocsp-client.js';
import type { RevocationInput } from '../revocation/path-revocation.js';
import type { VerifierConfig } from './options.js';
import type { VerifierEventBus, VerifierEvents } from './events.js';

/** The longest a verification waits for the first load of the CRLs (ms). */
export const READY_WAIT_MS = 30_000;

/** Distribution point URLs a verification asked for, with the issuer certificate that named each. */
export type WantedCrls = Map<string, ParsedCertificate>;

/**
 * Where a verifier's revocation facts come from: static CRLs, or a store that keeps files and
 * URLs current (and follows distribution points), and the OCSP client. Wiring only: the rules
 * live in src/revocation/.
 */
export class RevocationSources {
  readonly store: CrlStore | undefined;
  readonly ocsp: OcspClient | undefined;
  private readonly fixed: CrlChecker | undefined;
  private readonly followDistributionPoints: boolean;

  constructor(
    config: VerifierConfig,
    issuersNamed: (issuerKey: string) => readonly ParsedCertificate[],
    events: VerifierEventBus,
  ) {
    const settings = config.crlSettings;
    this.followDistributionPoints = settings.distributionPoints;
    // Large static CRLs are loaded after creation (crl-header.ts): the store does that, too.
    const deferred = settings.initial.some((i) => i.crls.some((c) => deferredLoadOf(c)));
    if (settings.sources.length > 0 || settings.distributionPoints || deferred) {
      const { initial, sources, refreshIntervalMs, fileCheckIntervalMs, fetchTimeoutMs, maxBytes } = settings;
      const storeConfig = { initial, sources, refreshIntervalMs, fileCheckIntervalMs, fetchTimeoutMs, maxBytes };
      const { legacyAlgorithms, clock, clockToleranceMs } = config;
      this.store = new CrlStore({ ...storeConfig, legacyAlgorithms, clock, clockToleranceMs }, issuersNamed);
      for (const name of ['crl-loaded', 'crl-refresh-failed', 'crl-rejected', 'crl-stale'] as const) {
        this.store.on(name, (payload) => events.emit(name, payload));
      }
    } else {
      this.fixed = new CrlChecker(config.crls);
    }
    if (config.ocsp) {
      const { clockToleranceMs, legacyAlgorithms, cacheSize, clock } = config;
      const { responderCertificates, ...ocspSettings } = config.ocsp;
      this.ocsp = new OcspClient(
        {
          ...ocspSettings,
          ...(responderCertificates.length > 0 ? { responderCertificates } : {}),
          clockToleranceMs,
          legacyAlgorithms,
          cacheSize,
          cacheMaxBytes: config.cacheBudget.ocsp,
          clock,
        },
        (event, payload) => events.emit(event, payload as VerifierEvents[typeof event]),
      );
    }
  }

  /** The CRLs in use now (a store swaps in a new checker whenever a CRL changes). */
  get checker(): CrlChecker {
    return this.store?.checker ?? (this.fixed as CrlChecker);
  }

  /** Increases with every accepted CRL change: remembered verdicts older than that are void. */
  get revision(): number {
    // An OCSP refresh that changed an answer in use (good to revoked) voids remembered verdicts too.
    return (this.store?.revision ?? 0) + (this.ocsp?.revision ?? 0);
  }

  /** Why configured sources have not delivered yet (undefined when all have): an issuer without a CRL may be theirs. */
  get pending(): string | undefined {
    return this.store?.pending;
  }

  /**
   * Settles once every CRL source has been tried once and every large static CRL loaded (the first
   * verifications wait for it), or after READY_WAIT_MS: a CRL still loading then is a placeholder
   * that makes its issuer's status unknown, never "not revoked".
   */
  ready(): Promise<void> | undefined {
    const store = this.store;
    if (!store || this.settled) return undefined;
    this.waiting ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, READY_WAIT_MS);
      timer.unref();
      void store.ready.then(() => {
        clearTimeout(timer);
        this.settled = true;
        resolve();
      });
    });
    return this.waiting;
  }

  private settled = false;
  private waiting: Promise<void> | undefined;

  /** With `distributionPoints`: how a path asks for the CRLs its certificates name. */
  distributionPoints(wanted: WantedCrls): RevocationInput['distributionPoints'] {
    const store = this.store;
    if (!store || !this.followDistributionPoints) return undefined;
    return {
      untried: (urls) => urls.some((url) => store.willFetch(url)),
      seen: (urls) => store.seen(urls),
      request: (urls, issuer) => {
        for (const url of urls) if (!store.tried(url) && !wanted.has(url)) wanted.set(url, issuer);
      },
    };
  }

  /** `crl`'s signature verified with `signer`, a validated path's issuer: see CrlStore.learn. */
  learn(crl: ParsedCrl, signer: ParsedCertificate): void {
    this.store?.learn(crl, signer);
  }

  async discover(wanted: WantedCrls): Promise<void> {
    await this.store?.discover(wanted);
  }

  async refresh(): Promise<void> {
    await this.store?.refreshAll();
  }

  close(): void {
    this.store?.close();
    this.ocsp?.close();
  }
}
