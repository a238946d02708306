/**
 * What real proxies forward: nginx 1.22, HAProxy 2.6, Apache 2.4 and Caddy 2.6 (Debian 12
 * packages) terminate mTLS on 127.0.0.1 and forward to a plain HTTP app that records the headers
 * it receives. This pins down each format's shape as the proxy really writes it (the decoders of
 * src/sources/forwarded/ follow these facts), that a client's own header of that name never reaches
 * the app, and what each proxy sends when the client has no certificate.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, makePki, type TestPki } from './helpers/clients.js';
import { pemBlocks, pemToDer, removeTempDirs, tempDir } from './helpers/oracle.js';
import { type ProxyKind, type RunningProxy, startProxy } from './helpers/proxies.js';

let pki: TestPki;
let app: http.Server;
let appPort: number;
const seen: string[][] = [];

beforeAll(async () => {
  pki = await makePki();
  app = http.createServer((req, res) => {
    seen.push(req.rawHeaders);
    res.end('ok');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appPort = (app.address() as AddressInfo).port;
});

afterAll(async () => {
  app.closeAllConnections();
  await new Promise<void>((resolve) => app.close(() => resolve()));
  removeTempDirs();
});

/** Every value of header `name` the app received with the last request (rawHeaders keep repeats). */
function received(name: string): string[] {
  const raw = seen.at(-1) ?? [];
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) values.push(raw[i + 1] as string);
  return values;
}

const FORGED = 'forged-by-the-client';

async function through(proxy: RunningProxy, client?: { cert: Buffer; key: Buffer }): Promise<void> {
  seen.length = 0;
  const reply = await get(proxy.port, '/', { ca: pki.ca, client, headers: { 'X-SSL-Client-Cert': FORGED } });
  expect(reply.status, proxy.output()).toBe(200);
}

const leafDer = () => pemToDer(pki.alice.cert);
const intermediateDer = () => pemToDer(pki.intermediate);

/** Each proxy's encoding of alice's leaf, decoded back to DER, as the format table says. */
const DECODE: Record<ProxyKind, (value: string) => Buffer> = {
  nginx: (v) => pemToDer(decodeURIComponent(v)),
  haproxy: (v) => Buffer.from(v, 'base64'),
  apache: (v) => pemToDer(v.replace(/(-----BEGIN CERTIFICATE-----|-----END CERTIFICATE-----)/g, '\n$1\n')),
  caddy: (v) => Buffer.from(v, 'base64'),
};

describe.each(['nginx', 'haproxy', 'apache', 'caddy'] as const)('%s forwards the client certificate', (kind) => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    const tls = {
      serverCert: pki.server.cert.toString(),
      serverKey: pki.server.key.toString(),
      clientCa: pki.ca.toString(),
    };
    proxy = await startProxy(kind, join(tempDir(`certgate-${kind}-`), 'proxy'), tls, appPort);
  }, 30_000);
  afterAll(() => proxy?.close());

  it("the leaf, in its format's encoding, and never the client's own header of that name", async () => {
    await through(proxy, pki.alice);
    const values = received('x-ssl-client-cert');
    expect(values).toHaveLength(1);
    expect(values[0]).not.toBe(FORGED);
    expect(DECODE[kind](values[0] as string).equals(leafDer())).toBe(true);
    if (kind === 'haproxy') {
      // ssl_c_chain_der: the intermediates the client sent, DER concatenated, base64.
      const chain = received('x-ssl-client-chain');
      expect(chain).toHaveLength(1);
      expect(Buffer.from(chain[0] as string, 'base64').equals(intermediateDer())).toBe(true);
    }
  });

  it('without a client certificate: what the app receives', async () => {
    await through(proxy);
    const values = received('x-ssl-client-cert');
    expect(values).not.toContain(FORGED);
    // nginx and HAProxy: no header (an empty proxy_set_header value is not sent); Apache: the
    // literal (null); Caddy 2.6: the unfilled placeholder.
    const expected: Record<ProxyKind, string[]> = {
      nginx: [],
      haproxy: [],
      apache: ['(null)'],
      caddy: ['{http.request.tls.client.certificate_der_base64}'],
    };
    expect(values).toEqual(expected[kind]);
  });
});

it('the dev PKI client sends its intermediate (what HAProxy forwards as the chain)', () => {
  expect(pemBlocks(pki.alice.cert)).toHaveLength(2);
});
