/**
 * User callbacks are isolated, and an identity does not outlive identityTtlMs: public API and the
 * guard over a test source, no sockets; time from the injected clock.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError, clientCertGuard, createVerifier, type Identity, type Verifier } from 'certgate';
import { generateDevPki, type DevPkiFiles } from '../../../src/devpki/generate.js';
import { createGuard, DEFAULT_IDENTITY_TTL_MS } from '../../../src/guard/guard.js';
import type { CertificateSource, RequestLike, SourceReading } from '../../../src/sources/source.js';
import { pemBlocks, pemToDer } from '../../helpers/oracle.js';

let dir: string;
let files: DevPkiFiles;
let now = 0;
const clock = { now: () => now };
let verifier: Verifier;
const chainOf = (name: 'alice' | 'mallory') => pemBlocks(readFileSync(files.clients[name].cert)).map(pemToDer);

const crashes: unknown[] = [];
const warnings: Error[] = [];
const onCrash = (err: unknown) => crashes.push(err);
const onWarning = (w: Error) => warnings.push(w);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-callbacks-'));
  files = await generateDevPki(dir);
  now = Date.now();
  verifier = createVerifier({ ca: readFileSync(files.caBundle), crl: readFileSync(files.crl), clock });
  process.on('unhandledRejection', onCrash);
  process.on('warning', onWarning);
});

afterAll(() => {
  process.off('unhandledRejection', onCrash);
  process.off('warning', onWarning);
  rmSync(dir, { recursive: true, force: true });
});

/** Lets promise callbacks, nextTicks (warnings) and immediates run; no timer. */
async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** One connection presenting `name`'s chain, named by its leaf as the TLS source does. */
function connection(name: 'alice' | 'mallory'): RequestLike {
  const reading: SourceReading = {
    kind: 'certificate',
    scope: 'connection',
    cacheKey: {},
    leafKey: `leaf:${name}`,
    ders: chainOf(name),
    via: 'test connection',
  };
  return { reading } as unknown as RequestLike;
}
const byReading: CertificateSource = { read: (req) => (req as unknown as { reading: SourceReading }).reading };

describe('identityTtlMs', () => {
  /** A user store the test edits: alice's roles. */
  let aliceRoles: string[];
  let identified: number;
  const identify = (): Identity => {
    identified++;
    return { user: 'alice', roles: [...aliceRoles] };
  };

  it.each([
    ['5000', 5000],
    ['the default (5 minutes)', undefined],
  ])('%s: a role removed stops working on the open connection once the TTL has passed', async (_l, ttl) => {
    aliceRoles = ['admin'];
    identified = 0;
    const ttlMs = ttl ?? DEFAULT_IDENTITY_TTL_MS;
    const guard = createGuard({ verifier, identify, roles: ['admin'], identityTtlMs: ttl }, 'test', byReading);
    const conn = connection('alice');
    const start = now;
    try {
      expect(await guard.check(conn)).toMatchObject({ ok: true });
      aliceRoles = [];
      now = start + ttlMs;
      expect(guard.cached(conn)).toMatchObject({ ok: true });
      expect(identified).toBe(1);
      now = start + ttlMs + 1;
      expect(guard.cached(conn) ?? (await guard.check(conn))).toMatchObject({
        ok: false,
        error: { code: 'ROLE_FORBIDDEN' },
      });
      expect(identified).toBe(2);
    } finally {
      now = start;
    }
  });

  it.each([0, -1, 1.5, Number.NaN, '1000', null])('refuses %s at creation with CONFIG_INVALID', (value) => {
    expect(() => clientCertGuard({ verifier, identityTtlMs: value as never })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', detail: expect.stringContaining('identityTtlMs') }),
    );
  });
});

describe('identify', () => {
  it('may refuse with a CertgateError IDENTITY_UNKNOWN: a 403 with its detail, not a 500', async () => {
    const identify = () => {
      throw new CertgateError('IDENTITY_UNKNOWN', 'x', { detail: 'suspended in the directory' });
    };
    const outcome = await createGuard({ verifier, identify }, 'test', byReading).check(connection('alice'));
    expect(outcome).toMatchObject({
      ok: false,
      error: { code: 'IDENTITY_UNKNOWN', status: 403, detail: 'suspended in the directory' },
    });
  });

  it('that throws anything else is still the documented 500 CONFIG_INVALID', async () => {
    const identify = async () => {
      throw new TypeError('directory down');
    };
    const outcome = await createGuard({ verifier, identify }, 'test', byReading).check(connection('alice'));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID', status: 500 } });
  });

  it('that returns roles which are not strings, or an identity whose getter throws: 500, nothing rejects', async () => {
    // Found in review: a Symbol role made the ROLE_FORBIDDEN detail throw inside the decision's
    // promise; check() turned that into a 500 already, but a decision started by cached() alone
    // was an unhandled rejection. The decision itself now never throws.
    const odd = [
      async () => ({ user: 'alice', roles: [Symbol('admin')] as unknown as string[] }),
      async () => ({
        get user(): string {
          throw new Error('proxy revoked');
        },
        roles: [],
      }),
    ];
    for (const identify of odd) {
      const guard = createGuard({ verifier, identify, roles: ['admin'] }, 'test', byReading);
      const outcome = await guard.check(connection('alice'));
      expect(outcome).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID', status: 500 } });
    }
    await settle();
    expect(crashes).toEqual([]);
  });
});

describe('a clock that throws', () => {
  it('makes check() resolve to a 500 refusal, never reject, and cached() return undefined', async () => {
    let broken = false;
    const flaky = {
      now: () => {
        if (broken) throw new Error('clock broke');
        return now;
      },
    };
    const own = createVerifier({ ca: readFileSync(files.caBundle), clock: flaky });
    const guard = createGuard({ verifier: own }, 'test', byReading);
    const conn = connection('alice');
    expect(await guard.check(conn)).toMatchObject({ ok: true });
    broken = true;
    expect(guard.cached(conn)).toBeUndefined();
    expect(await guard.check(conn)).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID' } });
    expect(await guard.check(connection('mallory'))).toMatchObject({ ok: false, error: { code: 'CONFIG_INVALID' } });
  });
});

describe('verifier event listeners', () => {
  it('that throw or reject change no verdict, crash nothing and are reported as warnings', async () => {
    const v = createVerifier({ ca: readFileSync(files.caBundle), crl: readFileSync(files.crl), clock });
    let calls = 0;
    v.on('certificate-revoked', () => {
      calls++;
      throw new Error('metrics down');
    });
    v.on('certificate-revoked', async () => {
      calls++;
      throw new Error('log sink down');
    });
    crashes.length = 0;
    warnings.length = 0;
    const result = await v.verify(chainOf('mallory'));
    expect(result).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
    expect((await createGuard({ verifier: v }, 'test', byReading).check(connection('mallory'))).ok).toBe(false);
    await settle();
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(crashes).toEqual([]);
    const messages = warnings.map((w) => w.message);
    expect(messages).toContainEqual(expect.stringContaining('metrics down'));
    expect(messages).toContainEqual(expect.stringContaining('log sink down'));
  });
});
