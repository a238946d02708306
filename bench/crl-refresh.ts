/**
 * A live CRL refresh of a 1,000,000-entry CRL (`node --expose-gc --import tsx bench/crl-refresh.ts`):
 * a local HTTP server publishes it (as DER, then as PEM), the verifier's CRL store fetches, decodes,
 * indexes and verifies it, and the event loop's longest block meanwhile is reported. The
 * measurement behind src/revocation/crl-bytes.ts and parseCrlAsync (goal: no block over 50 ms).
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { randomBytes, sign } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { encodeElement, TAG } from '../src/x509/der.js';
import { createVerifier } from '../src/index.js';
// Build a self-signed CA with node crypto via peculiar so the store can verify the CRL.
x509.cryptoProvider.set(webcrypto as any);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as any;
const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
const ca = await x509.X509CertificateGenerator.createSelfSigned({
  serialNumber: '01',
  name: 'CN=Bench CA',
  notBefore: new Date(Date.now() - 864e5),
  notAfter: new Date(Date.now() + 864e6),
  keys,
  signingAlgorithm: alg,
  extensions: [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ],
});
const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
const { createPrivateKey } = await import('node:crypto');
const priv = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
const seq = (...p: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(p));
const utc = (d: Date) =>
  encodeElement(TAG.UTC_TIME, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`, 'latin1'));
const issuer = Buffer.from(ca.subjectName.toArrayBuffer());
function crl(n: number, entries: number) {
  const date = utc(new Date(Date.now() - 60000));
  const chunks: Buffer[] = [];
  for (let i = 0; i < entries; i++) {
    const s = randomBytes(16);
    s[0] = (s[0]! & 0x7f) | 1;
    chunks.push(seq(encodeElement(TAG.INTEGER, s), date));
  }
  const alg = Buffer.from('300a06082a8648ce3d040302', 'hex');
  const num = encodeElement(
    0xa0,
    seq(
      seq(
        Buffer.from('0603551d14', 'hex'),
        encodeElement(TAG.OCTET_STRING, encodeElement(TAG.INTEGER, Buffer.from([n]))),
      ),
    ),
  );
  const tbs = seq(
    Buffer.from('020101', 'hex'),
    alg,
    issuer,
    date,
    utc(new Date(Date.now() + 864e5)),
    encodeElement(TAG.SEQUENCE, Buffer.concat(chunks)),
    num,
  );
  return seq(tbs, alg, encodeElement(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), sign('sha256', tbs, priv)])));
}
let body = crl(1, 10);
const srv = http.createServer((_req, res) => res.end(body));
await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(srv.address() as any).port}/c.crl`;
const v = createVerifier({ ca: Buffer.from(ca.rawData), crl: { urls: [url], maxBytes: 100 * 1024 * 1024 } });
v.on('crl-refresh-failed', (e) => console.log('refresh failed', e));
v.on('crl-rejected', (e) => console.log('CRL rejected', e));
await v.refreshCrls();
const big = (n: number) => crl(n, 1_000_000);
const asPem = (der: Buffer) =>
  Buffer.from(
    `-----BEGIN X509 CRL-----\n${der
      .toString('base64')
      .match(/.{1,64}/g)!
      .join('\n')}\n-----END X509 CRL-----\n`,
  );
for (const [label, b] of [
  ['DER', big(2)],
  ['PEM', asPem(big(3))],
] as const) {
  body = b;
  for (let i = 0; i < 3; i++) {
    global.gc?.();
    await new Promise((r) => setImmediate(r));
  }
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const iv = setInterval(() => {}, 1);
  const t = performance.now();
  let loaded = false;
  v.on('crl-loaded', () => (loaded = true));
  await v.refreshCrls();
  clearInterval(iv);
  h.disable();
  console.log(
    `${label}: ${(b.length / 1048576).toFixed(0)} MiB, refresh ${(performance.now() - t).toFixed(0)} ms, longest event-loop block ${(h.max / 1e6).toFixed(1)} ms, loaded ${loaded}`,
  );
}
srv.close();
v.close();
