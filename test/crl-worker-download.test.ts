/**
 * Large CRLs from a URL are downloaded by the CRL worker, not the event loop (issue 10, part 2):
 * a response that declares a large body is dropped unread on the main thread and fetched again in
 * the worker; once a source has delivered a large body, its next requests go to the worker
 * directly (conditional, so an unchanged CRL is a 304). A refresh while the CRL in use is current
 * is paced there. close() aborts the worker's download. (That it charges the same byte budget as
 * the main thread's is test/adversarial/revocation-download-budget.test.ts: its bodies are large.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import { issue, type Made } from './unit/pki.js';
import { bigCrl, serial } from './crl-scale-crl.js';
import { LARGE_CRL_BYTES } from '../src/revocation/crl-header.js';
import { crlWorkerRunning } from '../src/revocation/crl-offthread.js';

/** Entries for a CRL of about 1.4 MB: well over LARGE_CRL_BYTES. */
const ENTRIES = 30_000;

let ca: Made;
let alice: Made;
let bob: Made;
let bobSerial: Buffer;
let first: Buffer;
let second: Buffer;
const verifiers: Verifier[] = [];
const closers: (() => void)[] = [];

beforeAll(async () => {
  ca = await issue({ subject: 'CN=Download CA', ca: true });
  const aliceSerial = serial();
  bobSerial = serial();
  alice = await issue({ subject: 'CN=alice', issuer: ca, serial: aliceSerial.toString('hex') });
  bob = await issue({ subject: 'CN=bob', issuer: ca, serial: bobSerial.toString('hex') });
  first = await bigCrl(ca, ENTRIES, [aliceSerial]);
  second = await bigCrl(ca, ENTRIES, [aliceSerial, bobSerial], undefined, 3);
}, 60_000);

afterAll(() => {
  for (const v of verifiers) v.close();
  for (const close of closers) close();
});

interface Answer {
  /** Whether the whole response was handed to the socket (false: the client dropped it first). */
  finished: boolean;
  conditional: boolean;
}

/** A CRL URL serving `state.body` with an ETag; each response's fate is recorded. */
async function crlServer(state: { body: Buffer; stallAfter?: number }) {
  const answers: Answer[] = [];
  const dropped: Promise<void>[] = [];
  const server = http.createServer((req, res) => {
    const etag = `"${state.body.length}-${state.body.readUInt32BE(state.body.length - 4)}"`;
    const answer: Answer = { finished: false, conditional: req.headers['if-none-match'] === etag };
    answers.push(answer);
    dropped.push(new Promise((resolve) => res.on('close', () => resolve())));
    res.on('finish', () => (answer.finished = true));
    if (answer.conditional) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(state.body.length), etag });
    if (state.stallAfter === undefined) res.end(state.body);
    else res.write(state.body.subarray(0, state.stallAfter)); // and never the rest
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ca.crl`;
  return { url, answers, dropped };
}

function verifierFor(url: string): Verifier {
  const v = createVerifier({ ca: ca.x509.toString('pem'), crl: { urls: [url] } });
  verifiers.push(v);
  return v;
}

const code = async (v: Verifier, who: Made) => {
  const r = await v.verify(Buffer.from(who.x509.rawData));
  return r.ok ? 'accepted' : r.code;
};

describe('a large CRL from a URL', () => {
  it('is over the size the main thread downloads itself', () => {
    expect(first.length).toBeGreaterThan(2 * LARGE_CRL_BYTES);
  });

  it('is dropped unread on the main thread, fetched in the worker, then refreshed there (304, then a new CRL)', async () => {
    const state = { body: first };
    const { url, answers } = await crlServer(state);
    const v = verifierFor(url);
    await v.refreshCrls();
    // The first response declared a large body and was dropped; the worker asked again.
    expect(answers).toEqual([
      { finished: true, conditional: false },
      { finished: true, conditional: false },
    ]);
    expect(crlWorkerRunning()).toBe(true);
    expect(await code(v, alice)).toBe('CERT_REVOKED');
    expect(await code(v, bob)).toBe('accepted');

    // The source delivered a large body: the worker asks again directly, conditionally.
    await v.refreshCrls();
    expect(answers.slice(2)).toEqual([{ finished: true, conditional: true }]);

    // A new CRL (the one in use is current, so this refresh is paced in the worker).
    const loaded: { entries: number; crlNumber?: bigint }[] = [];
    v.on('crl-loaded', (e) => loaded.push(e));
    state.body = second;
    await v.refreshCrls();
    expect(loaded.map((e) => [e.entries, e.crlNumber])).toEqual([[ENTRIES, 3n]]);
    expect(answers.slice(3)).toEqual([{ finished: true, conditional: false }]);
    expect(await code(v, bob)).toBe('CERT_REVOKED');
    expect(await code(v, alice)).toBe('CERT_REVOKED');
  });

  it('close() aborts a download that the worker is waiting on', async () => {
    const { url, answers, dropped } = await crlServer({ body: first, stallAfter: 600 * 1024 });
    const v = verifierFor(url);
    const failures: string[] = [];
    v.on('crl-refresh-failed', (e) => failures.push(e.error));
    const refreshing = v.refreshCrls();
    // Wait until the worker's request (the second) has arrived and is stalled.
    await expect.poll(() => answers.length, { timeout: 10_000, interval: 20 }).toBe(2);
    const closedAt = performance.now();
    v.close();
    await refreshing;
    await Promise.all(dropped);
    // Aborted, not left to the 10 s fetch timeout.
    expect(performance.now() - closedAt).toBeLessThan(5_000);
    expect(failures).toEqual(['aborted: the verifier was closed']);
  });
});
