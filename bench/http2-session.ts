/**
 * Guarded / plain on HTTP/2 sessions with many streams (issue 11): one plain `node:http2` server
 * (the compatibility API, as the README's plain-Node example) with /plain, /noop and /guarded
 * (clientCertGuard: cached() on a decided session, check() otherwise), driven by
 * bench/h2-load-runner.mjs in a separate process: `BENCH_H2_SESSIONS` sessions (default 1), each
 * keeping `BENCH_H2_STREAMS` streams in flight (default 50), routes interleaved over rounds.
 * Alone: `npm run bench:frameworks`.
 */
import http2 from 'node:http2';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { byCommonName, clientCertGuard, createVerifier, type GuardOutcome } from 'certgate';
import { generateDevPki } from '../src/devpki/generate.js';
import { envNumber, THROUGHPUT_CONFIG } from './config.js';
import { ROUTE_BODY } from './routes.js';
import { measureThroughput, type ThroughputConfig, type ThroughputResult } from './throughput.js';

export const H2_CONFIG: ThroughputConfig = {
  ...THROUGHPUT_CONFIG,
  connections: envNumber('BENCH_H2_SESSIONS', 1),
  pipelining: envNumber('BENCH_H2_STREAMS', 50),
};

type Res = http2.Http2ServerResponse;

function answer(res: Res): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(ROUTE_BODY));
}

/** The guarded route's answer: the route's body, or the refusal as the README's plain-Node example sends it. */
function respond(outcome: GuardOutcome, res: Res): void {
  if (outcome.ok) {
    answer(res);
    return;
  }
  res.writeHead(outcome.error.status, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify(outcome.error.toProblem()));
}

/** A step that does nothing, called like the guard: the noise floor. */
const noop = (_req: http2.Http2ServerRequest, then: () => void): void => then();

export async function measureHttp2Session(log: (line?: string) => void): Promise<ThroughputResult> {
  const dir = await mkdtemp(join(os.tmpdir(), 'certgate-bench-h2-'));
  let server: http2.Http2SecureServer | undefined;
  try {
    const files = await generateDevPki(dir);
    const pem = (path: string) => readFile(path, 'utf8');
    const ca = await pem(files.caBundle);
    const verifier = createVerifier({ ca, crl: await pem(files.crl) });
    const guard = clientCertGuard({
      verifier,
      identify: byCommonName({ alice: { roles: ['customer'] } }),
      roles: ['customer'],
    });
    const handler = (req: http2.Http2ServerRequest, res: Res): void => {
      if (req.url === '/plain') answer(res);
      else if (req.url === '/noop') noop(req, () => answer(res));
      else {
        const known = guard.cached(req);
        if (known) respond(known, res);
        else void guard.check(req).then((outcome) => respond(outcome, res));
      }
    };
    const tls = { cert: await pem(files.serverCert), key: await pem(files.serverKey), ca };
    server = http2.createSecureServer(
      { ...tls, requestCert: true, rejectUnauthorized: false, allowHTTP1: true },
      handler,
    );
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const base = `https://localhost:${(server.address() as AddressInfo).port}`;
    const alice = { cert: await pem(files.clients.alice.cert), key: await pem(files.clients.alice.key), ca };
    const runner = fileURLToPath(new URL('./h2-load-runner.mjs', import.meta.url));
    return await measureThroughput(base, alice, H2_CONFIG, log, runner);
  } finally {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
