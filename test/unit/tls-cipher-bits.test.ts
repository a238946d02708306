/** The cipher-bits table and the `tls` rule's comparison, without connections. */
import { execFileSync } from 'node:child_process';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { BULK_CIPHER_BITS, cipherBits, isKnownCipher } from '../../src/tls/cipher-bits.js';
import { belowRule, DEFAULT_TLS_RULE, negotiatedTls, type TlsRule } from '../../src/tls/rule.js';

describe('cipherBits (IANA names)', () => {
  it.each([
    ['TLS_AES_128_GCM_SHA256', 128],
    ['TLS_AES_256_GCM_SHA384', 256],
    ['TLS_CHACHA20_POLY1305_SHA256', 256],
    ['TLS_AES_128_CCM_SHA256', 128],
    ['TLS_AES_128_CCM_8_SHA256', 128],
    ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 128],
    ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 256],
    ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 256],
    ['TLS_ECDHE_ECDSA_WITH_AES_128_CCM', 128],
    ['TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8', 256],
    ['TLS_RSA_WITH_AES_128_GCM_SHA256', 128],
    ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 128],
    ['TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 256],
    ['TLS_RSA_WITH_3DES_EDE_CBC_SHA', 112],
    ['TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384', 256],
  ])('%s: %i', (name, bits) => {
    expect(cipherBits(name)).toBe(bits);
    expect(isKnownCipher(name)).toBe(true);
  });

  it.each([
    ['TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256', 128],
    ['TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384', 256],
    ['TLS_RSA_WITH_ARIA_128_CBC_SHA256', 128],
    ['TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384', 256],
  ])('Camellia and ARIA-CBC count their key bits: %s', (name, bits) => {
    expect(cipherBits(name)).toBe(bits);
    expect(isKnownCipher(name)).toBe(true);
  });

  it('NULL encryption counts 0', () => {
    expect(cipherBits('TLS_ECDHE_ECDSA_WITH_NULL_SHA')).toBe(0);
    expect(cipherBits('TLS_RSA_WITH_NULL_SHA256')).toBe(0);
    expect(isKnownCipher('TLS_RSA_WITH_NULL_SHA256')).toBe(true);
  });

  it.each([
    'TLS_NULL_WITH_NULL_NULL',
    'TLS_RSA_WITH_RC4_128_SHA',
    'TLS_RSA_WITH_DES_CBC_SHA',
    'TLS_RSA_WITH_SEED_CBC_SHA',
    'TLS_RSA_WITH_IDEA_CBC_SHA',
    'TLS_SM4_GCM_SM3',
    'TLS_',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'unknown',
    '',
    undefined,
  ])('a cipher certgate does not know counts 0 (fails closed): %s', (name) => {
    expect(cipherBits(name)).toBe(0);
    expect(isKnownCipher(name)).toBe(false);
  });

  it("knows every suite Node's default cipher list can negotiate (OpenSSL names them)", () => {
    const names = execFileSync('openssl', ['ciphers', '-stdname', tls.DEFAULT_CIPHERS], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[0]);
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name) => !isKnownCipher(name))).toEqual([]);
    expect(names.filter((name) => cipherBits(name) < 128)).toEqual([]);
  });

  it('holds no key size below 0 or above 256 (what minCipherBits may ask)', () => {
    for (const bits of BULK_CIPHER_BITS.values()) expect(bits >= 0 && bits <= 256).toBe(true);
  });
});

describe('the tls rule', () => {
  const facts = (protocol: string | undefined, standardCipher: string | undefined, cipher = 'OPENSSL-NAME') => ({
    protocol,
    cipher,
    standardCipher,
  });
  const tls13 = facts('TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256');

  it('clientCert.tls: protocol, IANA name, bits', () => {
    expect(negotiatedTls(tls13)).toEqual({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', bits: 128 });
    // Without an IANA name: the OpenSSL name, 0 bits.
    expect(negotiatedTls(facts('TLSv1.2', undefined))).toEqual({
      protocol: 'TLSv1.2',
      cipher: 'OPENSSL-NAME',
      bits: 0,
    });
    expect(negotiatedTls({ protocol: undefined, cipher: undefined })).toEqual({
      protocol: 'unknown',
      cipher: 'unknown',
      bits: 0,
    });
  });

  it.each([
    ['TLSv1.3', DEFAULT_TLS_RULE, true],
    ['TLSv1.2', DEFAULT_TLS_RULE, true],
    ['TLSv1.1', DEFAULT_TLS_RULE, false],
    ['TLSv1', DEFAULT_TLS_RULE, false],
    ['SSLv3', DEFAULT_TLS_RULE, false],
    ['unknown', DEFAULT_TLS_RULE, false],
    [undefined, DEFAULT_TLS_RULE, false],
    // A protocol certgate does not know ranks below every floor (fail closed).
    ['DTLSv1.2', DEFAULT_TLS_RULE, false],
    ['TLSv1.2', { minVersion: 'TLSv1.3', minCipherBits: 128 }, false],
    ['TLSv1.3', { minVersion: 'TLSv1.3', minCipherBits: 128 }, true],
  ] as const)('protocol %s, rule %o: meets it: %s', (protocol, rule: TlsRule, meets) => {
    const tls = negotiatedTls(facts(protocol, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'));
    expect(belowRule(tls, 'X', rule) === undefined).toBe(meets);
  });

  it('bits: at the minimum passes, below it fails', () => {
    const rule = { minVersion: 'TLSv1.2', minCipherBits: 256 } as const;
    expect(belowRule(negotiatedTls(facts('TLSv1.3', 'TLS_AES_256_GCM_SHA384')), 'X', rule)).toBeUndefined();
    expect(belowRule(negotiatedTls(tls13), 'TLS_AES_128_GCM_SHA256', rule)).toBe(
      'TLSv1.3 with TLS_AES_128_GCM_SHA256 (128-bit) is below the rule: TLSv1.2, 256 bits',
    );
  });

  it('the detail names both cipher names, and says when certgate does not know the cipher', () => {
    const cbc = negotiatedTls(facts('TLSv1.2', 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256'));
    expect(belowRule(cbc, 'ECDHE-RSA-AES128-SHA256', { minVersion: 'TLSv1.3', minCipherBits: 128 })).toBe(
      'TLSv1.2 with ECDHE-RSA-AES128-SHA256 (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, 128-bit) is below the rule: ' +
        'TLSv1.3, 128 bits',
    );
    const rc4 = negotiatedTls(facts('TLSv1.2', 'TLS_RSA_WITH_RC4_128_SHA'));
    expect(belowRule(rc4, 'RC4-SHA', DEFAULT_TLS_RULE)).toBe(
      'TLSv1.2 with RC4-SHA (TLS_RSA_WITH_RC4_128_SHA, 0-bit: a cipher certgate does not know) is below the rule: ' +
        'TLSv1.2, 128 bits',
    );
  });
});
