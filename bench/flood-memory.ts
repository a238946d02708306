/**
 * Memory under a flood of hostile client certificates (`npm run bench` part 4, or on its own:
 * `node --import tsx bench/flood-memory.ts [--json] [count ...]`; `--api`: through verify() alone).
 *
 * Per count: a fresh HTTPS server whose guard (clientCertGuard with its own verifier, trusting the
 * dev PKI's CA) is asked about every request; `count` real TLS handshakes, each presenting a
 * distinct self-signed certificate with a ~28 KB subject (bench/flood-certs.ts), each refused
 * CERT_UNTRUSTED. Heap (used + external, after forced GCs, connections closed) before the flood and
 * after it, with the server, guard and verifier still alive: what the flood left behind. Then a
 * legitimate client must still be served.
 */
import https from 'node:https';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import tls from 'node:tls';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { clientCertGuard, createVerifier } from 'certgate';
import { cacheUsage } from '../src/verifier/verifier.js';
import { generateDevPki } from '../src/devpki/generate.js';
import { floodMaker } from './flood-certs.js';
import { round } from './stats.js';

export interface FloodMemoryRun {
  certificates: number;
  subjectBytes: number;
  certificateDerBytes: number;
  concurrency: number;
  seconds: number;
  /** Heap used + external, MB, after GC. */
  beforeMb: number;
  afterMb: number;
  retainedMb: number;
  retainedKbPerCertificate: number;
  refused: number;
  legitimateClientStatus: number;
}

const CONCURRENCY = 8;
const MB = 1024 * 1024;

/** The garbage collector: node --expose-gc's, or exposed now (so tests under vitest can measure too). */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function settledHeap(): Promise<number> {
  const gc = collector();
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** One handshake and one GET; resolves with the HTTP status line's code (0 if none). */
function handshake(port: number, ca: string, cert: string, key: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, cert, key, servername: 'localhost' }, () => {
      socket.write('GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    });
    let head = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      head += chunk;
    });
    const done = () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0));
    socket.on('close', done);
    socket.on('error', () => socket.destroy());
  });
}

export async function measureFloodMemory(count: number, subjectBytes = 28 * 1024): Promise<FloodMemoryRun> {
  const dir = await mkdtemp(join(os.tmpdir(), 'certgate-flood-'));
  const files = await generateDevPki(dir);
  const pem = (path: string) => readFile(path, 'utf8');
  const ca = await pem(files.caBundle);
  const alice = { cert: await pem(files.clients.alice.cert), key: await pem(files.clients.alice.key) };
  const serverTls = { cert: await pem(files.serverCert), key: await pem(files.serverKey) };
  await rm(dir, { recursive: true, force: true });
  const guard = clientCertGuard({ ca });
  let refused = 0;
  const server = https.createServer({ ...serverTls, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    void guard.check(req).then((outcome) => {
      if (!outcome.ok) refused++;
      res.writeHead(outcome.ok ? 200 : outcome.error.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    // Warm up the code paths (and the dev CA's parse) so the baseline holds no first-use costs.
    if ((await handshake(port, ca, alice.cert, alice.key)) !== 200) throw new Error('SANITY FAILURE: alice refused');
    const maker = floodMaker(subjectBytes);
    const sample = maker.make(-1);
    const before = await settledHeap();
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const { pem: cert } = maker.make(next++);
        await handshake(port, ca, cert, maker.keyPem);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - started) / 1000;
    server.closeAllConnections();
    const after = await settledHeap();
    const legitimateClientStatus = await handshake(port, ca, alice.cert, alice.key);
    return {
      certificates: count,
      subjectBytes,
      certificateDerBytes: sample.der.length,
      concurrency: CONCURRENCY,
      seconds: round(seconds, 1),
      beforeMb: round(before / MB, 1),
      afterMb: round(after / MB, 1),
      retainedMb: round((after - before) / MB, 1),
      retainedKbPerCertificate: round((after - before) / 1024 / count, 1),
      refused,
      legitimateClientStatus,
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The verifier's estimated cache bytes, all caches together (undefined on code without byte bounds). */
function cacheBytes(verifier: Parameters<typeof cacheUsage>[0]): number | undefined {
  const usage = (cacheUsage as typeof cacheUsage | undefined)?.(verifier);
  return usage && usage.proven + usage.unproven + usage.signatures + usage.outcomes;
}

/**
 * The same flood through verify() alone (no TLS: five times faster, for large counts): a verifier
 * with default options, `count` distinct hostile certificates, then alice's chain.
 */
export async function measureFloodMemoryApi(count: number, subjectBytes = 28 * 1024) {
  const dir = await mkdtemp(join(os.tmpdir(), 'certgate-flood-'));
  const files = await generateDevPki(dir);
  const ca = await readFile(files.caBundle, 'utf8');
  const alice = await readFile(files.clients.alice.cert, 'utf8');
  await rm(dir, { recursive: true, force: true });
  const verifier = createVerifier({ ca });
  if (!(await verifier.verify(alice)).ok) throw new Error('SANITY FAILURE: alice refused');
  const maker = floodMaker(subjectBytes);
  const before = await settledHeap();
  const started = performance.now();
  let refused = 0;
  for (let i = 0; i < count; i++) if (!(await verifier.verify(maker.make(i).der)).ok) refused++;
  const seconds = (performance.now() - started) / 1000;
  const after = await settledHeap();
  const legitimate = (await verifier.verify(alice)).ok;
  return {
    certificates: count,
    seconds: round(seconds, 1),
    retainedMb: round((after - before) / MB, 1),
    retainedKbPerCertificate: round((after - before) / 1024 / count, 1),
    estimatedCacheMb: round((cacheBytes(verifier) ?? Number.NaN) / MB, 1),
    refused,
    legitimate,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  if (args.includes('--api')) {
    for (const count of args.filter((a) => /^\d+$/.test(a)).map(Number))
      process.stdout.write(`verify() flood: ${JSON.stringify(await measureFloodMemoryApi(count))}\n`);
    return;
  }
  const counts = args.filter((a) => /^\d+$/.test(a)).map(Number);
  const runs: FloodMemoryRun[] = [];
  for (const count of counts.length > 0 ? counts : [2000, 10_000]) {
    const run = await measureFloodMemory(count);
    runs.push(run);
    if (!json)
      process.stdout.write(
        `${count} hostile certificates (${run.certificateDerBytes} B DER, ~${run.subjectBytes} B subject): ` +
          `+${run.retainedMb} MB (${run.retainedKbPerCertificate} KB each) in ${run.seconds} s; ` +
          `refused ${run.refused}; legitimate client then got ${run.legitimateClientStatus}\n`,
      );
    if (run.legitimateClientStatus !== 200) throw new Error('SANITY FAILURE: alice refused after the flood');
  }
  if (json) process.stdout.write(`${JSON.stringify(runs)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`flood bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
