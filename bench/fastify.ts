/**
 * Keep-alive mTLS throughput of certgate/fastify: /plain, /noop (an empty onRequest hook: the
 * noise floor) and /guarded (requireClientCert as a route onRequest hook) on ONE Fastify 5 HTTPS
 * server, autocannon in a separate process, routes interleaved over rounds (bench/throughput.ts,
 * as part 1 of bench/run.ts does for Express). The headline is the median of the per-round
 * guarded/plain ratios; goal >= 0.90.
 *
 * Alone: `npx tsx bench/fastify.ts [--decorated]`, with the knobs of bench/config.ts (BENCH_ROUNDS,
 * BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_QUICK). `--decorated` adds
 * `app.decorateRequest('clientCert', null)`, to see whether a stable request shape matters.
 */
import os from 'node:os';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { byCommonName, createVerifier } from 'certgate';
import { type ClientCertHook, requireClientCert } from 'certgate/fastify';
import { generateDevPki } from '../src/devpki/generate.js';
import { ROUTE_BODY } from './routes.js';
import { measureThroughput, type ThroughputConfig, type ThroughputResult, type TlsClient } from './throughput.js';
import { log as defaultLog, THROUGHPUT_CONFIG } from './config.js';
import { median, round } from './stats.js';

export interface FastifyBenchOptions {
  /** `app.decorateRequest('clientCert', null)` before the routes. Default false (the API as documented). */
  decorated?: boolean;
}

export interface FastifyBenchResult {
  fastifyVersion: string;
  decorated: boolean;
  sanity: Record<string, string>;
  throughput: ThroughputResult;
  /** In-process, on a real request of an already-verified keep-alive connection: ns per hook call. */
  hookCost: { guardHookNs: number; noopHookNs: number };
}

type Hook = ClientCertHook;
const noopHook: Hook = (_request, _reply, done) => {
  done();
};

/** Median ns per call over 7 batches of 100,000, after a warm-up batch. */
function nsPerCall(fn: () => void): number {
  const perBatch = 100_000;
  const samples: number[] = [];
  for (let b = -1; b < 7; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) fn();
    if (b >= 0) samples.push(Number(process.hrtime.bigint() - start) / perBatch);
  }
  return round(median(samples), 1);
}

/**
 * The hook's own cost, free of the load generator's noise: called with the real Fastify request
 * and reply of a request that arrived on a verified connection, against an empty hook.
 */
function measureHookCost(guard: Hook, captured: { request?: unknown; reply?: unknown }) {
  let passed = 0;
  const done = (err?: Error) => {
    if (err === undefined) passed++;
  };
  const request = captured.request as never;
  const reply = captured.reply as never;
  guard(request, reply, done);
  if (passed !== 1) throw new Error('SANITY FAILURE: the hook did not pass synchronously on a verified connection');
  return {
    guardHookNs: nsPerCall(() => guard(request, reply, done)),
    noopHookNs: nsPerCall(() => noopHook(request, reply, done)),
  };
}

/** The three routes on one Fastify 5 server; every handler answers ROUTE_BODY the same way. */
function threeRouteFastify(
  tls: object,
  guard: Hook,
  decorated: boolean,
  captured: { request?: unknown; reply?: unknown },
) {
  const app = Fastify({ https: tls, keepAliveTimeout: 120_000 });
  if (decorated) app.decorateRequest('clientCert', null as never);
  app.get('/plain', (_request, reply) => {
    reply.send(ROUTE_BODY);
  });
  app.get(
    '/noop',
    {
      onRequest: (_request, _reply, done) => {
        done();
      },
    },
    (_request, reply) => {
      reply.send(ROUTE_BODY);
    },
  );
  app.get('/guarded', { onRequest: guard }, (_request, reply) => {
    reply.send(ROUTE_BODY);
  });
  // The same hook; the handler keeps its request and reply for the in-process measurement.
  app.get('/capture', { onRequest: guard }, (request, reply) => {
    captured.request = request;
    captured.reply = reply;
    reply.send(ROUTE_BODY);
  });
  return app;
}

function fetchOnce(port: number, path: string, tls: { ca: string; cert?: string; key?: string; agent?: https.Agent }) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, agent: false, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The only pass/fail: the guard lets alice in, refuses a client without a certificate, and /plain is open. */
async function sanityChecks(port: number, client: TlsClient): Promise<Record<string, string>> {
  const withCert = await fetchOnce(port, '/guarded', client);
  const noCert = await fetchOnce(port, '/guarded', { ca: client.ca });
  const plain = await fetchOnce(port, '/plain', { ca: client.ca });
  if (withCert.status !== 200 || withCert.body !== JSON.stringify(ROUTE_BODY) || noCert.status !== 401) {
    throw new Error(`SANITY FAILURE: /guarded gave ${withCert.status} with alice, ${noCert.status} without`);
  }
  if (plain.status !== 200) throw new Error(`SANITY FAILURE: /plain without a certificate gave ${plain.status}`);
  return { guardedWithAlice: '200', guardedWithoutCert: `401 ${noCert.body}`, plainWithoutCert: '200' };
}

/** Part "Fastify" of the benchmark: the adapter's keep-alive throughput against a plain route. */
export async function measureFastify(
  config: ThroughputConfig = THROUGHPUT_CONFIG,
  log: (line: string) => void = defaultLog,
  options: FastifyBenchOptions = {},
): Promise<FastifyBenchResult> {
  const decorated = options.decorated ?? false;
  const pkiDir = await mkdtemp(join(os.tmpdir(), 'certgate-bench-fastify-'));
  let app: FastifyInstance | undefined;
  try {
    const files = await generateDevPki(pkiDir);
    const pem = (path: string) => readFile(path, 'utf8');
    const client: TlsClient = {
      ca: await pem(files.caBundle),
      cert: await pem(files.clients.alice.cert),
      key: await pem(files.clients.alice.key),
    };
    const shared = createVerifier({ ca: client.ca, crl: await pem(files.crl) });
    const tls = {
      cert: await pem(files.serverCert),
      key: await pem(files.serverKey),
      ca: client.ca,
      requestCert: true,
      rejectUnauthorized: false,
    };
    const guardOptions = {
      verifier: shared,
      identify: byCommonName({ alice: { roles: ['customer'] } }),
      roles: ['customer'],
    };
    const guard = requireClientCert(guardOptions);
    const captured: { request?: unknown; reply?: unknown } = {};
    app = threeRouteFastify(tls, guard, decorated, captured);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const sanity = await sanityChecks(port, client);
    log(`  Fastify ${app.version}${decorated ? ", decorateRequest('clientCert', null)" : ''}: sanity ok`);
    const throughput = await measureThroughput(`https://127.0.0.1:${port}`, client, config, log);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const capture = await fetchOnce(port, '/capture', { ...client, agent });
    if (capture.status !== 200) throw new Error(`SANITY FAILURE: /capture gave ${capture.status}`);
    const hookCost = measureHookCost(guard, captured);
    agent.destroy();
    log(`  in-process: guard hook ${hookCost.guardHookNs} ns/call, no-op hook ${hookCost.noopHookNs} ns/call`);
    shared.close();
    return { fastifyVersion: app.version, decorated, sanity, throughput, hookCost };
  } finally {
    await app?.close();
    await rm(pkiDir, { recursive: true, force: true });
  }
}

/** The lines bench/run.ts (or the standalone run) prints for a result. */
export function fastifyRows(r: FastifyBenchResult): Array<[string, string]> {
  const t = r.throughput;
  const c = t.config;
  const rows: Array<[string, string]> = [
    [
      `-- Fastify ${r.fastifyVersion} keep-alive mTLS throughput${r.decorated ? ' (decorateRequest)' : ''} ` +
        `(median of ${c.rounds} interleaved ${c.durationSeconds} s runs, ${c.connections} conns)`,
      '',
    ],
  ];
  for (const route of ['plain', 'noop', 'guarded'] as const) {
    const p = t.perRoute[route];
    rows.push([
      `/${route} req/s`,
      `${p.medianRps}  (min ${p.minRps}, max ${p.maxRps}; ${p.medianServerCpuUsPerRequest} us server CPU/req; ` +
        `CPU server ${Math.round(p.medianServerCpu * 100)}% / autocannon ${Math.round(p.medianLoadGenCpu * 100)}%)`,
    ]);
  }
  const ratio = (name: keyof ThroughputResult['ratios']) =>
    `${t.pairedRatios[name].toFixed(3)}  (ratio of medians ${t.ratios[name].toFixed(3)}; ` +
    `CPU-normalised ${t.cpuNormalisedRatios[name].toFixed(3)})`;
  rows.push(['guarded / plain, per-round median', `${ratio('guardedOverPlain')}; goal >= 0.90`]);
  rows.push(['noop / plain (noise floor)', ratio('noopOverPlain')]);
  rows.push(['guarded / noop', ratio('guardedOverNoop')]);
  rows.push([
    'hook on a verified connection (in-process)',
    `${r.hookCost.guardHookNs} ns/call (no-op hook ${r.hookCost.noopHookNs} ns)`,
  ]);
  if (t.starvedRuns > 0) rows.push(['WARNING', `${t.starvedRuns}/${t.runs.length} runs got < 90% of a core`]);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const decorated = process.argv.includes('--decorated');
  const c = THROUGHPUT_CONFIG;
  const load = os.loadavg().map((x) => x.toFixed(2));
  defaultLog(
    `certgate/fastify throughput: ${c.rounds} rounds x 3 routes x ${c.durationSeconds} s, ` +
      `${c.connections} connections, load avg ${load.join(' ')}`,
  );
  measureFastify(c, defaultLog, { decorated })
    .then((r) => {
      const rows = fastifyRows(r);
      const width = Math.max(...rows.filter(([, v]) => v !== '').map(([k]) => k.length));
      defaultLog();
      for (const [k, v] of rows) defaultLog(v === '' ? k : `  ${k.padEnd(width)}  ${v}`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`\nBENCH FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
