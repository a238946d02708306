import { CertgateError, PUBLIC_MESSAGES } from '../errors.js';
import { configError, parseVerifierOptions, type VerifierOptions } from '../verifier/options.js';
import { verifierFromConfig, type Verifier } from '../verifier/verifier.js';
import { defaultIdentify, type Identity, type IdentifyFunction } from '../identity/identity.js';
import { systemClock, type Clock } from '../time/clock.js';
import type { CertificateSource, PresentedCertificate, RequestLike, SourceReading } from '../sources/source.js';
import { tlsSocketSource } from '../sources/tls-socket.js';
import { describeType } from '../x509/pem.js';
import { optionNames } from '../model/option-names.js';
import { refusal, type ClientCert, type GuardOutcome } from './outcome.js';
import { GuardTrust } from './trust.js';
import { VerdictMemory, type Remembered } from './verdict-memory.js';

export type { ClientCert, GuardOutcome } from './outcome.js';

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
]);

/** A refusal remembered for a connection or credential is re-examined after this long. */
export const REFUSAL_RECHECK_MS = 10_000;

interface GuardSettings {
  trust: GuardTrust;
  identify: IdentifyFunction;
  roles: readonly string[] | undefined;
  clock: Clock;
}

/** Validates guard options once, up front; every problem names the option. */
function parseGuardOptions(options: GuardOptions, where: string): GuardSettings {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError(where, `options must be an object, got ${describeType(options)}`);
  }
  const { verifier: shared, identify, roles, ...verifierOptions } = options;
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
    clock: shared?.clock ?? own?.clock ?? verifierOptions.clock ?? systemClock,
  };
}

/** The verdict for a presented certificate, then identity and roles: one decision to remember. */
async function decide(
  reading: PresentedCertificate,
  settings: GuardSettings,
  memory: VerdictMemory,
): Promise<Remembered> {
  const { trust, identify, roles, clock } = settings;
  // Configuration first: a guard with nothing to trust refuses everyone with the same 500.
  const verifier = trust.verifierFor(reading.server);
  if (verifier instanceof CertgateError) return { outcome: configRefusal(verifier), expiresAt: Infinity };
  const revision = verifier.revision;
  const stamp = { verifier, revision };
  const { leafKey } = reading;
  const known = leafKey === undefined ? undefined : memory.verifiedLeaf(leafKey, verifier);
  const result = known ?? (await verifier.verify(reading.ders as Buffer[]));
  if (result.ok && !known && leafKey !== undefined) memory.rememberVerifiedLeaf(leafKey, verifier, revision, result);
  const refusalExpiry = () => clock.now() + REFUSAL_RECHECK_MS;
  if (!result.ok) {
    const hint = result.code === 'CERT_UNTRUSTED' && reading.untrustedHint ? ` (${reading.untrustedHint})` : '';
    return {
      outcome: refusal(result.code, `${result.detail}${hint} [${reading.via}]`),
      expiresAt: refusalExpiry(),
      ...stamp,
    };
  }
  let identity: Identity | null | undefined;
  try {
    identity = await identify(result.certificate);
  } catch (err) {
    // The application's identify() failed: refuse (500, nothing let through) and tell the operator why.
    const detail = `identify() threw for ${result.certificate.subjectDN}: ${(err as Error)?.message ?? String(err)}`;
    return { outcome: refusal('CONFIG_INVALID', detail), expiresAt: refusalExpiry(), ...stamp };
  }
  const expiresAt = result.expiresAt.getTime();
  // Identity and role refusals are re-examined like other refusals: the user store may change.
  const refusedUntil = Math.min(expiresAt, refusalExpiry());
  if (!identity)
    return {
      outcome: refusal('IDENTITY_UNKNOWN', `no identity for ${result.certificate.subjectDN}`),
      expiresAt: refusedUntil,
      ...stamp,
    };
  if (typeof identity.user !== 'string' || !Array.isArray(identity.roles)) {
    return {
      outcome: refusal('CONFIG_INVALID', `identify() must return { user: string, roles: string[] } or null`),
      expiresAt: Infinity,
    };
  }
  const held = identity.roles;
  if (roles && !roles.some((r) => held.includes(r))) {
    const detail = `user "${identity.user}" holds [${held.join(', ')}], needs one of [${roles.join(', ')}]`;
    return { outcome: refusal('ROLE_FORBIDDEN', detail), expiresAt: refusedUntil, ...stamp };
  }
  const clientCert: ClientCert = Object.freeze({
    user: identity.user,
    roles: Object.freeze([...held]),
    certificate: result.certificate,
    chain: result.chain,
  });
  return { outcome: Object.freeze({ ok: true as const, clientCert }), expiresAt, ...stamp };
}

function configRefusal(err: CertgateError): GuardOutcome {
  return Object.freeze({
    ok: false as const,
    error: new CertgateError('CONFIG_INVALID', PUBLIC_MESSAGES.CONFIG_INVALID, {
      detail: err.detail ?? err.message,
      cause: err,
    }),
  });
}

/** Outcomes of readings that need no verification (no certificate, a source's refusal). */
function withoutVerification(reading: Exclude<SourceReading, PresentedCertificate>): Remembered {
  const outcome =
    reading.kind === 'none' ? refusal('CERT_MISSING', reading.detail) : refusal(reading.code, reading.detail);
  return { outcome, expiresAt: Infinity };
}

/** Builds a guard; `where` names the API in configuration errors (e.g. `requireClientCert`). */
export function createGuard(
  options: GuardOptions = {},
  where = 'clientCertGuard',
  source: CertificateSource = tlsSocketSource,
): ClientCertGuard {
  const settings = parseGuardOptions(options, where);
  const memory = new VerdictMemory(settings.clock);
  const run = async (reading: SourceReading): Promise<Remembered> => {
    if (reading.kind === 'certificate') return decide(reading, settings, memory);
    // Configuration first: a guard with nothing to trust refuses everyone with the same 500.
    const trust = reading.kind === 'none' && reading.server ? settings.trust.verifierFor(reading.server) : undefined;
    if (trust instanceof CertgateError) return { outcome: configRefusal(trust), expiresAt: Infinity };
    return withoutVerification(reading);
  };
  const guarded = (reading: SourceReading): Promise<Remembered> =>
    run(reading).catch((err: unknown) => ({
      // Only a broken shared verifier or source gets here; the client still gets a clean refusal.
      outcome: refusal('CONFIG_INVALID', `verification failed unexpectedly: ${(err as Error)?.message ?? String(err)}`),
      expiresAt: settings.clock.now() + REFUSAL_RECHECK_MS,
    }));

  return {
    cached(req) {
      let reading: SourceReading;
      try {
        reading = source.read(req);
      } catch {
        return undefined; // check() reports it
      }
      return reading.cacheKey === undefined ? undefined : memory.get(reading.cacheKey);
    },
    async check(req) {
      let reading: SourceReading;
      try {
        reading = source.read(req);
      } catch (err) {
        return refusal('CONFIG_INVALID', `the certificate source failed: ${(err as Error)?.message ?? String(err)}`);
      }
      if (reading.cacheKey === undefined) return (await guarded(reading)).outcome;
      return memory.get(reading.cacheKey) ?? memory.decideOnce(reading.cacheKey, () => guarded(reading));
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
