/**
 * `crl.distributionPoints`, issuer side first, without servers: every distribution point below
 * refuses connections (127.0.0.1 port 9), so each fetch attempt shows as a `crl-refresh-failed`
 * event naming its URL. The intermediate's CRL cannot be had, so the path is refused as unknown
 * (fail closed) and the URLs the leaf names are never tried: a leaf decides nothing while its
 * issuer is undecided, and a revoked issuer's key can mint leaves naming any URL.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { createVerifier } from 'certgate';
import { issue } from '../pki.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const NOW = Date.UTC(2026, 0, 1);
const DOWN = 'http://127.0.0.1:9';

describe('distribution points are tried issuer side first', () => {
  it('an undecided intermediate: only its own CRL is tried, never the leaf URLs', async () => {
    const root = await issue({ subject: 'CN=DP Unit Root', ca: true, omit: ['aki'] });
    const dp = (...urls: string[]) => new x509.CRLDistributionPointsExtension(urls);
    const intermediate = await issue({
      subject: 'CN=DP Unit Intermediate',
      issuer: root,
      ca: true,
      extra: [dp(`${DOWN}/root.crl`)],
    });
    const leaf = await issue({
      subject: 'CN=DP Unit Leaf',
      issuer: intermediate,
      eku: [CLIENT_AUTH],
      extra: [dp(`${DOWN}/leaf-a.crl`, `${DOWN}/leaf-b.crl`)],
    });
    const verifier = createVerifier({
      ca: Buffer.from(root.x509.rawData),
      crl: { distributionPoints: true, fetchTimeoutMs: 2_000 },
      clock: { now: () => NOW },
    });
    const tried: string[] = [];
    verifier.on('crl-refresh-failed', (e) => tried.push(e.source));
    try {
      const r = await verifier.verify([Buffer.from(leaf.x509.rawData), Buffer.from(intermediate.x509.rawData)]);
      expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');
      expect(tried).toEqual([`${DOWN}/root.crl`]);
    } finally {
      verifier.close();
    }
  });
});
