/**
 * Part 7 of `npm run bench` (alone: `npm run bench:frameworks`): guarded / plain beyond Express,
 * side by side in one run: Fastify over keep-alive mTLS (bench/fastify.ts), and HTTP/2 sessions
 * with many streams (bench/http2-session.ts).
 */
import { fastifyRows, type FastifyBenchResult, measureFastify } from './fastify.js';
import { H2_CONFIG, measureHttp2Session } from './http2-session.js';
import { THROUGHPUT_CONFIG } from './config.js';
import type { ThroughputResult } from './throughput.js';

export interface FrameworksResult {
  fastify: FastifyBenchResult;
  http2: ThroughputResult;
}

export async function measureFrameworks(log: (line?: string) => void): Promise<FrameworksResult> {
  const f = THROUGHPUT_CONFIG;
  log(
    `7a. Fastify 5 keep-alive mTLS: ${f.rounds} rounds x 3 routes x ${f.durationSeconds} s, ` +
      `${f.connections} connections (autocannon in a child process)`,
  );
  const fastify = await measureFastify(f, log);
  const c = H2_CONFIG;
  log(
    `7b. HTTP/2 (plain node:http2 + clientCertGuard): ${c.rounds} rounds x 3 routes x ${c.durationSeconds} s, ` +
      `${c.connections} session(s) x ${c.pipelining} streams (bench/h2-load-runner.mjs in a child process)`,
  );
  const http2 = await measureHttp2Session(log);
  return { fastify, http2 };
}

function ratioRows(name: string, t: ThroughputResult): Array<[string, string]> {
  const r = (n: number) => n.toFixed(3);
  return [
    [
      `${name}: guarded / plain`,
      `${r(t.pairedRatios.guardedOverPlain)} median of per-round ratios (goal >= 0.90; of medians ${r(t.ratios.guardedOverPlain)}; ` +
        `CPU-normalised ${r(t.cpuNormalisedRatios.guardedOverPlain)})`,
    ],
    [
      `${name}: noop / plain (noise floor)`,
      `${r(t.pairedRatios.noopOverPlain)} (CPU-normalised ${r(t.cpuNormalisedRatios.noopOverPlain)})`,
    ],
    [
      `${name}: /plain, /guarded req/s`,
      `${t.perRoute.plain.medianRps}, ${t.perRoute.guarded.medianRps} (server CPU/req ${t.perRoute.plain.medianServerCpuUsPerRequest}, ` +
        `${t.perRoute.guarded.medianServerCpuUsPerRequest} us; server CPU ${Math.round(t.perRoute.plain.medianServerCpu * 100)}%; ` +
        `${t.starvedRuns}/${t.runs.length} runs with < 90% of a core)`,
    ],
  ];
}

export function frameworkRows(f: FrameworksResult): Array<[string, string]> {
  const c = f.http2.config;
  return [
    ...fastifyRows(f.fastify),
    [`-- HTTP/2 sessions (median of ${c.rounds} interleaved ${c.durationSeconds} s runs)`, ''],
    ...ratioRows(`${c.connections} session x ${c.pipelining} streams`, f.http2),
  ];
}
