/**
 * certgate benchmark, "a cheap new connection": `npm run bench:connection`
 * (node --import tsx bench/new-connection.ts). Prints a report and writes bench/results-new-connection.json.
 *
 * Clients that open a NEW TLS connection for every request (no keep-alive, no session resumption)
 * pay a full handshake per request, and certgate's per-connection work on top of it. This measures
 * that work as server CPU time per request, side by side:
 *
 *   guarded  GET /guarded on server A: requireClientCert({ verifier, identify, roles }), shared warm verifier
 *   noop     GET /noop    on server A: a no-op middleware (the same app, so it also pays whatever
 *                         certgate installed on server A, e.g. its 'secureConnection' listener)
 *   bare     GET /noop    on server B: the same Express app and TLS options on a second HTTPS
 *                         server that no guarded request ever reached (no certgate work at all)
 *
 * The server runs in this process; a client in a child process (bench/new-connection-runner.mjs)
 * opens one TLS connection per request with alice's certificate and intermediate, at a fixed
 * concurrency. The legs are interleaved over several rounds, rotating the order each round. Per
 * leg and round: server CPU (process.cpuUsage() of this process, all threads, GC included) /
 * requests completed. The per-round ratios are the figures to trust on a shared machine.
 *
 * Only the sanity checks fail the run (every response 200 with the expected body, no resumed
 * session, /guarded without a certificate -> 401); timings are reported, never asserted.
 *
 * Environment knobs: BENCH_ROUNDS (8), BENCH_DURATION (3 s), BENCH_WARMUP (2 s), BENCH_CONCURRENCY (4),
 * BENCH_QUICK=1 (one round of 1 s: checks the harness, figures meaningless),
 * BENCH_PROFILE=dir (instead of the timed rounds, one CPU profile per leg of BENCH_PROFILE_SECONDS
 * (10) each, sampled every BENCH_PROFILE_INTERVAL_US (100) µs, written to dir/<leg>.cpuprofile and
 * summarised by bench/profile-summary.mjs; results JSON untouched).
 */
import https from 'node:https';
import os from 'node:os';
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { byCommonName, createVerifier } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { generateDevPki } from '../src/devpki/generate.js';
import { median, quantile, round } from './stats.js';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const QUICK = process.env.BENCH_QUICK === '1';
const PROFILE_DIR = process.env.BENCH_PROFILE ? resolve(process.env.BENCH_PROFILE) : undefined;
const CONFIG = {
  rounds: env('BENCH_ROUNDS', QUICK ? 1 : 8),
  durationSeconds: env('BENCH_DURATION', QUICK ? 1 : 3),
  warmupSeconds: env('BENCH_WARMUP', QUICK ? 0.5 : 2),
  concurrency: env('BENCH_CONCURRENCY', 4),
  profileSeconds: env('BENCH_PROFILE_SECONDS', QUICK ? 2 : 10),
  profileIntervalUs: env('BENCH_PROFILE_INTERVAL_US', 100),
};

const LEGS = ['guarded', 'noop', 'bare'] as const;
type Leg = (typeof LEGS)[number];

const log = (line = '') => process.stdout.write(`${line}\n`);
const benchDir = fileURLToPath(new URL('.', import.meta.url));

interface ClientTls {
  ca: string;
  cert?: string;
  key?: string;
  servername: string;
}

interface ClientResult {
  requests: number;
  wallSeconds: number;
  clientCpu: number;
  statusCounts: Record<string, number>;
  mismatches: number;
  firstMismatch?: string;
  errors: number;
  firstError?: string;
  reusedSessions: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

class Client {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ClientResult) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (msg: { id: number; ok: boolean; result?: ClientResult; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result as ClientResult);
      else p.reject(new Error(`client: ${msg.error}`));
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`client exited with code ${code}`));
      this.pending.clear();
    });
  }

  static async start(): Promise<Client> {
    const script = fileURLToPath(new URL('./new-connection-runner.mjs', import.meta.url));
    // execArgv: [] so the child is plain node, without the tsx loader (or --cpu-prof) of the parent.
    const child = fork(script, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((res, rej) => {
      child.once('error', rej);
      child.once('exit', (code) => rej(new Error(`client exited early (code ${code})`)));
      child.once('message', (m: { type?: string }) =>
        m?.type === 'ready' ? res() : rej(new Error('client: unexpected first message')),
      );
    });
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    return new Client(child);
  }

  run(opts: {
    port: number;
    path: string;
    duration: number;
    concurrency: number;
    expectStatus: number;
    expectBody?: string;
    tls: ClientTls;
  }): Promise<ClientResult> {
    const id = this.nextId++;
    return new Promise((res, rej) => {
      this.pending.set(id, { resolve: res, reject: rej });
      this.child.send({ id, ...opts });
    });
  }

  stop(): void {
    if (this.child.connected) this.child.send({ type: 'exit' });
    setTimeout(() => {
      if (this.child.exitCode === null && this.child.pid !== undefined) this.child.kill();
    }, 2000).unref();
  }
}

interface LegRun {
  round: number;
  leg: Leg;
  requests: number;
  /** Requests the server's handler counted in the same window (cross-check). */
  served: number;
  wallSeconds: number;
  serverCpuUs: number;
  serverCpuUsPerRequest: number;
  /** Server CPU time / wall time (1.0 = one core). */
  serverCpuShare: number;
  clientCpuShare: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    openssl: process.versions.openssl,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpuCount: os.cpus().length,
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
    loadAverageAtEnd: [] as number[],
    quick: QUICK,
  };
  log(
    `certgate new-connection benchmark  ${meta.date}  node ${meta.node}  ${meta.cpuModel} x${meta.cpuCount}  load avg ${meta.loadAverageAtStart.join(' ')}`,
  );
  if (QUICK) log('BENCH_QUICK=1: harness check only, the figures are not meaningful');

  const pkiDir = await mkdtemp(join(os.tmpdir(), 'certgate-bench-conn-'));
  const servers: https.Server[] = [];
  let client: Client | undefined;
  try {
    const files = await generateDevPki(pkiDir);
    const pem = (path: string) => readFile(path, 'utf8');
    const ca = await pem(files.caBundle);
    const crl = await pem(files.crl);
    // alice's file holds her leaf and the intermediate: the client sends both, as a B2B client would.
    const alice = { cert: await pem(files.clients.alice.cert), key: await pem(files.clients.alice.key) };

    const verifier = createVerifier({ ca, crl });
    const identify = byCommonName({ alice: { roles: ['customer'] } });
    const middleware = requireClientCert({ verifier, identify, roles: ['customer'] });
    // certgate's own CPU per connection, measured directly rather than as a difference of two noisy
    // legs: the guard from entry to next() (a known client's path does no I/O, only microtasks) and
    // certgate's 'secureConnection' listener, bracketed below. Process CPU time, not wall time, so
    // that being descheduled on a busy machine does not count.
    const own = { guardNs: 0, guardCalls: 0, listenerNs: 0, listenerCalls: 0 };
    const cpuNs = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) * 1000;
    };
    const guard: typeof middleware = (req, res, next) => {
      const t0 = cpuNs();
      middleware(req, res, (err?: unknown) => {
        own.guardNs += cpuNs() - t0;
        own.guardCalls++;
        next(err);
      });
    };

    // Same-length bodies so the routes differ only in the middleware.
    const served = { noop: 0, guarded: 0 };
    const app = express();
    app.get(
      '/noop',
      (_req, _res, next) => next(),
      (_req, res) => {
        served.noop++;
        res.json({ user: 'nobody' });
      },
    );
    app.get('/guarded', guard, (req, res) => {
      served.guarded++;
      res.json({ user: req.clientCert?.user ?? 'nobody' });
    });
    const bodies = { noop: JSON.stringify({ user: 'nobody' }), guarded: JSON.stringify({ user: 'alice' }) };

    const tlsOptions = {
      cert: await pem(files.serverCert),
      key: await pem(files.serverKey),
      ca,
      requestCert: true,
      rejectUnauthorized: false,
    };
    const listen = async () => {
      const s = https.createServer(tlsOptions, app);
      servers.push(s);
      await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
      return (s.address() as AddressInfo).port;
    };
    // Server A serves the guarded route (and /noop beside it); server B only ever serves /noop.
    const portA = await listen();
    const portB = await listen();
    // Listeners run in the order they were added: ours before certgate's (added at the first
    // guarded request, in the sanity checks below) and ours after it.
    const handshakeStart = new WeakMap<object, number>();
    (servers[0] as https.Server).on('secureConnection', (socket) => handshakeStart.set(socket, cpuNs()));
    const target: Record<Leg, { port: number; path: string; body: string; counter: 'noop' | 'guarded' }> = {
      guarded: { port: portA, path: '/guarded', body: bodies.guarded, counter: 'guarded' },
      noop: { port: portA, path: '/noop', body: bodies.noop, counter: 'noop' },
      bare: { port: portB, path: '/noop', body: bodies.noop, counter: 'noop' },
    };

    client = await Client.start();
    const withAlice: ClientTls = { ca, ...alice, servername: 'localhost' };

    // ---- Sanity checks (the only pass/fail) -------------------------------------------------------
    const sanity: Record<string, string> = {};
    const single = async (leg: Leg, tls: ClientTls, expectStatus: number, expectBody?: string) => {
      const t = target[leg];
      const r = await client!.run({
        port: t.port,
        path: t.path,
        duration: 0,
        concurrency: 1,
        expectStatus,
        ...(expectBody === undefined ? {} : { expectBody }),
        tls,
      });
      if (r.requests !== 1 || r.mismatches !== 0 || r.errors !== 0) {
        throw new Error(
          `SANITY FAILURE: GET ${t.path} (${leg}) ${tls.cert ? "with alice's certificate" : 'without a certificate'}: ${r.firstMismatch ?? r.firstError ?? JSON.stringify(r)}`,
        );
      }
      return `${Object.keys(r.statusCounts).join(',')}`;
    };
    sanity.guardedWithAlice = `${await single('guarded', withAlice, 200, bodies.guarded)} ${bodies.guarded}`;
    sanity.guardedWithoutCert = await single('guarded', { ca, servername: 'localhost' }, 401);
    sanity.noopWithAlice = await single('noop', withAlice, 200, bodies.noop);
    sanity.bareWithAlice = await single('bare', withAlice, 200, bodies.noop);
    (servers[0] as https.Server).on('secureConnection', (socket) => {
      const t0 = handshakeStart.get(socket);
      if (t0 === undefined) return;
      own.listenerNs += cpuNs() - t0;
      own.listenerCalls++;
    });
    log(
      `sanity: /guarded with alice -> ${sanity.guardedWithAlice}; without a certificate -> ${sanity.guardedWithoutCert}; /noop (A) -> ${sanity.noopWithAlice}; /noop (B) -> ${sanity.bareWithAlice}`,
    );

    const one = async (roundNo: number, leg: Leg, duration: number): Promise<LegRun> => {
      const t = target[leg];
      const served0 = served[t.counter];
      const cpu0 = process.cpuUsage();
      const w0 = process.hrtime.bigint();
      const r = await client!.run({
        port: t.port,
        path: t.path,
        duration,
        concurrency: CONFIG.concurrency,
        expectStatus: 200,
        expectBody: t.body,
        tls: withAlice,
      });
      const wallUs = Number(process.hrtime.bigint() - w0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuUs = cpu.user + cpu.system;
      const label = roundNo < 0 ? 'warm-up' : `round ${roundNo + 1}`;
      // Sanity (not timing): every response 200 with the expected body, every handshake a full one.
      if (r.mismatches !== 0 || r.errors !== 0 || r.requests === 0 || r.reusedSessions !== 0) {
        throw new Error(
          `SANITY FAILURE on ${leg} (${label}): ${r.requests} requests, ${r.mismatches} unexpected responses (${r.firstMismatch}), ${r.errors} errors (${r.firstError}), ${r.reusedSessions} resumed sessions; status codes ${JSON.stringify(r.statusCounts)}`,
        );
      }
      const run: LegRun = {
        round: roundNo,
        leg,
        requests: r.requests,
        served: served[t.counter] - served0,
        wallSeconds: round(wallUs / 1e6, 3),
        serverCpuUs: cpuUs,
        serverCpuUsPerRequest: round(cpuUs / r.requests, 1),
        serverCpuShare: round(cpuUs / wallUs, 2),
        clientCpuShare: round(r.clientCpu, 2),
        latencyP50Ms: round(r.latencyP50Ms, 2),
        latencyP99Ms: round(r.latencyP99Ms, 2),
      };
      log(
        `  ${label.padEnd(8)} ${leg.padEnd(8)} ${String(r.requests).padStart(5)} req  ${run.serverCpuUsPerRequest.toFixed(0).padStart(5)} us server CPU/req  server CPU ${(run.serverCpuShare * 100).toFixed(0)}%  client CPU ${(run.clientCpuShare * 100).toFixed(0)}%  p50 ${run.latencyP50Ms} ms  p99 ${run.latencyP99Ms} ms`,
      );
      return run;
    };

    log();
    log(
      `warm-up: ${CONFIG.warmupSeconds} s per leg, concurrency ${CONFIG.concurrency}, a new TLS connection per request`,
    );
    const warmup: LegRun[] = [];
    for (const leg of LEGS) warmup.push(await one(-1, leg, CONFIG.warmupSeconds));

    if (PROFILE_DIR) {
      await profileLegs(PROFILE_DIR, one);
      return;
    }

    // ---- Interleaved rounds ---------------------------------------------------------------------
    log();
    log(
      `${CONFIG.rounds} rounds x ${LEGS.length} legs x ${CONFIG.durationSeconds} s, concurrency ${CONFIG.concurrency}, order rotated each round`,
    );
    const runs: LegRun[] = [];
    const order: Leg[][] = [];
    for (let r = 0; r < CONFIG.rounds; r++) {
      const rotated = LEGS.map((_, i) => LEGS[(i + r) % LEGS.length] as Leg);
      // Alternate the direction too, so guarded and noop swap which one runs first.
      if (r % 2 === 1) rotated.reverse();
      order.push(rotated);
      for (const leg of rotated) runs.push(await one(r, leg, CONFIG.durationSeconds));
    }

    const of = (leg: Leg, r: number) => runs.find((x) => x.leg === leg && x.round === r) as LegRun;
    const rounds = [...Array(CONFIG.rounds).keys()].map((r) => ({
      round: r + 1,
      order: order[r],
      usPerRequest: Object.fromEntries(LEGS.map((leg) => [leg, of(leg, r).serverCpuUsPerRequest])) as Record<
        Leg,
        number
      >,
      guardedOverNoop: round(of('guarded', r).serverCpuUsPerRequest / of('noop', r).serverCpuUsPerRequest, 4),
      guardedOverBare: round(of('guarded', r).serverCpuUsPerRequest / of('bare', r).serverCpuUsPerRequest, 4),
      noopOverBare: round(of('noop', r).serverCpuUsPerRequest / of('bare', r).serverCpuUsPerRequest, 4),
      guardedMinusNoopUs: round(of('guarded', r).serverCpuUsPerRequest - of('noop', r).serverCpuUsPerRequest, 1),
      guardedMinusBareUs: round(of('guarded', r).serverCpuUsPerRequest - of('bare', r).serverCpuUsPerRequest, 1),
    }));
    const spread = (values: number[], digits: number) => ({
      median: round(median(values), digits),
      min: round(Math.min(...values), digits),
      max: round(Math.max(...values), digits),
      p25: round(quantile(values, 0.25), digits),
      p75: round(quantile(values, 0.75), digits),
      medianCi95: medianConfidence(values).map((x) => round(x, digits)),
    });
    const perLeg = Object.fromEntries(
      LEGS.map((leg) => {
        const mine = runs.filter((x) => x.leg === leg);
        return [
          leg,
          {
            serverCpuUsPerRequest: spread(
              mine.map((x) => x.serverCpuUsPerRequest),
              1,
            ),
            requestsPerRun: spread(
              mine.map((x) => x.requests),
              0,
            ),
            serverCpuShare: round(median(mine.map((x) => x.serverCpuShare)), 2),
            clientCpuShare: round(median(mine.map((x) => x.clientCpuShare)), 2),
            latencyP50Ms: round(median(mine.map((x) => x.latencyP50Ms)), 2),
          },
        ];
      }),
    ) as Record<
      Leg,
      {
        serverCpuUsPerRequest: ReturnType<typeof spread>;
        requestsPerRun: ReturnType<typeof spread>;
        serverCpuShare: number;
        clientCpuShare: number;
        latencyP50Ms: number;
      }
    >;
    const summary = {
      guardedOverNoop: spread(
        rounds.map((x) => x.guardedOverNoop),
        4,
      ),
      guardedOverBare: spread(
        rounds.map((x) => x.guardedOverBare),
        4,
      ),
      noopOverBare: spread(
        rounds.map((x) => x.noopOverBare),
        4,
      ),
      certgateUsPerConnection: {
        guardedMinusNoop: spread(
          rounds.map((x) => x.guardedMinusNoopUs),
          1,
        ),
        guardedMinusBare: spread(
          rounds.map((x) => x.guardedMinusBareUs),
          1,
        ),
      },
      perLeg,
      // Server handler counts vs client counts (equal unless a response was lost).
      servedMatchesClient: runs.every((x) => x.served === x.requests),
    };
    meta.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));
    const totalSeconds = round((Date.now() - started) / 1000, 1);
    sanity.rounds = 'every response 200 with the expected body; 0 errors; 0 resumed sessions';
    const bareUs = perLeg.bare.serverCpuUsPerRequest.median;
    const guardUs = own.guardNs / Math.max(1, own.guardCalls) / 1000;
    const listenerUs = own.listenerNs / Math.max(1, own.listenerCalls) / 1000;
    const direct = {
      guardUsPerConnection: round(guardUs, 1),
      guardCalls: own.guardCalls,
      handshakeListenerUsPerConnection: round(listenerUs, 1),
      handshakeListenerCalls: own.listenerCalls,
      guardedRouteShareOfBare: round((guardUs + listenerUs) / bareUs, 4),
      guardOnlyShareOfBare: round(guardUs / bareUs, 4),
      unguardedRouteShareOfBare: round(listenerUs / bareUs, 4),
    };
    const results = { meta, config: CONFIG, totalSeconds, sanity, summary, direct, rounds, runs, warmup };
    await writeFile(join(benchDir, 'results-new-connection.json'), `${JSON.stringify(results, null, 2)}\n`);

    log();
    const pct = (r: number) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)}%`;
    const s = summary;
    log(
      `-- new TLS connection per request (median of ${CONFIG.rounds} interleaved rounds, ${CONFIG.durationSeconds} s each, concurrency ${CONFIG.concurrency})`,
    );
    for (const leg of LEGS) {
      const p = perLeg[leg];
      log(
        `  ${leg.padEnd(8)} ${p.serverCpuUsPerRequest.median} us server CPU/req (min ${p.serverCpuUsPerRequest.min}, max ${p.serverCpuUsPerRequest.max}); ${p.requestsPerRun.median} req/run; server CPU ${Math.round(p.serverCpuShare * 100)}%, client CPU ${Math.round(p.clientCpuShare * 100)}%`,
      );
    }
    const ratio = (x: ReturnType<typeof spread>) =>
      `${x.median.toFixed(4)}  (${pct(x.median)}; 95% CI of the median ${x.medianCi95.map((v) => v.toFixed(3)).join('..')}; per round ${x.min.toFixed(3)}..${x.max.toFixed(3)}, IQR ${x.p25.toFixed(3)}..${x.p75.toFixed(3)})`;
    log(`  guarded / noop   ${ratio(s.guardedOverNoop)}  goal < 1.03`);
    log(`  guarded / bare   ${ratio(s.guardedOverBare)}  certgate's whole cost per connection`);
    log(`  noop / bare      ${ratio(s.noopOverBare)}  what certgate costs unguarded routes on a guarded server`);
    log(
      `  certgate us/conn guarded-noop ${s.certgateUsPerConnection.guardedMinusNoop.median} (${s.certgateUsPerConnection.guardedMinusNoop.min}..${s.certgateUsPerConnection.guardedMinusNoop.max}), guarded-bare ${s.certgateUsPerConnection.guardedMinusBare.median} (${s.certgateUsPerConnection.guardedMinusBare.min}..${s.certgateUsPerConnection.guardedMinusBare.max})`,
    );
    const share = (x: number) => `${(x * 100).toFixed(1)}%`;
    log(
      `  certgate's own CPU per new connection, measured directly: guard ${direct.guardUsPerConnection} us ` +
        `(${direct.guardCalls} connections) + handshake listener ${direct.handshakeListenerUsPerConnection} us ` +
        `(${direct.handshakeListenerCalls}); of the bare leg's ${bareUs} us per request: guarded route ` +
        `${share(direct.guardedRouteShareOfBare)} (guard alone ${share(direct.guardOnlyShareOfBare)}), ` +
        `unguarded route on a guarded server ${share(direct.unguardedRouteShareOfBare)}  goal < 3%`,
    );
    log(
      `  load average start / end ${meta.loadAverageAtStart.join(' ')} / ${meta.loadAverageAtEnd.join(' ')}; total ${totalSeconds} s`,
    );
    log(`results written to ${join(benchDir, 'results-new-connection.json')}`);
  } finally {
    client?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    await rm(pkiDir, { recursive: true, force: true });
  }
}

/**
 * Distribution-free 95% confidence interval of the median: order statistics around n/2 (binomial,
 * normal approximation). With 8 rounds it is min..max; it tells whether a run can resolve a 3% goal.
 */
function medianConfidence(values: number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const half = (1.96 * Math.sqrt(n)) / 2;
  const lo = Math.max(0, Math.floor(n / 2 - half) - 1);
  const hi = Math.min(n - 1, Math.ceil(n / 2 + half));
  return [sorted[lo] as number, sorted[hi] as number];
}

/** One CPU profile of this (server) process per leg, scoped to that leg's load window. */
async function profileLegs(
  dir: string,
  one: (round: number, leg: Leg, duration: number) => Promise<LegRun>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  log();
  log(`profiling: ${CONFIG.profileSeconds} s per leg, sampling every ${CONFIG.profileIntervalUs} us -> ${dir}`);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: CONFIG.profileIntervalUs });
  const legs: Record<string, { requests: number; serverCpuUsPerRequest: number; file: string }> = {};
  for (const leg of LEGS) {
    await session.post('Profiler.start');
    const run = await one(0, leg, CONFIG.profileSeconds);
    const { profile } = await session.post('Profiler.stop');
    remapToSources(profile);
    const file = join(dir, `${leg}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    legs[leg] = { requests: run.requests, serverCpuUsPerRequest: run.serverCpuUsPerRequest, file };
  }
  session.disconnect();
  await writeFile(
    join(dir, 'legs.json'),
    `${JSON.stringify({ projectRoot: resolve(benchDir, '..'), legs }, null, 2)}\n`,
  );
  log(`profiles written; summarise with: node bench/profile-summary.mjs ${dir}`);
}

/**
 * tsx compiles each TypeScript file to one line: map the profile's positions back to the .ts
 * sources (tsx enables source maps), so frames read `src/guard/guard.ts:123`, not `:1`.
 */
function remapToSources(profile: {
  nodes: Array<{ callFrame: { url: string; lineNumber: number; columnNumber: number }; positionTicks?: unknown }>;
}): void {
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    if (!frame.url.startsWith('file://') || frame.lineNumber < 0) continue;
    const entry = findSourceMap(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (!entry || !('originalLine' in entry)) continue;
    frame.lineNumber = entry.originalLine;
    frame.columnNumber = entry.originalColumn;
    // Per-line ticks refer to the generated single line: meaningless once remapped.
    delete node.positionTicks;
  }
}

main().catch(async (err: unknown) => {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`\nBENCH FAILED: ${message}\n`);
  if (!PROFILE_DIR) {
    // Overwrite the results so a stale success is never mistaken for this run's.
    await writeFile(
      join(benchDir, 'results-new-connection.json'),
      `${JSON.stringify({ failed: true, date: new Date().toISOString(), node: process.version, error: message }, null, 2)}\n`,
    ).catch(() => {});
  }
  process.exit(1);
});
