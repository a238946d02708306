// Load generator for bench/run.ts, forked as a separate plain-node process so autocannon never
// shares an event loop (or a core's worth of CPU time) with the server under test.
//
// Protocol (IPC): the parent sends { id, url, duration, connections, pipelining, tls?: { cert, key, ca },
// headers?: { name: value } }
// and receives { id, ok: true, result } or { id, ok: false, error }. It sends { type: 'exit' } to stop.
import autocannon from 'autocannon';

process.on('message', async (msg) => {
  if (msg?.type === 'exit') {
    process.disconnect?.();
    return;
  }
  const { id, url, duration, connections, pipelining, tls, headers } = msg;
  try {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const r = await autocannon({
      url,
      duration,
      connections,
      pipelining,
      // A client certificate on every (keep-alive) connection; autocannon forces rejectUnauthorized: false.
      tlsOptions: tls,
      // The same headers on every request (the forwarded part: the certificate header as a proxy sets it).
      headers,
    });
    const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    process.send({
      id,
      ok: true,
      result: {
        // Load generator CPU time / wall time (1.0 = one core saturated: then it, not the server, is the limit).
        loadGenCpu: (cpu.user + cpu.system) / wallUs,
        requestsTotal: r.requests.total,
        requestsAverage: r.requests.average,
        requestsStddev: r.requests.stddev,
        durationSeconds: r.duration,
        status2xx: r['2xx'],
        non2xx: r.non2xx,
        statusCodeStats: r.statusCodeStats,
        errors: r.errors,
        timeouts: r.timeouts,
        resets: r.resets,
        mismatches: r.mismatches,
        latencyP50Ms: r.latency.p50,
        latencyP99Ms: r.latency.p99,
        latencyMeanMs: r.latency.average,
      },
    });
  } catch (err) {
    process.send({ id, ok: false, error: String(err?.stack ?? err) });
  }
});

process.send({ type: 'ready' });
