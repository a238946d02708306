// HTTP/2 load generator for the HTTP/2 session bench (bench/http2-session.ts): autocannon speaks
// HTTP/1.1 only. Forked as a separate plain-node process, with load-runner.mjs's IPC protocol:
// the parent sends { id, url, duration, connections, pipelining, tls: { cert, key, ca } } and
// receives { id, ok: true, result } or { id, ok: false, error }; { type: 'exit' } stops it.
// `connections` is the number of HTTP/2 sessions (each one TLS connection with the client
// certificate), `pipelining` the streams kept in flight on each session.
import http2 from 'node:http2';

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Keeps `streams` requests in flight on one session until `deadline`; resolves when they drain. */
function drive(session, path, streams, deadline, tally) {
  return new Promise((resolve) => {
    let inFlight = 0;
    const next = () => {
      if (performance.now() >= deadline) {
        if (inFlight === 0) resolve();
        return;
      }
      inFlight++;
      const started = performance.now();
      const req = session.request({ ':path': path });
      let status = 0;
      req.on('response', (headers) => (status = Number(headers[':status'])));
      req.on('data', () => {});
      req.on('end', () => {
        inFlight--;
        tally.latencies.push(performance.now() - started);
        tally.codes[status] = (tally.codes[status] ?? 0) + 1;
        if (status >= 200 && status < 300) tally.ok++;
        else tally.non2xx++;
        next();
      });
      req.on('error', () => {
        inFlight--;
        tally.errors++;
        next();
      });
      req.end();
    };
    for (let i = 0; i < streams; i++) next();
  });
}

async function run({ url, duration, connections, pipelining, tls }) {
  const { origin, pathname } = new URL(url);
  const sessions = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise((resolve, reject) => {
          const s = http2.connect(origin, { ...tls, servername: 'localhost', rejectUnauthorized: false });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
  const tally = { ok: 0, non2xx: 0, errors: 0, codes: {}, latencies: [] };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + duration * 1000;
  await Promise.all(sessions.map((s) => drive(s, pathname, pipelining, deadline, tally)));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  for (const s of sessions) s.close();
  const sorted = tally.latencies.sort((a, b) => a - b);
  const total = tally.ok + tally.non2xx;
  return {
    loadGenCpu: (cpu.user + cpu.system) / (wallMs * 1000),
    requestsTotal: total,
    requestsAverage: total / (wallMs / 1000),
    requestsStddev: 0,
    durationSeconds: wallMs / 1000,
    status2xx: tally.ok,
    non2xx: tally.non2xx,
    statusCodeStats: Object.fromEntries(Object.entries(tally.codes).map(([k, v]) => [k, { count: v }])),
    errors: tally.errors,
    timeouts: 0,
    resets: 0,
    mismatches: 0,
    latencyP50Ms: Math.round(percentile(sorted, 50) * 100) / 100,
    latencyP99Ms: Math.round(percentile(sorted, 99) * 100) / 100,
    latencyMeanMs: Math.round((sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)) * 100) / 100,
  };
}

process.on('message', async (msg) => {
  if (msg?.type === 'exit') {
    process.disconnect?.();
    return;
  }
  try {
    process.send({ id: msg.id, ok: true, result: await run(msg) });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
});

process.send({ type: 'ready' });
