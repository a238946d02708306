/**
 * One identity rule: a certificate naming two users ("CN=mallory, CN=admin", which OpenSSL issues
 * as requested) is nobody, to the default identify and to every helper; it never gets 200 as
 * admin. Real TLS; the CA and the certificates are made with the OpenSSL CLI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byCommonName, byEmail, byUri, type CertgateError } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { expectProblem, get, makePki, startHttps, type RunningServer, type TestPki } from '../helpers/clients.js';
import { makeOpensslCa, opensslOk, removeTempDirs, tempDir } from '../helpers/oracle.js';

let pki: TestPki;
let running: RunningServer;
const rejected: CertgateError[] = [];
type Client = { cert: Buffer; key: Buffer };
let twoCns: Client;
let twoSans: Client;
let admin: Client;

/** A clientAuth leaf for `subject` (and `san`, if any), signed by the OpenSSL CA in `dir`. */
function issue(dir: string, name: string, subject: string, san?: string): Client {
  const file = (f: string) => join(dir, f);
  const ext = [
    'basicConstraints = CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = clientAuth',
    'authorityKeyIdentifier = keyid:always',
    ...(san ? [`subjectAltName = ${san}`] : []),
  ];
  writeFileSync(file(`${name}.ext`), `${ext.join('\n')}\n`);
  opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(`${name}-key.pem`)]);
  opensslOk(['req', '-new', '-key', file(`${name}-key.pem`), '-subj', subject, '-out', file(`${name}.csr`)]);
  opensslOk([
    'x509',
    '-req',
    '-in',
    file(`${name}.csr`),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca-key.pem'),
    '-set_serial',
    `0x${Buffer.from(name).toString('hex')}`,
    '-days',
    '30',
    '-sha256',
    '-extfile',
    file(`${name}.ext`),
    '-out',
    file(`${name}.pem`),
  ]);
  return { cert: readFileSync(file(`${name}.pem`)), key: readFileSync(file(`${name}-key.pem`)) };
}

beforeAll(async () => {
  pki = await makePki();
  const dir = tempDir('certgate-identity-');
  const ca = makeOpensslCa(dir, { keyUsage: 'keyCertSign, cRLSign', cn: 'Identity Test CA' });
  twoCns = issue(dir, 'two-cns', '/O=certgate test/CN=mallory/CN=admin');
  twoSans = issue(
    dir,
    'two-sans',
    '/O=certgate test/CN=mallory',
    [
      'email:mallory@bank.example',
      'email:admin@bank.example',
      'URI:spiffe://bank.example/mallory',
      'URI:spiffe://bank.example/admin',
    ].join(', '),
  );
  admin = issue(dir, 'admin', '/O=certgate test/CN=admin', 'email:admin@bank.example, URI:spiffe://bank.example/admin');

  const app = express();
  const onReject = (e: CertgateError) => rejected.push(e);
  const adminTable = { roles: ['admin'] };
  app.use('/default', requireClientCert({ onReject }));
  app.use('/by-cn', requireClientCert({ identify: byCommonName({ admin: adminTable }), roles: ['admin'], onReject }));
  app.use(
    '/by-email',
    requireClientCert({ identify: byEmail({ 'admin@bank.example': adminTable }), roles: ['admin'], onReject }),
  );
  app.use(
    '/by-uri',
    requireClientCert({ identify: byUri({ 'spiffe://bank.example/admin': adminTable }), roles: ['admin'], onReject }),
  );
  app.get(/.*/, (req, res) => {
    res.json({ user: req.clientCert?.user, roles: req.clientCert?.roles });
  });
  running = await startHttps(pki, app, { ca: readFileSync(ca.cert) });
});

afterAll(async () => {
  await running?.close();
  removeTempDirs();
});

const as = (client: Client, path: string) => get(running.port, path, { ca: pki.ca, client });

describe('a certificate with two subject CNs (CN=mallory, CN=admin)', () => {
  it.each(['/default', '/by-cn'])('is refused on %s with IDENTITY_UNKNOWN, never 200', async (path) => {
    rejected.length = 0;
    expectProblem(await as(twoCns, path), 403, 'IDENTITY_UNKNOWN');
    expect(rejected[0]?.detail).toContain('2 subject CNs ("mallory", "admin")');
  });

  it('while the single-CN admin certificate of the same CA is served', async () => {
    const reply = await as(admin, '/by-cn');
    expect({ status: reply.status, user: reply.body.user }).toEqual({ status: 200, user: 'admin' });
    expect((await as(admin, '/default')).body.user).toBe('admin');
  });
});

describe('a certificate with two SAN emails and two SAN URIs (mallory and admin)', () => {
  it.each(['/by-email', '/by-uri'])('is refused on %s with IDENTITY_UNKNOWN, never 200', async (path) => {
    expectProblem(await as(twoSans, path), 403, 'IDENTITY_UNKNOWN');
    expect((await as(admin, path)).status).toBe(200);
  });
});
