/**
 * The configuration users write first: `ca` = the root only, clients send their issuing CA in the
 * TLS chain, and `crl` names a URL or a file with that issuing CA's CRL. Over real mutual TLS, with
 * an OpenSSL-made PKI (a reason code on every entry) and a local HTTP CRL server on 127.0.0.1:
 * - the CRL is kept as a candidate and verified at use against the issuer of the validated path;
 * - a republished CRL revokes on an open keep-alive connection, from a URL and from a file;
 * - a CRL signed by another key under the same issuer name is never used, and never evicts the
 *   last verified CRL;
 * - refusal details say what really happened.
 */
import { renameSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier, type VerifierEvents } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { get, makePki, startHttps, type RunningServer, type TestPki } from './helpers/clients.js';
import { removeTempDirs, tempDir } from './helpers/oracle.js';
import { OpensslCa } from './helpers/openssl-ca.js';
import { serveBody, type Served } from './helpers/crl-forge.js';

type Client = { chain: Buffer; key: Buffer; file: string };

let tls: TestPki;
let crlServer: Served;
let dir: string;
let root: OpensslCa;
let issuing: OpensslCa;
/** Another CA with the issuing CA's name and its own key, under another root. */
let impostor: OpensslCa;
let alice: Client;
let bob: Client;
const verifiers: Verifier[] = [];
const servers: RunningServer[] = [];

beforeAll(async () => {
  [tls, crlServer] = await Promise.all([makePki(), serveBody('/issuing-ca.crl')]);
  dir = tempDir('certgate-client-sent-ca-');
  root = OpensslCa.root(dir, 'Client Sent Root');
  issuing = root.intermediate('Client Sent Issuing CA', []);
  impostor = OpensslCa.root(join(dir, 'other'), 'Other Root').intermediate('Client Sent Issuing CA', []);
  alice = issuing.leaf('alice', []);
  bob = issuing.leaf('bob', []);
});

afterAll(async () => {
  for (const v of verifiers) v.close();
  await Promise.all([...servers.map((s) => s.close()), crlServer?.close()]);
  removeTempDirs();
});

function events<E extends keyof VerifierEvents>(v: Verifier, name: E): VerifierEvents[E][] {
  const seen: VerifierEvents[E][] = [];
  v.on(name, (payload) => seen.push(payload));
  return seen;
}

/** An Express app guarding /banking with `verifier`, behind a real HTTPS server. */
async function serve(verifier: Verifier): Promise<RunningServer> {
  const app = express();
  app.get('/banking', requireClientCert({ verifier }), (req, res) => {
    res.json({ user: req.clientCert?.user });
  });
  const server = await startHttps(tls, app);
  servers.push(server);
  return server;
}

/** The root only: the issuing CA comes from each client's chain. */
function rootOnly(crl: Record<string, unknown>): Verifier {
  const v = createVerifier({ ca: readFileSync(root.cert), crl: { fetchTimeoutMs: 2_000, ...crl } });
  verifiers.push(v);
  return v;
}

async function ask(server: RunningServer, client: Client, agent?: https.Agent) {
  const r = await get(server.port, '/banking', { ca: tls.ca, client: { cert: client.chain, key: client.key }, agent });
  const body = r.body as { code?: string; detail?: string; user?: string };
  return { status: r.status, code: body.code, user: body.user, socket: r.socket };
}

describe('a CRL of the CA clients send, with ca = the root only', () => {
  it('from a URL: 200, then a republished CRL revokes on the same keep-alive connection', async () => {
    crlServer.status = 200;
    crlServer.body = issuing.crl();
    const verifier = rootOnly({ urls: [crlServer.url] });
    const loaded = events(verifier, 'crl-loaded');
    const rejected = events(verifier, 'crl-rejected');
    const server = await serve(verifier);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await ask(server, alice, agent);
      expect({ status: first.status, user: first.user }).toEqual({ status: 200, user: 'alice' });
      expect(loaded.map((e) => e.verified)).toEqual([false]);
      expect(rejected).toEqual([]);
      issuing.revoke(alice.file, 'keyCompromise');
      crlServer.body = issuing.crl();
      await verifier.refreshCrls();
      const after = await ask(server, alice, agent);
      expect({ status: after.status, code: after.code }).toEqual({ status: 401, code: 'CERT_REVOKED' });
      expect(after.socket).toBe(first.socket);
      expect((await ask(server, bob, agent)).status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it('from a file: used at startup, refreshed when the file is replaced, revoking on the open connection', async () => {
    const file = join(dir, 'issuing.crl');
    const fresh = OpensslCa.root(join(dir, 'file-case'), 'File Root').intermediate('File Issuing CA', []);
    const carol = fresh.leaf('carol', []);
    writeFileSync(file, fresh.crl());
    const verifier = createVerifier({
      ca: readFileSync(join(dir, 'file-case', 'File-Root', 'ca.pem')),
      crl: { files: [file] },
    });
    verifiers.push(verifier);
    const rejected = events(verifier, 'crl-rejected');
    const server = await serve(verifier);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await ask(server, carol, agent)).status).toBe(200);
      fresh.revoke(carol.file, 'affiliationChanged');
      writeFileSync(`${file}.new`, fresh.crl());
      renameSync(`${file}.new`, file);
      await verifier.refreshCrls();
      const after = await ask(server, carol, agent);
      expect({ status: after.status, code: after.code }).toEqual({ status: 401, code: 'CERT_REVOKED' });
      expect(rejected).toEqual([]);
    } finally {
      agent.destroy();
    }
  });

  it('a CRL signed by another key under the same issuer name is never used', async () => {
    crlServer.status = 200;
    crlServer.body = impostor.crl();
    const verifier = rootOnly({ urls: [crlServer.url] });
    const server = await serve(verifier);
    const r = await get(server.port, '/banking', { ca: tls.ca, client: { cert: bob.chain, key: bob.key } });
    expect({ status: r.status, code: (r.body as { code: string }).code }).toEqual({
      status: 503,
      code: 'REVOCATION_UNKNOWN',
    });
    const detail = (await verifier.verify(bob.chain)) as { detail?: string };
    expect(detail.detail).toMatch(/loaded from .*issuing-ca\.crl.*names another key/);
  });

  it('an unverifiable newer CRL does not evict the verified one, nor block the next genuine one', async () => {
    crlServer.status = 200;
    crlServer.body = issuing.crl();
    const verifier = rootOnly({ urls: [crlServer.url] });
    // alice was revoked above: the genuine CRL lists her.
    expect(await codeOf(verifier, alice)).toBe('CERT_REVOKED');
    // The URL now serves the impostor's CRL (no entries, a huge CRL number): alice stays revoked.
    crlServer.body = impostor.crl(undefined, 0x100000);
    await verifier.refreshCrls();
    expect(await codeOf(verifier, alice)).toBe('CERT_REVOKED');
    expect(await codeOf(verifier, bob)).toBe('accepted');
    // The CA's next genuine CRL (a lower number than the forgery) is taken and used.
    issuing.revoke(bob.file, 'superseded');
    crlServer.body = issuing.crl();
    await verifier.refreshCrls();
    expect(await codeOf(verifier, bob)).toBe('CERT_REVOKED');
  });
});

async function codeOf(verifier: Verifier, client: Client): Promise<string> {
  const r = await verifier.verify(client.chain);
  return r.ok ? 'accepted' : r.code;
}

describe('refusal details say what happened', () => {
  it('a URL that never delivered: its error, not "not loaded yet"', async () => {
    crlServer.status = 503;
    crlServer.body = issuing.crl();
    const verifier = rootOnly({ urls: [crlServer.url] });
    const r = await verifier.verify(alice.chain);
    expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');
    const detail = r.ok ? '' : r.detail;
    expect(detail).toContain(crlServer.url);
    expect(detail).toContain('HTTP 503');
    expect(detail).not.toContain('not been loaded yet');
  });

  it('a URL serving garbage: the rejection and its reason', async () => {
    crlServer.status = 200;
    crlServer.body = Buffer.from('<html>captive portal</html>');
    const verifier = rootOnly({ urls: [crlServer.url] });
    const r = await verifier.verify(alice.chain);
    const detail = r.ok ? '' : r.detail;
    expect(detail).toContain(crlServer.url);
    expect(detail).toMatch(/neither DER nor an X509 CRL PEM block/);
  });

  it('a stale candidate: loaded, then stale', async () => {
    crlServer.status = 200;
    crlServer.body = issuing.crl();
    const later = Date.now() + 3 * 86_400_000;
    const verifier = createVerifier({
      ca: readFileSync(root.cert),
      crl: { urls: [crlServer.url], fetchTimeoutMs: 2_000 },
      clock: { now: () => later },
    });
    verifiers.push(verifier);
    const r = await verifier.verify(bob.chain);
    const detail = r.ok ? '' : r.detail;
    expect(detail).toMatch(/loaded from .*issuing-ca\.crl.*stale/);
  });

  it('a source that switches to another issuer’s CRL uncovers nothing once the CRL verified', async () => {
    crlServer.status = 200;
    crlServer.body = issuing.crl();
    const verifier = rootOnly({ urls: [crlServer.url] });
    // alice was revoked above: the genuine CRL verifies with her path's issuer at use, and stays.
    expect(await codeOf(verifier, alice)).toBe('CERT_REVOKED');
    crlServer.body = OpensslCa.root(join(dir, 'made-up'), 'Made Up CA').crl();
    await verifier.refreshCrls();
    expect(await codeOf(verifier, alice)).toBe('CERT_REVOKED');
  });

  it('with requireCrl, a candidate replaced before its first use by another name’s CRL fails closed', async () => {
    crlServer.status = 200;
    crlServer.body = issuing.crl();
    const verifier = createVerifier({
      ca: readFileSync(root.cert),
      requireCrl: true,
      crl: { values: root.crl(), urls: [crlServer.url], fetchTimeoutMs: 2_000 },
    });
    verifiers.push(verifier);
    await verifier.refreshCrls();
    crlServer.body = OpensslCa.root(join(dir, 'made-up-2'), 'Made Up CA 2').crl();
    await verifier.refreshCrls();
    const r = await verifier.verify(bob.chain);
    expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');
    expect(r.ok ? '' : r.detail).toMatch(/requireCrl is set/);
  });
});
