/**
 * Koa: mutual TLS only on /banking/* routes, one shared verifier, roles per route.
 *
 *   npx tsx examples/koa-banking.ts [pki-dir]     (default: a fresh dev PKI in ./pki)
 *   curl --cacert pki/ca.pem --cert pki/alice.pem --key pki/alice-key.pem https://localhost:8444/banking/balance
 */
import https from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Koa from 'koa';
import Router from '@koa/router';
import { byCommonName, createVerifier } from 'certgate';
import { requireClientCert, type ClientCertState } from 'certgate/koa';
import { generateDevPki } from '../src/devpki/generate.js';

const USERS = byCommonName({
  alice: { roles: ['customer'] },
  bob: { roles: ['auditor'] },
  mallory: { roles: ['customer'] },
  eve: { roles: ['customer'] },
});

export function createKoaBankingServer(pkiDir: string): https.Server {
  const file = (name: string) => readFileSync(join(pkiDir, name));
  const verifier = createVerifier({ ca: file('ca.pem'), crl: file('crl.pem') });

  const router = new Router<ClientCertState>();
  router.get('/', (ctx) => {
    ctx.body = { page: 'public', tls: 'one-way' };
  });
  router.get('/banking/balance', requireClientCert({ verifier, identify: USERS, roles: ['customer'] }), (ctx) => {
    ctx.body = { user: ctx.state.clientCert.user, balance: 1234.56 };
  });
  router.get('/banking/audit', requireClientCert({ verifier, identify: USERS, roles: ['auditor'] }), (ctx) => {
    ctx.body = { user: ctx.state.clientCert.user, entries: 3 };
  });

  const app = new Koa();
  app.use(router.routes()).use(router.allowedMethods());
  return https.createServer(
    {
      cert: file('server.pem'),
      key: file('server-key.pem'),
      ca: file('ca.pem'),
      requestCert: true,
      rejectUnauthorized: false,
    },
    app.callback(),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pkiDir = resolve(process.argv[2] ?? 'pki');
  if (!existsSync(join(pkiDir, 'ca.pem'))) await generateDevPki(pkiDir);
  const port = Number(process.env.PORT ?? 8444);
  createKoaBankingServer(pkiDir).listen(port, '127.0.0.1', () => {
    console.log(`Koa banking example on https://localhost:${port} (PKI in ${pkiDir})`);
    console.log(
      `  curl --cacert ${pkiDir}/ca.pem --cert ${pkiDir}/alice.pem --key ${pkiDir}/alice-key.pem https://localhost:${port}/banking/balance`,
    );
  });
}
