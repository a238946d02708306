/**
 * `crl.distributionPoints: true` over real mutual TLS on 127.0.0.1, with an OpenSSL-made PKI and a
 * local HTTP CRL server that counts requests:
 * - a leaf minted under a revoked intermediate is CERT_REVOKED, and the URLs it names are never
 *   requested (the intermediate's CRL is fetched first, issuer side first);
 * - after more than MAX_DISCOVERED_SOURCES distinct hostile distribution point URLs, a legitimate
 *   client is still let in (the URL limit evicts the least recently used instead of failing closed).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCertGuard, createVerifier, type Verifier } from 'certgate';
import { get, makePki, startHttps, type RunningServer, type TestPki } from '../helpers/clients.js';
import { removeTempDirs, tempDir } from '../helpers/oracle.js';
import { MAX_DISCOVERED_SOURCES } from '../../src/revocation/crl-store.js';
import { MAX_CRL_URLS_PER_CERTIFICATE } from '../../src/revocation/path-revocation.js';
import { OpensslCa } from '../helpers/openssl-ca.js';

interface CrlServer {
  base: string;
  hits: Map<string, number>;
  bodies: Map<string, Buffer>;
  close(): Promise<void>;
}

async function serveCrls(): Promise<CrlServer> {
  const hits = new Map<string, number>();
  const bodies = new Map<string, Buffer>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const body = bodies.get(path);
    res.statusCode = body ? 200 : 404;
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Client = { chain: Buffer; key: Buffer };

let tls: TestPki;
let crls: CrlServer;
let root: OpensslCa;
let revokedCa: OpensslCa;
let unrevokedCa: OpensslCa;
let goodCa: OpensslCa;
let legit: Client;
let srv: RunningServer | undefined;
const verifiers: Verifier[] = [];

beforeAll(async () => {
  [tls, crls] = await Promise.all([makePki(), serveCrls()]);
  const dir = tempDir('certgate-dp-');
  root = OpensslCa.root(dir, 'DP Root');
  const rootUrl = `${crls.base}/root.crl`;
  revokedCa = root.intermediate('DP Revoked Intermediate', [rootUrl]);
  unrevokedCa = root.intermediate('DP Unrevoked Intermediate', [rootUrl]);
  goodCa = root.intermediate('DP Good Intermediate', [rootUrl]);
  root.revoke(revokedCa.cert, 'keyCompromise');
  crls.bodies.set('/root.crl', root.crl());
  const decoy = goodCa.leaf('decoy', [`${crls.base}/good.crl`]);
  goodCa.revoke(decoy.file, 'superseded');
  crls.bodies.set('/good.crl', goodCa.crl());
  legit = goodCa.leaf('legit', [`${crls.base}/good.crl`]);
});
afterAll(async () => {
  for (const v of verifiers) v.close();
  await Promise.all([srv?.close(), crls?.close()]);
  removeTempDirs();
});

/** A fresh guard (nothing fetched yet) behind a fresh HTTPS server. */
async function serve(): Promise<RunningServer> {
  await srv?.close();
  const verifier = createVerifier({
    ca: readFileSync(root.cert),
    crl: { distributionPoints: true, fetchTimeoutMs: 2_000 },
  });
  verifiers.push(verifier);
  const guard = clientCertGuard({ verifier });
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const o = await guard.check(req);
    res.statusCode = o.ok ? 200 : 403;
    res.end(JSON.stringify(o.ok ? { ok: true } : { code: o.error.code, detail: o.error.detail }));
  };
  srv = await startHttps(tls, (req, res) => void handler(req, res));
  return srv;
}

async function connect(server: RunningServer, client: Client): Promise<{ status: number; code?: string }> {
  const r = await get(server.port, '/', { ca: tls.ca, client: { cert: client.chain, key: client.key } });
  return { status: r.status, code: (r.body as { code?: string }).code };
}

const hostileHits = () => [...crls.hits].filter(([p]) => p.startsWith('/hostile/')).reduce((n, [, c]) => n + c, 0);

describe('distribution points are fetched issuer side first', () => {
  it('a leaf minted under a revoked intermediate is CERT_REVOKED, and its URLs are never requested', async () => {
    const server = await serve();
    crls.hits.clear();
    for (let i = 0; i < 3; i++) {
      const urls = [0, 1, 2, 3].map((j) => `${crls.base}/hostile/minted-${i}-${j}.crl`);
      const minted = revokedCa.leaf(`minted-${i}`, urls);
      expect(await connect(server, minted)).toEqual({ status: 403, code: 'CERT_REVOKED' });
    }
    expect(hostileHits()).toBe(0);
    // The intermediate's own CRL was fetched once (then kept).
    expect(crls.hits.get('/root.crl')).toBe(1);
  });
});

describe('a legitimate client on a fresh server', () => {
  it('is let in after both CRLs of its path are fetched in one verification, issuer side first', async () => {
    const server = await serve();
    crls.hits.clear();
    expect(await connect(server, legit)).toEqual({ status: 200, code: undefined });
    expect([crls.hits.get('/root.crl'), crls.hits.get('/good.crl')]).toEqual([1, 1]);
  });
});

describe('the distribution point URL limit evicts the least recently used', () => {
  it(`after ${MAX_DISCOVERED_SOURCES + 6} hostile URLs, a legitimate client still gets 200`, async () => {
    const server = await serve();
    crls.hits.clear();
    // Each leaf names 14 URLs; the first MAX_CRL_URLS_PER_CERTIFICATE of each are followed.
    const perLeaf = 14;
    const flood = async (tag: string) => {
      for (let i = 0; i * MAX_CRL_URLS_PER_CERTIFICATE < MAX_DISCOVERED_SOURCES + 6; i++) {
        const urls = Array.from({ length: perLeaf }, (_, j) => `${crls.base}/hostile/${tag}-${i}-${j}.crl`);
        const client = unrevokedCa.leaf(`${tag}-${i}`, urls);
        // Nothing at those URLs: unknown, refused (fail closed).
        expect(await connect(server, client)).toEqual({ status: 403, code: 'REVOCATION_UNKNOWN' });
      }
    };
    await flood('first');
    expect(hostileHits()).toBeGreaterThan(MAX_DISCOVERED_SOURCES);
    // Only the first MAX_CRL_URLS_PER_CERTIFICATE URLs of a leaf were ever asked for.
    const asked = [...crls.hits.keys()].filter((p) => p.startsWith('/hostile/first-0-'));
    expect(asked.sort()).toEqual(
      Array.from({ length: MAX_CRL_URLS_PER_CERTIFICATE }, (_, j) => `/hostile/first-0-${j}.crl`).sort(),
    );
    expect(await connect(server, legit)).toEqual({ status: 200, code: undefined });
    // And again after another flood has pushed the legitimate URL out: fetched again, still 200.
    await flood('second');
    expect(await connect(server, legit)).toEqual({ status: 200, code: undefined });
    expect(crls.hits.get('/good.crl')).toBeGreaterThanOrEqual(1);
  });
});
