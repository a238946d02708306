/**
 * examples/psd2-gateway.ts runs as written: started the way its header says (`npx tsx
 * examples/psd2-gateway.ts [pki-dir]`, PORT moves it), it makes its own TPP certificates and
 * answers curl over real TLS: each TPP on the route of its PSD2 role, 403 elsewhere. It prints
 * curl commands that work as printed.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { curl } from './helpers/clients.js';
import { startExample, stopExamples } from './helpers/examples.js';

afterAll(stopExamples);

/** Ready once the last curl line is printed: everything is there. */
const start = () => startExample('psd2-gateway.ts', () => 'tpp-none-key.pem');

describe('examples/psd2-gateway.ts', () => {
  it('admits each TPP on the route of its PSD2 role only, with the curl commands it prints', async () => {
    const { origin, pki, output } = await start();
    expect(output()).toContain(`https://localhost:${new URL(origin).port}`);
    const ca = ['--cacert', join(pki, 'ca.pem')];
    const as = (tpp: string) => [...ca, '--cert', join(pki, `${tpp}.pem`), '--key', join(pki, `${tpp}-key.pem`)];

    expect((await curl(`${origin}/`, ca)).status).toBe(200);
    const ai = await curl(`${origin}/accounts`, as('tpp-ai'));
    expect([ai.status, ai.body.user, ai.body.nca]).toEqual([200, 'PSDGB-FCA-123456', 'GB-FCA']);
    const pi = await curl(`${origin}/payments`, as('tpp-pi'));
    expect([pi.status, pi.body.user]).toEqual([200, 'PSDDE-BAFIN-654321']);
    expect([(await curl(`${origin}/accounts`, as('tpp-pi'))).body.code]).toEqual(['ROLE_FORBIDDEN']);
    const none = await curl(`${origin}/accounts`, as('tpp-none'));
    expect([none.status, none.body.code]).toEqual([403, 'IDENTITY_UNKNOWN']);
    expect((await curl(`${origin}/accounts`, ca)).body.code).toBe('CERT_MISSING');

    // The printed commands, run as printed (minus the leading `curl`).
    const printed = output()
      .split('\n')
      .filter((line) => line.trim().startsWith('curl '));
    expect(printed).toHaveLength(4);
    const statuses = [];
    for (const line of printed) {
      const args = line.trim().split(/\s+/).slice(1);
      const url = args.pop() as string;
      statuses.push((await curl(url, args)).status);
    }
    expect(statuses).toEqual([200, 200, 403, 403]);
  }, 60_000);
});
