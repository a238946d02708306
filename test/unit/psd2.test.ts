/**
 * The PSD2 statement reader (src/x509/psd2.ts) on hand-written DER: each limit where it trips
 * (roles, string sizes), hostile shapes (10,000 roles, deep nesting, huge declared lengths) that
 * must cost little, and seeded random mutations of a good statement that must never throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readRoot } from '../../src/x509/der.js';
import {
  MAX_PSD2_ROLES,
  MAX_PSD2_STRING_CHARS,
  PSD2_STATEMENT_OID,
  readQcStatements,
  type QcStatementsReading,
} from '../../src/x509/psd2.js';
import { oid, PSD2_STATEMENT, psd2Der, ROLE_OID, seq, tlv, utf8 } from '../helpers/psd2-der.js';

/** Reads a qcStatements extension value as the certificate decoder hands it over (the extnValue OCTET STRING). */
function read(value: Buffer): QcStatementsReading {
  const octets = tlv(0x04, value);
  return readQcStatements(octets, readRoot(octets, 0x04));
}

const role = (name: keyof typeof ROLE_OID) => seq(oid(ROLE_OID[name]), utf8(name));
const statement = (info: Buffer) => seq(seq(oid(PSD2_STATEMENT), info));
const qcType = (roles: Buffer, name = utf8('NCA'), id = utf8('GB-FCA')) => statement(seq(roles, name, id));

describe('readQcStatements', () => {
  it('reads a statement among others, whose info it does not read', () => {
    const qcCompliance = seq(oid('0.4.0.1862.1.1'));
    const qcType6 = seq(oid('0.4.0.1862.1.6'), tlv(0x04, Buffer.from('not read')));
    const psd2 = psd2Der(['PSP_PI', 'PSP_AS']).subarray(2);
    const reading = read(seq(qcCompliance, qcType6, psd2));
    expect(reading).toEqual({
      psd2: { roles: ['PSP_PI', 'PSP_AS'], ncaName: 'Financial Conduct Authority', ncaId: 'GB-FCA' },
      qcStatementsUnderstood: true,
    });
    expect(Object.isFrozen(reading.psd2)).toBe(true);
    expect(PSD2_STATEMENT_OID).toBe(PSD2_STATEMENT);
  });

  it('gives nothing, and no reason, without a PSD2 statement (an empty list included)', () => {
    expect(read(seq())).toEqual({ qcStatementsUnderstood: true });
    expect(read(seq(seq(oid('0.4.0.1862.1.1'))))).toEqual({ qcStatementsUnderstood: true });
  });

  it('understands a critical extension only when all its statements are informational and PSD2 is well-formed', () => {
    const psd2 = psd2Der(['PSP_AI']).subarray(2);
    expect(read(seq(seq(oid('0.4.0.1862.1.2')), psd2)).qcStatementsUnderstood).toBe(false); // QcLimitValue
    expect(read(seq(seq(oid('1.2.3.4')))).qcStatementsUnderstood).toBe(false);
    expect(read(seq(psd2, psd2)).qcStatementsUnderstood).toBe(false);
    expect(read(seq(seq(oid(PSD2_STATEMENT)))).qcStatementsUnderstood).toBe(false);
  });

  it.each([
    ['no statementInfo', seq(seq(oid(PSD2_STATEMENT))), /has no statementInfo/],
    ['statementInfo not a SEQUENCE', statement(utf8('x')), /expected tag 0x30, found 0xc/],
    ['an empty nCAId', qcType(seq(role('PSP_AI')), utf8('N'), utf8('')), /nCAId is empty/],
    ['invalid UTF-8', qcType(seq(role('PSP_AI')), tlv(0x0c, Buffer.from([0xc3, 0x28]))), /invalid UTF-8/],
    ['a role without its name', qcType(seq(seq(oid(ROLE_OID.PSP_AI)))), /missing element/],
    [
      'a role name of another type (BMPString)',
      qcType(seq(seq(oid(ROLE_OID.PSP_AI), tlv(0x1e, Buffer.from('\0A'))))),
      /roleOfPspName is not a UTF8String \(tag 0x1e\)/,
    ],
    [
      'a statement with two infos',
      seq(seq(oid(PSD2_STATEMENT), seq(), seq())),
      /qcStatements extension is malformed \(unexpected extra element\)/,
    ],
    ['trailing bytes after the list', Buffer.concat([seq(), Buffer.from([0])]), /trailing bytes/],
    [
      'a declared length of 4 GB',
      Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
      /element extends past its container/,
    ],
    ['indefinite length (BER)', Buffer.from([0x30, 0x80, 0x00, 0x00]), /indefinite length/],
  ])('%s: psd2 undefined, with the reason', (_, value, reason) => {
    const reading = read(value);
    expect(reading.psd2).toBeUndefined();
    expect(reading.psd2Ignored).toMatch(reason);
  });
});

describe('limits', () => {
  it(`reads ${MAX_PSD2_ROLES} roles and stops at the next one, even among 10,000, quickly`, () => {
    const four = [role('PSP_AS'), role('PSP_PI'), role('PSP_AI'), role('PSP_IC')];
    expect(read(qcType(seq(...four))).psd2?.roles).toHaveLength(MAX_PSD2_ROLES);
    const many = qcType(seq(...four, ...Array.from({ length: 10_000 }, () => role('PSP_AI'))));
    expect(many.length).toBeGreaterThan(190_000);
    const started = performance.now();
    expect(read(many).psd2Ignored).toBe(`the PSD2 statement is malformed (more than ${MAX_PSD2_ROLES} roles)`);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it(`accepts strings of ${MAX_PSD2_STRING_CHARS} characters (4-octet ones too), not one more`, () => {
    const ok = (name: string) => read(qcType(seq(role('PSP_AI')), utf8(name))).psd2?.ncaName;
    const over = (name: string) => read(qcType(seq(role('PSP_AI')), utf8(name))).psd2Ignored;
    const max = MAX_PSD2_STRING_CHARS;
    expect(ok('N'.repeat(max))).toHaveLength(max);
    expect(ok('😀'.repeat(max))).toBe('😀'.repeat(max));
    expect(over('N'.repeat(max + 1))).toMatch(/nCAName is longer than 256 characters/);
    expect(over('é'.repeat(max + 1))).toMatch(/nCAName is longer than 256 characters/);
    // Over 1,024 octets: refused before it is decoded.
    expect(over('N'.repeat(100_000))).toMatch(/nCAName is longer than 256 characters/);
  });

  it('escapes what the certificate wrote before it reaches an operator message', () => {
    const forged = qcType(seq(seq(oid(ROLE_OID.PSP_AI), utf8('PSP_AS\n\u202eevil'))));
    expect(read(forged).psd2Ignored).toBe(
      'the PSD2 statement is malformed (a roleOfPspName "PSP_AS\\n\\E2\\80\\AEevil" has unprintable characters)',
    );
  });

  it('refuses control, bidi and invisible characters in the NCA name and identifier', () => {
    for (const text of ['N\u0000', 'GB-FCA\r\nX: y', 'FCA\u200b', '\u202eACF']) {
      const reading = read(qcType(seq(role('PSP_AI')), utf8(text), utf8('GB-FCA')));
      expect(reading.psd2, JSON.stringify(text)).toBeUndefined();
      expect(reading.psd2Ignored).toMatch(/nCAName .* has unprintable characters/);
    }
  });

  it('walks no deeper than the statement: 5,000 nested SEQUENCEs as statementInfo are one malformed field', () => {
    let nested = seq();
    for (let i = 0; i < 5_000; i++) nested = seq(nested);
    expect(read(statement(nested)).psd2Ignored).toMatch(/expected tag 0x6, found 0x30/);
  });
});

describe('fuzz: mutations of a good statement never throw out of the reader', () => {
  const good = read(tlv(0x30, psd2Der(['PSP_AI', 'PSP_PI']).subarray(2)));
  const seed = psd2Der(['PSP_AI', 'PSP_PI'], 'Bundesanstalt für Finanzdienstleistungsaufsicht', 'DE-BAFIN');

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  );

  type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

  function mutate(bytes: Buffer, steps: readonly Mutation[]) {
    let out = Buffer.from(bytes);
    for (const m of steps) {
      const at = m.at % (out.length + 1);
      if (m.kind === 'set' && at < out.length) out[at] = m.byte;
      else if (m.kind === 'flip' && at < out.length) out[at] = (out[at] as number) ^ (1 << m.bit);
      else if (m.kind === 'cut') out = out.subarray(0, at);
      else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
      else if (m.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)]);
    }
    return out;
  }

  it('returns psd2, a reason, or nothing: never both, never a throw', () => {
    expect(good.psd2?.roles).toEqual(['PSP_AI', 'PSP_PI']);
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (steps) => {
        const reading = read(mutate(seed, steps));
        expect(reading.psd2 !== undefined && reading.psd2Ignored !== undefined).toBe(false);
        if (reading.psd2) {
          expect(reading.psd2.roles.length).toBeGreaterThan(0);
          expect(new Set(reading.psd2.roles).size).toBe(reading.psd2.roles.length);
        }
      }),
      { seed: 19495, numRuns: 3_000 },
    );
  });
});
