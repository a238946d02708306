/**
 * Property-based fuzzing of forwarded-certificate headers (decodeForwarded) for every format:
 * genuine values as each proxy writes them, mutated byte by byte; soups of each format's structural
 * tokens (quotes, separators, colons, percent escapes, PEM lines); one token repeated up to the
 * 64 KiB limit and past it; and random text split over several header lines.
 *
 * Contract: decodeForwarded never throws, returns `none`, `certificates` (1 to 10, leaf first) or
 * `malformed` with a one-line detail, and each input stays within the 50 ms CPU budget.
 * Seeded: a failure prints its seed and path.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeForwarded, type ForwardedCertificate } from '../../../src/sources/forwarded/decode.js';
import {
  DEFAULT_HEADERS,
  MAX_FORWARDED_CERTIFICATES,
  MAX_FORWARDED_HEADER_BYTES,
  PROXY_FORMATS,
  type ProxyFormat,
} from '../../../src/sources/forwarded/formats.js';
import { chain } from '../pki.js';
import { BUDGET_MS, costMs, fuzzParams, hostileBytes } from './fuzz-mutations.js';

interface Genuine {
  cert: string;
  chain?: string;
}

let genuine: Record<ProxyFormat, Genuine>;

const pemOf = (der: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
const bareBody = (der: Buffer) => der.toString('base64');

beforeAll(async () => {
  const made = await chain();
  const leaf = Buffer.from(made.leaf.x509.rawData);
  const inter = Buffer.from(made.intermediate.x509.rawData);
  const both = pemOf(leaf) + pemOf(inter);
  genuine = {
    rfc9440: { cert: `:${bareBody(leaf)}:`, chain: `:${bareBody(inter)}:;p=1, :${bareBody(inter)}:` },
    xfcc: {
      cert:
        `Hash=01;Cert="${encodeURIComponent(pemOf(inter))}",Hash=00;` +
        `Cert="${encodeURIComponent(pemOf(leaf))}";Chain="${encodeURIComponent(both)}";Subject="CN=a,O=b"`,
    },
    nginx: { cert: encodeURIComponent(pemOf(leaf)) },
    haproxy: { cert: leaf.toString('base64'), chain: Buffer.concat([inter, inter]).toString('base64') },
    apache: { cert: pemOf(leaf).replace(/\n/g, ' ') },
    caddy: { cert: leaf.toString('base64') },
    traefik: { cert: `${bareBody(leaf)},${encodeURIComponent(bareBody(inter))}` },
    'aws-alb': { cert: encodeURIComponent(both).replace(/%2B/g, '+').replace(/%3D/g, '=').replace(/%2F/g, '/') },
    azure: { cert: leaf.toString('base64') },
  };
  // The seeds are genuine: each decodes to certificates.
  for (const format of PROXY_FORMATS) {
    const seed = genuine[format];
    const result = decodeForwarded(format, [seed.cert], seed.chain ? [seed.chain] : [], DEFAULT_HEADERS[format]);
    expect(result.kind, format).toBe('certificates');
  }
});

/** Structural tokens of every format: what a parser's state machine turns on. */
const TOKENS = [
  '"',
  '\\"',
  '\\',
  ';',
  ',',
  '=',
  ':',
  '(',
  ')',
  '?1',
  ' ',
  '\t',
  '%',
  '%0A',
  '%2',
  '+',
  '/',
  'Cert=',
  'Chain="',
  'By=',
  'DNS=',
  '-----BEGIN CERTIFICATE-----',
  '-----END CERTIFICATE-----',
  '-----BEGIN ',
  '(null)',
  '{http.request.tls.client.certificate_der_base64}',
  'MIIB',
  'AAAA',
  '==',
  '\u00ff',
  '\u2028',
];

interface Input {
  format: ProxyFormat;
  cert: string[];
  chain: string[];
}

const formatArb = fc.constantFrom(...PROXY_FORMATS);

/** A genuine value mutated as bytes (latin1 text, as Node hands header values over). */
const mutatedArb: fc.Arbitrary<Input> = formatArb.chain((format) =>
  fc.tuple(hostileBytes([Buffer.from(genuine[format].cert, 'latin1')]), fc.boolean()).map(([bytes, withChain]) => {
    const chainValue = genuine[format].chain;
    return { format, cert: [bytes.toString('latin1')], chain: withChain && chainValue ? [chainValue] : [] };
  }),
);

const soupArb: fc.Arbitrary<Input> = fc
  .tuple(formatArb, fc.array(fc.constantFrom(...TOKENS), { maxLength: 200 }), fc.array(fc.constantFrom(...TOKENS)))
  .map(([format, cert, chainParts]) => ({ format, cert: [cert.join('')], chain: [chainParts.join('')] }));

/** One or two tokens repeated up to (and a little past) the byte limit: the inputs that go quadratic. */
const floodArb: fc.Arbitrary<Input> = fc
  .tuple(
    formatArb,
    fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 2 }),
    fc.integer({ min: 1, max: 70_000 }),
  )
  .map(([format, unit, length]) => {
    const text = unit
      .join('')
      .repeat(Math.ceil(length / unit.join('').length))
      .slice(0, length);
    return { format, cert: [text], chain: [] };
  });

/** Random text over several header lines, sometimes in a genuine value's frame. */
const linesArb: fc.Arbitrary<Input> = fc
  .tuple(formatArb, fc.array(fc.string({ maxLength: 300 }), { maxLength: 3 }), fc.array(fc.string(), { maxLength: 4 }))
  .map(([format, cert, chainLines]) => ({ format, cert, chain: chainLines }));

const inputArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null).chain(() => mutatedArb) },
  { weight: 2, arbitrary: soupArb },
  { weight: 1, arbitrary: floodArb },
  { weight: 1, arbitrary: linesArb },
);

function checkShape(result: ForwardedCertificate): void {
  if (result.kind === 'none') return;
  if (result.kind === 'certificates') {
    expect(result.ders.length).toBeGreaterThan(0);
    expect(result.ders.length).toBeLessThanOrEqual(MAX_FORWARDED_CERTIFICATES);
    for (const der of result.ders) expect(Buffer.isBuffer(der)).toBe(true);
    return;
  }
  expect(result.kind).toBe('malformed');
  expect(result.detail.length).toBeGreaterThan(0);
  expect(result.detail).not.toMatch(/[\r\n]/);
}

describe('fuzz: forwarded certificate headers', () => {
  it('decodeForwarded never throws, returns one of three kinds, within the budget', async () => {
    const kinds = { none: 0, certificates: 0, malformed: 0 };
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(inputArb, async ({ format, cert, chain: chainValues }) => {
        let result: ForwardedCertificate | undefined;
        const ms = await costMs(() => {
          result = decodeForwarded(format, cert, chainValues, DEFAULT_HEADERS[format]);
        });
        slowest = Math.max(slowest, ms);
        expect(ms).toBeLessThan(BUDGET_MS);
        checkShape(result as ForwardedCertificate);
        kinds[(result as ForwardedCertificate).kind]++;
      }),
      fuzzParams(600),
    );
    console.log(`fuzz-forwarded: ${JSON.stringify(kinds)}, costliest ${slowest.toFixed(2)} ms CPU`);
    expect(kinds.malformed).toBeGreaterThan(0);
    expect(kinds.certificates).toBeGreaterThan(0);
  });

  it('a value at the byte limit costs little for every format, one past it is refused unread', async () => {
    for (const format of PROXY_FORMATS) {
      for (const unit of ['"', ';a=', ':', '%', '-----BEGIN ', 'A', ',', '\\"']) {
        const text = unit
          .repeat(Math.ceil(MAX_FORWARDED_HEADER_BYTES / unit.length))
          .slice(0, MAX_FORWARDED_HEADER_BYTES);
        const ms = await costMs(() => decodeForwarded(format, [text], [], DEFAULT_HEADERS[format]));
        expect(ms, `${format} ${unit}`).toBeLessThan(BUDGET_MS);
        const over = decodeForwarded(format, [`${text}x`], [], DEFAULT_HEADERS[format]);
        expect(over.kind).toBe('malformed');
      }
    }
  });
});
