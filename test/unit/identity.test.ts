import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  byCommonName,
  byEmail,
  byFingerprint,
  bySubjectDN,
  byUri,
  createVerifier,
  defaultIdentify,
  type CertificateInfo,
  type IdentityTable,
  type VerifyResult,
} from 'certgate';
import { makeDevPki, makeSelfSigned, opensslSubjectRfc2253, removeTempDirs, type DevPki } from '../helpers/oracle.js';

function leafOf(result: VerifyResult): CertificateInfo {
  if (!result.ok) throw new Error(`expected acceptance, got ${result.code}: ${result.detail}`);
  return result.certificate;
}

let dev: DevPki;
let alice: CertificateInfo;
let bob: CertificateInfo;
/** Self-signed, pinned: two CNs, a SPIFFE URI and a mixed-case email in the SAN. */
let workload: CertificateInfo;
/** Self-signed, pinned: no CN at all. */
let noCn: CertificateInfo;
let aliceDnFromOpenssl: string;

const SPIFFE = 'spiffe://bank.example/ns/prod/sa/payments';

beforeAll(async () => {
  dev = await makeDevPki();
  const verifier = createVerifier({ ca: dev.ca, crl: dev.crl });
  alice = leafOf(await verifier.verify(dev.chain.alice));
  bob = leafOf(await verifier.verify(dev.chain.bob));
  aliceDnFromOpenssl = opensslSubjectRfc2253(dev.leafFile.alice);

  const ws = makeSelfSigned({
    subject: '/O=Example Bank/CN=payments/CN=payments-backup',
    san: `URI:${SPIFFE}, email:Payments@Bank.Example`,
  });
  workload = leafOf(await createVerifier({ ca: ws.pem }).verify(ws.pem));
  const anon = makeSelfSigned({ subject: '/O=Example Bank/OU=Anonymous' });
  noCn = leafOf(await createVerifier({ ca: anon.pem }).verify(anon.pem));
});

afterAll(() => removeTempDirs());

describe('fixtures', () => {
  it('come from real verifications with the expected names', () => {
    expect(alice.subject.CN).toBe('alice');
    expect(bob.subject.CN).toBe('bob');
    expect(workload.subject.CN).toEqual(['payments', 'payments-backup']);
    expect(workload.san.uri).toEqual([SPIFFE]);
    expect(noCn.subject.CN).toBeUndefined();
  });
});

describe('defaultIdentify', () => {
  it('maps the subject CN to the user with no roles', () => {
    expect(defaultIdentify(alice)).toEqual({ user: 'alice', roles: [] });
    expect(defaultIdentify(bob)).toEqual({ user: 'bob', roles: [] });
  });

  it('refuses a certificate with more than one CN (IDENTITY_UNKNOWN, the detail names them)', () => {
    expect(() => defaultIdentify(workload)).toThrow(
      expect.objectContaining({
        code: 'IDENTITY_UNKNOWN',
        status: 403,
        detail: expect.stringContaining('2 subject CNs ("payments", "payments-backup")'),
      }),
    );
  });

  it('returns undefined for a certificate without a CN', () => {
    expect(defaultIdentify(noCn)).toBeUndefined();
  });
});

describe('byCommonName', () => {
  it('maps a string entry to that user with no roles', () => {
    const identify = byCommonName({ alice: 'alice@retail' });
    expect(identify(alice)).toEqual({ user: 'alice@retail', roles: [] });
  });

  it('maps an object entry; the user defaults to the table key', () => {
    const identify = byCommonName({
      alice: { roles: ['teller', 'auditor'] },
      bob: { user: 'robert', roles: ['teller'] },
    });
    expect(identify(alice)).toEqual({ user: 'alice', roles: ['teller', 'auditor'] });
    expect(identify(bob)).toEqual({ user: 'robert', roles: ['teller'] });
  });

  it('gives an object entry without roles an empty role list', () => {
    expect(byCommonName({ alice: {} })(alice)).toEqual({ user: 'alice', roles: [] });
  });

  it('returns undefined for a CN not in the table', () => {
    expect(byCommonName({ alice: 'alice' })(bob)).toBeUndefined();
  });

  it('is case-sensitive', () => {
    expect(byCommonName({ Alice: 'alice' })(alice)).toBeUndefined();
    expect(byCommonName({ ALICE: 'alice' })(alice)).toBeUndefined();
  });

  it('refuses a certificate with several CNs, whichever of them the table holds (the rule of defaultIdentify)', () => {
    const tables: IdentityTable[] = [
      { 'payments-backup': 'svc' },
      { payments: 'svc-a', 'payments-backup': 'svc-b' },
      {},
    ];
    for (const table of tables) {
      expect(() => byCommonName(table)(workload)).toThrow(expect.objectContaining({ code: 'IDENTITY_UNKNOWN' }));
    }
  });

  it('returns undefined for a certificate without a CN', () => {
    expect(byCommonName({ alice: 'alice' })(noCn)).toBeUndefined();
  });

  it('does not let later edits to the table or its role arrays change identities', () => {
    const roles = ['teller'];
    const table: Record<string, { roles: string[] }> = { alice: { roles } };
    const identify = byCommonName(table);
    roles.push('admin');
    table.bob = { roles: ['admin'] };
    expect(identify(alice)).toEqual({ user: 'alice', roles: ['teller'] });
    expect(identify(bob)).toBeUndefined();
  });

  it('returns frozen identities', () => {
    const id = byCommonName({ alice: { roles: ['teller'] } })(alice);
    expect(Object.isFrozen(id)).toBe(true);
    expect(Object.isFrozen((id as { roles: unknown }).roles)).toBe(true);
  });

  it('throws CONFIG_INVALID for a table that is not an object', () => {
    expect(() => byCommonName(null as never)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => byCommonName('alice' as never)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => byCommonName(['alice'] as never)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('bySubjectDN', () => {
  it('matches the RFC 4514 DN exactly as OpenSSL prints it with -nameopt RFC2253', () => {
    const identify = bySubjectDN({ [aliceDnFromOpenssl]: { roles: ['teller'] } });
    expect(identify(alice)).toEqual({ user: aliceDnFromOpenssl, roles: ['teller'] });
    expect(identify(bob)).toBeUndefined();
  });

  it('matches the literal DN CN=alice,OU=Retail,O=Example Bank', () => {
    const identify = bySubjectDN({ 'CN=alice,OU=Retail,O=Example Bank': 'alice' });
    expect(identify(alice)).toEqual({ user: 'alice', roles: [] });
  });

  it('is exact: other spacing, order or case does not match', () => {
    const identify = bySubjectDN({
      'CN=alice, OU=Retail, O=Example Bank': 'spaced',
      'O=Example Bank,OU=Retail,CN=alice': 'reversed',
      'cn=alice,ou=retail,o=example bank': 'lower',
    });
    expect(identify(alice)).toBeUndefined();
  });
});

describe('byEmail', () => {
  it('matches a SAN rfc822Name', () => {
    const identify = byEmail({ 'alice@bank.example': { user: 'alice', roles: ['teller'] } });
    expect(identify(alice)).toEqual({ user: 'alice', roles: ['teller'] });
    expect(identify(bob)).toBeUndefined();
  });

  it('ignores case on both sides by default', () => {
    expect(byEmail({ 'ALICE@Bank.Example': 'alice' })(alice)).toEqual({ user: 'alice', roles: [] });
    expect(workload.san.email).toEqual(['Payments@Bank.Example']);
    expect(byEmail({ 'payments@bank.example': 'svc' })(workload)).toEqual({ user: 'svc', roles: [] });
  });

  it('defaults the user to the table key as written', () => {
    expect(byEmail({ 'Alice@Bank.Example': {} })(alice)).toEqual({ user: 'Alice@Bank.Example', roles: [] });
  });

  it('does not match the subject CN or a certificate without a SAN email', () => {
    expect(byEmail({ alice: 'alice' })(alice)).toBeUndefined();
    expect(byEmail({ 'alice@bank.example': 'alice' })(noCn)).toBeUndefined();
  });
});

describe('byEmail with caseSensitiveLocalPart', () => {
  it('compares the local part exactly and the domain without case', () => {
    const identify = byEmail({ 'Payments@bank.example': 'svc' }, { caseSensitiveLocalPart: true });
    expect(identify(workload)).toEqual({ user: 'svc', roles: [] });
    expect(byEmail({ 'payments@Bank.Example': 'svc' }, { caseSensitiveLocalPart: true })(workload)).toBeUndefined();
  });

  it('keeps keys apart that differ in the local part only, which the default refuses as a clash', () => {
    const table = { 'Payments@bank.example': 'upper', 'payments@bank.example': 'lower' };
    expect(byEmail(table, { caseSensitiveLocalPart: true })(workload)).toEqual({ user: 'upper', roles: [] });
    expect(() => byEmail(table)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('match the same') }),
    );
  });

  it('refuses a non-boolean option', () => {
    expect(() => byEmail({}, { caseSensitiveLocalPart: 'yes' as never })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});

describe('one name rule for SAN helpers', () => {
  let twoNames: CertificateInfo;
  beforeAll(async () => {
    const made = makeSelfSigned({
      subject: '/O=Example Bank/CN=mallory',
      san: 'email:mallory@bank.example, email:admin@bank.example, URI:spiffe://b/mallory, URI:spiffe://b/admin',
    });
    twoNames = leafOf(await createVerifier({ ca: made.pem }).verify(made.pem));
  });

  it('byEmail and byUri refuse a certificate with several SAN emails or URIs, even if one is in the table', () => {
    expect(twoNames.san.email).toEqual(['mallory@bank.example', 'admin@bank.example']);
    expect(() => byEmail({ 'admin@bank.example': 'admin' })(twoNames)).toThrow(
      expect.objectContaining({ code: 'IDENTITY_UNKNOWN', detail: expect.stringContaining('2 SAN email addresses') }),
    );
    expect(() => byUri({ 'spiffe://b/admin': 'admin' })(twoNames)).toThrow(
      expect.objectContaining({ code: 'IDENTITY_UNKNOWN', detail: expect.stringContaining('2 SAN URIs') }),
    );
  });

  it('the single CN of that certificate still maps: the rule is per name type', () => {
    expect(byCommonName({ mallory: 'mallory' })(twoNames)).toEqual({ user: 'mallory', roles: [] });
  });
});

describe('byUri', () => {
  it('matches a SAN URI such as a SPIFFE ID', () => {
    const identify = byUri({ [SPIFFE]: { user: 'payments', roles: ['service'] } });
    expect(identify(workload)).toEqual({ user: 'payments', roles: ['service'] });
  });

  it('defaults the user to the URI', () => {
    expect(byUri({ [SPIFFE]: { roles: ['service'] } })(workload)).toEqual({ user: SPIFFE, roles: ['service'] });
  });

  it('is exact', () => {
    expect(byUri({ [SPIFFE.toUpperCase()]: 'x' })(workload)).toBeUndefined();
    expect(byUri({ [`${SPIFFE}/`]: 'x' })(workload)).toBeUndefined();
  });

  it('returns undefined for the dev PKI clients, which carry no URI', () => {
    expect(alice.san.uri).toEqual([]);
    expect(byUri({ [SPIFFE]: 'x', 'alice@bank.example': 'y' })(alice)).toBeUndefined();
  });
});

describe('byFingerprint', () => {
  it('matches the colon-separated uppercase fingerprint', () => {
    const identify = byFingerprint({ [alice.fingerprint256]: { user: 'alice', roles: ['pinned'] } });
    expect(identify(alice)).toEqual({ user: 'alice', roles: ['pinned'] });
    expect(identify(bob)).toBeUndefined();
  });

  it('ignores colons and case', () => {
    const bare = alice.fingerprint256.replace(/:/g, '');
    expect(byFingerprint({ [bare.toLowerCase()]: 'alice' })(alice)).toEqual({ user: 'alice', roles: [] });
    expect(byFingerprint({ [bare]: 'alice' })(alice)).toEqual({ user: 'alice', roles: [] });
    expect(byFingerprint({ [alice.fingerprint256.toLowerCase()]: 'alice' })(alice)).toEqual({
      user: 'alice',
      roles: [],
    });
  });

  it('defaults the user to the key as written', () => {
    const key = alice.fingerprint256.replace(/:/g, '').toLowerCase();
    expect(byFingerprint({ [key]: { roles: [] } })(alice)).toEqual({ user: key, roles: [] });
  });

  it('does not match another certificate or a truncated fingerprint', () => {
    expect(byFingerprint({ [alice.fingerprint256]: 'alice' })(bob)).toBeUndefined();
    expect(byFingerprint({ [alice.fingerprint256.slice(0, -3)]: 'alice' })(alice)).toBeUndefined();
  });
});

describe('identity table validation', () => {
  it.each([
    ['roles as a string (would become one-letter roles)', { alice: { roles: 'admin' } }],
    ['a null entry', { alice: null }],
    ['a number entry', { alice: 42 }],
    ['a non-string user', { alice: { user: 7 } }],
    ['roles with a non-string', { alice: { roles: ['ok', 3] } }],
  ])('refuses %s with CONFIG_INVALID naming the entry', (_label, table) => {
    expect(() => byCommonName(table as never)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('"alice"') }),
    );
  });
});

describe('table keys that match the same certificates', () => {
  it('are refused at creation, not decided by table order', () => {
    const bare = alice.fingerprint256.replace(/:/g, '');
    expect(() => byFingerprint({ [alice.fingerprint256]: 'a', [bare.toLowerCase()]: 'b' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => byEmail({ 'ALICE@bank.example': 'a', 'alice@BANK.example': 'b' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
