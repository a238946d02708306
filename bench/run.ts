/**
 * certgate benchmark: `npm run bench` (tsx bench/run.ts). Prints a report and writes bench/results.json.
 *
 *   1. keep-alive mTLS throughput: /plain vs /noop vs /guarded on one Express 5 HTTPS server,
 *      autocannon in a separate process, routes interleaved over several rounds;
 *   2. per-request cost of the guard on an already-verified connection (in-process, real TLSSocket);
 *   3. cost of verifying unseen certificates (new leaf; fully cold; RSA; cache hit);
 *   4. event-loop time of one hostile, unauthenticated request (bench/hostile-request.ts);
 *   5. memory left behind by a flood of distinct hostile certificates over TLS (bench/flood-memory.ts);
 *   6. the forwarded path (guard option `proxy`): part 1's throughput over plain HTTP with the certificate
 *      header nginx sets, and the guard's in-process cost per forwarded request (bench/forwarded.ts;
 *      alone: `npm run bench:forwarded`);
 *   7. beyond Express: guarded / plain on Fastify (keep-alive mTLS) and on HTTP/2 sessions with many
 *      streams (bench/frameworks.ts; alone: `npm run bench:frameworks`);
 *   8. what name constraints and certificate policies on every CA add to a path's validation
 *      (bench/rules-cost.ts; alone: `npm run bench:rules`).
 *
 * Only the sanity checks fail the run (non-2xx responses, a cert-less request not refused, a
 * verification that should succeed failing); timings are reported, never asserted.
 *
 * Environment knobs: BENCH_ROUNDS (8), BENCH_DURATION (3 s), BENCH_WARMUP (2 s), BENCH_CONNECTIONS (10),
 * BENCH_FLOOD_COUNTS (2000,10000), BENCH_QUICK=1 (1 round of 1 s, fewer certificates: checks the harness,
 * figures meaningless).
 */
import https from 'node:https';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { byCommonName, createVerifier } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { generateDevPki } from '../src/devpki/generate.js';
import { ROUTE_BODY, threeRouteApp } from './routes.js';
import { measureThroughput, type ThroughputResult } from './throughput.js';
import { measureGuardCost, type GuardCostResult } from './guard-cost.js';
import { measureVerifyCost, type VerifyCostResult } from './verify-cost.js';
import { measureHostileRequests, type HostileRequestResult } from './hostile-request.js';
import { round } from './stats.js';
import { log, QUICK, THROUGHPUT_CONFIG } from './config.js';
import { type FloodMemoryRun, measureFloodMemory } from './flood-memory.js';
import { FORWARDED_HEADER, type ForwardedResult, forwardedRows, measureForwarded } from './forwarded.js';
import { frameworkRows, measureFrameworks } from './frameworks.js';
import { measureRulesCost, type RulesCostResult } from './rules-cost.js';

const CONFIG = THROUGHPUT_CONFIG;
const FLOOD_COUNTS = (process.env.BENCH_FLOOD_COUNTS ?? (QUICK ? '200' : '2000,10000')).split(',').map(Number);
const VERIFY = QUICK
  ? { leaves: 20, coldIterations: 10, crlEntries: 1000, warmup: 10 }
  : { leaves: 200, coldIterations: 100, crlEntries: 1000, warmup: 20 };

const benchDir = fileURLToPath(new URL('.', import.meta.url));

interface Response {
  status: number;
  body: string;
  contentType: string | undefined;
}

function get(
  port: number,
  path: string,
  tls: { ca: string; cert?: string; key?: string; agent?: https.Agent },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'GET',
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        agent: tls.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    openssl: process.versions.openssl,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpuCount: os.cpus().length,
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
    loadAverageAtEnd: [] as number[],
    quick: QUICK,
  };
  log(
    `certgate benchmark  ${meta.date}  node ${meta.node}  ${meta.cpuModel} x${meta.cpuCount}  load avg ${meta.loadAverageAtStart.join(' ')}`,
  );
  if (QUICK) log('BENCH_QUICK=1: harness check only, the figures are not meaningful');

  // ---- Dev PKI and the server under test --------------------------------------------------------
  const pkiDir = await mkdtemp(join(os.tmpdir(), 'certgate-bench-'));
  const sanity: Record<string, string> = {};
  let server: https.Server | undefined;
  let agent: https.Agent | undefined;
  try {
    const files = await generateDevPki(pkiDir);
    const pem = async (path: string) => readFile(path, 'utf8');
    const ca = await pem(files.caBundle);
    const crl = await pem(files.crl);
    const alice = { cert: await pem(files.clients.alice.cert), key: await pem(files.clients.alice.key) };

    const verifier = createVerifier({ ca, crl });
    const identify = byCommonName({ alice: { roles: ['customer'] } });
    const roles = ['customer'];
    const guard = requireClientCert({ verifier, identify, roles });

    let captured: TLSSocket | undefined;
    const app = threeRouteApp(guard);
    // Same guard instance; the handler keeps the connection's socket for part 2.
    app.get('/capture', guard, (req, res) => {
      captured = req.socket as TLSSocket;
      res.json(ROUTE_BODY);
    });

    server = https.createServer(
      {
        cert: await pem(files.serverCert),
        key: await pem(files.serverKey),
        ca,
        requestCert: true,
        rejectUnauthorized: false,
      },
      app,
    );
    // Long enough that the connection captured for part 2 stays open while we measure on it.
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => (server as https.Server).listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const baseUrl = `https://127.0.0.1:${port}`;

    // ---- Sanity checks (the only pass/fail) -------------------------------------------------------
    const withCert = await get(port, '/guarded', { ca, ...alice });
    if (withCert.status !== 200 || withCert.body !== JSON.stringify(ROUTE_BODY)) {
      throw new Error(`SANITY FAILURE: GET /guarded with alice's certificate gave ${withCert.status} ${withCert.body}`);
    }
    const noCert = await get(port, '/guarded', { ca });
    if (noCert.status !== 401)
      throw new Error(
        `SANITY FAILURE: GET /guarded without a client certificate gave ${noCert.status}, expected 401: ${noCert.body}`,
      );
    const plainNoCert = await get(port, '/plain', { ca });
    if (plainNoCert.status !== 200)
      throw new Error(`SANITY FAILURE: GET /plain without a client certificate gave ${plainNoCert.status}`);
    sanity.guardedWithAlice = `${withCert.status}`;
    sanity.guardedWithoutCert = `${noCert.status} ${noCert.contentType ?? ''} ${noCert.body}`;
    sanity.plainWithoutCert = `${plainNoCert.status}`;
    log(
      `sanity: /guarded with alice -> ${withCert.status}; without a certificate -> ${noCert.status} (${noCert.body}); /plain without -> ${plainNoCert.status}`,
    );

    // ---- 1. Throughput ----------------------------------------------------------------------------
    log();
    log(
      `1. keep-alive mTLS throughput: ${CONFIG.rounds} rounds x 3 routes x ${CONFIG.durationSeconds} s, ${CONFIG.connections} connections, pipelining ${CONFIG.pipelining} (autocannon in a child process)`,
    );
    const throughput = await measureThroughput(baseUrl, { ca, ...alice }, CONFIG, log);
    sanity.throughputNon2xx = 'all runs 0 non-2xx, 0 errors';

    // ---- 2. Guard cost on an already-verified connection -----------------------------------------
    log();
    log('2. per-request guard cost on an already-verified connection (in-process, real TLSSocket)');
    agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const cap = await get(port, '/capture', { ca, ...alice, agent });
    if (cap.status !== 200 || !captured) throw new Error(`SANITY FAILURE: GET /capture gave ${cap.status}`);
    const guardCost: GuardCostResult = await measureGuardCost({
      socket: captured,
      guardMiddleware: guard as never,
      verifier,
      identify,
      roles,
      expectedUser: 'alice',
    });
    log(
      `  guard middleware ${guardCost.guardMiddlewareNs} ns/call, no-op ${guardCost.noopMiddlewareNs} ns/call, getPeerX509Certificate() ${guardCost.getPeerX509CertificateNs} ns, getPeerCertificate(true) ${guardCost.getPeerCertificateDetailedNs} ns`,
    );
    agent.destroy();
    agent = undefined;
    await new Promise<void>((resolve) => {
      server?.closeAllConnections();
      server?.close(() => resolve());
    });
    server = undefined;

    // ---- 3. Verification cost ---------------------------------------------------------------------
    log();
    log(
      `3. verification cost: ${VERIFY.leaves} distinct leaves, CRL with ~${VERIFY.crlEntries} revoked serials, ${VERIFY.coldIterations} cold iterations`,
    );
    const verifyCost: VerifyCostResult[] = [];
    for (const kind of ['ecdsa-p256', 'rsa-2048'] as const) {
      const r = await measureVerifyCost(kind, VERIFY);
      verifyCost.push(r);
      log(
        `  ${kind}: unseen leaf ${r.unseenLeaf.medianUs} us (p95 ${r.unseenLeaf.p95Us}), cold ${r.cold.medianUs} us (p95 ${r.cold.p95Us}), cache hit ${r.cacheHitPem.medianUs} us (PEM) / ${r.cacheHitDer.medianUs} us (DER); createVerifier ${r.createVerifierMs.median} ms`,
      );
    }
    sanity.verify = 'every timed verification returned ok; the revoked leaf returned CERT_REVOKED';

    const hostile = await hostilePart(ca);
    sanity.hostile = 'every hostile chain was refused';
    const floodMemory = await floodPart();
    sanity.floodMemory = 'every hostile certificate refused; alice served after each flood';
    const forwarded = await forwardedPart();
    log();
    const frameworks = await measureFrameworks(log);
    const rulesCost = await rulesPart();

    meta.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));
    const totalSeconds = round((Date.now() - started) / 1000, 1);
    const results = {
      ...{ meta, totalSeconds, sanity, throughput, guardCost, verifyCost, hostile, floodMemory, forwarded },
      frameworks,
      rulesCost,
    };
    await writeFile(join(benchDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    log();
    log(renderTable(meta, throughput, guardCost, verifyCost, hostile, forwarded, totalSeconds));
    for (const [k, v] of frameworkRows(frameworks)) log(v === '' ? k : `  ${k}  ${v}`);
    for (const r of floodMemory)
      log(
        `  flood of ${r.certificates} hostile certificates (${r.certificateDerBytes} B, ~${r.subjectBytes} B subject): ` +
          `heap +${r.retainedMb} MB after GC (${r.retainedKbPerCertificate} KB each)`,
      );
    log(`results written to ${join(benchDir, 'results.json')}`);
  } finally {
    agent?.destroy();
    if (server) {
      server.closeAllConnections();
      server.close();
    }
    await rm(pkiDir, { recursive: true, force: true });
  }
}

/** Part 8: name constraints and certificate policies on every CA, against none. */
async function rulesPart(): Promise<RulesCostResult> {
  log();
  log('8. RFC 5280 name constraints and certificate policies on every CA of a 4-certificate path, against none');
  const r = await measureRulesCost(QUICK ? { rounds: 2, calls: 200 } : { rounds: 10, calls: 2000 });
  log(
    `  path rules ${r.rulesPlainNs} ns -> ${r.rulesConstrainedNs} ns (+${r.rulesAddedUs} us); ` +
      `uncached verify ${r.verifyPlainUs} us -> ${r.verifyConstrainedUs} us (+${r.verifyAddedUs} us)`,
  );
  return r;
}

/** Part 4: the event-loop time of the worst refused requests (measureHostileRequests throws if one is accepted). */
async function hostilePart(ca: string): Promise<HostileRequestResult[]> {
  log();
  log('4. hostile requests: verify() wall time (= event-loop time) per refused request, goal < 50 ms');
  const hostile = await measureHostileRequests(ca, QUICK ? 3 : 20);
  for (const h of hostile) {
    const leaf = `new leaf median ${h.newLeaf.medianMs} ms (max ${h.newLeaf.maxMs}; CPU ${h.newLeaf.cpuMedianMs})`;
    const all = `all new median ${h.newChain.medianMs} ms (max ${h.newChain.maxMs}; CPU ${h.newChain.cpuMedianMs})`;
    log(`  ${h.shape} (${h.certificates} certs, ${h.bytes} B): ${h.code}; ${leaf}, ${all}`);
  }
  return hostile;
}

/** Part 5: heap left behind by floods of distinct hostile certificates over real TLS. */
async function floodPart(): Promise<FloodMemoryRun[]> {
  log();
  log(`5. memory left by a flood of hostile certificates over TLS (${FLOOD_COUNTS.join(', ')} handshakes)`);
  const floodMemory: FloodMemoryRun[] = [];
  for (const count of FLOOD_COUNTS) {
    const r = await measureFloodMemory(count);
    floodMemory.push(r);
    log(`  ${count}: +${r.retainedMb} MB (${r.retainedKbPerCertificate} KB each) in ${r.seconds} s`);
    if (r.refused !== count || r.legitimateClientStatus !== 200)
      throw new Error(
        `SANITY FAILURE: flood of ${count}: ${r.refused} refused, then alice got ${r.legitimateClientStatus}`,
      );
  }
  return floodMemory;
}

/** Part 6: the forwarded path, behind a (simulated) nginx. */
async function forwardedPart(): Promise<ForwardedResult> {
  log();
  log(
    `6. forwarded path: keep-alive HTTP with ${FORWARDED_HEADER} as nginx sets it, ${CONFIG.rounds} rounds x 3 routes x ${CONFIG.durationSeconds} s, ${CONFIG.connections} connections`,
  );
  const forwarded = await measureForwarded(CONFIG, log);
  const k = forwarded.cost;
  log(
    `  guard middleware ${k.guardMiddlewareFreshRequestNs} ns/call (same request ${k.guardMiddlewareSameRequestNs} ns, no-op ${k.noopMiddlewareNs} ns); unseen value ${k.guardCheckUnseenValueUs.median} us`,
  );
  return forwarded;
}

function renderTable(
  meta: {
    date: string;
    node: string;
    cpuModel: string;
    cpuCount: number;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  },
  t: ThroughputResult,
  g: GuardCostResult,
  v: VerifyCostResult[],
  hostile: HostileRequestResult[],
  forwarded: ForwardedResult,
  totalSeconds: number,
): string {
  const rows: Array<[string, string]> = [];
  const section = (title: string) => rows.push([`-- ${title}`, '']);
  const c = t.config;
  section(
    `1. keep-alive mTLS throughput (median of ${c.rounds} interleaved ${c.durationSeconds} s runs, ${c.connections} conns)`,
  );
  for (const route of ['plain', 'noop', 'guarded'] as const) {
    const p = t.perRoute[route];
    rows.push([
      `/${route} req/s`,
      `${p.medianRps}  (min ${p.minRps}, max ${p.maxRps}; ${p.medianServerCpuUsPerRequest} us server CPU/req; CPU server ${Math.round(p.medianServerCpu * 100)}% / autocannon ${Math.round(p.medianLoadGenCpu * 100)}%; p99 ${p.medianLatencyP99Ms} ms)`,
    ]);
  }
  rows.push([
    'guarded / plain',
    `${t.ratios.guardedOverPlain.toFixed(3)}  (goal >= 0.90; median of per-round ratios ${t.pairedRatios.guardedOverPlain.toFixed(3)}; CPU-normalised ${t.cpuNormalisedRatios.guardedOverPlain.toFixed(3)})`,
  ]);
  rows.push([
    'noop / plain',
    `${t.ratios.noopOverPlain.toFixed(3)}  (median of per-round ratios ${t.pairedRatios.noopOverPlain.toFixed(3)}; CPU-normalised ${t.cpuNormalisedRatios.noopOverPlain.toFixed(3)})`,
  ]);
  rows.push(['guarded / noop', t.ratios.guardedOverNoop.toFixed(3)]);
  rows.push(['non-2xx responses', '0 in every run (checked); /guarded without a cert -> 401']);
  if (t.starvedRuns > 0) {
    rows.push([
      'WARNING',
      `in ${t.starvedRuns}/${t.runs.length} runs the server got < 90% of a core (other load on the machine): req/s figures are noisy, prefer the CPU-normalised ratios`,
    ]);
  }
  section('2. per request on an already-verified connection (in-process)');
  rows.push(['guard middleware (fast path)', `${g.guardMiddlewareNs} ns/call`]);
  rows.push(['no-op middleware', `${g.noopMiddlewareNs} ns/call`]);
  rows.push(['socket.getPeerX509Certificate()', `${g.getPeerX509CertificateNs} ns/call`]);
  rows.push(['socket.getPeerCertificate(true)', `${g.getPeerCertificateDetailedNs} ns/call`]);
  rows.push(['socket.getPeerCertificate()', `${g.getPeerCertificateNs} ns/call`]);
  rows.push([
    'guard.check, new connection*',
    `${g.guardCheckNewConnectionUs.median} us  (*fresh guard, verifier cache hit; + chain read ~ one getPeerCertificate(true))`,
  ]);
  for (const r of v) {
    section(`3${r.kind === 'rsa-2048' ? 'c' : ''}. verify() cost, ${r.kind} chain (CRL ${r.crlEntries} serials)`);
    rows.push([
      '(a) unseen leaf, known intermediate',
      `median ${r.unseenLeaf.medianUs} us, p95 ${r.unseenLeaf.p95Us} us  (n=${r.unseenLeaf.n})`,
    ]);
    rows.push([
      '(b) fully cold (new verifier)',
      `median ${r.cold.medianUs} us, p95 ${r.cold.p95Us} us  (n=${r.cold.n})`,
    ]);
    rows.push(['(d) cache hit, PEM / DER input', `median ${r.cacheHitPem.medianUs} us / ${r.cacheHitDer.medianUs} us`]);
    rows.push([
      'createVerifier({ ca, crl })',
      `median ${r.createVerifierMs.median} ms, p95 ${r.createVerifierMs.p95} ms`,
    ]);
  }
  section('4. hostile request, refused: verify() wall time (goal < 50 ms; new leaf / all new, median and max)');
  for (const h of hostile) {
    rows.push([
      `${h.shape} (${h.certificates} certs)`,
      `${h.code}: ${h.newLeaf.medianMs} / ${h.newChain.medianMs} ms (max ${h.newLeaf.maxMs} / ${h.newChain.maxMs}; ` +
        `CPU median ${h.newLeaf.cpuMedianMs} / ${h.newChain.cpuMedianMs} ms)`,
    ]);
  }
  rows.push(...forwardedRows(forwarded));
  section('environment');
  rows.push(['node', meta.node]);
  rows.push(['cpu', `${meta.cpuModel} x${meta.cpuCount}`]);
  rows.push(['date', meta.date]);
  rows.push(['load average start / end', `${meta.loadAverageAtStart.join(' ')} / ${meta.loadAverageAtEnd.join(' ')}`]);
  rows.push(['total bench time', `${totalSeconds} s`]);
  const width = Math.max(...rows.filter(([, val]) => val !== '').map(([k]) => k.length));
  return rows.map(([k, val]) => (val === '' ? k : `  ${k.padEnd(width)}  ${val}`)).join('\n');
}

main().catch(async (err: unknown) => {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`\nBENCH FAILED: ${message}\n`);
  // Overwrite results.json so a stale success is never mistaken for this run's.
  await writeFile(
    join(benchDir, 'results.json'),
    `${JSON.stringify({ failed: true, date: new Date().toISOString(), node: process.version, error: message }, null, 2)}\n`,
  ).catch(() => {});
  process.exit(1);
});
