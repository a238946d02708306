/**
 * Zero configuration follows the server: a guard without `ca` trusts the HTTPS server's `ca` and
 * `crl` as they are now, not as they were at the first request. After `server.setSecureContext()`
 * with a new CRL the revoked client is refused, on a new connection and on its open keep-alive
 * connection; after a CA is removed, its clients are refused.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClientCert } from 'certgate/express';
import { expectProblem, get, makePki, startHttps, type RunningServer, type TestPki } from '../helpers/clients.js';
import { makeOpensslCa, removeTempDirs, tempDir } from '../helpers/oracle.js';

let pki: TestPki;
/** A second CA, made with the OpenSSL CLI, and the client certificate it issued (CN=leaf). */
let other: { ca: Buffer; client: { cert: Buffer; key: Buffer } };
let running: RunningServer;

function app(): express.Express {
  const a = express();
  a.use('/zero', requireClientCert());
  a.get('/zero', (req, res) => {
    res.json({ user: req.clientCert?.user });
  });
  return a;
}

/** The server's context as startHttps builds it, with other trust options. */
const context = (trust: { ca: Buffer | Buffer[]; crl?: Buffer }): https.ServerOptions => ({
  cert: pki.server.cert,
  key: pki.server.key,
  ...trust,
});

beforeAll(async () => {
  pki = await makePki();
  const dir = tempDir('certgate-zero-config-');
  const made = makeOpensslCa(dir, { keyUsage: 'keyCertSign, cRLSign', cn: 'Second Client CA' });
  other = {
    ca: readFileSync(made.cert),
    client: { cert: readFileSync(made.leaf), key: readFileSync(join(dir, 'leaf-key.pem')) },
  };
});

afterAll(async () => {
  await running?.close();
  removeTempDirs();
});

describe('setSecureContext', () => {
  it('a CRL added later revokes a client already approved, on its open and on new connections', async () => {
    running = await startHttps(pki, app());
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const client = { ca: pki.ca, client: pki.mallory, agent };
      const before = await get(running.port, '/zero', client);
      expect({ status: before.status, user: before.body.user }).toEqual({ status: 200, user: 'mallory' });

      running.server.setSecureContext(context({ ca: pki.ca, crl: pki.crl }));

      const sameConnection = await get(running.port, '/zero', client);
      expect(sameConnection.localPort).toBe(before.localPort);
      expectProblem(sameConnection, 401, 'CERT_REVOKED');
      const fresh = await get(running.port, '/zero', { ca: pki.ca, client: pki.mallory });
      expectProblem(fresh, 401, 'CERT_REVOKED');
      // The other clients are still served by the new context.
      expect((await get(running.port, '/zero', { ca: pki.ca, client: pki.alice })).status).toBe(200);
    } finally {
      agent.destroy();
      await running.close();
    }
  });

  it('a CRL pushed into the same crl array, then setSecureContext with the same options object', async () => {
    // Found in review: comparing the option objects alone missed an array edited in place.
    const crl: Buffer[] = [];
    const options = context({ ca: pki.ca });
    (options as { crl: Buffer[] }).crl = crl;
    running = await startHttps(pki, app(), { crl });
    try {
      const before = await get(running.port, '/zero', { ca: pki.ca, client: pki.mallory });
      expect(before.status).toBe(200);
      crl.push(pki.crl);
      running.server.setSecureContext(options);
      expectProblem(await get(running.port, '/zero', { ca: pki.ca, client: pki.mallory }), 401, 'CERT_REVOKED');
    } finally {
      await running.close();
    }
  });

  it('a CA removed from the server: its clients are refused, the remaining CA is trusted', async () => {
    running = await startHttps(pki, app(), { ca: [pki.ca, other.ca] });
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const client = { ca: pki.ca, client: other.client, agent };
      expect((await get(running.port, '/zero', client)).status).toBe(200);

      running.server.setSecureContext(context({ ca: [pki.ca] }));

      expectProblem(await get(running.port, '/zero', client), 401, 'CERT_UNTRUSTED');
      expectProblem(await get(running.port, '/zero', { ca: pki.ca, client: other.client }), 401, 'CERT_UNTRUSTED');
      expect((await get(running.port, '/zero', { ca: pki.ca, client: pki.alice })).status).toBe(200);
    } finally {
      agent.destroy();
      await running.close();
    }
  });

  it('a server that had no ca and gets one: the 500 refusal is not kept', async () => {
    running = await startHttps(pki, app(), { ca: undefined });
    try {
      expectProblem(await get(running.port, '/zero', { ca: pki.ca, client: pki.alice }), 500, 'CONFIG_INVALID');
      running.server.setSecureContext(context({ ca: pki.ca }));
      expect((await get(running.port, '/zero', { ca: pki.ca, client: pki.alice })).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});
