/**
 * The cost OCSP adds to a verification whose answer is cached (`npm run bench:ocsp`), and the first
 * verification of a certificate, which waits for the responder (the OpenSSL responder of the tests),
 * and a request whose answer is about to end (bench/ocsp-ahead.ts).
 */
import { OcspPki } from '../test/helpers/ocsp-responder.js';
import { createVerifier } from '../src/index.js';
import { measureAhead } from './ocsp-ahead.js';
// The responder the certificates' AIA names answers with a nextUpdate 10 minutes ahead.
const r = await OcspPki.create();
const chain = [r.pem('good')];
const plain = createVerifier({ ca: r.pem('ca') });
const withOcsp = createVerifier({ ca: r.pem('ca'), ocsp: true });
for (const v of [plain, withOcsp]) {
  const res = await v.verify(chain);
  if (!res.ok) throw new Error(JSON.stringify(res));
}
const t0 = performance.now();
const fresh = createVerifier({ ca: r.pem('ca'), ocsp: true });
await fresh.verify(chain);
const first = performance.now() - t0;
const der = ((await plain.verify(chain)) as any).certificate.raw;
const N = 200_000;
const run = async (v: typeof plain) => {
  const s = performance.now();
  for (let i = 0; i < N; i++) await v.verify(der);
  return ((performance.now() - s) / N) * 1000;
};
const rows: number[][] = [];
for (let round = 0; round < 5; round++) rows.push([await run(plain), await run(withOcsp)]);
const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const a = med(rows.map((x) => x[0]!)),
  b = med(rows.map((x) => x[1]!));
console.log(
  `cache hit, DER leaf: no OCSP ${a.toFixed(2)} µs, OCSP on (cached answer) ${b.toFixed(2)} µs, ratio ${(b / a).toFixed(2)}; first verification with a fresh OCSP request (openssl responder, one process spawn) ${first.toFixed(1)} ms; responder requests ${r.aia.requests}`,
);
console.log(await measureAhead(r));
await r.close();
plain.close();
withOcsp.close();
fresh.close();
