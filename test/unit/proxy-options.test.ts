/**
 * The `proxy` guard option: validated when the guard is created (CONFIG_INVALID naming the
 * problem), and the forwarded source's peer rules without servers (request-like objects).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertgateError, clientCertGuard, createVerifier, type Verifier } from 'certgate';
import { requireClientCert as expressGuard } from 'certgate/express';
import { requireClientCert as koaGuard } from 'certgate/koa';
import { generateDevPki, type DevPkiFiles } from '../../src/devpki/generate.js';
import { forwardedSource, peerAddress, type ProxySettings } from '../../src/sources/forwarded-source.js';
import type { CertificateSource, RequestLike, SourceReading } from '../../src/sources/source.js';
import { parseProxyOptions } from '../../src/guard/proxy-options.js';

let dir: string;
let files: DevPkiFiles;
let verifier: Verifier;
let alicePem: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-unit-'));
  files = await generateDevPki(dir);
  verifier = createVerifier({
    ca: readFileSync(files.caBundle),
    intermediates: readFileSync(files.intermediateCert),
    crl: readFileSync(files.crl),
  });
  const text = readFileSync(files.clients.alice.cert, 'utf8');
  alicePem = text.slice(0, text.indexOf('-----END CERTIFICATE-----') + 25);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configProblem(make: () => unknown): string {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(CertgateError);
    expect((err as CertgateError).code).toBe('CONFIG_INVALID');
    return (err as CertgateError).message;
  }
  throw new Error('no configuration error');
}

describe('the proxy option is validated at creation', () => {
  const make =
    (proxy: unknown, more: object = {}) =>
    () =>
      clientCertGuard({ verifier, proxy: proxy as never, ...more });

  it.each([
    ['not an object', 'nginx', /option 'proxy' must be an object/],
    ['no trust', { format: 'nginx' }, /'proxy.trust' is required/],
    ['no format', { trust: 'loopback' }, /'proxy.format' is required/],
    ['an unknown format', { trust: 'loopback', format: 'ngnix' }, /'proxy.format' must be one of .*'ngnix'/],
    ['a bad CIDR', { trust: ['10.0.0.0/33'], format: 'nginx' }, /'proxy.trust'.*invalid range/],
    ['a bad address', { trust: ['proxy.local'], format: 'nginx' }, /'proxy.trust'.*invalid IP address/],
    ['an empty trust list', { trust: [], format: 'nginx' }, /'proxy.trust' must be/],
    ['a trust of the wrong type', { trust: 10, format: 'nginx' }, /'proxy.trust' must be/],
    ['a header name with a space', { trust: 'loopback', format: 'nginx', header: 'x ssl' }, /'proxy.header'/],
    ['a header name with a colon', { trust: 'loopback', format: 'nginx', header: 'x-a:' }, /'proxy.header'/],
    ['an empty header name', { trust: 'loopback', format: 'nginx', header: '' }, /'proxy.header'/],
    ['a bad chain header', { trust: 'loopback', format: 'haproxy', chainHeader: 'a\nb' }, /'proxy.chainHeader'/],
    ['a chain header for nginx', { trust: 'loopback', format: 'nginx', chainHeader: 'x-c' }, /no separate chain/],
    [
      'the same header twice',
      { trust: 'loopback', format: 'haproxy', header: 'X-A', chainHeader: 'x-a' },
      /name the same header/,
    ],
    ['an unknown key', { trust: 'loopback', format: 'nginx', trsut: 'x' }, /unknown option 'proxy.trsut'/],
    ['a hook that is not a function', { trust: 'loopback', format: 'nginx', onHeaderIgnored: 1 }, /onHeaderIgnored/],
  ])('%s', (_, proxy, message) => {
    expect(configProblem(make(proxy))).toMatch(message);
  });

  it('needs ca or verifier: a forwarded request has no HTTPS server to take the CAs from', () => {
    expect(configProblem(() => clientCertGuard({ proxy: { trust: 'loopback', format: 'nginx' } }))).toMatch(
      /'proxy' needs the client CAs/,
    );
  });

  it('both adapters validate it at creation too', () => {
    const proxy = { trust: 'loopback', format: 'bogus' } as never;
    expect(configProblem(() => expressGuard({ verifier, proxy }))).toMatch(/^requireClientCert: .*'proxy.format'/);
    expect(configProblem(() => koaGuard({ verifier, proxy }))).toMatch(/^requireClientCert: .*'proxy.format'/);
  });

  it('accepts names, CIDRs, single strings and predicates; header names are case-insensitive', () => {
    for (const trust of ['loopback', ['10.0.0.0/8', 'uniquelocal', '::1'], (a: string) => a === '10.1.1.1']) {
      expect(() => clientCertGuard({ verifier, proxy: { trust, format: 'haproxy' } })).not.toThrow();
    }
    const settings = parseProxyOptions({ trust: '10.0.0.0/8', format: 'haproxy', header: 'X-Cert' }, 'test');
    expect(settings.names).toEqual({ cert: 'x-cert', chain: 'x-ssl-client-chain' });
    expect(settings.isTrusted('10.2.3.4')).toBe(true);
    expect(settings.isTrusted('11.2.3.4')).toBe(false);
    expect(parseProxyOptions({ trust: 'loopback', format: 'rfc9440' }, 't').names).toEqual({
      cert: 'client-cert',
      chain: 'client-cert-chain',
    });
  });
});

describe('the forwarded source decides by the immediate peer', () => {
  const direct: CertificateSource = { read: () => ({ kind: 'none', detail: 'direct' }) };
  const settings = (trust: unknown = ['10.0.0.1'], more: object = {}): ProxySettings =>
    parseProxyOptions({ trust, format: 'nginx', ...more }, 'test');
  const request = (remoteAddress: string | undefined, rawHeaders: string[] = []): RequestLike => ({
    socket: { remoteAddress },
    rawHeaders,
    headers: Object.fromEntries(
      rawHeaders.flatMap((v, i) => (i % 2 === 0 ? [[v.toLowerCase(), rawHeaders[i + 1] as string]] : [])),
    ),
  });
  const escaped = () => encodeURIComponent(alicePem);

  it('normalises IPv4-mapped IPv6 peers', () => {
    expect(peerAddress(request('::ffff:10.0.0.1'))).toBe('10.0.0.1');
    expect(peerAddress(request('::FFFF:10.0.0.1'))).toBe('10.0.0.1');
    expect(peerAddress(request('::1'))).toBe('::1');
    expect(peerAddress(request(undefined))).toBeUndefined();
    const source = forwardedSource(settings(), direct);
    expect(source.read(request('::ffff:10.0.0.1', ['X-SSL-Client-Cert', escaped()])).kind).toBe('certificate');
  });

  it('untrusted, unknown or predicate-throwing peers go to the direct source, headers ignored', () => {
    const seen: unknown[] = [];
    const hook = (e: unknown) => void seen.push(e);
    const forged = ['x-ssl-client-cert', escaped()];
    const throwing = () => {
      throw new Error('boom');
    };
    for (const [trust, address] of [
      [['10.0.0.1'], '10.0.0.2'],
      [['10.0.0.1'], undefined],
      [throwing, '10.0.0.1'],
      [() => 'yes', '10.0.0.1'],
    ] as const) {
      const reading = forwardedSource(settings(trust, { onHeaderIgnored: hook }), direct).read(
        request(address, forged),
      );
      expect(reading).toEqual({ kind: 'none', detail: 'direct' });
    }
    expect(seen).toEqual([
      { peer: '10.0.0.2', header: 'x-ssl-client-cert' },
      { peer: 'unknown', header: 'x-ssl-client-cert' },
      { peer: '10.0.0.1', header: 'x-ssl-client-cert' },
      { peer: '10.0.0.1', header: 'x-ssl-client-cert' },
    ]);
  });

  it('a throwing or rejecting hook changes nothing', async () => {
    const hooks = [
      () => {
        throw new Error('hook threw');
      },
      () => Promise.reject(new Error('hook rejected')),
    ];
    for (const onHeaderIgnored of hooks) {
      const source = forwardedSource(settings(['10.0.0.1'], { onHeaderIgnored }), direct);
      expect(source.read(request('10.0.0.9', ['x-ssl-client-cert', 'x'])).kind).toBe('none');
    }
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('trusted peer: request-scoped readings keyed by the header value, never by the connection', () => {
    const source = forwardedSource(settings(), direct);
    const socket = { remoteAddress: '10.0.0.1' };
    const read = (raw: string[]): SourceReading => source.read({ socket, rawHeaders: raw });
    const alice = read(['X-SSL-CLIENT-CERT', escaped()]);
    expect(alice).toMatchObject({ kind: 'certificate', scope: 'request', origin: 'proxy' });
    expect(alice.cacheKey).toMatch(/^proxy:/);
    expect(read(['x-ssl-client-cert', escaped()]).cacheKey).toBe(alice.cacheKey);
    expect(read([])).toMatchObject({ kind: 'none' });
    expect(read([]).cacheKey).toBeUndefined();
    expect(read(['x-ssl-client-cert', ''])).toMatchObject({ kind: 'none' });
    expect(read(['x-ssl-client-cert', escaped(), 'x-ssl-client-cert', escaped()])).toMatchObject({
      kind: 'refusal',
      code: 'CERT_MALFORMED',
      detail: expect.stringMatching(/x-ssl-client-cert header appears 2 times/),
    });
    expect(read(['x-ssl-client-cert', 'a'.repeat(64 * 1024 + 1)])).toMatchObject({
      kind: 'refusal',
      code: 'CERT_MALFORMED',
      detail: expect.stringMatching(/over 65536 bytes/),
    });
  });

  it('without rawHeaders, the headers object is read (an array counts as a repeat)', () => {
    const source = forwardedSource(settings(), direct);
    const socket = { remoteAddress: '10.0.0.1' };
    expect(source.read({ socket, headers: { 'x-ssl-client-cert': escaped() } }).kind).toBe('certificate');
    expect(source.read({ socket, headers: { 'x-ssl-client-cert': [escaped(), escaped()] } }).kind).toBe('refusal');
    // Found in review: Node joins a repeated header with ", "; such a joined value is a repeat too.
    const joined = `${escaped()}, ${escaped()}`;
    expect(source.read({ socket, headers: { 'x-ssl-client-cert': joined } })).toMatchObject({
      kind: 'refusal',
      code: 'CERT_MALFORMED',
    });
  });

  it('a guard with proxy: source proxy; the same value on another socket reuses the verdict', async () => {
    const guard = clientCertGuard({ verifier, proxy: { trust: '10.0.0.1', format: 'nginx' } });
    const req = (socket: object) => ({ socket, rawHeaders: ['x-ssl-client-cert', escaped()] });
    const first = await guard.check(req({ remoteAddress: '10.0.0.1' }));
    expect(first).toMatchObject({ ok: true, clientCert: { user: 'alice', source: 'proxy' } });
    expect(guard.cached(req({ remoteAddress: '10.0.0.1' }))).toBe(first);
    // The same value from an untrusted peer is not that verdict.
    const spoofed = await guard.check(req({ remoteAddress: '10.0.0.2' }));
    expect(spoofed).toMatchObject({ ok: false, error: { code: 'CERT_MISSING' } });
  });

  it('a forwarded leaf alone: CERT_UNTRUSTED naming the proxy and the `intermediates` option', async () => {
    const ca = readFileSync(files.caBundle);
    const guard = clientCertGuard({ ca, proxy: { trust: '10.0.0.1', format: 'nginx' } });
    const outcome = await guard.check({
      socket: { remoteAddress: '10.0.0.1' },
      rawHeaders: ['x-ssl-client-cert', escaped()],
    });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('CERT_UNTRUSTED');
    expect(outcome.error.detail).toMatch(/`intermediates` option.*\[proxy 10\.0\.0\.1, header x-ssl-client-cert\]/);
  });
});
