/**
 * RFC 5280 section 6.3 pieces on CRLs built here (unsigned DER, decoded by the real decoder):
 * indirect CRL entries (5.3.3 certificateIssuer, carried forward), removeFromCRL (5.3.1) on both
 * entry-extension paths, which delta updates which complete CRL (5.2.4), the reasons a CRL covers
 * for a point (6.3.3 (d)), the point rules for cRLIssuer and relative names (6.3.3 (b)), and the
 * worker path handing the same notes as parseCrl.
 */
import { describe, expect, it } from 'vitest';
import { encodeElement, readElement, TAG } from '../../src/x509/der.js';
import type { ParsedCertificate } from '../../src/x509/certificate.js';
import { ALL_REASONS, readDistributionPoints, type DistributionPoint } from '../../src/x509/distribution-points.js';
import {
  crlFromIndexedEntries,
  indexEntries,
  indexEntriesInSlices,
  parseCrl,
  parseCrlAsync,
  type ParsedCrl,
} from '../../src/revocation/crl.js';
import { deltaOf, entryFor, pointProblem, reasonsCovered } from '../../src/revocation/crl-scope.js';
import {
  MAX_CERTIFICATE_ISSUER_BYTES,
  MAX_INDIRECT_CRL_ISSUERS,
  MAX_REMOVED_ENTRIES,
} from '../../src/revocation/crl-entries.js';
import { unusableReason } from '../../src/revocation/crl-usability.js';

const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
const hex = (h: string) => Buffer.from(h, 'hex');
const octets = (b: Buffer) => encodeElement(TAG.OCTET_STRING, b);
const ECDSA_SHA256 = hex('300a06082a8648ce3d040302');
const TRUE = hex('0101ff');
const time = (s: string) => encodeElement(TAG.GENERALIZED_TIME, Buffer.from(s, 'latin1'));
const THIS_UPDATE = time('20300101000000Z');
const NEXT_UPDATE = time('20300102000000Z');

/** CN=<cn> as an RDN (SET OF one AttributeTypeAndValue) and as a Name. */
const rdn = (cn: string) =>
  encodeElement(TAG.SET, seq(hex('0603550403'), encodeElement(TAG.UTF8_STRING, Buffer.from(cn))));
const name = (cn: string) => seq(rdn(cn));
/** DistributionPointName choices: nameRelativeToCRLIssuer [1] CN=<cn>, fullName [0] one URI. */
const relative = (cn: string) =>
  encodeElement(0xa1, seq(hex('0603550403'), encodeElement(TAG.UTF8_STRING, Buffer.from(cn))));
const fullUri = (url: string) => encodeElement(0xa0, encodeElement(0x86, Buffer.from(url)));

/** ReasonFlags bits as a BIT STRING's content (unused-bits octet, then two octets). */
function reasonBits(...bits: number[]): Buffer {
  let v = 0;
  for (const b of bits) v |= 0x8000 >> b;
  return Buffer.from([0, v >> 8, v & 0xff]);
}
const REASON = { keyCompromise: 1, cACompromise: 2, affiliationChanged: 3, superseded: 4, aACompromise: 8 };

// Entry extensions (RFC 5280 section 5.3).
const reason = (code: number) => seq(hex('0603551d15'), octets(encodeElement(0x0a, Buffer.from([code]))));
const invalidity = seq(hex('0603551d18'), octets(time('20291231000000Z')));
const certificateIssuer = (cn: string) => seq(hex('0603551d1d'), TRUE, octets(seq(encodeElement(0xa4, name(cn)))));
const REMOVE_FROM_CRL = 8;

function entry(serial: string, ...exts: Buffer[]): Buffer {
  const date = encodeElement(TAG.UTC_TIME, Buffer.from('291231000000Z', 'latin1'));
  return seq(encodeElement(TAG.INTEGER, hex(serial)), date, ...(exts.length ? [seq(...exts)] : []));
}

interface Spec {
  issuer?: string;
  number?: number;
  /** A delta CRL of this base. */
  base?: number;
  keyId?: string;
  /** issuingDistributionPoint: its distributionPoint (a DistributionPointName's content), reasons, indirect. */
  dp?: Buffer;
  reasons?: Buffer;
  indirect?: boolean;
  entries?: Buffer[];
}

/** An unsigned v2 CRL of issuer CN=<issuer> (default "CA A"), decoded by parseCrl unless `raw`. */
function crlDer(spec: Spec = {}): Buffer {
  const exts = [seq(hex('0603551d14'), octets(encodeElement(TAG.INTEGER, Buffer.from([spec.number ?? 5]))))];
  if (spec.keyId) exts.push(seq(hex('0603551d23'), octets(seq(encodeElement(0x80, hex(spec.keyId))))));
  if (spec.base !== undefined)
    exts.push(seq(hex('0603551d1b'), TRUE, octets(encodeElement(TAG.INTEGER, Buffer.from([spec.base])))));
  if (spec.dp || spec.reasons || spec.indirect) {
    const idp = seq(
      spec.dp ? encodeElement(0xa0, spec.dp) : Buffer.alloc(0),
      spec.reasons ? encodeElement(0x83, spec.reasons) : Buffer.alloc(0),
      spec.indirect ? encodeElement(0x84, hex('ff')) : Buffer.alloc(0),
    );
    exts.push(seq(hex('0603551d1c'), TRUE, octets(idp)));
  }
  const entries = spec.entries?.length ? [seq(...spec.entries)] : [];
  const tbs = seq(
    hex('020101'),
    ECDSA_SHA256,
    name(spec.issuer ?? 'CA A'),
    THIS_UPDATE,
    NEXT_UPDATE,
    ...entries,
    encodeElement(0xa0, seq(...exts)),
  );
  return seq(tbs, ECDSA_SHA256, encodeElement(TAG.BIT_STRING, hex('00010203')));
}
const crl = (spec: Spec = {}): ParsedCrl => parseCrl(crlDer(spec));

const KEY_A = crl().issuerKey;
const KEY_B = crl({ issuer: 'CA B' }).issuerKey;

/** Only the fields the scope rules read. */
function cert(issuerKey: string, serial: string, distributionPoints?: DistributionPoint[]): ParsedCertificate {
  const fields = { id: `${issuerKey}/${serial}`, issuerKey, serial: hex(serial), serialKey: serial };
  return { ...fields, ...(distributionPoints ? { distributionPoints } : {}) } as ParsedCertificate;
}

describe('indirect CRL entries (RFC 5280 sections 5.2.5, 5.3.3)', () => {
  const indirect = crl({
    indirect: true,
    entries: [
      entry('01'),
      entry('02', certificateIssuer('CA B'), reason(REASON.keyCompromise)),
      // No certificateIssuer: the one before still applies (carried forward).
      entry('03'),
      entry('04', reason(REASON.superseded)),
      entry('07', reason(REMOVE_FROM_CRL)),
      // Naming the CRL's own issuer again: the entries after are its own.
      entry('05', certificateIssuer('CA A')),
      entry('06', reason(REASON.keyCompromise)),
    ],
  });

  it('carries certificateIssuer forward until the next one, back to the CRL issuer when named again', () => {
    expect(unusableReason(indirect)).toBeUndefined();
    const status = (key: string, serial: string) => entryFor(indirect, cert(key, serial)) ?? 'not listed';
    expect(['01', '05', '06'].map((s) => status(KEY_A, s))).toEqual(['revoked', 'revoked', 'revoked']);
    expect(['02', '03', '04', '07'].map((s) => status(KEY_B, s))).toEqual(['revoked', 'revoked', 'revoked', 'removed']);
    // Same serials under the other issuer are not listed.
    expect(['02', '03', '04', '07'].map((s) => status(KEY_A, s))).toEqual(Array(4).fill('not listed'));
    expect(['01', '05', '06'].map((s) => status(KEY_B, s))).toEqual(Array(3).fill('not listed'));
    expect([...indirect.revoked].sort()).toEqual(['01', '05', '06']);
    expect(indirect.notes?.others.size).toBe(1);
  });

  it('a CRL that is not indirect lists no other issuer, and one naming another issuer is unusable', () => {
    const direct = crl({ entries: [entry('02', certificateIssuer('CA B'))] });
    expect(unusableReason(direct)).toMatch(/not indirect/);
    // Even naming its own issuer: certificateIssuer belongs to indirect CRLs only.
    expect(unusableReason(crl({ entries: [entry('02', certificateIssuer('CA A'))] }))).toMatch(/not indirect/);
    expect(entryFor(crl({ entries: [entry('02')] }), cert(KEY_B, '02'))).toBeUndefined();
  });
});

describe('removeFromCRL (RFC 5280 section 5.3.1)', () => {
  it.each([
    ['a reason code alone (the recognised-bytes path)', [reason(REMOVE_FROM_CRL)]],
    ['a reason code with an invalidity date (the decoding path)', [reason(REMOVE_FROM_CRL), invalidity]],
    ['an invalidity date before the reason code', [invalidity, reason(REMOVE_FROM_CRL)]],
  ])('%s: a note, not a revocation', (_name, exts) => {
    const delta = crl({ number: 6, base: 5, entries: [entry('0a', ...exts), entry('0b', reason(6), invalidity)] });
    expect(entryFor(delta, cert(KEY_A, '0a'))).toBe('removed');
    expect(entryFor(delta, cert(KEY_A, '0b'))).toBe('revoked');
    expect([...delta.revoked]).toEqual(['0b']);
    expect([...(delta.notes?.removed ?? [])]).toEqual(['0a']);
  });

  it(`keeps at most ${MAX_REMOVED_ENTRIES} of them: a CRL with more is unusable`, () => {
    const serials = (count: number) =>
      Array.from({ length: count }, (_, i) => entry((0x100000 + i).toString(16), reason(REMOVE_FROM_CRL)));
    expect(unusableReason(crl({ number: 6, base: 5, entries: serials(MAX_REMOVED_ENTRIES) }))).toBeUndefined();
    const over = crl({ number: 6, base: 5, entries: serials(MAX_REMOVED_ENTRIES + 1) });
    expect(unusableReason(over)).toMatch(`more than ${MAX_REMOVED_ENTRIES} removeFromCRL entries`);
  });
});

describe('deltaOf (RFC 5280 sections 5.2.4, 6.3.3 (c))', () => {
  const complete = crl({ number: 5, keyId: 'aa' });

  it.each([
    ['base equal to the complete CRL number, itself newer', { base: 5, number: 6 }, true],
    ['base older than the complete CRL', { base: 3, number: 9 }, true],
    ['base newer than the complete CRL', { base: 6, number: 7 }, false],
    ['not newer than the complete CRL', { base: 4, number: 5 }, false],
    ['another issuer', { base: 5, number: 6, issuer: 'CA B' }, false],
    ['another key', { base: 5, number: 6, keyId: 'bb' }, false],
    ['another scope (a distribution point)', { base: 5, number: 6, dp: relative('part') }, false],
    ['another scope (some reasons)', { base: 5, number: 6, reasons: reasonBits(REASON.keyCompromise) }, false],
  ] as const)('%s: %s', (_name, spec, expected) => {
    expect(deltaOf(crl({ keyId: 'aa', ...spec }), complete)).toBe(expected);
  });

  it('a complete CRL is no delta of another', () => {
    expect(deltaOf(crl({ number: 6, keyId: 'aa' }), complete)).toBe(false);
  });
});

describe('reasonsCovered (RFC 5280 section 6.3.3 (d))', () => {
  const some = crl({ reasons: reasonBits(REASON.keyCompromise, REASON.cACompromise, REASON.aACompromise) });

  it('intersects the CRL onlySomeReasons with the point reasons; absent means every reason', () => {
    expect(reasonsCovered(crl(), {})).toBe(ALL_REASONS);
    const kc = 1 << REASON.keyCompromise;
    const ca = 1 << REASON.cACompromise;
    const aa = 1 << REASON.aACompromise;
    expect(reasonsCovered(some, {})).toBe(kc | ca | aa);
    expect(reasonsCovered(some, { reasons: kc | (1 << REASON.superseded) })).toBe(kc);
    expect(reasonsCovered(crl(), { reasons: 1 << REASON.superseded })).toBe(1 << REASON.superseded);
    expect(reasonsCovered(some, { reasons: 1 << REASON.superseded })).toBe(0);
  });

  it('the unused bit 0 is no reason', () => {
    expect(reasonsCovered(crl({ reasons: reasonBits(0, REASON.keyCompromise) }), {})).toBe(1 << REASON.keyCompromise);
  });
});

/** A certificate's cRLDistributionPoints (one point), decoded as for a certificate issued by CA A. */
function pointOf(dp: { name?: Buffer; crlIssuer?: string }): DistributionPoint {
  const der = seq(
    seq(
      dp.name ? encodeElement(0xa0, dp.name) : Buffer.alloc(0),
      dp.crlIssuer ? encodeElement(0xa2, encodeElement(0xa4, name(dp.crlIssuer))) : Buffer.alloc(0),
    ),
  );
  const [point] = readDistributionPoints(der, readElement(der, 0, der.length), crl().issuerName);
  if (!point) throw new Error('no point');
  return point;
}

describe('pointProblem (RFC 5280 section 6.3.3 (b))', () => {
  it("a point naming a cRLIssuer is served by that issuer's indirect CRL only", () => {
    const point = pointOf({ crlIssuer: 'CA B' });
    expect(point.crlIssuers).toEqual([KEY_B]);
    const leaf = cert(KEY_A, '01', [point]);
    expect(pointProblem(crl({ issuer: 'CA B', indirect: true }), leaf, point)).toBeUndefined();
    expect(pointProblem(crl({ issuer: 'CA B' }), leaf, point)).toMatch(/not an indirect CRL/);
    expect(pointProblem(crl({ indirect: true }), leaf, point)).toMatch(/not the CRL issuer the certificate names/);
  });

  it("a point without cRLIssuer is served by its certificate's issuer only", () => {
    const point = pointOf({ name: fullUri('http://crl.example/a.crl') });
    const leaf = cert(KEY_A, '01', [point]);
    expect(pointProblem(crl({ issuer: 'CA B', indirect: true }), leaf, point)).toMatch(/another CA/);
    expect(pointProblem(crl({ dp: fullUri('http://crl.example/a.crl') }), leaf, point)).toBeUndefined();
    expect(pointProblem(crl({ dp: fullUri('http://crl.example/b.crl') }), leaf, point)).toMatch(/another distribution/);
  });

  it("a partitioned indirect CRL serves a nameless cRLIssuer point only when partitioned by that issuer's name", () => {
    const point = pointOf({ crlIssuer: 'CA B' });
    const leaf = cert(KEY_A, '01', [point]);
    const byUri = crl({ issuer: 'CA B', indirect: true, dp: fullUri('http://crl.example/b.crl') });
    expect(pointProblem(byUri, leaf, point)).toMatch(/another distribution point/);
    const byName = crl({ issuer: 'CA B', indirect: true, dp: encodeElement(0xa0, encodeElement(0xa4, name('CA B'))) });
    expect(pointProblem(byName, leaf, point)).toBeUndefined();
  });

  it("relative names resolve against the CRL issuer: the certificate's issuer, or its cRLIssuer", () => {
    const own = pointOf({ name: relative('part1') });
    const leaf = cert(KEY_A, '01', [own]);
    expect(own.names).toEqual(crl({ dp: relative('part1') }).scope.distributionPoint);
    expect(pointProblem(crl({ dp: relative('part1') }), leaf, own)).toBeUndefined();
    expect(pointProblem(crl({ dp: relative('part2') }), leaf, own)).toMatch(/another distribution point/);

    const viaB = pointOf({ name: relative('part1'), crlIssuer: 'CA B' });
    const crlB = crl({ issuer: 'CA B', indirect: true, dp: relative('part1') });
    expect(viaB.names).toEqual(crlB.scope.distributionPoint);
    expect(viaB.names).not.toEqual(own.names);
    expect(pointProblem(crlB, cert(KEY_A, '01', [viaB]), viaB)).toBeUndefined();
  });
});

describe('the worker path (indexEntries, then crlFromIndexedEntries) keeps what parseCrl keeps', () => {
  const cases: [string, Buffer][] = [
    [
      'an indirect CRL with other issuers and removeFromCRL entries',
      crlDer({
        indirect: true,
        entries: [
          entry('01', reason(REMOVE_FROM_CRL)),
          entry('02', certificateIssuer('CA B'), reason(REASON.keyCompromise)),
          entry('03', reason(REMOVE_FROM_CRL), invalidity),
          entry('04', certificateIssuer('CA C')),
          entry('05', certificateIssuer('CA A')),
        ],
      }),
    ],
    ['a delta CRL lifting a hold', crlDer({ number: 6, base: 5, entries: [entry('0a', reason(REMOVE_FROM_CRL))] })],
    ['a CRL without notes', crlDer({ entries: [entry('01', reason(REASON.keyCompromise))] })],
    ['a CRL made unusable by its entries', crlDer({ entries: [entry('02', certificateIssuer('CA B'))] })],
  ];

  it.each(cases)('%s', async (_name, der) => {
    const direct = parseCrl(der);
    // What crosses to the main thread is structured-cloned, as postMessage does.
    const viaWorker = await crlFromIndexedEntries(der, structuredClone(indexEntries(der)));
    const sliced = await crlFromIndexedEntries(
      der,
      structuredClone(await indexEntriesInSlices(der, 0, async () => {})),
    );
    for (const other of [viaWorker, sliced]) {
      expect(other.notes).toEqual(direct.notes);
      expect([...other.revoked].sort()).toEqual([...direct.revoked].sort());
      expect(other.unusableBecause).toBe(direct.unusableBecause);
      expect(other.id).toBe(direct.id);
    }
  });

  it('the notes are there to compare (the cases are not vacuous)', () => {
    const notes = parseCrl(cases[0]![1]).notes;
    expect(notes?.removed).toEqual(new Set(['01']));
    // 03 follows CA B's certificateIssuer: CA B's hold lifted, not CA A's.
    expect([...(notes?.others.values() ?? [])].map((m) => [...m.entries()])).toEqual([
      [
        ['02', 'revoked'],
        ['03', 'removed'],
      ],
      [['04', 'revoked']],
    ]);
  });
});

describe('the cost of an indirect CRL: at most MAX_INDIRECT_CRL_ISSUERS certificate issuers', () => {
  const manyIssuers = (n: number) =>
    crl({
      indirect: true,
      entries: Array.from({ length: n }, (_, i) => entry((0x1000 + i).toString(16), certificateIssuer(`CA ${i}`))),
    });

  it('keeps the entries of up to the cap', () => {
    const atCap = manyIssuers(MAX_INDIRECT_CRL_ISSUERS);
    expect(unusableReason(atCap)).toBeUndefined();
    expect(atCap.notes?.others.size).toBe(MAX_INDIRECT_CRL_ISSUERS);
    expect(entryFor(atCap, cert(crl({ issuer: 'CA 7' }).issuerKey, '1007'))).toBe('revoked');
  });

  it('one issuer more makes the CRL unusable and drops what it kept', () => {
    const over = manyIssuers(MAX_INDIRECT_CRL_ISSUERS + 1);
    expect(unusableReason(over)).toBe(`it names more than ${MAX_INDIRECT_CRL_ISSUERS} certificate issuers`);
    expect(over.notes?.others.size).toBe(0);
  });

  it('decodes at most that many certificateIssuer encodings, even of one issuer (case variants)', () => {
    // Names compare case-insensitively: 1,001 spellings of one issuer, each decoded once.
    const spelling = (i: number) => [...'abcdefghijk'].map((c, b) => ((i >> b) & 1 ? c.toUpperCase() : c)).join('');
    const variants = crl({
      indirect: true,
      entries: Array.from({ length: MAX_INDIRECT_CRL_ISSUERS + 1 }, (_, i) =>
        entry((0x1000 + i).toString(16), certificateIssuer(spelling(i))),
      ),
    });
    expect(crl({ issuer: spelling(0) }).issuerKey).toBe(crl({ issuer: spelling(5) }).issuerKey);
    expect(unusableReason(variants)).toBe(`it names more than ${MAX_INDIRECT_CRL_ISSUERS} certificate issuers`);
    expect(variants.notes?.others.size ?? 0).toBe(0);
  });

  it('refuses a certificateIssuer larger than MAX_CERTIFICATE_ISSUER_BYTES without decoding it', () => {
    const huge = crl({
      indirect: true,
      entries: [entry('01', certificateIssuer('x'.repeat(MAX_CERTIFICATE_ISSUER_BYTES))), entry('02')],
    });
    expect(unusableReason(huge)).toBe(
      `an entry's certificateIssuer is larger than ${MAX_CERTIFICATE_ISSUER_BYTES} bytes`,
    );
    // The entries after it are not taken for the CRL issuer's own.
    expect([...huge.revoked]).toEqual([]);
    const fits = crl({ indirect: true, entries: [entry('01', certificateIssuer('x'.repeat(1000)))] });
    expect(unusableReason(fits)).toBeUndefined();
  });

  it('looks at the slice deadline after every decoded certificateIssuer, not only every 128 entries', async () => {
    const der = crlDer({
      indirect: true,
      entries: Array.from({ length: 6 }, (_, i) => entry((0x10 + i).toString(16), certificateIssuer(`CA ${i}`))),
    });
    // A clock always past the deadline: each slice ends at the first look at the clock.
    let t = 0;
    let pauses = 0;
    const parsed = await parseCrlAsync(
      der,
      10,
      () => (t += 100),
      async () => void pauses++,
    );
    expect(pauses).toBeGreaterThanOrEqual(5);
    expect(parsed.notes?.others.size).toBe(6);
    // Entries without one still run 128 to a look.
    pauses = 0;
    await parseCrlAsync(
      crlDer({ indirect: true, entries: [entry('01'), entry('02'), entry('03')] }),
      10,
      () => (t += 100),
      async () => void pauses++,
    );
    expect(pauses).toBe(0);
  });
});
