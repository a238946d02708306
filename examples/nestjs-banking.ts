/**
 * A NestJS banking module on the Express platform: mutual TLS on /banking/*, the rest public.
 *
 *   npx tsx examples/nestjs-banking.ts [pki-dir]     (default: a fresh dev PKI in ./pki)
 *
 * then, from another shell:
 *   curl --cacert pki/ca.pem https://localhost:8443/
 *   curl --cacert pki/ca.pem --cert pki/alice.pem --key pki/alice-key.pem https://localhost:8443/banking/accounts
 *   curl --cacert pki/ca.pem --cert pki/bob.pem --key pki/bob-key.pem https://localhost:8443/banking/audit
 */
import 'reflect-metadata';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Controller, Get, Module, UseGuards, type INestApplication, type NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { byCommonName } from 'certgate';
import { CertgateModule, ClientCert, ClientCertGuard, RequireClientCert } from 'certgate/nestjs';
import { generateDevPki } from '../src/devpki/generate.js';

/** Who may do what: in a real bank this table comes from your user store. */
export const USERS = byCommonName({
  alice: { user: 'alice', roles: ['customer'] },
  bob: { user: 'bob', roles: ['auditor'] },
  mallory: { user: 'mallory', roles: ['customer'] },
  eve: { user: 'eve', roles: ['customer'] },
});

@Controller()
class HomeController {
  @Get()
  home() {
    return { page: 'public', tls: 'one-way' };
  }
}

/** Every route needs a verified certificate of a customer or an auditor; each route narrows that. */
@Controller('banking')
@UseGuards(ClientCertGuard)
@RequireClientCert({ roles: ['customer', 'auditor'] })
class BankingController {
  @Get('accounts')
  @RequireClientCert({ roles: ['customer'] })
  accounts(@ClientCert() cert: ClientCert) {
    return { user: cert.user, balance: 1234.56 };
  }

  @Get('audit')
  @RequireClientCert({ roles: ['auditor'] })
  audit(@ClientCert() cert: ClientCert) {
    return { user: cert.user, entries: 3 };
  }

  @Get('whoami')
  whoami(@ClientCert() cert: ClientCert) {
    return { user: cert.user, roles: cert.roles, issuer: cert.certificate.issuer.CN };
  }
}

export async function createBankingApp(
  pkiDir: string,
  options: NestApplicationOptions = {},
): Promise<INestApplication> {
  const file = (name: string) => readFileSync(join(pkiDir, name));
  @Module({
    // One module-wide verifier: one trust store, one CRL store, one cache for every route.
    imports: [CertgateModule.forRoot({ ca: file('ca.pem'), crl: file('crl.pem'), identify: USERS })],
    controllers: [HomeController, BankingController],
  })
  class AppModule {}

  return NestFactory.create(AppModule, {
    ...options,
    httpsOptions: {
      cert: file('server.pem'),
      key: file('server-key.pem'),
      // Ask every client for a certificate, but let the handshake finish without one: the public
      // pages stay reachable and the guard decides on /banking.
      requestCert: true,
      rejectUnauthorized: false,
      ca: file('ca.pem'),
    },
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pkiDir = resolve(process.argv[2] ?? 'pki');
  if (!existsSync(join(pkiDir, 'ca.pem'))) await generateDevPki(pkiDir);
  const port = Number(process.env.PORT ?? 8443);
  const app = await createBankingApp(pkiDir);
  await app.listen(port, '127.0.0.1');
  console.log(`NestJS banking example on https://localhost:${port} (PKI in ${pkiDir})`);
  console.log(`  curl --cacert ${pkiDir}/ca.pem https://localhost:${port}/`);
  console.log(
    `  curl --cacert ${pkiDir}/ca.pem --cert ${pkiDir}/alice.pem --key ${pkiDir}/alice-key.pem https://localhost:${port}/banking/accounts`,
  );
}
