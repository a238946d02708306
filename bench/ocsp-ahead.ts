/**
 * Part of `npm run bench:ocsp`: a request for a certificate whose OCSP answer is about to end does
 * not wait for the responder, because the answer is refreshed ahead (src/revocation/ocsp-refresh.ts).
 * The responder (the OpenSSL one of the tests) answers after an artificial delay. Real time, no
 * injected clock: answers live 3 s (maxAgeMs), so the refresh timer fires 1 s (one timeoutMs)
 * before each answer ends. Without the refresh, the first request after an answer ended waited
 * for the responder, exactly as a request that finds no answer does: that is the baseline.
 */
import { createVerifier } from '../src/index.js';
import type { OcspPki } from '../test/helpers/ocsp-responder.js';

const sleepUntil = (t: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, t - performance.now())));
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function measureAhead(pki: OcspPki, delayMs = 200, rounds = 5): Promise<string> {
  const r = await pki.responder({ delayMs, nextUpdateMinutes: 60 });
  const chain = [pki.pem('good')];
  const rows = { asks: [] as number[], nearEnd: [] as number[], afterEnd: [] as number[] };
  const timed = async (verify: () => Promise<{ ok: boolean }>) => {
    const start = performance.now();
    const result = await verify();
    if (!result.ok) throw new Error(JSON.stringify(result));
    return performance.now() - start;
  };
  for (let round = 0; round < rounds; round++) {
    const v = createVerifier({ ca: pki.pem('ca'), ocsp: { urls: [r.url], maxAgeMs: 3_000, timeoutMs: 1_000 } });
    const t0 = performance.now();
    rows.asks.push(await timed(() => v.verify(chain))); // no answer yet: waits for the responder
    await sleepUntil(t0 + 2_900); // 100 ms before the first answer ends
    rows.nearEnd.push(await timed(() => v.verify(chain)));
    await sleepUntil(t0 + 3_300); // past the first answer's end
    rows.afterEnd.push(await timed(() => v.verify(chain)));
    v.close();
  }
  await r.close();
  const [asks, nearEnd, afterEnd] = [med(rows.asks), med(rows.nearEnd), med(rows.afterEnd)];
  return (
    `answer about to end (responder delay ${delayMs} ms, median of ${rounds}): a request that must ask ` +
    `(no refresh: the first request after an answer ended) ${asks.toFixed(1)} ms; with the refresh, 100 ms ` +
    `before the end ${nearEnd.toFixed(3)} ms, 300 ms after it ${afterEnd.toFixed(3)} ms ` +
    `(ratio ${(afterEnd / asks).toFixed(4)}); responder requests ${r.requests} for ${rounds} verifiers`
  );
}
