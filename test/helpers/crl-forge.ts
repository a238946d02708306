/**
 * CRLs made to order for the candidate-CRL attacks (test/adversarial/revocation-candidates.test.ts):
 * any signer, any issuer name, any AKI (or none), any CRL number; and a local URL serving them.
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as x509 from '@peculiar/x509';
import { issue, rawExtension, type Made } from '../unit/pki.js';

const crypto = webcrypto as unknown as Crypto;
export const NOW = Date.UTC(2026, 0, 1);
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const HOUR = 3_600_000;

function derInteger(n: number): string {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  return `02${(hex.length / 2).toString(16).padStart(2, '0')}${hex}`;
}

export interface CrlSpec {
  /** Signs with this CA (its name and key) unless `keys` overrides the key. */
  by: Made;
  keys?: CryptoKeyPair;
  number: number;
  revoked?: string[];
  /** undefined: the signer's SKI; null: no AKI; a hex string: that AKI. */
  aki?: string | null;
  thisUpdate?: number;
  nextUpdate?: number;
}

export async function makeCrl(s: CrlSpec): Promise<Buffer> {
  const extensions: x509.Extension[] = [rawExtension('2.5.29.20', false, derInteger(s.number))];
  if (s.aki !== null) extensions.push(new x509.AuthorityKeyIdentifierExtension(s.aki ?? s.by.keyId));
  const made = await x509.X509CrlGenerator.create({
    issuer: s.by.x509.subjectName,
    thisUpdate: new Date(s.thisUpdate ?? NOW - HOUR),
    nextUpdate: new Date(s.nextUpdate ?? NOW + 24 * HOUR),
    signingKey: (s.keys ?? s.by.keys).privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions,
    entries: (s.revoked ?? []).map((serialNumber) => ({ serialNumber, revocationDate: new Date(NOW - 2 * HOUR) })),
  });
  return Buffer.from(made.rawData);
}

export function newKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
}

export const der = (m: Made) => Buffer.from(m.x509.rawData);
export const randomHex = (n = 20) => randomBytes(n).toString('hex');
export const crlPem = (ders: Buffer[]) =>
  ders
    .map(
      (d) => `-----BEGIN X509 CRL-----\n${d.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END X509 CRL-----\n`,
    )
    .join('');

export interface Served {
  url: string;
  body: Buffer | string;
  /** The HTTP status to answer with (the body is sent with 200 only). */
  status: number;
  /** Requests answered so far. */
  hits: number;
  close(): Promise<void>;
}

/** One URL on 127.0.0.1 (at `path`) answering whatever `body` and `status` are now. */
export async function serveBody(path = '/ca.crl'): Promise<Served> {
  const state = { body: Buffer.alloc(0) as Buffer | string, status: 200, hits: 0 };
  const server = http.createServer((_req, res) => {
    state.hits++;
    res.statusCode = state.status;
    res.end(state.status === 200 ? state.body : undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return Object.assign(state, {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as Served;
}

/** A root, an issuing CA that clients send (never configured), and two of its clients. */
export async function clientSentPki() {
  const root = await issue({ subject: 'CN=Candidate Root', ca: true, omit: ['aki'] });
  const issuing = await issue({ subject: 'CN=Candidate Issuing CA', issuer: root, ca: true });
  const alice = await issue({ subject: 'CN=alice', issuer: issuing, eku: [CLIENT_AUTH] });
  const bob = await issue({ subject: 'CN=bob', issuer: issuing, eku: [CLIENT_AUTH] });
  return { root, issuing, alice, bob };
}
