/**
 * A known client's new TLS connection (B2B clients often open one per request): the guard reuses
 * the verification of the same leaf from an earlier connection (the handshake proved possession of
 * its key), so it reads no chain and validates no path; identity and roles are still decided per
 * connection, refusals are never reused, and a CRL change voids the reuse. Real TLS, new
 * connections without session resumption.
 */
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { get, makePki, startHttps, type RunningServer, type TestPki } from './helpers/clients.js';

let pki: TestPki;
let srv: RunningServer;
let verifier: Verifier;
let verifications = 0;
let identifications = 0;
let roleOfAlice = 'customer';

beforeAll(async () => {
  pki = await makePki();
  verifier = createVerifier({ ca: pki.ca, crl: pki.crl });
  const verify = verifier.verify.bind(verifier);
  verifier.verify = (...args) => {
    verifications++;
    return verify(...args);
  };
  const app = express();
  const identify = (cert: { subject: { CN?: string | readonly string[] } }) => {
    identifications++;
    return { user: String(cert.subject.CN), roles: cert.subject.CN === 'alice' ? [roleOfAlice] : [] };
  };
  app.use(requireClientCert({ verifier, identify, roles: ['customer'] }));
  app.get('/', (req, res) => {
    res.json({ user: req.clientCert?.user });
  });
  srv = await startHttps(pki, app);
});
afterAll(async () => {
  await srv.close();
  verifier.close();
});

/** A request on a new TLS connection, never a resumed session. */
const fresh = (client: { cert: Buffer; key: Buffer }) => get(srv.port, '/', { ca: pki.ca, client });

describe('a known client on a new connection', () => {
  it('verifies the leaf once, and runs identify on every connection', async () => {
    verifications = 0;
    identifications = 0;
    for (let i = 0; i < 3; i++) {
      const reply = await fresh(pki.alice);
      expect([reply.status, reply.body, reply.clientReused]).toEqual([200, { user: 'alice' }, false]);
    }
    expect(verifications).toBe(1);
    expect(identifications).toBe(3);
  });

  it('an identity change applies to the next connection (roles are not reused with the verification)', async () => {
    roleOfAlice = 'auditor';
    try {
      expect((await fresh(pki.alice)).body.code).toBe('ROLE_FORBIDDEN');
    } finally {
      roleOfAlice = 'customer';
    }
    expect((await fresh(pki.alice)).status).toBe(200);
  });

  it('refusals are not reused across connections: each new connection of a revoked client is verified', async () => {
    verifications = 0;
    for (let i = 0; i < 2; i++) expect((await fresh(pki.mallory)).body.code).toBe('CERT_REVOKED');
    expect(verifications).toBe(2);
  });

  it('a CRL change voids the remembered verification', async () => {
    verifications = 0;
    await fresh(pki.bob);
    await fresh(pki.bob);
    expect(verifications).toBe(1);
    // A new verifier revision stands for any accepted CRL change (the live CRL tests change real CRLs).
    const revision = Object.getOwnPropertyDescriptor(verifier, 'revision');
    Object.defineProperty(verifier, 'revision', { get: () => 1, configurable: true });
    try {
      await fresh(pki.bob);
      expect(verifications).toBe(2);
    } finally {
      Object.defineProperty(verifier, 'revision', revision as PropertyDescriptor);
    }
  });
});
