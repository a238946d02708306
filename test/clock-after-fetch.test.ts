/**
 * Issue 8 bug: a distribution point's CRL was fetched, then the path was decided again at the
 * time read BEFORE the fetch. A fetch can take seconds; the decision after it must read the clock
 * after it. The clock here is injected and stepped by the CRL server while it answers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from 'certgate';
import { makeLivePki, type LivePki } from './helpers/live-pki.js';

let server: http.Server;
let pki: LivePki;
let crlBody = '';
let onFetch: () => void = () => undefined;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    onFetch();
    res.end(crlBody);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pki = await makeLivePki(`http://127.0.0.1:${(server.address() as AddressInfo).port}/bob.crl`);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('a decision after an await reads the clock after it', () => {
  it('a certificate that expires while its distribution point CRL is fetched is refused as expired', async () => {
    const notAfter = new Date(new X509Certificate(pki.bob.cert).validTo).getTime();
    let now = notAfter - 2_000; // bob's last seconds of validity
    crlBody = await pki.crl(1, [], { thisUpdate: new Date(now - 60_000), nextUpdate: new Date(now + 86_400_000) });
    // The fetch takes four (simulated) seconds: bob's notAfter passes meanwhile.
    onFetch = () => {
      now += 4_000;
    };
    const verifier = createVerifier({
      ca: pki.rootPem,
      intermediates: pki.intermediatePem,
      crl: { distributionPoints: true },
      clock: { now: () => now },
    });
    try {
      const result = await verifier.verify(pki.bob.cert);
      expect(result).toMatchObject({ ok: false, code: 'CERT_EXPIRED' });
      expect(now).toBe(notAfter + 2_000);
    } finally {
      verifier.close();
    }
  });

  it('the same fetch without the clock passing: accepted, so the refusal above is the clock', async () => {
    const notAfter = new Date(new X509Certificate(pki.bob.cert).validTo).getTime();
    const now = notAfter - 10_000;
    crlBody = await pki.crl(1, [], { thisUpdate: new Date(now - 60_000), nextUpdate: new Date(now + 86_400_000) });
    onFetch = () => undefined;
    const verifier = createVerifier({
      ca: pki.rootPem,
      intermediates: pki.intermediatePem,
      crl: { distributionPoints: true },
      clock: { now: () => now },
    });
    try {
      expect(await verifier.verify(pki.bob.cert)).toMatchObject({ ok: true });
    } finally {
      verifier.close();
    }
  });

  it('a distribution point the store will not fetch is "could not be fetched", final, and soft-failed under allow', async () => {
    const verifier = createVerifier({
      ca: pki.rootPem,
      intermediates: pki.intermediatePem,
      crl: { distributionPoints: true, whenUnavailable: 'allow' },
    });
    const unknown: { detail: string; allowed: boolean }[] = [];
    verifier.on('revocation-unknown', (e) => unknown.push(e));
    // A closed store fetches nothing (as it skips URLs past MAX_DISCOVERED_SOURCES): never "being fetched".
    verifier.close();
    expect(await verifier.verify(pki.bob.cert)).toMatchObject({ ok: true });
    expect(unknown).toEqual([{ detail: expect.stringMatching(/could not be fetched/), allowed: true }]);
  });
});
