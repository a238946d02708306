/**
 * The per-role extension table (src/path/extensions.ts): its rows, and the verdicts it gives
 * through checkRules. RFC 5280 section 4.2: a critical extension that is not processed rejects
 * the certificate.
 */
// Before @peculiar/x509 (its DI container needs the reflect polyfill at import time).
import 'reflect-metadata';
import { beforeAll, describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import { OID } from '../../src/x509/certificate.js';
import { DECODED_EXTENSIONS } from '../../src/x509/decode-extensions.js';
import {
  CA_EXTENSIONS,
  END_ENTITY_EXTENSIONS,
  extensionTable,
  missingExtension,
  unprocessedCriticalExtensions,
  wronglyCriticalExtensions,
} from '../../src/path/extensions.js';
import { checkRules, pathPolicy } from '../../src/path/policy.js';
import { chain, issue, rawExtension, type Made } from './pki.js';

const AT = Date.parse('2024-06-01T12:00:00Z');
const policy = pathPolicy({ purpose: 'clientAuth' });

/** Extensions whose contents certgate does not read: any value will do. */
const EMPTY_SEQUENCE = '3000';
const UNKNOWN_OID = '1.3.6.1.4.1.99999.1';
/** AuthorityInfoAccessSyntax with one id-ad-ocsp access description, URI "http://a". */
const AIA_OCSP = '3016301406082b060105050730018608687474703a2f2f61';

describe('extension table rows', () => {
  it('cites an RFC 5280 section for every row, in section order, once per OID', () => {
    for (const table of [CA_EXTENSIONS, END_ENTITY_EXTENSIONS]) {
      // Rows from other RFCs (RFC 3739 qcStatements) follow the RFC 5280 ones and name their RFC.
      const others = table.rows.filter((r) => r.section.startsWith('RFC '));
      expect(others.map((r) => r.section)).toEqual(['RFC 3739 3.2.6']);
      expect(table.rows.slice(-others.length)).toEqual(others);
      const sections = table.rows.filter((r) => !others.includes(r)).map((r) => r.section);
      for (const s of sections) expect(s).toMatch(/^4\.2\.[12]\.\d+$/);
      const order = (s: string) =>
        s
          .split('.')
          .map(Number)
          .reduce((acc, n) => acc * 100 + n, 0);
      expect([...sections].sort((a, b) => order(a) - order(b))).toEqual(sections);
      expect(new Set(table.rows.map((r) => r.oid)).size).toBe(table.rows.length);
    }
  });

  it('marks processed exactly the extensions the decoder reads', () => {
    for (const table of [CA_EXTENSIONS, END_ENTITY_EXTENSIONS]) {
      const processed = table.rows.filter((r) => r.processedBy !== undefined).map((r) => r.oid);
      // qcStatements is decoded for every certificate, but only a leaf's PSD2 statement is acted on.
      const decoded = [...DECODED_EXTENSIONS].filter(
        (oid) => table === END_ENTITY_EXTENSIONS || oid !== OID.qcStatements,
      );
      expect(new Set(processed)).toEqual(new Set(decoded));
    }
  });

  it('processes name constraints and the certificate policy extensions (honoured when critical) in both roles', () => {
    const processed = [
      OID.nameConstraints,
      OID.certificatePolicies,
      OID.policyMappings,
      OID.policyConstraints,
      OID.inhibitAnyPolicy,
    ];
    for (const table of [CA_EXTENSIONS, END_ENTITY_EXTENSIONS]) {
      for (const oid of processed) {
        expect(table.row(oid)).toMatchObject({ processedBy: expect.any(String), ifCritical: 'honoured' });
      }
    }
  });

  it('differs between roles only in the CA role requiring a subjectKeyIdentifier (RFC 5280 4.2.1.2) and refusing a critical qcStatements', () => {
    const differing = CA_EXTENSIONS.rows.filter((r) => END_ENTITY_EXTENSIONS.row(r.oid) !== r);
    expect(differing.map((r) => [r.name, r.presence, r.ifCritical])).toEqual([
      ['subjectKeyIdentifier', 'required', 'malformed'],
      ['qcStatements', 'optional', 'unsupported'],
    ]);
    expect(END_ENTITY_EXTENSIONS.row(OID.qcStatements)?.ifCritical).toBe('honoured');
    expect(END_ENTITY_EXTENSIONS.row(OID.subjectKeyIdentifier)?.presence).toBe('optional');
    expect(extensionTable('ca')).toBe(CA_EXTENSIONS);
    expect(extensionTable('endEntity')).toBe(END_ENTITY_EXTENSIONS);
  });

  it('is frozen data', () => {
    expect(Object.isFrozen(CA_EXTENSIONS)).toBe(true);
    expect(Object.isFrozen(CA_EXTENSIONS.rows)).toBe(true);
    expect(CA_EXTENSIONS.rows.every((r) => Object.isFrozen(r))).toBe(true);
    expect(Object.isFrozen(policy)).toBe(true);
    expect(policy.extensions).toEqual({ ca: CA_EXTENSIONS, endEntity: END_ENTITY_EXTENSIONS });
  });
});

describe('the decoder records every extension, the table judges it', () => {
  let made: Made;
  beforeAll(async () => {
    made = await issue({
      subject: 'CN=records',
      omit: ['aki'],
      extra: [rawExtension(UNKNOWN_OID, true, ''), rawExtension(OID.issuerAltName, false, EMPTY_SEQUENCE)],
    });
  });

  it('lists { oid, critical } for each extension in certificate order, decoded or not', () => {
    expect(made.cert.extensions).toEqual([
      { oid: OID.keyUsage, critical: true },
      { oid: OID.subjectKeyIdentifier, critical: false },
      { oid: UNKNOWN_OID, critical: true },
      { oid: OID.issuerAltName, critical: false },
    ]);
  });

  it('finds the unprocessed critical ones per role', () => {
    expect(unprocessedCriticalExtensions(made.cert, END_ENTITY_EXTENSIONS)).toEqual([UNKNOWN_OID]);
    expect(unprocessedCriticalExtensions(made.cert, CA_EXTENSIONS)).toEqual([UNKNOWN_OID]);
    expect(wronglyCriticalExtensions(made.cert, CA_EXTENSIONS)).toEqual([]);
  });
});

describe('verdicts through checkRules', () => {
  async function leafWith(spec: Parameters<typeof chain>[0]) {
    const { path } = await chain(spec);
    return checkRules(path, policy, AT);
  }
  async function intermediateWith(spec: Parameters<typeof issue>[0] extends infer S ? Partial<S> : never) {
    const root = await issue({ subject: 'CN=Unit Root', ca: true, omit: ['aki'] });
    const intermediate = await issue({ subject: 'CN=Unit Intermediate', issuer: root, ca: true, ...spec });
    const leaf = await issue({ subject: 'CN=unit leaf', issuer: intermediate });
    return checkRules([leaf.cert, intermediate.cert, root.cert], policy, AT);
  }

  it('accepts the plain chain', async () => {
    expect(await leafWith({})).toBeUndefined();
  });

  it.each([
    ['an unknown extension', UNKNOWN_OID],
    ['freshest CRL', OID.freshestCrl],
    ['authority information access (MUST be non-critical; refused as unsupported, as in 0.1)', OID.authorityInfoAccess],
  ])('refuses %s marked critical in a leaf as CERT_EXTENSION_UNSUPPORTED', async (_what, oid) => {
    const value = oid === OID.authorityInfoAccess ? AIA_OCSP : EMPTY_SEQUENCE;
    const failure = await leafWith({ extra: [rawExtension(oid, true, value)] });
    expect(failure?.code).toBe('CERT_EXTENSION_UNSUPPORTED');
    expect(failure?.detail).toContain(oid);
  });

  it('ignores the same extensions when not critical', async () => {
    const oids = [UNKNOWN_OID, OID.freshestCrl];
    const extra = oids.map((oid) => rawExtension(oid, false, EMPTY_SEQUENCE));
    const aia = rawExtension(OID.authorityInfoAccess, false, AIA_OCSP);
    expect(await leafWith({ extra: [...extra, aia] })).toBeUndefined();
  });

  it('reads the policy extensions whatever their criticality: an empty certificatePolicies is malformed either way', async () => {
    for (const critical of [true, false]) {
      const empty = leafWith({ extra: [rawExtension(OID.certificatePolicies, critical, EMPTY_SEQUENCE)] });
      await expect(empty).rejects.toThrow(/certificatePolicies is empty/);
    }
    // SEQUENCE { PolicyInformation { anyPolicy } }, critical: processed, so the path validates.
    const anyPolicy = rawExtension(OID.certificatePolicies, true, '30083006' + '0604551d2000');
    expect(await leafWith({ extra: [anyPolicy] })).toBeUndefined();
  });

  it('honours critical name constraints in an intermediate (RFC 5280 4.2.1.10)', async () => {
    // NameConstraints { permittedSubtrees { GeneralSubtree { dNSName "bank.example" } } }.
    const permitBank = rawExtension(OID.nameConstraints, true, '3012a010300e820c62616e6b2e6578616d706c65');
    expect(await intermediateWith({ extra: [permitBank] })).toBeUndefined();
    const root = await issue({ subject: 'CN=Unit Root', ca: true, omit: ['aki'] });
    const intermediate = await issue({ subject: 'CN=Unit Intermediate', issuer: root, ca: true, extra: [permitBank] });
    const sanOf = (dns: string) => new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: dns }]);
    const inside = await issue({ subject: 'CN=unit leaf', issuer: intermediate, extra: [sanOf('a.bank.example')] });
    const outside = await issue({ subject: 'CN=unit leaf', issuer: intermediate, extra: [sanOf('a.other.example')] });
    expect(checkRules([inside.cert, intermediate.cert, root.cert], policy, AT)).toBeUndefined();
    const failure = checkRules([outside.cert, intermediate.cert, root.cert], policy, AT);
    expect(failure?.code).toBe('CERT_NAME_CONSTRAINED');
    expect(failure?.detail).toContain('a.other.example');
  });

  it('honours processed extensions marked critical (subjectAltName, extKeyUsage)', async () => {
    const san = new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'a.bank.example' }], true);
    const eku = new x509.ExtendedKeyUsageExtension([OID.clientAuth], true);
    const { leaf, path } = await chain({ eku: undefined, extra: [san, eku] });
    const critical = leaf.cert.extensions.filter((e) => e.critical).map((e) => e.oid);
    expect(critical).toEqual([OID.keyUsage, OID.subjectAltName, OID.extKeyUsage]);
    expect(checkRules(path, policy, AT)).toBeUndefined();
  });

  it('refuses a critical AKI or SKI as CERT_MALFORMED (RFC 5280 4.2.1.1, 4.2.1.2)', async () => {
    const aki = await leafWith({ akiCritical: true });
    expect(aki).toMatchObject({ code: 'CERT_MALFORMED' });
    expect(aki?.detail).toContain('authorityKeyIdentifier must not be critical');
    const both = await intermediateWith({ akiCritical: true, skiCritical: true });
    expect(both?.detail).toContain('subjectKeyIdentifier and authorityKeyIdentifier must not be critical');
  });

  it('requires the AKI keyIdentifier except in self-issued certificates and anchors (RFC 5280 4.2.1.1)', async () => {
    expect(await leafWith({ omit: ['aki'] })).toMatchObject({ code: 'CERT_MALFORMED' });
    const { root } = await chain();
    expect(missingExtension(root.cert, CA_EXTENSIONS, 'requiredUnlessSelfIssued')).toBeUndefined();
    // The anchor of the plain chain has no AKI and validates.
    expect(root.cert.authorityKeyId).toBeUndefined();
  });

  it('requires a subjectKeyIdentifier in CA certificates only (RFC 5280 4.2.1.2)', async () => {
    const failure = await intermediateWith({ omit: ['ski'] });
    expect(failure).toMatchObject({ code: 'CERT_MALFORMED' });
    expect(failure?.detail).toContain('a CA certificate must have a subjectKeyIdentifier');
    expect(await leafWith({ omit: ['ski'] })).toBeUndefined();
  });
});
