// A benchmark PKI built in memory with @peculiar/x509, like src/devpki/generate.ts does, but with
// the intermediate's key at hand so we can issue as many distinct leaves as we like, and with a
// large CRL. generateDevPki() does not write the intermediate key, hence this module.
//
// Must be evaluated before @peculiar/x509 (tsyringe needs the reflect polyfill).
import 'reflect-metadata';

import { webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

export type KeyKind = 'ecdsa-p256' | 'rsa-2048';

export interface BenchPki {
  kind: KeyKind;
  rootPem: string;
  intermediatePem: string;
  /** Intermediate's CRL (with `revokedCount` random serials plus `revokedChain`'s leaf), then the root's (empty). */
  crlPem: string;
  /** Distinct valid client leaves, each as "leaf PEM + intermediate PEM". */
  chains: string[];
  /** A leaf listed on the intermediate's CRL (sanity check: must verify as CERT_REVOKED). */
  revokedChain: string;
  revokedCount: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Issuer {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  keyId: string;
}

function algorithms(kind: KeyKind): {
  keyGen: EcKeyGenParams | RsaHashedKeyGenParams;
  signing: EcdsaParams | Algorithm;
} {
  if (kind === 'ecdsa-p256') {
    return {
      keyGen: { name: 'ECDSA', namedCurve: 'P-256' },
      signing: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    };
  }
  return {
    keyGen: {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    signing: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm,
  };
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return Buffer.from(bytes).toString('hex');
}

const pem = (cert: x509.X509Certificate): string => `${cert.toString('pem')}\n`;
const crlPem = (crl: x509.X509Crl): string => `${x509.PemConverter.encode(crl.rawData, 'X509 CRL')}\n`;

export async function buildBenchPki(kind: KeyKind, leafCount: number, revokedCount: number): Promise<BenchPki> {
  const { keyGen, signing } = algorithms(kind);
  const now = Date.now();
  const at = (offset: number) => new Date(now + offset);
  const generateKeys = () => crypto.subtle.generateKey(keyGen, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

  const rootKeys = await generateKeys();
  const rootSki = await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey);
  const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `O=certgate bench, CN=Bench Root CA (${kind})`,
    notBefore: at(-DAY),
    notAfter: at(3650 * DAY),
    keys: rootKeys,
    signingAlgorithm: signing,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      rootSki,
    ],
  });
  const root: Issuer = { cert: rootCert, keys: rootKeys, keyId: rootSki.keyId };

  const intKeys = await generateKeys();
  const intSki = await x509.SubjectKeyIdentifierExtension.create(intKeys.publicKey);
  const intCert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `O=certgate bench, CN=Bench Intermediate CA (${kind})`,
    issuer: root.cert.subjectName,
    notBefore: at(-DAY),
    notAfter: at(1825 * DAY),
    publicKey: intKeys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: signing,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      intSki,
      new x509.AuthorityKeyIdentifierExtension(root.keyId),
    ],
  });
  const intermediate: Issuer = { cert: intCert, keys: intKeys, keyId: intSki.keyId };
  const intermediatePem = pem(intCert);

  // ECDSA leaf keys are cheap: one per leaf. RSA-2048 keygen is ~100 ms, and the leaf's own key
  // plays no part in verifying it (the issuer's key does), so RSA leaves share one key pair.
  const sharedLeafKeys = kind === 'rsa-2048' ? await generateKeys() : undefined;
  const issueLeaf = async (i: number): Promise<x509.X509Certificate> => {
    const keys = sharedLeafKeys ?? (await generateKeys());
    return x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `O=Example Bank, OU=Retail, CN=user${i}`,
      issuer: intermediate.cert.subjectName,
      notBefore: at(-DAY),
      notAfter: at(365 * DAY),
      publicKey: keys.publicKey,
      signingKey: intermediate.keys.privateKey,
      signingAlgorithm: signing,
      extensions: [
        new x509.BasicConstraintsExtension(false),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'email', value: `user${i}@bank.example` }]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        new x509.AuthorityKeyIdentifierExtension(intermediate.keyId),
      ],
    });
  };

  const chains: string[] = [];
  for (let i = 0; i < leafCount; i++) chains.push(pem(await issueLeaf(i)) + intermediatePem);
  const revokedLeaf = await issueLeaf(leafCount);

  const entries: x509.X509CrlEntryParams[] = [];
  for (let i = 0; i < revokedCount; i++) {
    entries.push({
      serialNumber: randomSerial(),
      revocationDate: at(-2 * HOUR),
      reason: x509.X509CrlReason.keyCompromise,
    });
  }
  entries.push({
    serialNumber: revokedLeaf.serialNumber,
    revocationDate: at(-HOUR),
    reason: x509.X509CrlReason.keyCompromise,
  });
  const crlFor = (issuer: Issuer, list: x509.X509CrlEntryParams[]) =>
    x509.X509CrlGenerator.create({
      issuer: issuer.cert.subjectName,
      thisUpdate: at(-HOUR),
      nextUpdate: at(30 * DAY),
      signingKey: issuer.keys.privateKey,
      signingAlgorithm: signing,
      extensions: [
        new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(1))),
        new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
      ],
      entries: list,
    });
  const intermediateCrl = await crlFor(intermediate, entries);
  const rootCrl = await crlFor(root, []);

  return {
    kind,
    rootPem: pem(rootCert),
    intermediatePem,
    crlPem: crlPem(intermediateCrl) + crlPem(rootCrl),
    chains,
    revokedChain: pem(revokedLeaf) + intermediatePem,
    revokedCount: entries.length,
  };
}
