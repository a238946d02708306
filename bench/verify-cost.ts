// Part 3: the cost of verifying a certificate the verifier has not seen before, and of a cache hit.
import { createVerifier, type Verifier, type VerifyResult } from 'certgate';
import { decodePemOrDer } from '../src/x509/pem.js';
import { buildBenchPki, type BenchPki, type KeyKind } from './pki.js';
import { median, nsSince, p95, round } from './stats.js';

export interface Distribution {
  n: number;
  medianUs: number;
  p95Us: number;
}

export interface VerifyCostResult {
  kind: KeyKind;
  leaves: number;
  crlEntries: number;
  pkiGenerationMs: number;
  /** (a) unseen leaf, intermediate already known to the verifier (parsed, signature and CRL checked). */
  unseenLeaf: Distribution;
  /** (b) new verifier per iteration: leaf and intermediate unseen, both CRL signatures still to check. */
  cold: Distribution;
  /** createVerifier({ ca, crl }) itself, with a CRL of `crlEntries` serials (config time, not per request). */
  createVerifierMs: { n: number; median: number; p95: number };
  /** (d) the same chain again: outcome cache hit. PEM text input, and DER buffers as the guard passes them. */
  cacheHitPem: Distribution;
  cacheHitDer: Distribution;
}

function dist(ns: number[]): Distribution {
  return { n: ns.length, medianUs: round(median(ns) / 1000, 1), p95Us: round(p95(ns) / 1000, 1) };
}

function expectOk(r: VerifyResult, what: string): void {
  if (!r.ok) throw new Error(`bench sanity: ${what} did not verify: ${r.code} ${r.message}`);
}

const newVerifier = (pki: BenchPki): Verifier => createVerifier({ ca: pki.rootPem, crl: pki.crlPem });

export async function measureVerifyCost(
  kind: KeyKind,
  opts: { leaves: number; coldIterations: number; crlEntries: number; warmup: number },
): Promise<VerifyCostResult> {
  const t0 = process.hrtime.bigint();
  const pki = await buildBenchPki(kind, opts.leaves + opts.warmup, opts.crlEntries);
  const pkiGenerationMs = round(nsSince(t0) / 1e6, 0);
  const warmChains = pki.chains.slice(0, opts.warmup);
  const timedChains = pki.chains.slice(opts.warmup);

  // Sanity: the revoked leaf is refused, so the CRL is really consulted.
  const sanity = await newVerifier(pki).verify(pki.revokedChain);
  if (sanity.ok || sanity.code !== 'CERT_REVOKED')
    throw new Error(`bench sanity: revoked ${kind} leaf gave ${sanity.ok ? 'ok' : sanity.code}, expected CERT_REVOKED`);

  // (a) One verifier; warm it (JIT, intermediate parsed, its signature and the CRLs' checked) on
  // leaves we do not time, then each timed leaf is a cache miss for the leaf only.
  const verifier = newVerifier(pki);
  for (const chain of warmChains) expectOk(await verifier.verify(chain), `${kind} warm-up leaf`);
  const unseen: number[] = [];
  for (const chain of timedChains) {
    const start = process.hrtime.bigint();
    const r = await verifier.verify(chain);
    unseen.push(nsSince(start));
    expectOk(r, `${kind} unseen leaf`);
  }

  // (b) Fully cold: a new verifier per iteration, so leaf and intermediate are both unseen and both
  // CRL signatures are still to be checked. The verifiers are built first (createVerifier is timed
  // on its own) so the garbage of building one (the CRL parse) does not land in the timed verify.
  const coldWarmup = 5;
  const construct: number[] = [];
  const verifiers: Verifier[] = [];
  for (let i = 0; i < coldWarmup + opts.coldIterations; i++) {
    const c0 = process.hrtime.bigint();
    verifiers.push(newVerifier(pki));
    construct.push(nsSince(c0));
  }
  const cold: number[] = [];
  for (const [i, v] of verifiers.entries()) {
    // Cycle through the timed leaves (each verifier is fresh, so every leaf is unseen to it).
    const chain = timedChains[i % timedChains.length] as string;
    const start = process.hrtime.bigint();
    const r = await v.verify(chain);
    const ns = nsSince(start);
    expectOk(r, `${kind} cold chain`);
    if (i >= coldWarmup) cold.push(ns);
  }
  verifiers.length = 0;

  // (d) Cache hit: a chain this verifier has already accepted.
  const hitChain = timedChains[0] as string;
  const hitDers = decodePemOrDer(hitChain).map((item) => item.der);
  const hitPem: number[] = [];
  const hitDer: number[] = [];
  for (let i = 0; i < 2000; i++) {
    let start = process.hrtime.bigint();
    let r = await verifier.verify(hitChain);
    if (i >= 200) hitPem.push(nsSince(start));
    expectOk(r, `${kind} cache-hit chain (PEM)`);
    start = process.hrtime.bigint();
    r = await verifier.verify(hitDers);
    if (i >= 200) hitDer.push(nsSince(start));
    expectOk(r, `${kind} cache-hit chain (DER)`);
  }

  return {
    kind,
    leaves: timedChains.length,
    crlEntries: pki.revokedCount,
    pkiGenerationMs,
    unseenLeaf: dist(unseen),
    cold: dist(cold),
    createVerifierMs: {
      n: construct.length - coldWarmup,
      median: round(median(construct.slice(coldWarmup)) / 1e6, 2),
      p95: round(p95(construct.slice(coldWarmup)) / 1e6, 2),
    },
    cacheHitPem: dist(hitPem),
    cacheHitDer: dist(hitDer),
  };
}
