/**
 * CRL usability rules (src/revocation/crl-usability.ts), one by one, on CRLs decoded by the real
 * decoder from DER built here (unsigned: the signature is an injected oracle) and a frozen clock
 * stepped across second boundaries on purpose.
 */
import { describe, expect, it, vi } from 'vitest';
import { encodeElement, TAG } from '../../src/x509/der.js';
import { KEY_USAGE, type ParsedCertificate } from '../../src/x509/certificate.js';
import { parseCrl, type ParsedCrl } from '../../src/revocation/crl.js';
import {
  applicabilityProblem,
  freshness,
  freshnessProblem,
  isNewer,
  replaceProblem,
  sameSlot,
  scopeProblem,
  signerKeyProblem,
  signerProblem,
  signerProblemAsync,
  unusableReason,
} from '../../src/revocation/crl-usability.js';
import type { Clock } from '../../src/time/clock.js';
import { pointProblem, pointsOf } from '../../src/revocation/crl-scope.js';

const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
const hex = (h: string) => Buffer.from(h, 'hex');
const ECDSA_SHA256 = hex('300a06082a8648ce3d040302');
const ECDSA_SHA384 = hex('300a06082a8648ce3d040303');
const OID = {
  crlNumber: '0603551d14',
  aki: '0603551d23',
  idp: '0603551d1c',
  delta: '0603551d1b',
  unknown: '06032a0304',
};
const TRUE = hex('0101ff');

/** A whole second, so that T - 1 is xx.999 of the second before. */
const T = Date.UTC(2030, 0, 1, 12, 0, 0);
const HOUR = 3_600_000;
const URL_A = 'http://crl.example/a.crl';
const URL_B = 'http://crl.example/b.crl';
/** generalNameKey of a URI, as the decoder gives it for certificates' distribution points. */
const uriKey = (url: string) => `86:${Buffer.from(url).toString('hex')}`;

function time(ms: number): Buffer {
  const d = new Date(ms).toISOString();
  return encodeElement(TAG.GENERALIZED_TIME, Buffer.from(`${d.slice(0, 19).replace(/[-T:]/g, '')}Z`, 'latin1'));
}

function ext(oid: string, value: Buffer, critical = false): Buffer {
  return seq(hex(oid), ...(critical ? [TRUE] : []), encodeElement(TAG.OCTET_STRING, value));
}

interface CrlSpec {
  thisUpdate?: number;
  /** null: no nextUpdate. */
  nextUpdate?: number | null;
  /** null: no CRL Number extension. */
  number?: number | null;
  keyId?: string;
  /** issuingDistributionPoint: a distribution point URL and/or a user/CA scope flag. */
  dp?: string;
  only?: 'user' | 'ca';
  delta?: boolean;
  criticalUnknown?: boolean;
  outerAlg?: Buffer;
}

/** An unsigned, well-formed v2 CRL, decoded by parseCrl. */
function crl(spec: CrlSpec = {}): ParsedCrl {
  const exts: Buffer[] = [];
  const number = spec.number === undefined ? 1 : spec.number;
  if (number !== null) exts.push(ext(OID.crlNumber, encodeElement(TAG.INTEGER, Buffer.from([number]))));
  if (spec.keyId) exts.push(ext(OID.aki, seq(encodeElement(0x80, hex(spec.keyId)))));
  if (spec.dp || spec.only) {
    const dp = spec.dp
      ? encodeElement(0xa0, encodeElement(0xa0, encodeElement(0x86, Buffer.from(spec.dp))))
      : Buffer.alloc(0);
    const flag = spec.only ? encodeElement(spec.only === 'user' ? 0x81 : 0x82, hex('ff')) : Buffer.alloc(0);
    exts.push(ext(OID.idp, seq(dp, flag), true));
  }
  if (spec.delta) exts.push(ext(OID.delta, encodeElement(TAG.INTEGER, hex('01')), true));
  if (spec.criticalUnknown) exts.push(ext(OID.unknown, hex('0500'), true));
  const issuer = seq(
    encodeElement(TAG.SET, seq(hex('0603550403'), encodeElement(TAG.UTF8_STRING, Buffer.from('Unit CA')))),
  );
  const next = spec.nextUpdate === null ? [] : [time(spec.nextUpdate ?? T + HOUR)];
  const extensions = exts.length ? [encodeElement(0xa0, seq(...exts))] : [];
  const tbs = seq(hex('020101'), ECDSA_SHA256, issuer, time(spec.thisUpdate ?? T), ...next, ...extensions);
  return parseCrl(seq(tbs, spec.outerAlg ?? ECDSA_SHA256, encodeElement(TAG.BIT_STRING, hex('00010203'))));
}

/** Only the fields the rules read. */
function cert(fields: Partial<ParsedCertificate> = {}): ParsedCertificate {
  return { id: 'c1', subjectDN: 'CN=Unit CA', serialNumber: '01', ...fields } as ParsedCertificate;
}

/** A frozen clock the test steps by hand. */
function frozenClock(t: number): Clock & { t: number } {
  return {
    t,
    now() {
      return this.t;
    },
  };
}

const STRICT = { clockToleranceMs: 0, gracePeriodMs: 0 };

describe('unusableReason (RFC 5280 5.1.1.2, 5.2, 5.2.3, 5.2.4, 5.2.5)', () => {
  it('a complete CRL with a CRL number is usable', () => {
    expect(unusableReason(crl())).toBeUndefined();
  });

  it('a delta CRL (5.2.4) is usable, with its base, in a slot of its own', () => {
    const delta = crl({ delta: true, number: 2 });
    expect(unusableReason(delta)).toBeUndefined();
    expect(delta.deltaBase).toBe(1n);
    expect(sameSlot(delta, crl())).toBe(false);
  });

  it.each<[string, CrlSpec, RegExp]>([
    ['no CRL number (5.2.3)', { number: null }, /CRL number/],
    ['an unsupported critical extension (5.2)', { criticalUnknown: true }, /critical extension/],
    ['two different signature algorithm fields (5.1.1.2)', { outerAlg: ECDSA_SHA384 }, /signature algorithm/],
  ])('%s', (_label, spec, rule) => {
    expect(unusableReason(crl(spec))).toMatch(rule);
  });
});

describe('freshness with one-second granularity (RFC 5280 5.1.2.4, 5.1.2.5, 6.3.3 (a))', () => {
  it('thisUpdate: not yet valid until its second starts, valid through the whole of it', () => {
    const clock = frozenClock(T - 1); // xx.999 of the second before thisUpdate
    const c = crl({ thisUpdate: T });
    expect(freshness(c, clock.now(), STRICT)).toBe('not yet valid');
    expect(freshnessProblem(c, clock.now(), STRICT)).toMatch(/not yet valid/);
    clock.t = T;
    expect(freshness(c, clock.now(), STRICT)).toBe('current');
    clock.t = T + 999;
    expect(freshness(c, clock.now(), STRICT)).toBe('current');
    expect(freshnessProblem(c, clock.now(), STRICT)).toBeUndefined();
  });

  it('clockToleranceMs moves the start back by exactly that much', () => {
    const c = crl({ thisUpdate: T });
    const rules = { clockToleranceMs: 1000, gracePeriodMs: 0 };
    const clock = frozenClock(T - 1000);
    expect(freshness(c, clock.now(), rules)).toBe('current');
    clock.t = T - 1001;
    expect(freshness(c, clock.now(), rules)).toBe('not yet valid');
  });

  it('a CRL stamped with the current second is current for the rest of that second', () => {
    const clock = frozenClock(T + 993);
    expect(freshness(crl({ thisUpdate: T }), clock.now(), STRICT)).toBe('current');
  });

  it('nextUpdate: stale from that instant on, and the grace period moves it by exactly that much', () => {
    const next = T + HOUR;
    const c = crl({ thisUpdate: T, nextUpdate: next });
    const clock = frozenClock(next - 1);
    expect(freshness(c, clock.now(), STRICT)).toBe('current');
    clock.t = next;
    expect(freshness(c, clock.now(), STRICT)).toBe('stale');
    expect(freshnessProblem(c, clock.now(), STRICT)).toMatch(/stale/);
    const grace = { clockToleranceMs: 0, gracePeriodMs: 5000 };
    clock.t = next + 4999;
    expect(freshness(c, clock.now(), grace)).toBe('current');
    clock.t = next + 5000;
    expect(freshness(c, clock.now(), grace)).toBe('stale');
  });

  it('a CRL without nextUpdate is never current (5.1.2.5)', () => {
    const c = crl({ nextUpdate: null });
    expect(freshness(c, frozenClock(T + 1).now(), STRICT)).toBe('no nextUpdate');
    expect(freshnessProblem(c, T + 1, STRICT)).toMatch(/nextUpdate/);
  });
});

describe('scopeProblem (RFC 5280 5.2.5, 6.3.3 (b)(2))', () => {
  const ee = cert({ crlDistributionPoints: [uriKey(URL_A)] });

  it('a CRL without issuingDistributionPoint covers every certificate of its issuer', () => {
    expect(scopeProblem(crl(), ee, false)).toBeUndefined();
    expect(scopeProblem(crl(), cert(), true)).toBeUndefined();
  });

  it('a distribution point CRL covers only certificates that name that point (crl-scope.ts)', () => {
    const named = cert({ distributionPoints: [{ names: [uriKey(URL_A)] }], issuerKey: crl().issuerKey });
    const problem = (c: ParsedCrl, x: ParsedCertificate) => pointsOf(x).map((p) => pointProblem(c, x, p));
    expect(problem(crl({ dp: URL_A }), named)).toContain(undefined);
    expect(problem(crl({ dp: URL_B }), named)).toEqual([
      expect.stringMatching(/distribution point/),
      expect.stringMatching(/distribution point/),
    ]);
    expect(problem(crl({ dp: URL_A }), cert({ issuerKey: crl().issuerKey }))).toEqual([
      expect.stringMatching(/distribution point/),
    ]);
  });

  it('onlyContainsUserCerts and onlyContainsCACerts follow the certificate cA flag', () => {
    expect(scopeProblem(crl({ only: 'user' }), ee, false)).toBeUndefined();
    expect(scopeProblem(crl({ only: 'user' }), ee, true)).toMatch(/end-entity certificates only/);
    expect(scopeProblem(crl({ only: 'ca' }), ee, true)).toBeUndefined();
    expect(scopeProblem(crl({ only: 'ca' }), ee, false)).toMatch(/CA certificates only/);
  });
});

describe('applicabilityProblem', () => {
  it('is undefined for a usable, in-scope, current CRL and names the first rule broken otherwise', () => {
    const ee = cert();
    expect(applicabilityProblem(crl(), ee, false, T + 1, STRICT)).toBeUndefined();
    // Unusable before out of scope before stale.
    const all = { number: null, only: 'ca', nextUpdate: T + 1 } as const;
    expect(applicabilityProblem(crl(all), ee, false, T + 2, STRICT)).toMatch(/CRL number/);
    expect(applicabilityProblem(crl({ ...all, number: 1 }), ee, false, T + 2, STRICT)).toMatch(/CA certificates only/);
    expect(applicabilityProblem(crl({ nextUpdate: T + 1000 }), ee, false, T + 1000, STRICT)).toMatch(/stale/);
  });
});

describe('signer (RFC 5280 4.2.1.3, 5.2.1, 6.3.3 (f), (g))', () => {
  const signs = () => true;

  it('the AKI must name the signer key when both are present', () => {
    const c = crl({ keyId: 'aabb' });
    expect(signerKeyProblem(c, cert({ subjectKeyId: 'aabb' }))).toBeUndefined();
    expect(signerKeyProblem(c, cert({ subjectKeyId: 'ccdd' }))).toMatch(/names another key/);
    // Nothing to compare: the signature decides.
    expect(signerKeyProblem(c, cert())).toBeUndefined();
    expect(signerKeyProblem(crl(), cert({ subjectKeyId: 'ccdd' }))).toBeUndefined();
  });

  it('where keyUsage is present it must assert cRLSign', () => {
    const c = crl();
    expect(signerKeyProblem(c, cert({ keyUsage: KEY_USAGE.keyCertSign }))).toMatch(/cRLSign/);
    expect(signerKeyProblem(c, cert({ keyUsage: KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign }))).toBeUndefined();
    expect(signerKeyProblem(c, cert())).toBeUndefined();
  });

  it('the signature must verify, and is not computed for a key that may not sign', () => {
    const c = crl();
    const oracle = vi.fn(signs);
    expect(signerProblem(c, cert(), oracle)).toBeUndefined();
    expect(signerProblem(c, cert(), () => false)).toMatch(/does not verify/);
    oracle.mockClear();
    expect(signerProblem(c, cert({ keyUsage: KEY_USAGE.keyCertSign }), oracle)).toMatch(/cRLSign/);
    expect(oracle).not.toHaveBeenCalled();
  });

  it('signerProblemAsync applies the same rules with an asynchronous oracle', async () => {
    const c = crl({ keyId: 'aabb' });
    const key = { subjectKeyId: 'aabb' };
    expect(await signerProblemAsync(c, cert(key), async () => true)).toBeUndefined();
    expect(await signerProblemAsync(c, cert(key), async () => false)).toMatch(/does not verify/);
    expect(
      await signerProblemAsync(c, cert({ ...key, keyUsage: KEY_USAGE.digitalSignature }), async () => true),
    ).toMatch(/cRLSign/);
    expect(await signerProblemAsync(c, cert({ subjectKeyId: 'ccdd' }), async () => true)).toMatch(/another key/);
  });
});

describe('isNewer (RFC 5280 5.2.3)', () => {
  it('the CRL Number decides when both have different ones, whatever thisUpdate says', () => {
    const older = crl({ number: 5, thisUpdate: T + 1000 });
    const newer = crl({ number: 6, thisUpdate: T });
    expect(isNewer(newer, older)).toBe(true);
    expect(isNewer(older, newer)).toBe(false);
  });

  it('otherwise the later thisUpdate, by whole seconds; a CRL is not newer than itself', () => {
    const a = crl({ number: 7, thisUpdate: T });
    const b = crl({ number: 7, thisUpdate: T + 1000 });
    expect(isNewer(b, a)).toBe(true);
    expect(isNewer(a, b)).toBe(false);
    expect(isNewer(a, a)).toBe(false);
    const unnumbered = crl({ number: null, thisUpdate: T + 1000 });
    expect(isNewer(unnumbered, a)).toBe(true);
    // Milliseconds within one second do not make a CRL newer.
    const sameSecond = crl({ number: 7, thisUpdate: T });
    sameSecond.thisUpdate = new Date(T + 999);
    expect(isNewer(sameSecond, a)).toBe(false);
  });
});

describe('sameSlot and replaceProblem (which CRL may replace the one in use)', () => {
  it('same issuer, key and scope share a slot; another key or scope is another slot', () => {
    expect(sameSlot(crl({ number: 1, keyId: 'aa' }), crl({ number: 2, keyId: 'aa' }))).toBe(true);
    expect(sameSlot(crl({ keyId: 'aa' }), crl({ keyId: 'bb' }))).toBe(false);
    expect(sameSlot(crl(), crl({ only: 'ca' }))).toBe(false);
    expect(sameSlot(crl({ dp: URL_A }), crl({ dp: URL_B }))).toBe(false);
  });

  it('an older CRL may not replace a newer one of its slot; a newer one, or one of another slot, may', () => {
    const inUse = [crl({ number: 5 })];
    expect(replaceProblem(crl({ number: 4 }), inUse)).toMatch(/older/);
    expect(replaceProblem(crl({ number: 5 }), inUse)).toBeUndefined();
    expect(replaceProblem(crl({ number: 6 }), inUse)).toBeUndefined();
    expect(replaceProblem(crl({ number: 4, only: 'ca' }), inUse)).toBeUndefined();
  });
});
