/**
 * A FAPI-style resource server: an API call needs mutual TLS *and* an access token bound to that
 * client certificate (RFC 8705): a token stolen from one client is useless without its private key.
 *
 *   npx tsx examples/fapi-resource-server.ts [pki-dir]     (default: a fresh dev PKI in ./pki)
 *
 * It plays its own authorization server so that it runs alone: a signing key made at startup, and a
 * token for alice's certificate written to <pki-dir>/alice-token.jwt. Then, from another shell:
 *   curl --cacert pki/ca.pem --cert pki/alice.pem --key pki/alice-key.pem \
 *     -H "Authorization: Bearer $(cat pki/alice-token.jwt)" https://localhost:8446/accounts     (200)
 *   curl --cacert pki/ca.pem --cert pki/bob.pem --key pki/bob-key.pem \
 *     -H "Authorization: Bearer $(cat pki/alice-token.jwt)" https://localhost:8446/accounts     (401: not bob's)
 */
import { createHash, X509Certificate } from 'node:crypto';
import https from 'node:https';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import express, { type ErrorRequestHandler } from 'express';
import { auth } from 'express-oauth2-jwt-bearer';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createVerifier } from 'certgate';
import { requireBoundToken, requireClientCert } from 'certgate/express';
import { generateDevPki } from '../src/devpki/generate.js';

const ISSUER = 'https://as.bank.example';
const AUDIENCE = 'https://api.bank.example';

export function createResourceServer(pkiDir: string, issuerKey: JWK): https.Server {
  const file = (name: string) => readFileSync(join(pkiDir, name));
  const verifier = createVerifier({ ca: file('ca.pem'), crl: file('crl.pem') });
  const mtls = requireClientCert({ verifier });
  // In production: `issuerBaseURL` (discovery and JWKS of your authorization server) instead of
  // `issuer` + `publicKey`. Its own DPoP and mTLS checks stay off: certgate does the binding, with
  // the certificate it verified (chain, CRL) and the thumbprint it computed once per connection.
  const token = auth({
    issuer: ISSUER,
    audience: AUDIENCE,
    publicKey: issuerKey,
    tokenSigningAlg: 'ES256',
    dpop: { enabled: false },
    mtls: { enabled: false },
  });
  const bound = requireBoundToken({ claims: (req) => req.auth?.payload });

  const app = express();
  app.get('/', (_req, res) => {
    res.json({ page: 'public', tls: 'one-way' });
  });
  // Certificate only: shows the x5t#S256 a token for this client must carry in cnf.
  app.get('/mtls/whoami', mtls, (req, res) => {
    res.json({ user: req.clientCert?.user, 'x5t#S256': req.clientCert?.thumbprint });
  });
  app.get('/accounts', mtls, token, bound, (req, res) => {
    res.json({
      user: req.clientCert?.user,
      client: req.auth?.payload.sub,
      accounts: [{ id: 'acc-1', balance: 1234.56 }],
    });
  });
  // express-oauth2-jwt-bearer's refusals (no token, bad signature, expired): status and challenge.
  const tokenErrors: ErrorRequestHandler = (err, _req, res, _next) => {
    const status: number = err.status ?? 500;
    res.status(status).set(err.headers ?? {});
    res.json({ error: err.code ?? (status === 401 ? 'unauthorized' : 'server_error') });
  };
  app.use(tokenErrors);

  return https.createServer(
    {
      cert: file('server.pem'),
      key: file('server-key.pem'),
      requestCert: true,
      rejectUnauthorized: false,
      ca: file('ca.pem'),
    },
    app,
  );
}

/** What the authorization server does at the token endpoint after mTLS client authentication (RFC 8705 section 3). */
export function mintBoundToken(key: CryptoKey, certPem: Buffer, client: string): Promise<string> {
  const thumbprint = createHash('sha256').update(new X509Certificate(certPem).raw).digest('base64url');
  return new SignJWT({ cnf: { 'x5t#S256': thumbprint }, scope: 'accounts' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(client)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pkiDir = resolve(process.argv[2] ?? 'pki');
  if (!existsSync(join(pkiDir, 'ca.pem'))) await generateDevPki(pkiDir);
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const tokenFile = join(pkiDir, 'alice-token.jwt');
  writeFileSync(tokenFile, await mintBoundToken(privateKey, readFileSync(join(pkiDir, 'alice.pem')), 'alice-app'));
  const port = Number(process.env.PORT ?? 8446);
  createResourceServer(pkiDir, await exportJWK(publicKey)).listen(port, '127.0.0.1', () => {
    const curl = (who: string) =>
      `  curl --cacert ${pkiDir}/ca.pem --cert ${pkiDir}/${who}.pem --key ${pkiDir}/${who}-key.pem ` +
      `-H "Authorization: Bearer $(cat ${tokenFile})" https://localhost:${port}/accounts`;
    console.log(`FAPI-style resource server on https://localhost:${port} (PKI in ${pkiDir})`);
    console.log(`A token bound to alice's certificate (valid 1 hour) is in ${tokenFile}:`);
    console.log(`${curl('alice')}     (200)`);
    console.log(`${curl('bob')}     (401 TOKEN_NOT_BOUND: not bob's token)`);
  });
}
