// The throughput settings shared by `npm run bench` (bench/run.ts) and `npm run bench:forwarded`
// (bench/forwarded-run.ts), read from the environment once.
import type { ThroughputConfig } from './throughput.js';

export const envNumber = (name: string, fallback: number): number =>
  process.env[name] ? Number(process.env[name]) : fallback;

/** BENCH_QUICK=1: one short round, fewer certificates; checks the harness, the figures mean nothing. */
export const QUICK = process.env.BENCH_QUICK === '1';

export const THROUGHPUT_CONFIG: ThroughputConfig = {
  rounds: envNumber('BENCH_ROUNDS', QUICK ? 1 : 8),
  durationSeconds: envNumber('BENCH_DURATION', QUICK ? 1 : 3),
  warmupSeconds: envNumber('BENCH_WARMUP', QUICK ? 1 : 2),
  connections: envNumber('BENCH_CONNECTIONS', 10),
  pipelining: 1,
};

export const log = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
