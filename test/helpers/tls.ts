import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevPki, type DevPkiFiles } from '../../src/devpki/generate.js';

export interface Pem {
  cert: Buffer;
  key: Buffer;
}

export interface TestPki {
  files: DevPkiFiles;
  ca: Buffer;
  chain: Buffer;
  crl: Buffer;
  server: Pem;
  alice: Pem;
  bob: Pem;
  mallory: Pem;
  eve: Pem;
}

/** A fresh development PKI in a temporary folder, read into memory. */
export async function makeTestPki(): Promise<TestPki> {
  const files = await generateDevPki(mkdtempSync(join(tmpdir(), 'certgate-test-')));
  const pem = (p: { cert: string; key: string }): Pem => ({ cert: readFileSync(p.cert), key: readFileSync(p.key) });
  return {
    files,
    ca: readFileSync(files.caBundle),
    chain: readFileSync(files.chain),
    crl: readFileSync(files.crl),
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
export async function startHttps(pki: TestPki, handler: RequestListener, options: https.ServerOptions = {}): Promise<RunningServer> {
  const server = https.createServer(
    { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, requestCert: true, rejectUnauthorized: false, ...options },
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

export interface Reply {
  status: number;
  body: any;
  reused: boolean;
}

/** One HTTPS request over a real TLS connection, optionally on a given keep-alive agent. */
export function request(
  srv: RunningServer,
  path: string,
  opts: { client?: Pem; agent?: https.Agent; ca: Buffer; tls?: https.RequestOptions } ,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: srv.port,
        path,
        servername: 'localhost',
        ca: opts.ca,
        ...(opts.client ? { cert: opts.client.cert, key: opts.client.key } : {}),
        ...(opts.agent ? { agent: opts.agent } : { agent: false }),
        ...opts.tls,
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (data += d));
        res.on('end', () => {
          let body: unknown = data;
          try {
            body = JSON.parse(data);
          } catch {
            /* plain text body */
          }
          resolve({ status: res.statusCode ?? 0, body, reused: (res.socket as import('node:tls').TLSSocket).isSessionReused?.() ?? false });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
