/**
 * OCSP over real mTLS against the OpenSSL responder: small requests by GET (RFC 6960 A.1, RFC 5019
 * section 5) with a POST retry, a locally trusted responder certificate (RFC 6960 4.2.2.2 (1)),
 * and an answer refreshed ahead of its end reaching an open keep-alive connection.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { createVerifier, type VerifierEvents, type VerifierOptions } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { accountGetter } from './helpers/ocsp-app.js';
import { OcspPki, type OcspLeaf, type OcspResponder, type ResponderConfig } from './helpers/ocsp-responder.js';
import { pemToDer, removeTempDirs } from './helpers/oracle.js';
import { parseCertificate } from '../src/x509/certificate.js';
import { encodeOcspRequest, OcspProtocolError, parseOcspResponse } from '../src/revocation/ocsp.js';
import { validateOcspResponse } from '../src/revocation/ocsp-validation.js';

let pki: OcspPki;
let localPem: Buffer;

beforeAll(async () => {
  pki = await OcspPki.create();
  localPem = pki.localSigner();
});

afterAll(async () => {
  await pki.close();
  removeTempDirs();
});

async function responder(config: ResponderConfig = {}): Promise<OcspResponder> {
  const r = await pki.responder(config);
  onTestFinished(() => r.close());
  return r;
}

interface Served {
  get(client: OcspLeaf, agent?: https.Agent): Promise<{ status: number; body: any }>;
  of(name: keyof VerifierEvents): any[];
}

/** An Express app on 127.0.0.1 guarded by requireClientCert with these verifier options, closed when the test ends. */
async function serve(options: Partial<VerifierOptions>): Promise<Served> {
  const verifier = createVerifier({ ca: pki.pem('ca'), ...options });
  const events: { name: keyof VerifierEvents; payload: any }[] = [];
  for (const name of ['ocsp-response', 'ocsp-failed'] as const)
    verifier.on(name, (payload) => events.push({ name, payload }));
  const app = express();
  app.get('/account', requireClientCert({ verifier }), (req, res) => void res.json({ user: req.clientCert?.user }));
  const tls = { cert: pki.pem('server'), key: pki.pem('server-key'), requestCert: true, rejectUnauthorized: false };
  const server = https.createServer(tls, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  onTestFinished(async () => {
    verifier.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    of: (name) => events.filter((e) => e.name === name).map((e) => e.payload),
    get: accountGetter(port, pki),
  };
}

const ok = (user: string) => ({ status: 200, body: { user } });

describe('small OCSP requests go by GET (RFC 5019 section 5)', () => {
  it('asks the OpenSSL responder by GET, with or without a trailing slash on the URL', async () => {
    const r = await responder();
    const s = await serve({ ocsp: { urls: [r.url] } });
    expect(await s.get('good')).toEqual(ok('good'));
    expect((await s.get('revoked')).body.code).toBe('CERT_REVOKED');
    expect(r.methods).toEqual(['GET', 'GET']);
    const bare = await responder();
    const t = await serve({ ocsp: { urls: [bare.url.replace(/\/$/, '')] } });
    expect(await t.get('good')).toEqual(ok('good'));
    expect(bare.methods).toEqual(['GET']);
  });

  it('asks again by POST when the responder refuses GET (405), and does not count it as failing', async () => {
    const r = await responder({ get: 'refuse' });
    const s = await serve({ ocsp: { urls: [r.url] } });
    expect(await s.get('good')).toEqual(ok('good'));
    expect(r.methods).toEqual(['GET', 'POST']);
    expect(s.of('ocsp-failed')).toEqual([]);
    expect(s.of('ocsp-response')).toHaveLength(1);
  });
});

describe('a locally trusted OCSP responder certificate (ocsp.responderCertificates)', () => {
  const signedLocally = 'the locally trusted responder "CN=Locally trusted OCSP responder"';

  it('is refused without the option: not the issuer, not issued by it', async () => {
    const s = await serve({ ocsp: { urls: [(await responder({ signer: 'local' })).url] } });
    expect((await s.get('good')).body.code).toBe('REVOCATION_UNKNOWN');
    expect(s.of('ocsp-failed')[0]?.error).toMatch(/signed by neither the issuer nor a responder certificate/);
  });

  it('is believed with the option, for good and revoked; other signers still go by the usual rules', async () => {
    const r = await responder({ signer: 'local' });
    const s = await serve({ ocsp: { urls: [r.url], responderCertificates: localPem } });
    expect(await s.get('good')).toEqual(ok('good'));
    expect((await s.get('revoked')).body.code).toBe('CERT_REVOKED');
    expect(s.of('ocsp-response').map((p) => p.signer)).toEqual([signedLocally, signedLocally]);
    const impostor = await responder({ signer: 'impostor' });
    const t = await serve({ ocsp: { urls: [impostor.url], responderCertificates: [localPem] } });
    expect((await t.get('good')).body.code).toBe('REVOCATION_UNKNOWN');
    // The look-alike CA has the issuer's name: its response is judged as the issuer's, and fails.
    expect(t.of('ocsp-failed')[0]?.error).toMatch(/signature does not verify/);
    const ca = await responder();
    const u = await serve({ ocsp: { urls: [ca.url], responderCertificates: localPem } });
    expect(await u.get('good')).toEqual(ok('good'));
    expect(u.of('ocsp-response')[0]?.signer).toBe('the issuer');
  });

  it('is believed only within its validity period', async () => {
    const r = await responder({ signer: 'local', nextUpdateMinutes: 10 });
    const parse = (pem: Buffer) => parseCertificate(pemToDer(pem));
    const [good, ca, local] = [parse(pki.pem('good')), parse(pki.pem('ca')), parse(localPem)];
    const body = new Uint8Array(encodeOcspRequest(good, ca));
    const res = await fetch(r.url, { method: 'POST', body });
    const response = parseOcspResponse(Buffer.from(await res.arrayBuffer()));
    const stamped = response.responses[0]!.thisUpdate.getTime();
    const ctx = { clockToleranceMs: 0, legacyAlgorithms: false, responderCertificates: [local] };
    expect(validateOcspResponse(response, good, ca, { ...ctx, at: stamped }).status).toBe('good');
    const problemAt = (at: number) => {
      try {
        validateOcspResponse(response, good, ca, { ...ctx, at });
        return 'accepted';
      } catch (err) {
        if (err instanceof OcspProtocolError) return err.problem;
        throw err;
      }
    };
    expect(problemAt(local.notBefore.getTime() - 1000)).toBe('unauthorized-signer');
    // One second past notAfter; the answer's nextUpdate is long past then too, but the signer is judged first.
    expect(problemAt(local.notAfter.getTime() + 1000)).toBe('unauthorized-signer');
    expect(problemAt(local.notAfter.getTime())).toBe('stale');
  });
});

describe('an answer refreshed ahead of its end', () => {
  it('is fetched by its timer while requests get the current answer; a revocation it brings reaches a keep-alive connection', async () => {
    // Only setTimeout is fake, so the refresh timer fires when the test says; sockets run as ever.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    onTestFinished(() => void vi.useRealTimers());
    let letGo!: () => void;
    const second = new Promise<void>((resolve) => (letGo = resolve));
    const r = await responder({ nextUpdateMinutes: 20, holdAnswer: (n) => (n === 1 ? second : undefined) });
    // The wall clock plus a skew the test sets: never behind the seconds OpenSSL stamps.
    const clock = { skewMs: 0, now: () => Date.now() + clock.skewMs };
    const s = await serve({ ocsp: { urls: [r.url], maxAgeMs: 600_000 }, clock });
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    onTestFinished(() => agent.destroy());
    expect(await s.get('good', agent)).toEqual(ok('good'));
    r.revoke('good');
    // 545 s on: the answer (10 minutes: maxAgeMs) is in its last tenth; its refresh timer fires.
    clock.skewMs = 545_000;
    vi.advanceTimersByTime(545_000);
    await vi.waitFor(() => expect(r.requests).toBe(2), { timeout: 10_000 });
    // The responder holds the refresh: requests are answered meanwhile, nobody waits for it.
    expect(await s.get('good', agent)).toEqual(ok('good'));
    expect(await s.get('good')).toEqual(ok('good'));
    expect(s.of('ocsp-response')).toHaveLength(1);
    letGo();
    await vi.waitFor(() => expect(s.of('ocsp-response')).toHaveLength(2), { timeout: 10_000 });
    // The refresh said revoked: the keep-alive connection's next request is refused.
    const reply = await s.get('good', agent);
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('CERT_REVOKED');
    expect(r.requests).toBe(2);
  });
});
