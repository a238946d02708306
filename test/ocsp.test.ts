/**
 * OCSP against the OpenSSL responder, over real mTLS: good, revoked, unknown, down, slow,
 * garbage, signed by the wrong key, delegated responders, caching, and how OCSP and CRLs
 * combine. OpenSSL's own OCSP client (`openssl ocsp -url`) judges the same answers as an oracle.
 *
 * One PKI for the file; every test that needs a responder behaving some way makes its own
 * (own port, index, request count), so tests can run in any order. No test depends on where in
 * the current second it runs: answers are judged when they arrive, to the second.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createVerifier, type VerifierEvents, type VerifierOptions } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { main } from '../src/cli/main.js';
import { accountGetter } from './helpers/ocsp-app.js';
import { OcspPki, type OcspLeaf, type OcspResponder, type ResponderConfig } from './helpers/ocsp-responder.js';
import { opensslOk, pemToDer, removeTempDirs, tempDir } from './helpers/oracle.js';
import { parseCertificate, type ParsedCertificate } from '../src/x509/certificate.js';
import { encodeOcspRequest, OcspProtocolError, parseOcspResponse } from '../src/revocation/ocsp.js';
import { MAX_AGE_WITHOUT_NEXT_UPDATE_MS, validateOcspResponse } from '../src/revocation/ocsp-validation.js';
import { OCSP_NO_ANSWER_RECHECK_MS } from '../src/revocation/ocsp-client.js';
import type { Clock } from '../src/time/clock.js';

let pki: OcspPki;

beforeAll(async () => {
  pki = await OcspPki.create();
});

afterAll(async () => {
  await pki.close();
  removeTempDirs();
});

/** A responder for the current test only, closed when it ends. */
async function responder(config: ResponderConfig = {}): Promise<OcspResponder> {
  const r = await pki.responder(config);
  onTestFinished(() => r.close());
  return r;
}

/** Verifier options asking `r` instead of the responder the certificates name. */
const asking = (r: OcspResponder, more: Record<string, unknown> = {}) => ({ ocsp: { urls: [r.url], ...more } });

/**
 * A clock held at `start` (or wherever {@link hold} puts it) until {@link release}, then the wall
 * clock plus a skew: a test moves time on without sleeping, and the clock never runs behind the
 * seconds OpenSSL stamps on answers that arrive after the release.
 */
function heldClock(): Clock & { start: number; hold(at: number): void; release(skewMs: number): void } {
  const start = Date.now();
  let held: number | undefined = start;
  let skew = 0;
  return {
    start,
    now: () => held ?? Date.now() + skew,
    hold: (at: number) => void (held = at),
    release: (skewMs: number) => {
      held = undefined;
      skew = skewMs;
    },
  };
}

interface Served {
  get(client: OcspLeaf | 'noeku', agent?: https.Agent): Promise<{ status: number; body: any }>;
  events: { name: keyof VerifierEvents; payload: any }[];
  of(name: keyof VerifierEvents): any[];
  close(): Promise<void>;
}

const EVENT_NAMES = ['ocsp-response', 'ocsp-failed', 'certificate-revoked', 'revocation-unknown'] as const;

/** An Express app on 127.0.0.1 guarded by requireClientCert with these verifier options, closed when the test ends. */
async function serve(options: Partial<VerifierOptions>): Promise<Served> {
  const verifier = createVerifier({ ca: pki.pem('ca'), ...options });
  const events: Served['events'] = [];
  for (const name of EVENT_NAMES) verifier.on(name, (payload) => events.push({ name, payload }));
  const app = express();
  app.get('/account', requireClientCert({ verifier }), (req, res) => {
    res.json({ user: req.clientCert?.user });
  });
  const tls = { cert: pki.pem('server'), key: pki.pem('server-key'), requestCert: true, rejectUnauthorized: false };
  const server = https.createServer(tls, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    verifier.close();
    server.closeAllConnections();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  onTestFinished(close);
  return {
    events,
    of: (name) => events.filter((e) => e.name === name).map((e) => e.payload),
    get: accountGetter(port, pki),
    close,
  };
}

describe('OCSP with the responder each certificate names (ocsp: true)', () => {
  it('lets a good certificate in, asks once, and answers later connections from the cache', async () => {
    const s = await serve({ ocsp: true });
    expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
    expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
    const responses = s.of('ocsp-response');
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({ url: pki.aia.url, subject: 'CN=good', status: 'good', signer: 'the issuer' });
    // openssl reads the clock once for thisUpdate and again for nextUpdate: a second may pass between.
    const ahead = responses[0].nextUpdate.getTime() - responses[0].thisUpdate.getTime();
    expect(ahead).toBeGreaterThanOrEqual(10 * 60_000);
    expect(ahead).toBeLessThanOrEqual(10 * 60_000 + 1000);
  });

  it('refuses a revoked certificate with 401 CERT_REVOKED', async () => {
    const s = await serve({ ocsp: true });
    const reply = await s.get('revoked');
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('CERT_REVOKED');
    const detail = s.of('certificate-revoked')[0]?.detail;
    expect(detail).toMatch(/CN=revoked.*was revoked at .* \(reason 1\), says the OCSP responder at /);
    expect(detail).toContain(pki.aia.url);
  });

  it('treats "unknown" as no answer: 503 REVOCATION_UNKNOWN, or let through with whenUnavailable allow', async () => {
    const strict = await serve({ ocsp: true });
    const reply = await strict.get('unlisted');
    expect(reply.status).toBe(503);
    expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
    const unknown = { allowed: false, detail: expect.stringMatching(/does not know it/) };
    expect(strict.of('revocation-unknown')[0]).toMatchObject(unknown);
    const lenient = await serve({ ocsp: { whenUnavailable: 'allow' } });
    expect(await lenient.get('unlisted')).toEqual({ status: 200, body: { user: 'unlisted' } });
    expect(lenient.of('revocation-unknown')[0]).toMatchObject({ allowed: true });
  });

  it('refuses a certificate that names no responder, unless ocsp.urls names one', async () => {
    const s = await serve({ ocsp: true });
    const reply = await s.get('noaia');
    expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
    expect(s.of('revocation-unknown')[0]?.detail).toMatch(/names no OCSP responder/);
    expect(s.of('ocsp-response').length + s.of('ocsp-failed').length).toBe(0);
    const r = await responder();
    const configured = await serve(asking(r));
    expect(await configured.get('noaia')).toEqual({ status: 200, body: { user: 'noaia' } });
    expect(r.requests).toBe(1);
  });

  it('configured urls replace the certificate’s own, and are tried in order', async () => {
    const r = await responder();
    const s = await serve({ ocsp: { urls: ['http://127.0.0.1:9/', r.url] } });
    expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
    expect(s.of('ocsp-failed').map((p) => p.url)).toEqual(['http://127.0.0.1:9/']);
    expect(s.of('ocsp-response').map((p) => p.url)).toEqual([r.url]);
    expect(r.requests).toBe(1);
  });
});

describe('OCSP when the responder misbehaves', () => {
  it('refuses with 503 while the responder is down, backs off, and recovers when it is back', async () => {
    const r = await responder();
    await r.down();
    const clock = heldClock();
    const s = await serve({ ...asking(r), clock });
    const reply = await s.get('good');
    expect(reply.status).toBe(503);
    expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
    const refused = { url: r.url, error: expect.stringMatching(/ECONNREFUSED/), retryInMs: 1000 };
    expect(s.of('ocsp-failed')).toEqual([expect.objectContaining(refused)]);
    // Within the backoff, a new connection gets its answer without another attempt.
    await r.up();
    clock.hold(clock.start + 999);
    expect((await s.get('good')).status).toBe(503);
    expect(s.of('ocsp-failed')).toHaveLength(1);
    expect(r.requests).toBe(0);
    clock.release(1000);
    expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
    expect(r.requests).toBe(1);
  });

  it('lets the certificate through a down responder with whenUnavailable allow, and reports it', async () => {
    const r = await responder();
    await r.down();
    const s = await serve(asking(r, { whenUnavailable: 'allow' }));
    expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
    expect(s.events.map((e) => e.name)).toEqual(['ocsp-failed', 'revocation-unknown']);
  });

  it('gives up on a slow responder after timeoutMs', async () => {
    const r = await responder({ mode: 'slow' });
    const s = await serve(asking(r, { timeoutMs: 300 }));
    const started = performance.now();
    const reply = await s.get('good');
    expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
    expect(performance.now() - started).toBeLessThan(3000);
    expect(s.of('ocsp-failed')[0]?.error).toBe('no answer within 300 ms');
  });

  it.each([
    ['garbage', /not a DER OCSPResponse/],
    ['http-error', /HTTP 500/],
  ] as const)('refuses %s as no answer', async (mode, error) => {
    const r = await responder({ mode });
    const s = await serve(asking(r));
    expect((await s.get('good')).body.code).toBe('REVOCATION_UNKNOWN');
    expect(s.of('ocsp-failed')[0]?.error).toMatch(error);
  });

  it('does not believe a response signed by a look-alike CA with another key', async () => {
    const r = await responder({ signer: 'impostor' });
    const s = await serve(asking(r));
    // "revoked" too: a forged "good" must not let it in, and a forged answer of any kind is no answer.
    for (const leaf of ['good', 'revoked'] as const) {
      const reply = await s.get(leaf);
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
    }
    expect(s.of('ocsp-failed')[0]?.error).toMatch(/signature does not verify/);
  });

  it('accepts a delegated responder with id-kp-OCSPSigning, and refuses one without it', async () => {
    const delegated = await serve(asking(await responder({ signer: 'responder' })));
    expect(await delegated.get('good')).toEqual({ status: 200, body: { user: 'good' } });
    expect((await delegated.get('revoked')).body.code).toBe('CERT_REVOKED');
    expect(delegated.of('ocsp-response')[0]?.signer).toBe('"CN=responder"');
    const noEku = await serve(asking(await responder({ signer: 'noeku' })));
    expect((await noEku.get('good')).body.code).toBe('REVOCATION_UNKNOWN');
    expect(noEku.of('ocsp-failed')[0]?.error).toMatch(/neither the issuer nor a responder certificate/);
  });

  it('asks once for many concurrent connections with the same certificate (single flight)', async () => {
    const r = await responder();
    const s = await serve(asking(r));
    const replies = await Promise.all(Array.from({ length: 8 }, () => s.get('good')));
    expect(replies.map((reply) => reply.status)).toEqual(Array(8).fill(200));
    expect(r.requests).toBe(1);
  });
});

describe('a revocation reaches an open keep-alive connection once the answer is due again', () => {
  it('200, then the CA revokes, then 401 CERT_REVOKED on the same connection after maxAgeMs', async () => {
    const r = await responder();
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    onTestFinished(() => agent.destroy());
    const s = await serve(asking(r, { maxAgeMs: 400 }));
    expect((await s.get('good', agent)).status).toBe(200);
    r.revoke('good'); // in this responder's own index
    expect((await s.get('good', agent)).status).toBe(200); // the answer is still current
    // A real wait: the guard keeps a connection's verdict by the wall clock (src/guard/guard.ts).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const reply = await s.get('good', agent);
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('CERT_REVOKED');
    expect(r.requests).toBe(2);
  });
});

describe('CRL and OCSP together', () => {
  /** A CRL from the test CA, made with `openssl ca -gencrl` in a directory of its own, revoking `revoke`. */
  function crlRevoking(revoke: OcspLeaf[]): string {
    const dir = tempDir('certgate-ocsp-crl-');
    const lines = revoke.map((name) => {
      const serial = opensslOk(['x509', '-in', pki.file(`${name}.pem`), '-noout', '-serial'])
        .trim()
        .split('=')[1];
      const revokedAt = new Date(Date.now() - 3600_000).toISOString().replace(/^\d\d|[-T:]|\.\d+/g, '');
      return `R\t301231000000Z\t${revokedAt}\t${serial}\tunknown\t/CN=${name}`;
    });
    writeFileSync(`${dir}/crl-index.txt`, lines.length ? `${lines.join('\n')}\n` : '');
    writeFileSync(`${dir}/crlnumber`, '01\n');
    const ca = `certificate=${pki.file('ca.pem')}\nprivate_key=${pki.file('ca-key.pem')}\n`;
    const files = `database=${dir}/crl-index.txt\ncrlnumber=${dir}/crlnumber\n`;
    const settings = `${files}default_md=sha256\ndefault_crl_days=7\n`;
    writeFileSync(`${dir}/ca.cnf`, `[ca]\ndefault_ca=d\n[d]\n${settings}${ca}`);
    return opensslOk(['ca', '-config', 'ca.cnf', '-gencrl'], dir);
  }

  it('a CRL that lists the leaf refuses it without asking OCSP', async () => {
    const r = await responder();
    const s = await serve({ ...asking(r), crl: crlRevoking(['good']) });
    expect((await s.get('good')).body.code).toBe('CERT_REVOKED');
    expect(r.requests).toBe(0);
  });

  it('OCSP "revoked" wins over a CRL that does not list the leaf (OCSP is fresher)', async () => {
    const r = await responder();
    const s = await serve({ ...asking(r), crl: crlRevoking([]) });
    expect((await s.get('revoked')).body.code).toBe('CERT_REVOKED');
    expect(r.requests).toBe(1);
  });

  it('a current CRL vouches for the leaf when OCSP cannot answer', async () => {
    const s = await serve({ ...asking(await responder({ mode: 'http-error' })), crl: crlRevoking([]) });
    expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
    expect(await s.get('unlisted')).toEqual({ status: 200, body: { user: 'unlisted' } });
  });

  it('a good OCSP answer stands in for a CRL that is required but missing', async () => {
    const s = await serve({ ...asking(await responder()), requireCrl: true });
    expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
    const failing = await responder({ mode: 'http-error' });
    const both = await serve({ ...asking(failing, { whenUnavailable: 'allow' }), requireCrl: true });
    // Neither source can say, and the CRL side rejects by default: the stricter setting wins.
    const reply = await both.get('good');
    expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
    const why = /no OCSP answer .*; and from CRLs: no CRL from "CN=OCSP Test CA" is configured and requireCrl is set/;
    expect(both.of('revocation-unknown')[0]?.detail).toMatch(why);
  });
});

describe('the same answers judged by OpenSSL’s OCSP client (oracle)', () => {
  /**
   * What `openssl ocsp -url` concludes: the status it prints, or 'unverified' when it rejects the
   * signature. Asynchronous: the responder answers from this same process.
   */
  async function opensslOcspVerdict(leaf: OcspLeaf, url: string): Promise<string> {
    const args = ['ocsp', '-issuer', 'ca.pem', '-cert', `${leaf}.pem`, '-url', url, '-CAfile', 'ca.pem', '-no_nonce'];
    const res = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      execFile('openssl', args, { cwd: pki.dir }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
    });
    if (/Response Verify Failure|verify error/i.test(res.stderr + res.stdout)) return 'unverified';
    return /: (good|revoked|unknown)\b/.exec(res.stdout)?.[1] ?? `error: ${res.stderr}`;
  }
  const expectedCode: Record<string, string | undefined> = {
    good: undefined,
    revoked: 'CERT_REVOKED',
    unknown: 'REVOCATION_UNKNOWN',
    unverified: 'REVOCATION_UNKNOWN',
  };

  const signers = ['ca', 'responder', 'noeku', 'impostor'] as const;
  it.each(signers)('agrees on good, revoked and unknown answers signed by %s', async (signer) => {
    const r = await responder({ signer });
    const s = await serve(asking(r));
    for (const leaf of ['good', 'revoked', 'unlisted'] as const) {
      const oracle = await opensslOcspVerdict(leaf, r.url);
      // OpenSSL's client refuses the same signers we refuse, and reads the same statuses.
      const refused = signer === 'noeku' || signer === 'impostor';
      const read = { good: 'good', revoked: 'revoked', unlisted: 'unknown' }[leaf];
      expect(oracle, `openssl on ${leaf}`).toBe(refused ? 'unverified' : read);
      const reply = await s.get(leaf);
      expect(reply.body.code, `${leaf} signed by ${signer}: openssl says ${oracle}`).toBe(expectedCode[oracle]);
    }
  });
});

describe('certgate verify --ocsp', () => {
  async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('asks the responder the certificate names, or the one given with --ocsp-url', async () => {
    const ca = pki.file('ca.pem');
    const good = await cli('verify', pki.file('good.pem'), '--ca', ca, '--ocsp');
    expect(good).toMatchObject({ code: 0, out: expect.stringMatching(/^OK: CN=good/) });
    const revoked = await cli('verify', pki.file('revoked.pem'), '--ca', ca, '--ocsp');
    const says = /^REJECTED CERT_REVOKED: .*says the OCSP responder at/;
    expect(revoked).toMatchObject({ code: 1, out: expect.stringMatching(says) });
    const noaia = await cli('verify', pki.file('noaia.pem'), '--ca', ca, '--ocsp');
    expect(noaia).toMatchObject({ code: 1, out: expect.stringMatching(/REVOCATION_UNKNOWN.*names no OCSP responder/) });
    const r = await responder();
    expect(await cli('verify', pki.file('noaia.pem'), '--ca', ca, '--ocsp-url', r.url)).toMatchObject({ code: 0 });
    expect(r.requests).toBe(1);
    const ftp = await cli('verify', pki.file('good.pem'), '--ca', ca, '--ocsp-url', 'ftp://127.0.0.1/');
    const notHttp = /--ocsp-url holds "ftp:\/\/127\.0\.0\.1\/", which is not an http: or https: URL/;
    expect(ftp).toMatchObject({ code: 2, err: expect.stringMatching(notHttp) });
  });
});

describe('OCSP responses judged one by one (real OpenSSL responses, hostile variations)', () => {
  const parse = (name: string) => parseCertificate(pemToDer(pki.pem(name)));
  async function askFor(leaf: OcspLeaf, config: ResponderConfig = {}): Promise<Buffer> {
    const r = await responder(config);
    const body = new Uint8Array(encodeOcspRequest(parse(leaf), parse('ca')));
    const res = await fetch(r.url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body });
    return Buffer.from(await res.arrayBuffer());
  }
  const ctx = (at: number) => ({ at, clockToleranceMs: 0, legacyAlgorithms: false });
  /** What an OcspProtocolError says is wrong, or 'accepted'. */
  const problemOf = (fn: () => unknown): string => {
    try {
      fn();
      return 'accepted';
    } catch (err) {
      if (err instanceof OcspProtocolError) return err.problem;
      throw err;
    }
  };

  it('checks CertID, thisUpdate and nextUpdate', async () => {
    const response = parseOcspResponse(await askFor('good', { nextUpdateMinutes: 10 }));
    const [good, revoked, ca] = [parse('good'), parse('revoked'), parse('ca')];
    // Times relative to the answer's own thisUpdate and nextUpdate (whole seconds), not to the wall clock.
    const stamped = response.responses[0]!.thisUpdate.getTime();
    const judge =
      (cert: typeof good, at: number, r = response) =>
      () =>
        validateOcspResponse(r, cert, ca, ctx(at));
    expect(judge(good, stamped)()).toMatchObject({ status: 'good', signer: 'the issuer' });
    expect(problemOf(judge(revoked, stamped))).toBe('no-match');
    const due = response.responses[0]!.nextUpdate!.getTime();
    expect(problemOf(judge(good, due + 999))).toBe('accepted');
    expect(problemOf(judge(good, due + 1000))).toBe('stale');
    expect(problemOf(judge(good, stamped - 1))).toBe('not-yet-valid');
    const timeless = parseOcspResponse(await askFor('good'));
    const produced = timeless.responses[0]!.thisUpdate.getTime();
    expect(problemOf(judge(good, produced + MAX_AGE_WITHOUT_NEXT_UPDATE_MS, timeless))).toBe('accepted');
    expect(problemOf(judge(good, produced + MAX_AGE_WITHOUT_NEXT_UPDATE_MS + 1000, timeless))).toBe('stale');
  });

  it('names the responder status when the answer is not "successful"', () => {
    // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED tryLater (3) }
    expect(() => parseOcspResponse(Buffer.from('30030a0103', 'hex'))).toThrow(/the responder answered tryLater/);
    expect(() => parseOcspResponse(Buffer.from('30030a0106', 'hex'))).toThrow(/the responder answered unauthorized/);
    expect(problemOf(() => parseOcspResponse(Buffer.from('30030a0103', 'hex')))).toBe('responder-status');
  });

  it('survives 3,000 mutated responses: only OcspProtocolError, nothing but the genuine answer believed', async () => {
    const der = await askFor('revoked', { signer: 'responder', nextUpdateMinutes: 10 });
    const [revoked, ca] = [parse('revoked'), parse('ca')];
    const at = parseOcspResponse(der).responses[0]!.thisUpdate.getTime();
    const genuine = validateOcspResponse(parseOcspResponse(der), revoked, ca, ctx(at));
    expect(genuine.status).toBe('revoked');
    let seed = 0x2545f491;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
    let believed = 0;
    for (let i = 0; i < 3000; i++) {
      const mutated = Buffer.from(der);
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const pos = Math.floor(random() * mutated.length);
        const flipped = (mutated[pos] as number) ^ (1 << Math.floor(random() * 8));
        mutated[pos] = random() < 0.5 ? Math.floor(random() * 256) : flipped;
      }
      const input = random() < 0.1 ? mutated.subarray(0, Math.floor(random() * mutated.length)) : mutated;
      try {
        const verdict = validateOcspResponse(parseOcspResponse(input), revoked, ca, ctx(at));
        // Only edits outside the signed part (the attached certificate's unsigned wrapper, say) may pass.
        expect(verdict).toEqual(genuine);
        believed++;
      } catch (err) {
        expect(err, `mutation ${i}`).toBeInstanceOf(OcspProtocolError);
      }
    }
    expect(believed).toBeLessThan(3000);
    // CPU-bound (3,000 parses and signature checks): 7 s alone, 35 s seen under 2 busy processes
    // and other work on 2 cores, so over the 30 s default; the limit is for hangs, not for speed.
  }, 120_000);
});

describe('ocsp options are checked at startup', () => {
  it.each([
    ['yes', /option 'ocsp' must be true, false or \{ urls, timeoutMs, .*, responderCertificates \}, got a string/],
    [{ url: 'http://x/' }, /unknown option 'ocsp.url' \(known: urls, timeoutMs, maxAgeMs, whenUnavailable, respo/],
    [{ responderCertificates: 42 }, /option 'ocsp.responderCertificates' must be PEM text, a DER Buffer, or an arr/],
    [{ responderCertificates: 'not pem' }, /option 'ocsp.responderCertificates' is unusable: /],
    [{ responderCertificates: [] }, /option 'ocsp.responderCertificates' holds no certificate/],
    [{ urls: ['ldap://x/'] }, /option 'ocsp.urls' holds "ldap:\/\/x\/", which is not an http: or https: URL/],
    [{ timeoutMs: 0 }, /option 'ocsp.timeoutMs' must be a positive number of milliseconds, got 0/],
    [{ whenUnavailable: 'maybe' }, /option 'ocsp.whenUnavailable' must be 'reject' or 'allow', got "maybe"/],
  ])('refuses ocsp: %j', (ocsp, message) => {
    const make = () => createVerifier({ ca: pki.pem('ca'), ocsp: ocsp as never });
    expect(make).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }));
  });
});

describe('OCSP answers are relied on no longer than they say, and only for what they concern', () => {
  const chain = (leaf: OcspLeaf) => [pki.pem(leaf)];
  function verifierFor(options: Partial<VerifierOptions>) {
    const verifier = createVerifier({ ca: pki.pem('ca'), ...options });
    onTestFinished(() => verifier.close());
    return verifier;
  }

  it('a listener that throws does not change a verdict', async () => {
    const r = await responder();
    const verifier = verifierFor(asking(r, { whenUnavailable: 'allow' }));
    verifier.on('ocsp-response', () => {
      throw new Error('logging bug');
    });
    expect(await verifier.verify(chain('revoked'))).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
    expect(await verifier.verify(chain('good'))).toMatchObject({ ok: true });
    expect(r.requests).toBe(2);
  });

  it('a bad answer about one certificate does not stop the responder being asked about others', async () => {
    // The first answer is forged (signed by the impostor), the next ones genuine.
    const r = await responder({ signer: ['impostor', 'ca'] });
    const verifier = verifierFor(asking(r));
    expect(await verifier.verify(chain('good'))).toMatchObject({ ok: false, code: 'REVOCATION_UNKNOWN' });
    expect(await verifier.verify(chain('revoked'))).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
    expect(r.requests).toBe(2);
  });

  it('an answer without nextUpdate is used 5 minutes at most, whatever maxAgeMs; "unknown" 30 s', async () => {
    const r = await responder();
    const verifier = verifierFor(asking(r, { maxAgeMs: 3_600_000, whenUnavailable: 'allow' }));
    let thisUpdate = 0;
    verifier.on('ocsp-response', (p) => void (thisUpdate = p.thisUpdate.getTime()));
    const good = await verifier.verify(chain('good'));
    if (!good.ok) throw new Error(good.detail);
    // Through the whole second MAX_AGE_WITHOUT_NEXT_UPDATE_MS after thisUpdate, no further.
    expect(good.expiresAt.getTime()).toBe(thisUpdate + MAX_AGE_WITHOUT_NEXT_UPDATE_MS + 1000);
    const unknown = await verifier.verify(chain('unlisted'));
    const after = Date.now();
    if (!unknown.ok) throw new Error(unknown.detail);
    expect(unknown.expiresAt.getTime()).toBeLessThanOrEqual(after + OCSP_NO_ANSWER_RECHECK_MS);
  });

  it('verify({ at }) needs an answer current at that instant, and does not use the cache', async () => {
    const r = await responder({ nextUpdateMinutes: 10 });
    const verifier = verifierFor(asking(r));
    const now = await verifier.verify(chain('good'));
    if (!now.ok) throw new Error(now.detail);
    const later = await verifier.verify(chain('good'), { at: new Date(Date.now() + 2 * 86_400_000) });
    // Both refusals are REVOCATION_UNKNOWN: the detail tells stale from early.
    expect(later).toMatchObject({ ok: false, code: 'REVOCATION_UNKNOWN', detail: expect.stringMatching(/is stale/) });
    // The certificate's first second: valid, but before the responder produced its answer
    // (OcspPki.create waits out that second before any answer is made).
    const earlier = await verifier.verify(chain('good'), { at: now.certificate.notBefore });
    const early = { ok: false, code: 'REVOCATION_UNKNOWN', detail: expect.stringMatching(/not yet valid/) };
    expect(earlier).toMatchObject(early);
    // A signed revocation is a revocation whenever it was stamped.
    const revokedFrom = parseCertificate(pemToDer(pki.pem('revoked'))).notBefore;
    const revoked = await verifier.verify(chain('revoked'), { at: revokedFrom });
    expect(revoked).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
    expect(r.requests).toBe(4);
  });
});

describe('the test OCSP responder', () => {
  it('runs openssl once per distinct question and signer, counts every request, and forgets on revoke', async () => {
    const r = await responder();
    const parse = (name: string): ParsedCertificate => parseCertificate(pemToDer(pki.pem(name)));
    const body = new Uint8Array(encodeOcspRequest(parse('good'), parse('ca')));
    const ask = async (url = r.url) => {
      const res = await fetch(url, { method: 'POST', body });
      return parseOcspResponse(Buffer.from(await res.arrayBuffer()));
    };
    const first = await ask();
    expect((await ask()).tbs).toEqual(first.tbs);
    expect([r.requests, r.opensslRuns]).toEqual([2, 1]);
    r.revoke('good');
    expect((await ask()).responses[0]?.status).toBe('revoked');
    expect([r.requests, r.opensslRuns]).toEqual([3, 2]);
    // Another responder has its own index: the revocation above is not seen there.
    const other = await responder();
    expect((await ask(other.url)).responses[0]?.status).toBe('good');
  });
});
