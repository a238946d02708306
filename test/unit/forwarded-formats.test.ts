/**
 * Forwarded-certificate headers, built exactly as each proxy writes them (the source of each
 * encoding is cited where the value is built), decoded by decodeForwarded: the certificates (leaf
 * first), "none" for the proxy's no-certificate marker, or malformed with a detail naming the header.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeForwarded, type ForwardedCertificate } from '../../src/sources/forwarded/decode.js';
import {
  DEFAULT_HEADERS,
  MAX_FORWARDED_HEADER_BYTES,
  PROXY_FORMATS,
  type ProxyFormat,
} from '../../src/sources/forwarded/formats.js';
import { chain, issue } from './pki.js';

let leaf: Buffer;
let inter: Buffer;
let inter2: Buffer;
let leafPem: string;
let interPem: string;

const derOf = (made: { x509: { rawData: ArrayBuffer } }) => Buffer.from(made.x509.rawData);
const pemOf = (der: Buffer) =>
  `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

beforeAll(async () => {
  const made = await chain();
  const second = await issue({ subject: 'CN=Unit Intermediate 2', issuer: made.root, ca: true });
  leaf = derOf(made.leaf);
  inter = derOf(made.intermediate);
  inter2 = derOf(second);
  leafPem = pemOf(leaf);
  interPem = pemOf(inter);
});

function decode(format: ProxyFormat, cert: string[], chainValues: string[] = []): ForwardedCertificate {
  return decodeForwarded(format, cert, chainValues, DEFAULT_HEADERS[format]);
}

function expectCerts(result: ForwardedCertificate, ders: Buffer[]): void {
  expect(result.kind).toBe('certificates');
  if (result.kind !== 'certificates') return;
  expect(result.ders.map((d) => d.toString('hex'))).toEqual(ders.map((d) => d.toString('hex')));
}

function expectMalformed(result: ForwardedCertificate, ...fragments: string[]): void {
  expect(result.kind).toBe('malformed');
  if (result.kind !== 'malformed') return;
  for (const fragment of fragments) expect(result.detail).toContain(fragment);
}

/** nginx ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT): `+`, `/`, `=`, space and line breaks as %XX. */
const nginxEscaped = (pem: string) => encodeURIComponent(pem);
/** AWS ALB mTLS docs, X-Amzn-Mtls-Clientcert: "URL-encoded PEM", keeping `+`, `=` and `/` as they are. */
const albEncoded = (pem: string) =>
  encodeURIComponent(pem).replace(/%2B/g, '+').replace(/%3D/g, '=').replace(/%2F/g, '/');
/** Traefik pkg/middlewares/passtlsclientcert: PEM armour and line breaks removed from each certificate. */
const traefikBody = (der: Buffer) =>
  pemOf(der)
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\n/g, '');

describe('each format, as the proxy writes it', () => {
  it('nginx: $ssl_client_escaped_cert (ngx_http_ssl_module), URL-encoded PEM of the leaf', () => {
    const value = nginxEscaped(leafPem);
    expect(value).toContain('%0A');
    expectCerts(decode('nginx', [value]), [leaf]);
  });

  it('haproxy: %[ssl_c_der,base64] and %[ssl_c_chain_der,base64] (intermediates concatenated)', () => {
    // HAProxy configuration manual: ssl_c_der "the DER formatted certificate", ssl_c_chain_der the
    // chain "in a single concatenated binary"; the base64 converter pads.
    const chainB64 = Buffer.concat([inter, inter2]).toString('base64');
    expectCerts(decode('haproxy', [leaf.toString('base64')], [chainB64]), [leaf, inter, inter2]);
    expectCerts(decode('haproxy', [leaf.toString('base64')], ['']), [leaf]);
    // A chain that starts with the leaf again (the whole peer chain) adds the leaf once.
    const withLeaf = Buffer.concat([leaf, inter]).toString('base64');
    expectCerts(decode('haproxy', [leaf.toString('base64')], [withLeaf]), [leaf, inter]);
    // No certificate: both fetches are empty.
    expect(decode('haproxy', [''], [''])).toEqual({ kind: 'none' });
  });

  it('apache: mod_ssl %{SSL_CLIENT_CERT}s through mod_headers (line breaks as spaces), (null) = none', () => {
    const value = leafPem.replace(/\n/g, ' ');
    expect(value).not.toContain('\n');
    expectCerts(decode('apache', [value]), [leaf]);
    expect(decode('apache', ['(null)'])).toEqual({ kind: 'none' });
  });

  it('caddy: {http.request.tls.client.certificate_der_base64}, an unfilled placeholder = none', () => {
    expectCerts(decode('caddy', [leaf.toString('base64')]), [leaf]);
    // Caddy 2.6 writes a placeholder it cannot fill (no client certificate) as the literal text.
    expect(decode('caddy', ['{http.request.tls.client.certificate_der_base64}'])).toEqual({ kind: 'none' });
  });

  it('traefik: passTLSClientCert pem, plain (v2.9.4 and later) and URL-escaped (before), `+` kept', () => {
    const plain = [leaf, inter].map(traefikBody).join(',');
    expectCerts(decode('traefik', [plain]), [leaf, inter]);
    // Before v2.9.4 sanitize() applied Go's url.QueryEscape: + / = as %2B %2F %3D.
    const escaped = [leaf, inter].map((der) => encodeURIComponent(traefikBody(der))).join(',');
    expect(escaped).toContain('%');
    expectCerts(decode('traefik', [escaped]), [leaf, inter]);
  });

  it('traefik: a `+` in the base64 is never read as a space', () => {
    const withPlus = [leaf, inter, inter2].find((der) => traefikBody(der).includes('+'));
    expect(withPlus).toBeDefined();
    expectCerts(decode('traefik', [traefikBody(withPlus as Buffer)]), [withPlus as Buffer]);
    // An escaped value holding a literal `+` as well: still a plus.
    const mixed = traefikBody(withPlus as Buffer).replace(/\//g, '%2F');
    expectCerts(decode('traefik', [mixed]), [withPlus as Buffer]);
  });

  it('aws-alb: X-Amzn-Mtls-Clientcert, URL-encoded PEM (+ = / as is), leaf then chain', () => {
    const value = albEncoded(leafPem + interPem);
    expect(value).toMatch(/[+=/]/);
    expectCerts(decode('aws-alb', [value]), [leaf, inter]);
  });

  it('azure: App Service X-ARR-ClientCert base64 DER; Application Gateway PEM under the same name', () => {
    // App Service docs ("Configure TLS mutual authentication"): base64 of the DER certificate.
    expectCerts(decode('azure', [leaf.toString('base64')]), [leaf]);
    // Application Gateway mutual authentication: server variable client_certificate (PEM) rewritten in.
    expectCerts(decode('azure', [leafPem]), [leaf]);
    expectCerts(decode('azure', [leafPem.replace(/\n/g, ' ')]), [leaf]);
    expectCerts(decode('azure', [encodeURIComponent(leafPem)]), [leaf]);
  });

  it('rfc9440: Client-Cert sf-binary, Client-Cert-Chain an sf-list over two header lines', () => {
    // RFC 9440 2.2-2.3: Client-Cert an sf-binary Item, Client-Cert-Chain an sf-List of them (RFC 8941
    // 3.3.5), and a List may be split over several field lines (RFC 9110 5.3).
    const sf = (der: Buffer) => `:${der.toString('base64')}:`;
    expectCerts(decode('rfc9440', [sf(leaf)], [sf(inter), sf(inter2)]), [leaf, inter, inter2]);
    expectCerts(decode('rfc9440', [sf(leaf)], [`${sf(inter)}, ${sf(inter2)}`]), [leaf, inter, inter2]);
    // RFC 8941 4.2.7: parsers SHOULD NOT fail when = padding is missing; parameters are ignored.
    expectCerts(decode('rfc9440', [`${sf(leaf).replace(/=+:$/, ':')};x=1`]), [leaf]);
  });

  it('xfcc: Envoy x-forwarded-client-cert, Cert and Chain URL-encoded PEM; Chain includes the leaf', () => {
    // Envoy docs (HTTP header manipulation, x-forwarded-client-cert): By, Hash, Cert, Chain, Subject,
    // URI, DNS; values with , ; = are quoted; DNS repeats once per SAN.
    const cert = encodeURIComponent(leafPem);
    const chainPem = encodeURIComponent(leafPem + interPem).replace(/%([0-9A-F]{2})/g, (m) => m.toLowerCase());
    const value =
      `By=spiffe://cluster.local/ns/default/sa/app;Hash=${'ab'.repeat(32)};Cert="${cert}";` +
      `Chain="${chainPem}";Subject="CN=unit leaf,O=Example";URI=spiffe://cluster.local/ns/x;` +
      'DNS=a.example;DNS=b.example';
    expectCerts(decode('xfcc', [value]), [leaf, inter]);
    expectCerts(decode('xfcc', [`Hash=00;Cert="${cert}"`]), [leaf]);
  });
});

describe('xfcc: only the nearest proxy element counts, quoting cannot inject', () => {
  it('a forged earlier element is ignored: the LAST element is the nearest proxy', () => {
    const forged = `Hash=00;Cert="${encodeURIComponent(interPem)}"`;
    const real = `Hash=01;Cert="${encodeURIComponent(leafPem)}"`;
    expectCerts(decode('xfcc', [`${forged},${real}`]), [leaf]);
    // With By (or URI, DNS), which Envoy writes unescaped, several elements cannot be told apart.
    const withBy = `By=spiffe://evil;Cert="${encodeURIComponent(interPem)}",By=spiffe://app;Cert="${encodeURIComponent(leafPem)}"`;
    expectMalformed(decode('xfcc', [withBy]), 'unescaped');
  });

  it('`,` `;` and `=` inside quotes are text, not structure', () => {
    const injected = `\\"x\\";Cert=${encodeURIComponent(interPem)},By=evil;Cert=${encodeURIComponent(interPem)}`;
    const value = `By=spiffe://app;Subject="${injected}";Cert="${encodeURIComponent(leafPem)}"`;
    expectCerts(decode('xfcc', [value]), [leaf]);
    // The whole injected text stayed inside one quoted Subject: the last element is this one.
    const last = `Cert="${encodeURIComponent(leafPem)}";Subject="a,b;c=d"`;
    expectCerts(decode('xfcc', [`Hash=00;Subject="${injected}",${last}`]), [leaf]);
  });

  it('refuses a Cert given twice, an unclosed quote, a last element without Cert, a Chain not led by Cert', () => {
    const cert = encodeURIComponent(leafPem);
    expectMalformed(decode('xfcc', [`Cert="${cert}";Cert="${cert}"`]), 'x-forwarded-client-cert', 'twice');
    expectMalformed(decode('xfcc', [`Cert="${cert}`]), 'no closing quote');
    expectMalformed(decode('xfcc', [`Cert="${cert}",Hash=00`]), 'neither Cert nor Chain');
    const chainPem = encodeURIComponent(interPem + leafPem);
    expectMalformed(decode('xfcc', [`Cert="${cert}";Chain="${chainPem}"`]), 'does not start with');
  });
});

describe('none, repeats and limits', () => {
  it('absent or empty (or blank) certificate header: none, for every format', () => {
    for (const format of PROXY_FORMATS) {
      expect(decode(format, [])).toEqual({ kind: 'none' });
      expect(decode(format, [''])).toEqual({ kind: 'none' });
      expect(decode(format, ['  '])).toEqual({ kind: 'none' });
    }
  });

  it('a repeated certificate header is malformed, for every format (even when both are empty)', () => {
    for (const format of PROXY_FORMATS) {
      const result = decode(format, ['', '']);
      expectMalformed(result, DEFAULT_HEADERS[format].cert, '2 times');
    }
  });

  it('a repeated chain header is malformed except for rfc9440', () => {
    const b64 = leaf.toString('base64');
    const chainB64 = inter.toString('base64');
    expectMalformed(decode('haproxy', [b64], [chainB64, chainB64]), 'x-ssl-client-chain', '2 times');
  });

  it("an operator chainHeader on a format without one is read in that format's encoding", () => {
    const names = { cert: 'x-ssl-client-cert', chain: 'x-ssl-client-intermediates' };
    const nginxChain = decodeForwarded('nginx', [nginxEscaped(leafPem)], [nginxEscaped(interPem)], names);
    expectCerts(nginxChain, [leaf, inter]);
    const caddyChain = Buffer.concat([inter, inter2]).toString('base64');
    expectCerts(decodeForwarded('caddy', [leaf.toString('base64')], [caddyChain], names), [leaf, inter, inter2]);
    expectMalformed(decodeForwarded('caddy', [leaf.toString('base64')], ['%%'], names), 'x-ssl-client-intermediates');
  });

  it('a chain without its leaf is malformed', () => {
    expectMalformed(decode('haproxy', [''], [inter.toString('base64')]), 'x-ssl-client-chain', 'no certificate');
  });

  it('11 certificates are refused, 10 accepted', () => {
    const sf = (der: Buffer) => `:${der.toString('base64')}:`;
    const nine = Array<string>(9).fill(sf(inter)).join(', ');
    expect(decode('rfc9440', [sf(leaf)], [nine]).kind).toBe('certificates');
    expectMalformed(decode('rfc9440', [sf(leaf)], [`${nine}, ${sf(inter)}`]), 'client-cert', 'more than 10');
    expectMalformed(
      decode('haproxy', [leaf.toString('base64')], [Buffer.concat(Array(10).fill(inter)).toString('base64')]),
      '11',
    );
    expectMalformed(decode('aws-alb', [albEncoded(leafPem.repeat(11))]), 'x-amzn-mtls-clientcert', '11 certificates');
    expectMalformed(decode('traefik', [Array(11).fill(traefikBody(leaf)).join(',')]), 'more than 10');
  });

  it('over 64 KiB of raw header bytes (certificate and chain together) is refused before decoding', () => {
    const exact = 'A'.repeat(MAX_FORWARDED_HEADER_BYTES);
    // Exactly the limit is decoded (and fails as base64 DER, not as too large).
    expect(decode('haproxy', [exact])).not.toMatchObject({ detail: expect.stringContaining('bytes') });
    expectMalformed(decode('haproxy', [`${exact}A`]), 'x-ssl-client-cert', `over ${MAX_FORWARDED_HEADER_BYTES} bytes`);
    const half = 'A'.repeat(MAX_FORWARDED_HEADER_BYTES / 2);
    expectMalformed(decode('haproxy', [half], [`${half}A`]), `over ${MAX_FORWARDED_HEADER_BYTES} bytes`);
  });
});

describe('values that do not decode name the header and the problem', () => {
  it('bad base64', () => {
    expectMalformed(decode('haproxy', ['MIIB$$$$']), 'x-ssl-client-cert', 'not base64');
    expectMalformed(decode('caddy', [leaf.toString('base64').slice(0, -1)]), 'not a multiple of 4');
    expectMalformed(decode('azure', ['not base64!']), 'x-arr-clientcert', 'not base64');
    expectMalformed(decode('traefik', [`${traefikBody(leaf)},`]), 'certificate #2', 'empty');
  });

  it('bad sf-binary: outside the alphabet, = inside, no colons, an inner list, a trailing comma', () => {
    const b64 = leaf.toString('base64');
    expectMalformed(decode('rfc9440', [`:${b64}!:`]), 'client-cert', 'RFC 8941');
    expectMalformed(decode('rfc9440', [`:AA=A${b64}:`]), '= inside');
    expectMalformed(decode('rfc9440', [b64]), 'byte sequence');
    expectMalformed(decode('rfc9440', [`(:${b64}:)`]), 'inner list');
    expectMalformed(decode('rfc9440', [`:${b64}:`], [`:${b64}:,`]), 'client-cert-chain', 'trailing comma');
  });

  it('bad PEM, bad percent escapes, DER that does not split', () => {
    expectMalformed(
      decode('nginx', [nginxEscaped('-----BEGIN CERTIFICATE-----\nMIIB\n-----BEGIN CERTIFICATE-----')]),
      'not PEM',
      'no END',
    );
    expectMalformed(decode('nginx', [`${nginxEscaped(leafPem)}%G0`]), 'broken percent escape');
    expectMalformed(decode('apache', ['hello']), 'x-ssl-client-cert', 'not PEM');
    expectMalformed(decode('aws-alb', [albEncoded(pemOf(leaf).replace('CERTIFICATE', 'PRIVATE KEY'))]), 'not PEM');
    expectMalformed(decode('haproxy', [leaf.subarray(0, -1).toString('base64')]), 'runs past the end');
    expectMalformed(decode('haproxy', [Buffer.concat([leaf, inter]).toString('base64')]), '2 DER elements');
    expectMalformed(decode('haproxy', [Buffer.from([0x30, 0x80, 0, 0]).toString('base64')]), 'definite length');
  });

  it('details are one printable line even when the value holds control characters', () => {
    const result = decodeForwarded('rfc9440', ['\x1b[31m\n'], [], { cert: 'client-cert\r\nx' });
    expectMalformed(result);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not appear
    if (result.kind === 'malformed') expect(result.detail).not.toMatch(/[\x00-\x1f\x7f]/);
  });
});

/**
 * Header values captured verbatim from the Debian 12 packages (nginx 1.22.1, HAProxy 2.6.12, Apache
 * 2.4.68, Caddy 2.6.2) terminating mTLS on 127.0.0.1 for an OpenSSL-made client (leaf CN=alice and
 * its intermediate) and forwarding to an echo server. Caddy's value was byte for byte HAProxy's; with
 * no client certificate nginx sent no header, HAProxy two empty ones, Apache `(null)` and Caddy its
 * placeholder text, and each replaced a header the client forged.
 */
const CAPTURED = {
  nginx: [
    '-----BEGIN%20CERTIFICATE-----%0AMIIBezCCASKgAwIBAgITR%2BOrL%2FUnkmEtj9hYlxki2Ra1OzAKBggqhkjOPQQD',
    'AjAU%0AMRIwEAYDVQQDDAlDaGVjay1JbnQwHhcNMjYxMTMwMTQ0OTI0WhcNMjYxMjMwMTQ0%0AOTI0WjAQMQ4wDAYDVQQDDA',
    'VhbGljZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA%0ABL%2B%2FRc8TrhyXBjODpg5LVgSb7xNkPTrvbUlcI8OaFQFBaQK',
    'Pwpv9qxhUhZl1fhcm%0ABHzdx55AsBMjNuQoCr%2BBsPujVzBVMBMGA1UdJQQMMAoGCCsGAQUFBwMCMB0GA1Ud%0ADgQWBBT',
    'JiGVfn3e29DJt1TtYX%2FtM41fahzAfBgNVHSMEGDAWgBThmWbnrrhOyZ03%0AzijXZ3cDdnlSIDAKBggqhkjOPQQDAgNHAD',
    'BEAiA92li7DyR6TeoJ5jp8ut8fGSnE%0ATz18NglLCUw%2BP%2Fu2zAIgZXdLvwvHFsrTNaBka2x5Gvo7b6ekMzGd0eY%2B7',
    '0Iy5L0%3D%0A-----END%20CERTIFICATE-----%0A',
  ].join(''),
  haproxy: [
    'MIIBezCCASKgAwIBAgITR+OrL/UnkmEtj9hYlxki2Ra1OzAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlDaGVjay1JbnQwHhcN',
    'MjYxMTMwMTQ0OTI0WhcNMjYxMjMwMTQ0OTI0WjAQMQ4wDAYDVQQDDAVhbGljZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA',
    'BL+/Rc8TrhyXBjODpg5LVgSb7xNkPTrvbUlcI8OaFQFBaQKPwpv9qxhUhZl1fhcmBHzdx55AsBMjNuQoCr+BsPujVzBVMBMG',
    'A1UdJQQMMAoGCCsGAQUFBwMCMB0GA1UdDgQWBBTJiGVfn3e29DJt1TtYX/tM41fahzAfBgNVHSMEGDAWgBThmWbnrrhOyZ03',
    'zijXZ3cDdnlSIDAKBggqhkjOPQQDAgNHADBEAiA92li7DyR6TeoJ5jp8ut8fGSnETz18NglLCUw+P/u2zAIgZXdLvwvHFsrT',
    'NaBka2x5Gvo7b6ekMzGd0eY+70Iy5L0=',
  ].join(''),
  haproxyChain: [
    'MIIBizCCATGgAwIBAgIUSj+ioVymIvqUgit532yX4IbyU6cwCgYIKoZIzj0EAwIwFTETMBEGA1UEAwwKQ2hlY2stUm9vdDAe',
    'Fw0yNjExMzAxNDQ5MjRaFw0yNjEyMzAxNDQ5MjRaMBQxEjAQBgNVBAMMCUNoZWNrLUludDBZMBMGByqGSM49AgEGCCqGSM49',
    'AwEHA0IABMeHRmSR/fvrgCCxfF5wxJ5rRU+eI/zhmHxG5ejmzmK29wI9rQ7NYRRuqsnM+KqfFlB8srivByymTI4G1zG+uCmj',
    'YDBeMA8GA1UdEwEB/wQFMAMBAf8wCwYDVR0PBAQDAgEGMB0GA1UdDgQWBBThmWbnrrhOyZ03zijXZ3cDdnlSIDAfBgNVHSME',
    'GDAWgBTtRhLh2gIWKak5zchEDQ9YenYI/DAKBggqhkjOPQQDAgNIADBFAiACh6Hqs4oKrk79gAMUKplLhL6idESPi3Gsr8QN',
    'ikrthgIhALuTx3GHMmVTJdqSTgrenVmt+skekoBulfVBc9HWPHQo',
  ].join(''),
  apache: [
    '-----BEGIN CERTIFICATE----- MIIBezCCASKgAwIBAgITR+OrL/UnkmEtj9hYlxki2Ra1OzAKBggqhkjOPQQDAjAU MRI',
    'wEAYDVQQDDAlDaGVjay1JbnQwHhcNMjYxMTMwMTQ0OTI0WhcNMjYxMjMwMTQ0 OTI0WjAQMQ4wDAYDVQQDDAVhbGljZTBZMB',
    'MGByqGSM49AgEGCCqGSM49AwEHA0IA BL+/Rc8TrhyXBjODpg5LVgSb7xNkPTrvbUlcI8OaFQFBaQKPwpv9qxhUhZl1fhcm ',
    'BHzdx55AsBMjNuQoCr+BsPujVzBVMBMGA1UdJQQMMAoGCCsGAQUFBwMCMB0GA1Ud DgQWBBTJiGVfn3e29DJt1TtYX/tM41f',
    'ahzAfBgNVHSMEGDAWgBThmWbnrrhOyZ03 zijXZ3cDdnlSIDAKBggqhkjOPQQDAgNHADBEAiA92li7DyR6TeoJ5jp8ut8fGS',
    'nE Tz18NglLCUw+P/u2zAIgZXdLvwvHFsrTNaBka2x5Gvo7b6ekMzGd0eY+70Iy5L0= -----END CERTIFICATE-----',
  ].join(''),
};

describe('values captured from real proxies', () => {
  it('nginx, HAProxy (leaf and chain), Apache and Caddy decode to the same leaf', () => {
    const captured = Buffer.from(CAPTURED.haproxy, 'base64');
    const capturedChain = Buffer.from(CAPTURED.haproxyChain, 'base64');
    expect(captured[0]).toBe(0x30);
    expectCerts(decode('haproxy', [CAPTURED.haproxy], [CAPTURED.haproxyChain]), [captured, capturedChain]);
    expectCerts(decode('caddy', [CAPTURED.haproxy]), [captured]);
    expectCerts(decode('nginx', [CAPTURED.nginx]), [captured]);
    expectCerts(decode('apache', [CAPTURED.apache]), [captured]);
    expect(CAPTURED.apache).toMatch(/^-----BEGIN CERTIFICATE----- MIIB/);
  });
});
