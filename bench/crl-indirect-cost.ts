// Cost of the entries a CRL's serial index does not hold (crl-entries.ts EntryNotes): an indirect
// CRL's other issuers' entries (RFC 5280 section 5.3.3) and removeFromCRL entries (5.3.1). A CRL
// fetched from a distribution point is parsed before its signature is checked, so these are what
// a hostile server (or whoever intercepts a plain-http CRL URL) can make certgate build.
// Run: node --expose-gc --import tsx bench/crl-indirect-cost.ts [entries]   (default 100,000)
//
// Per shape: DER size, parseCrl time (median of 5), and heap retained by the parsed CRL (after a
// forced GC, the CRL still referenced) per entry and as a multiple of the DER size.
import { spawnSync } from 'node:child_process';
import { encodeElement, TAG } from '../src/x509/der.js';
import { parseCrl } from '../src/revocation/crl.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
const hex = (h: string) => Buffer.from(h, 'hex');
const octets = (b: Buffer) => encodeElement(TAG.OCTET_STRING, b);
const name = (cn: string) =>
  seq(encodeElement(TAG.SET, seq(hex('0603550403'), encodeElement(TAG.UTF8_STRING, Buffer.from(cn)))));
const reason = (code: number) => seq(hex('0603551d15'), octets(encodeElement(0x0a, Buffer.from([code]))));
const certificateIssuer = (cn: string) =>
  seq(hex('0603551d1d'), hex('0101ff'), octets(seq(encodeElement(0xa4, name(cn)))));
const DATE = encodeElement(TAG.UTC_TIME, Buffer.from('291231000000Z', 'latin1'));
const ALG = hex('300a06082a8648ce3d040302');

function serial(i: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(0x10000000 + i);
  return encodeElement(TAG.INTEGER, b);
}

function crl(entries: Buffer[], indirect: boolean): Buffer {
  const exts = [seq(hex('0603551d14'), octets(encodeElement(TAG.INTEGER, hex('05'))))];
  if (indirect) exts.push(seq(hex('0603551d1c'), hex('0101ff'), octets(seq(encodeElement(0x84, hex('ff'))))));
  const time = encodeElement(TAG.GENERALIZED_TIME, Buffer.from('20300101000000Z', 'latin1'));
  const tbs = seq(hex('020101'), ALG, name('CA A'), time, time, seq(...entries), encodeElement(0xa0, seq(...exts)));
  return seq(tbs, ALG, encodeElement(TAG.BIT_STRING, hex('00010203')));
}

const SHAPES: Record<string, { indirect: boolean; entry: (i: number) => Buffer }> = {
  'plain keyCompromise (the serial index)': { indirect: false, entry: (i) => seq(serial(i), DATE, seq(reason(1))) },
  'keyCompromise with invalidityDate (decoded entry extensions)': {
    indirect: false,
    entry: (i) => seq(serial(i), DATE, seq(reason(1), seq(hex('0603551d18'), octets(DATE)))),
  },
  'removeFromCRL, reason only': { indirect: false, entry: (i) => seq(serial(i), DATE, seq(reason(8))) },
  'indirect, certificateIssuer alternating B / A': {
    indirect: true,
    entry: (i) => seq(serial(i), DATE, seq(certificateIssuer(i % 2 ? 'CA A' : 'CA B'), reason(1))),
  },
  'indirect, a new certificateIssuer on every entry': {
    indirect: true,
    entry: (i) => seq(serial(i), DATE, seq(certificateIssuer(`CA ${i}`), reason(1))),
  },
};

const count = Number(process.argv[2] ?? 100_000);
const only = process.argv[3];

/** One shape in this process: parse time (median of 5), then heap retained by one parsed CRL. */
function measure(label: string, shape: { indirect: boolean; entry: (i: number) => Buffer }): void {
  const der = crl(
    Array.from({ length: count }, (_, i) => shape.entry(i)),
    shape.indirect,
  );
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    parseCrl(der);
    times.push(performance.now() - start);
  }
  for (let i = 0; i < 3; i++) gc?.();
  const before = process.memoryUsage();
  const kept = parseCrl(der);
  for (let i = 0; i < 3; i++) gc?.();
  const after = process.memoryUsage();
  const retained = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  const median = times.sort((a, b) => a - b)[2] as number;
  const other = [...(kept.notes?.others.values() ?? [])].reduce((n, m) => n + m.size, 0);
  const notes = `${kept.notes?.removed.size ?? 0} removed, ${other} in ${kept.notes?.others.size ?? 0} issuers`;
  const unusable = kept.unusableBecause ? `; unusable: ${kept.unusableBecause}` : '';
  console.log(
    `${label}: DER ${(der.length / 1e6).toFixed(2)} MB, parse ${median.toFixed(0)} ms ` +
      `(${((median * 1e6) / der.length).toFixed(0)} ns/byte), retained ${(retained / 1e6).toFixed(1)} MB ` +
      `(${(retained / count).toFixed(0)} B/entry); index ${kept.revoked.size}, notes ${notes}${unusable}`,
  );
}

if (only !== undefined) {
  const [label, shape] = Object.entries(SHAPES)[Number(only)] ?? [];
  if (label && shape) measure(label, shape);
} else {
  // Each shape in a fresh process: what one retained is not mistaken for another's.
  console.log(`${count} entries per CRL`);
  for (let i = 0; i < Object.keys(SHAPES).length; i++) {
    const res = spawnSync(
      process.execPath,
      [...process.execArgv, process.argv[1] as string, String(count), String(i)],
      {
        encoding: 'utf8',
      },
    );
    process.stdout.write(res.stdout + res.stderr);
  }
}
