/**
 * Mutual TLS only on /banking/*: the rest of the site stays one-way TLS.
 *
 *   npx tsx examples/express-banking.ts [pki-dir]     (default: a fresh dev PKI in ./pki)
 *
 * then, from another shell:
 *   curl --cacert pki/ca.pem https://localhost:8443/
 *   curl --cacert pki/ca.pem --cert pki/alice.pem --key pki/alice-key.pem https://localhost:8443/banking/balance
 */
import https from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { byCommonName, createVerifier } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { generateDevPki } from '../src/devpki/generate.js';

/** Who may do what: in a real bank this table comes from your user store. */
export const USERS = byCommonName({
  alice: { user: 'alice', roles: ['customer'] },
  bob: { user: 'bob', roles: ['auditor'] },
  mallory: { user: 'mallory', roles: ['customer'] },
  eve: { user: 'eve', roles: ['customer'] },
});

export function createBankingServer(pkiDir: string): https.Server {
  const file = (name: string) => readFileSync(join(pkiDir, name));
  // One verifier shared by every guard: one trust store, one CRL index, one cache.
  const verifier = createVerifier({ ca: file('ca.pem'), crl: file('crl.pem') });

  const app = express();
  app.get('/', (_req, res) => {
    res.json({ page: 'public', tls: 'one-way' });
  });
  app.use('/banking', requireClientCert({ verifier, identify: USERS, roles: ['customer', 'auditor'] }));
  app.get('/banking/balance', requireClientCert({ verifier, identify: USERS, roles: ['customer'] }), (req, res) => {
    res.json({ user: req.clientCert?.user, balance: 1234.56 });
  });
  app.get('/banking/audit', requireClientCert({ verifier, identify: USERS, roles: ['auditor'] }), (req, res) => {
    res.json({ user: req.clientCert?.user, entries: 3 });
  });

  return https.createServer(
    {
      cert: file('server.pem'),
      key: file('server-key.pem'),
      // Ask every client for a certificate, but let the handshake finish without one: the public
      // pages stay reachable and the guard decides on /banking.
      requestCert: true,
      rejectUnauthorized: false,
      ca: file('ca.pem'),
    },
    app,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pkiDir = resolve(process.argv[2] ?? 'pki');
  if (!existsSync(join(pkiDir, 'ca.pem'))) await generateDevPki(pkiDir);
  const port = Number(process.env.PORT ?? 8443);
  createBankingServer(pkiDir).listen(port, '127.0.0.1', () => {
    console.log(`Express banking example on https://localhost:${port} (PKI in ${pkiDir})`);
    console.log(`  curl --cacert ${pkiDir}/ca.pem https://localhost:${port}/`);
    console.log(
      `  curl --cacert ${pkiDir}/ca.pem --cert ${pkiDir}/alice.pem --key ${pkiDir}/alice-key.pem https://localhost:${port}/banking/balance`,
    );
  });
}
