/**
 * The CRL store's named limits, each where it trips (MAX_DISCOVERED_SOURCES, maxBytes for URLs and
 * files, MIN_RETRY_MS and the backoff cap), and its use of crl-usability.ts (thisUpdate at one-second
 * granularity on a frozen clock, cRLSign). CAs and CRLs are made with the OpenSSL CLI; servers
 * listen on 127.0.0.1.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CrlStore,
  MAX_DISCOVERED_SOURCES,
  type CrlSourceSpec,
  type CrlStoreConfig,
} from '../src/revocation/crl-store.js';
import { backoff, MIN_RETRY_MS, retryDelayMs } from '../src/revocation/http-fetch.js';
import { parseCrl } from '../src/revocation/crl.js';
import { parseCertificate, type ParsedCertificate } from '../src/x509/certificate.js';
import type { Clock } from '../src/time/clock.js';
import { makeOpensslCa, pemToDer } from './helpers/oracle.js';

interface OpensslCa {
  cert: ParsedCertificate;
  /** A PEM CRL of this CA (CRL Number 1, AKI, 30 days). */
  crl: Buffer;
  thisUpdate: number;
}

/** A self-signed CA with the given keyUsage and its CRL (shared OpenSSL builder), parsed. */
function opensslCa(dir: string, keyUsage: string): OpensslCa {
  const files = makeOpensslCa(dir, { keyUsage, cn: 'Store CA' });
  const crl = readFileSync(files.crl);
  return {
    cert: parseCertificate(pemToDer(readFileSync(files.cert))),
    crl,
    thisUpdate: parseCrl(pemToDer(crl)).thisUpdate.getTime(),
  };
}

/** A frozen clock the test steps by hand. */
function frozenClock(t: number): Clock & { t: number } {
  return {
    t,
    now() {
      return this.t;
    },
  };
}

let dir: string;
let ca: OpensslCa;
let noCrlSign: OpensslCa;
const stores: CrlStore[] = [];
const servers: http.Server[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-crl-store-'));
  ca = opensslCa(join(dir, 'ca'), 'keyCertSign, cRLSign');
  noCrlSign = opensslCa(join(dir, 'no-crlsign'), 'keyCertSign');
});

afterAll(() => {
  for (const s of stores) s.close();
  for (const s of servers) s.close();
});

function makeStore(sources: CrlSourceSpec[], issuers: ParsedCertificate[], config: Partial<CrlStoreConfig> = {}) {
  const events: { name: string; payload: Record<string, unknown> }[] = [];
  const store = new CrlStore(
    {
      initial: [],
      sources,
      refreshIntervalMs: 300_000,
      fileCheckIntervalMs: 60_000,
      fetchTimeoutMs: 5_000,
      maxBytes: 1024 * 1024,
      legacyAlgorithms: false,
      clock: frozenClock(ca.thisUpdate + 1000),
      ...config,
    },
    (issuerKey) => issuers.filter((c) => c.subjectKey === issuerKey),
  );
  for (const name of ['crl-loaded', 'crl-refresh-failed', 'crl-rejected'] as const) {
    store.on(name, (payload: Record<string, unknown>) => events.push({ name, payload }));
  }
  stores.push(store);
  return { store, events, names: () => events.map((e) => e.name) };
}

/** Serves `body` at /len/* with content-length, at /stream/* in two chunks without, and 404 elsewhere. */
async function serve(body: Buffer): Promise<{ base: string; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    if (req.url?.startsWith('/len/')) res.end(body);
    else if (req.url?.startsWith('/stream/')) {
      res.write(body.subarray(0, 64));
      setImmediate(() => res.end(body.subarray(64)));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

describe('MAX_DISCOVERED_SOURCES', () => {
  it('64 URLs are followed at once; the 65th makes room by evicting the least recently used', async () => {
    const { base, paths } = await serve(Buffer.alloc(0));
    const { store } = makeStore([], [ca.cert]);
    const url = (i: number) => `${base}/dp/${i}`;
    const wanted = new Map(Array.from({ length: MAX_DISCOVERED_SOURCES + 1 }, (_, i) => [url(i), ca.cert] as const));
    await store.discover(wanted);
    expect(MAX_DISCOVERED_SOURCES).toBe(64);
    expect(store.tried(url(MAX_DISCOVERED_SOURCES - 1))).toBe(true);
    expect(store.tried(url(MAX_DISCOVERED_SOURCES))).toBe(false);
    expect(paths).toContain(`/dp/${MAX_DISCOVERED_SOURCES - 1}`);
    expect(paths).not.toContain(`/dp/${MAX_DISCOVERED_SOURCES}`);
    // While all 64 were in flight none could make room. Now idle: /dp/1 was named again (used
    // recently), so the 65th evicts /dp/0 and is followed; /dp/0 is no longer "tried".
    store.seen([url(1)]);
    await store.discover(new Map([[url(MAX_DISCOVERED_SOURCES), ca.cert]]));
    expect(paths).toContain(`/dp/${MAX_DISCOVERED_SOURCES}`);
    expect(store.tried(url(MAX_DISCOVERED_SOURCES))).toBe(true);
    expect(store.tried(url(0))).toBe(false);
    expect(store.tried(url(1))).toBe(true);
    expect(store.willFetch(url(0))).toBe(true);
  });
});

describe('maxBytes', () => {
  it.each(['len', 'stream'])('a URL (%s): exactly maxBytes is accepted, one byte more is refused', async (mode) => {
    const { base } = await serve(ca.crl);
    const location = `${base}/${mode}/ca.crl`;
    const exact = makeStore([{ kind: 'url', location }], [ca.cert], { maxBytes: ca.crl.length });
    await exact.store.ready;
    expect(exact.names()).toEqual(['crl-loaded']);
    expect(exact.store.pending).toBeUndefined();
    const over = makeStore([{ kind: 'url', location }], [ca.cert], { maxBytes: ca.crl.length - 1 });
    await over.store.ready;
    expect(over.names()).toEqual(['crl-refresh-failed']);
    expect(over.events[0]?.payload.error).toMatch(`over the ${ca.crl.length - 1}-byte limit`);
    expect(over.store.pending).toMatch(/over the .*limit|maxBytes|bytes/);
  });

  it('a file: exactly maxBytes is read, one byte more is refused by its size', async () => {
    const location = join(dir, 'file.crl');
    writeFileSync(location, ca.crl);
    const exact = makeStore([{ kind: 'file', location }], [ca.cert], { maxBytes: ca.crl.length });
    await exact.store.ready;
    expect(exact.names()).toEqual(['crl-loaded']);
    const over = makeStore([{ kind: 'file', location }], [ca.cert], { maxBytes: ca.crl.length - 1 });
    await over.store.ready;
    expect(over.names()).toEqual(['crl-refresh-failed']);
    expect(over.events[0]?.payload.error).toMatch(`over the ${ca.crl.length - 1}-byte limit`);
  });
});

describe('MIN_RETRY_MS and the backoff cap', () => {
  it('doubles from MIN_RETRY_MS up to the cap, and never goes under MIN_RETRY_MS or past a timer', () => {
    expect(MIN_RETRY_MS).toBe(1000);
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 5_000))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(backoff(1, 300)).toBe(300);
    expect(retryDelayMs(1, 300)).toBe(MIN_RETRY_MS);
    expect(retryDelayMs(1_000, Infinity)).toBe(2 ** 31 - 1);
  });

  it('crl-refresh-failed reports the delay the timer waits, even with a refreshIntervalMs under MIN_RETRY_MS', async () => {
    const { base } = await serve(Buffer.alloc(0));
    const { store, events } = makeStore([{ kind: 'url', location: `${base}/missing.crl` }], [ca.cert], {
      refreshIntervalMs: 300,
    });
    await store.ready;
    expect(events.map((e) => e.payload.retryInMs)).toEqual([MIN_RETRY_MS]);
  });
});

describe('what the store lets in (crl-usability.ts)', () => {
  it('a CRL from the next second is refused at xx.999 and taken at the second (frozen clock)', async () => {
    const { base } = await serve(ca.crl);
    const clock = frozenClock(ca.thisUpdate - 1);
    const { store, names, events } = makeStore([{ kind: 'url', location: `${base}/len/ca.crl` }], [ca.cert], { clock });
    await store.ready;
    expect(names()).toEqual(['crl-rejected', 'crl-refresh-failed']);
    expect(events[0]?.payload.reason).toMatch(/not yet valid/);
    clock.t = ca.thisUpdate;
    await store.refreshAll();
    expect(names().at(-1)).toBe('crl-loaded');
    expect(store.pending).toBeUndefined();
  });

  it('clockToleranceMs lets in a CRL from up to that much in the future', async () => {
    const { base } = await serve(ca.crl);
    const clock = frozenClock(ca.thisUpdate - 1000);
    const { store, names } = makeStore([{ kind: 'url', location: `${base}/len/ca.crl` }], [ca.cert], {
      clock,
      clockToleranceMs: 1000,
    });
    await store.ready;
    expect(names()).toEqual(['crl-loaded']);
  });

  it('a CRL whose only known issuer lacks cRLSign is refused, as the checker would refuse it', async () => {
    const { base } = await serve(noCrlSign.crl);
    const clock = frozenClock(noCrlSign.thisUpdate + 1000);
    const { store, events } = makeStore([{ kind: 'url', location: `${base}/len/ca.crl` }], [noCrlSign.cert], { clock });
    await store.ready;
    expect(events.map((e) => e.name)).toEqual(['crl-rejected', 'crl-refresh-failed']);
    expect(events[0]?.payload.reason).toMatch(/cRLSign/);
    expect(store.pending).toMatch(/has not delivered a usable CRL .*cRLSign/);
  });
});
