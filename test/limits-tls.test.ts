/**
 * The TLS source's memory of intermediates per leaf, over real TLS session resumption on
 * 127.0.0.1: a full handshake presents a chain to one guard; a resumed session (OpenSSL restores
 * the leaf only) then goes to another guard, which has never verified that leaf, so it must
 * build the path from the intermediates the process remembered:
 * - MAX_REMEMBERED_INTERMEDIATES: a chain of that many intermediates resumes into an acceptance;
 *   of one more, the topmost is not remembered and the resumed session is CERT_UNTRUSTED.
 * - the per-leaf byte cap INTERMEDIATES_MEMORY_BYTES / 1024: intermediates of exactly that many
 *   bytes resume into an acceptance; one byte more and none are remembered.
 * The exact bounds are also unit-tested on stand-in sockets (test/unit/limits-tls-source.test.ts).
 */
// Before @peculiar/x509 (its DI container needs the reflect polyfill at import time).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCertGuard } from 'certgate';
import { get, makePki, startHttps, type Reply, type RunningServer, type TestPki } from './helpers/clients.js';
import { issue, type Made } from './unit/pki.js';
import { INTERMEDIATES_MEMORY_BYTES, MAX_REMEMBERED_INTERMEDIATES } from '../src/sources/tls-socket.js';

const PER_LEAF_BYTES = INTERMEDIATES_MEMORY_BYTES / 1024;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** Deep enough for every chain here: the bound under test is the memory's, not the path's. */
const MAX_CHAIN_DEPTH = MAX_REMEMBERED_INTERMEDIATES + 1;

let pki: TestPki;
let srv: RunningServer;
let root: Made;

beforeAll(async () => {
  [pki, root] = await Promise.all([makePki(), issue({ subject: 'CN=TLS Limits Root', ca: true, omit: ['aki'] })]);
  // Two guards with the same trust: each remembers its own verified leaves, so a leaf verified by
  // the first on a full handshake is unknown to the second on the resumed session.
  const guards = {
    '/full': clientCertGuard({ ca: root.cert.der, maxChainDepth: MAX_CHAIN_DEPTH }),
    '/resumed': clientCertGuard({ ca: root.cert.der, maxChainDepth: MAX_CHAIN_DEPTH }),
  };
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const guard = guards[req.url as keyof typeof guards];
    const o = await guard.check(req);
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify(o.ok ? { chain: o.clientCert.chain.length } : { code: o.error.code, detail: o.error.detail }),
    );
  };
  srv = await startHttps(pki, (req, res) => void handler(req, res));
});
afterAll(() => srv?.close());

/** An unknown non-critical extension of `bytes` octets: only there to weigh. */
const padding = (bytes: number) => new x509.Extension('1.3.6.1.4.1.55555.1', false, new Uint8Array(bytes));

/**
 * `count` CA certificates under the root and a client leaf under the lowest, as a client sends
 * them: `[leaf, lowest, ..., topmost]`. With `totalBytes`, the lowest is
 * padded (and re-signed until the ECDSA signature has the right length) so that the
 * intermediates weigh exactly that many bytes together.
 */
async function clientChain(name: string, count: number, totalBytes?: number): Promise<Made[]> {
  const above: Made[] = [];
  let issuer = root;
  for (let i = count; i >= 2; i--) {
    issuer = await issue({ subject: `CN=${name} ${i}`, issuer, ca: true });
    above.unshift(issuer);
  }
  const lowestSpec = { subject: `CN=${name} 1`, issuer, ca: true } as const;
  let lowest = await issue(lowestSpec);
  if (totalBytes !== undefined) {
    const target = totalBytes - above.reduce((n, m) => n + m.cert.der.length, 0);
    let pad = target - lowest.cert.der.length;
    for (let tries = 0; lowest.cert.der.length !== target; tries++) {
      if (tries === 50) throw new Error(`could not make an intermediate of exactly ${target} bytes`);
      lowest = await issue({ ...lowestSpec, keys: lowest.keys, extra: [padding(pad)] });
      pad += target - lowest.cert.der.length;
    }
  }
  const leaf = await issue({ subject: `CN=${name} client`, issuer: lowest, eku: [CLIENT_AUTH] });
  return [leaf, lowest, ...above];
}

async function clientOf(chain: Made[]): Promise<{ cert: Buffer; key: Buffer }> {
  const crypto = webcrypto as unknown as Crypto;
  const leaf = chain[0] as Made;
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', leaf.keys.privateKey);
  return {
    cert: Buffer.from(chain.map((m) => m.x509.toString('pem')).join('\n')),
    key: Buffer.from(x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')),
  };
}

/** A full handshake to the first guard, then a resumed session of it to the second. */
async function fullThenResumed(chain: Made[]): Promise<{ full: Reply; resumed: Reply }> {
  const client = await clientOf(chain);
  const full = await get(srv.port, '/full', { ca: pki.ca, client });
  expect([full.status, full.clientReused, full.body]).toEqual([200, false, { chain: chain.length + 1 }]);
  const resumed = await get(srv.port, '/resumed', { ca: pki.ca, client, session: full.session });
  expect(resumed.clientReused).toBe(true);
  return { full, resumed };
}

describe(`MAX_REMEMBERED_INTERMEDIATES (${MAX_REMEMBERED_INTERMEDIATES}) over TLS session resumption`, () => {
  it('a chain of that many intermediates resumes into an acceptance', async () => {
    const chain = await clientChain('Eight', MAX_REMEMBERED_INTERMEDIATES);
    const { resumed } = await fullThenResumed(chain);
    expect([resumed.status, resumed.body]).toEqual([200, { chain: chain.length + 1 }]);
  });

  it('of one more, the topmost is forgotten: the resumed session is CERT_UNTRUSTED', async () => {
    const chain = await clientChain('Nine', MAX_REMEMBERED_INTERMEDIATES + 1);
    const { resumed } = await fullThenResumed(chain);
    expect([resumed.status, resumed.body.code]).toEqual([200, 'CERT_UNTRUSTED']);
    // Not the "nothing remembered" case (that one carries the resumed-session hint): the first
    // eight were remembered, and the path stops one certificate below the root.
    expect(resumed.body.detail).not.toContain('resumed TLS session');
  });
});

describe(`the per-leaf byte cap (INTERMEDIATES_MEMORY_BYTES / 1024 = ${PER_LEAF_BYTES}) over TLS`, () => {
  it(`intermediates of exactly ${PER_LEAF_BYTES} bytes resume into an acceptance`, async () => {
    const chain = await clientChain('Heavy', 2, PER_LEAF_BYTES);
    expect(chain.slice(1).reduce((n, m) => n + m.cert.der.length, 0)).toBe(PER_LEAF_BYTES);
    const { resumed } = await fullThenResumed(chain);
    expect([resumed.status, resumed.body]).toEqual([200, { chain: 4 }]);
  });

  it(`of ${PER_LEAF_BYTES + 1} bytes none are remembered: CERT_UNTRUSTED, with the resumed-session hint`, async () => {
    const chain = await clientChain('Heavier', 2, PER_LEAF_BYTES + 1);
    expect(chain.slice(1).reduce((n, m) => n + m.cert.der.length, 0)).toBe(PER_LEAF_BYTES + 1);
    const { resumed } = await fullThenResumed(chain);
    expect([resumed.status, resumed.body.code]).toEqual([200, 'CERT_UNTRUSTED']);
    expect(resumed.body.detail).toContain('resumed TLS session');
  });
});
