/**
 * A live CRL refresh of an OpenSSL-made CRL, a reason code on every entry (`node --expose-gc
 * --import tsx bench/crl-refresh.ts [entries]`, default 1,000,000; bench/crl-openssl.ts caches it):
 * a local HTTP server publishes it (as DER, then as PEM with the next CRL number), the verifier's
 * CRL store fetches it and the CRL worker decodes, indexes and verifies it, and the event loop's
 * longest block meanwhile is reported (goal: no block over 20 ms).
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createPrivateKey, sign } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { readFileSync } from 'node:fs';
import { encodeElement, TAG } from '../src/x509/der.js';
import { createVerifier } from '../src/index.js';
import { opensslCrl } from './crl-openssl.js';

const entries = Number(process.argv[2] ?? 1_000_000);
const made = opensslCrl(entries);
const priv = createPrivateKey(readFileSync(made.file('ca-key.pem')));
const seq = (...p: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(p));
const utc = (d: Date) =>
  encodeElement(TAG.UTC_TIME, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`, 'latin1'));
const issuer = Buffer.from(new x509.X509Certificate(made.caPem).subjectName.toArrayBuffer());
/** The small starting CRL (CRL number 1, below the OpenSSL CRLs' 0x1000), signed with the CA's key. */
function crl(n: number, count: number) {
  const date = utc(new Date(Date.now() - 60000));
  const alg = Buffer.from('300a06082a8648ce3d040302', 'hex');
  const chunks = Array.from({ length: count }, (_, i) => seq(encodeElement(TAG.INTEGER, Buffer.from([1, i])), date));
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
const v = createVerifier({ ca: made.caPem, crl: { urls: [url], maxBytes: 100 * 1024 * 1024 } });
v.on('crl-refresh-failed', (e) => console.log('refresh failed', e));
v.on('crl-rejected', (e) => console.log('CRL rejected', e));
await v.refreshCrls();
for (const [label, b] of [
  ['DER', made.der],
  ['PEM', readFileSync(made.file('crl2.pem'))],
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
