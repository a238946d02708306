/**
 * CRL scope follows the certificate's own basicConstraints cA flag (RFC 5280 6.3.3 (b)(2)), not
 * its position in the path: a CA-flagged certificate used as a client leaf is covered by a
 * CA-only CRL, and a user-only CRL says nothing about it.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from 'certgate';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as unknown as EcKeyGenParams & EcdsaParams;
const now = Date.now();
const der = (x: { rawData: ArrayBuffer }) => Buffer.from(x.rawData);
/** issuingDistributionPoint bodies: onlyContainsCACerts / onlyContainsUserCerts TRUE. */
const IDP = { caOnly: '30038201ff', userOnly: '30038101ff' };

let root: x509.X509Certificate;
let caFlaggedLeaf: x509.X509Certificate;
let crl: (n: number, idp: string, revoked: string[]) => Promise<x509.X509Crl>;

beforeAll(async () => {
  const rootKeys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const rootSki = await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey);
  root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Scope Root',
    notBefore: new Date(now - 864e5),
    notAfter: new Date(now + 864e6),
    keys: rootKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      rootSki,
    ],
  });
  const leafKeys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  caFlaggedLeaf = await x509.X509CertificateGenerator.create({
    serialNumber: '0a0b',
    subject: 'CN=alice',
    issuer: root.subjectName,
    notBefore: new Date(now - 864e5),
    notAfter: new Date(now + 864e5),
    publicKey: leafKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      new x509.AuthorityKeyIdentifierExtension(rootSki.keyId),
    ],
  });
  crl = (n, idp, revoked) =>
    x509.X509CrlGenerator.create({
      issuer: root.subjectName,
      thisUpdate: new Date(now - 36e5),
      nextUpdate: new Date(now + 864e5),
      signingKey: rootKeys.privateKey,
      signingAlgorithm: alg,
      extensions: [
        new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(n))),
        new x509.AuthorityKeyIdentifierExtension(rootSki.keyId),
        new x509.Extension('2.5.29.28', true, Buffer.from(idp, 'hex')),
      ],
      entries: revoked.map((serialNumber) => ({ serialNumber, revocationDate: new Date(now - 36e5) })),
    });
});

describe('CRL scope by the certificate cA flag', () => {
  it('a CA-only CRL that lists a CA-flagged leaf revokes it, even beside a newer empty user-only CRL', async () => {
    const caOnly = der(await crl(1, IDP.caOnly, ['0a0b']));
    const userOnly = der(await crl(2, IDP.userOnly, []));
    for (const crls of [[caOnly], [caOnly, userOnly], [userOnly, caOnly]]) {
      const r = await createVerifier({ ca: der(root), crl: crls }).verify(der(caFlaggedLeaf));
      expect(r.ok ? 'accepted' : r.code).toBe('CERT_REVOKED');
    }
  });

  it('a user-only CRL alone does not cover a CA-flagged leaf: status unknown', async () => {
    const userOnly = der(await crl(1, IDP.userOnly, []));
    const r = await createVerifier({ ca: der(root), crl: userOnly }).verify(der(caFlaggedLeaf));
    expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');
  });
});
