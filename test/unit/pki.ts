/**
 * In-process certificates for the path rule unit tests: no files, no servers. Signatures are
 * real (ECDSA P-256) but the rules under test never check them; path building does.
 */
// Before @peculiar/x509 (its DI container needs the reflect polyfill at import time).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { parseCertificate, type ParsedCertificate } from '../../src/x509/certificate.js';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const KEY_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export interface Made {
  cert: ParsedCertificate;
  x509: x509.X509Certificate;
  keys: CryptoKeyPair;
  /** The subjectKeyIdentifier the certificate carries (or would carry), hex. */
  keyId: string;
}

export interface Spec {
  subject: string;
  /** Undefined: self-signed. */
  issuer?: Made;
  notBefore?: Date;
  notAfter?: Date;
  /** A CA certificate: basicConstraints cA (critical unless said otherwise) and keyCertSign. */
  ca?: { pathLen?: number; bcCritical?: boolean } | true;
  /** Leaf EKU purposes, or a CA's EKU constraint. */
  eku?: string[];
  omit?: ReadonlyArray<'aki' | 'ski' | 'basicConstraints' | 'keyUsage'>;
  akiCritical?: boolean;
  skiCritical?: boolean;
  /** Extra extensions, after the standard ones. */
  extra?: x509.Extension[];
  /** Reuse a key pair (a self-issued key rollover certificate keeps the name, not the key). */
  keys?: CryptoKeyPair;
  serial?: string;
  /** The issuer's signature hash (default SHA-256). */
  hash?: 'SHA-1' | 'SHA-256';
}

export const NOT_BEFORE = new Date('2020-01-01T00:00:00Z');
export const NOT_AFTER = new Date('2030-01-01T00:00:00Z');

let serials = 1;

/** Builds one certificate as `spec` says, and decodes it with certgate's decoder. */
export async function issue(spec: Spec): Promise<Made> {
  const keys = spec.keys ?? (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']));
  const keyId = (await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)).keyId;
  const omit = new Set(spec.omit ?? []);
  const extensions: x509.Extension[] = [];
  const ca = spec.ca === true ? {} : spec.ca;
  if (!omit.has('basicConstraints') && ca) {
    extensions.push(new x509.BasicConstraintsExtension(true, ca.pathLen, ca.bcCritical ?? true));
  }
  if (!omit.has('keyUsage')) {
    const { keyCertSign, cRLSign, digitalSignature } = x509.KeyUsageFlags;
    extensions.push(new x509.KeyUsagesExtension(ca ? keyCertSign | cRLSign : digitalSignature, true));
  }
  if (spec.eku) extensions.push(new x509.ExtendedKeyUsageExtension(spec.eku));
  if (!omit.has('ski')) extensions.push(new x509.SubjectKeyIdentifierExtension(keyId, spec.skiCritical ?? false));
  const issuerKeyId = spec.issuer?.keyId ?? keyId;
  if (!omit.has('aki')) {
    extensions.push(new x509.AuthorityKeyIdentifierExtension(issuerKeyId, spec.akiCritical ?? false));
  }
  extensions.push(...(spec.extra ?? []));
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: spec.serial ?? (serials++).toString(16).padStart(4, '0'),
    subject: spec.subject,
    issuer: spec.issuer ? spec.issuer.x509.subjectName : spec.subject,
    notBefore: spec.notBefore ?? NOT_BEFORE,
    notAfter: spec.notAfter ?? NOT_AFTER,
    publicKey: keys.publicKey,
    signingKey: (spec.issuer?.keys ?? keys).privateKey,
    signingAlgorithm: spec.hash ? { ...SIGNING_ALGORITHM, hash: spec.hash } : SIGNING_ALGORITHM,
    extensions,
  });
  return { cert: parseCertificate(Buffer.from(generated.rawData)), x509: generated, keys, keyId };
}

export interface Chain {
  root: Made;
  intermediate: Made;
  leaf: Made;
  /** Leaf first, anchor last: what checkRules takes. */
  path: ParsedCertificate[];
}

/** A root, an intermediate and a leaf (client purpose), valid 2020 to 2030 unless `leaf` says otherwise. */
export async function chain(leaf: Partial<Spec> = {}): Promise<Chain> {
  const root = await issue({ subject: 'CN=Unit Root', ca: true, omit: ['aki'] });
  const intermediate = await issue({ subject: 'CN=Unit Intermediate', issuer: root, ca: true });
  const made = await issue({ subject: 'CN=unit leaf', issuer: intermediate, eku: ['1.3.6.1.5.5.7.3.2'], ...leaf });
  return { root, intermediate, leaf: made, path: [made.cert, intermediate.cert, root.cert] };
}

/** One extension with a raw DER value. */
export function rawExtension(oid: string, critical: boolean, valueHex: string): x509.Extension {
  return new x509.Extension(oid, critical, Buffer.from(valueHex, 'hex'));
}

/** A CRL by `issuer` (CRL Number 1, its AKI) listing `revoked` serials (hex), current at `at`. */
export async function issueCrl(issuer: Made, revoked: string[], at: number): Promise<Buffer> {
  const hour = 3_600_000;
  const made = await x509.X509CrlGenerator.create({
    issuer: issuer.x509.subjectName,
    thisUpdate: new Date(at - hour),
    nextUpdate: new Date(at + hour),
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [rawExtension('2.5.29.20', false, '020101'), new x509.AuthorityKeyIdentifierExtension(issuer.keyId)],
    entries: revoked.map((serialNumber) => ({ serialNumber, revocationDate: new Date(at - hour) })),
  });
  return Buffer.from(made.rawData);
}
