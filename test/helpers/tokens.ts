/**
 * RFC 8705 test material: a token issuer (ES256 key, JWKS served over HTTP on 127.0.0.1), tokens
 * bound to a certificate, and the certificate's x5t#S256 computed by OpenSSL, independently of certgate.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';

export const ISSUER = 'https://issuer.example';
export const AUDIENCE = 'https://api.bank.example';

/** x5t#S256 by OpenSSL: `openssl x509 -outform DER | openssl dgst -sha256 -binary`, then base64url. */
export function opensslThumbprint(certPem: Buffer | string): string {
  const der = execFileSync('openssl', ['x509', '-outform', 'DER'], { input: certPem });
  const digest = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der });
  return digest.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Upper case to lower and back: the same letters, another value. */
export function swapCase(s: string): string {
  return [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
}

export interface Issuer {
  publicJwk: JWK;
  /** `http://127.0.0.1:<port>/jwks`, once {@link Issuer.serveJwks} ran. */
  jwksUri: string;
  /** A signed access token; `cnf` is left out when undefined. */
  mint(claims?: JWTPayload & { cnf?: unknown }): Promise<string>;
  /** What a token middleware does: the verified payload, or undefined for no/invalid token. */
  verify(authorization: string | undefined): Promise<JWTPayload | undefined>;
  serveJwks(): Promise<void>;
  close(): Promise<void>;
}

export async function makeIssuer(): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  let server: http.Server | undefined;
  const issuer: Issuer = {
    publicJwk,
    jwksUri: '',
    mint: (claims = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('client-1')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey),
    async verify(authorization) {
      const m = /^Bearer (.+)$/.exec(authorization ?? '');
      if (!m) return undefined;
      try {
        return (await jwtVerify(m[1]!, publicKey, { issuer: ISSUER, audience: AUDIENCE })).payload;
      } catch {
        return undefined;
      }
    },
    async serveJwks() {
      server = http.createServer((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [publicJwk] }));
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      issuer.jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return issuer;
}
