/**
 * The OpenSSL OCSP responder as a peer: `openssl ocsp -index ... -CA ... -rsigner ...` answers
 * every request. `openssl ocsp -port` listens on all interfaces and cannot be bound to 127.0.0.1,
 * so each POST is handed to the same responder code one request at a time (`-reqin`/`-respout`)
 * behind an HTTP server on 127.0.0.1, which can also go down, answer slowly or serve garbage.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { opensslOk, tempDir } from './oracle.js';

const run = promisify(execFile);
export const OCSP_PKI_SCRIPT = fileURLToPath(new URL('../fixtures/openssl-ocsp-pki.sh', import.meta.url));

export type OcspLeaf = 'good' | 'revoked' | 'unlisted' | 'noaia';
/** Who signs responses: the CA, a delegated responder, a CA-issued certificate without OCSPSigning, or a look-alike CA with another key. */
export type OcspSigner = 'ca' | 'responder' | 'noeku' | 'impostor';

export class OpensslOcspResponder {
  mode: 'openssl' | 'slow' | 'garbage' | 'http-error' = 'openssl';
  signer: OcspSigner = 'ca';
  /** Passed as `-nmin`: answers then carry a nextUpdate this many minutes ahead. */
  nextUpdateMinutes: number | undefined;
  /** Requests received (each one an OCSP question). */
  requests = 0;
  port = 0;
  dir = '';
  private seq = 0;
  private readonly server = http.createServer((req, res) => {
    this.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.mode === 'slow') return; // never answers: the client's timeout must fire
      if (this.mode === 'garbage') return void res.end('<html>captive portal</html>');
      if (this.mode === 'http-error') {
        res.statusCode = 500;
        return void res.end();
      }
      this.answer(Buffer.concat(chunks)).then(
        (der) => {
          res.setHeader('content-type', 'application/ocsp-response');
          res.end(der);
        },
        (err: Error) => {
          res.statusCode = 500;
          res.end(String(err.message));
        },
      );
    });
  });

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** Listens on a free port first, so the certificates' AIA can name it, then builds the PKI. */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.dir = tempDir('certgate-ocsp-');
    opensslOk(['version']); // fails early and clearly if openssl is missing
    await run('bash', [OCSP_PKI_SCRIPT, this.dir, this.url]);
  }

  /** Stops listening (connections are refused) until {@link up}. */
  async down(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async up(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    if (this.server.listening) await this.down();
  }

  file(name: string): string {
    return join(this.dir, name);
  }

  pem(name: string): Buffer {
    return readFileSync(this.file(`${name}.pem`));
  }

  client(name: OcspLeaf | 'noeku'): { cert: Buffer; key: Buffer } {
    return { cert: this.pem(name), key: this.pem(`${name}-key`) };
  }

  /** Marks a valid certificate revoked in the responder's index (the next answer says so). */
  revoke(name: OcspLeaf): void {
    const index = this.file('index.txt');
    const revokedAt = new Date(Date.now() - 60_000).toISOString().replace(/^\d\d|[-T:]|\.\d+/g, '');
    const lines = readFileSync(index, 'utf8')
      .split('\n')
      .map((line) => (line.endsWith(`/CN=${name}`) ? line.replace(/^V\t([^\t]*)\t\t/, `R\t$1\t${revokedAt},keyCompromise\t`) : line));
    writeFileSync(index, lines.join('\n'));
  }

  private async answer(request: Buffer): Promise<Buffer> {
    const n = ++this.seq;
    const reqFile = this.file(`req-${n}.der`);
    const respFile = this.file(`resp-${n}.der`);
    writeFileSync(reqFile, request);
    const signer = this.signer;
    await run('openssl', [
      'ocsp',
      '-index', this.file('index.txt'),
      '-CA', this.file('ca.pem'),
      '-rsigner', this.file(`${signer}.pem`),
      '-rkey', this.file(`${signer}-key.pem`),
      ...(this.nextUpdateMinutes === undefined ? [] : ['-nmin', String(this.nextUpdateMinutes)]),
      '-reqin', reqFile,
      '-respout', respFile,
    ]);
    return readFileSync(respFile);
  }
}
