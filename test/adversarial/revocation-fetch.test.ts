/**
 * The one HTTP client of revocation (src/revocation/http-fetch.ts), against local servers:
 * - redirects: followed at most MAX_REDIRECTS hops, same scheme only, for CRLs and OCSP alike; an
 *   OCSP POST behind a redirect is answered (it failed with "detached ArrayBuffer" and counted as
 *   a responder outage);
 * - `certgate crl <url>` stops a chunked body as soon as it passes the cap, with a clear error.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCrl } from '../../src/cli/crl.js';
import { UsageError } from '../../src/cli/io.js';
import { fetchBounded, MAX_REDIRECTS } from '../../src/revocation/http-fetch.js';
import { OcspClient } from '../../src/revocation/ocsp-client.js';
import { makeInProcessOcspPki, serveOcsp, type InProcessOcspPki } from '../helpers/ocsp-responder.js';

const DAY = 86_400_000;
const S = Date.UTC(2031, 4, 17, 10, 20, 30);

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** An HTTP server on 127.0.0.1 whose handler gets the request count; closed after the test. */
async function listen(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
  let requests = 0;
  const server = http.createServer((req, res) => handler(req, res, ++requests));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
  };
}

const redirect = (res: http.ServerResponse, status: number, location: string) => {
  res.writeHead(status, { location });
  res.end();
};

describe('redirects', () => {
  it(`follows up to ${MAX_REDIRECTS} redirects on the same scheme`, async () => {
    const target = await listen((_req, res) => res.end('the CRL'));
    let hops = 0;
    const front = await listen((req, res) => {
      hops++;
      const n = Number(req.url?.slice(1));
      redirect(res, 302, n + 1 < MAX_REDIRECTS ? `/${n + 1}` : `${target.url}/crl`);
    });
    const r = await fetchBounded(`${front.url}/0`, { timeoutMs: 5_000, maxBytes: 1_000 });
    expect([r.status, r.bytes.toString(), hops]).toEqual([200, 'the CRL', MAX_REDIRECTS]);
  });

  it(`refuses a chain of more than ${MAX_REDIRECTS} redirects, and stops asking`, async () => {
    const loop = await listen((req, res) => redirect(res, 301, `/${Number(req.url?.slice(1)) + 1}`));
    await expect(fetchBounded(`${loop.url}/0`, { timeoutMs: 5_000, maxBytes: 1_000 })).rejects.toThrow(
      new RegExp(`more than ${MAX_REDIRECTS} redirects`),
    );
    expect(loop.requests).toBe(MAX_REDIRECTS + 1);
  });

  it('never follows a redirect to another scheme', async () => {
    for (const location of ['https://127.0.0.1:9/crl', 'file:///etc/passwd', 'data:,x']) {
      const front = await listen((_req, res) => redirect(res, 307, location));
      await expect(fetchBounded(front.url, { timeoutMs: 5_000, maxBytes: 1_000 })).rejects.toThrow(
        /redirect .* refused: only http: redirects are followed/,
      );
    }
  });
});

describe('bodies with a declared length', () => {
  it('read into one buffer; a gzip body longer than its (compressed) length is read in full', async () => {
    const plain = Buffer.alloc(200_000, 0x41);
    const server = await listen((req, res) => {
      if (req.url === '/gzip') {
        const packed = gzipSync(plain);
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': packed.length });
        return void res.end(packed);
      }
      res.writeHead(200, { 'content-length': plain.length });
      res.end(plain);
    });
    for (const path of ['/plain', '/gzip']) {
      const r = await fetchBounded(`${server.url}${path}`, { timeoutMs: 5_000, maxBytes: 300_000 });
      expect(r.bytes.equals(plain)).toBe(true);
    }
  });
});

describe('OCSP behind a redirect', () => {
  let pki: InProcessOcspPki;
  beforeAll(async () => {
    pki = await makeInProcessOcspPki({ notBefore: new Date(S - 30 * DAY), notAfter: new Date(S + 30 * DAY) });
  });

  it.each([307, 308])('a POST redirected with %i is answered, not counted as an outage', async (status) => {
    const answer = pki.answer({ status: 'good', thisUpdate: new Date(S), nextUpdate: new Date(S + 3_600_000) });
    // GET refused: the question goes by POST (as it would over 255 encoded bytes), whose body must survive the hop.
    const responder = await serveOcsp((_request, method) => (method === 'GET' ? 405 : answer));
    closers.push(() => responder.close());
    const front = await listen((_req, res) => redirect(res, status, responder.url));
    const failures: string[] = [];
    const client = new OcspClient(
      {
        urls: [front.url],
        timeoutMs: 5_000,
        maxAgeMs: 300_000,
        clockToleranceMs: 0,
        legacyAlgorithms: false,
        cacheSize: 16,
        clock: { now: () => S + 50 },
      },
      (name, payload) => void (name === 'ocsp-failed' && failures.push((payload as { error: string }).error)),
    );
    try {
      expect((await client.query(pki.leaf, pki.ca)).status).toBe('good');
      expect(failures).toEqual([]);
      expect(responder.methods).toEqual(['GET', 'POST']);
    } finally {
      client.close();
    }
  });
});

describe('certgate crl <url>', () => {
  it('stops reading a chunked body as soon as it passes the cap, with a clear error', async () => {
    const cap = 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x30);
    let sent = 0;
    let closed!: (finished: boolean) => void;
    const connectionClosed = new Promise<boolean>((resolve) => (closed = resolve));
    const server = await listen((_req, res) => {
      res.on('close', () => closed(res.writableFinished));
      // Chunked (no content-length), endless until the client goes away: at most 256 MiB here.
      const pump = () => {
        while (!res.destroyed && sent < 256 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const io = { out: () => undefined, err: () => undefined };
    const run = runCrl([`${server.url}/huge.crl`], io, { maxBytes: cap, timeoutMs: 10_000 });
    await expect(run).rejects.toBeInstanceOf(UsageError);
    await expect(run).rejects.toThrow(`over the ${cap}-byte limit`);
    // The client dropped the connection before the body ended: what was sent is the cap plus
    // what sat in socket buffers, not the 256 MiB the server would have sent.
    expect(await connectionClosed).toBe(false);
    expect(sent).toBeLessThan(cap * 16);
  });
});
