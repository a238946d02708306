// Continuous load generator for bench/crl-refresh-load.ts, forked as a separate plain-node process
// (like bench/load-runner.mjs) so autocannon never shares an event loop with the server under test.
// Unlike load-runner.mjs it runs until told to stop and remembers when every response completed and
// how long it took, so the parent can ask for latency figures over time windows of its choosing.
//
// Protocol (IPC), all times are epoch milliseconds (performance.timeOrigin + performance.now()):
//   parent -> { type: 'start', url, connections, pipelining, tls: { cert, key, ca } }
//   child  -> { type: 'started' }                   once the first 2xx response has arrived
//   parent -> { type: 'stats', windows: [{ name, from, to }] }
//   child  -> { type: 'stats', results: { [name]: WindowStats } }
//   parent -> { type: 'stop' }
//   child  -> { type: 'stopped', summary }           then exits when the IPC channel closes
import autocannon from 'autocannon';

const now = () => performance.timeOrigin + performance.now();

let instance;
let n = 0;
let doneAt = new Float64Array(1 << 20);
let latency = new Float64Array(1 << 20);
let status = new Uint16Array(1 << 20);
let reqErrors = 0;
let started = false;
let cpu0;
let wall0;

function record(code, ms) {
  if (n === doneAt.length) {
    const grow = (a, C) => {
      const b = new C(a.length * 2);
      b.set(a);
      return b;
    };
    doneAt = grow(doneAt, Float64Array);
    latency = grow(latency, Float64Array);
    status = grow(status, Uint16Array);
  }
  doneAt[n] = now();
  latency[n] = ms;
  status[n] = code;
  n++;
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function windowStats(from, to) {
  // doneAt is increasing: binary search the first response completed at or after `from`.
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (doneAt[mid] < from) lo = mid + 1;
    else hi = mid;
  }
  const lat = [];
  let non2xx = 0;
  // Longest time with no response completing at all (from the window's start to its end).
  let prev = from;
  let maxGap = 0;
  let maxGapEnd = from;
  for (let i = lo; i < n && doneAt[i] <= to; i++) {
    if (status[i] < 200 || status[i] > 299) non2xx++;
    lat.push(latency[i]);
    if (doneAt[i] - prev > maxGap) {
      maxGap = doneAt[i] - prev;
      maxGapEnd = doneAt[i];
    }
    prev = doneAt[i];
  }
  if (to - prev > maxGap) {
    maxGap = to - prev;
    maxGapEnd = to;
  }
  lat.sort((a, b) => a - b);
  const seconds = (to - from) / 1000;
  return {
    responses: lat.length,
    non2xx,
    requestsPerSecond: seconds > 0 ? lat.length / seconds : 0,
    latencyP50Ms: percentile(lat, 0.5),
    latencyP99Ms: percentile(lat, 0.99),
    latencyMaxMs: lat.length > 0 ? lat[lat.length - 1] : null,
    longestGapWithoutResponseMs: maxGap,
    /** When that gap ended (epoch ms). */
    longestGapEndedAt: maxGapEnd,
  };
}

process.on('message', (msg) => {
  if (msg?.type === 'start') {
    cpu0 = process.cpuUsage();
    wall0 = now();
    instance = autocannon(
      {
        url: msg.url,
        connections: msg.connections,
        pipelining: msg.pipelining,
        // Far longer than any run: the parent stops it.
        duration: 3600,
        // A client certificate on every (keep-alive) connection; autocannon forces rejectUnauthorized: false.
        tlsOptions: msg.tls,
      },
      () => {},
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      record(statusCode, responseTime);
      if (!started && statusCode >= 200 && statusCode < 300) {
        started = true;
        process.send({ type: 'started' });
      }
    });
    instance.on('reqError', () => reqErrors++);
  } else if (msg?.type === 'stats') {
    const results = {};
    for (const w of msg.windows) results[w.name] = windowStats(w.from, w.to);
    process.send({ type: 'stats', results });
  } else if (msg?.type === 'stop') {
    instance?.stop();
    const cpu = process.cpuUsage(cpu0);
    const wallUs = (now() - wall0) * 1000;
    let non2xx = 0;
    for (let i = 0; i < n; i++) if (status[i] < 200 || status[i] > 299) non2xx++;
    process.send({
      type: 'stopped',
      summary: { responses: n, non2xx, requestErrors: reqErrors, loadGenCpu: (cpu.user + cpu.system) / wallUs },
    });
  }
});

process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
