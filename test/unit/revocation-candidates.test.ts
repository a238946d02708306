/**
 * The rule for CRLs from files and URLs whose issuer is not configured (crl-slots.ts SourceCrls):
 * verified CRLs kept per slot and key, candidates = the latest delivery's (at most
 * MAX_CANDIDATES_PER_DELIVERY), a candidate learned once it verifies with a path's issuer; and
 * a candidate's nextUpdate never pulls a fetch nearer than MIN_CANDIDATE_REFETCH_MS.
 */
import { describe, expect, it } from 'vitest';
import type { ParsedCertificate } from '../../src/x509/certificate.js';
import type { ParsedCrl } from '../../src/revocation/crl.js';
import { MAX_CANDIDATES_PER_DELIVERY, SourceCrls } from '../../src/revocation/crl-slots.js';
import { MIN_CANDIDATE_REFETCH_MS, refetchAfter } from '../../src/revocation/crl-source-status.js';

let nextId = 0;
function crl(number: number, options: { key?: string; issuer?: string; lifetimeMs?: number } = {}): ParsedCrl {
  const thisUpdate = 1_700_000_000_000 + number * 1000;
  return {
    id: `crl-${nextId++}`,
    issuerKey: options.issuer ?? 'CN=Issuing CA',
    issuerDN: options.issuer ?? 'CN=Issuing CA',
    authorityKeyId: options.key ?? 'aa',
    scope: { onlyUserCerts: false, onlyCaCerts: false },
    crlNumber: BigInt(number),
    thisUpdate: new Date(thisUpdate),
    nextUpdate: new Date(thisUpdate + (options.lifetimeMs ?? 86_400_000)),
    verifiedWith: new Set<string>(),
  } as unknown as ParsedCrl;
}

function signer(name: string): ParsedCertificate {
  return { id: name, spki: Buffer.from(name), subjectKey: 'CN=Issuing CA' } as unknown as ParsedCertificate;
}

const A = signer('key A');
const B = signer('key B');
const numbers = (kept: SourceCrls) => kept.list.map((c) => Number(c.crlNumber)).sort((x, y) => x - y);

describe('SourceCrls', () => {
  it('a candidate beside the verified CRL never evicts it', () => {
    const kept = new SourceCrls([]);
    kept.deliver([{ crl: crl(5), signer: A }]);
    kept.deliver([{ crl: crl(6), signer: undefined }]);
    expect(numbers(kept)).toEqual([5, 6]);
    expect(kept.verifiedCrls.map((c) => Number(c.crlNumber))).toEqual([5]);
  });

  it('the latest delivery replaces earlier candidates whatever their numbers (a forgery cannot block)', () => {
    const kept = new SourceCrls([]);
    kept.deliver([{ crl: crl(1_000_000), signer: undefined }]);
    kept.deliver([{ crl: crl(6), signer: undefined }]);
    expect(numbers(kept)).toEqual([6]);
  });

  it('a verified candidate is learned: verified with that key, the signer remembered for the name', () => {
    const kept = new SourceCrls([]);
    const candidate = crl(6);
    kept.deliver([
      { crl: crl(5), signer: A },
      { crl: candidate, signer: undefined },
    ]);
    expect(kept.learn(candidate, A)).toBe(true);
    expect(kept.verifiedCrls.map((c) => Number(c.crlNumber))).toEqual([6]);
    expect(kept.unverifiedCrls).toEqual([]);
    expect(kept.learnedSigners('CN=Issuing CA')).toEqual([A]);
    expect(kept.learn(candidate, A)).toBe(false);
  });

  it('CRLs verified with different keys keep apart: neither outranks the other', () => {
    const kept = new SourceCrls([]);
    kept.deliver([{ crl: crl(10), signer: A }]);
    kept.deliver([{ crl: crl(500), signer: B }]);
    kept.deliver([{ crl: crl(11), signer: A }]);
    expect(numbers(kept)).toEqual([11, 500]);
    expect(kept.verifiedFor(crl(0), A)?.crlNumber).toBe(11n);
  });

  it(`keeps at most ${MAX_CANDIDATES_PER_DELIVERY} candidates of one delivery and returns the rest`, () => {
    const kept = new SourceCrls([]);
    const delivery = Array.from({ length: 20 }, (_, i) => ({ crl: crl(i, { key: `k${i}` }), signer: undefined }));
    expect(kept.deliver(delivery)).toHaveLength(20 - MAX_CANDIDATES_PER_DELIVERY);
    expect(kept.unverifiedCrls).toHaveLength(MAX_CANDIDATES_PER_DELIVERY);
  });

  it('the same CRL delivered again keeps its object and what is known of its signature', () => {
    const first = crl(5);
    const kept = new SourceCrls([first]);
    const again = { ...first, verifiedWith: new Set(['x']) } as ParsedCrl;
    kept.deliver([{ crl: again, signer: undefined }]);
    expect(kept.unverifiedCrls[0]).toBe(first);
    expect([...first.verifiedWith]).toEqual(['x']);
  });
});

describe('refetchAfter', () => {
  const now = 1_700_000_000_000;
  it('a candidate with a 3-second lifetime pulls the next fetch no nearer than a minute', () => {
    const shortLived = crl(1, { lifetimeMs: 3_000 });
    expect(refetchAfter([], [shortLived], now) - now).toBeGreaterThanOrEqual(MIN_CANDIDATE_REFETCH_MS);
  });
  it('a verified CRL sets the pace as ever: a tenth of its lifetime, at most a minute, early', () => {
    const verified = crl(1, { lifetimeMs: 600_000 });
    const next = (verified.nextUpdate as Date).getTime();
    expect(refetchAfter([verified], [], now)).toBe(next - 60_000);
    expect(refetchAfter([verified], [crl(2, { lifetimeMs: 3_000 })], now)).toBe(now + MIN_CANDIDATE_REFETCH_MS);
  });
});
