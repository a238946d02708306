/**
 * Deterministic fuzzing of certgate's DER reader (src/x509/der.ts) through its two entry points,
 * parseCertificate and parseCrl, and through the verifier. Seeds are real certificates and CRLs
 * (NIST PKITS and the x509-limbo client subset); mutations are byte-level (bit flips, overwrites,
 * insertions, deletions, every truncation), header-level (indefinite, non-minimal and huge
 * lengths) and structure-aware (a TLV duplicated, dropped, retagged, swapped, given edge-case
 * content, or buried under thousands of nested SEQUENCEs, with every enclosing length fixed up
 * so the damage is seen past the first length check).
 *
 * Contract under test:
 * - parseCertificate returns or throws MalformedCertificateError; parseCrl returns or throws
 *   MalformedCrlError. Nothing else, no hang.
 * - certificateInfo() never throws for a parsed certificate, and parsed dates are real dates.
 * - verifier.verify() always resolves with ok true or false; createVerifier() with a mutated
 *   CRL either works or throws CertgateError.
 *
 * The PRNG is seeded (mulberry32), so a failure names a case that reproduces exactly.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { CertgateError, createVerifier, type Verifier } from '../../src/index.js';
import { MalformedCrlError, parseCrl } from '../../src/revocation/crl.js';
import {
  certificateInfo,
  MalformedCertificateError,
  parseCertificate,
  type ParsedCertificate,
} from '../../src/x509/certificate.js';
import { FIXTURES } from './conformance/suites.js';

// ---------------------------------------------------------------------------------------------
// Conformance vectors, as copied into the repository (test/fixtures/conformance/README.md).
const conformanceDir = (kind: 'pkits' | 'x509-limbo'): string => join(FIXTURES, kind);

const PKITS = conformanceDir('pkits');
const LIMBO = JSON.parse(readFileSync(join(conformanceDir('x509-limbo'), 'limbo-client-subset.json'), 'utf8')) as {
  testcases: { id: string; peer_certificate: string | null; crls: string[] }[];
};

function pemBody(pem: string): Buffer {
  const m = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END/.exec(pem);
  if (!m) throw new Error('not PEM');
  return Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64');
}

function pkits(kind: 'certs' | 'crls', name: string): Buffer {
  const path = join(PKITS, kind, name);
  if (!existsSync(path)) throw new Error(`fuzz seed ${path} is missing`);
  return readFileSync(path);
}

function limbo(id: string, what: 'peer' | 'crl'): Buffer {
  const tc = LIMBO.testcases.find((t) => t.id === id);
  const pem = what === 'peer' ? tc?.peer_certificate : tc?.crls[0];
  if (!pem) throw new Error(`fuzz seed limbo ${id} ${what} is missing`);
  return pemBody(pem);
}

type SeedKind = 'pkits-cert' | 'limbo-cert' | 'pkits-crl' | 'limbo-crl';
interface Seed {
  kind: SeedKind;
  name: string;
  der: Buffer;
}

/** ~30 certificates: CAs and leaves, RSA/DSA/EC, long and negative serials, UTF8 and optional
 * attribute names, GeneralizedTime, policies, name constraints, CRL DPs, AIA, fractional time. */
const CERT_SEEDS: Seed[] = [
  ...[
    'TrustAnchorRootCertificate',
    'GoodCACert',
    'ValidCertificatePathTest1EE',
    'DSACACert',
    'ValidDSASignaturesTest4EE',
    'LongSerialNumberCACert',
    'NegativeSerialNumberCACert',
    'UTF8StringEncodedNamesCACert',
    'RFC3280OptionalAttributeTypesCACert',
    'ValidGeneralizedTimenotAfterDateTest8EE',
    'nameConstraintsDN1CACert',
    'UserNoticeQualifierTest19EE',
    'pathLenConstraint6CACert',
    'keyUsageCriticalcRLSignFalseCACert',
    'ValidDNSnameConstraintsTest30EE',
    'ValidURInameConstraintsTest34EE',
    'P1anyPolicyMapping1to2CACert',
    'distributionPoint1CACert',
    'ValidRFC822nameConstraintsTest21EE',
    'ValidNameChainingCapitalizationTest5EE',
  ].map((n): Seed => ({ kind: 'pkits-cert', name: n, der: pkits('certs', `${n}.crt`) })),
  ...[
    'rfc5280::ee-aia',
    'online::google.com',
    'online::cloudflare.com',
    'online::microsoft.com',
    'webpki::explicit-curve',
    'rfc5280::validity::notafter-fractional',
    'cve::cve-2024-0567',
    'rfc5280::serial::too-long',
    'webpki::forbidden-dsa-leaf',
    'rfc5280::ca-as-leaf',
  ].map((id): Seed => ({ kind: 'limbo-cert', name: id, der: limbo(id, 'peer') })),
];

const CRL_SEEDS: Seed[] = [
  ...[
    'GoodCACRL',
    'TrustAnchorRootCRL',
    'LongSerialNumberCACRL',
    'NegativeSerialNumberCACRL',
    'indirectCRLCA5CRL',
    'deltaCRLCA1CRL',
    'onlySomeReasonsCA1compromiseCRL',
    'UnknownCRLEntryExtensionCACRL',
  ].map((n): Seed => ({ kind: 'pkits-crl', name: n, der: pkits('crls', `${n}.crl`) })),
  ...['crl::revoked-certificate-with-crl', 'crl::crlnumber-critical'].map(
    (id): Seed => ({ kind: 'limbo-crl', name: id, der: limbo(id, 'crl') }),
  ),
];

// ---------------------------------------------------------------------------------------------
// PRNG and a small independent DER tree (for well-formed seeds only).

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
  return Buffer.from([0x80 | octets.length, ...octets]);
}

const tlv = (tag: number, content: Buffer, length: Buffer = derLength(content.length)) =>
  Buffer.concat([Buffer.from([tag]), length, content]);

/** A TLV; constructed ones (and OCTET/BIT STRINGs that wrap DER, as extension values do) have kids. */
interface Node {
  tag: number;
  content: Buffer;
  kids?: Node[];
  /** Content prefix kept before the kids (the unused-bits octet of a wrapping BIT STRING). */
  prefix?: Buffer;
  /** Overrides the encoded length octets (a lie, for header mutations). */
  length?: Buffer;
}

function parseNodes(buf: Buffer): Node[] | undefined {
  const out: Node[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 2 > buf.length) return undefined;
    const tag = buf[pos] as number;
    const first = buf[pos + 1] as number;
    let len = first;
    let hdr = 2;
    if (first >= 0x80) {
      const n = first & 0x7f;
      if (n === 0 || n > 4 || pos + 2 + n > buf.length) return undefined;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (buf[pos + 2 + i] as number);
      hdr = 2 + n;
    }
    if (pos + hdr + len > buf.length) return undefined;
    const content = buf.subarray(pos + hdr, pos + hdr + len);
    const node: Node = { tag, content };
    if (tag & 0x20) {
      const kids = parseNodes(content);
      if (!kids) return undefined;
      node.kids = kids;
    } else if (tag === 0x04 && content.length > 1) {
      const kids = parseNodes(content);
      if (kids && kids.length === 1) node.kids = kids;
    } else if (tag === 0x03 && content.length > 2 && content[0] === 0) {
      const kids = parseNodes(content.subarray(1));
      if (kids && kids.length === 1) {
        node.kids = kids;
        node.prefix = content.subarray(0, 1);
      }
    }
    out.push(node);
    pos += hdr + len;
  }
  return out;
}

function encode(node: Node): Buffer {
  const content = node.kids ? Buffer.concat([node.prefix ?? Buffer.alloc(0), ...node.kids.map(encode)]) : node.content;
  return tlv(node.tag, content, node.length ?? derLength(content.length));
}

/** Every node with its parent's kid list and index, in document order. */
function flatten(roots: Node[]): { node: Node; siblings: Node[]; index: number }[] {
  const out: { node: Node; siblings: Node[]; index: number }[] = [];
  const walk = (list: Node[]) =>
    list.forEach((node, index) => {
      out.push({ node, siblings: list, index });
      if (node.kids) walk(node.kids);
    });
  walk(roots);
  return out;
}

function cloneTree(node: Node): Node {
  return { ...node, kids: node.kids?.map(cloneTree) };
}

// ---------------------------------------------------------------------------------------------
// Mutations

const INTERESTING_TAGS = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1c, 0x1e, 0x1f, 0x30, 0x31, 0x80,
  0x81, 0x82, 0x86, 0x87, 0xa0, 0xa3, 0xff,
];

const ascii = (s: string) => Buffer.from(s, 'latin1');
/** Edge-case TLVs that replace a node wholesale. */
const EDGE_VALUES: Buffer[] = [
  // INTEGER: empty, minimal/non-minimal, negative, 21 octets, 2^53 and beyond.
  Buffer.from('0200', 'hex'),
  Buffer.from('020100', 'hex'),
  Buffer.from('02020001', 'hex'),
  Buffer.from('0202ff80', 'hex'),
  Buffer.from('020180', 'hex'),
  Buffer.from('020720000000000000', 'hex'),
  Buffer.from('0209010000000000000000', 'hex'),
  tlv(0x02, Buffer.alloc(21, 0x7f)),
  // OBJECT IDENTIFIER: empty, non-minimal arc, truncated arc, huge arcs, single arc.
  Buffer.from('0600', 'hex'),
  Buffer.from('06028001', 'hex'),
  Buffer.from('060181', 'hex'),
  Buffer.from('060aff ff ff ff ff ff ff ff ff 7f'.replace(/ /g, ''), 'hex'),
  Buffer.from('06078fffffffffff7f', 'hex'),
  Buffer.from('06012a', 'hex'),
  Buffer.from('06017f', 'hex'),
  // Times: seconds 60, Feb 30, hour 24, fractions, offsets, short forms, years < 100.
  tlv(0x17, ascii('991231235960Z')),
  tlv(0x17, ascii('230230000000Z')),
  tlv(0x17, ascii('230101240000Z')),
  tlv(0x17, ascii('2301010000Z')),
  tlv(0x17, ascii('230101000000+0100')),
  tlv(0x17, ascii('23010100000Z')),
  tlv(0x17, ascii('-30101000000Z')),
  tlv(0x18, ascii('20230101000000.000Z')),
  tlv(0x18, ascii('20230101000000.Z')),
  tlv(0x18, ascii('20230101000000.123456789123456789Z')),
  tlv(0x18, ascii('00000101000000Z')),
  tlv(0x18, ascii('99991231235959Z')),
  tlv(0x18, ascii('2023010100Z')),
  tlv(0x18, ascii('+0230101000000Z')),
  tlv(0x18, ascii(' 0230101000000Z')),
  // Strings: invalid UTF-8, overlong, surrogates, odd BMP, UniversalString out of range.
  tlv(0x0c, Buffer.from('c328', 'hex')),
  tlv(0x0c, Buffer.from('c0af', 'hex')),
  tlv(0x0c, Buffer.from('eda080', 'hex')),
  tlv(0x0c, Buffer.from('f4908080', 'hex')),
  tlv(0x1e, Buffer.from('00', 'hex')),
  tlv(0x1e, Buffer.from('d800', 'hex')),
  tlv(0x1c, Buffer.from('ffffffff', 'hex')),
  tlv(0x1c, Buffer.from('00110000', 'hex')),
  tlv(0x1c, Buffer.from('0000d800', 'hex')),
  tlv(0x1c, Buffer.from('000041', 'hex')),
  tlv(0x13, Buffer.from('ff00', 'hex')),
  tlv(0x16, Buffer.from('80', 'hex')),
  tlv(0x14, Buffer.from('ff00ff', 'hex')),
  // BOOLEAN, NULL, BIT STRING edge cases.
  Buffer.from('010101', 'hex'),
  Buffer.from('0100', 'hex'),
  Buffer.from('0102ffff', 'hex'),
  Buffer.from('050100', 'hex'),
  Buffer.from('0300', 'hex'),
  Buffer.from('030108', 'hex'),
  Buffer.from('030107', 'hex'),
  Buffer.from('030207ff', 'hex'),
  Buffer.from('0303000000', 'hex'),
  // SAN IP addresses of odd lengths, empty names, empty SEQUENCE/SET.
  Buffer.from('8700', 'hex'),
  Buffer.from('87050102030405', 'hex'),
  tlv(0x87, Buffer.alloc(8, 0xff)),
  tlv(0x87, Buffer.alloc(32, 0x01)),
  tlv(0x82, Buffer.from('ff', 'hex')),
  Buffer.from('3000', 'hex'),
  Buffer.from('3100', 'hex'),
  Buffer.from('31023000', 'hex'),
  Buffer.from('a000', 'hex'),
  Buffer.from('a300', 'hex'),
  Buffer.from('a3023000', 'hex'),
  Buffer.from('0000', 'hex'),
];

/** `depth` nested definite-length SEQUENCEs around `inner`, built outside-in in one pass. */
function nestedSequences(depth: number, inner: Buffer = Buffer.from('0500', 'hex')): Buffer {
  const headers: Buffer[] = new Array(depth);
  let size = inner.length;
  for (let i = depth - 1; i >= 0; i--) {
    headers[i] = Buffer.concat([Buffer.from([0x30]), derLength(size)]);
    size += (headers[i] as Buffer).length;
  }
  return Buffer.concat([...headers, inner]);
}

const DEEP_10K = nestedSequences(10_000);

type Mutator = (der: Buffer, rng: Rng) => Buffer;

const BYTE_MUTATORS: Record<string, Mutator> = {
  'flip-bits': (der, rng) => {
    const m = Buffer.from(der);
    for (let i = 1 + rng.int(8); i > 0; i--) {
      const at = rng.int(m.length);
      m[at] = (m[at] as number) ^ (1 << rng.int(8));
    }
    return m;
  },
  'overwrite-bytes': (der, rng) => {
    const m = Buffer.from(der);
    for (let i = 1 + rng.int(4); i > 0; i--)
      m[rng.int(m.length)] = rng.pick([0x00, 0x7f, 0x80, 0x81, 0x84, 0xff, rng.int(256)]);
    return m;
  },
  'insert-bytes': (der, rng) => {
    const at = rng.int(der.length + 1);
    return Buffer.concat([der.subarray(0, at), rng.bytes(1 + rng.int(16)), der.subarray(at)]);
  },
  'delete-bytes': (der, rng) => {
    const at = rng.int(der.length);
    return Buffer.concat([der.subarray(0, at), der.subarray(Math.min(der.length, at + 1 + rng.int(32)))]);
  },
  'truncate-random': (der, rng) => der.subarray(0, rng.int(der.length)),
  'append-bytes': (der, rng) => Buffer.concat([der, rng.bytes(1 + rng.int(8))]),
};

/** Replaces the length octets of a random TLV header in place (no fix-up of the parents). */
const headerAttack: Mutator = (der, rng) => {
  // parseNodes keeps views into `der`, so each node's header offset follows from its content's
  // (seeds are DER, so their length octets are the minimal ones derLength produces).
  const offsets = flatten(parseNodes(der) ?? []).map(
    ({ node }) => node.content.byteOffset - der.byteOffset - derLength(node.content.length).length - 1,
  );
  const at = rng.pick(offsets);
  const lenStart = at + 1;
  const first = der[lenStart] as number;
  const lenEnd = lenStart + (first < 0x80 ? 1 : 1 + (first & 0x7f));
  const replacement = rng.pick([
    Buffer.from([0x80]),
    Buffer.from([0x84, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0x84, 0x7f, 0xff, 0xff, 0xff]),
    Buffer.from([0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0x85, 0x01, 0x00, 0x00, 0x00, 0x00]),
    Buffer.from([0x81, 0x05]),
    Buffer.from([0x82, 0x00, 0x05]),
    Buffer.from([0xff]),
    Buffer.from([0x00]),
    derLength(Math.max(0, der.length - lenEnd + 1 + rng.int(3))),
  ]);
  return Buffer.concat([der.subarray(0, lenStart), replacement, der.subarray(lenEnd)]);
};

/** Structure-aware: mutate one node, re-encode every enclosing length. */
const TREE_MUTATORS: Record<string, (roots: Node[], rng: Rng) => void> = {
  'dup-tlv': (roots, rng) => {
    const t = rng.pick(flatten(roots));
    t.siblings.splice(t.index, 0, cloneTree(t.node));
  },
  'drop-tlv': (roots, rng) => {
    const t = rng.pick(flatten(roots).slice(1));
    t.siblings.splice(t.index, 1);
  },
  'swap-tag': (roots, rng) => {
    rng.pick(flatten(roots)).node.tag = rng.pick(INTERESTING_TAGS);
  },
  'flip-constructed-bit': (roots, rng) => {
    const t = rng.pick(flatten(roots));
    t.node.tag ^= 0x20;
    if (!(t.node.tag & 0x20) && t.node.kids) {
      t.node.content = Buffer.concat([t.node.prefix ?? Buffer.alloc(0), ...t.node.kids.map(encode)]);
      t.node.kids = undefined;
    }
  },
  'swap-siblings': (roots, rng) => {
    const withKids = flatten(roots).filter((t) => (t.node.kids?.length ?? 0) >= 2);
    if (withKids.length === 0) return;
    const kids = rng.pick(withKids).node.kids as Node[];
    const i = rng.int(kids.length);
    const j = rng.int(kids.length);
    [kids[i], kids[j]] = [kids[j] as Node, kids[i] as Node];
  },
  'edge-value': (roots, rng) => {
    const t = rng.pick(flatten(roots).slice(1));
    const [replacement] = parseNodes(rng.pick(EDGE_VALUES)) as [Node];
    t.siblings[t.index] = replacement;
  },
  'random-content': (roots, rng) => {
    const t = rng.pick(flatten(roots).slice(1));
    t.node.kids = undefined;
    t.node.content = rng.bytes(rng.int(40));
  },
  'empty-content': (roots, rng) => {
    const t = rng.pick(flatten(roots).slice(1));
    t.node.kids = undefined;
    t.node.content = Buffer.alloc(0);
  },
  'deep-nesting': (roots, rng) => {
    const t = rng.pick(flatten(roots).slice(1));
    t.node.kids = undefined;
    t.node.tag = 0x30;
    t.node.content = DEEP_10K;
  },
  'lie-about-length': (roots, rng) => {
    const t = rng.pick(flatten(roots).slice(1));
    const n = t.node.kids ? encode(t.node).length : t.node.content.length;
    t.node.length = rng.pick([
      derLength(n + 1),
      derLength(Math.max(0, n - 1)),
      Buffer.from([0x84, 0xff, 0xff, 0xff, 0xfe]),
      Buffer.from([0x84, 0x00, 0x00, 0x00, n & 0xff]),
      Buffer.from([0x80]),
    ]);
  },
};

interface Case {
  kind: SeedKind | 'special';
  seed: string;
  mutation: string;
  input: Buffer;
}

function mutate(seed: Seed, rng: Rng, i: number): Case {
  const roll = rng.int(100);
  let mutation: string;
  let input: Buffer;
  if (roll < 40) {
    mutation = rng.pick(Object.keys(BYTE_MUTATORS));
    input = (BYTE_MUTATORS[mutation] as Mutator)(seed.der, rng);
  } else if (roll < 50) {
    mutation = 'header-attack';
    input = headerAttack(seed.der, rng);
  } else {
    mutation = rng.pick(Object.keys(TREE_MUTATORS));
    const roots = parseNodes(seed.der) as Node[];
    (TREE_MUTATORS[mutation] as (roots: Node[], rng: Rng) => void)(roots, rng);
    input = Buffer.concat(roots.map(encode));
    // A second, byte-level hit now and then, to combine well-formed damage with malformation.
    if (i % 7 === 0) input = (BYTE_MUTATORS['flip-bits'] as Mutator)(input, rng);
  }
  return { kind: seed.kind, seed: seed.name, mutation, input };
}

/** Inputs that are not mutations of a seed: empty, tiny, enormous declared or actual nesting. */
function specialCases(): Case[] {
  const special = (name: string, input: Buffer): Case => ({ kind: 'special', seed: 'none', mutation: name, input });
  const indefinite100k = Buffer.alloc(200_000);
  for (let i = 0; i < indefinite100k.length; i += 2) {
    indefinite100k[i] = 0x30;
    indefinite100k[i + 1] = 0x80;
  }
  return [
    special('empty', Buffer.alloc(0)),
    special('one-byte', Buffer.from([0x30])),
    special('empty-sequence', Buffer.from([0x30, 0x00])),
    special('null', Buffer.from([0x05, 0x00])),
    special('100k-nested-indefinite', indefinite100k),
    special('100k-nested-definite', nestedSequences(100_000)),
    special(
      '10k-nested-in-tbs',
      Buffer.concat([
        Buffer.from([0x30]),
        derLength(DEEP_10K.length + 8),
        DEEP_10K,
        Buffer.from('3000030100', 'hex'),
        Buffer.from('300003', 'hex'),
      ]),
    ),
    special('declared-4GiB', Buffer.concat([Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(64)])),
    special('declared-2GiB', Buffer.concat([Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]), Buffer.alloc(64)])),
    special('long-form-5-octets', Buffer.from([0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x02, 0x05, 0x00])),
    special('high-tag', Buffer.from([0x3f, 0x81, 0x01, 0x00])),
    special('zeros-1MiB', Buffer.alloc(1 << 20)),
    special('ff-1KiB', Buffer.alloc(1024, 0xff)),
    special('sequence-of-1MiB-nulls', tlv(0x30, Buffer.alloc(1 << 20).fill(Buffer.from([0x05, 0x00])))),
  ];
}

// ---------------------------------------------------------------------------------------------
// The oracle

interface Tally {
  accepted: number;
  rejected: number;
}

interface Outcome {
  failures: string[];
  byKind: Map<string, Tally>;
  byMutation: Map<string, Tally>;
  slowest: { ms: number; label: string };
  cases: number;
}

const describeCase = (c: Case, n: number) =>
  `#${n} ${c.kind}:${c.seed} ${c.mutation} (${c.input.length} bytes, sha256 ${createHash('sha256').update(c.input).digest('hex').slice(0, 16)})`;

function tally(map: Map<string, Tally>, key: string, accepted: boolean): void {
  const t = map.get(key) ?? { accepted: 0, rejected: 0 };
  if (accepted) t.accepted++;
  else t.rejected++;
  map.set(key, t);
}

const validDate = (d: unknown) => d instanceof Date && Number.isFinite(d.getTime());

/** Runs parseCertificate / parseCrl on every case; collects contract violations. */
function run(cases: readonly Case[], what: 'certificate' | 'crl', accepted: Buffer[]): Outcome {
  const out: Outcome = {
    failures: [],
    byKind: new Map(),
    byMutation: new Map(),
    slowest: { ms: 0, label: '' },
    cases: cases.length,
  };
  cases.forEach((c, n) => {
    const started = performance.now();
    let ok = false;
    try {
      if (what === 'certificate') {
        const cert = parseCertificate(c.input);
        ok = true;
        const info = certificateInfo(cert);
        if (!validDate(cert.notBefore) || !validDate(cert.notAfter) || !validDate(info.notBefore))
          throw new Error('parsed an invalid Date');
        if (!/^[0-9A-F]+$/.test(cert.serialNumber)) throw new Error(`odd serialNumber ${cert.serialNumber}`);
        void info.subjectDN.length;
        accepted.push(c.input);
      } else {
        const crl = parseCrl(c.input);
        ok = true;
        if (!validDate(crl.thisUpdate) || (crl.nextUpdate !== undefined && !validDate(crl.nextUpdate)))
          throw new Error('parsed an invalid Date');
        accepted.push(c.input);
      }
    } catch (err) {
      const expected = what === 'certificate' ? MalformedCertificateError : MalformedCrlError;
      if (ok || !(err instanceof expected)) {
        out.failures.push(
          `${describeCase(c, n)}: ${ok ? 'after a successful parse, ' : ''}${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`,
        );
      }
    }
    const ms = performance.now() - started;
    if (ms > out.slowest.ms) out.slowest = { ms, label: describeCase(c, n) };
    tally(out.byKind, c.kind, ok);
    tally(out.byMutation, c.mutation, ok);
  });
  return out;
}

function report(title: string, o: Outcome): string {
  const rows = (m: Map<string, Tally>) =>
    [...m.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, t]) => `    ${k.padEnd(26)} ${String(t.accepted).padStart(7)} ${String(t.rejected).padStart(9)}`);
  return [
    `${title}: ${o.cases} cases, ${o.failures.length} contract violations, slowest ${o.slowest.ms.toFixed(1)} ms (${o.slowest.label})`,
    `    ${'seed kind'.padEnd(26)} accepted  rejected`,
    ...rows(o.byKind),
    `    ${'mutation'.padEnd(26)} accepted  rejected`,
    ...rows(o.byMutation),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

const PER_CERT_SEED = 450;
const PER_CRL_SEED = 220;
const TRUNCATED_CERT_SEEDS = ['ValidCertificatePathTest1EE', 'online::cloudflare.com', 'UserNoticeQualifierTest19EE'];
const TRUNCATED_CRL_SEEDS = ['GoodCACRL', 'crl::revoked-certificate-with-crl'];

function certCases(): Case[] {
  const cases: Case[] = [];
  CERT_SEEDS.forEach((seed, s) => {
    const rng = new Rng(0x5eed0000 + s);
    for (let i = 0; i < PER_CERT_SEED; i++) cases.push(mutate(seed, rng, i));
    if (TRUNCATED_CERT_SEEDS.includes(seed.name)) {
      for (let len = 0; len < seed.der.length; len++)
        cases.push({
          kind: seed.kind,
          seed: seed.name,
          mutation: 'truncate-every-length',
          input: seed.der.subarray(0, len),
        });
    }
  });
  return cases;
}

function crlCases(): Case[] {
  const cases: Case[] = [];
  CRL_SEEDS.forEach((seed, s) => {
    const rng = new Rng(0xc41c0000 + s);
    for (let i = 0; i < PER_CRL_SEED; i++) cases.push(mutate(seed, rng, i));
    if (TRUNCATED_CRL_SEEDS.includes(seed.name)) {
      for (let len = 0; len < seed.der.length; len++)
        cases.push({
          kind: seed.kind,
          seed: seed.name,
          mutation: 'truncate-every-length',
          input: seed.der.subarray(0, len),
        });
    }
  });
  return cases;
}

const PKITS_AT = new Date('2020-06-01T00:00:00Z');

let certCaseCache: Case[] | undefined;
/** All certificate cases, built once (the verify test reuses them). */
const allCertCases = () => (certCaseCache ??= [...certCases(), ...specialCases()]);

describe('DER fuzz', { timeout: 60_000 }, () => {
  const acceptedCerts: Buffer[] = [];

  it('every seed parses unmutated, and the tree re-encoder reproduces it byte for byte', () => {
    for (const seed of CERT_SEEDS) {
      expect(() => parseCertificate(seed.der), seed.name).not.toThrow();
      expect(Buffer.concat((parseNodes(seed.der) as Node[]).map(encode)).equals(seed.der), seed.name).toBe(true);
    }
    for (const seed of CRL_SEEDS) {
      expect(() => parseCrl(seed.der), seed.name).not.toThrow();
      expect(Buffer.concat((parseNodes(seed.der) as Node[]).map(encode)).equals(seed.der), seed.name).toBe(true);
    }
    expect(CERT_SEEDS.length).toBe(30);
    expect(CRL_SEEDS.length).toBe(10);
    for (const edge of EDGE_VALUES) expect(parseNodes(edge)?.length, edge.toString('hex')).toBe(1);
  });

  it('parseCertificate returns or throws MalformedCertificateError, and certificateInfo works, on every mutant', () => {
    const o = run(allCertCases(), 'certificate', acceptedCerts);
    console.log(report('parseCertificate', o));
    expect(o.cases).toBeGreaterThan(14_000);
    expect(o.failures.slice(0, 20)).toEqual([]);
    // "Never hang": no single input may take long (the deep-nesting inputs included).
    expect(o.slowest.ms).toBeLessThan(250);
  });

  it('parseCrl returns or throws MalformedCrlError on every mutant', () => {
    const cases = [...crlCases(), ...specialCases()];
    const accepted: Buffer[] = [];
    const o = run(cases, 'crl', accepted);
    console.log(report('parseCrl', o));
    expect(o.cases).toBeGreaterThan(2_500);
    expect(o.failures.slice(0, 20)).toEqual([]);
    expect(o.slowest.ms).toBeLessThan(250);
  });

  it('verify() resolves with ok true/false for mutants, never rejects', async () => {
    const root = pkits('certs', 'TrustAnchorRootCertificate.crt');
    const goodCa = pkits('certs', 'GoodCACert.crt');
    const leaf = pkits('certs', 'ValidCertificatePathTest1EE.crt');
    const verifier = createVerifier({
      ca: root,
      intermediates: [goodCa],
      crl: [pkits('crls', 'TrustAnchorRootCRL.crl'), pkits('crls', 'GoodCACRL.crl')],
      purpose: false,
    });
    // The setup is real: the unmutated leaf verifies.
    expect(await verifier.verify(leaf, { at: PKITS_AT })).toMatchObject({ ok: true });

    // Every mutant of the leaf and of GoodCACert (presented as chain [leaf, mutant]), plus a
    // deterministic sample of the rest: about 3,000 verifications.
    const leafMutants = allCertCases().filter(
      (c) => c.seed === 'ValidCertificatePathTest1EE' || c.seed === 'GoodCACert' || c.kind === 'special',
    );
    const others = allCertCases()
      .filter((c) => !leafMutants.includes(c))
      .filter((_c, i) => i % 8 === 0);
    const failures: string[] = [];
    const results = { ok: 0, rejected: 0, codes: new Map<string, number>() };
    const seedBytes = new Set(CERT_SEEDS.map((s) => s.der.toString('hex')));
    const check = async (v: Verifier, chain: Buffer | Buffer[], label: string) => {
      try {
        const r = await v.verify(chain, { at: PKITS_AT });
        if (r.ok !== true && r.ok !== false) throw new Error(`result without a boolean ok: ${JSON.stringify(r)}`);
        // A changed leaf must never verify: every byte of it is signed, or is the signature, and
        // DER has one encoding. (As [leaf, mutated CA] the configured GoodCACert may still serve.)
        if (r.ok && !Array.isArray(chain) && !seedBytes.has(chain.toString('hex')))
          throw new Error('a mutated certificate verified');
        if (r.ok) results.ok++;
        else {
          results.rejected++;
          results.codes.set(r.code, (results.codes.get(r.code) ?? 0) + 1);
          if (typeof r.message !== 'string') throw new Error('failure without a message');
        }
      } catch (err) {
        failures.push(`${label}: verify rejected: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      }
    };
    let n = 0;
    for (const c of [...leafMutants, ...others]) {
      await check(verifier, c.input, describeCase(c, n));
      if (c.seed === 'GoodCACert') await check(verifier, [leaf, c.input], `${describeCase(c, n)} as intermediate`);
      n++;
    }
    console.log(
      `verify: ${results.ok + results.rejected + failures.length} calls, ok:true ${results.ok}, ok:false ${results.rejected} (${[...results.codes.entries()].map(([k, v]) => `${k} ${v}`).join(', ')}), rejected promises ${failures.length}`,
    );
    expect(results.ok + results.rejected + failures.length).toBeGreaterThan(2_500);
    expect(failures.slice(0, 20)).toEqual([]);
  });

  it('createVerifier() with a mutated CRL works or throws CertgateError; its verify() resolves', async () => {
    const root = pkits('certs', 'TrustAnchorRootCertificate.crt');
    const goodCa = pkits('certs', 'GoodCACert.crt');
    const leaf = pkits('certs', 'ValidCertificatePathTest1EE.crt');
    const failures: string[] = [];
    let built = 0;
    let refused = 0;
    const crlSeed = CRL_SEEDS.find((s) => s.name === 'GoodCACRL') as Seed;
    const rng = new Rng(0xc0ffee);
    for (let i = 0; i < 300; i++) {
      const c = mutate(crlSeed, rng, i);
      let verifier: Verifier;
      try {
        verifier = createVerifier({ ca: root, intermediates: [goodCa], crl: [c.input], purpose: false });
        built++;
      } catch (err) {
        if (!(err instanceof CertgateError))
          failures.push(
            `${describeCase(c, i)}: createVerifier threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`,
          );
        else refused++;
        continue;
      }
      try {
        const r = await verifier.verify(leaf, { at: PKITS_AT });
        if (typeof r.ok !== 'boolean') throw new Error('no boolean ok');
      } catch (err) {
        failures.push(`${describeCase(c, i)}: verify rejected: ${(err as Error)?.message}`);
      }
    }
    console.log(
      `createVerifier with mutated CRLs: ${built} built, ${refused} refused with CertgateError, ${failures.length} violations`,
    );
    expect(failures.slice(0, 20)).toEqual([]);
  });
});

describe('DER fuzz: differential on accepted mutants', () => {
  /**
   * Mutants certgate accepts are decoded by @peculiar/asn1-schema too; where it also accepts, the
   * signed bytes, signature, serial, dates, version and name attribute types must agree. Mutants
   * only certgate accepts are counted (asn1js refuses, e.g., 10,000-deep nesting inside values
   * certgate treats as opaque: unknown extensions, algorithm parameters, unique identifiers).
   */
  it('asn1-schema agrees with certgate on every mutant both accept', { timeout: 60_000 }, () => {
    const diffs: string[] = [];
    let both = 0;
    const asn1Rejects = new Map<string, number>();
    const hex = (b: ArrayBuffer | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);
    const types = (name: readonly (readonly { type: string }[])[]) =>
      name.map((r) => r.map((a) => a.type).join('+')).join(',');
    allCertCases().forEach((c, n) => {
      let cert: ParsedCertificate;
      let asn: Certificate;
      try {
        cert = parseCertificate(c.input);
      } catch {
        return;
      }
      try {
        asn = AsnConvert.parse(c.input, Certificate);
      } catch (err) {
        const reason = (err as Error).message.replace(/\.( .*)?$/s, '').slice(0, 70);
        asn1Rejects.set(reason, (asn1Rejects.get(reason) ?? 0) + 1);
        return;
      }
      both++;
      const tbs = asn.tbsCertificate;
      const checks: [string, unknown, unknown][] = [
        ['tbs', cert.tbs.toString('hex'), hex(asn.tbsCertificateRaw)],
        ['signature', cert.signature.toString('hex'), hex(asn.signatureValue)],
        [
          'serialNumber',
          cert.serialNumber,
          Buffer.from(tbs.serialNumber)
            .toString('hex')
            .toUpperCase()
            .replace(/^(00)+(?=..)/, ''),
        ],
        ['notBefore', cert.notBefore.getTime(), tbs.validity.notBefore.getTime().getTime()],
        ['notAfter', cert.notAfter.getTime(), tbs.validity.notAfter.getTime().getTime()],
        ['version', cert.version, tbs.version + 1],
        ['subjectTypes', types(cert.subjectName), types(tbs.subject)],
        ['issuerTypes', types(cert.issuerName), types(tbs.issuer)],
        ['signatureAlgorithm', cert.signatureAlgorithm.algorithm, asn.signatureAlgorithm.algorithm],
      ];
      for (const [field, ours, theirs] of checks) {
        if (ours !== theirs)
          diffs.push(
            `${describeCase(c, n)} ${field}: certgate=${String(ours).slice(0, 80)} asn1-schema=${String(theirs).slice(0, 80)}`,
          );
      }
    });
    const onlyCertgate = [...asn1Rejects.values()].reduce((a, b) => a + b, 0);
    console.log(
      [
        `accepted mutants: ${both} also accepted by asn1-schema (${diffs.length} field diffs), ${onlyCertgate} accepted by certgate only; asn1-schema's reasons:`,
        ...[...asn1Rejects.entries()].sort((a, b) => b[1] - a[1]).map(([r, k]) => `    ${String(k).padStart(4)}  ${r}`),
      ].join('\n'),
    );
    expect(both).toBeGreaterThan(2_000);
    expect(diffs.slice(0, 20)).toEqual([]);
  });
});

describe('DER fuzz: inputs with very many elements', () => {
  /** An OID under 1.2 with one more arc, `n`: distinct, short extension identifiers. */
  function oidUnder12(n: number): Buffer {
    const groups = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) groups.unshift(0x80 | (v & 0x7f));
    return tlv(0x06, Buffer.from([0x2a, ...groups]));
  }
  /** Extensions ::= SEQUENCE OF `count` distinct, non-critical, empty-valued extensions. */
  const manyExtensions = (count: number) =>
    tlv(
      0x30,
      Buffer.concat(
        Array.from({ length: count }, (_v, i) => tlv(0x30, Buffer.concat([oidUnder12(i), tlv(0x04, Buffer.alloc(0))]))),
      ),
    );

  // Timing is kept out of npm test (it flakes under parallel load); bench/parse-cost.ts measures
  // decode cost. These cases once took seconds (a quadratic duplicate check) and now decode.
  it('parseCertificate decodes a certificate with 10,000 extensions', () => {
    const template = pkits('certs', 'ValidCertificatePathTest1EE.crt');
    const build = (count: number) => {
      const roots = parseNodes(template) as Node[];
      const ext = roots[0]?.kids?.[0]?.kids?.find((k) => k.tag === 0xa3) as Node;
      ext.kids = parseNodes(manyExtensions(count));
      return Buffer.concat(roots.map(encode));
    };
    const parsed = parseCertificate(build(10_000));
    expect(parsed.subjectDN).toBe(parseCertificate(template).subjectDN);
    expect(parsed.unsupportedCriticalExtensions).toEqual([]);
  });

  // Regression: readExtensions() once checked duplicates with a linear scan per extension.
  it('parseCrl decodes a CRL entry with 10,000 extensions', () => {
    const utc = tlv(0x17, Buffer.from('100101083000Z', 'latin1'));
    const sigAlg = Buffer.from('300a06082a8648ce3d040302', 'hex');
    const build = (count: number) => {
      const entry = tlv(0x30, Buffer.concat([Buffer.from('020101', 'hex'), utc, manyExtensions(count)]));
      const tbs = tlv(
        0x30,
        Buffer.concat([Buffer.from('020101', 'hex'), sigAlg, Buffer.from('3000', 'hex'), utc, tlv(0x30, entry)]),
      );
      return tlv(0x30, Buffer.concat([tbs, sigAlg, Buffer.from('030100', 'hex')]));
    };
    expect(parseCrl(build(10_000)).revoked.size).toBe(1);
  });
});
