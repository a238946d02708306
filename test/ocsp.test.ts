/**
 * OCSP against the OpenSSL responder, over real mTLS: good, revoked, unknown, down, slow,
 * garbage, signed by the wrong key, delegated responders, caching, and how OCSP and CRLs
 * combine. OpenSSL's own OCSP client (`openssl ocsp -url`) judges the same answers as an oracle.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type VerifierEvents, type VerifierOptions } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { main } from '../src/cli/main.js';
import { OpensslOcspResponder, type OcspLeaf } from './helpers/ocsp-responder.js';
import { opensslOk, pemToDer, removeTempDirs } from './helpers/oracle.js';
import { parseCertificate } from '../src/x509/certificate.js';
import { encodeOcspRequest, OcspProtocolError, parseOcspResponse } from '../src/revocation/ocsp.js';
import { validateOcspResponse } from '../src/revocation/ocsp-validation.js';

let responder: OpensslOcspResponder;

beforeAll(async () => {
  responder = new OpensslOcspResponder();
  await responder.start();
});

afterAll(async () => {
  await responder.close();
  removeTempDirs();
});

interface Served {
  get(client: OcspLeaf | 'noeku', agent?: https.Agent): Promise<{ status: number; body: any }>;
  events: { name: keyof VerifierEvents; payload: any }[];
  close(): Promise<void>;
}

const EVENT_NAMES = ['ocsp-response', 'ocsp-failed', 'certificate-revoked', 'revocation-unknown'] as const;

/** An Express app on 127.0.0.1 guarded by requireClientCert with these verifier options. */
async function serve(options: Partial<VerifierOptions>): Promise<Served> {
  const verifier = createVerifier({ ca: responder.pem('ca'), ...options });
  const events: Served['events'] = [];
  for (const name of EVENT_NAMES) verifier.on(name, (payload) => events.push({ name, payload }));
  const app = express();
  app.get('/account', requireClientCert({ verifier }), (req, res) => {
    res.json({ user: req.clientCert?.user });
  });
  const server = https.createServer({ cert: responder.pem('server'), key: responder.pem('server-key'), requestCert: true, rejectUnauthorized: false }, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    events,
    get: (client, agent) =>
      new Promise((resolve, reject) => {
        const { cert, key } = responder.client(client);
        const req = https.request({ host: '127.0.0.1', port, path: '/account', servername: 'localhost', ca: responder.pem('ca'), cert, key, agent: agent ?? false }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end();
      }),
    close: async () => {
      verifier.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resets the responder between tests. */
function responderAs(settings: Partial<Pick<OpensslOcspResponder, 'mode' | 'signer' | 'nextUpdateMinutes'>>): void {
  responder.mode = settings.mode ?? 'openssl';
  responder.signer = settings.signer ?? 'ca';
  responder.nextUpdateMinutes = settings.nextUpdateMinutes;
  responder.requests = 0;
}

async function scenario(options: Partial<VerifierOptions>, body: (s: Served) => Promise<void>): Promise<void> {
  const s = await serve(options);
  try {
    await body(s);
  } finally {
    await s.close();
  }
}

describe('OCSP with the responder each certificate names (ocsp: true)', () => {
  it('lets a good certificate in, asks once, and answers later connections from the cache', async () => {
    responderAs({ nextUpdateMinutes: 10 });
    await scenario({ ocsp: true }, async (s) => {
      expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
      expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
      expect(responder.requests).toBe(1);
      const response = s.events.find((e) => e.name === 'ocsp-response')?.payload;
      expect(response).toMatchObject({ url: responder.url, subject: 'CN=good', status: 'good', signer: 'the issuer' });
      expect(response.nextUpdate.getTime()).toBeGreaterThan(Date.now() + 9 * 60_000);
    });
  });

  it('refuses a revoked certificate with 401 CERT_REVOKED', async () => {
    responderAs({});
    await scenario({ ocsp: true }, async (s) => {
      const reply = await s.get('revoked');
      expect(reply.status).toBe(401);
      expect(reply.body.code).toBe('CERT_REVOKED');
      const revoked = s.events.find((e) => e.name === 'certificate-revoked')?.payload;
      expect(revoked.detail).toMatch(/CN=revoked.*was revoked at .* \(reason 1\), says the OCSP responder at http:\/\/127\.0\.0\.1/);
    });
  });

  it('treats "unknown" as no answer: 503 REVOCATION_UNKNOWN, or let through with whenUnavailable allow', async () => {
    responderAs({});
    await scenario({ ocsp: true }, async (s) => {
      const reply = await s.get('unlisted');
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
      expect(s.events.find((e) => e.name === 'revocation-unknown')?.payload).toMatchObject({ allowed: false, detail: expect.stringMatching(/does not know it/) });
    });
    await scenario({ ocsp: { whenUnavailable: 'allow' } }, async (s) => {
      expect(await s.get('unlisted')).toEqual({ status: 200, body: { user: 'unlisted' } });
      expect(s.events.find((e) => e.name === 'revocation-unknown')?.payload).toMatchObject({ allowed: true });
    });
  });

  it('refuses with 503 while the responder is down, backs off, and recovers when it is back', async () => {
    responderAs({});
    await responder.down();
    try {
      await scenario({ ocsp: true }, async (s) => {
        const reply = await s.get('good');
        expect(reply.status).toBe(503);
        expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
        const failed = s.events.filter((e) => e.name === 'ocsp-failed').map((e) => e.payload);
        expect(failed).toEqual([expect.objectContaining({ url: responder.url, error: expect.stringMatching(/ECONNREFUSED/), retryInMs: 1000 })]);
        // Within the backoff, a new connection gets its answer without another attempt.
        expect((await s.get('good')).status).toBe(503);
        expect(s.events.filter((e) => e.name === 'ocsp-failed')).toHaveLength(1);
        await responder.up();
        await new Promise((r) => setTimeout(r, 1100));
        expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
      });
    } finally {
      if (!(responder as unknown as { server: { listening: boolean } }).server.listening) await responder.up();
    }
  });

  it('lets the certificate through a down responder with whenUnavailable allow, and reports it', async () => {
    responderAs({});
    await responder.down();
    try {
      await scenario({ ocsp: { whenUnavailable: 'allow' } }, async (s) => {
        expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
        expect(s.events.map((e) => e.name)).toEqual(['ocsp-failed', 'revocation-unknown']);
      });
    } finally {
      await responder.up();
    }
  });

  it('gives up on a slow responder after timeoutMs', async () => {
    responderAs({ mode: 'slow' });
    await scenario({ ocsp: { timeoutMs: 300 } }, async (s) => {
      const started = Date.now();
      const reply = await s.get('good');
      expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
      expect(Date.now() - started).toBeLessThan(3000);
      expect(s.events.find((e) => e.name === 'ocsp-failed')?.payload.error).toBe('no answer within 300 ms');
    });
  });

  it('refuses garbage and HTTP errors as no answer', async () => {
    for (const [mode, error] of [
      ['garbage', /not a DER OCSPResponse/],
      ['http-error', /HTTP 500/],
    ] as const) {
      responderAs({ mode });
      await scenario({ ocsp: true }, async (s) => {
        expect((await s.get('good')).body.code).toBe('REVOCATION_UNKNOWN');
        expect(s.events.find((e) => e.name === 'ocsp-failed')?.payload.error).toMatch(error);
      });
    }
  });

  it('does not believe a response signed by a look-alike CA with another key', async () => {
    responderAs({ signer: 'impostor' });
    await scenario({ ocsp: true }, async (s) => {
      // "revoked" too: a forged "good" must not let it in, and a forged answer of any kind is no answer.
      for (const leaf of ['good', 'revoked'] as const) {
        const reply = await s.get(leaf);
        expect(reply.status).toBe(503);
        expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
      }
      expect(s.events.find((e) => e.name === 'ocsp-failed')?.payload.error).toMatch(/signature does not verify/);
    });
  });

  it('accepts a delegated responder with id-kp-OCSPSigning, and refuses one without it', async () => {
    responderAs({ signer: 'responder' });
    await scenario({ ocsp: true }, async (s) => {
      expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
      expect((await s.get('revoked')).body.code).toBe('CERT_REVOKED');
      expect(s.events.find((e) => e.name === 'ocsp-response')?.payload.signer).toBe('"CN=responder"');
    });
    responderAs({ signer: 'noeku' });
    await scenario({ ocsp: true }, async (s) => {
      expect((await s.get('good')).body.code).toBe('REVOCATION_UNKNOWN');
      expect(s.events.find((e) => e.name === 'ocsp-failed')?.payload.error).toMatch(/neither the issuer nor a responder certificate/);
    });
  });

  it('asks once for many concurrent connections with the same certificate (single flight)', async () => {
    responderAs({});
    await scenario({ ocsp: true }, async (s) => {
      const replies = await Promise.all(Array.from({ length: 8 }, () => s.get('good')));
      expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(responder.requests).toBe(1);
    });
  });

  it('refuses a certificate that names no responder, unless ocsp.urls names one', async () => {
    responderAs({});
    await scenario({ ocsp: true }, async (s) => {
      const reply = await s.get('noaia');
      expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
      expect(s.events.find((e) => e.name === 'revocation-unknown')?.payload.detail).toMatch(/names no OCSP responder/);
      expect(responder.requests).toBe(0);
    });
    await scenario({ ocsp: { urls: [responder.url] } }, async (s) => {
      expect(await s.get('noaia')).toEqual({ status: 200, body: { user: 'noaia' } });
    });
  });

  it('configured urls replace the certificate’s own, and are tried in order', async () => {
    responderAs({});
    await scenario({ ocsp: { urls: ['http://127.0.0.1:9/', responder.url] } }, async (s) => {
      expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
      expect(s.events.filter((e) => e.name === 'ocsp-failed').map((e) => e.payload.url)).toEqual(['http://127.0.0.1:9/']);
    });
  });
});

describe('a revocation reaches an open keep-alive connection once the answer is due again', () => {
  it('200, then the CA revokes, then 401 CERT_REVOKED on the same connection after maxAgeMs', async () => {
    responderAs({});
    // A separate leaf would be cleaner, but the responder's index is the CA's state: restore it after.
    const index = responder.file('index.txt');
    const before = readFileSync(index);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await scenario({ ocsp: { maxAgeMs: 400 } }, async (s) => {
        expect((await s.get('good', agent)).status).toBe(200);
        responder.revoke('good');
        expect((await s.get('good', agent)).status).toBe(200); // the answer is still current
        await new Promise((r) => setTimeout(r, 500));
        const reply = await s.get('good', agent);
        expect(reply.status).toBe(401);
        expect(reply.body.code).toBe('CERT_REVOKED');
        expect(responder.requests).toBe(2);
      });
    } finally {
      agent.destroy();
      writeFileSync(index, before);
    }
  });
});

describe('CRL and OCSP together', () => {
  /** A CRL from the test CA, made with `openssl ca -gencrl`, revoking `revoke`. */
  function crlRevoking(revoke: OcspLeaf[]): string {
    const dir = responder.dir;
    const lines = revoke.map((name) => {
      const serial = opensslOk(['x509', '-in', `${name}.pem`, '-noout', '-serial'], dir).trim().split('=')[1];
      return `R\t301231000000Z\t${new Date(Date.now() - 3600_000).toISOString().replace(/^\d\d|[-T:]|\.\d+/g, '')}\t${serial}\tunknown\t/CN=${name}`;
    });
    writeFileSync(`${dir}/crl-index.txt`, lines.length ? `${lines.join('\n')}\n` : '');
    writeFileSync(`${dir}/crlnumber`, '01\n');
    writeFileSync(
      `${dir}/ca.cnf`,
      `[ca]\ndefault_ca=d\n[d]\ndatabase=${dir}/crl-index.txt\ncrlnumber=${dir}/crlnumber\ndefault_md=sha256\ndefault_crl_days=7\ncertificate=${dir}/ca.pem\nprivate_key=${dir}/ca-key.pem\n`,
    );
    return opensslOk(['ca', '-config', 'ca.cnf', '-gencrl'], dir);
  }

  it('a CRL that lists the leaf refuses it without asking OCSP', async () => {
    responderAs({});
    await scenario({ ocsp: true, crl: crlRevoking(['good']) }, async (s) => {
      expect((await s.get('good')).body.code).toBe('CERT_REVOKED');
      expect(responder.requests).toBe(0);
    });
  });

  it('OCSP "revoked" wins over a CRL that does not list the leaf (OCSP is fresher)', async () => {
    responderAs({});
    await scenario({ ocsp: true, crl: crlRevoking([]) }, async (s) => {
      expect((await s.get('revoked')).body.code).toBe('CERT_REVOKED');
    });
  });

  it('a current CRL vouches for the leaf when OCSP cannot answer', async () => {
    responderAs({ mode: 'http-error' });
    await scenario({ ocsp: true, crl: crlRevoking([]) }, async (s) => {
      expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
      expect(await s.get('unlisted')).toEqual({ status: 200, body: { user: 'unlisted' } });
    });
  });

  it('a good OCSP answer stands in for a CRL that is required but missing', async () => {
    responderAs({});
    await scenario({ ocsp: true, requireCrl: true }, async (s) => {
      expect(await s.get('good')).toEqual({ status: 200, body: { user: 'good' } });
    });
    responderAs({ mode: 'http-error' });
    await scenario({ ocsp: { whenUnavailable: 'allow' }, requireCrl: true }, async (s) => {
      // Neither source can say, and the CRL side rejects by default: the stricter setting wins.
      const reply = await s.get('good');
      expect(reply.body.code).toBe('REVOCATION_UNKNOWN');
      expect(s.events.find((e) => e.name === 'revocation-unknown')?.payload.detail).toMatch(/no OCSP answer .*; and from CRLs: no CRL from "CN=OCSP Test CA" is configured and requireCrl is set/);
    });
  });
});

describe('the same answers judged by OpenSSL’s OCSP client (oracle)', () => {
  /**
   * What `openssl ocsp -url` concludes: the status it prints, or 'unverified' when it rejects the
   * signature. Asynchronous: the responder answers from this same process.
   */
  async function opensslOcspVerdict(leaf: OcspLeaf): Promise<string> {
    const res = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      execFile('openssl', ['ocsp', '-issuer', 'ca.pem', '-cert', `${leaf}.pem`, '-url', responder.url, '-CAfile', 'ca.pem', '-no_nonce'], { cwd: responder.dir }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
    });
    if (/Response Verify Failure|verify error/i.test(res.stderr + res.stdout)) return 'unverified';
    return /: (good|revoked|unknown)\b/.exec(res.stdout)?.[1] ?? `error: ${res.stderr}`;
  }
  const expectedCode: Record<string, string | undefined> = { good: undefined, revoked: 'CERT_REVOKED', unknown: 'REVOCATION_UNKNOWN', unverified: 'REVOCATION_UNKNOWN' };

  for (const signer of ['ca', 'responder', 'noeku', 'impostor'] as const) {
    it(`agrees on good, revoked and unknown answers signed by ${signer}`, async () => {
      for (const leaf of ['good', 'revoked', 'unlisted'] as const) {
        responderAs({ signer });
        const oracle = await opensslOcspVerdict(leaf);
        // OpenSSL's client refuses the same signers we refuse, and reads the same statuses.
        expect(oracle, `openssl on ${leaf}`).toBe(signer === 'noeku' || signer === 'impostor' ? 'unverified' : { good: 'good', revoked: 'revoked', unlisted: 'unknown' }[leaf]);
        await scenario({ ocsp: true }, async (s) => {
          const reply = await s.get(leaf);
          expect(reply.body.code, `${leaf} signed by ${signer}: openssl says ${oracle}`).toBe(expectedCode[oracle]);
        });
      }
    });
  }
});

describe('certgate verify --ocsp', () => {
  async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('asks the responder the certificate names, or the one given with --ocsp-url', async () => {
    responderAs({});
    const ca = responder.file('ca.pem');
    expect(await cli('verify', responder.file('good.pem'), '--ca', ca, '--ocsp')).toMatchObject({ code: 0, out: expect.stringMatching(/^OK: CN=good/) });
    const revoked = await cli('verify', responder.file('revoked.pem'), '--ca', ca, '--ocsp');
    expect(revoked).toMatchObject({ code: 1, out: expect.stringMatching(/^REJECTED CERT_REVOKED: .*says the OCSP responder at/) });
    expect(await cli('verify', responder.file('noaia.pem'), '--ca', ca, '--ocsp')).toMatchObject({ code: 1, out: expect.stringMatching(/REVOCATION_UNKNOWN.*names no OCSP responder/) });
    expect(await cli('verify', responder.file('noaia.pem'), '--ca', ca, '--ocsp-url', responder.url)).toMatchObject({ code: 0 });
    expect(await cli('verify', responder.file('good.pem'), '--ca', ca, '--ocsp-url', 'ftp://127.0.0.1/')).toMatchObject({ code: 2, err: expect.stringMatching(/--ocsp-url holds "ftp:\/\/127\.0\.0\.1\/", which is not an http: or https: URL/) });
  });
});

describe('OCSP responses judged one by one (real OpenSSL responses, hostile variations)', () => {
  const parse = (name: string) => parseCertificate(pemToDer(responder.pem(name)));
  async function askFor(leaf: OcspLeaf, options: Partial<Pick<OpensslOcspResponder, 'signer' | 'nextUpdateMinutes'>> = {}): Promise<Buffer> {
    responderAs(options);
    const res = await fetch(responder.url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(encodeOcspRequest(parse(leaf), parse('ca'))) });
    return Buffer.from(await res.arrayBuffer());
  }
  const ctx = (at = Date.now()) => ({ at, clockToleranceMs: 0, legacyAlgorithms: false });

  it('checks CertID, thisUpdate and nextUpdate', async () => {
    const der = await askFor('good', { nextUpdateMinutes: 10 });
    const response = parseOcspResponse(der);
    const [good, revoked, ca] = [parse('good'), parse('revoked'), parse('ca')];
    expect(validateOcspResponse(response, good, ca, ctx())).toMatchObject({ status: 'good', signer: 'the issuer' });
    expect(() => validateOcspResponse(response, revoked, ca, ctx())).toThrow(/does not answer for this certificate/);
    expect(() => validateOcspResponse(response, good, ca, ctx(Date.now() + 11 * 60_000))).toThrow(/the answer is stale \(nextUpdate/);
    expect(() => validateOcspResponse(response, good, ca, ctx(Date.now() - 60_000))).toThrow(/not yet valid/);
    const timeless = parseOcspResponse(await askFor('good'));
    expect(validateOcspResponse(timeless, good, ca, ctx(Date.now() + 4 * 60_000)).status).toBe('good');
    expect(() => validateOcspResponse(timeless, good, ca, ctx(Date.now() + 6 * 60_000))).toThrow(/has no nextUpdate .* over 5 minutes ago/);
  });

  it('names the responder status when the answer is not "successful"', () => {
    // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED tryLater (3) }
    expect(() => parseOcspResponse(Buffer.from('30030a0103', 'hex'))).toThrow(/the responder answered tryLater/);
    expect(() => parseOcspResponse(Buffer.from('30030a0106', 'hex'))).toThrow(/the responder answered unauthorized/);
  });

  it('survives 3,000 mutated responses: only OcspProtocolError, and nothing but the genuine answer is believed', async () => {
    const der = await askFor('revoked', { signer: 'responder', nextUpdateMinutes: 10 });
    const [revoked, ca] = [parse('revoked'), parse('ca')];
    const genuine = validateOcspResponse(parseOcspResponse(der), revoked, ca, ctx());
    expect(genuine.status).toBe('revoked');
    let seed = 0x2545f491;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
    let believed = 0;
    for (let i = 0; i < 3000; i++) {
      const mutated = Buffer.from(der);
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const pos = Math.floor(random() * mutated.length);
        mutated[pos] = random() < 0.5 ? Math.floor(random() * 256) : (mutated[pos] as number) ^ (1 << Math.floor(random() * 8));
      }
      const input = random() < 0.1 ? mutated.subarray(0, Math.floor(random() * mutated.length)) : mutated;
      try {
        const verdict = validateOcspResponse(parseOcspResponse(input), revoked, ca, ctx());
        // Only edits outside the signed part (the attached certificate's unsigned wrapper, say) may pass.
        expect(verdict).toEqual(genuine);
        believed++;
      } catch (err) {
        expect(err, `mutation ${i}`).toBeInstanceOf(OcspProtocolError);
      }
    }
    expect(believed).toBeLessThan(3000);
  });
});

describe('ocsp options are checked at startup', () => {
  it.each([
    ['yes', /option 'ocsp' must be true, false or \{ urls, timeoutMs, maxAgeMs, whenUnavailable \}, got a string/],
    [{ url: 'http://x/' }, /unknown option 'ocsp.url' \(known: urls, timeoutMs, maxAgeMs, whenUnavailable\)/],
    [{ urls: ['ldap://x/'] }, /option 'ocsp.urls' holds "ldap:\/\/x\/", which is not an http: or https: URL/],
    [{ timeoutMs: 0 }, /option 'ocsp.timeoutMs' must be a positive number of milliseconds, got 0/],
    [{ whenUnavailable: 'maybe' }, /option 'ocsp.whenUnavailable' must be 'reject' or 'allow', got "maybe"/],
  ])('refuses ocsp: %j', (ocsp, message) => {
    expect(() => createVerifier({ ca: responder.pem('ca'), ocsp: ocsp as never })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }));
  });
});

describe('OCSP answers are relied on no longer than they say, and only for what they concern', () => {
  const chain = (leaf: OcspLeaf) => [responder.pem(leaf)];

  it('a listener that throws does not change a verdict', async () => {
    responderAs({});
    const verifier = createVerifier({ ca: responder.pem('ca'), ocsp: { whenUnavailable: 'allow' } });
    verifier.on('ocsp-response', () => {
      throw new Error('logging bug');
    });
    try {
      expect(await verifier.verify(chain('revoked'))).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
      expect(await verifier.verify(chain('good'))).toMatchObject({ ok: true });
      expect(responder.requests).toBe(2);
    } finally {
      verifier.close();
    }
  });

  it('a bad answer about one certificate does not stop the responder being asked about others', async () => {
    responderAs({ signer: 'impostor' });
    const verifier = createVerifier({ ca: responder.pem('ca'), ocsp: true });
    try {
      expect(await verifier.verify(chain('good'))).toMatchObject({ ok: false, code: 'REVOCATION_UNKNOWN' });
      responder.signer = 'ca';
      expect(await verifier.verify(chain('revoked'))).toMatchObject({ ok: false, code: 'CERT_REVOKED' });
      expect(responder.requests).toBe(2);
    } finally {
      verifier.close();
    }
  });

  it('an answer without nextUpdate is used for at most 5 minutes, whatever maxAgeMs says; "unknown" for at most 30 s', async () => {
    responderAs({});
    const verifier = createVerifier({ ca: responder.pem('ca'), ocsp: { maxAgeMs: 3_600_000, whenUnavailable: 'allow' } });
    try {
      const good = await verifier.verify(chain('good'));
      expect(good.ok).toBe(true);
      if (good.ok) expect(good.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 300_000 + 1000);
      const unknown = await verifier.verify(chain('unlisted'));
      expect(unknown.ok).toBe(true);
      if (unknown.ok) expect(unknown.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 30_000);
    } finally {
      verifier.close();
    }
  });

  it('verify({ at }) needs an answer current at that instant, and does not use the cache', async () => {
    responderAs({ nextUpdateMinutes: 10 });
    const verifier = createVerifier({ ca: responder.pem('ca'), ocsp: true });
    try {
      const now = await verifier.verify(chain('good'));
      if (!now.ok) throw new Error(now.message);
      const later = await verifier.verify(chain('good'), { at: new Date(Date.now() + 2 * 86_400_000) });
      expect(later).toMatchObject({ ok: false, code: 'REVOCATION_UNKNOWN', message: expect.stringMatching(/the answer is stale/) });
      // The certificate's first second: valid, but before the responder produced its answer.
      const earlier = await verifier.verify(chain('good'), { at: now.certificate.notBefore });
      expect(earlier).toMatchObject({ ok: false, code: 'REVOCATION_UNKNOWN', message: expect.stringMatching(/not yet valid/) });
      expect(responder.requests).toBe(3);
    } finally {
      verifier.close();
    }
  });
});
