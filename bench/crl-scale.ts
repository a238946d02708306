/**
 * Large-CRL cost on OpenSSL-made CRLs (`node --expose-gc --import tsx bench/crl-scale.ts [entries]`,
 * default 1,000,000; bench/crl-openssl.ts makes and caches them): `openssl ca -gencrl` over that
 * many revoked lines, a reason code on every entry (about 49 MB DER, 66 MB PEM at 1,000,000).
 *
 * For each way a CRL reaches a verifier (a static DER Buffer, a static PEM string, a file, a URL
 * serving DER, and the zero-configuration path: a guard without options on an HTTPS server whose
 * `crl` option holds the PEM), it reports: createVerifier's time, the time to the first verdict
 * (a listed certificate refused as CERT_REVOKED), the event loop's longest block from
 * createVerifier to that verdict (wall time, and the main thread's own CPU time in it: on a shared
 * 2-core machine a runnable thread can wait for a core longer than it works), and memory over the
 * process without the CRL: peak while loading and steady after, once the worker has ended (RSS,
 * sampled every 2 ms; the caller's own copy of a static value is read before and not counted). Then
 * parseCrl's synchronous time and the lookup cost as references. Goals (issue 10): no block over
 * 20 ms, memory under 150 MB, first verdict under 1 s. `BENCH_CRL_WORKER=0`: main-thread slicing.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Verifier } from '../src/index.js';
import { parseCrl } from '../src/revocation/crl.js';
import { IDLE_MS, useCrlWorker } from '../src/revocation/crl-offthread.js';
import { opensslCrl } from './crl-openssl.js';
import { createVerifier, fromDist, requireClientCert } from './certgate-under-test.js';

const entries = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.log('(run with node --expose-gc --import tsx for memory figures)');
if (process.env.BENCH_CRL_WORKER === '0') useCrlWorker(false);
const t0 = performance.now();
const made = opensslCrl(entries);
console.log(
  `${entries.toLocaleString('en-US')}-entry OpenSSL CRL (reason code on every entry): DER ${(made.der.length / 1e6).toFixed(1)} MB, ` +
    `PEM ${(made.pem.length / 1e6).toFixed(1)} MB; ${made.generatedInS ? `generated in ${made.generatedInS.toFixed(1)} s` : `cached (read in ${(performance.now() - t0).toFixed(0)} ms)`}; ` +
    `worker ${process.env.BENCH_CRL_WORKER === '0' ? 'off' : 'on'}; certgate from ${fromDist ? 'dist/' : 'src/ (tsx)'}`,
);
const pemText = (name: string) => readFileSync(made.file(name), 'utf8');
const revokedPem = pemText('revoked.pem');
const clientPem = pemText('client.pem');

function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
};

interface Figures {
  createMs: number;
  firstVerdictMs: number;
  blockMs: number;
  blockCpuMs: number;
  peakMb: number;
  steadyMb: number;
}

/** Runs `start` (which builds a verifier and returns the first verdict's code) under the probes. */
async function measure(
  input: () => unknown,
  start: (value: never) => Promise<{ code: string; createMs: number; keep: () => void }>,
): Promise<Figures> {
  // The input is read (the caller's copy of the CRL) before the baseline: it is not counted.
  const value = input() as never;
  await settle();
  const base = process.memoryUsage().rss;
  let peak = base;
  let last = performance.now();
  let lastCpu = threadCpuMs();
  let blockMs = 0;
  let blockCpuMs = 0;
  const probe = setInterval(() => {
    const t = performance.now();
    const cpu = threadCpuMs();
    peak = Math.max(peak, process.memoryUsage().rss);
    if (t - last > blockMs) blockMs = t - last;
    if (cpu - lastCpu > blockCpuMs) blockCpuMs = cpu - lastCpu;
    last = t;
    lastCpu = cpu;
  }, 2);
  const t = performance.now();
  const { code, createMs, keep } = await start(value);
  const firstVerdictMs = performance.now() - t;
  clearInterval(probe);
  if (code !== 'CERT_REVOKED') throw new Error(`sanity: the listed certificate got ${code}`);
  // Steady: once the CRL worker has ended (IDLE_MS without work) and what it held is collected.
  await new Promise((r) => setTimeout(r, IDLE_MS + 500));
  await settle();
  const steady = process.memoryUsage().rss;
  keep();
  const mb = (n: number) => n / 1e6;
  return { createMs, firstVerdictMs, blockMs, blockCpuMs, peakMb: mb(peak - base), steadyMb: mb(steady - base) };
}

async function firstVerdict(build: () => Verifier): Promise<{ code: string; createMs: number; keep: () => void }> {
  const t = performance.now();
  const v = build();
  const createMs = performance.now() - t;
  const r = await v.verify(revokedPem);
  return { code: r.ok ? 'ok' : r.code, createMs, keep: () => v.close() };
}

const results: [string, Figures][] = [];
const ca = made.caPem;
const none = () => undefined;
results.push([
  'static DER Buffer',
  await measure(
    () => readFileSync(made.file('crl.der')),
    (crl: Buffer) => firstVerdict(() => createVerifier({ ca, crl })),
  ),
]);
results.push([
  'static PEM string',
  await measure(
    () => pemText('crl.pem'),
    (crl: string) => firstVerdict(() => createVerifier({ ca, crl })),
  ),
]);
results.push([
  'file (PEM)',
  await measure(none, () => firstVerdict(() => createVerifier({ ca, crl: { files: [made.file('crl.pem')] } }))),
]);

// A URL serving the DER (the server's copy is read before the probes start).
const body = readFileSync(made.file('crl.der'));
const crlServer = http.createServer((_req, res) => res.end(body));
await new Promise<void>((r) => crlServer.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}/big.crl`;
results.push([
  'URL (DER)',
  await measure(none, () => firstVerdict(() => createVerifier({ ca, crl: { urls: [url], maxBytes: 100e6 } }))),
]);
crlServer.close();

// Zero configuration: the guard builds its verifier on the first request from the server's options.
// The app, the HTTPS server and the client's TLS context are made before the measurement starts
// (they are the harness's work, which the block figure must not include), the request within it.
function zeroConfigSetUp(crl: string) {
  const app = express();
  app.get('/', requireClientCert(), (_req, res) => res.send('ok'));
  // Node hands `crl` to OpenSSL too: certgate's cost is what follows, so the server is built first
  // and the handshake skips OpenSSL's CRL check (rejectUnauthorized false, as certgate decides).
  const server = https.createServer(
    { cert: pemText('server.pem'), key: pemText('server-key.pem'), ca, requestCert: true, rejectUnauthorized: false },
    app,
  );
  Object.assign(server, { crl });
  const listening = new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = tls.createSecureContext({ ca, cert: revokedPem, key: pemText('revoked-key.pem') });
  return { server, listening, client };
}
async function zeroConfig({
  server,
  listening,
  client,
}: ReturnType<typeof zeroConfigSetUp>): Promise<{ code: string; createMs: number; keep: () => void }> {
  await listening;
  const port = (server.address() as AddressInfo).port;
  const answer = await new Promise<string>((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path: '/', secureContext: client, agent: false } as https.RequestOptions;
    const req = https.request(options, (res) => {
      let text = `${res.statusCode} `;
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
  server.close();
  // The guard answers a revoked certificate with 401 and the code in the body (README "Refusals").
  const code = answer.startsWith('401') && answer.includes('CERT_REVOKED') ? 'CERT_REVOKED' : answer.slice(0, 80);
  return { code, createMs: Number.NaN, keep: () => undefined };
}
results.push(['zero configuration (server crl)', await measure(() => zeroConfigSetUp(pemText('crl.pem')), zeroConfig)]);

const f = (n: number, d = 0) => (Number.isNaN(n) ? '-' : n.toFixed(d));
console.log('source                           createVerifier  first verdict  longest block (CPU)  peak MB  steady MB');
for (const [name, r] of results) {
  console.log(
    `${name.padEnd(32)} ${f(r.createMs, 1).padStart(11)} ms ${f(r.firstVerdictMs).padStart(10)} ms ` +
      `${`${f(r.blockMs, 1)} (${f(r.blockCpuMs, 1)}) ms`.padStart(20)} ${f(r.peakMb).padStart(8)} ${f(r.steadyMb).padStart(10)}`,
  );
}

await settle();
const t1 = performance.now();
const crl = parseCrl(made.der);
const parseMs = performance.now() - t1;
const serial = Buffer.from(new (await import('node:crypto')).X509Certificate(clientPem).serialNumber, 'hex');
const t2 = performance.now();
let hits = 0;
for (let i = 0; i < 200_000; i++) if (crl.revoked.has(serial)) hits++;
const lookupUs = ((performance.now() - t2) * 1000) / 200_000;
console.log(
  `reference: parseCrl (synchronous, one block) ${parseMs.toFixed(0)} ms for ${crl.revoked.size.toLocaleString('en-US')} entries; ` +
    `lookup ${lookupUs.toFixed(3)} µs (${hits} hits: the client is not listed)`,
);
process.exit(0);
