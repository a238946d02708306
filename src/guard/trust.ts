import { CertgateError, PUBLIC_MESSAGES } from '../errors.js';
import { configError, parseVerifierOptions, type VerifierOptions } from '../verifier/options.js';
import { verifierFromConfig, type Verifier } from '../verifier/verifier.js';

/** Verifiers built from a server's own `ca`/`crl`, one per server and guard option set. */
const serverVerifiers = new WeakMap<object, Map<string, Verifier | CertgateError>>();
let guardCount = 0;

/**
 * Where a guard's verifier comes from: a shared one, its own (from `ca` and friends), or, with
 * neither, one built from the options of the HTTPS server the connection arrived on. Guards without
 * verifier options of their own share that one per server; others get their own.
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
    const fixed = this.fixed;
    if (fixed) return fixed;
    if (!server) {
      const detail = `${this.where}: no 'ca' option and the connection has no server to take one from`;
      return new CertgateError('CONFIG_INVALID', PUBLIC_MESSAGES.CONFIG_INVALID, { detail });
    }
    let byOptions = serverVerifiers.get(server);
    if (!byOptions) serverVerifiers.set(server, (byOptions = new Map()));
    let v = byOptions.get(this.optionsKey);
    if (!v) {
      v = this.fromServer(server as { ca?: unknown; crl?: unknown });
      byOptions.set(this.optionsKey, v);
    }
    return v;
  }

  private fromServer(server: { ca?: unknown; crl?: unknown }): Verifier | CertgateError {
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
