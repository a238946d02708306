/**
 * One unauthenticated request must not stall the server, over real mTLS on 127.0.0.1: a hostile
 * client presents a fresh leaf plus many same-named "issuers" built to make path building as
 * expensive as possible (bench/hostile-pki.ts: RSA keys with a 3071-bit public exponent, 20 KB
 * of RSA-PSS parameter junk, a tree of valid P-521 signatures). It is refused with 401, the
 * guard's check takes little event-loop time (timed in the server, and the loop's own delay
 * monitor), and a legitimate client's concurrent request is answered. Before the fix the first
 * two shapes stalled the loop for 2 to 7 s per request. Bounds are generous (the goal is 50 ms).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCertGuard } from 'certgate';
import { get, makePki, startHttps, type RunningServer, type TestPki } from '../helpers/clients.js';
import { hostileChain, type HostileShape } from '../../bench/hostile-pki.js';

/** Under the bound even on a loaded 2-core machine; the unguarded code took 2 to 7 s. */
const BOUND_MS = 250;

let dev: TestPki;
let srv: RunningServer;
/** How long each request's guard check took, in the server, by request path. */
const checkMs = new Map<string, number>();

beforeAll(async () => {
  dev = await makePki();
  const guard = clientCertGuard({ ca: dev.ca });
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const o = await guard.check(req);
    checkMs.set(req.url ?? '', performance.now() - started);
    res.statusCode = o.ok ? 200 : o.error.status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(o.ok ? { cn: o.clientCert.certificate.subject.CN } : { code: o.error.code }));
  };
  srv = await startHttps(dev, (req, res) => void handler(req, res));
});
afterAll(() => srv?.close());

const pem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;

/** Shapes that fit OpenSSL's 100 KB limit on a presented chain (max_cert_list). */
const SHAPES: [HostileShape, number, string][] = [
  ['huge-exponent', 70, 'CERT_ALGORITHM_UNSUPPORTED'],
  ['pss-junk', 70, 'CERT_ALGORITHM_UNSUPPORTED'],
  ['p521-tree', 4, 'CERT_UNTRUSTED'],
];

describe('a hostile chain over mTLS is refused without stalling the server', () => {
  for (const [shape, candidates, code] of SHAPES) {
    it(`${shape}: 401 ${code}; guard check < ${BOUND_MS} ms; a concurrent legitimate request gets 200`, async () => {
      const hostile = hostileChain(shape, candidates, new Date());
      const delay = monitorEventLoopDelay({ resolution: 5 });
      for (let i = 0; i < 2; i++) {
        const chain = i === 0 ? hostile.chain : hostile.freshChain();
        const client = {
          cert: Buffer.from(chain.map(pem).join('')),
          key: hostile.leafKey.export({ type: 'pkcs8', format: 'pem' }) as unknown as Buffer,
        };
        delay.enable();
        const [bad, good] = await Promise.all([
          // Security level 0: the client's own OpenSSL would not send a certificate it cannot read the digest of.
          get(srv.port, `/${shape}/${i}`, {
            ca: dev.ca,
            client,
            tls: { ciphers: 'DEFAULT@SECLEVEL=0' },
            giveUpAfterMs: 10_000,
          }),
          get(srv.port, `/alice/${shape}/${i}`, { ca: dev.ca, client: dev.alice, giveUpAfterMs: 10_000 }),
        ]);
        delay.disable();
        expect([bad.status, bad.body.code]).toEqual([401, code]);
        expect([good.status, good.body.cn]).toEqual([200, 'alice']);
        expect(checkMs.get(`/${shape}/${i}`)).toBeLessThan(BOUND_MS);
      }
      // The loop's own clock: no stall of the order the unguarded code caused (OpenSSL's
      // handshake work is in there too).
      expect(delay.max / 1e6).toBeLessThan(BOUND_MS * 2);
    });
  }
});
