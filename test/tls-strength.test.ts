/**
 * TLS strength over real TLS: `tlsOptions()` stops weak clients in the handshake, and the guard's
 * `tls` rule (the backstop) refuses them with 403 TLS_TOO_WEAK on a server configured otherwise.
 * Node and curl clients force protocol versions and suites. The dev PKI's server key is ECDSA
 * P-256; an RSA server certificate beside it makes the ECDHE-RSA and static-RSA suites possible.
 */
import { constants } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TLSSocket } from 'node:tls';
import express, { type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCertGuard, tlsOptions, type CertgateError, type GuardOptions } from 'certgate';
import { requireClientCert } from 'certgate/express';
import {
  curl,
  expectProblem,
  get,
  leafOnly,
  makeOtherCa,
  makePki,
  startHttps,
  type Pem,
  type RunningServer,
  type TestPki,
} from './helpers/clients.js';

let pki: TestPki;
let other: Awaited<ReturnType<typeof makeOtherCa>>;
let rsa: Pem & { file: string };
/** tlsOptions() with the ECDSA and the RSA server certificates. */
let strict: RunningServer;
/** tlsOptions({ minVersion: 'TLSv1.3' }). */
let strict13: RunningServer;
/** Accepts anything OpenSSL can still do (TLS 1.0 up, CBC, NULL): only the guard's rule stands. */
let open: RunningServer;
/** Requests that reached a route handler, per server. */
const handled = { strict: 0, strict13: 0 };
const rejected: CertgateError[] = [];

/** OpenSSL 3 refuses TLS below 1.2 and NULL ciphers unless the security level is 0. */
const LEGACY = 'DEFAULT@SECLEVEL=0';
const tls11 = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: LEGACY } as const;
const tls12 = (ciphers: string) => ({ maxVersion: 'TLSv1.2', ciphers }) as const;
const tls13 = (ciphers: string) => ({ minVersion: 'TLSv1.3', ciphers }) as const;

const show = (req: Request, res: Response): void => {
  res.json({ user: req.clientCert?.user, source: req.clientCert?.source, tls: req.clientCert?.tls ?? null });
};

function guarded(options: GuardOptions = {}) {
  return requireClientCert({ ...options, onReject: (err) => void rejected.push(err) });
}

async function rsaServerCertificate(): Promise<Pem & { file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'certgate-rsa-'));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  await promisify(execFile)('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2'],
    ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
  ]);
  return { key: readFileSync(key), cert: readFileSync(cert), file: cert };
}

beforeAll(async () => {
  [pki, other, rsa] = await Promise.all([makePki(), makeOtherCa(), rsaServerCertificate()]);
  const both = { key: [pki.server.key, rsa.key], cert: [pki.server.cert, rsa.cert], ca: pki.ca };
  const count = (name: keyof typeof handled) => {
    const app = express();
    app.get('/', guarded(), (req, res) => {
      handled[name]++;
      show(req, res);
    });
    return app;
  };
  strict = await startHttps(pki, count('strict'), tlsOptions(both));
  strict13 = await startHttps(pki, count('strict13'), tlsOptions({ ...both, minVersion: 'TLSv1.3' }));

  const app = express();
  app.get('/default', guarded(), show);
  app.get('/tls13', guarded({ tls: { minVersion: 'TLSv1.3' } }), show);
  app.get('/bits256', guarded({ tls: { minCipherBits: 256 } }), show);
  app.get('/other-ca', guarded({ ca: other.ca }), show);
  app.get(
    '/proxy',
    guarded({ ca: pki.ca, intermediates: pki.intermediate, proxy: { trust: 'loopback', format: 'nginx' } }),
    show,
  );
  open = await startHttps(pki, app, { ...both, minVersion: 'TLSv1', ciphers: `ALL:eNULL:@SECLEVEL=0` });
});

afterAll(async () => {
  await Promise.all([strict, strict13, open].map((s) => s?.close()));
});

/** Both server certificates' issuers: the dev root and the self-signed RSA certificate. */
const serverCas = () => Buffer.concat([pki.ca, rsa.cert]);
const alice = () => ({ ca: serverCas(), client: pki.alice });

describe('tlsOptions(): weak clients fail at the handshake', () => {
  it('returns the documented options', () => {
    const options = tlsOptions({ key: pki.server.key, cert: pki.server.cert, ca: pki.ca, crl: pki.crl });
    expect(options).toEqual({
      key: pki.server.key,
      cert: pki.server.cert,
      ca: pki.ca,
      crl: pki.crl,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      ciphers:
        'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:' +
        'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:' +
        'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384',
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
    });
  });

  it.each([
    ['TLS 1.1', tls11],
    ['TLS 1.2 with CBC suites only', tls12('ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA')],
    ['TLS 1.2 with static RSA only', tls12('AES128-GCM-SHA256:AES256-GCM-SHA384')],
  ])('a Node client offering %s: no response', async (_name, tls) => {
    const before = handled.strict;
    await expect(get(strict.port, '/', { ...alice(), tls })).rejects.toMatchObject({ code: /^ERR_SSL_|^ECONNRESET$/ });
    expect(handled.strict).toBe(before);
  });

  it('the same clients get through a permissive server: the options refuse them, not the client', async () => {
    const cbc = await get(open.port, '/default', { ...alice(), tls: tls12('ECDHE-ECDSA-AES128-SHA256') });
    const staticRsa = await get(open.port, '/default', { ...alice(), tls: tls12('AES128-GCM-SHA256') });
    expect([cbc.status, cbc.body.tls]).toEqual([
      200,
      { protocol: 'TLSv1.2', cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', bits: 128 },
    ]);
    expect([staticRsa.status, staticRsa.body.tls]).toEqual([
      200,
      { protocol: 'TLSv1.2', cipher: 'TLS_RSA_WITH_AES_128_GCM_SHA256', bits: 128 },
    ]);
  });

  it.each([
    ['ECDHE-ECDSA-AES128-GCM-SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 128],
    ['ECDHE-ECDSA-AES256-GCM-SHA384', 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 256],
    ['ECDHE-RSA-AES128-GCM-SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 128],
    ['ECDHE-RSA-AES256-GCM-SHA384', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 256],
  ])('TLS 1.2 with %s (RFC 9325 4.2): 200', async (suite, cipher, bits) => {
    const reply = await get(strict.port, '/', { ...alice(), tls: tls12(suite) });
    expect([reply.status, reply.body]).toEqual([
      200,
      { user: 'alice', source: 'tls', tls: { protocol: 'TLSv1.2', cipher, bits } },
    ]);
  });

  it.each([
    ['TLS_AES_256_GCM_SHA384', 256],
    ['TLS_CHACHA20_POLY1305_SHA256', 256],
    ['TLS_AES_128_GCM_SHA256', 128],
  ])('TLS 1.3 with %s: 200', async (cipher, bits) => {
    const reply = await get(strict.port, '/', { ...alice(), tls: tls13(cipher) });
    expect([reply.status, reply.body.tls]).toEqual([200, { protocol: 'TLSv1.3', cipher, bits }]);
  });

  it('minVersion TLSv1.3: TLS 1.2 with a recommended suite fails at the handshake, TLS 1.3 gets 200', async () => {
    const before = handled.strict13;
    await expect(
      get(strict13.port, '/', { ...alice(), tls: tls12('ECDHE-ECDSA-AES128-GCM-SHA256') }),
    ).rejects.toMatchObject({ code: /^ERR_SSL_/ });
    expect(handled.strict13).toBe(before);
    expect((await get(strict13.port, '/', alice())).status).toBe(200);
  });

  describe('curl', () => {
    const args = () => [
      '--cacert',
      pki.files.caBundle,
      '--cert',
      pki.files.clients.alice.cert,
      '--key',
      pki.files.clients.alice.key,
    ];

    it.each([
      ['TLS 1.1', ['--tlsv1.1', '--tls-max', '1.1', '--ciphers', LEGACY]],
      ['TLS 1.2, CBC only', ['--tls-max', '1.2', '--ciphers', 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA']],
    ])('%s: the handshake fails', async (_name, tls) => {
      await expect(curl(strict.url, [...args(), ...tls])).rejects.toThrow(/curl failed/);
    });

    it('TLS 1.2 with ECDHE-ECDSA-AES256-GCM-SHA384 and TLS 1.3 with TLS_AES_128_GCM_SHA256: 200', async () => {
      const v12 = await curl(strict.url, [...args(), '--tls-max', '1.2', '--ciphers', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
      const v13 = await curl(strict.url, [...args(), '--tlsv1.3', '--tls13-ciphers', 'TLS_AES_128_GCM_SHA256']);
      expect([v12.status, v12.body.tls]).toEqual([
        200,
        { protocol: 'TLSv1.2', cipher: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', bits: 256 },
      ]);
      expect([v13.status, v13.body.tls]).toEqual([
        200,
        { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', bits: 128 },
      ]);
    });
  });

  it('http2.createSecureServer takes the same options (curl --http2, TLS 1.2 and 1.3)', async () => {
    const guard = clientCertGuard();
    const server = http2.createSecureServer(tlsOptions({ key: pki.server.key, cert: pki.server.cert, ca: pki.ca }));
    server.on('request', async (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      const outcome = await guard.check(req);
      res.end(JSON.stringify(outcome.ok ? outcome.clientCert.tls : outcome.error.code));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://localhost:${(server.address() as AddressInfo).port}/`;
    try {
      const base = [
        '--http2',
        '--cacert',
        pki.files.caBundle,
        '--cert',
        pki.files.clients.alice.cert,
        '--key',
        pki.files.clients.alice.key,
      ];
      const v12 = await curl(url, [...base, '--tls-max', '1.2']);
      const v13 = await curl(url, base);
      expect([v12.httpVersion, v12.body.protocol, v12.body.cipher]).toEqual([
        '2',
        'TLSv1.2',
        'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      ]);
      expect([v13.httpVersion, v13.body.protocol]).toEqual(['2', 'TLSv1.3']);
      await expect(curl(url, [...base, '--tls-max', '1.2', '--ciphers', 'ECDHE-ECDSA-AES128-SHA256'])).rejects.toThrow(
        /curl failed/,
      );
    } finally {
      server.close();
    }
  });
});

describe("the guard's tls rule on a permissive server: 403 TLS_TOO_WEAK", () => {
  const lastDetail = () => rejected.at(-1)?.detail;

  it('TLS 1.1 is below the default rule; the detail names protocol and cipher', async () => {
    const reply = await get(open.port, '/default', { ...alice(), tls: tls11 });
    expectProblem(reply, 403, 'TLS_TOO_WEAK');
    expect(lastDetail()).toBe(
      'TLSv1.1 with ECDHE-ECDSA-AES256-SHA (TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, 256-bit) is below the rule: ' +
        'TLSv1.2, 128 bits [TLS connection from 127.0.0.1]',
    );
  });

  it('a NULL cipher counts 0 bits (Node and curl)', async () => {
    const reply = await get(open.port, '/default', { ...alice(), tls: tls12(`ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0`) });
    expectProblem(reply, 403, 'TLS_TOO_WEAK');
    expect(lastDetail()).toContain('TLSv1.2 with ECDHE-ECDSA-NULL-SHA (TLS_ECDHE_ECDSA_WITH_NULL_SHA, 0-bit) is below');
    const byCurl = await curl(`${open.url}/default`, [
      ...['--cacert', pki.files.caBundle, '--cert', pki.files.clients.alice.cert, '--key', pki.files.clients.alice.key],
      ...['--tls-max', '1.2', '--ciphers', 'ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0'],
    ]);
    expect([byCurl.status, byCurl.contentType, byCurl.body.code]).toEqual([
      403,
      'application/problem+json',
      'TLS_TOO_WEAK',
    ]);
  });

  it('Camellia, negotiable at the default security level, counts its key bits (128: passes the default)', async () => {
    const reply = await get(open.port, '/default', { ...alice(), tls: tls12('ECDHE-ECDSA-CAMELLIA128-SHA256') });
    expect([reply.status, reply.body.tls]).toEqual([
      200,
      { protocol: 'TLSv1.2', cipher: 'TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256', bits: 128 },
    ]);
    const strict = await get(open.port, '/bits256', { ...alice(), tls: tls12('ECDHE-ECDSA-CAMELLIA128-SHA256') });
    expectProblem(strict, 403, 'TLS_TOO_WEAK');
  });

  it("tls: { minVersion: 'TLSv1.3' }: TLS 1.2 with an RFC 9325 suite is refused, TLS 1.3 gets 200", async () => {
    const v12 = await get(open.port, '/tls13', { ...alice(), tls: tls12('ECDHE-ECDSA-AES128-GCM-SHA256') });
    expectProblem(v12, 403, 'TLS_TOO_WEAK');
    expect(lastDetail()).toMatch(
      /^TLSv1\.2 with ECDHE-ECDSA-AES128-GCM-SHA256 \(.*\) is below the rule: TLSv1\.3, 128 bits/,
    );
    const v13 = await get(open.port, '/tls13', alice());
    expect([v13.status, v13.body]).toEqual([
      200,
      { user: 'alice', source: 'tls', tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', bits: 256 } },
    ]);
  });

  it('tls: { minCipherBits: 256 }: AES-128 is refused, AES-256 and ChaCha20 pass (curl)', async () => {
    const base = [
      '--cacert',
      pki.files.caBundle,
      '--cert',
      pki.files.clients.alice.cert,
      '--key',
      pki.files.clients.alice.key,
    ];
    const url = `${open.url}/bits256`;
    const aes128 = await curl(url, [...base, '--tlsv1.3', '--tls13-ciphers', 'TLS_AES_128_GCM_SHA256']);
    const aes256 = await curl(url, [...base, '--tls-max', '1.2', '--ciphers', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
    const chacha = await curl(url, [...base, '--tlsv1.3', '--tls13-ciphers', 'TLS_CHACHA20_POLY1305_SHA256']);
    expect([aes128.status, aes128.body.code]).toEqual([403, 'TLS_TOO_WEAK']);
    expect(lastDetail()).toMatch(
      /^TLSv1\.3 with TLS_AES_128_GCM_SHA256 \(128-bit\) is below the rule: TLSv1\.2, 256 bits/,
    );
    expect([aes256.status, aes256.body.tls?.bits, chacha.status, chacha.body.tls?.bits]).toEqual([200, 256, 200, 256]);
  });

  it('the default rule passes TLS 1.2 AES-128-CBC (128 bits): only tlsOptions() keeps CBC out', async () => {
    const reply = await get(open.port, '/default', { ...alice(), tls: tls12('ECDHE-ECDSA-AES128-SHA256') });
    expect([reply.status, reply.body.tls.bits]).toEqual([200, 128]);
  });

  it('the TLS rule comes before verification: a bad certificate on a weak connection is TLS_TOO_WEAK', async () => {
    const untrusted = await get(open.port, '/other-ca', { ca: serverCas(), client: other.alice, tls: tls11 });
    expectProblem(untrusted, 403, 'TLS_TOO_WEAK');
    // ...and without the weak connection, the certificate's own refusal.
    expectProblem(await get(open.port, '/other-ca', { ca: serverCas(), client: pki.alice }), 401, 'CERT_UNTRUSTED');
    // No certificate at all is CERT_MISSING on any connection: there is nothing to authenticate.
    expectProblem(await get(open.port, '/default', { ca: serverCas(), tls: tls11 }), 401, 'CERT_MISSING');
  });

  it("a known client's new connection (its verification reused) still meets the rule", async () => {
    expect((await get(open.port, '/default', alice())).status).toBe(200);
    const weak = await get(open.port, '/default', { ...alice(), tls: tls11 });
    expectProblem(weak, 403, 'TLS_TOO_WEAK');
  });

  it('decided once per connection: keep-alive requests read the TLS parameters once', async () => {
    const reads: string[] = [];
    const spy = (socket: TLSSocket) => {
      for (const name of ['getCipher', 'getProtocol'] as const) {
        const original = socket[name].bind(socket) as () => never;
        socket[name] = (() => {
          reads.push(name);
          return original();
        }) as never;
      }
    };
    open.server.on('secureConnection', spy);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const replies = [];
      for (let i = 0; i < 5; i++) replies.push(await get(open.port, '/tls13', { ...alice(), agent }));
      expect(new Set(replies.map((r) => r.localPort)).size).toBe(1);
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(reads.sort()).toEqual(['getCipher', 'getProtocol']);
      reads.length = 0;
      const weak = [];
      for (let i = 0; i < 3; i++) {
        weak.push(
          await get(open.port, '/tls13', { ...alice(), agent: undefined, tls: tls12('ECDHE-ECDSA-AES128-GCM-SHA256') }),
        );
      }
      expect(weak.map((r) => r.status)).toEqual([403, 403, 403]);
      // One read of each per connection, refused or not.
      expect(reads.length).toBe(6);
    } finally {
      agent.destroy();
      open.server.off('secureConnection', spy);
    }
  });

  it('a weak keep-alive connection is refused on every request, its parameters read once', async () => {
    const reads: string[] = [];
    const spy = (socket: TLSSocket) => {
      const original = socket.getCipher.bind(socket);
      socket.getCipher = () => {
        reads.push('getCipher');
        return original();
      };
    };
    open.server.on('secureConnection', spy);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ...tls11 });
    try {
      const replies = [];
      for (let i = 0; i < 3; i++) replies.push(await get(open.port, '/default', { ...alice(), agent, tls: tls11 }));
      expect(new Set(replies.map((r) => r.localPort)).size).toBe(1);
      for (const r of replies) expectProblem(r, 403, 'TLS_TOO_WEAK');
      expect(reads).toEqual(['getCipher']);
    } finally {
      agent.destroy();
      open.server.off('secureConnection', spy);
    }
  });
});

describe('forwarded certificates', () => {
  it('carry no TLS facts: clientCert.tls is undefined, the rule not applied (the proxy enforces TLS)', async () => {
    const header = encodeURIComponent(leafOnly(pki.alice.cert).toString());
    // The peer is a trusted proxy on a TLS 1.1 connection: its own connection is not the client's.
    const reply = await get(open.port, '/proxy', {
      ca: serverCas(),
      tls: tls11,
      headers: { 'X-SSL-Client-Cert': header },
    });
    expect([reply.status, reply.body]).toEqual([200, { user: 'alice', source: 'proxy', tls: null }]);
  });
});
