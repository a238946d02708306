/**
 * The README tables "Revocation" and "How CRL and OCSP combine", row by row, against the one
 * function that decides them (src/revocation/combine.ts). No certificates, no servers.
 */
import { describe, expect, it } from 'vitest';
import {
  combinePath,
  decideByCrl,
  decideLeaf,
  needsOcsp,
  type CrlFinding,
  type OcspFinding,
} from '../../src/revocation/combine.js';

const crlRevoked: CrlFinding = { status: 'revoked', failure: { code: 'CERT_REVOKED', detail: 'on the CRL' } };
const crlUnknown: CrlFinding = {
  status: 'unknown',
  failure: { code: 'REVOCATION_UNKNOWN', detail: 'revocation status of leaf is unknown: the CRL is stale' },
};
const crlGood: CrlFinding = { status: 'good' };
const crlUnchecked: CrlFinding = { status: 'unchecked' };
const ocspGood: OcspFinding = { status: 'good' };
const ocspRevoked: OcspFinding = {
  status: 'revoked',
  failure: { code: 'CERT_REVOKED', detail: 'the responder says revoked' },
};
const ocspNoAnswer: OcspFinding = {
  status: 'unknown',
  failure: { code: 'REVOCATION_UNKNOWN', detail: 'revocation status of leaf is unknown: no OCSP answer (down)' },
};

const strict = { crl: 'reject', ocsp: 'reject' } as const;
const soft = { crl: 'allow', ocsp: 'allow' } as const;

describe('decideLeaf: the README table "How CRL and OCSP combine"', () => {
  it('CRLs say revoked: refused, and OCSP is not asked', () => {
    expect(needsOcsp(crlRevoked)).toBe(false);
    for (const ocsp of [ocspGood, ocspRevoked, ocspNoAnswer]) {
      expect(decideLeaf(crlRevoked, ocsp, soft)).toEqual({ status: 'revoked', failure: crlRevoked.failure });
    }
  });

  it.each([crlGood, crlUnchecked, crlUnknown])('OCSP revoked wins over CRLs that say %j', (crl) => {
    expect(needsOcsp(crl)).toBe(true);
    expect(decideLeaf(crl, ocspRevoked, soft)).toEqual({ status: 'revoked', failure: ocspRevoked.failure });
  });

  it.each([crlGood, crlUnchecked, crlUnknown])('OCSP good stands in for CRLs that say %j', (crl) => {
    expect(decideLeaf(crl, ocspGood, strict)).toEqual({ status: 'good' });
  });

  it('a usable CRL vouches for the leaf when OCSP cannot say', () => {
    expect(decideLeaf(crlGood, ocspNoAnswer, strict)).toEqual({ status: 'good' });
  });

  it('no CRL for the issuer and no answer: ocsp.whenUnavailable alone decides', () => {
    expect(decideLeaf(crlUnchecked, ocspNoAnswer, { crl: 'allow', ocsp: 'reject' })).toMatchObject({
      status: 'unknown',
      allowed: false,
    });
    expect(decideLeaf(crlUnchecked, ocspNoAnswer, { crl: 'reject', ocsp: 'allow' })).toMatchObject({
      status: 'unknown',
      allowed: true,
    });
  });

  it('CRLs unknown and no answer: refused unless both whenUnavailable are allow; one detail names both reasons', () => {
    expect(decideLeaf(crlUnknown, ocspNoAnswer, { crl: 'allow', ocsp: 'reject' })).toMatchObject({
      status: 'unknown',
      allowed: false,
    });
    expect(decideLeaf(crlUnknown, ocspNoAnswer, { crl: 'reject', ocsp: 'allow' })).toMatchObject({
      status: 'unknown',
      allowed: false,
    });
    const both = decideLeaf(crlUnknown, ocspNoAnswer, soft);
    expect(both).toMatchObject({ status: 'unknown', allowed: true });
    expect(both.status === 'unknown' && both.failure.detail).toBe(
      'revocation status of leaf is unknown: no OCSP answer (down); and from CRLs: the CRL is stale',
    );
  });
});

describe('decideByCrl: certificates only CRLs speak for', () => {
  it('good and unchecked pass; revoked refuses; unknown follows crl.whenUnavailable', () => {
    expect(decideByCrl(crlGood, 'reject')).toEqual({ status: 'good' });
    expect(decideByCrl(crlUnchecked, 'reject')).toEqual({ status: 'good' });
    expect(decideByCrl(crlRevoked, 'allow')).toMatchObject({ status: 'revoked' });
    expect(decideByCrl(crlUnknown, 'reject')).toMatchObject({ status: 'unknown', allowed: false });
    expect(decideByCrl(crlUnknown, 'allow')).toMatchObject({ status: 'unknown', allowed: true });
  });
});

describe('combinePath: one decision for a path', () => {
  const refusedUnknown = decideByCrl(crlUnknown, 'reject');
  const allowedUnknown = decideByCrl(crlUnknown, 'allow');
  const revoked = decideByCrl(crlRevoked, 'reject');
  const good = decideByCrl(crlGood, 'reject');

  it('a revocation anywhere wins over an unknown nearer the leaf', () => {
    expect(combinePath([refusedUnknown, revoked])).toBe(revoked);
  });
  it('then the first unknown that must refuse, then the first soft failure', () => {
    expect(combinePath([allowedUnknown, refusedUnknown])).toBe(refusedUnknown);
    expect(combinePath([good, allowedUnknown])).toBe(allowedUnknown);
  });
  it('good when every certificate is good or unchecked, and for an empty path (a pinned anchor)', () => {
    expect(combinePath([good, decideByCrl(crlUnchecked, 'reject')])).toEqual({ status: 'good' });
    expect(combinePath([])).toEqual({ status: 'good' });
  });
});
