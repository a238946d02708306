/**
 * The forwarded path (the guard's `proxy` option): keep-alive throughput of /plain, /noop and
 * /guarded on one plain-HTTP Express 5 server on 127.0.0.1, as behind nginx: every request carries
 * alice's leaf in X-SSL-Client-Cert exactly as nginx writes `$ssl_client_escaped_cert` (the PEM,
 * URL-encoded), from a trusted peer (loopback). Reuses part 1's machinery (bench/throughput.ts:
 * autocannon in a child process, routes interleaved over rounds), then measures the guard's
 * per-request cost in-process (bench/forwarded-cost.ts).
 */
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { byCommonName, createVerifier, type ProxyOptions } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { generateDevPki } from '../src/devpki/generate.js';
import { threeRouteApp } from './routes.js';
import { measureThroughput, type ThroughputConfig, type ThroughputResult } from './throughput.js';
import { type ForwardedCostResult, measureForwardedCost } from './forwarded-cost.js';

/** The header name nginx is configured to set (`proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`). */
export const FORWARDED_HEADER = 'X-SSL-Client-Cert';

export interface ForwardedResult {
  input: { format: 'nginx'; header: string; headerBytes: number; certificate: string; trust: string };
  sanity: Record<string, string>;
  throughput: ThroughputResult;
  cost: ForwardedCostResult;
}

/**
 * nginx's `$ssl_client_escaped_cert`: the leaf's PEM (as OpenSSL writes it, ending in a line break)
 * through ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT). On a PEM's characters (A-Z a-z 0-9 + / = - space,
 * line break) that table escapes exactly what encodeURIComponent does (`+`, `/`, `=`, space, line
 * break; upper-case hex), so the value is byte for byte nginx's.
 */
export function nginxEscapedCert(pemWithChain: string): string {
  const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(pemWithChain);
  if (!leaf) throw new Error('bench: no certificate in the PEM');
  return encodeURIComponent(leaf[0]);
}

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The only pass/fail: alice's header is served, a request without it refused, /plain open. */
async function sanityChecks(port: number, headers: Record<string, string>): Promise<Record<string, string>> {
  const withHeader = await get(port, '/guarded', headers);
  if (withHeader.status !== 200)
    throw new Error(`SANITY FAILURE: forwarded GET /guarded with alice's header gave ${withHeader.status}`);
  const without = await get(port, '/guarded', {});
  if (without.status !== 401 || !without.body.includes('CERT_MISSING'))
    throw new Error(`SANITY FAILURE: forwarded GET /guarded without the header gave ${without.status} ${without.body}`);
  const plain = await get(port, '/plain', {});
  if (plain.status !== 200) throw new Error(`SANITY FAILURE: forwarded GET /plain gave ${plain.status}`);
  return {
    guardedWithAlice: `${withHeader.status} ${withHeader.body}`,
    guardedWithoutHeader: `${without.status} ${without.body}`,
    plainWithoutHeader: `${plain.status}`,
  };
}

export async function measureForwarded(
  config: ThroughputConfig,
  log: (line: string) => void,
): Promise<ForwardedResult> {
  const pkiDir = await mkdtemp(join(os.tmpdir(), 'certgate-bench-forwarded-'));
  let server: http.Server | undefined;
  try {
    const files = await generateDevPki(pkiDir);
    const pem = (path: string) => readFile(path, 'utf8');
    const value = nginxEscapedCert(await pem(files.clients.alice.cert));
    const headers = { [FORWARDED_HEADER]: value };
    const verifier = createVerifier({
      ca: await pem(files.caBundle),
      intermediates: await pem(files.intermediateCert),
      crl: await pem(files.crl),
    });
    const identify = byCommonName({ alice: { roles: ['customer'] } });
    const roles = ['customer'];
    const proxy: ProxyOptions = { trust: 'loopback', format: 'nginx' };
    const guard = requireClientCert({ verifier, identify, roles, proxy });

    const app = threeRouteApp(guard);
    server = http.createServer(app);
    await new Promise<void>((resolve) => (server as http.Server).listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;

    const sanity = await sanityChecks(port, headers);
    log(`  sanity: /guarded with alice's header -> 200; without -> ${sanity.guardedWithoutHeader}`);
    const throughput = await measureThroughput(`http://127.0.0.1:${port}`, { headers }, config, log);
    sanity.throughputNon2xx = 'all runs 0 non-2xx, 0 errors';

    const cost = await measureForwardedCost({
      guardMiddleware: guard as never,
      verifier,
      identify,
      roles,
      proxy,
      peer: '127.0.0.1',
      header: FORWARDED_HEADER,
      value,
      expectedUser: 'alice',
    });
    const input = {
      format: 'nginx' as const,
      header: FORWARDED_HEADER,
      headerBytes: cost.headerBytes,
      certificate: "dev PKI alice (ECDSA P-256 leaf only; the intermediate from the 'intermediates' option)",
      trust: 'loopback',
    };
    return { input, sanity, throughput, cost };
  } finally {
    if (server) {
      server.closeAllConnections();
      server.close();
    }
    await rm(pkiDir, { recursive: true, force: true });
  }
}

const percent = (share: number) => `${Math.round(share * 100)}%`;
const ratio = (r: number) => r.toFixed(3);

/** Report rows (label, value) for the forwarded part; the caller lays them out. */
export function forwardedRows(f: ForwardedResult): Array<[string, string]> {
  const t = f.throughput;
  const c = t.config;
  const rows: Array<[string, string]> = [
    [
      `-- 6. forwarded path, keep-alive HTTP + ${f.input.header} as nginx ` +
        `(median of ${c.rounds} interleaved ${c.durationSeconds} s runs, ${c.connections} conns)`,
      '',
    ],
  ];
  for (const route of ['plain', 'noop', 'guarded'] as const) {
    const p = t.perRoute[route];
    rows.push([
      `/${route} req/s`,
      `${p.medianRps}  (min ${p.minRps}, max ${p.maxRps}; ${p.medianServerCpuUsPerRequest} us server CPU/req; ` +
        `CPU server ${percent(p.medianServerCpu)} / autocannon ${percent(p.medianLoadGenCpu)}; ` +
        `p99 ${p.medianLatencyP99Ms} ms)`,
    ]);
  }
  rows.push([
    'guarded / plain',
    `${ratio(t.pairedRatios.guardedOverPlain)} median of per-round ratios  (goal >= 0.90; ` +
      `of medians ${ratio(t.ratios.guardedOverPlain)}; ` +
      `CPU-normalised ${ratio(t.cpuNormalisedRatios.guardedOverPlain)})`,
  ]);
  rows.push([
    'guarded / noop',
    `${ratio(t.pairedRatios.guardedOverNoop)} median of per-round ratios  ` +
      `(of medians ${ratio(t.ratios.guardedOverNoop)}; CPU-normalised ${ratio(t.cpuNormalisedRatios.guardedOverNoop)})`,
  ]);
  if (t.starvedRuns > 0)
    rows.push([
      'WARNING',
      `${t.starvedRuns}/${t.runs.length} runs had < 90% of a core: prefer the CPU-normalised ratios`,
    ]);
  const k = f.cost;
  rows.push([
    'guard middleware, known value',
    `${k.guardMiddlewareFreshRequestNs} ns/call (new request + header string each call; ${k.headerBytes} B header)`,
  ]);
  rows.push([
    '  the same request object',
    `${k.guardMiddlewareSameRequestNs} ns/call  (no-op middleware ${k.noopMiddlewareNs} ns)`,
  ]);
  rows.push([
    'guard.check, unseen value',
    `${k.guardCheckUnseenValueUs.median} us  (decode + digest; verifier cache hit)`,
  ]);
  return rows;
}
