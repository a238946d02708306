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
import { distributionPointNames } from '../x509/general-name.js';
import { SerialCollisionError, SerialIndex } from './serial-index.js';
import { EntryIndexer, monotonicNow } from './crl-entries.js';
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
  /** The distribution point this CRL is partitioned to, if any (generalNameKey form). */
  distributionPoint?: string[];
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
  authorityKeyId: string | undefined;
  scope: CrlScope;
  /**
   * What the decoder found unsupported (critical parts, delta, indirect CRL), if anything. Whether
   * a CRL is usable is decided by crl-usability.ts, which also reads this.
   */
  unusableBecause: string | undefined;
  /** Revoked serials, matched on exact DER content octets (ParsedCertificate.serial). */
  revoked: SerialIndex;
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
function readCrlExtensions(
  der: Buffer,
  extensionsEl: Element | undefined,
  unusable: Set<string>,
): { crlNumber: bigint | undefined; authorityKeyId: string | undefined; scope: CrlScope } {
  let crlNumber: bigint | undefined;
  let authorityKeyId: string | undefined;
  const scope: CrlScope = { onlyUserCerts: false, onlyCaCerts: false };
  if (!extensionsEl) return { crlNumber, authorityKeyId, scope };
  const wrapper = cursor(der, extensionsEl);
  const extensions = readExtensions(der, wrapper.next(TAG.SEQUENCE));
  wrapper.end();
  for (const ext of extensions) {
    const value = extensionValue(der, ext.value);
    switch (ext.oid) {
      case CRL_OID.crlNumber: {
        // RFC 5280 section 5.2.3: CRLNumber is non-critical.
        if (ext.critical) unusable.add('its CRL number extension is marked critical');
        const n = integerBytes(der, value);
        crlNumber = BigInt(`0x${n.toString('hex')}`);
        break;
      }
      case CRL_OID.authorityKeyIdentifier: {
        const keyId = cursor(der, value, TAG.SEQUENCE).optional(0x80);
        if (keyId) authorityKeyId = contentOf(der, keyId).toString('hex');
        break;
      }
      case CRL_OID.issuingDistributionPoint: {
        // RFC 5280 section 5.2.5: the distribution point and the user/CA scope flags are
        // supported; a CRL partitioned by reason, or an indirect CRL, is not.
        const idp = cursor(der, value, TAG.SEQUENCE);
        const dp = idp.optional(0xa0);
        if (dp) scope.distributionPoint = distributionPointNames(der, dp);
        const user = idp.optional(0x81);
        const ca = idp.optional(0x82);
        if (user) scope.onlyUserCerts = implicitBoolean(der, user);
        if (ca) scope.onlyCaCerts = implicitBoolean(der, ca);
        if (idp.optional(0x83)) unusable.add('it covers only some revocation reasons');
        const indirect = idp.optional(0x84);
        if (indirect && implicitBoolean(der, indirect)) unusable.add('it is an indirect CRL');
        const attr = idp.optional(0x85);
        if (attr && implicitBoolean(der, attr)) unusable.add('it covers attribute certificates only');
        idp.end();
        break;
      }
      case CRL_OID.deltaCrlIndicator:
        // RFC 5280 section 5.2.4: a delta CRL lists only changes; it is never complete alone.
        unusable.add('it is a delta CRL');
        break;
      default:
        if (ext.critical) unusable.add(`it has an unsupported critical extension ${ext.oid}`);
    }
  }
  return { crlNumber, authorityKeyId, scope };
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
  const indexer = new EntryIndexer(der, revokedEl, unusable);

  const { crlNumber, authorityKeyId, scope } = readCrlExtensions(der, extensionsEl, unusable);

  // A missing CRL number is a usability rule, not a decoding one: see crl-usability.ts.

  const crl: ParsedCrl = {
    der,
    id: '',
    tbs: encodedOf(der, tbsEl),
    signatureAlgorithm: readAlgorithm(der, outerAlgEl),
    signature,
    signatureAlgorithmsMatch: encodedOf(der, outerAlgEl).equals(encodedOf(der, innerAlgEl)),
    issuerName,
    issuerKey: canonicalNameKey(issuerName),
    issuerDN: formatDn(issuerName),
    thisUpdate,
    nextUpdate,
    crlNumber,
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
  decoded: { crl: ParsedCrl; unusable: Set<string> },
  id: string,
  revoked: SerialIndex,
  entryProblems: readonly string[] = [],
): ParsedCrl {
  const { crl, unusable } = decoded;
  for (const problem of entryProblems) unusable.add(problem);
  crl.id = id;
  crl.revoked = revoked;
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
  return { id, slots, lengths, count, problems: [...decoded.unusable] };
}

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
  return finish(decoded, entries.id, index, entries.problems);
}

/** indexEntries' result for a CRL decoded in this thread (the worker's side of crlFromIndexedEntries). */
export function indexEntries(der: Buffer): IndexedEntries {
  try {
    const decoded = decodeCrl(der);
    decoded.indexer.run();
    const { slots, lengths, count } = decoded.indexer.result.tables();
    const id = createHash('sha256').update(der).digest('hex');
    return { id, slots, lengths, count, problems: [...decoded.unusable] };
  } catch (err) {
    throw malformed(err);
  }
}
