/**
 * Hostile client chains for the path-cost bench and tests: a fresh leaf plus many same-named
 * "issuer" certificates whose keys or algorithms make each signature check as expensive as an
 * attacker can. No private key of the hostile issuers is ever needed: the leaf's signature is
 * junk, so every candidate costs one full (failed) verification. Certificates are DER-encoded
 * here by hand, because no library will make keys such as RSA-3072 with a 3071-bit exponent.
 */
import { sign as cryptoSign, createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { floodMaker } from './flood-certs.js';

export type HostileShape = 'huge-exponent' | 'pss-junk' | 'rsa-16384' | 'p521' | 'p521-tree' | 'huge-names';

export const HOSTILE_SHAPES: readonly HostileShape[] = [
  'huge-exponent',
  'pss-junk',
  'rsa-16384',
  'p521',
  'p521-tree',
  'huge-names',
];

/** The issuer name every hostile candidate shares with the leaf's issuer field. */
export const HOSTILE_ISSUER = 'Hostile Issuer';

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const content = Buffer.concat(parts);
  const n = content.length;
  if (n < 0x80) return Buffer.concat([Buffer.from([tag, n]), content]);
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v % 256);
  return Buffer.concat([Buffer.from([tag, 0x80 | octets.length, ...octets]), content]);
}

const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const NULL = Buffer.from([0x05, 0x00]);

function bigintBytes(v: bigint): Buffer {
  const hex = v.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

/** A non-negative INTEGER. */
function integer(v: bigint): Buffer {
  const b = bigintBytes(v);
  return tlv(0x02, (b[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [a * 40 + b];
  for (const arc of rest) {
    const septets = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) septets.unshift(0x80 | (v & 0x7f));
    out.push(...septets);
  }
  return tlv(0x06, Buffer.from(out));
}

const name = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));

function utcTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return tlv(0x17, Buffer.from(`${s}Z`, 'ascii'));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [Buffer.from([0x01, 0x01, 0xff])] : []), tlv(0x04, value));
}

const CA_EXTENSIONS = [
  extension('2.5.29.19', true, seq(Buffer.from([0x01, 0x01, 0xff]))),
  extension('2.5.29.15', true, Buffer.from([0x03, 0x02, 0x01, 0x06])),
];
const LEAF_EXTENSIONS = [
  extension('2.5.29.15', true, Buffer.from([0x03, 0x02, 0x07, 0x80])),
  extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.2'))),
];

export const SHA256_WITH_RSA = seq(oid('1.2.840.113549.1.1.11'), NULL);
const ECDSA_WITH_SHA512 = seq(oid('1.2.840.10045.4.3.4'));

/** RSA-PSS AlgorithmIdentifier whose parameters are `junkBytes` of well-formed but meaningless DER. */
export function pssWithJunk(junkBytes: number): Buffer {
  const nulls = Buffer.alloc(junkBytes - (junkBytes % 2));
  for (let i = 0; i < nulls.length; i += 2) nulls[i] = 0x05;
  return seq(oid('1.2.840.113549.1.1.10'), seq(nulls));
}

/** A random odd integer of exactly `bits` bits (a modulus or exponent nobody can sign with: not needed). */
function randomOdd(bits: number): bigint {
  let v = BigInt(`0x${randomBytes(Math.ceil(bits / 8)).toString('hex')}`);
  v &= (1n << BigInt(bits)) - 1n;
  return v | (1n << BigInt(bits - 1)) | 1n;
}

export function rsaSpki(modulus: bigint, exponent: bigint): Buffer {
  const key = seq(integer(modulus), integer(exponent));
  return seq(seq(oid('1.2.840.113549.1.1.1'), NULL), tlv(0x03, Buffer.from([0]), key));
}

interface CertSpec {
  serial: bigint;
  issuer: string;
  subject: string;
  spki: Buffer;
  extensions: Buffer[];
  algorithm: Buffer;
  /** Signs the TBSCertificate DER (or returns junk). */
  signature: (tbs: Buffer) => Buffer;
  notBefore: Date;
  notAfter: Date;
}

export function certificate(spec: CertSpec): Buffer {
  const tbs = seq(
    tlv(0xa0, integer(2n)),
    integer(spec.serial),
    spec.algorithm,
    name(spec.issuer),
    seq(utcTime(spec.notBefore), utcTime(spec.notAfter)),
    name(spec.subject),
    spec.spki,
    tlv(0xa3, seq(...spec.extensions)),
  );
  return seq(tbs, spec.algorithm, tlv(0x03, Buffer.from([0]), spec.signature(tbs)));
}

export interface HostileChain {
  shape: HostileShape;
  /** DER: the leaf first, then the same-named candidates. */
  chain: Buffer[];
  /** The leaf's private key (a real P-256 key, so a TLS client can present the chain). */
  leafKey: KeyObject;
  /** A new leaf for the same candidates (a new leaf per connection defeats every cache). */
  freshLeaf(): Buffer;
  /** A whole new chain of the same shape: new leaf, new candidates (nothing parsed before). */
  freshChain(): Buffer[];
}

interface CandidateKind {
  spki: Buffer;
  algorithm: Buffer;
  /** Junk, but of the size the issuer key expects, so that the full verification runs. */
  signatureBytes: number;
}

function candidateKind(shape: Exclude<HostileShape, 'p521-tree' | 'huge-names'>): CandidateKind {
  switch (shape) {
    case 'huge-exponent':
      return { spki: rsaSpki(randomOdd(3072), randomOdd(3071)), algorithm: SHA256_WITH_RSA, signatureBytes: 384 };
    case 'pss-junk':
      return { spki: rsaSpki(randomOdd(3072), 65537n), algorithm: pssWithJunk(20_000), signatureBytes: 384 };
    case 'rsa-16384':
      return { spki: rsaSpki(randomOdd(16384), 65537n), algorithm: SHA256_WITH_RSA, signatureBytes: 2048 };
    case 'p521':
      return { spki: p521().spki, algorithm: ECDSA_WITH_SHA512, signatureBytes: 0 };
  }
}

function p521(): { spki: Buffer; key: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  return { spki: publicKey.export({ type: 'spki', format: 'der' }), key: privateKey };
}

/** A junk signature value: below any modulus of that size (top byte small), so RSA really computes. */
function junkSignature(bytes: number): Buffer {
  if (bytes === 0) {
    // ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, both in range for P-521.
    return seq(integer(randomOdd(512)), integer(randomOdd(512)));
  }
  const sig = randomBytes(bytes);
  sig[0] = 0x01;
  return sig;
}

function leafMaker(at: Date) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const validity = {
    notBefore: new Date(at.getTime() - 86_400_000),
    notAfter: new Date(at.getTime() + 30 * 86_400_000),
  };
  const make = (issuer: string, algorithm: Buffer, signature: (tbs: Buffer) => Buffer) =>
    certificate({
      serial: randomOdd(120),
      issuer,
      subject: 'hostile client',
      spki,
      extensions: LEAF_EXTENSIONS,
      algorithm,
      signature,
      ...validity,
    });
  return { make, key: privateKey, validity };
}

/**
 * `candidates` CA certificates named HOSTILE_ISSUER (self-issued, all with the shape's key) and
 * a leaf they would issue, with a junk signature under the shape's algorithm. The leaf carries
 * the shape's algorithm (PSS junk): what is re-decoded per candidate is the child's algorithm.
 */
/**
 * `count` distinct self-signed certificates of 57 KB, each name 612 small attributes (the shape
 * that costs a decoder the most per byte): parsing, not signatures, is the cost here.
 */
function hugeNames(count: number): HostileChain {
  const maker = floodMaker();
  let next = 0;
  const make = () => maker.make(next++).der;
  const chain = Array.from({ length: count }, make);
  return {
    shape: 'huge-names',
    chain,
    leafKey: createPrivateKey(maker.keyPem),
    freshLeaf: make,
    freshChain: () => Array.from({ length: count }, make),
  };
}

export function hostileChain(shape: HostileShape, candidates: number, at: Date): HostileChain {
  if (shape === 'p521-tree') return p521Tree(candidates, at);
  if (shape === 'huge-names') return hugeNames(candidates);
  const kind = candidateKind(shape);
  const leaf = leafMaker(at);
  const candidateAlgorithm = shape === 'pss-junk' ? SHA256_WITH_RSA : kind.algorithm;
  const freshLeaf = () => leaf.make(HOSTILE_ISSUER, kind.algorithm, () => junkSignature(kind.signatureBytes));
  const issuers = () =>
    Array.from({ length: candidates }, () =>
      certificate({
        serial: randomOdd(120),
        issuer: HOSTILE_ISSUER,
        subject: HOSTILE_ISSUER,
        spki: kind.spki,
        extensions: CA_EXTENSIONS,
        algorithm: candidateAlgorithm,
        signature: () => junkSignature(shape === 'p521' ? 0 : 256),
        ...leaf.validity,
      }),
    );
  return {
    shape,
    chain: [freshLeaf(), ...issuers()],
    leafKey: leaf.key,
    freshLeaf,
    freshChain: () => [freshLeaf(), ...issuers()],
  };
}

/**
 * Valid signatures all the way, to make the search spend its whole budget: levels named
 * "Hostile Level 0..depth", `perLevel` certificates at each sharing one P-521 key, so that every
 * certificate of a level verifies every certificate of the level below: perLevel^depth paths,
 * none ending at an anchor, each step a P-521 check.
 */
function p521Tree(perLevel: number, at: Date): HostileChain {
  const DEPTH = 8;
  const levels = Array.from({ length: DEPTH + 1 }, () => p521());
  const leaf = leafMaker(at);
  const sign = (key: KeyObject) => (tbs: Buffer) => cryptoSign('sha512', tbs, key);
  const levelName = (i: number) => `Hostile Level ${i}`;
  const freshLeaf = () => leaf.make(levelName(0), ECDSA_WITH_SHA512, sign((levels[0] as { key: KeyObject }).key));
  const issuers = () =>
    levels.slice(0, DEPTH).flatMap((level, i) =>
      Array.from({ length: perLevel }, () =>
        certificate({
          serial: randomOdd(120),
          issuer: levelName(i + 1),
          subject: levelName(i),
          spki: level.spki,
          extensions: CA_EXTENSIONS,
          algorithm: ECDSA_WITH_SHA512,
          signature: sign((levels[i + 1] as { key: KeyObject }).key),
          ...leaf.validity,
        }),
      ),
    );
  return {
    shape: 'p521-tree',
    chain: [freshLeaf(), ...issuers()],
    leafKey: leaf.key,
    freshLeaf,
    freshChain: () => [freshLeaf(), ...issuers()],
  };
}
