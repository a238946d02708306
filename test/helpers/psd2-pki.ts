/**
 * PSD2 (ETSI TS 119 495) test certificates made by the OpenSSL CLI: a root CA and client
 * certificates whose qcStatements extension is built by OpenSSL's ASN.1 generator (or given as
 * raw DER for the shapes the generator cannot write, such as a truncated length), so the
 * statements under test are not made by certgate's own DER code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { opensslOk, pemToDer } from './oracle.js';
import { ROLE_OID } from './psd2-der.js';

export { PSD2_STATEMENT, QC_STATEMENTS, ROLE_OID } from './psd2-der.js';
import { PSD2_STATEMENT, QC_STATEMENTS } from './psd2-der.js';

export interface Psd2Leaf {
  /** The leaf's PEM. */
  pem: string;
  der: Buffer;
  certFile: string;
  keyFile: string;
  /** Leaf then CA, as a client sends it. */
  chain: Buffer;
  key: Buffer;
}

export interface StatementSpec {
  /** [OID, name, name's ASN.1 generator type] per role; the type defaults to UTF8. */
  roles: readonly (readonly [string, string, string?])[];
  ncaName: string;
  ncaId: string;
}

/**
 * ASN.1 generator sections for a PSD2QcType named `[psd2type]` (the caller names the statement
 * around it); non-ASCII text is written with FORMAT:UTF8 so it is encoded as UTF-8, not Latin-1.
 */
export function psd2TypeSections(spec: StatementSpec, rolesTag = 'SEQUENCE'): string {
  const roleLines = spec.roles.map((_, i) => `r${i} = SEQUENCE:role${i}`);
  const roleSections = spec.roles.flatMap(([oid, name, type], i) => [
    `[role${i}]`,
    `oid = OID:${oid}`,
    `name = FORMAT:UTF8,${type ?? 'UTF8'}:${name}`,
  ]);
  return [
    '[psd2type]',
    `roles = ${rolesTag}:roles`,
    `ncaName = FORMAT:UTF8,UTF8:${spec.ncaName}`,
    `ncaId = FORMAT:UTF8,UTF8:${spec.ncaId}`,
    '[roles]',
    ...roleLines,
    ...roleSections,
  ].join('\n');
}

/** A qcStatements value (QcCompliance, then the PSD2 statement) with its sections. */
export function qcStatementsWithPsd2(spec: StatementSpec, options: { critical?: boolean; rolesTag?: string } = {}) {
  return {
    value: `${options.critical ? 'critical,' : ''}ASN1:SEQUENCE:qcs`,
    sections: [
      '[qcs]',
      's1 = SEQUENCE:qcCompliance',
      's2 = SEQUENCE:psd2stmt',
      '[qcCompliance]',
      'id = OID:0.4.0.1862.1.1',
      '[psd2stmt]',
      `id = OID:${PSD2_STATEMENT}`,
      'info = SEQUENCE:psd2type',
      psd2TypeSections(spec, options.rolesTag),
    ].join('\n'),
  };
}

export const FCA_AI: StatementSpec = {
  roles: [[ROLE_OID.PSP_AI, 'PSP_AI']],
  ncaName: 'Financial Conduct Authority',
  ncaId: 'GB-FCA',
};

export class Psd2Pki {
  readonly caFile: string;
  readonly caKey: string;
  readonly ca: Buffer;
  private serial = 1;

  constructor(
    readonly dir: string,
    name = 'Test QTSP CA',
  ) {
    this.caFile = join(dir, 'ca.pem');
    this.caKey = join(dir, 'ca-key.pem');
    opensslOk(
      ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
        '-keyout',
        this.caKey,
        '-out',
        this.caFile,
        '-subj',
        `/CN=${name}`,
        '-days',
        '30',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-addext',
        'subjectKeyIdentifier=hash',
      ]),
    );
    this.ca = readFileSync(this.caFile);
  }

  /**
   * A client certificate; `qcStatements` is the extension's config value (`ASN1:SEQUENCE:qcs`,
   * `critical,DER:30..`) and `sections` the ASN.1 generator sections it names. `subject` is an
   * OpenSSL -subj string.
   */
  leaf(name: string, subject: string, qc?: { value: string; sections?: string }): Psd2Leaf {
    const keyFile = join(this.dir, `${name}-key.pem`);
    const csr = join(this.dir, `${name}.csr`);
    const certFile = join(this.dir, `${name}.pem`);
    const config = join(this.dir, `${name}.cnf`);
    const ext = [
      '[ext]',
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
      ...(qc ? [`${QC_STATEMENTS} = ${qc.value}`] : []),
      qc?.sections ?? '',
    ];
    writeFileSync(config, `${ext.join('\n')}\n`);
    opensslOk(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
        '-keyout',
        keyFile,
        '-out',
        csr,
        '-subj',
        subject,
        '-utf8',
      ]),
    );
    opensslOk(
      ['x509', '-req', '-in', csr, '-CA', this.caFile, '-CAkey', this.caKey].concat([
        '-set_serial',
        String(this.serial++),
        '-days',
        '30',
        '-extfile',
        config,
        '-extensions',
        'ext',
        '-out',
        certFile,
      ]),
    );
    const pem = readFileSync(certFile, 'utf8');
    return {
      pem,
      der: pemToDer(pem),
      certFile,
      keyFile,
      chain: Buffer.concat([Buffer.from(pem), this.ca]),
      key: readFileSync(keyFile),
    };
  }
}

export { oid, psd2Der, seq, tlv, utf8, type Psd2RoleName } from './psd2-der.js';
