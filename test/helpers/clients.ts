// Before @peculiar/x509 (its DI container needs the reflect polyfill at import time).
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders, RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { expect } from 'vitest';
import type { ReasonCode } from '../../src/errors.js';
import { generateDevPki, type DevPkiFiles, type GenerateDevPkiOptions } from '../../src/devpki/generate.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface Pem {
  cert: Buffer;
  key: Buffer;
}

/** The development PKI (certgate dev-pki), read into memory. */
export interface TestPki {
  files: DevPkiFiles;
  /** Trust anchors: ca.pem (the root). */
  ca: Buffer;
  chain: Buffer;
  crl: Buffer;
  /** The intermediate CA certificate on its own. */
  intermediate: Buffer;
  server: Pem;
  alice: Pem;
  bob: Pem;
  mallory: Pem;
  eve: Pem;
}

/** The same type as {@link TestPki} (there is one PKI helper: {@link makePki}). */
export type FullTestPki = TestPki;

/**
 * A fresh development PKI in a temporary folder, read into memory: the one PKI helper of the
 * tests. generateDevPki options, e.g. `now` in the past for a stale CRL.
 */
export async function makePki(options: GenerateDevPkiOptions = {}): Promise<TestPki> {
  const files = await generateDevPki(mkdtempSync(join(tmpdir(), 'certgate-test-')), options);
  const pem = (p: { cert: string; key: string }): Pem => ({ cert: readFileSync(p.cert), key: readFileSync(p.key) });
  return {
    files,
    ca: readFileSync(files.caBundle),
    chain: readFileSync(files.chain),
    crl: readFileSync(files.crl),
    intermediate: readFileSync(files.intermediateCert),
    server: pem({ cert: files.serverCert, key: files.serverKey }),
    alice: pem(files.clients.alice),
    bob: pem(files.clients.bob),
    mallory: pem(files.clients.mallory),
    eve: pem(files.clients.eve),
  };
}

export interface RunningServer {
  server: https.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** An HTTPS server on 127.0.0.1 that asks for (but does not require) a client certificate. */
export async function startHttps(
  pki: { server: { cert: Buffer | string; key: Buffer | string }; ca: Buffer | string },
  handler: RequestListener,
  options: https.ServerOptions = {},
): Promise<RunningServer> {
  const server = https.createServer(
    {
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca,
      requestCert: true,
      rejectUnauthorized: false,
      ...options,
    },
    handler,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `https://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The first certificate of a PEM bundle: a client that sends only its leaf, no intermediate. */
export function leafOnly(pem: Buffer | string): Buffer {
  const text = pem.toString();
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text);
  if (!m) throw new Error('no certificate in PEM');
  return Buffer.from(m[0]);
}

export function pemCount(pem: Buffer | string): number {
  return pem.toString().split('-----BEGIN CERTIFICATE-----').length - 1;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: any;
  /** The client-side TLS socket (closed by the time the reply resolves, unless on a keep-alive agent). */
  socket: TLSSocket;
  /** Client-side view of session resumption. */
  clientReused: boolean;
  /** The last TLS session the server handed out on this connection (for resumption). */
  session: Buffer | undefined;
  localPort: number | undefined;
}

export interface GetOptions {
  /** Trust anchors for the server certificate. */
  ca: Buffer;
  client?: { cert: Buffer; key: Buffer };
  /** A keep-alive agent; without one, each request gets its own TCP + TLS connection. */
  agent?: https.Agent;
  /** A TLS session to resume (from a previous Reply's `session`). */
  session?: Buffer;
  tls?: https.RequestOptions;
  headers?: Record<string, string>;
  method?: string;
  /**
   * Give up (reject) when the socket is idle this long: only for requests that might never be
   * answered, so that a hang fails the test instead of the whole file timing out.
   */
  giveUpAfterMs?: number;
}

/**
 * One HTTPS request with Node's https module over a real TLS connection to 127.0.0.1 (SNI and
 * certificate name: localhost). Without an agent it waits for the connection to close so that
 * TLS 1.3 session tickets, which arrive after the handshake, are captured.
 */
export function get(port: number, path: string, opts: GetOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    let socket: TLSSocket | undefined;
    let reply: Omit<Reply, 'session'> | undefined;
    let closed = false;
    const finish = () => {
      if (reply && (opts.agent || closed)) resolve({ ...reply, session });
    };
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        servername: 'localhost',
        ca: opts.ca,
        headers: opts.headers,
        ...(opts.client ? { cert: opts.client.cert, key: opts.client.key } : {}),
        ...(opts.session ? { session: opts.session } : {}),
        agent: opts.agent ?? false,
        ...opts.tls,
      },
      (res) => {
        // With a keep-alive agent the socket is detached from `res` once the body is read.
        const s = res.socket as TLSSocket;
        const clientReused = s.isSessionReused();
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          reply = {
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            body,
            socket: s,
            clientReused,
            localPort: s.localPort,
          };
          finish();
        });
      },
    );
    req.on('socket', (s) => {
      socket = s as TLSSocket;
      socket.on('session', (sess: Buffer) => (session = sess));
      socket.once('close', () => {
        closed = true;
        finish();
      });
    });
    if (opts.giveUpAfterMs !== undefined) {
      req.setTimeout(opts.giveUpAfterMs, () =>
        req.destroy(new Error(`no response to ${path} within ${opts.giveUpAfterMs} ms`)),
      );
    }
    req.on('error', reject);
    req.end();
  });
}

export interface CurlReply {
  status: number;
  text: string;
  body: any;
  contentType: string;
  /** The HTTP version curl negotiated: `1.1`, `2`. */
  httpVersion: string;
}

/**
 * Runs the real curl binary against a server in this process (asynchronously: a synchronous
 * child would block the event loop the server needs).
 */
export function curl(url: string, args: string[]): Promise<CurlReply> {
  const marker = '\n__CURL_META__';
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/curl',
      [
        '--silent',
        '--show-error',
        '--max-time',
        '20',
        ...args,
        '--write-out',
        `${marker}%{http_code} %{http_version} %{content_type}`,
        url,
      ],
      { encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`curl failed: ${err.message}\n${stderr}`));
          return;
        }
        const at = stdout.lastIndexOf(marker);
        const text = stdout.slice(0, at);
        const [code, httpVersion = '', contentType = ''] = stdout.slice(at + marker.length).split(' ');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: Number(code), text, body, contentType, httpVersion });
      },
    );
  });
}

/** The problem+json keys the adapters answer with: nothing more (no stack, no certificate data). */
export const PROBLEM_KEYS = ['code', 'detail', 'message', 'status', 'title', 'type'];

/** The `X509 CRL` PEM blocks of a bundle, in order (dev PKI crl.pem: intermediate's, then root's). */
export function crlBlocks(pem: Buffer | string): Buffer[] {
  return [...pem.toString().matchAll(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----\n?/g)].map((m) =>
    Buffer.from(m[0]),
  );
}

/** Fragments that must never reach a client in a problem body: stack frames and certificate data. */
export const LEAKY = [
  /\n\s+at /,
  /Error:/,
  /stack/i,
  /BEGIN CERTIFICATE/,
  /Example Bank/,
  /certgate Dev/,
  /serial/i,
  /CN=/,
  /@bank\.example/,
  /\b(alice|bob|mallory|eve)\b/,
];

/**
 * A small CA unrelated to the dev PKI, with different names ("Other Bank Root CA"), and a client
 * certificate for CN=alice it issued: the client sends leaf + root.
 */
export async function makeOtherCa(): Promise<{ ca: Buffer; alice: Pem }> {
  const crypto = webcrypto as unknown as Crypto;
  x509.cryptoProvider.set(crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const now = Date.now();
  const rootKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Other Bank Root CA, O=Other Bank',
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    keys: rootKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const leafKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=alice, O=Other Bank',
    issuer: root.subjectName,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    publicKey: leafKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
  const rootPem = `${root.toString('pem')}\n`;
  return {
    ca: Buffer.from(rootPem),
    alice: {
      cert: Buffer.from(`${leaf.toString('pem')}\n${rootPem}`),
      key: Buffer.from(`${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`),
    },
  };
}

/**
 * Asserts a certgate refusal: status, `code`, problem+json content type, exactly the problem
 * keys, the public message only, and nothing from {@link LEAKY} anywhere in the raw body.
 */
export function expectProblem(
  reply: { status: number; headers: Record<string, unknown>; body: any; text: string },
  status: number,
  code: ReasonCode,
): void {
  expect({ status: reply.status, code: reply.body?.code }).toEqual({ status, code });
  expect(String(reply.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(Object.keys(reply.body).sort()).toEqual(PROBLEM_KEYS);
  expect(reply.body).toMatchObject({ type: `urn:certgate:error:${code}`, title: code, status });
  expect(typeof reply.body.message).toBe('string');
  expect(reply.body.detail).toBe(reply.body.message);
  for (const leak of LEAKY) expect(reply.text).not.toMatch(leak);
}
