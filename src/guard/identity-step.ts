import { createHash } from 'node:crypto';
import type { IdentifyFunction, Identity } from '../identity/identity.js';
import type { Clock } from '../time/clock.js';
import type { Verifier, VerifySuccess } from '../verifier/verifier.js';
import { CertgateError } from '../errors.js';
import { escapeUnprintable } from '../x509/name.js';
import type { NegotiatedTls } from '../tls/rule.js';
import { refusal, type CertificateOrigin, type ClientCert } from './outcome.js';
import type { Remembered } from './verdict-memory.js';

/** A refusal remembered for a connection or credential is re-examined after this long. */
export const REFUSAL_RECHECK_MS = 10_000;
/** Default `identityTtlMs`: an identity (a role removed, a user disabled) is decided again after this long. */
export const DEFAULT_IDENTITY_TTL_MS = 5 * 60_000;

export interface IdentityRules {
  identify: IdentifyFunction;
  roles: readonly string[] | undefined;
  clock: Clock;
  /** How long an approval's identity and roles hold before `identify` runs again (Infinity: as long as the verdict). */
  identityTtlMs: number;
}

/** The verifier and its CRL revision a decision was reached with: a CRL change voids it. */
export interface Stamp {
  verifier: Verifier;
  revision: number;
  /** Whether the server's trust the verifier came from still holds (absent: not from a server). */
  current?: () => boolean;
}

type Identified = Identity | null | undefined;

function isThenable(value: unknown): value is PromiseLike<Identified> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Identity and roles for a verified certificate: the application's `identify`, then the guard's
 * `roles`. Synchronous when `identify` is (a known client's new connection then needs no promise
 * at all); never rejects: an `identify` that throws or rejects is a 500 refusal, told to operators.
 */
export function identityStep(
  result: VerifySuccess,
  rules: IdentityRules,
  stamp: Stamp,
  origin: CertificateOrigin = 'tls',
  tls?: NegotiatedTls,
): Remembered | Promise<Remembered> {
  let identity: Identified | PromiseLike<Identified>;
  try {
    identity = rules.identify(result.certificate, { chain: result.chain, policies: result.policies });
  } catch (err) {
    return identifyFailed(err, result, rules, stamp);
  }
  if (!isThenable(identity)) return checkedOutcome(identity, result, rules, stamp, origin, tls);
  return Promise.resolve(identity).then(
    (resolved) => checkedOutcome(resolved, result, rules, stamp, origin, tls),
    (err: unknown) => identifyFailed(err, result, rules, stamp),
  );
}

/** identityOutcome, where reading what identify() returned may throw (a getter, a proxy): its failure. */
function checkedOutcome(
  identity: Identified,
  result: VerifySuccess,
  rules: IdentityRules,
  stamp: Stamp,
  origin: CertificateOrigin,
  tls: NegotiatedTls | undefined,
): Remembered {
  try {
    return identityOutcome(identity, result, rules, stamp, origin, tls);
  } catch (err) {
    return identifyFailed(err, result, rules, stamp);
  }
}

/**
 * identify() threw. A CertgateError IDENTITY_UNKNOWN or ROLE_FORBIDDEN is its answer (the helpers
 * refuse ambiguous names so): a 403 with its detail. Anything else is a failure of the application's
 * code: refuse (500, nothing let through) and tell the operator why.
 */
function identifyFailed(err: unknown, result: VerifySuccess, rules: IdentityRules, stamp: Stamp): Remembered {
  const expiresAt = rules.clock.now() + REFUSAL_RECHECK_MS;
  if (err instanceof CertgateError && (err.code === 'IDENTITY_UNKNOWN' || err.code === 'ROLE_FORBIDDEN')) {
    return { outcome: refusal(err.code, err.detail ?? err.message), expiresAt, ...stamp };
  }
  const detail = `identify() threw for ${result.certificate.subjectDN}: ${(err as Error)?.message ?? String(err)}`;
  return { outcome: refusal('CONFIG_INVALID', detail), expiresAt, ...stamp };
}

/**
 * The operator detail of ROLE_FORBIDDEN. The user name comes from the certificate or the
 * application: quoted and escaped, so it cannot forge or hide text in a log line.
 */
export function roleDetail(user: string, held: readonly string[], needed: readonly string[]): string {
  const name = escapeUnprintable(JSON.stringify(user));
  return `user ${name} holds [${held.join(', ')}], needs one of [${needed.join(', ')}]`;
}

function identityOutcome(
  identity: Identified,
  result: VerifySuccess,
  rules: IdentityRules,
  stamp: Stamp,
  origin: CertificateOrigin,
  tls: NegotiatedTls | undefined,
): Remembered {
  const now = rules.clock.now();
  // An approval's identity is asked again after identityTtlMs: a role removed stops working on open connections.
  const expiresAt = Math.min(result.expiresAt.getTime(), now + rules.identityTtlMs);
  // Identity and role refusals are re-examined like other refusals: the user store may change.
  const refusedUntil = Math.min(expiresAt, now + REFUSAL_RECHECK_MS);
  const subject = result.certificate.subjectDN;
  if (!identity)
    return { outcome: refusal('IDENTITY_UNKNOWN', `no identity for ${subject}`), expiresAt: refusedUntil, ...stamp };
  if (
    typeof identity.user !== 'string' ||
    !Array.isArray(identity.roles) ||
    !identity.roles.every((r) => typeof r === 'string')
  ) {
    const detail = `identify() must return { user: string, roles: string[] } or null`;
    return { outcome: refusal('CONFIG_INVALID', detail), expiresAt: Infinity };
  }
  const held = identity.roles;
  const { roles } = rules;
  if (roles && !roles.some((r) => held.includes(r))) {
    return {
      outcome: refusal('ROLE_FORBIDDEN', roleDetail(identity.user, held, roles)),
      expiresAt: refusedUntil,
      ...stamp,
    };
  }
  const clientCert: ClientCert = Object.freeze({
    user: identity.user,
    roles: Object.freeze([...held]),
    certificate: result.certificate,
    chain: result.chain,
    policies: result.policies,
    source: origin,
    thumbprint: createHash('sha256').update(result.certificate.raw).digest('base64url'),
    tls,
  });
  return { outcome: Object.freeze({ ok: true as const, clientCert }), expiresAt, ...stamp };
}
