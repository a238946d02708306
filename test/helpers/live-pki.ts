/** A small PKI whose intermediate key the test holds, so it can publish new CRLs at will. */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as unknown as EcKeyGenParams & EcdsaParams;
const DAY = 86_400_000;

interface Issuer {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  keyId: string;
}

export interface LivePki {
  rootPem: string;
  intermediatePem: string;
  server: { cert: string; key: string };
  alice: { cert: string; key: string; serial: string };
  /** A client whose certificate names `crlUrl` in its CRL Distribution Points. */
  bob: { cert: string; key: string; serial: string };
  /** A PEM CRL from the intermediate: `number` is the CRL Number, `revoked` hex serials. */
  crl(
    number: number,
    revoked: string[],
    options?: { wrongKey?: boolean; nextUpdate?: Date; thisUpdate?: Date },
  ): Promise<string>;
}

const pem = (c: x509.X509Certificate) => `${c.toString('pem')}\n`;

async function keys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  return `${x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY')}\n`;
}

async function issuer(name: string, parent?: Issuer): Promise<Issuer> {
  const k = await keys();
  const ski = await x509.SubjectKeyIdentifierExtension.create(k.publicKey);
  const extensions = [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ski,
  ];
  const common = {
    serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(8)))
      .toString('hex')
      .replace(/^./, '1'),
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 365 * DAY),
    signingAlgorithm: ALG,
  };
  const cert = parent
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: name,
        issuer: parent.cert.subjectName,
        publicKey: k.publicKey,
        signingKey: parent.keys.privateKey,
        extensions: [...extensions, new x509.AuthorityKeyIdentifierExtension(parent.keyId)],
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name, keys: k, extensions });
  return { cert, keys: k, keyId: ski.keyId };
}

async function leaf(parent: Issuer, name: string, usage: x509.ExtendedKeyUsage, dns?: string, crlUrl?: string) {
  const k = await keys();
  const serial = Buffer.from(crypto.getRandomValues(new Uint8Array(12)))
    .toString('hex')
    .replace(/^./, '2');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: name,
    issuer: parent.cert.subjectName,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    publicKey: k.publicKey,
    signingKey: parent.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage]),
      await x509.SubjectKeyIdentifierExtension.create(k.publicKey),
      new x509.AuthorityKeyIdentifierExtension(parent.keyId),
      ...(dns
        ? [
            new x509.SubjectAlternativeNameExtension([
              { type: 'dns', value: dns },
              { type: 'ip', value: '127.0.0.1' },
            ]),
          ]
        : []),
      ...(crlUrl ? [new x509.CRLDistributionPointsExtension([crlUrl])] : []),
    ],
  });
  return { cert: pem(cert) + pem(parent.cert), key: await keyPem(k.privateKey), serial: serial.toUpperCase() };
}

export async function makeLivePki(crlUrl = 'http://127.0.0.1:9/none.crl'): Promise<LivePki> {
  const root = await issuer('CN=Live Root');
  const intermediate = await issuer('CN=Live Intermediate', root);
  const impostor = await issuer('CN=Live Intermediate', root);
  const server = await leaf(intermediate, 'CN=localhost', x509.ExtendedKeyUsage.serverAuth, 'localhost');
  const alice = await leaf(intermediate, 'CN=alice', x509.ExtendedKeyUsage.clientAuth);
  const bob = await leaf(intermediate, 'CN=bob', x509.ExtendedKeyUsage.clientAuth, undefined, crlUrl);
  return {
    bob,
    rootPem: pem(root.cert),
    intermediatePem: pem(intermediate.cert),
    server,
    alice,
    async crl(number, revoked, options = {}) {
      const signer = options.wrongKey ? impostor : intermediate;
      const crl = await x509.X509CrlGenerator.create({
        issuer: intermediate.cert.subjectName,
        thisUpdate: options.thisUpdate ?? new Date(Date.now() - 60_000),
        nextUpdate: options.nextUpdate ?? new Date(Date.now() + DAY),
        signingKey: signer.keys.privateKey,
        signingAlgorithm: ALG,
        extensions: [
          new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(number))),
          new x509.AuthorityKeyIdentifierExtension(intermediate.keyId),
        ],
        entries: revoked.map((serialNumber) => ({ serialNumber, revocationDate: new Date(Date.now() - 60_000) })),
      });
      return `${x509.PemConverter.encode(crl.rawData, 'X509 CRL')}\n`;
    },
  };
}
