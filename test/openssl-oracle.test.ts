/**
 * OpenSSL as an independent oracle: for every leaf of both test PKIs, `openssl verify` and
 * certgate's verifier are given the same anchors, intermediates and CRLs, and must agree on
 * accept/reject.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import {
  DEV_CLIENTS,
  makeDevPki,
  makeOpensslPki,
  OPENSSL_LEAVES,
  opensslVerify,
  removeTempDirs,
  tempDir,
  type DevPki,
  type OpensslPki,
  type OpensslVerifyInput,
} from './helpers/oracle.js';

interface Row {
  pki: string;
  leaf: string;
  openssl: string;
  certgate: string;
}

const rows: Row[] = [];

let ossl: OpensslPki;
let dev: DevPki;
let osslInput: OpensslVerifyInput;
let devInput: OpensslVerifyInput;
let osslVerifier: Verifier;
let devVerifier: Verifier;

/** What each leaf must come to, so the oracle cannot pass by both sides rejecting everything. */
const EXPECTED_ACCEPT = new Set(['good', 'ed25519', 'pss', 'alice', 'bob']);

beforeAll(async () => {
  ossl = makeOpensslPki();
  dev = await makeDevPki();
  const dir = tempDir('certgate-oracle-inputs-');

  // OpenSSL PKI: the intermediate and the CA:FALSE issuer of noca-issued are both offered as
  // untrusted intermediates, so both tools can at least build noca-issued's path.
  const osslIntermediates = ossl.intermediate + ossl.eeIssuer;
  writeFileSync(join(dir, 'ossl-untrusted.pem'), osslIntermediates);
  osslInput = {
    caFile: ossl.path('ca.pem'),
    untrustedFile: join(dir, 'ossl-untrusted.pem'),
    // -crl_check_all needs the root's CRL too.
    crlFiles: [ossl.path('crl.pem'), ossl.path('root-crl.pem')],
  };
  osslVerifier = createVerifier({ ca: ossl.ca, intermediates: osslIntermediates, crl: [ossl.crl, ossl.rootCrl] });

  // Dev PKI: crl.pem holds both the intermediate's and the root's CRL.
  devInput = { caFile: dev.files.caBundle, untrustedFile: dev.files.intermediateCert, crlFiles: [dev.files.crl] };
  devVerifier = createVerifier({ ca: dev.ca, intermediates: dev.intermediate, crl: dev.crl });
});

afterAll(() => {
  if (rows.length > 0) {
    const w = (k: keyof Row) => Math.max(k.length, ...rows.map((r) => r[k].length));
    const line = (r: Row) =>
      `${r.pki.padEnd(w('pki'))}  ${r.leaf.padEnd(w('leaf'))}  ${r.openssl.padEnd(w('openssl'))}  ${r.certgate}`;
    console.log(
      [
        'openssl verify vs certgate',
        line({ pki: 'pki', leaf: 'leaf', openssl: 'openssl', certgate: 'certgate' }),
        ...rows.map(line),
      ].join('\n'),
    );
  }
  removeTempDirs();
});

async function compare(
  pki: string,
  leaf: string,
  leafFile: string,
  leafPem: string,
  input: OpensslVerifyInput,
  verifier: Verifier,
) {
  const oracle = opensslVerify(leafFile, input);
  expect(oracle.status === 0 || oracle.status === 2, `openssl exit status ${oracle.status}: ${oracle.output}`).toBe(
    true,
  );
  const ours = await verifier.verify(leafPem);
  rows.push({
    pki,
    leaf,
    openssl: oracle.ok
      ? 'OK'
      : `rejected: ${/error (\d+ at \d+ depth lookup: .+)/.exec(oracle.output)?.[1] ?? oracle.output.trim().split('\n')[0]}`,
    certgate: ours.ok ? 'OK' : ours.code,
  });
  expect(
    ours.ok,
    `openssl says ${oracle.ok ? 'OK' : oracle.output.trim()}; certgate says ${ours.ok ? 'OK' : `${ours.code}: ${ours.detail}`}`,
  ).toBe(oracle.ok);
  expect(ours.ok).toBe(EXPECTED_ACCEPT.has(leaf));
}

describe('openssl verify -x509_strict -purpose sslclient -crl_check_all agrees with certgate', () => {
  describe('OpenSSL PKI', () => {
    it.each(OPENSSL_LEAVES.map((l) => [l]))('%s', async (leaf) => {
      await compare('openssl', leaf, ossl.path(`${leaf}.pem`), ossl.leaf[leaf], osslInput, osslVerifier);
    });
  });

  describe('dev PKI', () => {
    it.each(DEV_CLIENTS.map((c) => [c]))('%s', async (client) => {
      // Both tools get the leaf alone; the intermediate comes from the untrusted/intermediates set.
      await compare('dev', client, dev.leafFile[client], dev.leaf[client], devInput, devVerifier);
    });
  });
});
