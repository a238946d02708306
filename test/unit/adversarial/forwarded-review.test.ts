/**
 * Attacks on forwarded-certificate headers found in review, each refused now:
 * - XFCC: Envoy writes URI and DNS SANs (and By) unquoted and unescaped, so a client certificate
 *   whose URI SAN holds `,Cert="<someone else's certificate>"` split Envoy's one element in two and
 *   the forged part was read as the nearest proxy's element;
 * - a long run of spaces inside a value made the OWS trim quadratic (64 KiB: 2 s);
 * - a long XFCC key was echoed whole in the refusal detail.
 */
import { describe, expect, it } from 'vitest';
import { decodeForwarded } from '../../../src/sources/forwarded/decode.js';
import { issue } from '../pki.js';

const pemOf = (der: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
const XFCC = { cert: 'x-forwarded-client-cert' };

describe('XFCC values Envoy writes unescaped', () => {
  it('a URI or DNS SAN carrying another Cert cannot make it the nearest element', async () => {
    const bob = Buffer.from((await issue({ subject: 'CN=bob' })).x509.rawData);
    const alice = Buffer.from((await issue({ subject: 'CN=alice' })).x509.rawData);
    const enc = (der: Buffer) => encodeURIComponent(pemOf(der));
    const envoyWrote = (san: string) =>
      `By=spiffe://edge;Hash=00;Cert="${enc(bob)}";Subject="CN=bob";${san}=spiffe://x,Cert="${enc(alice)}"`;
    for (const san of ['URI', 'DNS']) {
      const result = decodeForwarded('xfcc', [envoyWrote(san)], [], XFCC);
      expect(result.kind).toBe('malformed');
      if (result.kind === 'malformed') expect(result.detail).toMatch(/unescaped/);
    }
    // One element with a URI SAN (what a single edge proxy with SANITIZE_SET writes) is read.
    const single = decodeForwarded('xfcc', [`Hash=00;Cert="${enc(bob)}";URI=spiffe://bank/bob`], [], XFCC);
    expect(single.kind === 'certificates' && single.ders[0]?.equals(bob)).toBe(true);
  });

  it('a long key is quoted as a snippet in the detail, not echoed whole', () => {
    const result = decodeForwarded('xfcc', ['k'.repeat(60_000)], [], XFCC);
    expect(result.kind).toBe('malformed');
    if (result.kind === 'malformed') expect(result.detail.length).toBeLessThan(400);
  });
});

describe('OWS trimming is linear', () => {
  it('64 KiB with a long interior run of spaces decodes (and is refused) within 50 ms of CPU', () => {
    for (const [format, value] of [
      ['xfcc', `a=${' '.repeat(60_000)}b`],
      ['apache', `-----BEGIN CERTIFICATE----- ${' '.repeat(60_000)}x -----END CERTIFICATE-----`],
    ] as const) {
      const start = process.cpuUsage();
      const result = decodeForwarded(format, [value], [], { cert: 'x-ssl-client-cert' });
      const used = process.cpuUsage(start);
      expect(result.kind).toBe('malformed');
      // Before: 2.3 s for the same input.
      expect((used.user + used.system) / 1000).toBeLessThan(50);
    }
  });
});
