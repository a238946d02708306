// Load generator for bench/new-connection.ts, forked as a separate plain-node process so the client
// never shares an event loop (or its CPU time) with the server under test.
//
// Unlike bench/load-runner.mjs (autocannon, keep-alive), every request here opens a NEW TLS
// connection: a full handshake with the client's certificate and intermediate, no session
// resumption (no `session` is ever offered), one `GET` with `Connection: close`, then the server
// closes. That is what a B2B client that does not pool connections costs the server.
//
// Protocol (IPC): the parent sends
//   { id, port, path, duration, concurrency, expectStatus, expectBody, tls: { ca, cert?, key?, servername } }
// and receives { id, ok: true, result } or { id, ok: false, error }. { type: 'exit' } stops it.
// `duration` 0 means exactly one request (used for the sanity checks).
import tls from 'node:tls';

/** One request on a fresh connection: resolves { status, body, reused, ms }. */
function once(port, path, opts) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const chunks = [];
    let reused = false;
    let settled = false;
    const done = (err) => {
      if (settled) return;
      settled = true;
      if (err) return reject(err);
      const text = Buffer.concat(chunks).toString('utf8');
      const head = text.indexOf('\r\n\r\n');
      const statusLine = text.slice(0, text.indexOf('\r\n'));
      const status = Number(statusLine.split(' ')[1] ?? 0);
      resolve({
        status,
        body: head >= 0 ? text.slice(head + 4) : '',
        reused,
        ms: Number(process.hrtime.bigint() - t0) / 1e6,
      });
    };
    const socket = tls.connect({ host: '127.0.0.1', port, ...opts });
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (c) => chunks.push(c));
    socket.once('end', () => done());
    socket.once('close', () => done());
    socket.once('error', (err) => done(err));
    // Discard the TLS 1.3 session tickets the server sends: this client never resumes.
    socket.on('session', () => {});
  });
}

function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

async function run(msg) {
  const { port, path, duration, concurrency, expectStatus, expectBody, tls: t } = msg;
  const opts = { ca: t.ca, cert: t.cert, key: t.key, servername: t.servername, rejectUnauthorized: true };
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = Date.now() + duration * 1000;
  let requests = 0;
  let mismatches = 0;
  let errors = 0;
  let reusedSessions = 0;
  const statusCounts = {};
  const latencies = [];
  let firstMismatch;
  let firstError;
  const worker = async () => {
    do {
      try {
        const r = await once(port, path, opts);
        requests++;
        statusCounts[r.status] = (statusCounts[r.status] ?? 0) + 1;
        if (r.reused) reusedSessions++;
        if (r.status !== expectStatus || (expectBody !== undefined && r.body !== expectBody)) {
          mismatches++;
          firstMismatch ??= `${r.status} ${r.body.slice(0, 300)}`;
        }
        latencies.push(r.ms);
      } catch (err) {
        errors++;
        firstError ??= String(err?.stack ?? err);
        if (errors > 20) throw new Error(`too many connection errors, first: ${firstError}`);
      }
    } while (Date.now() < deadline);
  };
  await Promise.all(Array.from({ length: duration > 0 ? concurrency : 1 }, worker));
  const wallUs = Number(process.hrtime.bigint() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    requests,
    wallSeconds: wallUs / 1e6,
    // Client CPU time / wall time (1.0 = one core saturated).
    clientCpu: (cpu.user + cpu.system) / wallUs,
    statusCounts,
    mismatches,
    firstMismatch,
    errors,
    firstError,
    reusedSessions,
    latencyP50Ms: quantile(latencies, 0.5),
    latencyP99Ms: quantile(latencies, 0.99),
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
