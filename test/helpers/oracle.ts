/**
 * Fixture builders and OpenSSL-CLI oracles for the verifier tests. Everything here shells out to
 * `openssl` (or runs certgate's dev PKI generator) so the certificates under test are not made by
 * the code under test's own ASN.1 stack, and so OpenSSL's verdicts can serve as an independent
 * reference.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDevPki, type DevClientName, type DevPkiFiles } from '../../src/devpki/generate.js';

export const OPENSSL_PKI_SCRIPT = fileURLToPath(new URL('../fixtures/openssl-pki.sh', import.meta.url));

const tempDirs: string[] = [];

/** A fresh temporary directory, removed by {@link removeTempDirs}. */
export function tempDir(prefix = 'certgate-oracle-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the OpenSSL CLI; a non-zero exit is a result, not an exception. */
export function openssl(args: readonly string[], cwd?: string, input?: string): CommandResult {
  const res = spawnSync('openssl', args, { cwd, encoding: 'utf8', input });
  if (res.error) throw res.error;
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Runs the OpenSSL CLI and throws with its output when it fails (for fixture building). */
export function opensslOk(args: readonly string[], cwd?: string, input?: string): string {
  const res = openssl(args, cwd, input);
  if (res.status !== 0)
    throw new Error(`openssl ${args.join(' ')} failed (${res.status}):\n${res.stdout}${res.stderr}`);
  return res.stdout;
}

/** Every PEM block with `label`, each as its own PEM string (header and footer included). */
export function pemBlocks(text: string | Buffer, label = 'CERTIFICATE'): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----\\n?`, 'g');
  return [...String(text).matchAll(re)].map((m) => (m[0].endsWith('\n') ? m[0] : `${m[0]}\n`));
}

/** DER of the first PEM block in `pem`. */
export function pemToDer(pem: string | Buffer): Buffer {
  const m = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END/.exec(String(pem));
  if (!m) throw new Error('no PEM block');
  return Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64');
}

/** OpenSSL's rendering of the serial number (`openssl x509 -serial`), without `serial=`. */
export function opensslSerial(certPath: string): string {
  return opensslOk(['x509', '-in', certPath, '-noout', '-serial'])
    .trim()
    .replace(/^serial=/, '');
}

/** OpenSSL's RFC 2253 / RFC 4514 rendering of the subject name. */
export function opensslSubjectRfc2253(certPath: string): string {
  return opensslOk(['x509', '-in', certPath, '-noout', '-subject', '-nameopt', 'RFC2253'])
    .trim()
    .replace(/^subject=/, '');
}

/** nextUpdate of every CRL in `pem` (one or more X509 CRL blocks), as OpenSSL reads them. */
export function opensslCrlNextUpdates(pem: string): Date[] {
  return pemBlocks(pem, 'X509 CRL').map((block) => {
    const out = opensslOk(['crl', '-noout', '-nextupdate'], undefined, block)
      .trim()
      .replace(/^nextUpdate=/, '');
    const d = new Date(out);
    if (Number.isNaN(d.getTime())) throw new Error(`cannot parse OpenSSL date ${out}`);
    return d;
  });
}

export interface OpensslVerdict {
  ok: boolean;
  status: number | null;
  output: string;
}

export interface OpensslVerifyInput {
  /** Trust anchors file. */
  caFile: string;
  /** Untrusted intermediates file (may be omitted). */
  untrustedFile?: string;
  /** CRL files; when given, `-crl_check_all` is used. */
  crlFiles?: readonly string[];
  /** `openssl verify -purpose` value; default sslclient. */
  purpose?: string;
  /** Extra arguments (e.g. `-attime`). */
  extra?: readonly string[];
}

/** `openssl verify -x509_strict ...`; exit status 0 means accepted. */
export function opensslVerify(leafFile: string, input: OpensslVerifyInput): OpensslVerdict {
  const args = ['verify', '-x509_strict', '-purpose', input.purpose ?? 'sslclient', '-CAfile', input.caFile];
  if (input.untrustedFile) args.push('-untrusted', input.untrustedFile);
  if (input.crlFiles?.length) {
    args.push('-crl_check_all');
    for (const f of input.crlFiles) args.push('-CRLfile', f);
  }
  args.push(...(input.extra ?? []), leafFile);
  const res = openssl(args);
  return { ok: res.status === 0, status: res.status, output: `${res.stdout}${res.stderr}` };
}

// ---------------------------------------------------------------------------------------------
// The OpenSSL-made PKI (test/fixtures/openssl-pki.sh)

export const OPENSSL_LEAVES = [
  'good',
  'revoked',
  'expired',
  'serveronly',
  'ed25519',
  'pss',
  'selfsigned',
  'wrongsig',
  'noca-issued',
] as const;
export type OpensslLeaf = (typeof OPENSSL_LEAVES)[number];

export interface OpensslPki {
  dir: string;
  /** Absolute path of a file in the PKI directory. */
  path(name: string): string;
  /** Text of a file in the PKI directory. */
  read(name: string): string;
  ca: string;
  intermediate: string;
  /** The intermediate's CRL (revokes `revoked`). */
  crl: string;
  rootCrl: string;
  eeIssuer: string;
  leaf: Record<OpensslLeaf | 'untrusted-ee-issuer', string>;
}

/** Runs test/fixtures/openssl-pki.sh into a fresh temporary directory. */
export function makeOpensslPki(): OpensslPki {
  const dir = tempDir('certgate-openssl-pki-');
  const res = spawnSync('bash', [OPENSSL_PKI_SCRIPT, dir], { encoding: 'utf8' });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`openssl-pki.sh failed (${res.status}):\n${res.stdout}${res.stderr}`);
  const path = (name: string) => join(dir, name);
  const read = (name: string) => readFileSync(path(name), 'utf8');
  const leaf = Object.fromEntries(
    [...OPENSSL_LEAVES, 'untrusted-ee-issuer'].map((n) => [n, read(`${n}.pem`)]),
  ) as OpensslPki['leaf'];
  return {
    dir,
    path,
    read,
    ca: read('ca.pem'),
    intermediate: read('intermediate.pem'),
    crl: read('crl.pem'),
    rootCrl: read('root-crl.pem'),
    eeIssuer: read('untrusted-ee-issuer.pem'),
    leaf,
  };
}

// ---------------------------------------------------------------------------------------------
// The dev PKI (src/devpki/generate.ts)

export interface DevPki {
  files: DevPkiFiles;
  /** Root certificate PEM (the trust anchor). */
  ca: string;
  intermediate: string;
  /** Both CRLs (intermediate's, then root's). */
  crl: string;
  /** leaf + intermediate, as written to `<name>.pem`. */
  chain: Record<DevClientName, string>;
  /** The leaf certificate alone. */
  leaf: Record<DevClientName, string>;
  /** Path of a file holding the leaf alone. */
  leafFile: Record<DevClientName, string>;
}

export const DEV_CLIENTS: readonly DevClientName[] = ['alice', 'bob', 'mallory', 'eve'];

export async function makeDevPki(): Promise<DevPki> {
  const dir = tempDir('certgate-devpki-');
  const files = await generateDevPki(join(dir, 'pki'));
  const chain = {} as Record<DevClientName, string>;
  const leaf = {} as Record<DevClientName, string>;
  const leafFile = {} as Record<DevClientName, string>;
  for (const name of DEV_CLIENTS) {
    chain[name] = readFileSync(files.clients[name].cert, 'utf8');
    leaf[name] = pemBlocks(chain[name])[0] as string;
    leafFile[name] = join(dir, `${name}-leaf.pem`);
    writeFileSync(leafFile[name], leaf[name]);
  }
  return {
    files,
    ca: readFileSync(files.caBundle, 'utf8'),
    intermediate: readFileSync(files.intermediateCert, 'utf8'),
    crl: readFileSync(files.crl, 'utf8'),
    chain,
    leaf,
    leafFile,
  };
}

// ---------------------------------------------------------------------------------------------
// Extra fixtures made with the OpenSSL CLI on top of the OpenSSL PKI

const EXT_CONFIG = `
[ req ]
distinguished_name = req_dn
[ req_dn ]

[ int_real_ski ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ int_no_ski ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = none
authorityKeyIdentifier = keyid:always

[ leaf ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ selfsigned_leaf ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash

[ crl_ca ]
database         = index.txt
default_md       = sha256
default_crl_days = 30
`;

function workDir(prefix: string): string {
  const dir = tempDir(prefix);
  writeFileSync(join(dir, 'ext.cnf'), EXT_CONFIG);
  return dir;
}

function newEcKey(dir: string, name: string): string {
  const file = join(dir, `${name}-key.pem`);
  opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  return file;
}

/** Issues `<name>.pem` in `dir` for `keyFile` and `subject`, signed by caCert/caKey. */
function issue(
  dir: string,
  name: string,
  opts: {
    keyFile: string;
    subject: string;
    caCert: string;
    caKey: string;
    extensions: string;
    serial: string;
    days?: number;
    extraExt?: string;
  },
): string {
  const csr = join(dir, `${name}.csr`);
  const out = join(dir, `${name}.pem`);
  opensslOk([
    'req',
    '-new',
    '-batch',
    '-config',
    join(dir, 'ext.cnf'),
    '-key',
    opts.keyFile,
    '-subj',
    opts.subject,
    '-out',
    csr,
  ]);
  let extFile = join(dir, 'ext.cnf');
  if (opts.extraExt) {
    extFile = join(dir, `${name}-ext.cnf`);
    writeFileSync(extFile, `${EXT_CONFIG}\n[ extra ]\n${opts.extraExt}\n`);
  }
  opensslOk([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    opts.caCert,
    '-CAkey',
    opts.caKey,
    '-set_serial',
    opts.serial,
    '-days',
    String(opts.days ?? 365),
    '-sha256',
    '-extfile',
    extFile,
    '-extensions',
    opts.extraExt ? 'extra' : opts.extensions,
    '-out',
    out,
  ]);
  return out;
}

/** The hex SKI of a certificate as OpenSSL prints it, without colons. */
function subjectKeyId(certFile: string): string {
  const out = opensslOk(['x509', '-in', certFile, '-noout', '-ext', 'subjectKeyIdentifier']);
  const m = /([0-9A-F]{2}(?::[0-9A-F]{2})+)/i.exec(out);
  if (!m) throw new Error(`no SKI in ${certFile}`);
  return (m[1] as string).replace(/:/g, '');
}

export interface SameNameIntermediates {
  /** Leaf signed by the `right` key. Its AKI names the key identifier `wrong` claims. */
  leaf: string;
  leafFile: string;
  /** Same subject as `right`, a different key, and an SKI equal to the leaf's AKI: ranked first, fails the signature. */
  wrong: string;
  /** The real issuer of `leaf` (no SKI, so it ranks after `wrong`). */
  right: string;
  rightFile: string;
  wrongFile: string;
  subject: string;
}

/**
 * Two intermediates under the OpenSSL PKI's root with the SAME subject name and different keys.
 * The leaf was signed by `right`; `wrong` carries the same subjectKeyIdentifier, so a path
 * builder that meets it first (presented first) must backtrack to `right`.
 */
export function makeSameNameIntermediates(pki: OpensslPki): SameNameIntermediates {
  const dir = workDir('certgate-samename-');
  const subject = '/O=certgate test/CN=certgate Twin Intermediate CA';
  const root = { caCert: pki.path('ca.pem'), caKey: pki.path('root-key.pem') };
  const rightKey = newEcKey(dir, 'right');
  const wrongKey = newEcKey(dir, 'wrong');
  // RFC 5280 requires an SKI in every CA certificate, so `wrong` carries a copy of right's: the
  // two rank equally, and only the signature check can tell them apart.
  const rightFile = issue(dir, 'right', {
    ...root,
    keyFile: rightKey,
    subject,
    extensions: 'int_real_ski',
    serial: '0x7002',
  });
  const signer = rightFile;
  const ski = subjectKeyId(rightFile);
  const wrongFile = issue(dir, 'wrong', {
    ...root,
    keyFile: wrongKey,
    subject,
    extensions: '',
    serial: '0x7003',
    extraExt: [
      'basicConstraints = critical, CA:TRUE, pathlen:0',
      'keyUsage = critical, keyCertSign, cRLSign',
      `subjectKeyIdentifier = ${ski.match(/../g)?.join(':')}`,
      'authorityKeyIdentifier = keyid:always',
    ].join('\n'),
  });
  const leafKey = newEcKey(dir, 'twin-leaf');
  // A serial with the high bit set: DER needs a leading zero byte that must not be printed.
  const leafFile = issue(dir, 'twin-leaf', {
    caCert: signer,
    caKey: rightKey,
    keyFile: leafKey,
    subject: '/O=certgate test/OU=clients/CN=twin-leaf',
    extensions: 'leaf',
    serial: '0xFF01',
  });
  if (subjectKeyId(wrongFile) !== ski) throw new Error('fixture: wrong intermediate does not carry the crafted SKI');
  return {
    leaf: readFileSync(leafFile, 'utf8'),
    leafFile,
    wrong: readFileSync(wrongFile, 'utf8'),
    wrongFile,
    right: readFileSync(rightFile, 'utf8'),
    rightFile,
    subject,
  };
}

export interface ShortLivedIntermediate {
  intermediate: string;
  intermediateFile: string;
  leaf: string;
  leafFile: string;
}

/** An intermediate valid for `days` days issuing a leaf that outlives it (a year). */
export function makeShortLivedIntermediate(pki: OpensslPki, days = 2): ShortLivedIntermediate {
  const dir = workDir('certgate-shortlived-');
  const intKey = newEcKey(dir, 'short-int');
  const intermediateFile = issue(dir, 'short-int', {
    caCert: pki.path('ca.pem'),
    caKey: pki.path('root-key.pem'),
    keyFile: intKey,
    subject: '/O=certgate test/CN=certgate Short-lived Intermediate CA',
    extensions: 'int_real_ski',
    serial: '0x7101',
    days,
  });
  const leafKey = newEcKey(dir, 'short-leaf');
  const leafFile = issue(dir, 'short-leaf', {
    caCert: intermediateFile,
    caKey: intKey,
    keyFile: leafKey,
    subject: '/O=certgate test/OU=clients/CN=outlives-its-issuer',
    extensions: 'leaf',
    serial: '0x7102',
    days: 365,
  });
  return {
    intermediate: readFileSync(intermediateFile, 'utf8'),
    intermediateFile,
    leaf: readFileSync(leafFile, 'utf8'),
    leafFile,
  };
}

/**
 * A CRL whose issuer field names the OpenSSL PKI's intermediate but which is signed with the
 * ROOT key (and carries no authorityKeyIdentifier, so only the signature check can catch it).
 * It lists no revocations, so a verifier that skipped the signature check would call `revoked` good.
 */
export function makeWronglySignedCrl(pki: OpensslPki): { pem: string; file: string } {
  const dir = workDir('certgate-badcrl-');
  writeFileSync(join(dir, 'index.txt'), '');
  // The intermediate's subject exactly as openssl-pki.sh spells it.
  const subject = '/O=certgate test/CN=certgate Test Intermediate CA';
  // `openssl ca -gencrl` takes the CRL issuer from -cert and insists the key matches it.
  const impostor = join(dir, 'impostor.pem');
  opensslOk([
    'req',
    '-x509',
    '-new',
    '-batch',
    '-config',
    join(dir, 'ext.cnf'),
    '-key',
    pki.path('root-key.pem'),
    '-subj',
    subject,
    '-days',
    '30',
    '-out',
    impostor,
  ]);
  const out = join(dir, 'bad-crl.pem');
  opensslOk(
    [
      'ca',
      '-gencrl',
      '-batch',
      '-config',
      join(dir, 'ext.cnf'),
      '-name',
      'crl_ca',
      '-cert',
      impostor,
      '-keyfile',
      pki.path('root-key.pem'),
      '-crldays',
      '30',
      '-out',
      out,
    ],
    dir,
  );
  return { pem: readFileSync(out, 'utf8'), file: out };
}

export interface SelfSignedOptions {
  subject: string;
  /** OpenSSL subjectAltName value, e.g. `URI:spiffe://x/y, email:a@b`. */
  san?: string;
}

/** A self-signed clientAuth certificate (to be pinned as its own trust anchor). */
export function makeSelfSigned(opts: SelfSignedOptions): { pem: string; file: string } {
  const dir = workDir('certgate-selfsigned-');
  const key = newEcKey(dir, 'ss');
  const file = join(dir, 'ss.pem');
  const args = [
    'req',
    '-x509',
    '-new',
    '-batch',
    '-config',
    join(dir, 'ext.cnf'),
    '-key',
    key,
    '-sha256',
    '-days',
    '30',
    '-subj',
    opts.subject,
    '-extensions',
    'selfsigned_leaf',
    '-out',
    file,
  ];
  if (opts.san) args.push('-addext', `subjectAltName = ${opts.san}`);
  opensslOk(args);
  return { pem: readFileSync(file, 'utf8'), file };
}

/**
 * The `openssl req`/`x509`/`ca` configuration of a small test CA: `ca_ext` for the CA (with
 * `keyUsage`), `leaf_ext` for a clientAuth leaf, `crl_ca` for `openssl ca -gencrl -name crl_ca`.
 */
export function opensslCaConfig(keyUsage = 'keyCertSign, cRLSign'): string {
  return [
    '[ req ]',
    'distinguished_name = req_dn',
    '[ req_dn ]',
    '[ ca_ext ]',
    'basicConstraints = critical, CA:TRUE',
    `keyUsage = critical, ${keyUsage}`,
    'subjectKeyIdentifier = hash',
    '[ leaf_ext ]',
    'basicConstraints = CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = clientAuth',
    'authorityKeyIdentifier = keyid:always',
    '[ crl_ca ]',
    'database = index.txt',
    'crlnumber = crlnumber',
    'default_md = sha256',
    'crl_extensions = crl_ext',
    '[ crl_ext ]',
    'authorityKeyIdentifier = keyid:always',
  ].join('\n');
}

/**
 * A self-signed CA with the given keyUsage, a clientAuth leaf it issued, and its CRL (CRL Number 1,
 * AKI, 30 days), all made with the OpenSSL CLI in `at`. Returns the files' paths.
 */
export function makeOpensslCa(
  at: string,
  ca: { keyUsage: string; cn: string },
): { cert: string; crl: string; leaf: string } {
  mkdirSync(at, { recursive: true });
  const file = (name: string) => join(at, name);
  writeFileSync(file('ca.cnf'), opensslCaConfig(ca.keyUsage));
  writeFileSync(file('index.txt'), '');
  writeFileSync(file('crlnumber'), '01\n');
  const key = (name: string) =>
    opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(name)]);
  const cnf = ['-config', file('ca.cnf')];
  key('ca-key.pem');
  opensslOk([
    'req',
    '-x509',
    '-new',
    '-batch',
    ...cnf,
    '-key',
    file('ca-key.pem'),
    '-subj',
    `/O=certgate test/CN=${ca.cn}`,
    '-extensions',
    'ca_ext',
    '-days',
    '30',
    '-out',
    file('ca.pem'),
  ]);
  key('leaf-key.pem');
  opensslOk([
    'req',
    '-new',
    '-batch',
    ...cnf,
    '-key',
    file('leaf-key.pem'),
    '-subj',
    '/O=certgate test/CN=leaf',
    '-out',
    file('leaf.csr'),
  ]);
  opensslOk([
    'x509',
    '-req',
    '-in',
    file('leaf.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca-key.pem'),
    '-set_serial',
    '0x4001',
    '-days',
    '30',
    '-sha256',
    '-extfile',
    file('ca.cnf'),
    '-extensions',
    'leaf_ext',
    '-out',
    file('leaf.pem'),
  ]);
  opensslOk(
    [
      'ca',
      '-gencrl',
      '-batch',
      ...cnf,
      '-name',
      'crl_ca',
      '-cert',
      file('ca.pem'),
      '-keyfile',
      file('ca-key.pem'),
      '-crldays',
      '30',
      '-out',
      file('crl.pem'),
    ],
    at,
  );
  return { cert: file('ca.pem'), crl: file('crl.pem'), leaf: file('leaf.pem') };
}
