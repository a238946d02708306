// Keep-alive throughput of /plain, /noop and /guarded on one Express 5 server (part 1: HTTPS with a client
// certificate; the forwarded part: plain HTTP with the certificate header a proxy sets),
// driven by autocannon in a separate process (bench/load-runner.mjs).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, round } from './stats.js';

export const ROUTES = ['plain', 'noop', 'guarded'] as const;
export type Route = (typeof ROUTES)[number];

export interface LoadResult {
  loadGenCpu: number;
  requestsTotal: number;
  requestsAverage: number;
  requestsStddev: number;
  durationSeconds: number;
  status2xx: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
  resets: number;
  mismatches: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
}

export interface RunRecord {
  round: number;
  route: Route;
  /** Completed requests / wall duration of the autocannon run. */
  rps: number;
  /** Server process CPU time / wall time during the run (1.0 = one core saturated). */
  serverCpu: number;
  /** The same for the autocannon process. */
  loadGenCpu: number;
  /** Server CPU time (user + system) per completed request, in microseconds: robust to CPU stolen by other processes. */
  serverCpuUsPerRequest: number;
  load: LoadResult;
}

export interface ThroughputConfig {
  rounds: number;
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  pipelining: number;
}

export interface ThroughputResult {
  config: ThroughputConfig;
  perRoute: Record<
    Route,
    {
      medianRps: number;
      minRps: number;
      maxRps: number;
      medianServerCpu: number;
      medianLoadGenCpu: number;
      medianServerCpuUsPerRequest: number;
      medianLatencyP50Ms: number;
      medianLatencyP99Ms: number;
      runs: number[];
    }
  >;
  /** Ratios of the per-route medians (the headline figures). */
  ratios: { guardedOverPlain: number; noopOverPlain: number; guardedOverNoop: number };
  /** Median of the per-round ratios (each round's routes ran back to back): a robustness check. */
  pairedRatios: { guardedOverPlain: number; noopOverPlain: number; guardedOverNoop: number };
  /**
   * Throughput ratios normalised by server CPU: (server CPU us per request on /plain) / (the same on
   * /guarded). Equals the throughput ratio when the server has a core to itself; unlike raw req/s it
   * is not skewed by other processes taking CPU from the server during some runs.
   */
  cpuNormalisedRatios: { guardedOverPlain: number; noopOverPlain: number; guardedOverNoop: number };
  /** Timed runs in which the server got less than 90% of a core: the machine was busy with something else. */
  starvedRuns: number;
  order: Route[][];
  runs: RunRecord[];
  warmup: RunRecord[];
}

export interface TlsClient {
  cert: string;
  key: string;
  ca: string;
}

/** What each request carries: a client certificate over TLS (part 1), or headers over plain HTTP (forwarded part). */
export interface LoadRequest {
  tls?: TlsClient;
  headers?: Record<string, string>;
}

/** The forked autocannon process. */
export class LoadRunner {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (msg: { id?: number; ok?: boolean; result?: LoadResult; error?: string }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result as LoadResult);
      else p.reject(new Error(`load runner: ${msg.error}`));
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`load runner exited with code ${code}`));
      this.pending.clear();
    });
  }

  /** `script`: load-runner.mjs (autocannon, HTTP/1.1) or h2-load-runner.mjs (streams on HTTP/2 sessions). */
  static async start(script = fileURLToPath(new URL('./load-runner.mjs', import.meta.url))): Promise<LoadRunner> {
    // execArgv: [] so the child is plain node, without the tsx loader the parent runs under.
    const child = fork(script, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`load runner exited early (code ${code})`)));
      child.once('message', (m: { type?: string }) =>
        m?.type === 'ready' ? resolve() : reject(new Error('load runner: unexpected first message')),
      );
    });
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    return new LoadRunner(child);
  }

  run(
    opts: {
      url: string;
      duration: number;
      connections: number;
      pipelining: number;
    } & LoadRequest,
  ): Promise<LoadResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, ...opts });
    });
  }

  stop(): void {
    if (this.child.connected) this.child.send({ type: 'exit' });
    // The child exits once its IPC channel closes; make sure it does not linger.
    setTimeout(() => {
      if (this.child.exitCode === null && this.child.pid !== undefined) this.child.kill();
    }, 2000).unref();
  }
}

/** `request`: a TLS client (https baseUrl) or a { tls?, headers? } description of every request. */
export async function measureThroughput(
  baseUrl: string,
  request: TlsClient | LoadRequest,
  config: ThroughputConfig,
  log: (line: string) => void,
  runnerScript?: string,
): Promise<ThroughputResult> {
  const requestShape: LoadRequest = 'cert' in request ? { tls: request } : request;
  const runner = await LoadRunner.start(runnerScript);
  try {
    const one = async (roundNo: number, route: Route, duration: number): Promise<RunRecord> => {
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      const load = await runner.run({
        url: `${baseUrl}/${route}`,
        duration,
        connections: config.connections,
        pipelining: config.pipelining,
        ...requestShape,
      });
      const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const rps = load.durationSeconds > 0 ? load.requestsTotal / load.durationSeconds : 0;
      const record: RunRecord = {
        round: roundNo,
        route,
        rps: round2(rps),
        serverCpu: round((cpu.user + cpu.system) / wallUs, 2),
        loadGenCpu: round(load.loadGenCpu, 2),
        serverCpuUsPerRequest: round((cpu.user + cpu.system) / Math.max(1, load.requestsTotal), 1),
        load,
      };
      // Sanity (not timing): every response must be a 2xx, in particular on /guarded.
      if (
        load.non2xx !== 0 ||
        load.status2xx === 0 ||
        load.errors !== 0 ||
        load.timeouts !== 0 ||
        load.mismatches !== 0
      ) {
        throw new Error(
          `SANITY FAILURE on /${route} (${roundNo < 0 ? 'warm-up' : `round ${roundNo + 1}`}): 2xx=${load.status2xx} non2xx=${load.non2xx} errors=${load.errors} timeouts=${load.timeouts} ` +
            `status codes ${JSON.stringify(load.statusCodeStats)}`,
        );
      }
      log(
        `  ${roundNo < 0 ? 'warm-up' : `round ${roundNo + 1}`}  /${route.padEnd(8)} ${rps.toFixed(0).padStart(7)} req/s  server CPU ${(record.serverCpu * 100).toFixed(0)}%  load CPU ${(record.loadGenCpu * 100).toFixed(0)}%  ${record.serverCpuUsPerRequest} us CPU/req  p50 ${load.latencyP50Ms} ms  p99 ${load.latencyP99Ms} ms`,
      );
      return record;
    };

    const warmup: RunRecord[] = [];
    for (const route of ROUTES) warmup.push(await one(-1, route, config.warmupSeconds));

    const runs: RunRecord[] = [];
    const order: Route[][] = [];
    for (let r = 0; r < config.rounds; r++) {
      // Rotate the order each round so no route always runs first (or right after another).
      const rotated = ROUTES.map((_, i) => ROUTES[(i + r) % ROUTES.length] as Route);
      order.push(rotated);
      for (const route of rotated) runs.push(await one(r, route, config.durationSeconds));
    }

    const perRoute = Object.fromEntries(
      ROUTES.map((route) => {
        const mine = runs.filter((x) => x.route === route);
        const rps = mine.map((x) => x.rps);
        return [
          route,
          {
            medianRps: round(median(rps), 0),
            minRps: round(Math.min(...rps), 0),
            maxRps: round(Math.max(...rps), 0),
            medianServerCpu: round(median(mine.map((x) => x.serverCpu)), 2),
            medianLoadGenCpu: round(median(mine.map((x) => x.loadGenCpu)), 2),
            medianServerCpuUsPerRequest: round(median(mine.map((x) => x.serverCpuUsPerRequest)), 1),
            medianLatencyP50Ms: median(mine.map((x) => x.load.latencyP50Ms)),
            medianLatencyP99Ms: median(mine.map((x) => x.load.latencyP99Ms)),
            runs: rps,
          },
        ];
      }),
    ) as ThroughputResult['perRoute'];

    const rpsOf = (route: Route, r: number) => (runs.find((x) => x.route === route && x.round === r) as RunRecord).rps;
    const rounds = [...Array(config.rounds).keys()];
    return {
      config,
      perRoute,
      ratios: {
        guardedOverPlain: round(perRoute.guarded.medianRps / perRoute.plain.medianRps, 3),
        noopOverPlain: round(perRoute.noop.medianRps / perRoute.plain.medianRps, 3),
        guardedOverNoop: round(perRoute.guarded.medianRps / perRoute.noop.medianRps, 3),
      },
      cpuNormalisedRatios: {
        guardedOverPlain: round(
          perRoute.plain.medianServerCpuUsPerRequest / perRoute.guarded.medianServerCpuUsPerRequest,
          3,
        ),
        noopOverPlain: round(perRoute.plain.medianServerCpuUsPerRequest / perRoute.noop.medianServerCpuUsPerRequest, 3),
        guardedOverNoop: round(
          perRoute.noop.medianServerCpuUsPerRequest / perRoute.guarded.medianServerCpuUsPerRequest,
          3,
        ),
      },
      starvedRuns: runs.filter((x) => x.serverCpu < 0.9).length,
      pairedRatios: {
        guardedOverPlain: round(median(rounds.map((r) => rpsOf('guarded', r) / rpsOf('plain', r))), 3),
        noopOverPlain: round(median(rounds.map((r) => rpsOf('noop', r) / rpsOf('plain', r))), 3),
        guardedOverNoop: round(median(rounds.map((r) => rpsOf('guarded', r) / rpsOf('noop', r))), 3),
      },
      order,
      runs,
      warmup,
    };
  } finally {
    runner.stop();
  }
}

const round2 = (n: number) => round(n, 1);
