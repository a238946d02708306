/**
 * Large-CRL cost (`npx tsx bench/crl-scale.ts [entries]`, default 1,000,000): builds a signed CRL
 * of that many random 16-octet serials, then measures certgate's decode + index, the signature
 * check over the TBS bytes, memory, and serial lookups. The measurement behind
 * src/revocation/serial-index.ts and the DER walk in src/revocation/crl.ts.
 */
if (!global.gc) console.log('(run with node --expose-gc --import tsx for memory figures)');
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { encodeElement, TAG } from '../src/x509/der.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseCrl, parseCrlAsync } from '../src/revocation/crl.js';
import { verifySignature } from '../src/x509/signature.js';

const entries = Number(process.argv[2] ?? 1_000_000);
const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
const utc = (d: Date) =>
  encodeElement(TAG.UTC_TIME, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`, 'latin1'));
const ecdsaWithSha256 = Buffer.from('300a06082a8648ce3d040302', 'hex');

function buildCrl(): { der: Buffer; serials: Buffer[]; publicKey: import('node:crypto').KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issuer = seq(
    encodeElement(
      TAG.SET,
      seq(Buffer.from('0603550403', 'hex'), encodeElement(TAG.UTF8_STRING, Buffer.from('Bench CA'))),
    ),
  );
  const date = utc(new Date());
  const serials: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < entries; i++) {
    const serial = randomBytes(16);
    serial[0] = ((serial[0] as number) & 0x7f) | 0x01;
    serials.push(serial);
    chunks.push(seq(encodeElement(TAG.INTEGER, serial), date));
  }
  const crlNumber = encodeElement(
    0xa0,
    seq(seq(Buffer.from('0603551d14', 'hex'), encodeElement(TAG.OCTET_STRING, Buffer.from('020101', 'hex')))),
  );
  const tbs = seq(
    Buffer.from('020101', 'hex'),
    ecdsaWithSha256,
    issuer,
    date,
    utc(new Date(Date.now() + 86_400_000)),
    encodeElement(TAG.SEQUENCE, Buffer.concat(chunks)),
    crlNumber,
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ecdsaWithSha256, encodeElement(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), signature])));
  return { der, serials, publicKey };
}

const t0 = performance.now();
const { der, serials, publicKey } = buildCrl();
console.log(
  `built a ${entries.toLocaleString()}-entry CRL, ${(der.length / 1048576).toFixed(1)} MiB, in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

// Let the builder's garbage go first, so the figures are the parser's own.
for (let i = 0; i < 3; i++) {
  global.gc?.();
  await new Promise((r) => setImmediate(r));
}
const before = process.memoryUsage();
let peakRss = before.rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
const t1 = performance.now();
const crl = parseCrl(der);
const parseMs = performance.now() - t1;
const t2 = performance.now();
const ok = verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, publicKey);
const verifyMs = performance.now() - t2;
peakRss = Math.max(peakRss, process.memoryUsage().rss);
clearInterval(sampler);
global.gc?.();
const after = process.memoryUsage();
if (!ok || crl.revoked.size !== entries)
  throw new Error(`sanity: signature ${ok}, indexed ${crl.revoked.size} of ${entries}`);

const probes = 200_000;
const unknown = Array.from({ length: 1000 }, () => randomBytes(16));
const t3 = performance.now();
let hits = 0;
for (let i = 0; i < probes; i++)
  if (crl.revoked.has(i % 2 ? (serials[(i * 7919) % entries] as Buffer) : (unknown[i % 1000] as Buffer))) hits++;
const lookupUs = ((performance.now() - t3) * 1000) / probes;
if (hits !== probes / 2) throw new Error(`sanity: ${hits} hits of ${probes / 2}`);

// The same CRL loaded the way a refresh would, with parseCrlAsync, while a timer stands in for
// requests being served: how long is the event loop blocked at worst?
for (let i = 0; i < 3; i++) {
  global.gc?.();
  await new Promise((r) => setImmediate(r));
}
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
let ticks = 0;
const ticker = setInterval(() => ticks++, 1);
const t4 = performance.now();
const asyncCrl = await parseCrlAsync(der);
const asyncMs = performance.now() - t4;
clearInterval(ticker);
loop.disable();
if (asyncCrl.revoked.size !== entries) throw new Error('sanity: async parse indexed a different count');
const t5 = performance.now();
verifySignature(asyncCrl.signatureAlgorithm, asyncCrl.tbs, asyncCrl.signature, publicKey);
const verifyBlockMs = performance.now() - t5;

const mib = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;
console.log(`parse + index       ${parseMs.toFixed(0)} ms (one synchronous block)`);
console.log(`signature over TBS  ${verifyMs.toFixed(0)} ms`);
console.log(`parse + verify      ${(parseMs + verifyMs).toFixed(0)} ms`);
console.log(
  `retained memory     heap ${mib(after.heapUsed - before.heapUsed)}, array buffers ${mib(after.arrayBuffers - before.arrayBuffers)} (besides the CRL's own DER, ${mib(der.length)})`,
);
console.log(
  `peak rss growth     ${mib(peakRss - before.rss)} (sampled; the parse is synchronous, so read it as a lower bound)`,
);
console.log(`lookup              ${lookupUs.toFixed(3)} µs per serial (half listed, half not)`);
console.log(
  `parseCrlAsync       ${asyncMs.toFixed(0)} ms in slices; event loop: longest block ${(loop.max / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, ${ticks} timer turns ran meanwhile`,
);
console.log(`signature check     ${verifyBlockMs.toFixed(0)} ms (one block; Node's verify is not incremental)`);
