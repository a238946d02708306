/**
 * The CRL serial index and the sliced (event-loop friendly) CRL parse, on a CRL with many
 * entries built in the test: same verdicts as the synchronous parse, and the async parse really
 * lets the event loop run between slices.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeElement, TAG } from '../../src/x509/der.js';
import { MalformedCrlError, parseCrl, parseCrlAsync } from '../../src/revocation/crl.js';
import { crlDers, joinChunks } from '../../src/revocation/crl-bytes.js';

const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
const utc = encodeElement(TAG.UTC_TIME, Buffer.from('260101000000Z', 'latin1'));
const alg = Buffer.from('300a06082a8648ce3d040302', 'hex');

/** An unsigned but well-formed CRL with `count` random positive serials (decoding does not need a signature). */
function bigCrl(count: number): { der: Buffer; serials: Buffer[] } {
  const serials = Array.from({ length: count }, () => {
    const s = randomBytes(12);
    s[0] = ((s[0] as number) & 0x7f) | 0x01;
    return s;
  });
  const entries = encodeElement(
    TAG.SEQUENCE,
    Buffer.concat(serials.map((s) => seq(encodeElement(TAG.INTEGER, s), utc))),
  );
  const issuer = seq(
    encodeElement(
      TAG.SET,
      seq(Buffer.from('0603550403', 'hex'), encodeElement(TAG.UTF8_STRING, Buffer.from('Index CA'))),
    ),
  );
  const crlNumber = encodeElement(
    0xa0,
    seq(seq(Buffer.from('0603551d14', 'hex'), encodeElement(TAG.OCTET_STRING, Buffer.from('020102', 'hex')))),
  );
  const tbs = seq(Buffer.from('020101', 'hex'), alg, issuer, utc, utc, entries, crlNumber);
  return { der: seq(tbs, alg, encodeElement(TAG.BIT_STRING, Buffer.from([0, 1, 2, 3]))), serials };
}

describe('CRL serial index', () => {
  const { der, serials } = bigCrl(50_000);

  it('finds every listed serial and no other', () => {
    const crl = parseCrl(der);
    expect(crl.revoked.size).toBe(serials.length);
    for (const s of serials) expect(crl.revoked.has(s)).toBe(true);
    // Same number with a sign octet, or one octet off, is another serial (exact DER octets).
    const first = serials[0] as Buffer;
    expect(crl.revoked.has(Buffer.concat([Buffer.from([0]), first]))).toBe(false);
    expect(crl.revoked.has(first.subarray(1))).toBe(false);
    for (let i = 0; i < 1000; i++) expect(crl.revoked.has(randomBytes(12))).toBe(false);
  });

  it('parseCrlAsync gives the same CRL and yields to the event loop between slices', async () => {
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const parsed = await parseCrlAsync(der, 0);
    clearInterval(ticker);
    const sync = parseCrl(der);
    expect(parsed.revoked.size).toBe(sync.revoked.size);
    expect(parsed.id).toBe(sync.id);
    expect(parsed.crlNumber).toBe(2n);
    for (const s of serials.slice(0, 500)) expect(parsed.revoked.has(s)).toBe(true);
    // With a zero-length slice it stops every 1,024 entries: the timer had many chances to run.
    expect(turns).toBeGreaterThan(5);
  });

  it('parseCrlAsync rejects a truncated CRL with MalformedCrlError', async () => {
    await expect(parseCrlAsync(der.subarray(0, der.length - 100), 0)).rejects.toBeInstanceOf(MalformedCrlError);
  });
});

describe('CRL downloads decoded in slices', () => {
  const { der } = bigCrl(20_000);
  const pem = (body: string) => Buffer.from(`-----BEGIN X509 CRL-----\n${body}\n-----END X509 CRL-----\n`);

  it('passes DER through and decodes PEM with any line length, several blocks included', async () => {
    expect((await crlDers(der))[0]).toBe(der);
    const b64 = der.toString('base64');
    for (const width of [64, 76, 65, 1000]) {
      const [decoded] = await crlDers(pem(b64.match(new RegExp(`.{1,${width}}`, 'g'))!.join('\r\n')));
      expect(decoded!.equals(der)).toBe(true);
    }
    // As text (a configured value), in odd line widths, and with a long run of whitespace inside a
    // 4-character group (the decoder carries the group's first characters over to the next step).
    for (const width of [63, 7]) {
      const text = pem(b64.match(new RegExp(`.{1,${width}}`, 'g'))!.join('\n')).toString('latin1');
      expect((await crlDers(text))[0]!.equals(der)).toBe(true);
    }
    const gap = pem(`${b64.slice(0, 3)}${' \t\r\n'.repeat(100_000)}${b64.slice(3)}`);
    expect((await crlDers(gap))[0]!.equals(der)).toBe(true);
    expect((await crlDers(gap.toString('latin1')))[0]!.equals(der)).toBe(true);
    const two = Buffer.concat([pem(b64), pem(b64)]);
    expect((await crlDers(two)).map((d) => d.length)).toEqual([der.length, der.length]);
  });

  it('refuses invalid base64, a truncated block, a missing END line and garbage', async () => {
    const b64 = der.toString('base64');
    await expect(crlDers(pem(`${b64.slice(0, 100)}!${b64.slice(101)}`))).rejects.toThrow(/not valid base64/);
    await expect(crlDers(pem(b64.slice(0, b64.length - 3)))).rejects.toThrow(/truncated/);
    // Only ASCII whitespace may separate the base64 (a no-break space is not skipped).
    const nbsp = `${pem(b64).toString('latin1').slice(0, 200)}\u00a0${pem(b64).toString('latin1').slice(200)}`;
    await expect(crlDers(nbsp)).rejects.toThrow(/not valid base64/);
    await expect(crlDers(Buffer.from(nbsp))).rejects.toThrow(/not valid base64/);
    await expect(crlDers(Buffer.from(`-----BEGIN X509 CRL-----\n${b64}`))).rejects.toThrow(/no END line/);
    await expect(crlDers(Buffer.from('<html>captive portal</html>'))).rejects.toThrow(/neither DER nor/);
  });

  it('joins chunks into the exact bytes', async () => {
    const chunks = [der.subarray(0, 7), der.subarray(7, 70_000), der.subarray(70_000)];
    expect((await joinChunks(chunks, der.length)).equals(der)).toBe(true);
  });
});
