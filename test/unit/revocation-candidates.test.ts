/**
 * The rule for CRLs from files and URLs whose issuer is not configured (crl-slots.ts): per slot,
 * the newest verified CRL and at most one newer candidate; nothing unverified evicts a verified
 * CRL, and a later candidate replaces an earlier one whatever their CRL numbers.
 */
import { describe, expect, it } from 'vitest';
import type { ParsedCrl } from '../../src/revocation/crl.js';
import { keptAfterDelivery } from '../../src/revocation/crl-slots.js';

let nextId = 0;
function crl(
  number: number,
  options: { verified?: boolean; key?: string; issuer?: string; bytes?: number } = {},
): ParsedCrl {
  return {
    id: `crl-${nextId++}`,
    der: Buffer.alloc(options.bytes ?? 100),
    issuerKey: options.issuer ?? 'CN=Issuing CA',
    authorityKeyId: options.key ?? 'aa',
    scope: { onlyUserCerts: false, onlyCaCerts: false },
    crlNumber: BigInt(number),
    thisUpdate: new Date(1_700_000_000_000 + number * 1000),
    verifiedWith: new Set(options.verified ? ['issuer'] : []),
  } as unknown as ParsedCrl;
}

const numbers = (list: readonly ParsedCrl[]) =>
  list.map((c) => `${c.crlNumber}${c.verifiedWith.size > 0 ? 'v' : 'c'}`).sort();

describe('keptAfterDelivery', () => {
  it('a first candidate enters alone', () => {
    expect(numbers(keptAfterDelivery([], [crl(5)]).kept)).toEqual(['5c']);
  });

  it('a newer candidate sits beside the verified CRL, never evicting it', () => {
    const verified = crl(5, { verified: true });
    expect(numbers(keptAfterDelivery([verified], [crl(6)]).kept)).toEqual(['5v', '6c']);
  });

  it('a later candidate replaces an earlier one whatever their numbers (a forgery cannot block)', () => {
    const verified = crl(5, { verified: true });
    const forged = crl(1_000_000);
    const after = keptAfterDelivery([verified, forged], [crl(6)]).kept;
    expect(numbers(after)).toEqual(['5v', '6c']);
  });

  it('a candidate that verified at use becomes the verified CRL and drops the older one', () => {
    const old = crl(5, { verified: true });
    const candidate = crl(6);
    candidate.verifiedWith.add('issuer');
    expect(numbers(keptAfterDelivery([old, candidate], []).kept)).toEqual(['6v']);
  });

  it('a newer verified delivery replaces both the verified CRL and an older candidate', () => {
    const after = keptAfterDelivery([crl(5, { verified: true }), crl(6)], [crl(7, { verified: true })]).kept;
    expect(numbers(after)).toEqual(['7v']);
  });

  it('a candidate not newer than the verified CRL is not kept', () => {
    expect(numbers(keptAfterDelivery([crl(7, { verified: true })], [crl(7)]).kept)).toEqual(['7v']);
  });

  it('the same CRL delivered again keeps its object, and what is known of its signature', () => {
    const inUse = crl(5);
    inUse.verifiedWith.add('issuer');
    const again = { ...inUse, verifiedWith: new Set<string>() } as ParsedCrl;
    const after = keptAfterDelivery([inUse], [again]).kept;
    expect(after).toEqual([inUse]);
    expect(after[0]).toBe(inUse);
  });

  it('slots apart (another key, another issuer) are kept apart, and an uncovered slot stays', () => {
    const a = crl(5, { verified: true });
    const b = crl(9, { key: 'bb' });
    const c = crl(2, { issuer: 'CN=Other CA', verified: true });
    expect(numbers(keptAfterDelivery([a, b, c], [crl(6, { key: 'bb' })]).kept)).toEqual(['2v', '5v', '6c']);
  });

  it('candidates of slots a delivery no longer covers stay while they fit in maxBytes, oldest dropped first', () => {
    const x = crl(1, { issuer: 'CN=X', bytes: 400 });
    const y = crl(1, { issuer: 'CN=Y', bytes: 400 });
    const verified = crl(3, { issuer: 'CN=V', verified: true, bytes: 5000 });
    const fits = keptAfterDelivery([x, verified], [y], 800);
    expect(fits.kept.map((c) => c.issuerKey).sort()).toEqual(['CN=V', 'CN=X', 'CN=Y']);
    expect(fits.dropped).toEqual([]);
    const z = crl(1, { issuer: 'CN=Z', bytes: 400 });
    const over = keptAfterDelivery(fits.kept, [z], 800);
    // X is the oldest untouched candidate; the verified CRL never counts and never goes.
    expect(over.dropped).toEqual([x]);
    expect(over.kept.map((c) => c.issuerKey).sort()).toEqual(['CN=V', 'CN=Y', 'CN=Z']);
  });
});
