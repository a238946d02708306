/**
 * Finding 15: control characters from a certificate (CR, LF, ESC in a CN) reached `error.detail`,
 * verifier events, logs and the terminal raw: a client could forge log lines or drive the
 * operator's terminal. Names are now printed with C0, DEL, C1 and bidi controls escaped as RFC 4514
 * `\XX` (UTF-8 octets), as `openssl x509 -nameopt RFC2253` prints them; the parsed name objects
 * (`subject.CN`, what identify helpers match) keep the raw text.
 */
// Before @peculiar/x509 (its DI container needs the reflect polyfill at import time).
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bySubjectDN, type CertgateError, createVerifier } from 'certgate';
import { requireClientCert } from 'certgate/express';
import { main } from '../../src/cli/main.js';
import { get, makePki, type TestPki } from '../helpers/clients.js';
import { issue } from '../unit/pki.js';
import { opensslCaConfig, opensslOk, opensslSubjectRfc2253 } from '../helpers/oracle.js';

/** CR LF (a forged log line), ESC (terminal control), DEL, C1 CSI, and RIGHT-TO-LEFT OVERRIDE. */
const EVIL_CN = 'evil\r\nX-User: admin\x1b[2J\x7f\u009b31m\u202Egnp.exe';
const ESCAPED_CN = 'evil\\0D\\0AX-User: admin\\1B[2J\\7F\\C2\\9B31m\\E2\\80\\AEgnp.exe';
/** What must never be printed raw: C0 (tab and newline included), DEL, C1, bidi controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

let dir: string;
let pki: TestPki;
let root: Buffer;
let crl: Buffer;
let server: https.Server;
let port: number;
const rejected: CertgateError[] = [];
const AT = Date.now() + 60_000;

const file = (name: string) => join(dir, name);

function makeFixtures(): void {
  writeFileSync(file('ca.cnf'), opensslCaConfig());
  const key = (name: string) =>
    opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(name)]);
  const cnf = ['-config', file('ca.cnf')];
  key('ca-key.pem');
  opensslOk(
    ['req', '-x509', '-new', '-batch', ...cnf, '-key', file('ca-key.pem')].concat([
      '-subj',
      '/O=certgate test/CN=Names Root',
      '-extensions',
      'ca_ext',
      '-days',
      '30',
      '-out',
      file('ca.pem'),
    ]),
  );
  for (const [name, serial] of [
    ['evil', '0x5001'],
    ['evil-revoked', '0x5002'],
  ] as const) {
    key(`${name}-key.pem`);
    opensslOk(
      ['req', '-new', '-batch', '-utf8', ...cnf, '-key', file(`${name}-key.pem`)].concat([
        '-subj',
        `/O=certgate test/CN=${EVIL_CN}`,
        '-out',
        file(`${name}.csr`),
      ]),
    );
    opensslOk(
      ['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca-key.pem')].concat(
        ['-set_serial', serial, '-days', '30', '-extfile', file('ca.cnf'), '-extensions', 'leaf_ext'],
        ['-out', file(`${name}.pem`)],
      ),
    );
  }
  // openssl ca reads only the status, dates and serial of an index line.
  writeFileSync(file('crlnumber'), '01\n');
  writeFileSync(file('index.txt'), 'R\t491231235959Z\t200101000000Z\t5002\tunknown\t/CN=revoked\n');
  opensslOk(
    ['ca', '-gencrl', '-batch', ...cnf, '-name', 'crl_ca', '-cert', file('ca.pem')].concat([
      '-keyfile',
      file('ca-key.pem'),
      '-crldays',
      '30',
      '-out',
      file('crl.pem'),
    ]),
    dir,
  );
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Each output line on its own: the lines the CLI printed must hold no control character. */
const lines = (text: string) => text.split('\n');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-names-'));
  makeFixtures();
  root = readFileSync(file('ca.pem'));
  crl = readFileSync(file('crl.pem'));
  pki = await makePki();
  const app = express();
  app.use('/banking', requireClientCert({ ca: root, crl, onReject: (e) => void rejected.push(e) }));
  app.get('/banking/whoami', (req, res) => void res.json({ user: req.clientCert?.user }));
  server = https.createServer(
    { cert: pki.server.cert, key: pki.server.key, ca: root, requestCert: true, rejectUnauthorized: false },
    app,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('control characters in certificate names are escaped wherever a name is printed', () => {
  it('the fixture really carries raw CR, LF and ESC in its CN (OpenSSL escapes them the same way)', () => {
    expect(opensslSubjectRfc2253(file('evil.pem'))).toBe(`CN=${ESCAPED_CN},O=certgate test`);
  });

  it('verify(): subjectDN is escaped, subject.CN keeps the raw text', async () => {
    const verifier = createVerifier({ ca: root, clock: { now: () => AT } });
    const result = await verifier.verify(readFileSync(file('evil.pem')));
    verifier.close();
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.certificate.subjectDN).toBe(`CN=${ESCAPED_CN},O=certgate test`);
    expect(result.certificate.subject.CN).toBe(EVIL_CN);
  });

  it('a refusal detail and the certificate-revoked event text hold no raw control character', async () => {
    const verifier = createVerifier({ ca: root, crl, clock: { now: () => AT } });
    const events: string[] = [];
    verifier.on('certificate-revoked', (e) => void events.push(e.detail));
    const result = await verifier.verify(readFileSync(file('evil-revoked.pem')));
    verifier.close();
    expect(result.ok ? undefined : result.code).toBe('CERT_REVOKED');
    const detail = result.ok ? '' : result.detail;
    expect(detail).toContain(ESCAPED_CN);
    expect(detail).not.toMatch(CONTROL);
    expect(events).toHaveLength(1);
    expect(events[0]).toContain(ESCAPED_CN);
    expect(events[0]).not.toMatch(CONTROL);
  });

  it('over TLS: the CertgateError handed to onReject has an escaped detail', async () => {
    rejected.length = 0;
    const reply = await get(port, '/banking/whoami', {
      ca: pki.ca,
      client: { cert: readFileSync(file('evil-revoked.pem')), key: readFileSync(file('evil-revoked-key.pem')) },
    });
    expect(reply.status).toBe(401);
    expect(rejected.map((e) => e.code)).toEqual(['CERT_REVOKED']);
    expect(rejected[0]?.detail).toContain(ESCAPED_CN);
    expect(rejected[0]?.detail).not.toMatch(CONTROL);
    expect(reply.text).not.toMatch(CONTROL);
  });

  it('bySubjectDN matches the escaped DN, the form certgate inspect prints', async () => {
    const identify = bySubjectDN({ [`CN=${ESCAPED_CN},O=certgate test`]: { user: 'evil' } });
    const verifier = createVerifier({ ca: root, clock: { now: () => AT } });
    const result = await verifier.verify(readFileSync(file('evil.pem')));
    verifier.close();
    expect(result.ok && identify(result.certificate)).toMatchObject({ user: 'evil' });
  });

  it('certgate inspect prints no raw control character, and its JSON still carries the raw CN', async () => {
    const r = await cli('inspect', file('evil.pem'));
    expect(r.code).toBe(0);
    for (const line of lines(r.out)) expect(line).not.toMatch(CONTROL);
    const json = JSON.parse(r.out.split('\n(')[0] as string);
    expect(json.subjectDN).toBe(`CN=${ESCAPED_CN},O=certgate test`);
    expect(json.subject.CN).toBe(EVIL_CN);
  });

  it('certgate verify (text and --json) prints no raw control character', async () => {
    const at = new Date(AT).toISOString();
    const ok = await cli('verify', file('evil.pem'), '--ca', file('ca.pem'), '--at', at);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(ESCAPED_CN);
    const revoked = await cli('verify', file('evil-revoked.pem'), '--ca', file('ca.pem'), '--crl', file('crl.pem'));
    expect(revoked.code).toBe(1);
    expect(revoked.out).toMatch(/^REJECTED CERT_REVOKED: /);
    const json = await cli('verify', file('evil.pem'), '--ca', file('ca.pem'), '--at', at, '--json');
    expect(JSON.parse(json.out).subject).toBe(`CN=${ESCAPED_CN},O=certgate test`);
    for (const r of [ok, revoked, json]) for (const line of lines(r.out)) expect(line).not.toMatch(CONTROL);
  });

  it('an OCSP URL with control characters in the AIA is not used (nor quoted raw)', async () => {
    const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, body.length]), body]);
    const ocspOid = Buffer.from('06082b06010505073001', 'hex');
    const aia = (url: string) =>
      new x509.Extension(
        '1.3.6.1.5.5.7.1.1',
        false,
        tlv(0x30, tlv(0x30, Buffer.concat([ocspOid, tlv(0x86, Buffer.from(url, 'latin1'))]))),
      );
    const good = await issue({ subject: 'CN=aia good', extra: [aia('http://ocsp.example/')] });
    const evil = await issue({ subject: 'CN=aia evil', extra: [aia('http://ocsp.example/\r\nX-Injected: 1')] });
    expect(good.cert.ocspUrls).toEqual(['http://ocsp.example/']);
    expect(evil.cert.ocspUrls).toBeUndefined();
  });
});
