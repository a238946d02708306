// In-process per-request cost of the guard on the forwarded path: a request from a trusted proxy
// carrying a known client's certificate header, as bench/guard-cost.ts does for the TLS socket path.
import { clientCertGuard, type IdentifyFunction, type ProxyOptions, type Verifier } from 'certgate';
import { median, nsSince, round } from './stats.js';

type Middleware = (req: never, res: never, next: (err?: unknown) => void) => void;

export interface ForwardedCostResult {
  /** Header bytes of the forwarded value measured. */
  headerBytes: number;
  /** ns per call, median over batches: the same request object (and header string) every call. */
  guardMiddlewareSameRequestNs: number;
  /**
   * ns per call with a new request object and a new copy of the header string every call, as Node
   * makes for each request (V8 hashes each new string once in the lookup by value).
   */
  guardMiddlewareFreshRequestNs: number;
  noopMiddlewareNs: number;
  /** guard.check() by a new guard (nothing decoded yet: decode, digest, verifier outcome cache hit), in us. */
  guardCheckUnseenValueUs: { n: number; median: number };
  iterations: Record<string, { perBatch: number; batches: number }>;
}

interface FakeRequest {
  socket: { remoteAddress: string };
  headers: Record<string, string>;
  rawHeaders: string[];
  clientCert?: { user: string; source?: string };
}

/** A request as Node's http server presents it: headers lower-cased, rawHeaders as sent. */
function requestWith(peer: string, header: string, value: string): FakeRequest {
  return {
    socket: { remoteAddress: peer },
    headers: { host: '127.0.0.1', [header.toLowerCase()]: value },
    rawHeaders: ['Host', '127.0.0.1', header, value],
  };
}

/** A copy of `value` that is a distinct string (no shared hash), as a new request's header would be. */
const freshCopy = (value: string): string => Buffer.from(value, 'latin1').toString('latin1');

/** guard.check() on a value no guard has seen: a new guard each time over the shared verifier (its cache hit). */
async function unseenValueChecks(opts: {
  verifier: Verifier;
  identify: IdentifyFunction;
  roles: string[];
  proxy: ProxyOptions;
  peer: string;
  header: string;
  value: string;
}): Promise<number[]> {
  const { verifier, identify, roles, proxy } = opts;
  const checks: number[] = [];
  for (let i = -200; i < 2000; i++) {
    const g = clientCertGuard({ verifier, identify, roles, proxy });
    const req = requestWith(opts.peer, opts.header, freshCopy(opts.value));
    const start = process.hrtime.bigint();
    const outcome = await g.check(req);
    const ns = nsSince(start);
    if (!outcome.ok) throw new Error(`bench sanity: guard.check refused the forwarded value: ${outcome.error.code}`);
    if (i >= 0) checks.push(ns);
  }
  return checks;
}

/** Median ns per call over `batches` (after one warm-up batch); `prepare` builds a batch's inputs untimed. */
function perCall<T>(prepare: () => T[], fn: (input: T) => void, batches: number): number {
  const samples: number[] = [];
  for (let b = -1; b < batches; b++) {
    const inputs = prepare();
    const start = process.hrtime.bigint();
    for (const input of inputs) fn(input);
    const ns = nsSince(start) / inputs.length;
    if (b >= 0) samples.push(ns);
  }
  return median(samples);
}

export async function measureForwardedCost(opts: {
  guardMiddleware: Middleware;
  verifier: Verifier;
  identify: IdentifyFunction;
  roles: string[];
  proxy: ProxyOptions;
  peer: string;
  header: string;
  value: string;
  expectedUser: string;
}): Promise<ForwardedCostResult> {
  const { guardMiddleware, peer, header, value } = opts;
  let nexts = 0;
  let errors = 0;
  const next = (err?: unknown) => {
    if (err !== undefined) errors++;
    nexts++;
  };
  const res = {};
  // Sanity: the value is known (the server already answered it), so the guard must call next() synchronously.
  const first = requestWith(peer, header, freshCopy(value));
  guardMiddleware(first as never, res as never, next);
  if (nexts !== 1 || errors !== 0 || first.clientCert?.user !== opts.expectedUser) {
    throw new Error(
      'bench sanity: the guard did not take its synchronous fast path on the forwarded value ' +
        `(next calls ${nexts}, errors ${errors}, user ${first.clientCert?.user})`,
    );
  }
  if (first.clientCert?.source !== 'proxy') throw new Error('bench sanity: clientCert.source is not "proxy"');

  const iterations = {
    sameRequest: { perBatch: 100_000, batches: 7 },
    freshRequest: { perBatch: 20_000, batches: 7 },
    noopMiddleware: { perBatch: 100_000, batches: 7 },
  };
  const same = requestWith(peer, header, value);
  const batchOf =
    <T>(n: number, make: () => T) =>
    () =>
      Array.from({ length: n }, make);
  const guardMiddlewareSameRequestNs = perCall(
    batchOf(iterations.sameRequest.perBatch, () => same),
    (req) => guardMiddleware(req as never, res as never, next),
    iterations.sameRequest.batches,
  );
  const fresh: FakeRequest[] = [];
  const guardMiddlewareFreshRequestNs = perCall(
    batchOf(iterations.freshRequest.perBatch, () => requestWith(peer, header, freshCopy(value))),
    (req) => {
      guardMiddleware(req as never, res as never, next);
      if (fresh.length < 3) fresh.push(req);
    },
    iterations.freshRequest.batches,
  );
  const noop: Middleware = (_req, _res, n) => n();
  const noopMiddlewareNs = perCall(
    batchOf(iterations.noopMiddleware.perBatch, () => same),
    (req) => noop(req as never, res as never, next),
    iterations.noopMiddleware.batches,
  );
  const served = [same, ...fresh];
  if (errors !== 0 || served.some((r) => r.clientCert?.user !== opts.expectedUser))
    throw new Error('bench sanity: the guard failed during the loop');

  const checks = await unseenValueChecks(opts);

  return {
    headerBytes: Buffer.byteLength(value, 'latin1'),
    guardMiddlewareSameRequestNs: round(guardMiddlewareSameRequestNs, 1),
    guardMiddlewareFreshRequestNs: round(guardMiddlewareFreshRequestNs, 1),
    noopMiddlewareNs: round(noopMiddlewareNs, 1),
    guardCheckUnseenValueUs: { n: checks.length, median: round(median(checks) / 1000, 1) },
    iterations,
  };
}
