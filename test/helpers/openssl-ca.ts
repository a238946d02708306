/**
 * CAs run with `openssl ca` for the revocation tests: certificates with chosen CRL distribution
 * points, revocations with a reason code (as real CAs write them), and CRLs with or without an
 * issuingDistributionPoint. The PKI is OpenSSL's, not certgate's own ASN.1 stack.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { opensslOk, pemToDer } from './oracle.js';

export class OpensslCa {
  readonly cert: string;
  readonly key: string;

  private constructor(
    readonly dir: string,
    readonly name: string,
  ) {
    this.cert = join(dir, 'ca.pem');
    this.key = join(dir, 'ca-key.pem');
  }

  /** A self-signed root named `CN=<name>`. */
  static root(parent: string, name: string): OpensslCa {
    const ca = OpensslCa.prepare(parent, name);
    newKey(ca.key);
    const config = ca.config(['[ ext ]', ...caExtensions([])]);
    opensslOk(
      ['req', '-x509', '-new', '-batch', '-config', config, '-key', ca.key, '-subj', subject(name)].concat([
        '-extensions',
        'ext',
        '-days',
        '30',
        '-out',
        ca.cert,
      ]),
    );
    return ca;
  }

  private static prepare(parent: string, name: string): OpensslCa {
    const dir = join(parent, name.replace(/\W+/g, '-'));
    mkdirSync(join(dir, 'new'), { recursive: true });
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'crlnumber'), '1000\n');
    return new OpensslCa(dir, name);
  }

  /**
   * A CA certificate under this one, its CRL distribution points `crlUrls`; `extra`: more lines of
   * its OpenSSL extension section (and sections they name, after a `[ name ]` line).
   */
  intermediate(name: string, crlUrls: readonly string[], extra: readonly string[] = []): OpensslCa {
    const ca = OpensslCa.prepare(this.dir, name);
    newKey(ca.key);
    this.sign(ca.key, name, [...caExtensions(crlUrls), ...extra], ca.cert);
    return ca;
  }

  /** A client certificate under this CA: its PEM file (leaf then this CA) and key file; `extra` as above. */
  leaf(
    name: string,
    crlUrls: readonly string[],
    extra: readonly string[] = [],
  ): { chain: Buffer; key: Buffer; file: string } {
    const key = join(this.dir, `${name}-key.pem`);
    const file = join(this.dir, `${name}.pem`);
    newKey(key);
    const ext = [
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
      ...dpLine(crlUrls),
      ...extra,
    ];
    this.sign(key, name, ext, file);
    return { chain: Buffer.concat([readFileSync(file), readFileSync(this.cert)]), key: readFileSync(key), file };
  }

  revoke(certFile: string, reason = 'keyCompromise'): void {
    opensslOk(['ca', '-batch', '-config', this.config(), '-revoke', certFile, '-crl_reason', reason]);
  }

  /**
   * Adds `count` revoked entries with random serials to this CA's database, as `openssl ca -revoke`
   * would write them, reason codes in turn: what a large CA's CRL is made of.
   */
  revokeMany(count: number): void {
    const reasons = ['keyCompromise', 'superseded', 'cessationOfOperation', 'affiliationChanged'];
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const serial = randomBytes(16).toString('hex').toUpperCase().replace(/^./, '4');
      lines.push(`R\t301231235959Z\t260101000000Z,${reasons[i % reasons.length]}\t${serial}\tunknown\t/CN=bulk-${i}\n`);
    }
    appendFileSync(join(this.dir, 'index.txt'), lines.join(''));
  }

  /**
   * A CRL (DER) over this CA's revocations; `idp`: a partition CRL for these URLs (critical IDP);
   * `crlNumber`: the CRL number to use (a CA may number each scope on its own).
   */
  crl(idp?: readonly string[], crlNumber?: number): Buffer {
    const out = join(this.dir, 'crl.pem');
    if (crlNumber !== undefined)
      writeFileSync(join(this.dir, 'crlnumber'), `${crlNumber.toString(16).padStart(2, '0')}\n`);
    const sections = idp
      ? ['[ crl_ext ]', 'authorityKeyIdentifier = keyid:always', 'issuingDistributionPoint = critical, @idp'].concat([
          '[ idp ]',
          `fullname = ${idp.map((u) => `URI:${u}`).join(', ')}`,
        ])
      : ['[ crl_ext ]', 'authorityKeyIdentifier = keyid:always'];
    const config = this.config(sections);
    opensslOk(['ca', '-gencrl', '-batch', '-config', config, '-crlexts', 'crl_ext', '-crlhours', '24', '-out', out]);
    return pemToDer(readFileSync(out, 'utf8'));
  }

  private sign(keyFile: string, name: string, ext: string[], out: string): void {
    const csr = `${out}.csr`;
    opensslOk([
      'req',
      '-new',
      '-batch',
      '-config',
      this.config(),
      '-key',
      keyFile,
      '-subj',
      subject(name),
      '-out',
      csr,
    ]);
    const extFile = this.extFile(name, ext);
    opensslOk(
      ['ca', '-batch', '-notext', '-config', this.config(), '-in', csr, '-out', out].concat([
        '-extfile',
        extFile,
        '-extensions',
        'ext',
        '-days',
        '30',
      ]),
    );
  }

  private extFile(name: string, lines: string[]): string {
    const file = join(this.dir, `${name.replace(/\W+/g, '-')}.ext`);
    writeFileSync(file, ['[ ext ]', ...lines].join('\n'));
    return file;
  }

  private config(extra: string[] = []): string {
    const file = join(this.dir, 'ca.cnf');
    const d = this.dir;
    writeFileSync(
      file,
      [
        '[ ca ]',
        'default_ca = this',
        '[ this ]',
        `database = ${d}/index.txt`,
        `new_certs_dir = ${d}/new`,
        `certificate = ${this.cert}`,
        `private_key = ${this.key}`,
        `crlnumber = ${d}/crlnumber`,
        'default_md = sha256',
        'default_days = 30',
        'policy = any',
        'unique_subject = no',
        'rand_serial = yes',
        '[ any ]',
        'organizationName = optional',
        'commonName = supplied',
        '[ req ]',
        'distinguished_name = dn',
        '[ dn ]',
        ...extra,
      ].join('\n'),
    );
    return file;
  }
}

function subject(name: string): string {
  return `/O=certgate test/CN=${name}`;
}

function newKey(file: string): void {
  opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

function dpLine(urls: readonly string[]): string[] {
  return urls.length > 0 ? [`crlDistributionPoints = ${urls.map((u) => `URI:${u}`).join(', ')}`] : [];
}

function caExtensions(crlUrls: readonly string[]): string[] {
  return [
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
    ...dpLine(crlUrls),
  ];
}
