// Part 2: per-request cost of the guard on an already-verified connection, in-process, on a REAL
// TLSSocket captured from a real request, compared with reading the peer certificate from Node.
import type { TLSSocket } from 'node:tls';
import { clientCertGuard, type IdentifyFunction, type Verifier } from 'certgate';
import { median, nsSince, round } from './stats.js';

type Middleware = (req: never, res: never, next: (err?: unknown) => void) => void;

export interface GuardCostResult {
  /** ns per call, median over batches. */
  guardMiddlewareNs: number;
  noopMiddlewareNs: number;
  getPeerX509CertificateNs: number;
  getPeerCertificateDetailedNs: number;
  getPeerCertificateNs: number;
  /** guard.check() on a connection the guard has not seen (fresh guard, verifier outcome cache hit; the socket's chain was already read). */
  guardCheckNewConnectionUs: { n: number; median: number };
  iterations: Record<string, { perBatch: number; batches: number }>;
}

/** Runs `fn` `perBatch` times per batch; returns the median ns per call over `batches` (after one warm-up batch). */
function perCall(fn: () => void, perBatch: number, batches: number): number {
  const samples: number[] = [];
  for (let b = -1; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) fn();
    const ns = nsSince(start) / perBatch;
    if (b >= 0) samples.push(ns);
  }
  return median(samples);
}

export async function measureGuardCost(opts: {
  socket: TLSSocket;
  guardMiddleware: Middleware;
  verifier: Verifier;
  identify: IdentifyFunction;
  roles: string[];
  expectedUser: string;
}): Promise<GuardCostResult> {
  const { socket, guardMiddleware } = opts;
  if (socket.destroyed) throw new Error('bench: the captured socket is already closed');
  if (!socket.getPeerX509Certificate()) throw new Error('bench: the captured socket has no peer certificate');

  const req = { socket } as { socket: TLSSocket; clientCert?: { user: string } };
  const res = {};
  let nexts = 0;
  let errors = 0;
  const next = (err?: unknown) => {
    if (err !== undefined) errors++;
    nexts++;
  };
  // Sanity: on this connection the guard already decided, so it must call next() synchronously.
  guardMiddleware(req as never, res as never, next);
  if (nexts !== 1 || errors !== 0 || req.clientCert?.user !== opts.expectedUser) {
    throw new Error(
      `bench sanity: the guard did not take its synchronous fast path on the captured socket (next calls ${nexts}, errors ${errors}, user ${req.clientCert?.user})`,
    );
  }

  const noop: Middleware = (_req, _res, n) => n();
  const iterations = {
    guardMiddleware: { perBatch: 100_000, batches: 7 },
    noopMiddleware: { perBatch: 100_000, batches: 7 },
    getPeerX509Certificate: { perBatch: 10_000, batches: 5 },
    getPeerCertificateDetailed: { perBatch: 5_000, batches: 5 },
    getPeerCertificate: { perBatch: 10_000, batches: 5 },
  };
  let sink: unknown;
  const guardMiddlewareNs = perCall(
    () => guardMiddleware(req as never, res as never, next),
    iterations.guardMiddleware.perBatch,
    iterations.guardMiddleware.batches,
  );
  const noopMiddlewareNs = perCall(
    () => noop(req as never, res as never, next),
    iterations.noopMiddleware.perBatch,
    iterations.noopMiddleware.batches,
  );
  const getPeerX509CertificateNs = perCall(
    () => (sink = socket.getPeerX509Certificate()),
    iterations.getPeerX509Certificate.perBatch,
    iterations.getPeerX509Certificate.batches,
  );
  const getPeerCertificateDetailedNs = perCall(
    () => (sink = socket.getPeerCertificate(true)),
    iterations.getPeerCertificateDetailed.perBatch,
    iterations.getPeerCertificateDetailed.batches,
  );
  const getPeerCertificateNs = perCall(
    () => (sink = socket.getPeerCertificate(false)),
    iterations.getPeerCertificate.perBatch,
    iterations.getPeerCertificate.batches,
  );
  if (errors !== 0 || req.clientCert?.user !== opts.expectedUser || !sink)
    throw new Error('bench sanity: the guard failed during the loop');

  // First request on a new connection, approximated: a fresh guard (empty per-socket memory) over
  // the shared verifier (outcome cache hit). The chain read from the socket is memoised per socket
  // in src/sources/tls-socket.ts, so that part is NOT included here: it costs about one
  // getPeerCertificate(true) call (measured above) per connection.
  const checks: number[] = [];
  for (let i = -200; i < 2000; i++) {
    const g = clientCertGuard({ verifier: opts.verifier, identify: opts.identify, roles: opts.roles });
    const start = process.hrtime.bigint();
    const outcome = await g.check({ socket });
    const ns = nsSince(start);
    if (!outcome.ok)
      throw new Error(`bench sanity: guard.check refused the captured connection: ${outcome.error.code}`);
    if (i >= 0) checks.push(ns);
  }

  return {
    guardMiddlewareNs: round(guardMiddlewareNs, 1),
    noopMiddlewareNs: round(noopMiddlewareNs, 1),
    getPeerX509CertificateNs: round(getPeerX509CertificateNs, 0),
    getPeerCertificateDetailedNs: round(getPeerCertificateDetailedNs, 0),
    getPeerCertificateNs: round(getPeerCertificateNs, 0),
    guardCheckNewConnectionUs: { n: checks.length, median: round(median(checks) / 1000, 1) },
    iterations,
  };
}
