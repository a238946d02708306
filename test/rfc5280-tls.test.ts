/**
 * Name constraints and certificate policies over real TLS (RFC 5280 4.2.1.10, 4.2.1.4, 6.1): a
 * partner's issuing CA, made by the OpenSSL CLI, is constrained to the partner's names and issues
 * under two policies; the bank's server requires one of them explicitly and grants a role by
 * policy. `openssl verify -policy_check` is the oracle for every leaf's accept/refuse.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type IdentifyFunction, type Verifier } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { get, makePki, startHttps, type RunningServer, type TestPki } from './helpers/clients.js';
import { OpensslCa } from './helpers/openssl-ca.js';
import { opensslVerify, removeTempDirs, tempDir } from './helpers/oracle.js';

const QUALIFIED = '1.3.6.1.4.1.55555.1.1';
const BASIC = '1.3.6.1.4.1.55555.1.2';
const OTHER = '1.3.6.1.4.1.55555.1.9';

/** The leaves: their OpenSSL extension lines, and what the bank's server answers. */
const LEAVES = {
  alice: { ext: [`subjectAltName = email:alice@partner.example`, `certificatePolicies = ${QUALIFIED}`], status: 200 },
  bob: { ext: [`subjectAltName = DNS:bob.partner.example`, `certificatePolicies = ${BASIC}`], status: 200 },
  mallory: { ext: [`subjectAltName = DNS:payments.bank.example`, `certificatePolicies = ${QUALIFIED}`], status: 401 },
  eve: { ext: [`subjectAltName = email:eve@partner.example`, `certificatePolicies = ${OTHER}`], status: 401 },
} as const;
type LeafName = keyof typeof LEAVES;

let dir: string;
let pki: TestPki;
let root: OpensslCa;
let partner: OpensslCa;
const leaves = {} as Record<LeafName, { chain: Buffer; key: Buffer; file: string }>;
let server: RunningServer;
let verifier: Verifier;

const identify: IdentifyFunction = (certificate, { policies }) => ({
  user: String(certificate.subject.CN),
  roles: policies.includes(QUALIFIED) ? ['qualified'] : ['basic'],
});

beforeAll(async () => {
  dir = tempDir('certgate-rfc5280-tls-');
  pki = await makePki();
  root = OpensslCa.root(dir, 'Bank Root');
  partner = root.intermediate(
    'Partner CA',
    [],
    [
      'nameConstraints = critical, permitted;DNS:partner.example, permitted;email:partner.example, permitted;dirName:partner_dn',
      `certificatePolicies = ${QUALIFIED}, ${BASIC}`,
      '[ partner_dn ]',
      'O = certgate test',
    ],
  );
  for (const name of Object.keys(LEAVES) as LeafName[]) leaves[name] = partner.leaf(name, [], [...LEAVES[name].ext]);
  // The configuration a bank writes first: `ca` = its root only; the client sends the partner CA.
  verifier = createVerifier({
    ca: readFileSync(root.cert),
    policies: { initial: [QUALIFIED, BASIC], requireExplicit: true },
  });
  const app = express();
  const answer = (req: express.Request, res: express.Response) =>
    res.json({ user: req.clientCert?.user, roles: req.clientCert?.roles, policies: req.clientCert?.policies });
  app.get('/any', requireClientCert({ verifier, identify }), answer);
  app.get('/qualified', requireClientCert({ verifier, identify, roles: ['qualified'] }), answer);
  server = await startHttps(pki, app);
}, 60_000);

afterAll(async () => {
  await server?.close();
  verifier?.close();
  removeTempDirs();
});

const request = (name: LeafName, path = '/any') =>
  get(server.port, path, { ca: pki.ca, client: { cert: leaves[name].chain, key: leaves[name].key } });

describe('name constraints and certificate policies over real TLS', () => {
  it('lets in a client inside the partner CA names with an accepted policy, and says which policy', async () => {
    const reply = await request('alice');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ user: 'alice', roles: ['qualified'], policies: [QUALIFIED] });
    expect((await request('bob')).body).toEqual({ user: 'bob', roles: ['basic'], policies: [BASIC] });
  });

  it('grants a role by policy: only the qualified policy reaches /qualified', async () => {
    expect((await request('alice', '/qualified')).status).toBe(200);
    const bob = await request('bob', '/qualified');
    expect(bob.status).toBe(403);
    expect(bob.body.code).toBe('ROLE_FORBIDDEN');
  });

  it('refuses a name outside the constrained CA subtrees with CERT_NAME_CONSTRAINED', async () => {
    const reply = await request('mallory');
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('CERT_NAME_CONSTRAINED');
  });

  it('refuses a client with no acceptable policy with CERT_POLICY_INVALID when an explicit policy is required', async () => {
    const reply = await request('eve');
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('CERT_POLICY_INVALID');
  });

  it('agrees with openssl verify -policy_check -explicit_policy on every leaf', () => {
    const untrusted = join(dir, 'partner.pem');
    writeFileSync(untrusted, readFileSync(partner.cert));
    for (const name of Object.keys(LEAVES) as LeafName[]) {
      const verdict = opensslVerify(leaves[name].file, {
        caFile: root.cert,
        untrustedFile: untrusted,
        extra: ['-policy_check', '-explicit_policy', '-policy', QUALIFIED, '-policy', BASIC],
      });
      expect({ name, accepted: verdict.ok }, verdict.output).toEqual({ name, accepted: LEAVES[name].status === 200 });
    }
  });
});
