/**
 * `npm run bench:forwarded`: only the forwarded-path part of `npm run bench` (part 6, bench/forwarded.ts),
 * with the same knobs (BENCH_ROUNDS, BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_QUICK).
 * Writes bench/results-forwarded.json.
 */
import os from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, QUICK, THROUGHPUT_CONFIG } from './config.js';
import { FORWARDED_HEADER, forwardedRows, measureForwarded } from './forwarded.js';
import { round } from './stats.js';

const resultsFile = join(fileURLToPath(new URL('.', import.meta.url)), 'results-forwarded.json');

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpuCount: os.cpus().length,
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
    loadAverageAtEnd: [] as number[],
    quick: QUICK,
  };
  const c = THROUGHPUT_CONFIG;
  log(`certgate forwarded-path benchmark  ${meta.date}  node ${meta.node}  ${meta.cpuModel} x${meta.cpuCount}`);
  log(
    `keep-alive HTTP with ${FORWARDED_HEADER} as nginx sets it: ` +
      `${c.rounds} rounds x 3 routes x ${c.durationSeconds} s, ${c.connections} connections`,
  );
  const forwarded = await measureForwarded(THROUGHPUT_CONFIG, log);
  meta.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));
  const totalSeconds = round(Number(process.hrtime.bigint() - started) / 1e9, 1);
  await writeFile(resultsFile, `${JSON.stringify({ meta, totalSeconds, forwarded }, null, 2)}\n`);
  const rows = forwardedRows(forwarded);
  const width = Math.max(...rows.filter(([, v]) => v !== '').map(([k]) => k.length));
  log();
  for (const [k, v] of rows) log(v === '' ? k : `  ${k.padEnd(width)}  ${v}`);
  log(`  load average start / end  ${meta.loadAverageAtStart.join(' ')} / ${meta.loadAverageAtEnd.join(' ')}`);
  log(`results written to ${resultsFile}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`\nBENCH FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
