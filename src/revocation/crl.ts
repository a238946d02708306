import { createHash } from 'node:crypto';
import {
  contentOf,
  cursor,
  DerError,
  encodedOf,
  integerBytes,
  readBoolean,
  readTime,
  smallInteger,
  TAG,
  type Element,
} from '../x509/der.js';
import { readAlgorithm, type AlgorithmIdentifier } from '../x509/certificate.js';
import { canonicalNameKey, formatDn, readName, type Name } from '../x509/name.js';
import { readDistributionPointName, resolveDistributionPointName } from '../x509/general-name.js';
import { readReasonFlags } from '../x509/distribution-points.js';
import { SerialCollisionError, SerialIndex } from './serial-index.js';
import { EntryIndexer, monotonicNow, type EntryNotes } from './crl-entries.js';
import { extensionValue, readExtensions, readSigned } from '../x509/signed.js';
import { nextTurn, type Pause } from './pacing.js';

const CRL_OID = {
  authorityKeyIdentifier: '2.5.29.35',
  crlNumber: '2.5.29.20',
  issuingDistributionPoint: '2.5.29.28',
  deltaCrlIndicator: '2.5.29.27',
  freshestCrl: '2.5.29.46',
} as const;

/** What a CRL covers (RFC 5280 section 5.2.5, issuingDistributionPoint). */
export interface CrlScope {
  onlyUserCerts: boolean;
  onlyCaCerts: boolean;
  /**
   * The distribution point this CRL is partitioned to, if any (generalNameKey form; a
   * nameRelativeToCRLIssuer appended to this CRL's issuer name).
   */
  distributionPoint?: readonly string[];
  /** onlySomeReasons as ReasonFlags bits (bit n is 1 << n); undefined: every reason. */
  onlySomeReasons?: number;
  /** indirectCRL: entries may name other certificate issuers (RFC 5280 sections 5.2.5, 5.3.3). */
  indirect?: boolean;
}

export interface ParsedCrl {
  der: Buffer;
  id: string;
  tbs: Buffer;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Buffer;
  signatureAlgorithmsMatch: boolean;
  issuerName: Name;
  issuerKey: string;
  issuerDN: string;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  crlNumber: bigint | undefined;
  /** A delta CRL's BaseCRLNumber (RFC 5280 section 5.2.4); undefined for a complete CRL. */
  deltaBase?: bigint;
  authorityKeyId: string | undefined;
  scope: CrlScope;
  /**
   * What the decoder found unsupported (critical parts, delta, indirect CRL), if anything. Whether
   * a CRL is usable is decided by crl-usability.ts, which also reads this.
   */
  unusableBecause: string | undefined;
  /**
   * Revoked serials of the CRL issuer's own certificates, matched on exact DER content octets
   * (ParsedCertificate.serial); entries with reason removeFromCRL are in `notes` instead.
   */
  revoked: SerialIndex;
  /** The entries the index does not hold: removeFromCRL entries, other issuers' entries (indirect CRLs). */
  notes?: EntryNotes;
  /** Set on the stand-in for a large configured CRL not loaded yet or found malformed (crl-header.ts). */
  placeholder?: true;
  /**
   * Ids of certificates whose key is known to verify this CRL's signature: the CRL store checks
   * a downloaded CRL in slices before installing it, and the verifier need not check it again.
   */
  verifiedWith: Set<string>;
}

export class MalformedCrlError extends Error {}

function implicitBoolean(bytes: Uint8Array, el: Element): boolean {
  return readBoolean(bytes, { ...el, tag: TAG.BOOLEAN });
}

/** The CRL extensions certgate reads (RFC 5280 section 5.2); what makes a CRL unusable goes to `unusable`. */
interface CrlExtensions {
  crlNumber: bigint | undefined;
  deltaBase?: bigint;
  authorityKeyId: string | undefined;
  scope: CrlScope;
}

/**
 * RFC 5280 section 5.2.5: IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0],
 * onlyContainsUserCerts [1], onlyContainsCACerts [2], onlySomeReasons [3], indirectCRL [4],
 * onlyContainsAttributeCerts [5] }.
 */
function readIssuingDistributionPoint(der: Buffer, value: Element, issuerName: Name, unusable: Set<string>): CrlScope {
  const scope: CrlScope = { onlyUserCerts: false, onlyCaCerts: false };
  const idp = cursor(der, value, TAG.SEQUENCE);
  const dp = idp.optional(0xa0);
  if (dp) scope.distributionPoint = resolveDistributionPointName(readDistributionPointName(der, dp), issuerName);
  const user = idp.optional(0x81);
  const ca = idp.optional(0x82);
  if (user) scope.onlyUserCerts = implicitBoolean(der, user);
  if (ca) scope.onlyCaCerts = implicitBoolean(der, ca);
  const reasons = idp.optional(0x83);
  if (reasons) scope.onlySomeReasons = readReasonFlags(der, reasons);
  const indirect = idp.optional(0x84);
  if (indirect) scope.indirect = implicitBoolean(der, indirect);
  const attr = idp.optional(0x85);
  if (attr && implicitBoolean(der, attr)) unusable.add('it covers attribute certificates only');
  idp.end();
  // RFC 5280 section 5.2.5: at most one of the three only-contains flags may be set.
  if (scope.onlyUserCerts && scope.onlyCaCerts) unusable.add('its scope is both user and CA certificates only');
  return scope;
}

function readCrlExtensions(
  der: Buffer,
  extensionsEl: Element | undefined,
  issuerName: Name,
  unusable: Set<string>,
): CrlExtensions {
  const out: CrlExtensions = {
    crlNumber: undefined,
    authorityKeyId: undefined,
    scope: { onlyUserCerts: false, onlyCaCerts: false },
  };
  if (!extensionsEl) return out;
  const wrapper = cursor(der, extensionsEl);
  const extensions = readExtensions(der, wrapper.next(TAG.SEQUENCE));
  wrapper.end();
  for (const ext of extensions) {
    const value = extensionValue(der, ext.value);
    switch (ext.oid) {
      case CRL_OID.crlNumber: {
        // RFC 5280 section 5.2.3: CRLNumber is non-critical.
        if (ext.critical) unusable.add('its CRL number extension is marked critical');
        out.crlNumber = bigIntegerOf(der, value);
        break;
      }
      case CRL_OID.authorityKeyIdentifier: {
        const keyId = cursor(der, value, TAG.SEQUENCE).optional(0x80);
        if (keyId) out.authorityKeyId = contentOf(der, keyId).toString('hex');
        break;
      }
      case CRL_OID.issuingDistributionPoint:
        out.scope = readIssuingDistributionPoint(der, value, issuerName, unusable);
        break;
      case CRL_OID.deltaCrlIndicator:
        // RFC 5280 section 5.2.4: a delta CRL lists the changes since the complete CRL numbered
        // BaseCRLNumber; it is used only together with a complete CRL at least that new.
        if (!ext.critical) unusable.add('its delta CRL indicator is not critical');
        out.deltaBase = bigIntegerOf(der, value);
        break;
      case CRL_OID.freshestCrl:
        // RFC 5280 section 5.2.6: where the delta CRLs are; certgate uses the configured and fetched ones.
        if (ext.critical) unusable.add('its freshest CRL extension is marked critical');
        break;
      default:
        if (ext.critical) unusable.add(`it has an unsupported critical extension ${ext.oid}`);
    }
  }
  return out;
}

/** A non-negative INTEGER (CRLNumber, BaseCRLNumber) as a bigint. */
function bigIntegerOf(der: Buffer, el: Element): bigint {
  const n = integerBytes(der, el);
  if ((n[0] as number) & 0x80) throw new DerError('a CRL number must not be negative');
  return BigInt(`0x${n.toString('hex')}`);
}

/** Everything but the entries, decoded up front (cheap); the entries are indexed separately. */
export function decodeCrl(der: Buffer): { crl: ParsedCrl; indexer: EntryIndexer; unusable: Set<string> } {
  const { tbs: tbsEl, algorithm: outerAlgEl, signature } = readSigned(der);

  const tbs = cursor(der, tbsEl);
  const versionEl = tbs.optional(TAG.INTEGER);
  // RFC 5280 section 5.1.2.1: version, if present, is v2 (1).
  if (versionEl && smallInteger(der, versionEl) !== 1) throw new DerError('CRL version must be v2');
  const innerAlgEl = tbs.next(TAG.SEQUENCE);
  const issuerName = readName(der, tbs.next(TAG.SEQUENCE));
  const thisUpdate = readTime(der, tbs.next());
  const nextTag = tbs.peekTag();
  const nextUpdate =
    nextTag === TAG.UTC_TIME || nextTag === TAG.GENERALIZED_TIME ? readTime(der, tbs.next()) : undefined;
  const revokedEl = tbs.optional(TAG.SEQUENCE);
  const extensionsEl = tbs.optional(0xa0);
  tbs.end();

  const unusable = new Set<string>();
  const issuerKey = canonicalNameKey(issuerName);
  const { crlNumber, deltaBase, authorityKeyId, scope } = readCrlExtensions(der, extensionsEl, issuerName, unusable);
  // The entries are indexed after the extensions are read: an indirect CRL's entries may name
  // other issuers (RFC 5280 section 5.3.3), which the indexer keeps apart.
  const indexer = new EntryIndexer(der, revokedEl, unusable, scope.indirect === true ? issuerKey : undefined);

  // A missing CRL number is a usability rule, not a decoding one: see crl-usability.ts.

  const crl: ParsedCrl = {
    der,
    id: '',
    tbs: encodedOf(der, tbsEl),
    signatureAlgorithm: readAlgorithm(der, outerAlgEl),
    signature,
    signatureAlgorithmsMatch: encodedOf(der, outerAlgEl).equals(encodedOf(der, innerAlgEl)),
    issuerName,
    issuerKey,
    issuerDN: formatDn(issuerName),
    thisUpdate,
    nextUpdate,
    crlNumber,
    ...(deltaBase === undefined ? {} : { deltaBase }),
    authorityKeyId,
    scope,
    unusableBecause: undefined,
    verifiedWith: new Set(),
    // Set once the entries are indexed (finish()).
    revoked: SerialIndex.EMPTY,
  };
  return { crl, indexer, unusable };
}

function finish(
  decoded: { crl: ParsedCrl; unusable: Set<string>; indexer: EntryIndexer },
  id: string,
  revoked: SerialIndex,
  entryProblems: readonly string[] = [],
  notes: EntryNotes | undefined = decoded.indexer.notes,
): ParsedCrl {
  const { crl, unusable } = decoded;
  for (const problem of entryProblems) unusable.add(problem);
  crl.id = id;
  crl.revoked = revoked;
  if (notes) crl.notes = notes;
  crl.unusableBecause = unusable.size > 0 ? [...unusable].join('; ') : undefined;
  return crl;
}

function malformed(err: unknown): MalformedCrlError {
  if (err instanceof MalformedCrlError) return err;
  if (err instanceof DerError || err instanceof SerialCollisionError) return new MalformedCrlError(err.message);
  return new MalformedCrlError(`undecodable CRL (${(err as Error).message})`);
}

/**
 * Decodes one DER CRL and indexes its revoked serials in one linear pass; throws
 * MalformedCrlError on bad input. Nothing here is trusted until the signature over `tbs` has
 * been verified against the issuer (see CrlChecker).
 */
export function parseCrl(der: Buffer): ParsedCrl {
  try {
    const decoded = decodeCrl(der);
    decoded.indexer.run();
    return finish(decoded, createHash('sha256').update(der).digest('hex'), decoded.indexer.result);
  } catch (err) {
    throw malformed(err);
  }
}

/** How long parseCrlAsync works before it lets the event loop run (ms). */
export const CRL_INDEX_SLICE_MS = 10;

export { monotonicNow };

/**
 * parseCrl for large CRLs loaded while a server is serving: the entries are indexed in slices of
 * about {@link CRL_INDEX_SLICE_MS}, calling `pause` (by default, yielding to the event loop)
 * between them. `now` is injectable so that tests can make a slice run out exactly.
 */
export async function parseCrlAsync(
  der: Buffer,
  sliceMs = CRL_INDEX_SLICE_MS,
  now = monotonicNow,
  pause: Pause = nextTurn,
): Promise<ParsedCrl> {
  const { decoded, id } = await decodeInSlices(der, sliceMs, now, pause);
  return finish(decoded, id, decoded.indexer.result);
}

/** indexEntries in slices, calling `pause` between them (a paced job of the CRL worker). */
export async function indexEntriesInSlices(der: Buffer, sliceMs: number, pause: Pause): Promise<IndexedEntries> {
  const { decoded, id } = await decodeInSlices(der, sliceMs, monotonicNow, pause);
  const { slots, lengths, count } = decoded.indexer.result.tables();
  return { id, slots, lengths, count, problems: [...decoded.unusable], ...notesOf(decoded.indexer) };
}

const notesOf = (indexer: EntryIndexer): { notes?: EntryNotes } => (indexer.notes ? { notes: indexer.notes } : {});

async function decodeInSlices(
  der: Buffer,
  sliceMs: number,
  now: () => number,
  pause: Pause,
): Promise<{ decoded: ReturnType<typeof decodeCrl>; id: string }> {
  let decoded: ReturnType<typeof decodeCrl>;
  try {
    decoded = decodeCrl(der);
  } catch (err) {
    throw malformed(err);
  }
  for (;;) {
    let done: boolean;
    try {
      done = decoded.indexer.run(now() + sliceMs, now);
    } catch (err) {
      throw malformed(err);
    }
    if (done) break;
    await pause();
  }
  // Hashing tens of MiB at once would block too: the cache id is computed in 1 MiB steps.
  const hash = createHash('sha256');
  for (let offset = 0; offset < der.length; offset += HASH_STEP_BYTES) {
    hash.update(der.subarray(offset, offset + HASH_STEP_BYTES));
    if (offset + HASH_STEP_BYTES < der.length) await pause();
  }
  return { decoded, id: hash.digest('hex') };
}

const HASH_STEP_BYTES = 1024 * 1024;

/**
 * Everything of a CRL but its entries (the outer framing, the TBS fields, the CRL extensions, the
 * signature), in time independent of the number of entries: what createVerifier checks at once
 * for a large static CRL. Throws MalformedCrlError.
 */
export function decodeCrlHeader(der: Buffer): Pick<ParsedCrl, 'issuerName' | 'issuerKey' | 'issuerDN'> {
  try {
    return decodeCrl(der).crl;
  } catch (err) {
    throw malformed(err);
  }
}

/** What indexing a CRL's entries elsewhere (a worker: crl-worker.ts) hands back. */
export interface IndexedEntries {
  id: string;
  slots: Uint32Array;
  lengths: Uint16Array;
  count: number;
  /** What the entries made unusable (indirect CRL, critical entry extensions). */
  problems: string[];
  /** The entries the index does not hold (removeFromCRL, other issuers'). */
  notes?: EntryNotes;
}

/**
 * A ParsedCrl from its DER and entries indexed elsewhere: only the header is decoded here, and
 * the index's tables are checked in steps between which the event loop runs.
 */
export async function crlFromIndexedEntries(der: Buffer, entries: IndexedEntries): Promise<ParsedCrl> {
  let decoded: ReturnType<typeof decodeCrl>;
  try {
    decoded = decodeCrl(der);
  } catch (err) {
    throw malformed(err);
  }
  const index = await SerialIndex.fromTablesInSlices(der, entries.slots, entries.lengths, entries.count);
  return finish(decoded, entries.id, index, entries.problems, entries.notes);
}

/** indexEntries' result for a CRL decoded in this thread (the worker's side of crlFromIndexedEntries). */
export function indexEntries(der: Buffer): IndexedEntries {
  try {
    const decoded = decodeCrl(der);
    decoded.indexer.run();
    const { slots, lengths, count } = decoded.indexer.result.tables();
    const id = createHash('sha256').update(der).digest('hex');
    return { id, slots, lengths, count, problems: [...decoded.unusable], ...notesOf(decoded.indexer) };
  } catch (err) {
    throw malformed(err);
  }
}
