/**
 * Attacks on candidate CRLs (a file or URL CRL whose issuer is not configured: crl-slots.ts), from
 * a review of that rule. The attacker is on the path to a plain-http CRL URL (serves any bytes,
 * replays, signs with other keys under the issuing CA's name), or holds another CA certificate of
 * that name. `ca` is the root only; clients send their issuing CA. Each test failed before its fix.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import { issue, type Made } from '../unit/pki.js';
import {
  CLIENT_AUTH,
  clientSentPki,
  crlPem,
  der,
  makeCrl,
  newKeys,
  NOW,
  randomHex,
  serveBody,
  type Served,
} from '../helpers/crl-forge.js';
import { removeTempDirs, tempDir } from '../helpers/oracle.js';
import { OpensslCa } from '../helpers/openssl-ca.js';
import { MAX_CANDIDATES_PER_DELIVERY } from '../../src/revocation/crl-slots.js';

let p: Awaited<ReturnType<typeof clientSentPki>>;
let site: Served;
const verifiers: Verifier[] = [];

beforeAll(async () => {
  [p, site] = await Promise.all([clientSentPki(), serveBody()]);
});
afterAll(async () => {
  for (const v of verifiers) v.close();
  await site.close();
  removeTempDirs();
});

function live(extra: Record<string, unknown> = {}, crl: Record<string, unknown> = {}): Verifier {
  const v = createVerifier({
    ca: der(p.root),
    crl: { urls: [site.url], fetchTimeoutMs: 2_000, ...crl },
    clock: { now: () => NOW },
    ...extra,
  });
  verifiers.push(v);
  return v;
}

async function outcome(v: Verifier, leaf: Made, ca: Made = p.issuing): Promise<string> {
  const r = await v.verify([der(leaf), der(ca)]);
  return r.ok ? 'accepted' : r.code;
}

describe('a CRL of another key under the same name (no AKI) never takes the issuing CA’s place', () => {
  for (const whenUnavailable of ['reject', 'allow'] as const)
    for (const twinRevoked of [false, true])
      it(`whenUnavailable ${whenUnavailable}, the twin CA revoked by the root: ${twinRevoked}`, async () => {
        const twin = await issue({ subject: 'CN=Candidate Issuing CA', issuer: p.root, ca: true });
        const carol = await issue({ subject: 'CN=carol', issuer: twin, eku: [CLIENT_AUTH] });
        const aliceSerial = p.alice.x509.serialNumber;
        site.body = await makeCrl({ by: p.issuing, aki: null, number: 10, revoked: [aliceSerial] });
        const rootCrl = await makeCrl({ by: p.root, number: 1, revoked: twinRevoked ? [twin.x509.serialNumber] : [] });
        const v = live({}, { whenUnavailable, values: rootCrl });
        expect(await outcome(v, p.alice)).toBe('CERT_REVOKED');
        // Served once: a CRL signed with the twin's key, a high number, no entries; a twin client connects.
        site.body = await makeCrl({ by: twin, aki: null, number: 500 });
        await v.refreshCrls();
        expect(await outcome(v, p.alice)).toBe('CERT_REVOKED');
        expect(await outcome(v, carol, twin)).toBe(twinRevoked ? 'CERT_REVOKED' : 'accepted');
        for (const number of [11, 12]) {
          site.body = await makeCrl({ by: p.issuing, aki: null, number, revoked: [aliceSerial] });
          await v.refreshCrls();
          expect(await outcome(v, p.alice)).toBe('CERT_REVOKED');
        }
      });
});

describe('a forged CRL naming a configured CA is refused, not kept', () => {
  for (const intermediates of [false, true])
    it(`root ${intermediates ? '+ intermediates' : 'only'}: every client stays accepted`, async () => {
      site.body = await makeCrl({ by: p.issuing, number: 10 });
      const v = live(intermediates ? { intermediates: der(p.issuing) } : {});
      const rejected: string[] = [];
      v.on('crl-rejected', (e) => rejected.push(e.issuer));
      expect(await outcome(v, p.alice)).toBe('accepted');
      // A CRL "of the root", any key, a made-up AKI, served once.
      site.body = await makeCrl({ by: p.root, keys: await newKeys(), aki: randomHex(), number: 1 });
      await v.refreshCrls();
      expect(await outcome(v, p.alice)).toBe('accepted');
      site.body = await makeCrl({ by: p.issuing, number: 11 });
      await v.refreshCrls();
      expect(await outcome(v, p.bob)).toBe('accepted');
      expect(rejected).toEqual(['CN=Candidate Root']);
    });
});

describe('a flood of forged CRLs under the issuing CA’s name', () => {
  it(`keeps at most ${MAX_CANDIDATES_PER_DELIVERY} per delivery, and refusal details stay short`, async () => {
    const genuine = await makeCrl({ by: p.issuing, number: 10 });
    const forged = await Promise.all(
      Array.from({ length: 300 }, (_, i) => makeCrl({ by: p.issuing, keys: p.root.keys, aki: randomHex(), number: i })),
    );
    site.body = crlPem(forged);
    const v = live();
    const refused: string[] = [];
    v.on('crl-rejected', (e) => refused.push(e.reason));
    const r = await v.verify([der(p.alice), der(p.issuing)]);
    expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');
    expect(refused.filter((reason) => reason.startsWith('not kept: more than 16'))).toHaveLength(300 - 16);
    expect(r.ok ? '' : r.detail).toMatch(/; and 11 more\)$/);
    expect((r.ok ? '' : r.detail).length).toBeLessThan(2_000);
    site.body = crlPem([genuine, ...forged.slice(0, 10)]);
    await v.refreshCrls();
    expect(await outcome(v, p.alice)).toBe('accepted');
  });
});

describe('a replayed older CRL', () => {
  it('cannot roll back a newer one once the issuer is learned from a verified path', async () => {
    site.body = await makeCrl({ by: p.issuing, number: 10 });
    const v = live();
    expect(await outcome(v, p.bob)).toBe('accepted');
    const replay = await makeCrl({ by: p.issuing, number: 11 });
    site.body = await makeCrl({ by: p.issuing, number: 12, revoked: [p.alice.x509.serialNumber] });
    await v.refreshCrls();
    site.body = replay;
    await v.refreshCrls();
    expect(await outcome(v, p.alice)).toBe('CERT_REVOKED');
  });
});

describe('a forged large CRL beside a verified one (its signature checked off the request path)', () => {
  let issuingCa: OpensslCa;
  let rootCa: OpensslCa;
  let small: Buffer;
  let forgedLarge: Buffer;
  let alice: { chain: Buffer };
  let bob: { chain: Buffer };
  beforeAll(() => {
    rootCa = OpensslCa.root(tempDir('certgate-candidates-'), 'Candidate OpenSSL Root');
    issuingCa = rootCa.intermediate('Candidate OpenSSL Issuing', []);
    const a = issuingCa.leaf('alice', []);
    bob = issuingCa.leaf('bob', []);
    alice = a;
    issuingCa.revoke(a.file);
    small = issuingCa.crl();
    issuingCa.revokeMany(60_000);
    forgedLarge = Buffer.from(issuingCa.crl());
    forgedLarge.writeUInt8((forgedLarge.at(-1) as number) ^ 1, forgedLarge.length - 1);
  });

  for (const whenUnavailable of ['reject', 'allow'] as const)
    it(`falls back to the verified CRL, concurrent requests alike (${whenUnavailable})`, async () => {
      site.body = small;
      const v = createVerifier({
        ca: readFileSync(rootCa.cert),
        crl: { urls: [site.url], fetchTimeoutMs: 5_000, whenUnavailable },
      });
      verifiers.push(v);
      const unknown: unknown[] = [];
      v.on('revocation-unknown', (e) => unknown.push(e));
      const code = async (c: { chain: Buffer }) => {
        const r = await v.verify(c.chain);
        return r.ok ? 'accepted' : r.code;
      };
      expect(await code(alice)).toBe('CERT_REVOKED');
      site.body = forgedLarge;
      await v.refreshCrls();
      expect(await Promise.all([code(alice), code(bob), code(alice), code(bob)])).toEqual([
        'CERT_REVOKED',
        'accepted',
        'CERT_REVOKED',
        'accepted',
      ]);
      expect([await code(alice), await code(bob)]).toEqual(['CERT_REVOKED', 'accepted']);
      expect(unknown).toEqual([]);
    }, 120_000);
});
