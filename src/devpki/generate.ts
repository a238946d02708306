// Must be evaluated before @peculiar/x509: its tsyringe container throws
// "tsyringe requires a reflect polyfill" at import time otherwise.
import 'reflect-metadata';

import { webcrypto } from 'node:crypto';
import { join, resolve } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { prepareFolder, writeNewFile } from './write.js';

// Node's webcrypto is typed separately from the DOM `Crypto` the library expects.
const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

export type DevClientName = 'alice' | 'bob' | 'mallory' | 'eve';

export interface DevPkiFiles {
  dir: string;
  rootCert: string;
  intermediateCert: string;
  /** Root only, suitable for a TLS server's `ca` option. */
  caBundle: string;
  /** Intermediate followed by root. */
  chain: string;
  /** PEM holding both CRLs: the intermediate's, then the root's. */
  crl: string;
  serverCert: string;
  serverKey: string;
  clients: Record<DevClientName, { cert: string /* leaf + intermediate */; key: string }>;
}

export interface GenerateDevPkiOptions {
  now?: Date;
  /**
   * Write into a folder that is not empty, replacing the files of a previous dev PKI (links at
   * their names are replaced, never followed). Without it, a non-empty folder is refused.
   */
  force?: boolean;
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

const KEY_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
// The generators merge this with the key's own algorithm, which carries no hash.
const SIGNING_ALGORITHM: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

// OpenSSL only accepts the "X509 CRL" armor; x509.X509Crl#toString('pem') emits "CRL".
const CRL_PEM_TAG = 'X509 CRL';

export const README_NAME = 'README.txt';

const CLIENT_NAMES: readonly DevClientName[] = ['alice', 'bob', 'mallory', 'eve'];

const CLIENT_DESCRIPTIONS: Record<DevClientName, string> = {
  alice: 'client certificate for alice (valid)',
  bob: 'client certificate for bob (valid; the demo gives him no role)',
  mallory: 'client certificate for mallory (revoked in crl.pem)',
  eve: 'client certificate for eve (expired)',
};

interface Issuer {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  keyId: string;
}

/**
 * Generates a throwaway PKI (root, intermediate, CRLs, a localhost server
 * certificate and four client certificates) for local development and demos.
 */
export async function generateDevPki(dir: string, options: GenerateDevPkiOptions = {}): Promise<DevPkiFiles> {
  const now = options.now ?? new Date();
  const out = resolve(dir);
  const at = (offsetMs: number): Date => new Date(now.getTime() + offsetMs);

  // The CAs predate the expired client, so it fails for its own dates alone, never its issuers'.
  const root = await createRoot(at(-90 * DAY), at(10 * YEAR));
  const intermediate = await createIntermediate(root, at(-90 * DAY), at(5 * YEAR));

  const server = await issueLeaf(intermediate, {
    subject: 'CN=localhost',
    notBefore: at(-DAY),
    notAfter: at(YEAR),
    usage: x509.ExtendedKeyUsage.serverAuth,
    altNames: [
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ],
  });

  const clients = {} as Record<DevClientName, Leaf>;
  for (const name of CLIENT_NAMES) {
    const expired = name === 'eve';
    clients[name] = await issueLeaf(intermediate, {
      subject: `O=Example Bank, OU=Retail, CN=${name}`,
      notBefore: expired ? at(-30 * DAY) : at(-DAY),
      notAfter: expired ? at(-DAY) : at(YEAR),
      usage: x509.ExtendedKeyUsage.clientAuth,
      altNames: [{ type: 'email', value: `${name}@bank.example` }],
    });
  }

  const crlTimes = { thisUpdate: at(-HOUR), nextUpdate: at(30 * DAY) };
  const intermediateCrl = await createCrl(intermediate, crlTimes, [
    {
      serialNumber: clients.mallory.cert.serialNumber,
      revocationDate: at(-HOUR),
      reason: x509.X509CrlReason.keyCompromise,
    },
  ]);
  const rootCrl = await createCrl(root, crlTimes, []);

  const files: DevPkiFiles = {
    dir: out,
    rootCert: join(out, 'root-ca.pem'),
    intermediateCert: join(out, 'intermediate-ca.pem'),
    caBundle: join(out, 'ca.pem'),
    chain: join(out, 'chain.pem'),
    crl: join(out, 'crl.pem'),
    serverCert: join(out, 'server.pem'),
    serverKey: join(out, 'server-key.pem'),
    clients: Object.fromEntries(
      CLIENT_NAMES.map((name) => [name, { cert: join(out, `${name}.pem`), key: join(out, `${name}-key.pem`) }]),
    ) as DevPkiFiles['clients'],
  };

  const rootPem = certPem(root.cert);
  const intermediatePem = certPem(intermediate.cert);

  const force = options.force === true;
  await prepareFolder(out, force);
  const writePublic = (path: string, contents: string) => writeNewFile(path, contents, 0o644, force);
  const writePrivate = (path: string, contents: string) => writeNewFile(path, contents, 0o600, force);
  await writePublic(files.rootCert, rootPem);
  await writePublic(files.intermediateCert, intermediatePem);
  await writePublic(files.caBundle, rootPem);
  await writePublic(files.chain, intermediatePem + rootPem);
  await writePublic(files.crl, crlPem(intermediateCrl) + crlPem(rootCrl));
  await writePublic(files.serverCert, certPem(server.cert) + intermediatePem);
  await writePrivate(files.serverKey, await privateKeyPem(server.keys.privateKey));
  for (const name of CLIENT_NAMES) {
    const leaf = clients[name];
    await writePublic(files.clients[name].cert, certPem(leaf.cert) + intermediatePem);
    await writePrivate(files.clients[name].key, await privateKeyPem(leaf.keys.privateKey));
  }
  await writePublic(join(out, README_NAME), renderReadme(files));

  return files;
}

/**
 * Every file generateDevPki writes, with a one-line description. Shared by the
 * README and the CLI so the two never drift apart.
 */
export function describeDevPki(files: DevPkiFiles): Array<{ path: string; description: string }> {
  const entries = [
    { path: files.rootCert, description: 'root CA certificate (self-signed)' },
    { path: files.intermediateCert, description: 'intermediate CA certificate (issues every leaf)' },
    { path: files.caBundle, description: 'trust anchor bundle (root only), for the TLS `ca` option' },
    { path: files.chain, description: 'CA chain: intermediate then root' },
    { path: files.crl, description: "CRLs: intermediate's (revokes mallory), then root's (empty)" },
    { path: files.serverCert, description: 'server certificate for localhost / 127.0.0.1, plus intermediate' },
    { path: files.serverKey, description: 'server private key (PKCS#8)' },
  ];
  for (const name of CLIENT_NAMES) {
    entries.push(
      { path: files.clients[name].cert, description: `${CLIENT_DESCRIPTIONS[name]}, plus intermediate` },
      { path: files.clients[name].key, description: `${name}'s private key (PKCS#8)` },
    );
  }
  entries.push({ path: join(files.dir, README_NAME), description: 'what each file is; development only' });
  return entries;
}

function renderReadme(files: DevPkiFiles): string {
  const rows = describeDevPki(files).map(({ path, description }) => {
    const name = path.slice(files.dir.length + 1);
    return `  ${name.padEnd(22)} ${description}`;
  });
  return [
    'certgate development PKI',
    '',
    'FOR DEVELOPMENT AND TESTING ONLY. The private keys are unprotected and this',
    'CA must never be trusted outside a local machine.',
    '',
    'All keys are ECDSA P-256, all signatures ECDSA with SHA-256.',
    '',
    ...rows,
    '',
  ].join('\n');
}

interface Leaf {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

interface LeafSpec {
  subject: string;
  notBefore: Date;
  notAfter: Date;
  usage: x509.ExtendedKeyUsage;
  altNames: x509.JsonGeneralName[];
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** 16 random bytes, kept positive and free of a leading zero so DER needs no padding. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return Buffer.from(bytes).toString('hex');
}

async function createRoot(notBefore: Date, notAfter: Date): Promise<Issuer> {
  const keys = await generateKeys();
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'O=certgate dev, CN=certgate Dev Root CA',
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ski,
    ],
  });
  return { cert, keys, keyId: ski.keyId };
}

async function createIntermediate(root: Issuer, notBefore: Date, notAfter: Date): Promise<Issuer> {
  const keys = await generateKeys();
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: 'O=certgate dev, CN=certgate Dev Intermediate CA',
    // Reuse the issuer's encoded Name so chain building matches byte for byte.
    issuer: root.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ski,
      new x509.AuthorityKeyIdentifierExtension(root.keyId),
    ],
  });
  return { cert, keys, keyId: ski.keyId };
}

async function issueLeaf(issuer: Issuer, spec: LeafSpec): Promise<Leaf> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: spec.subject,
    issuer: issuer.cert.subjectName,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([spec.usage]),
      new x509.SubjectAlternativeNameExtension(spec.altNames),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
    ],
  });
  return { cert, keys };
}

async function createCrl(
  issuer: Issuer,
  times: { thisUpdate: Date; nextUpdate: Date },
  entries: x509.X509CrlEntryParams[],
): Promise<x509.X509Crl> {
  // @peculiar/x509 has no CRL Number extension class; encode the ASN.1 directly.
  const crlNumber = new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(1)));
  return x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    thisUpdate: times.thisUpdate,
    nextUpdate: times.nextUpdate,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [crlNumber, new x509.AuthorityKeyIdentifierExtension(issuer.keyId)],
    entries,
  });
}

function certPem(cert: x509.X509Certificate): string {
  return `${cert.toString('pem')}\n`;
}

function crlPem(crl: x509.X509Crl): string {
  return `${x509.PemConverter.encode(crl.rawData, CRL_PEM_TAG)}\n`;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`;
}
