/**
 * Finding 8: the leaf's keyUsage was never checked, so a clientAuth leaf whose keyUsage allows only
 * keyEncipherment was accepted (OpenSSL: X509_V_ERR_INVALID_PURPOSE). A TLS client proves its key
 * with a signature (CertificateVerify), so for clientAuth a keyUsage, when present, must allow
 * digitalSignature, or keyAgreement where the key is a key-agreement key (EC, X25519, X448, DH).
 *
 * Leaves are made with the OpenSSL CLI and judged three ways: certgate over real TLS 1.3 (Express),
 * createVerifier().verify(), and `openssl verify -x509_strict -purpose sslclient`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type ReasonCode } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { get } from '../helpers/clients.js';
import { openssl, opensslOk } from '../helpers/oracle.js';
import { makePki, type TestPki } from '../helpers/clients.js';

interface Leaf {
  name: string;
  key: 'rsa' | 'ec';
  keyUsage: string | undefined;
  eku?: string;
  /** certgate's verdict for purpose clientAuth. */
  code: ReasonCode | 'ok';
  /** `openssl verify -purpose sslclient` (OpenSSL 3): accepts, or why it differs. */
  openssl: 'accepts' | 'rejects' | { accepts: string };
}

const LEAVES: readonly Leaf[] = [
  { name: 'rsa-digsig', key: 'rsa', keyUsage: 'digitalSignature', code: 'ok', openssl: 'accepts' },
  { name: 'rsa-no-ku', key: 'rsa', keyUsage: undefined, code: 'ok', openssl: 'accepts' },
  { name: 'ec-digsig-keyagree', key: 'ec', keyUsage: 'digitalSignature, keyAgreement', code: 'ok', openssl: 'accepts' },
  { name: 'ec-keyagree', key: 'ec', keyUsage: 'keyAgreement', code: 'ok', openssl: 'accepts' },
  {
    name: 'rsa-keyenc',
    key: 'rsa',
    keyUsage: 'keyEncipherment',
    code: 'CERT_PURPOSE_INVALID',
    openssl: 'rejects',
  },
  { name: 'ec-keyenc', key: 'ec', keyUsage: 'keyEncipherment', code: 'CERT_PURPOSE_INVALID', openssl: 'rejects' },
  {
    name: 'rsa-nonrepudiation',
    key: 'rsa',
    keyUsage: 'nonRepudiation, dataEncipherment',
    code: 'CERT_PURPOSE_INVALID',
    openssl: 'rejects',
  },
  {
    name: 'rsa-keyagree',
    key: 'rsa',
    keyUsage: 'keyAgreement',
    code: 'CERT_PURPOSE_INVALID',
    openssl: { accepts: 'OpenSSL allows keyAgreement whatever the key type; an RSA key cannot agree keys' },
  },
];

const CONFIG = `
[ req ]
distinguished_name = req_dn
[ req_dn ]
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
${LEAVES.map(
  (l) => `[ ${l.name} ]
basicConstraints = CA:FALSE
${l.keyUsage ? `keyUsage = critical, ${l.keyUsage}` : ''}
extendedKeyUsage = ${l.eku ?? 'clientAuth'}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`,
).join('')}`;

let dir: string;
let pki: TestPki;
let root: Buffer;
let server: https.Server;
let port: number;
/** A minute after the certificates are made (they are valid from the second they are made). */
const AT = new Date(Date.now() + 60_000);

function makeKey(file: string, type: 'rsa' | 'ec'): void {
  const args = type === 'rsa' ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] : ['-algorithm', 'EC'];
  opensslOk(['genpkey', ...args, ...(type === 'ec' ? ['-pkeyopt', 'ec_paramgen_curve:P-256'] : []), '-out', file]);
}

function makeLeaf(leaf: Leaf): void {
  const file = (suffix: string) => join(dir, `${leaf.name}${suffix}`);
  makeKey(file('-key.pem'), leaf.key);
  opensslOk(
    ['req', '-new', '-batch', '-config', join(dir, 'ca.cnf'), '-key', file('-key.pem')].concat([
      '-subj',
      `/CN=${leaf.name}`,
      '-out',
      file('.csr'),
    ]),
  );
  opensslOk([
    'x509',
    '-req',
    '-in',
    file('.csr'),
    '-CA',
    join(dir, 'root.pem'),
    '-CAkey',
    join(dir, 'root-key.pem'),
    '-set_serial',
    String(100 + LEAVES.indexOf(leaf)),
    '-days',
    '30',
    '-extfile',
    join(dir, 'ca.cnf'),
    '-extensions',
    leaf.name,
    '-out',
    file('.pem'),
  ]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-key-usage-'));
  writeFileSync(join(dir, 'ca.cnf'), CONFIG);
  makeKey(join(dir, 'root-key.pem'), 'ec');
  opensslOk([
    'req',
    '-x509',
    '-new',
    '-batch',
    '-config',
    join(dir, 'ca.cnf'),
    '-key',
    join(dir, 'root-key.pem'),
    '-subj',
    '/O=certgate test/CN=Key Usage Root',
    '-extensions',
    'ca_ext',
    '-days',
    '30',
    '-out',
    join(dir, 'root.pem'),
  ]);
  for (const leaf of LEAVES) makeLeaf(leaf);
  root = readFileSync(join(dir, 'root.pem'));
  pki = await makePki();
  const app = express();
  app.use('/banking', requireClientCert({ ca: root }));
  app.get('/banking/whoami', (req, res) => void res.json({ user: req.clientCert?.user }));
  server = https.createServer(
    { cert: pki.server.cert, key: pki.server.key, ca: root, requestCert: true, rejectUnauthorized: false },
    app,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const leafPem = (leaf: Leaf) => readFileSync(join(dir, `${leaf.name}.pem`));

describe('leaf keyUsage for clientAuth', () => {
  it.each(LEAVES)('$name: openssl verify -purpose sslclient agrees or the difference is known', (leaf) => {
    const res = openssl(
      ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', join(dir, 'root.pem')].concat(
        join(dir, `${leaf.name}.pem`),
      ),
    );
    const accepted = res.status === 0;
    expect(accepted, `${res.stdout}${res.stderr}`).toBe(leaf.openssl !== 'rejects');
    if (!accepted) expect(`${res.stdout}${res.stderr}`).toMatch(/error 26 at 0 depth/);
  });

  it.each(LEAVES)('$name: verify() answers $code', async (leaf) => {
    const verifier = createVerifier({ ca: root, clock: { now: () => AT.getTime() } });
    const result = await verifier.verify(leafPem(leaf));
    verifier.close();
    expect(result.ok ? 'ok' : result.code).toBe(leaf.code);
    if (!result.ok) expect(result.detail).toMatch(/keyUsage/);
  });

  it.each(LEAVES.filter((l) => l.code !== 'ok'))(
    '$name: the Express guard refuses it over TLS with $code',
    async (leaf) => {
      const reply = await get(port, '/banking/whoami', {
        ca: pki.ca,
        client: { cert: leafPem(leaf), key: readFileSync(join(dir, `${leaf.name}-key.pem`)) },
      });
      expect(reply.status).toBe(401);
      expect(reply.body.code).toBe(leaf.code);
    },
  );

  it('a digitalSignature leaf is accepted over TLS (control)', async () => {
    const leaf = LEAVES[0] as Leaf;
    const reply = await get(port, '/banking/whoami', {
      ca: pki.ca,
      client: { cert: leafPem(leaf), key: readFileSync(join(dir, `${leaf.name}-key.pem`)) },
    });
    expect(reply.status).toBe(200);
  });

  it('the keyUsage rule is for clientAuth: purpose false (CRL signer paths) does not apply it', async () => {
    const leaf = LEAVES.find((l) => l.name === 'rsa-keyenc') as Leaf;
    const verifier = createVerifier({ ca: root, purpose: false, clock: { now: () => AT.getTime() } });
    const result = await verifier.verify(leafPem(leaf));
    verifier.close();
    expect(result.ok).toBe(true);
  });
});
