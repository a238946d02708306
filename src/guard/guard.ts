import { CertgateError, PUBLIC_MESSAGES } from '../errors.js';
import { configError, parseVerifierOptions, type VerifierOptions } from '../verifier/options.js';
import { verifierFromConfig, type Verifier } from '../verifier/verifier.js';
import { defaultIdentify, type IdentifyFunction } from '../identity/identity.js';
import { systemClock, type Clock } from '../time/clock.js';
import {
  ConnectionClosedError,
  type CertificateSource,
  type PresentedCertificate,
  type RequestLike,
  type SourceReading,
} from '../sources/source.js';
import { tlsSocketSource } from '../sources/tls-socket.js';
import { describeType } from '../x509/pem.js';
import { optionNames } from '../model/option-names.js';
import { refusal, refusalOf, type GuardOutcome } from './outcome.js';
import { GuardTrust } from './trust.js';
import { VerdictMemory, type Remembered } from './verdict-memory.js';
import { DEFAULT_IDENTITY_TTL_MS, identityStep, REFUSAL_RECHECK_MS, type Stamp } from './identity-step.js';
import { parseProxyOptions, type ProxyOptions } from './proxy-options.js';
import { forwardedSource, type ProxySettings } from '../sources/forwarded-source.js';
import { parseTlsRule, type TlsRule, type TlsRuleOptions } from '../tls/rule.js';
import { tlsStep } from './tls-step.js';

export type { CertificateOrigin, ClientCert, GuardOutcome } from './outcome.js';
export type { ProxyFormat, ProxyHeaderIgnored, ProxyOptions, ProxyTrust } from './proxy-options.js';

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
  /**
   * How long an approved connection's identity and roles hold before `identify` runs again on its
   * next request (the certificate's verification is not repeated). Default 300000 (5 minutes);
   * `Infinity`: until the verification expires.
   */
  identityTtlMs?: number;
  /**
   * Behind a TLS-terminating proxy: read the client certificate from the header a trusted proxy
   * sets (see README, "Behind a proxy"). Needs `ca` or `verifier`.
   */
  proxy?: ProxyOptions;
  /**
   * The least TLS a client's connection must have: `{ minVersion?: 'TLSv1.2' | 'TLSv1.3',
   * minCipherBits?: number }`, default `{ minVersion: 'TLSv1.2', minCipherBits: 128 }` (a partial
   * object keeps the other default). Below it: 403 `TLS_TOO_WEAK`. Decided once per connection; not
   * applied to forwarded certificates (the proxy's TLS configuration is their rule).
   */
  tls?: TlsRuleOptions;
}

/** A framework-free guard: adapters translate its outcome into a response. */
export interface ClientCertGuard {
  /** The remembered outcome for this request's certificate, if still valid: the per-request fast path. */
  cached(req: RequestLike): GuardOutcome | undefined;
  /** Verifies the certificate the request presents and applies identity and role rules. Never rejects. */
  check(req: RequestLike): Promise<GuardOutcome>;
}

/** The guard's own options, on top of the verifier's. */
export const GUARD_OPTION_NAMES = optionNames<Omit<GuardOptions, keyof VerifierOptions>>()([
  'verifier',
  'identify',
  'roles',
  'identityTtlMs',
  'proxy',
  'tls',
]);

export { DEFAULT_IDENTITY_TTL_MS, REFUSAL_RECHECK_MS } from './identity-step.js';

interface GuardSettings {
  trust: GuardTrust;
  identify: IdentifyFunction;
  roles: readonly string[] | undefined;
  clock: Clock;
  identityTtlMs: number;
  proxy: ProxySettings | undefined;
  tls: TlsRule;
}

function parseIdentityTtl(value: unknown, where: string): number {
  if (value === undefined) return DEFAULT_IDENTITY_TTL_MS;
  if (typeof value !== 'number' || !(value === Infinity || (Number.isSafeInteger(value) && value > 0))) {
    throw configError(
      where,
      `option 'identityTtlMs' must be a positive integer (ms) or Infinity, got ${String(value)}`,
    );
  }
  return value;
}

/** Validates guard options once, up front; every problem names the option. */
function parseGuardOptions(options: GuardOptions, where: string): GuardSettings {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError(where, `options must be an object, got ${describeType(options)}`);
  }
  const { verifier: shared, identify, roles, identityTtlMs, proxy, tls, ...verifierOptions } = options;
  if (identify !== undefined && typeof identify !== 'function') {
    throw configError(where, `option 'identify' must be a function, got ${describeType(identify)}`);
  }
  if (
    roles !== undefined &&
    (!Array.isArray(roles) || roles.length === 0 || !roles.every((r) => typeof r === 'string'))
  ) {
    throw configError(where, `option 'roles' must be a non-empty array of strings`);
  }
  if (shared !== undefined && (typeof shared !== 'object' || shared === null || typeof shared.verify !== 'function')) {
    throw configError(where, `option 'verifier' must be a verifier from createVerifier()`);
  }
  const proxySettings = proxy === undefined ? undefined : parseProxyOptions(proxy, where);
  const tlsRule = parseTlsRule(tls, where);
  if (proxySettings && !shared && verifierOptions.ca === undefined) {
    // A forwarded request has no HTTPS server of the app's own to take the client CAs from.
    throw configError(where, `option 'proxy' needs the client CAs: pass 'ca' or 'verifier'`);
  }
  const verifierKeys = Object.keys(verifierOptions);
  if (shared && verifierKeys.length > 0) {
    throw configError(where, `pass either 'verifier' or verifier options (${verifierKeys.join(', ')}), not both`);
  }
  // Unknown keys and bad values are reported now, not at the first request.
  let own: Verifier | undefined;
  if (!shared && verifierOptions.ca !== undefined)
    own = verifierFromConfig(parseVerifierOptions(verifierOptions, where, GUARD_OPTION_NAMES));
  else if (!shared)
    parseVerifierOptions({ ...verifierOptions, ca: [] as Buffer[] }, where, GUARD_OPTION_NAMES, {
      requireAnchors: false,
    });
  return {
    trust: new GuardTrust(where, shared, own, verifierOptions),
    identify: identify ?? defaultIdentify,
    roles: roles ? Object.freeze([...roles]) : undefined,
    identityTtlMs: parseIdentityTtl(identityTtlMs, where),
    proxy: proxySettings,
    tls: tlsRule,
    clock: shared?.clock ?? own?.clock ?? verifierOptions.clock ?? systemClock,
  };
}

const CLOSED_MEANWHILE = 'the connection closed while its verdict was being made';

/**
 * An approval reached after the connection closed (an HTTP/2 session reset during a slow
 * `identify`) lets none of its waiting requests through: nobody is left to answer, and a handler
 * must not run for a connection that is gone.
 */
function unlessClosed(reading: PresentedCertificate, decided: Remembered): Remembered {
  if (!decided.outcome.ok || !reading.closed) return decided;
  return { outcome: refusal('CERT_MISSING', CLOSED_MEANWHILE), expiresAt: Infinity };
}

/** Verification of a presented certificate, then identity and roles: one decision to remember. */
async function decide(
  reading: PresentedCertificate,
  settings: GuardSettings,
  memory: VerdictMemory,
): Promise<Remembered> {
  // Configuration first: a guard with nothing to trust refuses everyone with the same 500.
  const { verifier, current, ready } = settings.trust.trustFor(reading.server);
  if (verifier instanceof CertgateError) return { outcome: configRefusal(verifier), expiresAt: Infinity, current };
  // Then the connection's TLS: a refusal that needs no verification (see tls-step.ts).
  const transport = tlsStep(reading, settings.tls);
  if (transport.refused) return transport.refused;
  if (ready) await ready;
  const stamp: Stamp = { verifier, revision: verifier.revision, current };
  const result = await verifier.verify(reading.ders as Buffer[]);
  if (!result.ok) {
    const hint = result.code === 'CERT_UNTRUSTED' && reading.untrustedHint ? ` (${reading.untrustedHint})` : '';
    const outcome = refusal(result.code, `${result.detail}${hint} [${reading.via}]`);
    return { outcome, expiresAt: settings.clock.now() + REFUSAL_RECHECK_MS, ...stamp };
  }
  // For the same client's next connections (reuseVerifiedLeaf): a lookup instead of this.
  if (reading.leafKey !== undefined) memory.rememberVerifiedLeaf(reading.leafKey, verifier, stamp.revision, result);
  return unlessClosed(reading, await identityStep(result, settings, stamp, reading.origin, transport.tls));
}

/**
 * A known client's new connection, decided without a promise when possible: the leaf's
 * verification from another connection, then identity and roles. An asynchronous `identify` is
 * started here and joined by check(). Undefined when there is nothing to reuse.
 */
function reuseVerifiedLeaf(
  reading: SourceReading,
  settings: GuardSettings,
  memory: VerdictMemory,
): GuardOutcome | undefined {
  if (reading.kind !== 'certificate' || reading.leafKey === undefined || reading.cacheKey === undefined) {
    return undefined;
  }
  // An asynchronous identify started by cached() is joined by check(), not started again.
  if (memory.deciding(reading.cacheKey)) return undefined;
  const { verifier, current } = settings.trust.trustFor(reading.server);
  if (verifier instanceof CertgateError) return undefined;
  const transport = tlsStep(reading, settings.tls);
  if (transport.refused) {
    memory.remember(reading.cacheKey, transport.refused);
    return transport.refused.outcome;
  }
  const verified = memory.verifiedLeaf(reading.leafKey, verifier);
  if (!verified) return undefined;
  const stamp = { verifier, revision: verifier.revision, current };
  const step = identityStep(verified, settings, stamp, reading.origin, transport.tls);
  if (step instanceof Promise) {
    void memory.decideOnce(reading.cacheKey, () => step.then((decided) => unlessClosed(reading, decided)));
    return undefined;
  }
  memory.remember(reading.cacheKey, step);
  return step.outcome;
}

function configRefusal(err: CertgateError): GuardOutcome {
  const detail = err.detail ?? err.message;
  return refusalOf(new CertgateError('CONFIG_INVALID', PUBLIC_MESSAGES.CONFIG_INVALID, { detail, cause: err }));
}

/** Outcomes of readings that need no verification (no certificate, a source's refusal). */
function withoutVerification(reading: Exclude<SourceReading, PresentedCertificate>): Remembered {
  const outcome =
    reading.kind === 'none' ? refusal('CERT_MISSING', reading.detail) : refusal(reading.code, reading.detail);
  return { outcome, expiresAt: Infinity };
}

/**
 * Builds a guard; `where` names the API in configuration errors (e.g. `requireClientCert`). The
 * source defaults to the TLS connection, or with `proxy` to the forwarded-certificate source.
 */
export function createGuard(
  options: GuardOptions = {},
  where = 'clientCertGuard',
  given?: CertificateSource,
): ClientCertGuard {
  const settings = parseGuardOptions(options, where);
  const source = given ?? (settings.proxy ? forwardedSource(settings.proxy) : tlsSocketSource);
  const memory = new VerdictMemory(settings.clock);
  const run = async (reading: SourceReading): Promise<Remembered> => {
    if (reading.kind === 'certificate') return decide(reading, settings, memory);
    // Configuration first: a guard with nothing to trust refuses everyone with the same 500.
    const trust = reading.kind === 'none' && reading.server ? settings.trust.trustFor(reading.server) : undefined;
    if (trust?.verifier instanceof CertgateError) {
      return { outcome: configRefusal(trust.verifier), expiresAt: Infinity, current: trust.current };
    }
    return withoutVerification(reading);
  };
  const guarded = (reading: SourceReading): Promise<Remembered> =>
    run(reading).catch((err: unknown) =>
      // The client left while its first verdict was pending: nobody to answer, nothing misconfigured.
      err instanceof ConnectionClosedError
        ? { outcome: refusal('CERT_MISSING', err.message), expiresAt: Infinity }
        : {
            // Only a broken shared verifier or source gets here; the client still gets a clean refusal.
            outcome: refusal(
              'CONFIG_INVALID',
              `verification failed unexpectedly: ${(err as Error)?.message ?? String(err)}`,
            ),
            expiresAt: settings.clock.now() + REFUSAL_RECHECK_MS,
          },
    );

  const decideRequest = async (req: RequestLike): Promise<GuardOutcome> => {
    let reading: SourceReading;
    try {
      reading = source.read(req);
    } catch (err) {
      return refusal('CONFIG_INVALID', `the certificate source failed: ${(err as Error)?.message ?? String(err)}`);
    }
    if (reading.cacheKey === undefined) return (await guarded(reading)).outcome;
    const known = memory.get(reading.cacheKey) ?? reuseVerifiedLeaf(reading, settings, memory);
    return known ?? (await memory.decideOnce(reading.cacheKey, () => guarded(reading)));
  };

  return {
    cached(req) {
      // Synchronous and in the caller's stack: whatever an application callback (clock.now,
      // identify) throws here is left to check(), which turns it into a refusal.
      try {
        const reading = source.read(req);
        if (reading.cacheKey === undefined) return undefined;
        return memory.get(reading.cacheKey) ?? reuseVerifiedLeaf(reading, settings, memory);
      } catch {
        return undefined;
      }
    },
    async check(req) {
      try {
        return await decideRequest(req);
      } catch (err) {
        return refusal('CONFIG_INVALID', `the guard failed unexpectedly: ${(err as Error)?.message ?? String(err)}`);
      }
    },
  };
}

/**
 * The framework-free guard: `check(req)` for any request-like object (`{ headers, socket, stream }`)
 * resolves to `{ ok: true, clientCert }` or `{ ok: false, error }` (a CertgateError with its status);
 * `cached(req)` answers synchronously for a connection already decided. Adapters for Express and
 * Koa are thin translations of this outcome.
 */
export function clientCertGuard(options: GuardOptions = {}): ClientCertGuard {
  return createGuard(options, 'clientCertGuard');
}
