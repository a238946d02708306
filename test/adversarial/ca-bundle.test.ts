/**
 * The anchor model over real mTLS on 127.0.0.1, with a PKI made by the OpenSSL CLI: a root and
 * two intermediates, the root's CRL revoking intermediate A, a client leaf under each. The `ca`
 * option holds the common "ca-chain.pem" bundle (root and both intermediates). An intermediate
 * next to the root that issued it is not a path end: the path goes on to the root, whose CRL
 * applies to the intermediate, so A's client is refused CERT_REVOKED, as Node's own check and
 * `openssl verify -crl_check_all` say, while B's client is accepted. Configured alone (no root),
 * an intermediate still anchors a partial chain, as before.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCertGuard, createVerifier, type ClientCertGuard } from 'certgate';
import { get, makePki, startHttps, type RunningServer, type TestPki } from '../helpers/clients.js';
import { opensslOk, opensslVerify, removeTempDirs, tempDir } from '../helpers/oracle.js';
import { issue, issueCrl } from '../unit/pki.js';

const AT = Date.UTC(2025, 0, 1);

const CONFIG = `
[ req ]
distinguished_name = req_dn
[ req_dn ]
[ root_ca ]
database = root-db.txt
new_certs_dir = .
serial = root-serial
crlnumber = root-crlnumber
certificate = root.pem
private_key = root-key.pem
default_md = sha256
default_days = 30
default_crl_days = 30
policy = policy_any
unique_subject = no
crl_extensions = crl_ext
[ int_crl ]
database = int-db.txt
crlnumber = int-crlnumber
default_md = sha256
default_crl_days = 30
crl_extensions = crl_ext
[ policy_any ]
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
[ root_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ int_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ leaf_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid:always
`;

interface BundlePki {
  dir: string;
  file(name: string): string;
  read(name: string): string;
}

/**
 * Root, intermediates A and B, a leaf under each; the root's CRL revokes A; empty CRLs of A and B.
 * `rootDigest` signs the root's self-signature only (a SHA-1 root is still a fine anchor).
 */
function makeBundlePki(rootDigest = 'sha256'): BundlePki {
  const dir = tempDir('certgate-ca-bundle-');
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const run = (args: string[]) => opensslOk(args, dir);
  writeFileSync(file('openssl.cnf'), CONFIG);
  for (const db of ['root-db.txt', 'int-db.txt']) writeFileSync(file(db), '');
  writeFileSync(file('root-serial'), '1000\n');
  for (const n of ['root-crlnumber', 'int-crlnumber']) writeFileSync(file(n), '01\n');
  const cnf = ['-config', 'openssl.cnf'];
  const key = (name: string) =>
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}-key.pem`]);
  const csr = (name: string, cn: string) =>
    run(['req', '-new', '-batch', ...cnf, '-key', `${name}-key.pem`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
  key('root');
  run(
    ['req', '-x509', '-new', '-batch', `-${rootDigest}`, ...cnf, '-key', 'root-key.pem'].concat([
      '-subj',
      '/CN=Bundle Root',
      '-extensions',
      'root_ext',
      '-days',
      '30',
      '-out',
      'root.pem',
    ]),
  );
  for (const ab of ['a', 'b']) {
    key(`int-${ab}`);
    csr(`int-${ab}`, `Bundle Intermediate ${ab.toUpperCase()}`);
    run(
      ['ca', '-batch', '-notext', ...cnf, '-name', 'root_ca', '-extensions', 'int_ext'].concat([
        '-in',
        `int-${ab}.csr`,
        '-out',
        `int-${ab}.pem`,
      ]),
    );
    key(`leaf-${ab}`);
    csr(`leaf-${ab}`, `client ${ab}`);
    run(
      ['x509', '-req', '-in', `leaf-${ab}.csr`, '-CA', `int-${ab}.pem`, '-CAkey', `int-${ab}-key.pem`].concat(
        ['-set_serial', '0x4001', '-days', '30', '-sha256', '-extfile', 'openssl.cnf', '-extensions', 'leaf_ext'],
        ['-out', `leaf-${ab}.pem`],
      ),
    );
    run(
      ['ca', '-gencrl', '-batch', ...cnf, '-name', 'int_crl', '-cert', `int-${ab}.pem`].concat([
        '-keyfile',
        `int-${ab}-key.pem`,
        '-out',
        `int-${ab}-crl.pem`,
      ]),
    );
  }
  run(['ca', '-batch', ...cnf, '-name', 'root_ca', '-revoke', 'int-a.pem', '-crl_reason', 'keyCompromise']);
  run(['ca', '-gencrl', '-batch', ...cnf, '-name', 'root_ca', '-out', 'root-crl.pem']);
  const read = (name: string) => readFileSync(file(name), 'utf8');
  writeFileSync(file('ca-chain.pem'), read('int-a.pem') + read('int-b.pem') + read('root.pem'));
  writeFileSync(file('crls.pem'), read('root-crl.pem') + read('int-a-crl.pem') + read('int-b-crl.pem'));
  return { dir, file, read };
}

let pki: BundlePki;
let dev: TestPki;
let srv: RunningServer;
/** Node's own verdict on the connection (the server has the bundle and the CRLs as `ca` and `crl`). */
const nodeSays = new Map<string, string>();

beforeAll(async () => {
  [pki, dev] = [makeBundlePki(), await makePki()];
  const crl = pki.read('crls.pem');
  const guards: Record<string, ClientCertGuard> = {
    '/bundle': clientCertGuard({ ca: pki.read('ca-chain.pem'), crl }),
    '/alone-a': clientCertGuard({ ca: pki.read('int-a.pem'), crl }),
    '/alone-b': clientCertGuard({ ca: pki.read('int-b.pem'), crl }),
  };
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const [path, client] = (req.url ?? '').split('?') as [string, string];
    nodeSays.set(client, String((req.socket as TLSSocket).authorizationError ?? 'authorized'));
    const o = await (guards[path] as ClientCertGuard).check(req);
    res.statusCode = o.ok ? 200 : o.error.status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(o.ok ? { cn: o.clientCert.certificate.subject.CN } : { code: o.error.code }));
  };
  // Node reads one CRL per PEM string.
  const nodeCrls = ['root-crl.pem', 'int-a-crl.pem', 'int-b-crl.pem'].map((f) => pki.read(f));
  srv = await startHttps(dev, (req, res) => void handler(req, res), { ca: pki.read('ca-chain.pem'), crl: nodeCrls });
});
afterAll(async () => {
  await srv?.close();
  removeTempDirs();
});

const request = (path: string, ab: 'a' | 'b') =>
  get(srv.port, `${path}?${path}-${ab}`, {
    ca: dev.ca,
    client: { cert: readFileSync(pki.file(`leaf-${ab}.pem`)), key: readFileSync(pki.file(`leaf-${ab}-key.pem`)) },
  });

describe('a ca-chain.pem bundle: root plus intermediates', () => {
  it("the revoked intermediate's client gets 401 CERT_REVOKED, as Node and openssl verify say", async () => {
    const reply = await request('/bundle', 'a');
    expect([reply.status, reply.body.code]).toEqual([401, 'CERT_REVOKED']);
    expect(nodeSays.get('/bundle-a')).toBe('CERT_REVOKED');
    const openssl = opensslVerify(pki.file('leaf-a.pem'), {
      caFile: pki.file('ca-chain.pem'),
      crlFiles: [pki.file('crls.pem')],
    });
    expect(openssl.ok).toBe(false);
    expect(openssl.output).toMatch(/certificate revoked/);
  });

  it("the other intermediate's client gets 200, as Node and openssl verify say", async () => {
    const reply = await request('/bundle', 'b');
    expect([reply.status, reply.body.cn]).toEqual([200, 'client b']);
    expect(nodeSays.get('/bundle-b')).toBe('authorized');
    const openssl = opensslVerify(pki.file('leaf-b.pem'), {
      caFile: pki.file('ca-chain.pem'),
      crlFiles: [pki.file('crls.pem')],
    });
    expect(openssl).toMatchObject({ ok: true });
  });
});

describe('an intermediate configured alone still anchors a partial chain', () => {
  it.each(['a', 'b'] as const)("ca: int-%s.pem only: its client gets 200 (the root's CRL has no say)", async (ab) => {
    const reply = await request(`/alone-${ab}`, ab);
    expect([reply.status, reply.body.cn]).toEqual([200, `client ${ab}`]);
  });
});

describe('the anchor model without sockets', () => {
  it('two CAs that issue each other, neither self-signed, both configured: each still ends a path', async () => {
    const at = Date.UTC(2025, 0, 1);
    const signerB = await issue({ subject: 'CN=Loop B', ca: true });
    const a = await issue({ subject: 'CN=Loop A', issuer: signerB, ca: true });
    const b = await issue({ subject: 'CN=Loop B', issuer: a, ca: true, keys: signerB.keys });
    const leaf = await issue({ subject: 'CN=loop leaf', issuer: a, eku: ['1.3.6.1.5.5.7.3.2'] });
    const r = await createVerifier({ ca: [a.cert.der, b.cert.der], clock: { now: () => at } }).verify(leaf.cert.der);
    expect(r.ok ? r.chain.map((c) => c.subject.CN) : r.code).toEqual(['loop leaf', 'Loop A']);
  });

  // Found in review: demotion once needed the issuer's signature to verify and a chain to a
  // self-signed root, so these two bundles still ended the path at the revoked intermediate.
  it("a bundle without its root (I1 + I2): I1's CRL revoking I2 refuses I2's clients", async () => {
    const offline = await issue({ subject: 'CN=Offline Root', ca: true, omit: ['aki'] });
    const i1 = await issue({ subject: 'CN=Bundle I1', issuer: offline, ca: true });
    const i2 = await issue({ subject: 'CN=Bundle I2', issuer: i1, ca: true, serial: '0bad' });
    const leaf = await issue({ subject: 'CN=i2 leaf', issuer: i2, eku: ['1.3.6.1.5.5.7.3.2'] });
    const crl = await issueCrl(i1, ['0bad'], AT);
    const verifier = createVerifier({ ca: [i1.cert.der, i2.cert.der], crl, clock: { now: () => AT } });
    const r = await verifier.verify(leaf.cert.der);
    expect(r.ok ? 'accepted' : r.code).toBe('CERT_REVOKED');
  });

  it('an intermediate whose issuer signature certgate refuses is not made an anchor by the refusal', async () => {
    const root = await issue({ subject: 'CN=Strict Root', ca: true, omit: ['aki'] });
    const inter = await issue({ subject: 'CN=SHA-1 Inter', issuer: root, ca: true, hash: 'SHA-1' });
    const leaf = await issue({ subject: 'CN=sha1 leaf', issuer: inter, eku: ['1.3.6.1.5.5.7.3.2'] });
    const verifier = createVerifier({ ca: [root.cert.der, inter.cert.der], clock: { now: () => AT } });
    const r = await verifier.verify(leaf.cert.der);
    expect(r.ok ? 'accepted' : r.code).toBe('CERT_ALGORITHM_UNSUPPORTED');
  });
});

describe('a bundle whose root self-signature is SHA-1 (never checked: the root is an anchor)', () => {
  it("the root's CRL still applies to the intermediates: A's client CERT_REVOKED, B's accepted", async () => {
    const sha1 = makeBundlePki('sha1');
    const verifier = createVerifier({ ca: sha1.read('ca-chain.pem'), crl: sha1.read('crls.pem') });
    const a = await verifier.verify(sha1.read('leaf-a.pem'));
    const b = await verifier.verify(sha1.read('leaf-b.pem'));
    expect([a.ok ? 'accepted' : a.code, b.ok ? 'accepted' : b.code]).toEqual(['CERT_REVOKED', 'accepted']);
  });
});
