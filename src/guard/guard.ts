import type { TLSSocket } from 'node:tls';
import type { EventEmitter } from 'node:events';
import { CertgateError, PUBLIC_MESSAGES, type ReasonCode } from '../errors.js';
import { configError, parseVerifierOptions, type VerifierOptions } from '../verifier/options.js';
import { verifierFromConfig, type Verifier, type VerifyResult } from '../verifier/verifier.js';
import { defaultIdentify, type Identity, type IdentifyFunction } from '../identity/identity.js';
import type { CertificateInfo } from '../x509/certificate.js';
import { peerChainOf, watchHandshakes } from '../sources/tls-socket.js';
import { describeType } from '../x509/pem.js';

export interface GuardOptions extends Partial<VerifierOptions> {
  /**
   * A verifier to share between guards (one trust store, one set of CRLs and caches). When given,
   * the verifier options (`ca`, `crl`, ...) must not be. When neither is given, the guard trusts
   * what the HTTPS server trusts: its `ca` and `crl` options.
   */
  verifier?: Verifier;
  /** Maps the verified certificate to `{ user, roles }`; default: user = subject CN, no roles. */
  identify?: IdentifyFunction;
  /** The identity must hold at least one of these roles. */
  roles?: readonly string[];
}

/** What a successful guard puts on `req.clientCert` / `ctx.state.clientCert`. */
export interface ClientCert {
  user: string;
  roles: readonly string[];
  certificate: CertificateInfo;
  chain: readonly CertificateInfo[];
}

export type GuardOutcome = { ok: true; clientCert: ClientCert } | { ok: false; error: CertgateError };

export interface Guard {
  /** The remembered outcome for this connection, if still valid: the per-request fast path. */
  cached(socket: TLSSocket | undefined): GuardOutcome | undefined;
  /** Verifies the connection's client certificate and applies identity and role rules. */
  check(socket: TLSSocket | undefined): Promise<GuardOutcome>;
}

export const GUARD_OPTION_NAMES = ['verifier', 'identify', 'roles'] as const;

interface SocketEntry {
  outcome: GuardOutcome;
  /** Epoch ms after which the outcome must be recomputed (certificate or CRL expiry). */
  expiresAt: number;
  /** The verifier and its CRL revision the outcome was reached with: new CRLs void it. */
  verifier?: Verifier;
  revision?: number;
}

/** A rejection remembered on a connection is re-examined after this long. */
const SOCKET_REJECTION_TTL_MS = 10_000;

let guardCount = 0;
/** Verifiers built from a server's own `ca`/`crl`, one per server and option set. */
const serverVerifiers = new WeakMap<object, Map<string, Verifier | CertgateError>>();

function reject(code: ReasonCode, detail?: string): GuardOutcome {
  return { ok: false, error: new CertgateError(code, PUBLIC_MESSAGES[code], detail === undefined ? undefined : { detail }) };
}

/** Validates guard options once; returns the framework-free guard the adapters wrap. */
export function createGuard(options: GuardOptions = {}, where = 'requireClientCert'): Guard {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError(where, `options must be an object, got ${describeType(options)}`);
  }
  const { verifier: shared, identify: identifyOption, roles: rolesOption, ...verifierOptions } = options;
  if (identifyOption !== undefined && typeof identifyOption !== 'function') {
    throw configError(where, `option 'identify' must be a function, got ${describeType(identifyOption)}`);
  }
  if (rolesOption !== undefined && (!Array.isArray(rolesOption) || rolesOption.length === 0 || !rolesOption.every((r) => typeof r === 'string'))) {
    throw configError(where, `option 'roles' must be a non-empty array of strings`);
  }
  if (shared !== undefined && (typeof shared !== 'object' || shared === null || typeof shared.verify !== 'function')) {
    throw configError(where, `option 'verifier' must be a verifier from createVerifier()`);
  }
  const verifierKeys = Object.keys(verifierOptions);
  if (shared && verifierKeys.length > 0) {
    throw configError(where, `pass either 'verifier' or verifier options (${verifierKeys.join(', ')}), not both`);
  }
  // Unknown keys and bad values are reported now, not at the first request.
  let own: Verifier | undefined;
  if (!shared && verifierOptions.ca !== undefined) own = verifierFromConfig(parseVerifierOptions(verifierOptions, where, GUARD_OPTION_NAMES));
  else if (!shared) {
    parseVerifierOptions({ ...verifierOptions, ca: [] as Buffer[] }, where, GUARD_OPTION_NAMES, { requireAnchors: false });
  }
  const identify = identifyOption ?? defaultIdentify;
  const roles = rolesOption ? [...rolesOption] : undefined;
  const perSocket = new WeakMap<TLSSocket, SocketEntry>();
  // Guards without options of their own share one verifier per server; others get their own.
  const optionsKey = verifierKeys.length === 0 ? 'server-defaults' : `guard-${++guardCount}`;

  const verifierFor = (socket: TLSSocket): Verifier | CertgateError => {
    if (shared) return shared;
    if (own) return own;
    const server = (socket as TLSSocket & { server?: { ca?: unknown; crl?: unknown } }).server;
    if (!server) return new CertgateError('CONFIG_INVALID', PUBLIC_MESSAGES.CONFIG_INVALID, { detail: `${where}: no 'ca' option and the connection has no server to take one from` });
    let byOptions = serverVerifiers.get(server);
    if (!byOptions) serverVerifiers.set(server, (byOptions = new Map()));
    let v = byOptions.get(optionsKey);
    if (!v) {
      try {
        if (server.ca === undefined) {
          throw configError(where, `no 'ca' option was given and the HTTPS server has no 'ca' either: pass the CAs that issue client certificates (see README, "Use it")`);
        }
        const crl = verifierOptions.crl ?? server.crl;
        v = verifierFromConfig(parseVerifierOptions({ ...verifierOptions, ca: server.ca, ...(crl === undefined ? {} : { crl }) }, `${where} (from the HTTPS server's options)`));
      } catch (err) {
        v = err instanceof CertgateError ? err : new CertgateError('CONFIG_INVALID', PUBLIC_MESSAGES.CONFIG_INVALID, { detail: String(err), cause: err });
      }
      byOptions.set(optionsKey, v);
    }
    return v;
  };

  const decide = async (socket: TLSSocket): Promise<SocketEntry> => {
    watchHandshakes((socket as TLSSocket & { server?: EventEmitter }).server);
    // Configuration first: a guard with nothing to trust refuses everyone with the same 500.
    const verifier = verifierFor(socket);
    if (verifier instanceof CertgateError) return { outcome: { ok: false, error: configErrorForRequest(verifier) }, expiresAt: Infinity };
    const chain = peerChainOf(socket);
    if (!chain) return { outcome: reject('CERT_MISSING', 'the client sent no certificate'), expiresAt: Infinity };
    const revision = verifier.revision;
    const result: VerifyResult = await verifier.verify(chain.ders as Buffer[]);
    const stamp = { verifier, revision };
    if (!result.ok) {
      const hint = result.code === 'CERT_UNTRUSTED' && chain.resumedWithoutChain ? ' (resumed TLS session: the intermediates the client sent earlier are unknown to this process; configure them with the `intermediates` option)' : '';
      return { outcome: reject(result.code, result.message + hint), expiresAt: Date.now() + SOCKET_REJECTION_TTL_MS, ...stamp };
    }
    const expiresAt = result.expiresAt.getTime();
    let identity: Identity | null | undefined;
    try {
      identity = await identify(result.certificate);
    } catch (err) {
      // The application's identify() failed: refuse (500, nothing let through) and tell the operator why.
      return { outcome: reject('CONFIG_INVALID', `identify() threw for ${result.certificate.subjectDN}: ${(err as Error)?.message ?? String(err)}`), expiresAt: Date.now() + SOCKET_REJECTION_TTL_MS, ...stamp };
    }
    // Identity and role refusals are re-examined like other refusals: the user store may change.
    const refusalExpiry = Math.min(expiresAt, Date.now() + SOCKET_REJECTION_TTL_MS);
    if (!identity) return { outcome: reject('IDENTITY_UNKNOWN', `no identity for ${result.certificate.subjectDN}`), expiresAt: refusalExpiry, ...stamp };
    if (typeof identity.user !== 'string' || !Array.isArray(identity.roles)) {
      return { outcome: reject('CONFIG_INVALID', `identify() must return { user: string, roles: string[] } or null`), expiresAt: Infinity };
    }
    if (roles && !roles.some((r) => identity.roles.includes(r))) {
      return { outcome: reject('ROLE_FORBIDDEN', `user "${identity.user}" holds [${identity.roles.join(', ')}], needs one of [${roles.join(', ')}]`), expiresAt: refusalExpiry, ...stamp };
    }
    const clientCert: ClientCert = Object.freeze({ user: identity.user, roles: Object.freeze([...identity.roles]), certificate: result.certificate, chain: result.chain });
    return { outcome: { ok: true, clientCert }, expiresAt, ...stamp };
  };

  return {
    cached(socket) {
      if (!socket) return undefined;
      const entry = perSocket.get(socket);
      if (!entry || Date.now() > entry.expiresAt) return undefined;
      // A refreshed CRL applies at once, also to keep-alive connections approved before it.
      if (entry.verifier && entry.verifier.revision !== entry.revision) return undefined;
      return entry.outcome;
    },
    async check(socket) {
      if (!socket) return reject('CERT_MISSING', 'the request did not arrive over TLS');
      let entry: SocketEntry;
      try {
        entry = await decide(socket);
      } catch (err) {
        // Only a broken shared verifier gets here; the client still gets a clean refusal.
        entry = { outcome: reject('CONFIG_INVALID', `verification failed unexpectedly: ${(err as Error)?.message ?? String(err)}`), expiresAt: Date.now() + SOCKET_REJECTION_TTL_MS };
      }
      perSocket.set(socket, entry);
      return entry.outcome;
    },
  };
}

function configErrorForRequest(err: CertgateError): CertgateError {
  return new CertgateError('CONFIG_INVALID', PUBLIC_MESSAGES.CONFIG_INVALID, { detail: err.detail ?? err.message, cause: err });
}
