// Decode cost of certgate's DER reader (src/x509/der.ts) against what it replaced, kept beside the
// replacement. Run: npx tsx bench/parse-cost.ts   (about a minute; nothing is written to disk
// except a temporary dev PKI, removed at the end).
//
// 1. One certificate (a dev PKI client leaf, ECDSA P-256): per-call decode time of
//    (a) @peculiar/asn1-schema AsnConvert.parse(der, Certificate)
//    (b) node:crypto new X509Certificate(der)             (OpenSSL d2i_X509)
//    (c) certgate parseCertificate(der)                    (includes its SHA-256 of the DER)
//    Median (and p10/p90) over rounds of a fixed batch of calls, after warm-up.
// 2. CRLs of 1,000 / 10,000 / 100,000 entries, built by hand from a template (not validly signed:
//    decoding does not look at the signature): (a) asn1-schema CertificateList, (c) parseCrl.
//    asn1-schema runs in a worker thread with a 30 s budget per size and is abandoned (reported as
//    such) if it needs longer; its figure includes nothing but AsnConvert.parse. asn1js 3.1 refuses
//    inputs of more than 10,000 nodes by default (a CRL of ~2,000 entries), so it is timed with
//    its limits lifted, and the default-limit refusal is reported. Memory: heapUsed + external growth for parseCrl at 100k, peak (no
//    GC during the parse) and retained (after a forced GC, the parsed CRL still referenced).
import 'reflect-metadata';

import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { generateDevPki } from '../src/devpki/generate.js';
import { parseCrl } from '../src/revocation/crl.js';
import { parseCertificate } from '../src/x509/certificate.js';

const ASN1_BUDGET_MS = 30_000;

// ---------------------------------------------------------------------------------------------

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

let sink = 0;

/** Per-call µs: `rounds` rounds of `batch` calls each (after `warmup` calls); median, p10, p90. */
function perCall(fn: () => unknown, { warmup, rounds, batch }: { warmup: number; rounds: number; batch: number }) {
  for (let i = 0; i < warmup; i++) if (fn()) sink++;
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) if (fn()) sink++;
    samples.push(Number(process.hrtime.bigint() - t) / 1000 / batch);
  }
  return {
    median: quantile(samples, 0.5),
    p10: quantile(samples, 0.1),
    p90: quantile(samples, 0.9),
    calls: rounds * batch,
  };
}

// --- a tiny DER encoder for the CRL template ------------------------------------------------------

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
  return Buffer.from([0x80 | octets.length, ...octets]);
}
const tlv = (tag: number, ...parts: Buffer[]) => {
  const content = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
};
const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const hex = (h: string) => Buffer.from(h, 'hex');
const utcTime = (d: Date) => tlv(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`, 'latin1'));

/**
 * A v2 CRL shaped like a real CA's: issuer DN, thisUpdate/nextUpdate, `entries` revoked
 * certificates (16-byte random positive serials, a revocationDate, a reasonCode entry
 * extension on every other entry), cRLNumber and AKI extensions, an ECDSA-sized fake signature.
 */
function buildCrl(entries: number): Buffer {
  const sigAlg = seq(hex('06082a8648ce3d040302')); // ecdsa-with-SHA256
  const issuer = seq(
    tlv(0x31, seq(hex('0603550406'), tlv(0x13, Buffer.from('US')))),
    tlv(0x31, seq(hex('060355040a'), tlv(0x0c, Buffer.from('Example Bank')))),
    tlv(0x31, seq(hex('0603550403'), tlv(0x0c, Buffer.from('Example Bank Issuing CA')))),
  );
  const now = new Date('2025-01-01T00:00:00Z');
  const reason = seq(seq(hex('0603551d15'), tlv(0x04, hex('0a0101'))));
  const serials = randomBytes(entries * 16);
  const list: Buffer[] = new Array(entries);
  for (let i = 0; i < entries; i++) {
    const serial = serials.subarray(i * 16, i * 16 + 16);
    serial[0] = ((serial[0] as number) & 0x7f) | 0x01;
    const date = utcTime(new Date(now.getTime() - i * 60_000));
    list[i] = i % 2 === 0 ? seq(tlv(0x02, serial), date, reason) : seq(tlv(0x02, serial), date);
  }
  const extensions = tlv(
    0xa0,
    seq(
      seq(hex('0603551d14'), tlv(0x04, tlv(0x02, hex('1234')))),
      seq(hex('0603551d23'), tlv(0x04, seq(tlv(0x80, randomBytes(20))))),
    ),
  );
  const tbs = seq(
    hex('020101'),
    sigAlg,
    issuer,
    utcTime(now),
    utcTime(new Date(now.getTime() + 7 * 86_400_000)),
    tlv(0x30, Buffer.concat(list)),
    extensions,
  );
  return seq(tbs, sigAlg, tlv(0x03, Buffer.from([0]), randomBytes(72)));
}

/** Runs asn1-schema on `der` in a worker; undefined if it needs more than the budget. */
function asn1InWorker(
  der: Buffer,
  runs: number,
): Promise<{ times: number[]; entries: number; defaultError: string | null; heapUsedMb: number } | undefined> {
  return new Promise((resolve, reject) => {
    const require = createRequire(import.meta.url);
    const workerData = {
      der,
      runs,
      schemaPath: require.resolve('@peculiar/asn1-schema'),
      x509Path: require.resolve('@peculiar/asn1-x509'),
    };
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData,
      resourceLimits: { maxOldGenerationSizeMb: 8192 },
    });
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve(undefined);
    }, ASN1_BUDGET_MS);
    worker.once('message', (m) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(10);

async function main(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  console.log(`parse-cost: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}`);

  // --- 1. certificate ---------------------------------------------------------------------
  const dir = mkdtempSync(join(tmpdir(), 'certgate-parse-cost-'));
  let leaf: Buffer;
  try {
    const files = await generateDevPki(dir);
    const pem = readFileSync(files.clients.alice.cert, 'utf8');
    const body = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem)?.[1];
    if (!body) throw new Error('dev PKI leaf not found');
    leaf = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Sanity: all three decode it and agree on the serial.
  const serials = [
    Buffer.from(AsnConvert.parse(leaf, Certificate).tbsCertificate.serialNumber)
      .toString('hex')
      .toUpperCase()
      .replace(/^00/, ''),
    new X509Certificate(leaf).serialNumber,
    parseCertificate(leaf).serialNumber,
  ];
  if (new Set(serials).size !== 1) throw new Error(`decoders disagree on the leaf serial: ${serials.join(' / ')}`);

  const certRows = [
    [
      '(a) asn1-schema AsnConvert.parse(Certificate)',
      perCall(() => AsnConvert.parse(leaf, Certificate), { warmup: 2_000, rounds: 60, batch: 100 }),
    ],
    [
      '(b) node:crypto new X509Certificate',
      perCall(() => new X509Certificate(leaf), { warmup: 5_000, rounds: 100, batch: 500 }),
    ],
    [
      '(c) certgate parseCertificate',
      perCall(() => parseCertificate(leaf), { warmup: 20_000, rounds: 100, batch: 1_000 }),
    ],
  ] as const;
  console.log(`\nCertificate decode, dev PKI client leaf (${leaf.length} bytes DER, ECDSA P-256), µs per call`);
  console.log(
    `  ${'decoder'.padEnd(48)} ${'median'.padStart(10)} ${'p10'.padStart(10)} ${'p90'.padStart(10)} ${'calls'.padStart(9)}`,
  );
  for (const [name, r] of certRows)
    console.log(
      `  ${name.padEnd(48)} ${fmt(r.median, 2)} ${fmt(r.p10, 2)} ${fmt(r.p90, 2)} ${String(r.calls).padStart(9)}`,
    );
  const [a, , c] = certRows.map(([, r]) => r.median) as [number, number, number];
  console.log(`  certgate is ${(a / c).toFixed(0)}x faster than asn1-schema on this certificate`);

  // --- 2. CRLs ----------------------------------------------------------------------------
  console.log('\nCRL decode, ms per CRL (median of runs; asn1-schema in a worker, 30 s budget)');
  console.log(
    `  ${'entries'.padStart(8)} ${'DER MiB'.padStart(8)} ${'asn1-schema'.padStart(12)} ${'runs'.padStart(5)} ${'parseCrl'.padStart(10)} ${'runs'.padStart(5)}  ratio`,
  );
  let crl100k: Buffer | undefined;
  for (const entries of [1_000, 10_000, 100_000]) {
    const der = buildCrl(entries);
    if (entries === 100_000) crl100k = der;
    const parsed = parseCrl(der);
    if (parsed.revoked.size !== entries) throw new Error(`parseCrl saw ${parsed.revoked.size} of ${entries} entries`);

    const oursRuns = entries >= 100_000 ? 7 : 21;
    for (let i = 0; i < 3; i++) parseCrl(der);
    const ours: number[] = [];
    for (let i = 0; i < oursRuns; i++) {
      const t = process.hrtime.bigint();
      sink += parseCrl(der).revoked.size;
      ours.push(Number(process.hrtime.bigint() - t) / 1e6);
    }

    const asnRuns = entries >= 100_000 ? 1 : entries >= 10_000 ? 3 : 7;
    const theirs = await asn1InWorker(der, asnRuns);
    if (theirs && theirs.entries !== entries)
      throw new Error(`asn1-schema saw ${theirs.entries} of ${entries} entries`);
    const theirMedian = theirs ? quantile(theirs.times, 0.5) : undefined;
    console.log(
      `  ${String(entries).padStart(8)} ${mb(der.length).padStart(8)} ${theirMedian === undefined ? `>${ASN1_BUDGET_MS / 1000} s skip`.padStart(12) : fmt(theirMedian, 1).padStart(12)} ${String(theirs ? asnRuns : 0).padStart(5)} ${fmt(quantile(ours, 0.5), 2)} ${String(oursRuns).padStart(5)}  ${theirMedian === undefined ? 'n/a' : `${(theirMedian / quantile(ours, 0.5)).toFixed(0)}x`}${theirs ? `  (worker heapUsed after: ${theirs.heapUsedMb.toFixed(0)} MiB)` : ''}`,
    );
    if (!theirs)
      console.log(
        `           asn1-schema did not finish ${entries} entries within ${ASN1_BUDGET_MS / 1000} s: abandoned (worker terminated)`,
      );
    else if (theirs.defaultError)
      console.log(
        `           asn1-schema with asn1js's default limits refuses this CRL ("${theirs.defaultError}"); timed with the limits lifted`,
      );
  }

  // --- memory for parseCrl at 100k -----------------------------------------------------------
  const der = crl100k as Buffer;
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  gc();
  gc();
  const before = used();
  const kept = parseCrl(der);
  const peak = used() - before;
  gc();
  gc();
  const retained = used() - before;
  console.log(`\nparseCrl memory at 100,000 entries (DER ${mb(der.length)} MiB, held by the caller, not counted):`);
  console.log(`  heapUsed+external growth during the parse (no GC): ${mb(peak)} MiB`);
  console.log(
    `  retained by the ParsedCrl after GC:                 ${mb(retained)} MiB (${kept.revoked.size} serials, ${(retained / kept.revoked.size) | 0} bytes each)`,
  );
  if (sink < 0) console.log(sink);
}

// ---------------------------------------------------------------------------------------------
// asn1-schema in a worker: plain CommonJS (the worker does not get tsx's loader), given the
// resolved package paths; it decodes one CRL `runs` times and posts the times (the parent may give
// up on it first).

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { AsnConvert } = require(workerData.schemaPath);
const { CertificateList } = require(workerData.x509Path);
const der = Buffer.from(workerData.der);
// asn1js 3.1 caps a decode at 10,000 nodes (and depth 100, 16 MiB) by default: try that first,
// then time the decode with the caps lifted, which is what a CRL this size needs.
let defaultError = null;
try {
  AsnConvert.parse(der, CertificateList);
} catch (err) {
  defaultError = err.message;
}
const unlimited = { berOptions: { maxNodes: Infinity, maxDepth: Infinity, maxContentLength: Infinity } };
const times = [];
let entries = 0;
for (let i = 0; i < workerData.runs; i++) {
  const t = process.hrtime.bigint();
  const crl = AsnConvert.parse(der, CertificateList, unlimited);
  times.push(Number(process.hrtime.bigint() - t) / 1e6);
  entries = crl.tbsCertList.revokedCertificates ? crl.tbsCertList.revokedCertificates.length : 0;
}
parentPort.postMessage({ times, entries, defaultError, heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20 });
`;

await main();
