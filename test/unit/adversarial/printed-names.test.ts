/**
 * Certificate text printed for operators (details, CLI JSON) carries no character a terminal or a
 * reader acts on: found in review, the two-CN refusal listed the CNs raw, and invisible format
 * characters (U+200B, U+FEFF, tag characters) were printed as they are, so "admin\u200B" read as
 * "admin". Matching is unaffected: only printing escapes.
 */
import { describe, expect, it } from 'vitest';
import { CertgateError, type CertificateInfo, defaultIdentify } from 'certgate';
import { escapeUnprintable } from '../../../src/x509/name.js';
import { printableJson } from '../../../src/cli/io.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\p{Cf}]/u;

describe('printed certificate text', () => {
  it('escapes invisible format characters as RFC 4514 \\XX', () => {
    expect(escapeUnprintable('admin\u200B')).toBe('admin\\E2\\80\\8B');
    expect(escapeUnprintable('\uFEFFadmin\u00AD')).toBe('\\EF\\BB\\BFadmin\\C2\\AD');
    expect(escapeUnprintable('tag\u{E0041}')).toBe('tag\\F3\\A0\\81\\81');
  });

  it('the CLI JSON escapes them as \\u escapes that decode to the same text', () => {
    const value = { cn: 'admin\u200B\u{E0041}\u202E' };
    const printed = printableJson(value, 0);
    expect(printed).not.toMatch(RAW);
    expect(JSON.parse(printed)).toEqual(value);
  });

  it('the two-CN refusal lists the CNs escaped', () => {
    const certificate = {
      subjectDN: 'CN=escaped',
      subject: { CN: ['alice\u202Egnp.exe', 'x\u009b31m\u001b[2J'] },
    } as unknown as CertificateInfo;
    let detail = '';
    try {
      defaultIdentify(certificate);
    } catch (err) {
      detail = err instanceof CertgateError ? (err.detail ?? '') : String(err);
    }
    expect(detail).toMatch(/2 subject CNs/);
    expect(detail).not.toMatch(RAW);
  });
});
