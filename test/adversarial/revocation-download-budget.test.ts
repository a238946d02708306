/**
 * CRL downloads in flight share one byte budget (MAX_CRL_BYTES_IN_FLIGHT, at least maxBytes):
 * each download is capped on its own, but distribution points are named by certificates, so
 * without a shared bound N URLs x maxBytes were held at once (8 x 32 MiB: +394 MiB). Three
 * downloads of 600 KiB each, with a 1.5 MiB budget, all in flight together (the server holds every
 * body open until a client gives up): one fails as over budget, the others go on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { CrlStore, MAX_CRL_BYTES_IN_FLIGHT, type CrlEvents } from '../../src/revocation/crl-store.js';

const KIB = 1024;
const closers: (() => void)[] = [];
afterAll(() => {
  for (const close of closers) close();
});

/** Serves `count` bodies of `head` bytes, ending none until a client drops its connection. */
async function holdingServer(count: number, head: number) {
  const held: http.ServerResponse[] = [];
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    for (const res of held) if (!res.destroyed) res.end(Buffer.alloc(KIB, 0x31));
  };
  const server = http.createServer((_req, res) => {
    res.write(Buffer.alloc(head, 0x30));
    held.push(res);
    res.on('close', () => {
      if (!res.writableFinished) release();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Array.from({ length: count }, (_, i) => `${base}/big/${i}.crl`);
}

describe('MAX_CRL_BYTES_IN_FLIGHT', () => {
  it('is 64 MiB', () => {
    expect(MAX_CRL_BYTES_IN_FLIGHT).toBe(64 * 1024 * KIB);
  });

  it('a download that would pass the shared budget fails as unavailable; the others go on', async () => {
    const urls = await holdingServer(3, 600 * KIB);
    const failures: CrlEvents['crl-refresh-failed'][] = [];
    const store = new CrlStore(
      {
        initial: [],
        sources: urls.map((location) => ({ kind: 'url' as const, location })),
        refreshIntervalMs: 3_600_000,
        fileCheckIntervalMs: 2_000,
        fetchTimeoutMs: 5_000,
        maxBytes: 1024 * KIB,
        maxBytesInFlight: 1536 * KIB,
        legacyAlgorithms: false,
        clock: { now: () => Date.now() },
      },
      () => [],
    );
    closers.push(() => store.close());
    store.on('crl-refresh-failed', (e: CrlEvents['crl-refresh-failed']) => failures.push(e));
    await store.ready;
    const overBudget = failures.filter((f) => /in flight would hold more than 1572864 bytes/.test(f.error));
    expect(overBudget).toHaveLength(1);
    // The other two were read to the end (and refused as not a CRL), not cut off.
    const others = failures.filter((f) => !overBudget.includes(f));
    expect(others).toHaveLength(2);
    for (const f of others) expect(f.error).not.toMatch(/within|limit|in flight/);
  });

  it('a declared length is charged before its buffer is allocated (a server that declares and stalls)', async () => {
    // Found in review: the buffer for a declared length was allocated before anything was charged,
    // so servers declaring maxBytes and then stalling held memory the budget did not see.
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(900 * KIB) });
      res.write(Buffer.alloc(KIB, 0x30)); // and never the rest
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      server.closeAllConnections();
      server.close();
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const failures: CrlEvents['crl-refresh-failed'][] = [];
    const store = new CrlStore(
      {
        initial: [],
        sources: [0, 1].map((i) => ({ kind: 'url' as const, location: `${base}/declared/${i}.crl` })),
        refreshIntervalMs: 3_600_000,
        fileCheckIntervalMs: 2_000,
        fetchTimeoutMs: 500,
        maxBytes: 1024 * KIB,
        maxBytesInFlight: 1536 * KIB,
        legacyAlgorithms: false,
        clock: { now: () => Date.now() },
      },
      () => [],
    );
    closers.push(() => store.close());
    store.on('crl-refresh-failed', (e: CrlEvents['crl-refresh-failed']) => failures.push(e));
    await store.ready;
    // Two stalled 900 KiB declarations cannot both be held under a 1.5 MiB budget.
    expect(failures.filter((f) => /in flight would hold more than 1572864 bytes/.test(f.error))).toHaveLength(1);
  });
});
