import { CertgateError, PUBLIC_MESSAGES } from '../errors.js';
import { configError, parseVerifierOptions, type VerifierOptions } from '../verifier/options.js';
import { verifierFromConfig, type Verifier } from '../verifier/verifier.js';
import { afterPoll } from '../revocation/pacing.js';

/** The trust options a server holds: `server.setSecureContext()` replaces these objects. */
interface ServerTrustOptions {
  ca?: unknown;
  crl?: unknown;
  setSecureContext?: (...args: unknown[]) => unknown;
}

/** How many times each watched server's setSecureContext() has been called. */
const contextChanges = new WeakMap<object, { count: number }>();

/**
 * Counts a server's setSecureContext() calls. Node has no event for them, and comparing the
 * option objects alone misses an application that edits its `ca` or `crl` array in place and
 * passes the same object again; the count is one more number compare per request.
 */
function watchContextChanges(server: ServerTrustOptions): { count: number } {
  let changes = contextChanges.get(server);
  if (changes) return changes;
  const seen = { count: 0 };
  contextChanges.set(server, seen);
  const original = server.setSecureContext;
  if (typeof original === 'function') {
    server.setSecureContext = function setSecureContext(this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      seen.count++;
      return result;
    };
  }
  changes = seen;
  return changes;
}

/**
 * The verifier built from a server's `ca`/`crl`, and what it was built from: a decision reached
 * with it holds only while the server has these very option objects and no setSecureContext()
 * call came since: two reference compares and a number compare per request, no hashing.
 */
class ServerTrust {
  private readonly ca: unknown;
  private readonly crl: unknown;
  private readonly changesAtBuild: number;
  /**
   * Settles on a turn of the event loop after the build. A verifier built during a request is
   * first used then: building it (parsing the server's `ca` and `crl`) and the first
   * verification, both cold code, took 20-30 ms together in one block.
   */
  readonly ready: Promise<void> = afterPoll();

  constructor(
    private readonly server: ServerTrustOptions,
    private readonly changes: { count: number },
    readonly verifier: Verifier | CertgateError,
  ) {
    this.ca = server.ca;
    this.crl = server.crl;
    this.changesAtBuild = changes.count;
  }

  /** Whether the server still trusts what this verifier trusts (bound: called as a plain function). */
  readonly current = (): boolean =>
    this.server.ca === this.ca && this.server.crl === this.crl && this.changes.count === this.changesAtBuild;
}

/** Verifiers built from a server's own `ca`/`crl`, one per server and guard option set. */
const serverVerifiers = new WeakMap<object, Map<string, ServerTrust>>();
let guardCount = 0;

/** A verifier (or the configuration error to answer with) and, for a server's, whether it still holds. */
export interface TrustInUse {
  verifier: Verifier | CertgateError;
  /** Absent for a shared or own verifier: nothing outside the guard can change those. */
  current?: () => boolean;
  /** For a server's verifier: settles once it may be used without adding to its build's block. */
  ready?: Promise<void>;
}

/**
 * Where a guard's verifier comes from: a shared one, its own (from `ca` and friends), or, with
 * neither, one built from the options of the HTTPS server the connection arrived on. Guards without
 * verifier options of their own share that one per server; others get their own. A server's
 * verifier is rebuilt when the server's `ca` or `crl` changes (setSecureContext).
 */
export class GuardTrust {
  private readonly optionsKey: string;

  constructor(
    private readonly where: string,
    private readonly shared: Verifier | undefined,
    private readonly own: Verifier | undefined,
    private readonly verifierOptions: Partial<VerifierOptions>,
  ) {
    this.optionsKey = Object.keys(verifierOptions).length === 0 ? 'server-defaults' : `guard-${++guardCount}`;
  }

  /** A verifier known without a request, if any (the shared or own one). */
  get fixed(): Verifier | undefined {
    return this.shared ?? this.own;
  }

  /** The verifier for a request that arrived on `server`, or the configuration error to answer with. */
  verifierFor(server: object | undefined): Verifier | CertgateError {
    return this.trustFor(server).verifier;
  }

  /** As verifierFor, with the check that tells a remembered decision the server's trust changed. */
  trustFor(server: object | undefined): TrustInUse {
    const fixed = this.fixed;
    if (fixed) return { verifier: fixed };
    if (!server) {
      const detail = `${this.where}: no 'ca' option and the connection has no server to take one from`;
      return { verifier: new CertgateError('CONFIG_INVALID', PUBLIC_MESSAGES.CONFIG_INVALID, { detail }) };
    }
    let byOptions = serverVerifiers.get(server);
    if (!byOptions) serverVerifiers.set(server, (byOptions = new Map()));
    let trust = byOptions.get(this.optionsKey);
    if (!trust?.current()) {
      const options = server as ServerTrustOptions;
      const previous = trust?.verifier;
      const changes = watchContextChanges(options);
      trust = new ServerTrust(options, changes, this.fromServer(options));
      byOptions.set(this.optionsKey, trust);
      // Its CRL sources (timers, downloads) would otherwise live on; verifications in flight finish.
      if (previous && !(previous instanceof CertgateError)) previous.close();
    }
    return trust;
  }

  private fromServer(server: ServerTrustOptions): Verifier | CertgateError {
    try {
      if (server.ca === undefined) {
        throw configError(
          this.where,
          `no 'ca' option was given and the HTTPS server has no 'ca' either: ` +
            `pass the CAs that issue client certificates (see README, "Use it")`,
        );
      }
      const crl = this.verifierOptions.crl ?? server.crl;
      const options = { ...this.verifierOptions, ca: server.ca, ...(crl === undefined ? {} : { crl }) };
      return verifierFromConfig(parseVerifierOptions(options, `${this.where} (from the HTTPS server's options)`));
    } catch (err) {
      if (err instanceof CertgateError) return err;
      return new CertgateError('CONFIG_INVALID', PUBLIC_MESSAGES.CONFIG_INVALID, { detail: String(err), cause: err });
    }
  }
}
