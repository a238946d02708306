/**
 * Attacks certgate already withstood when it was attacked (issue "Hardening"), kept as a standing
 * suite so a later change cannot reopen them. The legitimate PKI is made by @peculiar/x509
 * (test/helpers/live-pki.ts); every attacker certificate is made by the OpenSSL CLI, and OpenSSL's
 * own `verify` refuses each of them too (the oracle), so a 200 here would be certgate's bug alone.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClientCert } from 'certgate/express';
import { expectProblem, get, type RunningServer, startHttps } from '../helpers/clients.js';
import { makeLivePki, type LivePki } from '../helpers/live-pki.js';
import { opensslOk, opensslVerify, removeTempDirs, tempDir } from '../helpers/oracle.js';

interface Attacker {
  /** The attacker's own CA certificate, named like the real intermediate. */
  impostorPem: string;
  /** A leaf for CN=admin issued by the impostor (issuer name = the real intermediate's). */
  leafPem: string;
  keyPem: string;
}

/**
 * An impostor of "CN=Live Intermediate" with its own key, claiming `ski` as its key identifier
 * (so its leaves carry the real intermediate's AKI when `ski` is the real one), and its leaf.
 */
function makeAttacker(dir: string, ski: string): Attacker {
  const ca = (f: string) => join(dir, f);
  opensslOk(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30']
      .concat(['-keyout', ca('impostor.key'), '-out', ca('impostor.pem'), '-subj', '/CN=Live Intermediate'])
      .concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
      .concat(['-addext', `subjectKeyIdentifier=${ski}`]),
  );
  opensslOk(
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=admin'].concat([
      '-keyout',
      ca('leaf.key'),
      '-out',
      ca('leaf.csr'),
    ]),
  );
  writeFileSync(
    ca('leaf.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' +
      'authorityKeyIdentifier=keyid:always\n',
  );
  opensslOk(
    ['x509', '-req', '-in', ca('leaf.csr'), '-CA', ca('impostor.pem'), '-CAkey', ca('impostor.key')].concat([
      '-CAcreateserial',
      '-days',
      '7',
      '-extfile',
      ca('leaf.ext'),
      '-out',
      ca('leaf.pem'),
    ]),
  );
  const read = (f: string) => opensslOk(['x509', '-in', ca(f)]);
  return {
    impostorPem: read('impostor.pem'),
    leafPem: read('leaf.pem'),
    keyPem: opensslOk(['pkey', '-in', ca('leaf.key')]),
  };
}

/** The subjectKeyIdentifier of a PEM certificate as OpenSSL prints it (hex with colons). */
function subjectKeyId(dir: string, pem: string): string {
  const file = join(dir, 'ski-source.pem');
  writeFileSync(file, pem);
  const out = opensslOk(['x509', '-in', file, '-noout', '-ext', 'subjectKeyIdentifier']);
  return (out.split('\n')[1] ?? '').trim();
}

let pki: LivePki;
let dir: string;
let realAki: Attacker;
let ownAki: Attacker;
let server: RunningServer;
const serverCa = (p: LivePki) => Buffer.from(p.rootPem);

beforeAll(async () => {
  pki = await makeLivePki();
  dir = tempDir('certgate-withstood-');
  const realSki = subjectKeyId(dir, pki.intermediatePem);
  realAki = makeAttacker(tempDir('certgate-withstood-real-'), realSki);
  ownAki = makeAttacker(tempDir('certgate-withstood-own-'), 'hash');
  const app = express();
  // The configuration a user writes first: the root only; clients send their intermediate.
  app.use(requireClientCert({ ca: pki.rootPem }));
  app.get('/', (req, res) => res.json({ user: req.clientCert?.user }));
  server = await startHttps({ server: pki.server, ca: pki.rootPem }, app);
}, 60_000);

afterAll(async () => {
  await server?.close();
  removeTempDirs();
});

const asClient = (cert: string, key: string) =>
  get(server.port, '/', { ca: serverCa(pki), client: { cert: Buffer.from(cert), key: Buffer.from(key) } });

describe('attacks certgate withstands (standing adversarial suite)', () => {
  it('control: the legitimate client (leaf + intermediate) gets 200', async () => {
    const r = await asClient(pki.alice.cert, pki.alice.key);
    expect({ status: r.status, user: r.body.user }).toEqual({ status: 200, user: 'alice' });
  });

  it('a forged issuer: a leaf naming the real intermediate and its key (AKI), signed by another key: 401', async () => {
    const r = await asClient(realAki.leafPem + pki.intermediatePem, realAki.keyPem);
    expectProblem(r, 401, 'CERT_SIGNATURE_INVALID');
  });

  it('a same-name impostor CA sent in the chain (self-signed, the real SKI claimed): 401 CERT_UNTRUSTED', async () => {
    const r = await asClient(realAki.leafPem + realAki.impostorPem, realAki.keyPem);
    expectProblem(r, 401, 'CERT_UNTRUSTED');
  });

  it('an AKI naming another key than the real intermediate, with the impostor CA sent: 401 CERT_UNTRUSTED', async () => {
    const r = await asClient(ownAki.leafPem + ownAki.impostorPem + pki.intermediatePem, ownAki.keyPem);
    expectProblem(r, 401, 'CERT_UNTRUSTED');
  });

  it('OpenSSL refuses the same three chains (oracle)', () => {
    const file = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const caFile = file('root.pem', pki.rootPem);
    const cases = [
      [realAki.leafPem, pki.intermediatePem],
      [realAki.leafPem, realAki.impostorPem],
      [ownAki.leafPem, ownAki.impostorPem + pki.intermediatePem],
    ] as const;
    for (const [i, [leaf, untrusted]] of cases.entries()) {
      const verdict = opensslVerify(file(`leaf-${i}.pem`, leaf), {
        caFile,
        untrustedFile: file(`untrusted-${i}.pem`, untrusted),
      });
      expect(verdict.ok, verdict.output).toBe(false);
    }
  });
});
