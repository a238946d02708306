/**
 * Name constraints on real certificates through the path rules (src/path/policy.ts checkRules):
 * the RFC 5280 profile MUSTs that x509-limbo holds certgate to (nameConstraints critical and only
 * in CA certificates; a critical subjectAltName when the subject is empty) and the refusal code a
 * constrained name comes to.
 */
// Before @peculiar/x509 (its DI container needs the reflect polyfill at import time).
import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import { createVerifier } from '../../src/index.js';
import { checkRules, pathPolicy } from '../../src/path/policy.js';
import { gn, ncDer } from './nc-der.js';
import { issue, rawExtension, type Made } from './pki.js';

const NAME_CONSTRAINTS = '2.5.29.30';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const AT = Date.parse('2024-06-01T12:00:00Z');
const policy = pathPolicy({ purpose: 'clientAuth' });
const check = (...path: Made[]) =>
  checkRules(
    path.map((m) => m.cert),
    policy,
    AT,
  );
const nc = (critical: boolean, der = ncDer([gn.dns('example.com')])) =>
  rawExtension(NAME_CONSTRAINTS, critical, der.toString('hex'));
const san = (critical: boolean, ...names: string[]) =>
  new x509.SubjectAlternativeNameExtension(
    names.map((value) => ({ type: 'dns' as const, value })),
    critical,
  );

describe('RFC 5280 profile MUSTs on name constraints', () => {
  it('a non-critical nameConstraints in an intermediate is CERT_MALFORMED (4.2.1.10)', async () => {
    const root = await issue({ subject: 'CN=Root', ca: true, omit: ['aki'] });
    const ica = await issue({ subject: 'CN=ICA', issuer: root, ca: true, extra: [nc(false)] });
    const leaf = await issue({
      subject: 'CN=leaf',
      issuer: ica,
      eku: [CLIENT_AUTH],
      extra: [san(false, 'example.com')],
    });
    const failure = check(leaf, ica, root);
    expect(failure?.code).toBe('CERT_MALFORMED');
    expect(failure?.detail).toContain('nameConstraints extension must be critical');
  });

  it('and in the trust anchor too (x509-limbo rfc5280::nc::permitted-dns-match-noncritical)', async () => {
    const root = await issue({ subject: 'CN=Root', ca: true, omit: ['aki'], extra: [nc(false)] });
    const leaf = await issue({
      subject: 'CN=leaf',
      issuer: root,
      eku: [CLIENT_AUTH],
      extra: [san(false, 'example.com')],
    });
    expect(check(leaf, root)?.code).toBe('CERT_MALFORMED');
  });

  it('the same chain with a critical extension is valid', async () => {
    const root = await issue({ subject: 'CN=Root', ca: true, omit: ['aki'], extra: [nc(true)] });
    const leaf = await issue({
      subject: 'CN=leaf',
      issuer: root,
      eku: [CLIENT_AUTH],
      extra: [san(false, 'example.com')],
    });
    expect(check(leaf, root)).toBeUndefined();
  });

  it.each([false, true])('nameConstraints in an end-entity certificate (critical: %s) is refused', async (critical) => {
    const root = await issue({ subject: 'CN=Root', ca: true, omit: ['aki'] });
    const leaf = await issue({ subject: 'CN=leaf', issuer: root, eku: [CLIENT_AUTH], extra: [nc(critical)] });
    const failure = check(leaf, root);
    expect(failure?.code).toBe('CERT_MALFORMED');
    expect(failure?.detail).toContain('not a CA');
  });

  it('an empty subject needs a critical SAN (x509-limbo rfc5280::san::noncritical-with-empty-subject)', async () => {
    const root = await issue({ subject: 'CN=Root', ca: true, omit: ['aki'] });
    const bad = await issue({ subject: '', issuer: root, eku: [CLIENT_AUTH], extra: [san(false, 'example.com')] });
    expect(bad.cert.subjectName).toEqual([]);
    const failure = check(bad, root);
    expect(failure?.code).toBe('CERT_MALFORMED');
    expect(failure?.detail).toContain('subjectAltName is not critical');
    const good = await issue({ subject: '', issuer: root, eku: [CLIENT_AUTH], extra: [san(true, 'example.com')] });
    expect(check(good, root)).toBeUndefined();
  });
});

describe('a constrained name on real certificates', () => {
  it('is CERT_NAME_CONSTRAINED, after every other path rule passed', async () => {
    const root = await issue({ subject: 'CN=Root', ca: true, omit: ['aki'] });
    const der = ncDer([gn.dns('example.com')], [gn.dns('bad.example.com')]);
    const ica = await issue({ subject: 'CN=ICA', issuer: root, ca: true, extra: [nc(true, der)] });
    const leafFor = (name: string) =>
      issue({ subject: 'CN=leaf', issuer: ica, eku: [CLIENT_AUTH], extra: [san(false, name)] });
    expect(check(await leafFor('www.example.com'), ica, root)).toBeUndefined();
    const excluded = check(await leafFor('x.bad.example.com'), ica, root);
    expect(excluded?.code).toBe('CERT_NAME_CONSTRAINED');
    expect(excluded?.detail).toContain('excludes dNSName "bad.example.com"');
    expect(check(await leafFor('example.org'), ica, root)?.code).toBe('CERT_NAME_CONSTRAINED');
  });
});

describe('path building goes around a path that name constraints refuse', () => {
  const der = (m: Made) => Buffer.from(m.x509.rawData);
  const AT_DATE = new Date(AT);

  it('x509-limbo rfc5280::nc::nc-forbids-same-chain-ica: the other root is used', async () => {
    const rootA = await issue({ subject: 'CN=Root A', ca: true, omit: ['aki'] });
    const rootB = await issue({ subject: 'CN=Root B', ca: true, omit: ['aki'] });
    const excludes = ncDer(undefined, [gn.dns('forbidden.example.com')]);
    const icaA = await issue({ subject: 'CN=ICA A', issuer: rootA, ca: true, extra: [nc(true, excludes)] });
    const viaA = await issue({
      subject: 'CN=an-intermediate',
      issuer: icaA,
      ca: true,
      extra: [san(false, 'forbidden.example.com')],
    });
    const viaB = await issue({
      subject: 'CN=an-intermediate',
      issuer: rootB,
      ca: true,
      keys: viaA.keys,
      extra: [san(false, 'unconstrained-ica.example.com')],
    });
    const leaf = await issue({
      subject: 'CN=leaf',
      issuer: viaA,
      eku: [CLIENT_AUTH],
      extra: [san(false, 'leaf.example.com')],
    });
    // The constrained path alone is refused for its intermediate's name ...
    expect(check(leaf, viaA, icaA, rootA)?.code).toBe('CERT_NAME_CONSTRAINED');
    // ... and with both roots and all intermediates the verifier finds the path through root B.
    const verifier = createVerifier({ ca: [der(rootA), der(rootB)], intermediates: [der(icaA), der(viaA), der(viaB)] });
    const result = await verifier.verify(der(leaf), { at: AT_DATE });
    expect(result.ok, result.ok ? '' : `${result.code}: ${result.detail}`).toBe(true);
  });

  it('x509-limbo rfc5280::nc::nc-forbids-alternate-chain-ica: the twin without the name is used', async () => {
    const discarded = await issue({ subject: 'CN=Discarded Root', ca: true, omit: ['aki'] });
    const trusted = await issue({ subject: 'CN=Trusted Root', ca: true, omit: ['aki'] });
    const both = ncDer([gn.dns('permitted.example.com')], [gn.dns('forbidden.example.com')]);
    const icaA = await issue({ subject: 'CN=ICA A', issuer: trusted, ca: true, extra: [nc(true, both)] });
    const named = { subject: 'CN=an-intermediate', ca: true as const };
    const b1 = await issue({ ...named, issuer: discarded, extra: [san(false, 'forbidden.example.com')] });
    const b2 = await issue({ ...named, issuer: icaA, keys: b1.keys });
    const leafSpec = {
      subject: 'CN=permitted.example.com',
      eku: [CLIENT_AUTH],
      extra: [san(false, 'permitted.example.com')],
    };
    const leaf = await issue({ ...leafSpec, issuer: b1 });
    const verifier = createVerifier({ ca: der(trusted), intermediates: [der(icaA), der(b1), der(b2)] });
    const result = await verifier.verify(der(leaf), { at: AT_DATE });
    expect(result.ok, result.ok ? '' : `${result.code}: ${result.detail}`).toBe(true);
    // Through b1's twin with b1's forbidden name, ICA A would refuse it.
    const b3 = await issue({ ...named, issuer: icaA, keys: b1.keys, extra: [san(false, 'forbidden.example.com')] });
    expect(check(leaf, b3, icaA, trusted)?.code).toBe('CERT_NAME_CONSTRAINED');
  });

  it('x509-limbo pathological::nc-dos-1 on real certificates: refused, and quickly', async () => {
    const permitted = [...Array.from({ length: 513 }, (_, i) => gn.dns(`t${i}.test`)), gn.dns('.test')];
    const excluded = Array.from({ length: 513 }, (_, i) => gn.dns(`x${i}.test`));
    const root = await issue({
      subject: 'CN=Root',
      ca: true,
      omit: ['aki'],
      extra: [nc(true, ncDer(permitted, excluded))],
    });
    const names = [...Array.from({ length: 513 }, (_, i) => `t${i}.test`), '.test'];
    const leaf = await issue({ subject: '', issuer: root, eku: [CLIENT_AUTH], extra: [san(true, ...names)] });
    const started = performance.now();
    const result = await createVerifier({ ca: der(root) }).verify(der(leaf), { at: AT_DATE });
    expect(result.ok ? 'OK' : result.code).toBe('CERT_NAME_CONSTRAINED');
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
