/**
 * Shared pieces of the property-based fuzz suite (fuzz-*.test.ts): byte-level mutations of genuine
 * inputs as fast-check arbitraries, the time budget, and the fixed seed.
 *
 * Every property is run with {@link FUZZ_SEED}; on failure fast-check prints the seed and the
 * counterexample path, so `fc.assert(..., { seed, path })` replays exactly that input.
 */
import fc from 'fast-check';

/** The per-request time budget every decoding entry point must stay within, per input. */
export const BUDGET_MS = 50;

/** One seed for the whole suite: a failure reproduces. */
export const FUZZ_SEED = 0x5eed_c0de;

export const fuzzParams = (numRuns: number): fc.Parameters<unknown> => ({ seed: FUZZ_SEED, numRuns, verbose: 1 });

/** DER length octets that lie: indefinite, non-minimal, reserved, and lengths of gigabytes. */
const LYING_LENGTHS: readonly number[][] = [
  [0x80],
  [0x81, 0x00],
  [0x81, 0x7f],
  [0x82, 0x00, 0x01],
  [0x84, 0x7f, 0xff, 0xff, 0xff],
  [0x84, 0xff, 0xff, 0xff, 0xff],
  [0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0xff],
  [0x00],
];

/** One mutation; where it applies is a relative position (0..1), so the same arbitrary fits any seed. */
export type MutationSpec =
  | { kind: 'flip'; bit: number }
  | { kind: 'set'; value: number }
  | { kind: 'truncate' }
  | { kind: 'insert'; bytes: Uint8Array }
  | { kind: 'delete'; count: number }
  | { kind: 'length'; octets: readonly number[] }
  | { kind: 'repeat'; count: number; times: number };

export interface Step {
  where: number;
  m: MutationSpec;
}

/** Flips and overwrites keep the lengths intact, so they reach past the first length check: weighted up. */
const specArb: fc.Arbitrary<MutationSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('flip' as const), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('set' as const), value: fc.integer({ min: 0, max: 255 }) }) },
  fc.record({ kind: fc.constant('truncate' as const) }),
  fc.record({ kind: fc.constant('insert' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), count: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('length' as const), octets: fc.constantFrom(...LYING_LENGTHS) }),
  fc.record({
    kind: fc.constant('repeat' as const),
    count: fc.integer({ min: 1, max: 32 }),
    times: fc.integer({ min: 2, max: 4096 }),
  }),
);

export const stepsArb: fc.Arbitrary<Step[]> = fc.array(
  // Unbiased: fast-check's default bias would put nearly every mutation at the first byte.
  fc.record({ where: fc.noBias(fc.integer({ min: 0, max: 999_999 })).map((n) => n / 1e6), m: specArb }),
  { minLength: 1, maxLength: 3 },
);

function applyOne(bytes: Buffer, { where, m }: Step): Buffer {
  const at = Math.floor(where * bytes.length);
  const head = bytes.subarray(0, at);
  switch (m.kind) {
    case 'flip':
    case 'set': {
      const out = Buffer.from(bytes);
      if (at < out.length) out[at] = m.kind === 'flip' ? (out[at] as number) ^ (1 << m.bit) : m.value;
      return out;
    }
    case 'truncate':
      return head;
    case 'insert':
      return Buffer.concat([head, m.bytes, bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([head, bytes.subarray(at + m.count)]);
    case 'length':
      // The octets after `at` replaced: where `at` lands on a tag, its length now lies.
      return Buffer.concat([
        bytes.subarray(0, at + 1),
        Buffer.from(m.octets),
        bytes.subarray(at + 1 + m.octets.length),
      ]);
    case 'repeat': {
      // Huge counts: one slice repeated thousands of times (many RDNs, extensions, entries).
      const slice = bytes.subarray(at, at + m.count);
      return Buffer.concat([head, ...Array<Buffer>(m.times).fill(slice), bytes.subarray(at)]);
    }
  }
}

export function mutate(seed: Buffer, steps: readonly Step[]): Buffer {
  return steps.reduce(applyOne, seed);
}

/** A genuine seed mutated, or (one time in eight) random bytes, sometimes behind a SEQUENCE tag. */
export function hostileBytes(seeds: readonly Buffer[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 7, arbitrary: fc.tuple(fc.constantFrom(...seeds), stepsArb).map(([s, m]) => mutate(s, m)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.boolean(), fc.uint8Array({ maxLength: 2048 }))
        .map(([der, bytes]) => (der ? Buffer.concat([Buffer.from([0x30]), bytes]) : Buffer.from(bytes))),
    },
  );
}

/**
 * What one input costs, in milliseconds of this process's CPU time (user + system): the work the
 * input causes, unlike wall time, which on a shared machine (2 cores, several test processes)
 * also counts the time spent waiting for a core. An input over the budget is run up to twice more
 * and the cheapest run kept, so a stray GC pause does not fail the suite and a slow input still does.
 */
export async function costMs(fn: () => unknown): Promise<number> {
  const once = async () => {
    const start = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
  let best = await once();
  for (let retry = 0; retry < 2 && best >= BUDGET_MS; retry++) best = Math.min(best, await once());
  return best;
}

/** `fn` either returns or throws an instance of one of `allowed`; anything else is rethrown. */
export async function onlyDocumentedErrors(
  fn: () => unknown,
  allowed: readonly (abstract new (...args: never[]) => Error)[],
): Promise<'ok' | 'refused'> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    if (allowed.some((type) => err instanceof type)) return 'refused';
    throw err;
  }
}
