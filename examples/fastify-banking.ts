/**
 * Fastify over HTTP/2 (with HTTP/1.1 for older clients): mutual TLS only on /banking/*, one shared
 * verifier, roles per route.
 *
 *   npx tsx examples/fastify-banking.ts [pki-dir]     (default: a fresh dev PKI in ./pki)
 *
 * then, from another shell:
 *   curl --cacert pki/ca.pem https://localhost:8445/
 *   curl --http2 --cacert pki/ca.pem --cert pki/alice.pem --key pki/alice-key.pem https://localhost:8445/banking/accounts
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { byCommonName, createVerifier } from 'certgate';
import { requireClientCert } from 'certgate/fastify';
import { generateDevPki } from '../src/devpki/generate.js';

/** Who may do what: in a real bank this table comes from your user store. */
export const USERS = byCommonName({
  alice: { roles: ['customer'] },
  bob: { roles: ['auditor'] },
  mallory: { roles: ['customer'] },
  eve: { roles: ['customer'] },
});

export function createFastifyBankingApp(pkiDir: string) {
  const file = (name: string) => readFileSync(join(pkiDir, name));
  // One verifier shared by every guard: one trust store, one CRL index, one cache.
  const verifier = createVerifier({ ca: file('ca.pem'), crl: file('crl.pem') });

  const app = Fastify({
    http2: true,
    https: {
      allowHTTP1: true,
      cert: file('server.pem'),
      key: file('server-key.pem'),
      // Ask every client for a certificate, but let the handshake finish without one: the public
      // pages stay reachable and the guard decides on /banking.
      ca: file('ca.pem'),
      requestCert: true,
      rejectUnauthorized: false,
    },
  });
  app.addHook('onClose', async () => verifier.close());

  app.get('/', async (request) => ({ page: 'public', tls: 'one-way', http: request.raw.httpVersion }));

  // One route, guarded by its own hook.
  app.get(
    '/banking/accounts',
    { onRequest: requireClientCert({ verifier, identify: USERS, roles: ['customer'] }) },
    async (request) => ({
      user: request.clientCert.user,
      accounts: [{ iban: 'XX00 0000 0000 0001', balance: 1234.56 }],
      http: request.raw.httpVersion,
    }),
  );

  // An encapsulated context: every route registered in it is guarded by the context's hook. One
  // hook per route: each requireClientCert() remembers its own verdicts, so two on one route would
  // run `identify` twice per connection.
  app.register(
    async (audit) => {
      audit.addHook('onRequest', requireClientCert({ verifier, identify: USERS, roles: ['auditor'] }));
      audit.get('/audit', async (request) => ({ user: request.clientCert.user, entries: 3 }));
    },
    { prefix: '/banking' },
  );
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pkiDir = resolve(process.argv[2] ?? 'pki');
  if (!existsSync(join(pkiDir, 'ca.pem'))) await generateDevPki(pkiDir);
  const port = Number(process.env.PORT ?? 8445);
  await createFastifyBankingApp(pkiDir).listen({ port, host: '127.0.0.1' });
  console.log(`Fastify banking example on https://localhost:${port} (HTTP/2 and HTTP/1.1; PKI in ${pkiDir})`);
  console.log(
    `  curl --http2 --cacert ${pkiDir}/ca.pem --cert ${pkiDir}/alice.pem --key ${pkiDir}/alice-key.pem https://localhost:${port}/banking/accounts`,
  );
}
