/**
 * The refusals the other adapter tests do not reach, each proven over a real TLS 1.3 connection
 * with a real client certificate and key, through Express 5 and Koa 3: a forged signature, a
 * certificate not yet valid, the wrong purpose, an issuer that is not a CA, RFC 5280 profile
 * violations, an unknown critical extension and weak or odd RSA keys.
 *
 * The certificates come from test/fixtures/openssl-odd-certs.sh (the OpenSSL CLI only, not
 * certgate's own generator). Every odd leaf is one that OpenSSL's TLS stack lets through the
 * handshake when the server has `rejectUnauthorized: false`, so the refusal is certgate's. Where
 * OpenSSL has an equivalent rule, `openssl verify -x509_strict -purpose sslclient` must reject the
 * leaf too, with the matching X509_V_ERR error; where it has none, it must accept the leaf (the
 * refusal is certgate's alone), and where the rule exists behind a stricter option, OpenSSL must
 * reject the leaf with that option. A table of leaf, certgate code and OpenSSL verdict is printed
 * at the end.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import express from 'express';
import Koa, { type ParameterizedContext } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type ReasonCode, type Verifier } from 'certgate';
import { requireClientCert as expressGuard } from 'certgate/express';
import { requireClientCert as koaGuard, type ClientCertState } from 'certgate/koa';
import { expectProblem, get, leafOnly, pemCount } from './helpers/clients.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/openssl-odd-certs.sh', import.meta.url));

interface OddLeaf {
  /** File stem in the fixture directory: `<leaf>.pem` (chain as the client sends it), `<leaf>-key.pem`. */
  leaf: string;
  what: string;
  /** The refusal certgate owes this chain (createVerifier().verify() of what the client sent). */
  code: ReasonCode;
  /**
   * Where the guard answers with another code over TLS, and why. Only ee-issued: see its entry.
   */
  overTls?: { code: ReasonCode; why: string };
  /**
   * What `openssl verify -x509_strict -purpose sslclient` must say of the leaf (OpenSSL 3.0).
   * `rejects`: OpenSSL has an equivalent rule, and reports this X509_V_ERR number for it.
   * `accepts`: why OpenSSL has no equivalent rule; the leaf must verify there, so the refusal is
   * certgate's alone. `stricter`: the option under which OpenSSL does have the rule, and the
   * X509_V_ERR number it must then report.
   */
  openssl: { rejects: number } | { accepts: string; stricter?: { args: readonly string[]; rejects: number } };
}

// X509_V_ERR_* numbers (OpenSSL's include/openssl/x509_vfy.h), as `openssl verify` prints them.
const X509_V_ERR = {
  CERT_SIGNATURE_FAILURE: 7,
  CERT_NOT_YET_VALID: 9,
  INVALID_PURPOSE: 26,
  UNHANDLED_CRITICAL_EXTENSION: 34,
  EE_KEY_TOO_SMALL: 66,
  INVALID_CA: 79,
  MISSING_AUTHORITY_KEY_IDENTIFIER: 85,
} as const;

const ODD: readonly OddLeaf[] = [
  {
    leaf: 'bad-signature',
    what: 'last byte of the ECDSA signature flipped',
    code: 'CERT_SIGNATURE_INVALID',
    openssl: { rejects: X509_V_ERR.CERT_SIGNATURE_FAILURE },
  },
  {
    leaf: 'not-yet-valid',
    what: 'notBefore 2099-01-01',
    code: 'CERT_NOT_YET_VALID',
    openssl: { rejects: X509_V_ERR.CERT_NOT_YET_VALID },
  },
  {
    leaf: 'serverauth-only',
    what: 'extendedKeyUsage serverAuth only',
    code: 'CERT_PURPOSE_INVALID',
    openssl: { rejects: X509_V_ERR.INVALID_PURPOSE },
  },
  {
    leaf: 'ee-certsign-issued',
    what: 'issued by an end-entity certificate (CA:FALSE, keyCertSign asserted); sent with it and the intermediate',
    code: 'CERT_ISSUER_NOT_CA',
    openssl: { rejects: X509_V_ERR.INVALID_CA },
  },
  {
    leaf: 'ee-issued',
    what: 'issued by an end-entity certificate (CA:FALSE, no keyCertSign); sent with it and the intermediate',
    code: 'CERT_ISSUER_NOT_CA',
    // The client sends leaf + EE issuer + intermediate, but certgate never sees the last two: it
    // reads the chain with getPeerCertificate(true), and Node links a presented certificate as
    // the issuer only when OpenSSL's X509_check_issued() accepts it, which refuses an issuer whose
    // keyUsage lacks keyCertSign (X509_V_ERR_KEYUSAGE_NO_CERTSIGN). Node 20 exposes no raw peer
    // chain. The guard therefore gets the leaf alone and finds no issuer for it: CERT_UNTRUSTED,
    // still a refusal (fail closed), but not the precise code. The precise code is proven with
    // createVerifier().verify() on the chain the client sent (below), and over TLS with
    // ee-certsign-issued, whose EE issuer asserts keyCertSign so that Node keeps it in the chain.
    overTls: { code: 'CERT_UNTRUSTED', why: "Node's getPeerCertificate(true) drops an issuer without keyCertSign" },
    openssl: { rejects: X509_V_ERR.INVALID_CA },
  },
  {
    leaf: 'serial-zero',
    what: 'serial number 0 (RFC 5280 4.1.2.2)',
    code: 'CERT_MALFORMED',
    openssl: { accepts: 'OpenSSL 3.0 does not check that a serial number is positive' },
  },
  {
    leaf: 'no-aki',
    what: 'no authorityKeyIdentifier (RFC 5280 4.2.1.1)',
    code: 'CERT_MALFORMED',
    openssl: { rejects: X509_V_ERR.MISSING_AUTHORITY_KEY_IDENTIFIER },
  },
  {
    leaf: 'unknown-critical',
    what: 'critical extension 1.3.6.1.4.1.55738.666.1',
    code: 'CERT_EXTENSION_UNSUPPORTED',
    openssl: { rejects: X509_V_ERR.UNHANDLED_CRITICAL_EXTENSION },
  },
  {
    leaf: 'rsa-2052',
    what: 'RSA key of 2052 bits (not a multiple of 8)',
    code: 'CERT_ALGORITHM_UNSUPPORTED',
    openssl: { accepts: 'OpenSSL has no rule on RSA moduli whose size is not a multiple of 8 bits' },
  },
  {
    leaf: 'rsa-1024',
    what: 'RSA key of 1024 bits',
    code: 'CERT_ALGORITHM_UNSUPPORTED',
    openssl: {
      accepts: 'the default security level (1, 80 bits) allows RSA 1024',
      // Level 2 (112 bits) is certgate's floor (RSA 2048): the equivalent rule.
      stricter: { args: ['-auth_level', '2'], rejects: X509_V_ERR.EE_KEY_TOO_SMALL },
    },
  },
];

const tlsCode = (c: OddLeaf): ReasonCode => c.overTls?.code ?? c.code;

interface Client {
  cert: Buffer;
  key: Buffer;
}

interface Server {
  port: number;
  close(): Promise<void>;
}

let dir: string;
let root: Buffer;
let serverPem: Client;
const clients = new Map<string, Client>();
let expressApp: Server;
let koaApp: Server;
let verifier: Verifier;

interface Row {
  leaf: string;
  expressCode?: string;
  koaCode?: string;
  verifyCode?: string;
  openssl?: string;
}
const rows = new Map<string, Row>();
const row = (leaf: string): Row => {
  let r = rows.get(leaf);
  if (!r) rows.set(leaf, (r = { leaf }));
  return r;
};

/** An HTTPS server on 127.0.0.1 (port 0) asking for, not requiring, a client certificate. */
async function startServer(handler: RequestListener): Promise<Server> {
  const server = https.createServer(
    {
      cert: serverPem.cert,
      key: serverPem.key,
      ca: root,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
    },
    handler,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The certificates of a PEM bundle, one PEM string each. */
const pemCerts = (pem: Buffer | string): string[] =>
  [...String(pem).matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)].map((m) => m[0]);

/** `openssl verify -x509_strict -purpose sslclient [extra] -CAfile root.pem -untrusted <issuers> <leaf>`. */
function opensslVerify(
  leaf: string,
  extra: readonly string[] = [],
): { ok: boolean; verdict: string; errors: number[] } {
  const chain = pemCerts(readFileSync(join(dir, `${leaf}.pem`)));
  const leafFile = join(dir, `${leaf}.leaf-only.pem`);
  const untrustedFile = join(dir, `${leaf}.untrusted.pem`);
  writeFileSync(leafFile, chain[0] as string);
  // The intermediate, plus the EE issuer for the ee-* leaves: the same certificates the client sends.
  writeFileSync(untrustedFile, chain.slice(1).join(''));
  const res = spawnSync(
    'openssl',
    [
      'verify',
      '-x509_strict',
      '-purpose',
      'sslclient',
      ...extra,
      '-CAfile',
      join(dir, 'root.pem'),
      '-untrusted',
      untrustedFile,
      leafFile,
    ],
    { encoding: 'utf8' },
  );
  if (res.error) throw res.error;
  const out = `${res.stdout}${res.stderr}`;
  if (res.status === 0) return { ok: true, verdict: 'OK', errors: [] };
  const found = [...out.matchAll(/error (\d+) at (\d+) depth lookup: ([^\n]+)/g)];
  const described = found.map((m) => `${m[1]} at depth ${m[2]}: ${m[3]}`);
  return {
    ok: false,
    verdict: `rejected (${described.join('; ') || out.trim().split('\n')[0]})`,
    errors: found.map((m) => Number(m[1])),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-odd-certs-'));
  execFileSync('bash', [SCRIPT, dir], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  const read = (name: string) => readFileSync(join(dir, name));
  root = read('root.pem');
  serverPem = { cert: read('server.pem'), key: read('server-key.pem') };
  for (const name of ['good', ...ODD.map((c) => c.leaf)])
    clients.set(name, { cert: read(`${name}.pem`), key: read(`${name}-key.pem`) });
  verifier = createVerifier({ ca: root });

  const app = express();
  app.use('/banking', expressGuard({ ca: root }));
  app.get('/banking/whoami', (req, res) => {
    res.json({ user: req.clientCert?.user, protocol: (req.socket as TLSSocket).getProtocol() });
  });
  expressApp = await startServer(app);

  const router = new Router<Partial<ClientCertState>>();
  router.use('/banking', koaGuard({ ca: root }));
  router.get('/banking/whoami', (ctx: ParameterizedContext<Partial<ClientCertState>>) => {
    ctx.body = { user: ctx.state.clientCert?.user, protocol: (ctx.req.socket as TLSSocket).getProtocol() };
  });
  const koa = new Koa();
  koa.use(router.routes()).use(router.allowedMethods());
  koaApp = await startServer(koa.callback());
});

afterAll(async () => {
  await Promise.all([expressApp?.close(), koaApp?.close()]);
  if (rows.size > 0) {
    const cols: [keyof Row, string][] = [
      ['leaf', 'leaf'],
      ['expressCode', 'Express (TLS)'],
      ['koaCode', 'Koa (TLS)'],
      ['verifyCode', 'verify(sent chain)'],
      ['openssl', 'openssl verify -x509_strict'],
    ];
    const all = [...rows.values()];
    const width = (k: keyof Row, h: string) => Math.max(h.length, ...all.map((r) => (r[k] ?? '-').length));
    const line = (cells: string[]) =>
      cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(width(cols[i]![0], cols[i]![1])))).join('  ');
    console.log(
      [
        'certgate refusals over real TLS vs openssl verify',
        line(cols.map(([, h]) => h)),
        ...all.map((r) => line(cols.map(([k]) => r[k] ?? '-'))),
      ].join('\n'),
    );
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ask = (server: () => Server, leaf: string) =>
  get(server().port, '/banking/whoami', { ca: root, client: clients.get(leaf)!, giveUpAfterMs: 10_000 });

describe('fixture: test/fixtures/openssl-odd-certs.sh', () => {
  it('writes every odd leaf with its issuers (leaf + intermediate, or leaf + EE issuer + intermediate)', () => {
    for (const c of ODD) expect(pemCount(clients.get(c.leaf)!.cert), c.leaf).toBe(c.leaf.startsWith('ee-') ? 3 : 2);
    expect(pemCount(clients.get('good')!.cert)).toBe(2);
  });

  it('makes each leaf odd in the intended way (as `openssl x509 -text` reads it)', () => {
    const text = (leaf: string) =>
      execFileSync('openssl', ['x509', '-noout', '-text'], {
        input: pemCerts(clients.get(leaf)!.cert)[0],
        encoding: 'utf8',
      });
    expect(text('good')).toMatch(/Authority Key Identifier/);
    expect(text('no-aki')).not.toMatch(/Authority Key Identifier/);
    expect(text('serial-zero')).toMatch(/Serial Number: 0 \(0x0\)/);
    expect(text('not-yet-valid')).toMatch(/Not Before: Jan {2}1 00:00:00 2099 GMT/);
    expect(text('serverauth-only')).toMatch(/Extended Key Usage: *\n\s+TLS Web Server Authentication\n/);
    expect(text('unknown-critical')).toMatch(/1\.3\.6\.1\.4\.1\.55738\.666\.1: critical/);
    expect(text('rsa-2052')).toMatch(/Public-Key: \(2052 bit\)/);
    expect(text('rsa-1024')).toMatch(/Public-Key: \(1024 bit\)/);
    const issuer = (leaf: string) =>
      execFileSync('openssl', ['x509', '-noout', '-text'], {
        input: pemCerts(clients.get(leaf)!.cert)[1],
        encoding: 'utf8',
      });
    expect(issuer('ee-issued')).toMatch(/CA:FALSE/);
    expect(issuer('ee-issued')).not.toMatch(/Certificate Sign/);
    expect(issuer('ee-certsign-issued')).toMatch(/CA:FALSE/);
    expect(issuer('ee-certsign-issued')).toMatch(/Certificate Sign/);
  });

  it('the control verifies with certgate and OpenSSL alike', async () => {
    const ours = await verifier.verify(clients.get('good')!.cert);
    expect(ours.ok).toBe(true);
    const ossl = opensslVerify('good');
    Object.assign(row('good'), { verifyCode: 'OK', openssl: ossl.verdict });
    expect(ossl.verdict).toBe('OK');
  });
});

for (const [name, server, column] of [
  ['Express 5', () => expressApp, 'expressCode'],
  ['Koa 3', () => koaApp, 'koaCode'],
] as const) {
  describe(`${name}: app.use('/banking', requireClientCert({ ca: root })) over TLS 1.3`, () => {
    it('lets the good control in: 200 with its user, over TLS 1.3', async () => {
      const reply = await ask(server, 'good');
      row('good')[column] = String(reply.status);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ user: 'good', protocol: 'TLSv1.3' });
    });

    it.each(ODD.map((c) => [c.leaf, tlsCode(c), c] as const))('refuses %s: 401 %s', async (leaf, code, c) => {
      const reply = await ask(server, leaf);
      // Every odd leaf completes the handshake: an answer from the guard, not a TLS failure.
      row(leaf)[column] = reply.body?.code ?? String(reply.status);
      expectProblem(reply, 401, code);
      if (c.overTls) expect(c.code).not.toBe(code);
    });
  });
}

describe('createVerifier().verify() on the chain each client sends', () => {
  it.each(ODD.map((c) => [c.leaf, c.code] as const))('%s: %s', async (leaf, code) => {
    const result = await verifier.verify(clients.get(leaf)!.cert);
    row(leaf).verifyCode = result.ok ? 'OK' : result.code;
    expect(result.ok ? 'OK' : result.code).toBe(code);
  });

  it('ee-issued: the leaf alone, as the guard receives it over TLS, has no known issuer (CERT_UNTRUSTED)', async () => {
    // What Node's getPeerCertificate(true) hands the guard for ee-issued: see ODD above.
    const result = await verifier.verify(leafOnly(clients.get('ee-issued')!.cert));
    expect(result.ok ? 'OK' : result.code).toBe('CERT_UNTRUSTED');
  });
});

describe('openssl verify -x509_strict -purpose sslclient agrees where it has an equivalent rule', () => {
  it.each(ODD.map((c) => [c.leaf, c] as const))('%s', (leaf, c) => {
    const ossl = opensslVerify(leaf);
    row(leaf).openssl = ossl.verdict;
    if ('rejects' in c.openssl) {
      // Rejected for the equivalent rule, not merely rejected.
      expect(ossl.errors, ossl.verdict).toContain(c.openssl.rejects);
      return;
    }
    // No equivalent rule: OpenSSL lets the leaf through, so certgate's refusal is its own.
    expect(ossl.verdict, c.openssl.accepts).toBe('OK');
    const { stricter } = c.openssl;
    if (stricter) {
      const strict = opensslVerify(leaf, stricter.args);
      row(leaf).openssl = `${ossl.verdict}; with ${stricter.args.join(' ')}: ${strict.verdict}`;
      expect(strict.errors, strict.verdict).toContain(stricter.rejects);
    }
  });
});
