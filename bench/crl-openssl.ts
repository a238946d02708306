/**
 * Real CRLs for the CRL benches: `openssl ca -gencrl` over an index.txt of N revoked lines, each
 * with a reason code as real CAs publish them (cessationOfOperation, superseded, keyCompromise,
 * affiliationChanged, CACompromise, in decreasing shares). Cached under bench/.cache/crl-<N>/
 * (git-ignored), keyed by size: ca.pem, ca-key.pem, client.pem/client-key.pem (not listed),
 * revoked.pem/revoked-key.pem (listed), server.pem/server-key.pem, crl.der and crl.pem (CRL number
 * 0x1000), then crl2.der/.pem (0x1001) and up over the same entries, as many as a bench asks for.
 *
 * `npx tsx bench/crl-openssl.ts [entries]` makes one ahead of time; the benches call openslCrl().
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = fileURLToPath(new URL('./.cache/', import.meta.url));

export interface OpensslCrl {
  dir: string;
  entries: number;
  der: Buffer;
  pem: Buffer;
  caPem: string;
  /** Seconds the generation took (0 when cached). */
  generatedInS: number;
  file: (name: string) => string;
}

const REASONS: readonly [string, number][] = [
  ['cessationOfOperation', 0.4],
  ['superseded', 0.3],
  ['keyCompromise', 0.15],
  ['affiliationChanged', 0.1],
  ['CACompromise', 0.05],
];

function reasonFor(x: number): string {
  let sum = 0;
  for (const [reason, share] of REASONS) {
    sum += share;
    if (x < sum) return reason;
  }
  return 'superseded';
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

const CONFIG = [
  '[ req ]',
  'distinguished_name = req_dn',
  '[ req_dn ]',
  '[ ca_ext ]',
  'basicConstraints = critical, CA:TRUE',
  'keyUsage = critical, keyCertSign, cRLSign',
  'subjectKeyIdentifier = hash',
  '[ client_ext ]',
  'basicConstraints = CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = clientAuth',
  'authorityKeyIdentifier = keyid:always',
  '[ server_ext ]',
  'basicConstraints = CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = IP:127.0.0.1',
  'authorityKeyIdentifier = keyid:always',
  '[ ca ]',
  'default_ca = crl_ca',
  '[ crl_ca ]',
  'database = index.txt',
  'crlnumber = crlnumber',
  'default_md = sha256',
  'certificate = ca.pem',
  'private_key = ca-key.pem',
  'unique_subject = no',
  'crl_extensions = crl_ext',
  '[ crl_ext ]',
  'authorityKeyIdentifier = keyid:always',
].join('\n');

function issue(dir: string, name: string, ext: string, serial: string): void {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}-key.pem`]);
  openssl(dir, [
    'req',
    '-new',
    '-config',
    'ca.cnf',
    '-key',
    `${name}-key.pem`,
    '-subj',
    `/CN=${name}`,
    '-out',
    `${name}.csr`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-set_serial',
    `0x${serial}`,
    '-extfile',
    'ca.cnf',
    '-extensions',
    ext,
    '-days',
    '30',
    '-out',
    `${name}.pem`,
  ]);
}

/** A 16-octet positive serial, as hex (first octet 0x01-0x7f, so the DER content is these 16 octets). */
const serialHex = () => {
  const s = randomBytes(16);
  s[0] = ((s[0] as number) & 0x7f) | 1;
  return s.toString('hex').toUpperCase();
};

function generate(dir: string, entries: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ca.cnf'), CONFIG);
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ca-key.pem']);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-batch',
    '-config',
    'ca.cnf',
    '-key',
    'ca-key.pem',
    '-subj',
    '/O=certgate bench/CN=certgate CRL bench CA',
    '-extensions',
    'ca_ext',
    '-days',
    '30',
    '-out',
    'ca.pem',
  ]);
  const revokedSerial = serialHex();
  issue(dir, 'client', 'client_ext', serialHex());
  issue(dir, 'revoked', 'client_ext', revokedSerial);
  issue(dir, 'server', 'server_ext', serialHex());
  const expiry = '351231235959Z';
  const revokedAt = `${new Date(Date.now() - 86_400_000).toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`;
  const lines: string[] = [`R\t${expiry}\t${revokedAt},keyCompromise\t${revokedSerial}\tunknown\t/CN=revoked`];
  for (let i = 1; i < entries; i++) {
    lines.push(`R\t${expiry}\t${revokedAt},${reasonFor(Math.random())}\t${serialHex()}\tunknown\t/CN=x`);
  }
  writeFileSync(join(dir, 'index.txt'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
  // CRLs over the same entries, CRL numbers 0x1000 and up: each refresh needs a newer one.
  for (const name of ['crl', 'crl2']) gencrl(dir, name);
}

/** The name of the k-th CRL (1-based, CRL number 0x1000 + k - 1): crl, crl2, crl3, ... */
export const crlName = (k: number) => (k === 1 ? 'crl' : `crl${k}`);

/** The next CRL (the next CRL number) of the CA in `dir`, as name.pem and name.der. */
function gencrl(dir: string, name: string): void {
  openssl(dir, ['ca', '-gencrl', '-batch', '-config', 'ca.cnf', '-crlhours', '720', '-out', `${name}.pem`]);
  openssl(dir, ['crl', '-in', `${name}.pem`, '-outform', 'DER', '-out', `${name}.der`]);
}

/**
 * The cached OpenSSL CRL of `entries` entries, generated first if missing, with at least `count`
 * successive CRLs of the same entries (crlName(1..count)).
 */
export function opensslCrl(entries: number, count = 2): OpensslCrl {
  const dir = join(CACHE, `crl-${entries}`);
  let generatedInS = 0;
  if (!existsSync(join(dir, 'crl2.der'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    const t = performance.now();
    generate(tmp, entries);
    generatedInS = (performance.now() - t) / 1000;
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  // More CRLs than the cache holds: its CA issues the next CRL numbers (about 8 s each at 1M).
  for (let k = 3; k <= count; k++) if (!existsSync(join(dir, `${crlName(k)}.der`))) gencrl(dir, crlName(k));
  const file = (name: string) => join(dir, name);
  return {
    dir,
    entries,
    der: readFileSync(file('crl.der')),
    pem: readFileSync(file('crl.pem')),
    caPem: readFileSync(file('ca.pem'), 'utf8'),
    generatedInS,
    file,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const entries = Number(process.argv[2] ?? 1_000_000);
  const crl = opensslCrl(entries);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const how = crl.generatedInS ? `generated in ${crl.generatedInS.toFixed(1)} s` : 'cached';
  const size = `DER ${mb(crl.der.length)} MB, PEM ${mb(crl.pem.length)} MB`;
  console.log(`${entries.toLocaleString('en-US')}-entry OpenSSL CRL in ${crl.dir}: ${size}, ${how}`);
}
