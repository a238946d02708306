/** OCSP requests by GET (RFC 6960 appendix A.1, RFC 5019 section 5): src/revocation/ocsp-get.ts. */
import { describe, expect, it } from 'vitest';
import { MAX_OCSP_GET_BYTES, ocspGetUrl } from '../../src/revocation/ocsp-get.js';

describe('ocspGetUrl', () => {
  it('appends the base64 request, URL-encoded (+, / and = escaped), after a slash', () => {
    const request = Buffer.from([0xfb, 0xff, 0xbf, 0x01]); // base64 "+/+/AQ=="
    expect(request.toString('base64')).toBe('+/+/AQ==');
    const encoded = '%2B%2F%2B%2FAQ%3D%3D';
    expect(ocspGetUrl('http://ocsp.example/', request)).toBe(`http://ocsp.example/${encoded}`);
    expect(ocspGetUrl('http://ocsp.example', request)).toBe(`http://ocsp.example/${encoded}`);
    expect(ocspGetUrl('http://ocsp.example/ca1', request)).toBe(`http://ocsp.example/ca1/${encoded}`);
  });

  it(`sends by GET up to ${MAX_OCSP_GET_BYTES} encoded bytes, escapes counted; longer requests go by POST`, () => {
    const zeros = Buffer.alloc(189); // 252 base64 characters, none escaped
    expect(ocspGetUrl('http://o/', zeros)?.length).toBe('http://o/'.length + 252);
    const oneSlash = Buffer.from(zeros);
    oneSlash[0] = 0xfc; // "/AAA...": 254 encoded bytes
    expect(ocspGetUrl('http://o/', oneSlash)?.length).toBe('http://o/'.length + 254);
    const twoSlashes = Buffer.from(zeros);
    twoSlashes[0] = 0xff;
    twoSlashes[1] = 0xf0; // "//AA...": 256 encoded bytes
    expect(ocspGetUrl('http://o/', twoSlashes)).toBeUndefined();
    expect(ocspGetUrl('http://o/', Buffer.alloc(190))).toBeUndefined(); // 256 characters and "==" padding
  });

  it('goes by POST when the responder URL has a query or a fragment', () => {
    expect(ocspGetUrl('http://o/ocsp?ca=1', Buffer.alloc(4))).toBeUndefined();
    expect(ocspGetUrl('http://o/ocsp#x', Buffer.alloc(4))).toBeUndefined();
    expect(ocspGetUrl('http://o/ocsp?', Buffer.alloc(4))).toBeUndefined();
  });
});
