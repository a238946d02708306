/**
 * Per-certificate rules (src/path/certificate-rules.ts) and path-wide rules
 * (src/path/path-rules.ts) on in-process certificates, with a frozen clock stepped across second
 * boundaries on purpose: X.509 validity has one-second granularity (RFC 5280 section 4.1.2.5).
 */
// Before @peculiar/x509 (its DI container needs the reflect polyfill at import time).
import 'reflect-metadata';
import { beforeAll, describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import type { Clock } from '../../src/time/clock.js';
import { OID, type ParsedCertificate } from '../../src/x509/certificate.js';
import { checkRules, pathPolicy, type PathPolicy } from '../../src/path/policy.js';
import { validityFailure } from '../../src/path/certificate-rules.js';
import { advanceState, initialState } from '../../src/path/path-rules.js';
import { chain, issue, type Made, type Spec } from './pki.js';

/** A clock that moves only when told to. */
function frozenClock(at: string): Clock & { set(iso: string): void; tick(ms: number): void } {
  let now = Date.parse(at);
  return { now: () => now, set: (iso) => void (now = Date.parse(iso)), tick: (ms) => void (now += ms) };
}

const policy = pathPolicy({ purpose: 'clientAuth' });
const AT = Date.parse('2024-06-01T12:00:00Z');
const codeOf = (path: Made[], p: PathPolicy = policy, at = AT) =>
  checkRules(
    path.map((m) => m.cert),
    p,
    at,
  )?.code;

describe('validity at one-second granularity (RFC 5280 4.1.2.5), frozen clock', () => {
  const NOT_BEFORE = '2024-05-01T12:00:00Z';
  const NOT_AFTER = '2024-06-01T11:59:59Z';
  let made: Awaited<ReturnType<typeof chain>>;
  beforeAll(async () => {
    made = await chain({ notBefore: new Date(NOT_BEFORE), notAfter: new Date(NOT_AFTER) });
  });
  const check = (clock: Clock, p = policy) => checkRules(made.path, p, clock.now())?.code;

  it('is not valid in the millisecond before notBefore, and valid from its exact second', () => {
    const clock = frozenClock('2024-05-01T11:59:59.999Z');
    expect(check(clock)).toBe('CERT_NOT_YET_VALID');
    clock.tick(1);
    expect(check(clock)).toBeUndefined();
  });

  it("covers the whole of notAfter's last second, and expires at the next one", () => {
    const clock = frozenClock(NOT_AFTER);
    expect(check(clock)).toBeUndefined();
    clock.set('2024-06-01T11:59:59.999Z');
    expect(check(clock)).toBeUndefined();
    clock.tick(1);
    expect(check(clock)).toBe('CERT_EXPIRED');
  });

  it('stretches both ends by clockToleranceMs, still at second granularity', () => {
    const tolerant = pathPolicy({ purpose: 'clientAuth', clockToleranceMs: 1000 });
    const clock = frozenClock('2024-05-01T11:59:59.000Z');
    expect(check(clock, tolerant)).toBeUndefined();
    clock.tick(-1);
    expect(check(clock, tolerant)).toBe('CERT_NOT_YET_VALID');
    clock.set('2024-06-01T12:00:00.999Z');
    expect(check(clock, tolerant)).toBeUndefined();
    clock.tick(1);
    expect(check(clock, tolerant)).toBe('CERT_EXPIRED');
  });

  it('names the bound in the detail', () => {
    const failure = validityFailure(made.leaf.cert, Date.parse('2024-06-01T12:00:00Z'), 0);
    expect(failure?.detail).toContain('expired at 2024-06-01T11:59:59.000Z');
  });

  it('applies to every certificate of the path, not only the leaf', async () => {
    const root = await issue({ subject: 'CN=Unit Root', ca: true, omit: ['aki'] });
    const notAfter = new Date('2024-01-01T00:00:00Z');
    const intermediate = await issue({ subject: 'CN=Unit Intermediate', issuer: root, ca: true, notAfter });
    const leaf = await issue({ subject: 'CN=unit leaf', issuer: intermediate });
    expect(codeOf([leaf, intermediate, root])).toBe('CERT_EXPIRED');
  });
});

describe('profile MUSTs per certificate', () => {
  it('refuses a zero or 21-octet serial, except in a trust anchor (RFC 5280 4.1.2.2)', async () => {
    // @peculiar/x509 replaces a zero serial with a random one: the decoded fields are set instead.
    const { path } = await chain();
    const [leaf, intermediate, root] = path as [ParsedCertificate, ParsedCertificate, ParsedCertificate];
    const zero = (c: ParsedCertificate): ParsedCertificate => ({ ...c, serialKey: '00', serialLength: 1 });
    expect(checkRules([zero(leaf), intermediate, root], policy, AT)?.detail).toContain('its serial number is zero');
    expect(checkRules([leaf, zero(intermediate), root], policy, AT)?.code).toBe('CERT_MALFORMED');
    expect(checkRules([leaf, intermediate, zero(root)], policy, AT)).toBeUndefined();
    const long = await chain({ serial: '01'.repeat(21) });
    expect(long.leaf.cert.serialLength).toBe(21);
    expect(checkRules(long.path, policy, AT)?.detail).toContain('its serial number is 21 octets long (at most 20)');
  });

  it('refuses keyCertSign without basicConstraints cA in a leaf (RFC 5280 4.2.1.3)', async () => {
    const { digitalSignature, keyCertSign } = x509.KeyUsageFlags;
    const keyUsage = new x509.KeyUsagesExtension(digitalSignature | keyCertSign, true);
    const { path } = await chain({ omit: ['keyUsage'], extra: [keyUsage] });
    expect(checkRules(path, policy, AT)?.detail).toContain('it asserts keyCertSign without basicConstraints cA');
  });

  it('reports the first failure in rule order: validity, extension table, profile, key', async () => {
    const unknown = new x509.Extension('1.2.3.4', true, Buffer.from('0500', 'hex'));
    const { path } = await chain({ akiCritical: true, extra: [unknown] });
    expect(checkRules(path, policy, AT)?.code).toBe('CERT_EXTENSION_UNSUPPORTED');
    expect(checkRules(path, policy, Date.parse('2031-01-01T00:00:00Z'))?.code).toBe('CERT_EXPIRED');
  });

  it('accepts a pinned certificate presented as itself (a one-element path)', async () => {
    const pinned = await issue({ subject: 'CN=Pinned', omit: ['aki'] });
    expect(codeOf([pinned])).toBeUndefined();
    // A CA certificate's keyUsage (keyCertSign, cRLSign) does not let it sign a TLS handshake.
    const root = await issue({ subject: 'CN=Pinned CA', ca: true, omit: ['aki'] });
    expect(codeOf([root])).toBe('CERT_PURPOSE_INVALID');
    expect(codeOf([root], pathPolicy({ purpose: false }))).toBeUndefined();
  });
});

describe('issuer rules (RFC 5280 6.1.4)', () => {
  async function withIntermediate(spec: Partial<Spec>, leafSpec: Partial<Spec> = {}) {
    const root = await issue({ subject: 'CN=Unit Root', ca: true, omit: ['aki'] });
    const intermediate = await issue({ subject: 'CN=Unit Intermediate', issuer: root, ca: true, ...spec });
    const leaf = await issue({ subject: 'CN=unit leaf', issuer: intermediate, ...leafSpec });
    return [leaf, intermediate, root];
  }

  it('refuses an issuer without basicConstraints, or with cA false (6.1.4 (k))', async () => {
    expect(codeOf(await withIntermediate({ omit: ['basicConstraints'] }))).toBe('CERT_ISSUER_NOT_CA');
    const notCa = { ca: undefined, extra: [new x509.BasicConstraintsExtension(false, undefined, true)] };
    expect(codeOf(await withIntermediate(notCa))).toBe('CERT_ISSUER_NOT_CA');
  });

  it('refuses an issuer whose keyUsage lacks keyCertSign (6.1.4 (n))', async () => {
    const extra = [new x509.KeyUsagesExtension(x509.KeyUsageFlags.cRLSign, true)];
    expect(codeOf(await withIntermediate({ omit: ['keyUsage'], extra }))).toBe('CERT_ISSUER_NOT_CA');
  });

  it('requires a critical basicConstraints in the trust anchor only (4.2.1.9; PKITS 4.6.4)', async () => {
    expect(codeOf(await withIntermediate({ ca: { bcCritical: false } }))).toBeUndefined();
    const root = await issue({ subject: 'CN=Lax Root', ca: { bcCritical: false }, omit: ['aki'] });
    const leaf = await issue({ subject: 'CN=leaf', issuer: root });
    expect(codeOf([leaf, root])).toBe('CERT_MALFORMED');
  });
});

describe('path-wide state: pathLenConstraint (RFC 5280 6.1.4 (l), (m))', () => {
  it('counts non-self-issued intermediates against the anchor and intermediates above them', async () => {
    const root = await issue({ subject: 'CN=Root', ca: { pathLen: 0 }, omit: ['aki'] });
    const intermediate = await issue({ subject: 'CN=Intermediate', issuer: root, ca: true });
    const leaf = await issue({ subject: 'CN=leaf', issuer: intermediate });
    const failure = checkRules([leaf.cert, intermediate.cert, root.cert], policy, AT);
    expect(failure?.code).toBe('CERT_ISSUER_NOT_CA');
    expect(failure?.detail).toContain('exceeds the pathLenConstraint of a CA above it');
    const direct = await issue({ subject: 'CN=direct', issuer: root });
    expect(codeOf([direct, root])).toBeUndefined();
  });

  it('lets an intermediate tighten the budget, and does not count self-issued certificates', async () => {
    const root = await issue({ subject: 'CN=Root', ca: { pathLen: 0 }, omit: ['aki'] });
    // Key rollover: same name as the root, another key, issued by the root.
    const rollover = await issue({ subject: 'CN=Root', issuer: root, ca: true });
    const leaf = await issue({ subject: 'CN=leaf', issuer: rollover });
    expect(rollover.cert.selfIssued).toBe(true);
    expect(codeOf([leaf, rollover, root])).toBeUndefined();

    const open = await issue({ subject: 'CN=Open Root', ca: true, omit: ['aki'] });
    const tight = await issue({ subject: 'CN=Tight', issuer: open, ca: { pathLen: 0 } });
    const below = await issue({ subject: 'CN=Below', issuer: tight, ca: true });
    const leaf2 = await issue({ subject: 'CN=leaf', issuer: below });
    expect(codeOf([leaf2, below, tight, open])).toBe('CERT_ISSUER_NOT_CA');
  });

  it('keeps the state in one object, advanced from the anchor down', async () => {
    const root = await issue({ subject: 'CN=Root', ca: { pathLen: 1 }, omit: ['aki'] });
    const a = await issue({ subject: 'CN=A', issuer: root, ca: true });
    const state = initialState(root.cert, 3);
    expect(state).toEqual({ maxPathLength: 1 });
    expect(advanceState(state, a.cert)).toBeUndefined();
    expect(state.maxPathLength).toBe(0);
    expect(advanceState(state, a.cert)?.code).toBe('CERT_ISSUER_NOT_CA');
    expect(initialState(root.cert, 1)).toEqual({ maxPathLength: Infinity });
  });
});

describe('extended key usage chaining (RFC 5280 4.2.1.12)', () => {
  async function path(caEku: string[] | undefined, leafEku: string[] | undefined) {
    const root = await issue({ subject: 'CN=Root', ca: true, omit: ['aki'] });
    const intermediate = await issue({ subject: 'CN=Intermediate', issuer: root, ca: true, eku: caEku });
    const leaf = await issue({ subject: 'CN=leaf', issuer: intermediate, eku: leafEku });
    return [leaf, intermediate, root];
  }

  it('reads a CA EKU as a constraint on what it issues', async () => {
    const serverOnly = await path([OID.serverAuth], undefined);
    expect(codeOf(serverOnly)).toBe('CERT_PURPOSE_INVALID');
    expect(codeOf(serverOnly, pathPolicy({ purpose: false }))).toBeUndefined();
    expect(codeOf(await path([OID.anyExtendedKeyUsage], undefined))).toBeUndefined();
  });

  it("checks the leaf's own EKU against the purpose; no EKU allows any purpose", async () => {
    expect(codeOf(await path(undefined, [OID.serverAuth]))).toBe('CERT_PURPOSE_INVALID');
    expect(codeOf(await path(undefined, [OID.serverAuth]), pathPolicy({ purpose: 'serverAuth' }))).toBeUndefined();
    expect(codeOf(await path(undefined, undefined))).toBeUndefined();
  });
});

describe('PathPolicy', () => {
  it('is frozen data with defaults', () => {
    const p = pathPolicy({ purpose: 'clientAuth' });
    expect(Object.isFrozen(p)).toBe(true);
    expect(p).toMatchObject({ purpose: 'clientAuth', legacyAlgorithms: false, clockToleranceMs: 0, maxChainDepth: 8 });
  });

  it.each([
    [{ purpose: 'emailProtection' }, 'purpose'],
    [{ purpose: 'clientAuth', clockToleranceMs: -1 }, 'clockToleranceMs'],
    [{ purpose: 'clientAuth', clockToleranceMs: Number.NaN }, 'clockToleranceMs'],
    [{ purpose: 'clientAuth', maxChainDepth: 1.5 }, 'maxChainDepth'],
    [{ purpose: 'clientAuth', legacyAlgorithms: 'yes' }, 'legacyAlgorithms'],
  ])('refuses %o with a TypeError naming %s', (options, name) => {
    expect(() => pathPolicy(options as never)).toThrow(TypeError);
    expect(() => pathPolicy(options as never)).toThrow(name);
  });
});
