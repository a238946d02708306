/**
 * RFC 5280 section 6.3 revocation against CRLs made by `openssl ca -gencrl` (test/fixtures/
 * openssl-crl-pki.sh): delta CRLs (5.2.4, removeFromCRL 5.3.1) and reason-partitioned CRLs
 * (5.2.5 onlySomeReasons). certgate's verdict is compared with `openssl verify -crl_check_all
 * -extended_crl -use_deltas`; where the two differ, RFC 5280 is asserted and the reason written.
 * Then the same CRLs over real TLS (express, CRLs fetched from a local HTTP server) and `certgate crl`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { main } from '../src/cli/main.js';
import { get, makePki, startHttps, type RunningServer } from './helpers/clients.js';
import { opensslVerify, pemToDer, removeTempDirs, tempDir } from './helpers/oracle.js';
import { makeLivePki } from './helpers/live-pki.js';
import { encodeElement, TAG } from '../src/x509/der.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/openssl-crl-pki.sh', import.meta.url));

const LEAVES = ['good', 'revoked-base', 'revoked-delta', 'held', 'part-good', 'part-kc', 'part-sup'] as const;
type Leaf = (typeof LEAVES)[number];

/** The CRLs each case configures (the root's CRL is always added: -crl_check_all checks the intermediate too). */
const SETS = {
  base: ['base'],
  delta: ['base', 'delta'],
  stale: ['base', 'delta-stale'],
  badsig: ['base', 'delta-badsig'],
  newbase: ['base', 'delta-newbase'],
  deltaOnly: ['delta'],
  deltaLarge: ['base', 'delta-large'],
  partA: ['part-a'],
  partB: ['part-b'],
  parts: ['part-a', 'part-b'],
} as const;
type SetName = keyof typeof SETS;

type Verdict = 'OK' | 'CERT_REVOKED' | 'REVOCATION_UNKNOWN';
/** OpenSSL's verdict in certgate's words ("unable to get certificate CRL" is REVOCATION_UNKNOWN). */
type OpensslVerdict = Verdict | 'CRL signature failure' | 'other';

function opensslSays(output: string, ok: boolean): OpensslVerdict {
  if (ok) return 'OK';
  if (/certificate revoked/.test(output)) return 'CERT_REVOKED';
  if (/unable to get certificate CRL/.test(output)) return 'REVOCATION_UNKNOWN';
  if (/CRL signature failure/.test(output)) return 'CRL signature failure';
  return 'other';
}

/** What RFC 5280 section 6.3.3 decides, per CRL set and leaf (the leaves each set is about). */
const EXPECTED: Record<SetName, Partial<Record<Leaf, Verdict>>> = {
  base: { good: 'OK', 'revoked-base': 'CERT_REVOKED', 'revoked-delta': 'OK', held: 'CERT_REVOKED' },
  // The delta revokes one more and lifts the hold (removeFromCRL, RFC 5280 section 5.3.1).
  delta: { good: 'OK', 'revoked-base': 'CERT_REVOKED', 'revoked-delta': 'CERT_REVOKED', held: 'OK' },
  // A stale delta leaves the changes since the base unknown; what the base lists still stands.
  stale: {
    good: 'REVOCATION_UNKNOWN',
    'revoked-base': 'CERT_REVOKED',
    'revoked-delta': 'REVOCATION_UNKNOWN',
    held: 'CERT_REVOKED',
  },
  // A delta whose signature fails is no delta: as for a stale one.
  badsig: {
    good: 'REVOCATION_UNKNOWN',
    'revoked-base': 'CERT_REVOKED',
    'revoked-delta': 'REVOCATION_UNKNOWN',
    held: 'CERT_REVOKED',
  },
  // A delta of a newer base (32 > 16) cannot update this complete CRL (5.2.4): the base decides alone.
  newbase: { good: 'OK', 'revoked-base': 'CERT_REVOKED', 'revoked-delta': 'OK', held: 'CERT_REVOKED' },
  // The same changes in a delta of 592 KB, indexed in the worker thread (its notes cross over).
  deltaLarge: { good: 'OK', 'revoked-base': 'CERT_REVOKED', 'revoked-delta': 'CERT_REVOKED', held: 'OK' },
  // A delta alone decides nothing (5.2.4: it is read with its complete CRL), not even what it lists.
  deltaOnly: { good: 'REVOCATION_UNKNOWN', 'revoked-delta': 'REVOCATION_UNKNOWN' },
  // One partition leaves the other reasons unknown (6.3.3 reasons_mask), unless it lists the certificate.
  partA: { 'part-good': 'REVOCATION_UNKNOWN', 'part-kc': 'CERT_REVOKED', 'part-sup': 'REVOCATION_UNKNOWN' },
  partB: { 'part-good': 'REVOCATION_UNKNOWN', 'part-kc': 'REVOCATION_UNKNOWN', 'part-sup': 'CERT_REVOKED' },
  parts: { 'part-good': 'OK', 'part-kc': 'CERT_REVOKED', 'part-sup': 'CERT_REVOKED' },
};

/**
 * Where OpenSSL 3 does not follow RFC 5280, and what it says instead (asserted, so that a change in
 * OpenSSL shows). OpenSSL checks the time of the complete CRL only: a delta is chosen by its base
 * number, and when the complete CRL is current, the delta's own nextUpdate is never looked at
 * (x509_vfy.c check_crl tests the score of the complete CRL). RFC 5280 section 6.3.3 (a)(2) and
 * (c) use a delta only when it is current; a stale one says nothing about the changes since the base.
 */
const OPENSSL_DIFFERS: Partial<Record<SetName, Partial<Record<Leaf, OpensslVerdict>>>> = {
  // OpenSSL reads the stale delta as if current: it accepts the good and the released leaf, and
  // says CERT_REVOKED where certgate says REVOCATION_UNKNOWN (both refuse revoked-delta).
  stale: { good: 'OK', held: 'OK', 'revoked-delta': 'CERT_REVOKED' },
  // Not a disagreement on the outcome: OpenSSL checks the delta's signature before looking up the
  // certificate, so every leaf fails with the signature error; certgate refuses the same leaves
  // (a listing in the verified base stands: CERT_REVOKED; otherwise REVOCATION_UNKNOWN).
  badsig: {
    good: 'CRL signature failure',
    'revoked-base': 'CRL signature failure',
    'revoked-delta': 'CRL signature failure',
    held: 'CRL signature failure',
  },
};

let dir: string;
const file = (name: string) => join(dir, `${name}.pem`);
const verifiers: Verifier[] = [];

function verifierFor(set: SetName): Verifier {
  const names = ['root-crl', ...SETS[set]];
  // Complete CRLs as PEM, delta CRLs as DER: both forms are read.
  const crl = names.map((n) => (n.startsWith('delta') ? pemToDer(readFileSync(file(n))) : readFileSync(file(n))));
  const v = createVerifier({
    ca: readFileSync(file('ca')),
    intermediates: readFileSync(file('intermediate')),
    crl,
    requireCrl: true,
  });
  verifiers.push(v);
  return v;
}

beforeAll(() => {
  dir = tempDir('certgate-crl-rfc5280-');
  const res = spawnSync('bash', [SCRIPT, dir], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`openssl-crl-pki.sh failed:\n${res.stderr}`);
});

afterAll(() => {
  for (const v of verifiers) v.close();
  removeTempDirs();
});

const cases = Object.entries(EXPECTED).flatMap(([set, leaves]) =>
  Object.entries(leaves).map(([leaf, verdict]) => ({ set: set as SetName, leaf: leaf as Leaf, verdict })),
);

describe('certgate and openssl verify -extended_crl -use_deltas on CRLs made by openssl ca', () => {
  it.each(cases)('$set: $leaf is $verdict', async ({ set, leaf, verdict }) => {
    const r = await verifierFor(set).verify(readFileSync(file(leaf)));
    expect(r.ok ? 'OK' : `${r.code}`, r.ok ? '' : r.detail).toBe(verdict);

    const oracle = opensslVerify(file(leaf), {
      caFile: file('ca'),
      untrustedFile: file('intermediate'),
      crlFiles: ['root-crl', ...SETS[set]].map(file),
      extra: ['-extended_crl', '-use_deltas'],
    });
    const expected = OPENSSL_DIFFERS[set]?.[leaf] ?? verdict;
    expect(opensslSays(oracle.output, oracle.ok), oracle.output).toBe(expected);
  });

  it('names the delta CRL that revokes, and why a stale delta leaves the status unknown', async () => {
    const revoked = await verifierFor('delta').verify(readFileSync(file('revoked-delta')));
    expect(revoked.ok ? '' : revoked.detail).toMatch(/revoked by the delta CRL of/);
    const stale = await verifierFor('stale').verify(readFileSync(file('good')));
    expect(stale.ok ? '' : stale.detail).toMatch(/delta CRL.*stale.*no usable delta CRL brings it up to date/);
    const part = await verifierFor('partA').verify(readFileSync(file('part-good')));
    expect(part.ok ? '' : part.detail).toMatch(/cover only some revocation reasons/);
  });
});

/** A CRL distribution point serving the fixture's CRLs by name (/base.crl, /delta.crl, ...). */
async function startCrlServer(): Promise<{ url: (name: string) => string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const name = /^\/([\w-]+)\.crl$/.exec(req.url ?? '')?.[1];
    if (!name) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.end(readFileSync(file(name)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}.crl`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('over real TLS: express, base and delta CRLs fetched by URL', () => {
  let https: RunningServer;
  let crls: Awaited<ReturnType<typeof startCrlServer>>;
  let serverCa: Buffer;

  beforeAll(async () => {
    crls = await startCrlServer();
    const verifier = createVerifier({
      ca: readFileSync(file('ca')),
      intermediates: readFileSync(file('intermediate')),
      crl: { urls: ['root-crl', 'base', 'delta'].map(crls.url) },
      requireCrl: true,
    });
    verifiers.push(verifier);
    const app = express();
    app.use(requireClientCert({ verifier }));
    app.get('/', (req, res) => {
      res.json({ cn: req.clientCert?.certificate.subject.CN });
    });
    // The server's own certificate comes from a dev PKI; the clients' from the OpenSSL one.
    const dev = await makePki();
    serverCa = dev.ca;
    https = await startHttps({ server: dev.server, ca: readFileSync(file('ca')) }, app);
  });

  afterAll(async () => {
    await https?.close();
    await crls?.close();
  });

  const client = (leaf: Leaf) => ({
    cert: Buffer.concat([readFileSync(file(leaf)), readFileSync(file('intermediate'))]),
    key: readFileSync(join(dir, `${leaf}-key.pem`)),
  });

  it('answers 401 CERT_REVOKED to the client revoked by the delta only, 200 to the good and the released one', async () => {
    const revoked = await get(https.port, '/', { ca: serverCa, client: client('revoked-delta') });
    expect(revoked.status).toBe(401);
    expect(revoked.body.code).toBe('CERT_REVOKED');
    const good = await get(https.port, '/', { ca: serverCa, client: client('good') });
    expect({ status: good.status, body: good.body }).toEqual({ status: 200, body: { cn: 'good' } });
    // On hold in the base, removeFromCRL in the delta.
    const held = await get(https.port, '/', { ca: serverCa, client: client('held') });
    expect({ status: held.status, body: held.body }).toEqual({ status: 200, body: { cn: 'held' } });
  });
});

describe('certgate crl on delta and partitioned CRLs', () => {
  async function run(...argv: string[]): Promise<{ code: number; out: string }> {
    const out: string[] = [];
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => out.push(l) });
    return { code, out: out.join('\n') };
  }

  it('says which complete CRL a delta updates, and counts its removeFromCRL entry', async () => {
    const r = await run('crl', file('delta'), '--ca', file('intermediate'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^kind: +delta CRL of base 16$/m);
    expect(r.out).toMatch(/^CRL number: +17$/m);
    expect(r.out).toMatch(/^entries: +2$/m);
    const json = JSON.parse((await run('crl', file('base'), '--json')).out);
    expect(json).toMatchObject({ kind: 'complete CRL', crlNumber: '16', entries: 2 });
    expect(json.scope).toBeUndefined();
  });

  it('describes a partition: its distribution point and reasons', async () => {
    const json = JSON.parse((await run('crl', file('part-b'), '--json')).out);
    expect(json.scope).toBe(
      'distribution point URI:http://crl.certgate.test/partitioned.crl; only reasons affiliationChanged, ' +
        'superseded, cessationOfOperation, certificateHold, privilegeWithdrawn',
    );
  });
});

/**
 * A hostile CRL at a distribution point a (validly issued) certificate names: an indirect CRL
 * naming a new certificate issuer on every entry, 20,000 of them (past the 512 KiB from which the
 * worker indexes it). It is parsed before its signature could be checked; the issuer cap makes it
 * unusable, so it is refused whatever its signature, with the reason named.
 */
describe('a hostile indirect CRL at a distribution point', () => {
  const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
  const hex = (h: string) => Buffer.from(h, 'hex');
  const octets = (b: Buffer) => encodeElement(TAG.OCTET_STRING, b);
  const cn = (value: string) =>
    seq(encodeElement(TAG.SET, seq(hex('0603550403'), encodeElement(TAG.UTF8_STRING, Buffer.from(value)))));
  const time = (ms: number) =>
    encodeElement(TAG.GENERALIZED_TIME, Buffer.from(`${new Date(ms).toISOString().slice(0, 19).replace(/\D/g, '')}Z`));

  /** An unsigned indirect CRL "of" CN=Live Intermediate, each entry naming a new certificate issuer. */
  function manyIssuers(count: number): Buffer {
    const date = encodeElement(TAG.UTC_TIME, Buffer.from('291231000000Z', 'latin1'));
    const entries = Array.from({ length: count }, (_, i) => {
      const issuer = seq(hex('0603551d1d'), hex('0101ff'), octets(seq(encodeElement(0xa4, cn(`CA ${i}`)))));
      const serial = encodeElement(TAG.INTEGER, Buffer.from([0x10, i >> 16, (i >> 8) & 0xff, i & 0xff]));
      return seq(serial, date, seq(issuer));
    });
    const exts = seq(
      seq(hex('0603551d14'), octets(encodeElement(TAG.INTEGER, hex('05')))),
      seq(hex('0603551d1c'), hex('0101ff'), octets(seq(encodeElement(0x84, hex('ff'))))),
    );
    const alg = hex('300a06082a8648ce3d040302');
    const at = Date.now();
    const tbs = seq(
      hex('020101'),
      alg,
      cn('Live Intermediate'),
      time(at - 60_000),
      time(at + 3_600_000),
      seq(...entries),
      encodeElement(0xa0, exts),
    );
    return seq(tbs, alg, encodeElement(TAG.BIT_STRING, hex('00010203')));
  }

  let site: http.Server;
  let url: string;
  let body: Buffer = Buffer.alloc(0);

  beforeAll(async () => {
    site = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(site.address() as AddressInfo).port}/issuing.crl`;
  });

  afterAll(async () => {
    site.closeAllConnections();
    await new Promise<void>((resolve) => site.close(() => resolve()));
  });

  it('is refused as naming more than 1000 certificate issuers; the certificate is REVOCATION_UNKNOWN', async () => {
    body = manyIssuers(20_000);
    expect(body.length).toBeGreaterThan(512 * 1024);
    const pki = await makeLivePki(url);
    const v = createVerifier({
      ca: pki.rootPem,
      intermediates: pki.intermediatePem,
      crl: { distributionPoints: true, fetchTimeoutMs: 5_000 },
    });
    verifiers.push(v);
    const rejected: string[] = [];
    v.on('crl-rejected', (e) => rejected.push(e.reason));
    const r = await v.verify(pki.bob.cert);
    expect(r.ok ? 'accepted' : r.code).toBe('REVOCATION_UNKNOWN');
    expect(rejected).toEqual([expect.stringMatching(/more than 1000 certificate issuers/)]);
  });
});
