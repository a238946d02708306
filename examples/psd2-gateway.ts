/**
 * Koa: a PSD2 gateway for third-party providers (TPPs) presenting eIDAS QWACs. The user is the
 * TPP's organizationIdentifier, the roles its PSD2 roles (ETSI TS 119 495), one role per route:
 * /accounts for account information (PSP_AI), /payments for payment initiation (PSP_PI).
 *
 *   npx tsx examples/psd2-gateway.ts [pki-dir]     (default: fresh test certificates in ./pki-psd2)
 *   curl --cacert pki-psd2/ca.pem --cert pki-psd2/tpp-ai.pem --key pki-psd2/tpp-ai-key.pem https://localhost:8447/accounts
 *
 * The test certificates come from a throwaway "QTSP" CA made here (never trust it anywhere else):
 * tpp-ai (PSP_AI), tpp-pi (PSP_PI) and tpp-none (no PSD2 statement: 403 on both routes).
 */
// Before @peculiar/x509 (its DI container needs the reflect polyfill at import time).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import https from 'node:https';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Koa from 'koa';
import Router from '@koa/router';
import * as x509 from '@peculiar/x509';
import { byPsd2, createVerifier } from 'certgate';
import { requireClientCert, type ClientCertState } from 'certgate/koa';

export function createPsd2Gateway(pkiDir: string): https.Server {
  const file = (name: string) => readFileSync(join(pkiDir, name));
  const verifier = createVerifier({ ca: file('ca.pem') });
  // A TPP certificate whose PSD2 statement certgate could not read still verifies, with no roles.
  verifier.on('psd2-statement-ignored', ({ subjectDN, reason }) =>
    console.warn(`PSD2 statement of ${subjectDN} ignored: ${reason}`),
  );
  const tpp = (role: string) => requireClientCert({ verifier, identify: byPsd2(), roles: [role] });

  const router = new Router<ClientCertState>();
  router.get('/', (ctx) => {
    ctx.body = { page: 'public', tls: 'one-way' };
  });
  router.get('/accounts', tpp('PSP_AI'), (ctx) => {
    const { user, certificate } = ctx.state.clientCert;
    ctx.body = { user, nca: certificate.psd2?.ncaId, accounts: [{ iban: 'DE02120300000000202051' }] };
  });
  router.get('/payments', tpp('PSP_PI'), (ctx) => {
    ctx.body = { user: ctx.state.clientCert.user, payments: [] };
  });

  const app = new Koa();
  app.use(router.routes()).use(router.allowedMethods());
  return https.createServer(
    { cert: file('server.pem'), key: file('server-key.pem'), requestCert: true, rejectUnauthorized: false },
    app.callback(),
  );
}

// ---------------------------------------------------------------------------------------------
// Test certificates: a CA, a localhost server certificate and three TPP certificates.

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);
const EC: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 24 * 60 * 60 * 1000;

/** One DER element: tag, length, content (all this example needs to write a PSD2 statement). */
function der(tag: number, ...parts: Uint8Array[]): Buffer {
  const content = Buffer.concat(parts);
  const length: number[] = [];
  for (let n = content.length; n > 0; n = Math.floor(n / 256)) length.unshift(n % 256);
  const header = content.length < 0x80 ? [tag, content.length] : [tag, 0x80 | length.length, ...length];
  return Buffer.concat([Buffer.from(header), content]);
}
/** OBJECT IDENTIFIER: the first two arcs in one octet, then each arc in base 128. */
function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const octets = [40 * first + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) base128.unshift(0x80 | (v & 0x7f));
    octets.push(...base128);
  }
  return der(0x06, Buffer.from(octets));
}
const utf8 = (text: string) => der(0x0c, Buffer.from(text, 'utf8'));
const seq = (...parts: Uint8Array[]) => der(0x30, ...parts);

const ROLE_OIDS = {
  PSP_AS: '0.4.0.19495.1.1',
  PSP_PI: '0.4.0.19495.1.2',
  PSP_AI: '0.4.0.19495.1.3',
  PSP_IC: '0.4.0.19495.1.4',
};

/** qcStatements (RFC 3739) with QcCompliance and the PSD2 statement (ETSI TS 119 495). */
function qcStatements(roles: (keyof typeof ROLE_OIDS)[], ncaName: string, ncaId: string): x509.Extension {
  const psd2 = seq(seq(...roles.map((r) => seq(oid(ROLE_OIDS[r]), utf8(r)))), utf8(ncaName), utf8(ncaId));
  const value = seq(seq(oid('0.4.0.1862.1.1')), seq(oid('0.4.0.19495.2'), psd2));
  return new x509.Extension('1.3.6.1.5.5.7.1.3', false, Uint8Array.from(value));
}

function pem(path: string, text: string): void {
  writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`, { mode: path.endsWith('-key.pem') ? 0o600 : 0o644 });
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

export async function generatePsd2Pki(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  const caKeys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const caSki = await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'C=EU, O=Example QTSP (test only), CN=Example QTSP Test CA',
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    keys: caKeys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      caSki,
    ],
  });
  let serial = 2;
  const issue = async (name: string, subject: string, extensions: x509.Extension[]) => {
    const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: (serial++).toString(16).padStart(2, '0'),
      subject,
      issuer: ca.subjectName,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 90 * DAY),
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(false),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.AuthorityKeyIdentifierExtension(caSki.keyId),
        ...extensions,
      ],
    });
    pem(join(dir, `${name}.pem`), cert.toString('pem'));
    pem(join(dir, `${name}-key.pem`), await keyPem(keys));
  };
  const client = new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]);
  await issue('server', 'CN=localhost', [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]),
  ]);
  // 2.5.4.97 is organizationIdentifier: "PSD" + country + "-" + NCA + "-" + authorisation number.
  await issue('tpp-ai', 'C=GB, O=Example AISP Ltd, 2.5.4.97=PSDGB-FCA-123456, CN=aisp.example', [
    client,
    qcStatements(['PSP_AI'], 'Financial Conduct Authority', 'GB-FCA'),
  ]);
  await issue('tpp-pi', 'C=DE, O=Example PISP GmbH, 2.5.4.97=PSDDE-BAFIN-654321, CN=pisp.example', [
    client,
    qcStatements(['PSP_PI'], 'Bundesanstalt für Finanzdienstleistungsaufsicht', 'DE-BAFIN'),
  ]);
  await issue('tpp-none', 'C=GB, O=Example Plain Ltd, CN=plain.example', [client]);
  pem(join(dir, 'ca.pem'), ca.toString('pem'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pkiDir = resolve(process.argv[2] ?? 'pki-psd2');
  if (!existsSync(join(pkiDir, 'ca.pem'))) await generatePsd2Pki(pkiDir);
  const port = Number(process.env.PORT ?? 8447);
  createPsd2Gateway(pkiDir).listen(port, '127.0.0.1', () => {
    console.log(`PSD2 gateway example on https://localhost:${port} (test certificates in ${pkiDir})`);
    for (const [tpp, path] of [
      ['tpp-ai', 'accounts'],
      ['tpp-pi', 'payments'],
      ['tpp-pi', 'accounts'],
      ['tpp-none', 'accounts'],
    ]) {
      console.log(
        `  curl --cacert ${pkiDir}/ca.pem --cert ${pkiDir}/${tpp}.pem --key ${pkiDir}/${tpp}-key.pem https://localhost:${port}/${path}`,
      );
    }
  });
}
