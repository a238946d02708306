import { createHash } from 'node:crypto';
import {
  contentOf,
  cursor,
  DerError,
  encodedOf,
  integerBytes,
  readBoolean,
  readElement,
  readTime,
  smallInteger,
  TAG,
  type Element,
} from '../x509/der.js';
import { readAlgorithm, type AlgorithmIdentifier } from '../x509/certificate.js';
import { canonicalNameKey, formatDn, readName, type Name } from '../x509/name.js';
import { distributionPointNames } from '../x509/general-name.js';
import { SerialIndex } from './serial-index.js';
import { extensionValue, readExtensions, readSigned } from '../x509/signed.js';

const CRL_OID = {
  authorityKeyIdentifier: '2.5.29.35',
  crlNumber: '2.5.29.20',
  issuingDistributionPoint: '2.5.29.28',
  deltaCrlIndicator: '2.5.29.27',
  freshestCrl: '2.5.29.46',
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  certificateIssuer: '2.5.29.29',
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

/** The smallest possible entry: SEQUENCE header (2) + INTEGER (3) + UTCTime (15). */
const MIN_ENTRY_BYTES = 20;

/**
 * revokedCertificates ::= SEQUENCE OF SEQUENCE { userCertificate INTEGER, revocationDate Time,
 * crlEntryExtensions Extensions OPTIONAL }. The hot loop of large CRLs: it records where each
 * serial sits instead of copying it, decodes entry extensions only where there are some, and can
 * stop at a deadline and resume, so a large CRL can be indexed without blocking the event loop.
 */
class EntryIndexer {
  readonly index: SerialIndex;
  private pos: number;

  constructor(
    private readonly der: Buffer,
    private readonly revoked: Element | undefined,
    private readonly unusable: Set<string>,
  ) {
    this.pos = revoked?.contentStart ?? 0;
    this.index = new SerialIndex(der, revoked ? Math.ceil((revoked.end - revoked.contentStart) / MIN_ENTRY_BYTES) : 0);
  }

  /** Indexes entries until done (true) or `deadline` (a `now()` value) passes (false). */
  run(deadline = Infinity, now: () => number = monotonicNow): boolean {
    const { der, revoked, unusable, index } = this;
    if (!revoked) return true;
    const end = revoked.end;
    let pos = this.pos;
    for (let n = 0; pos < end; n++) {
      // Checking the clock every 128 entries keeps its cost out of the loop.
      if ((n & 127) === 127 && now() > deadline) break;
      const entry = readElement(der, pos, end);
      if (entry.tag !== TAG.SEQUENCE) throw new DerError('a revoked entry must be a SEQUENCE');
      const serial = readElement(der, entry.contentStart, entry.end);
      integerBytes(der, serial);
      const date = readElement(der, serial.end, entry.end);
      if (date.tag !== TAG.UTC_TIME && date.tag !== TAG.GENERALIZED_TIME)
        throw new DerError('revocationDate must be a time');
      if (date.end < entry.end) {
        const extensions = readElement(der, date.end, entry.end);
        if (extensions.end !== entry.end) throw new DerError('unexpected extra element in a revoked entry');
        for (const ext of readExtensions(der, extensions)) {
          if (ext.oid === CRL_OID.certificateIssuer)
            unusable.add('an entry names another certificate issuer (indirect CRL)');
          else if (ext.critical && ext.oid !== CRL_OID.reasonCode && ext.oid !== CRL_OID.invalidityDate) {
            unusable.add(`an entry has an unsupported critical extension ${ext.oid}`);
          }
        }
      }
      index.add(serial.contentStart, serial.end - serial.contentStart);
      pos = entry.end;
    }
    this.pos = pos;
    return pos >= end;
  }
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
function decodeCrl(der: Buffer): { crl: ParsedCrl; indexer: EntryIndexer; unusable: Set<string> } {
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
    revoked: indexer.index,
  };
  return { crl, indexer, unusable };
}

function finish(decoded: { crl: ParsedCrl; unusable: Set<string> }, id: string): ParsedCrl {
  const { crl, unusable } = decoded;
  crl.id = id;
  crl.unusableBecause = unusable.size > 0 ? [...unusable].join('; ') : undefined;
  return crl;
}

function malformed(err: unknown): MalformedCrlError {
  if (err instanceof MalformedCrlError) return err;
  return new MalformedCrlError(err instanceof DerError ? err.message : `undecodable CRL (${(err as Error).message})`);
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
    return finish(decoded, createHash('sha256').update(der).digest('hex'));
  } catch (err) {
    throw malformed(err);
  }
}

/** How long parseCrlAsync works before it lets the event loop run (ms). */
export const CRL_INDEX_SLICE_MS = 10;

/** A monotonic millisecond clock for slicing work (not a time of day: see time/clock.ts for that). */
export const monotonicNow = (): number => performance.now();

/**
 * parseCrl for large CRLs loaded while a server is serving: the entries are indexed in slices of
 * about {@link CRL_INDEX_SLICE_MS}, yielding to the event loop between them. `now` is injectable
 * so that tests can make a slice run out exactly.
 */
export async function parseCrlAsync(der: Buffer, sliceMs = CRL_INDEX_SLICE_MS, now = monotonicNow): Promise<ParsedCrl> {
  let decoded: ReturnType<typeof decodeCrl>;
  try {
    decoded = decodeCrl(der);
  } catch (err) {
    throw malformed(err);
  }
  const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
  for (;;) {
    let done: boolean;
    try {
      done = decoded.indexer.run(now() + sliceMs, now);
    } catch (err) {
      throw malformed(err);
    }
    if (done) break;
    await yieldToEventLoop();
  }
  // Hashing tens of MiB at once would block too: the cache id is computed in 1 MiB steps.
  const hash = createHash('sha256');
  for (let offset = 0; offset < der.length; offset += HASH_STEP_BYTES) {
    hash.update(der.subarray(offset, offset + HASH_STEP_BYTES));
    if (offset + HASH_STEP_BYTES < der.length) await yieldToEventLoop();
  }
  return finish(decoded, hash.digest('hex'));
}

const HASH_STEP_BYTES = 1024 * 1024;
