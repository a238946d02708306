/**
 * The entries of a CRL (revokedCertificates), indexed by serial: the hot loop of large CRLs, apart
 * from crl.ts (which decodes the rest) so that each stays one concern.
 */
import { contentOf, DerError, integerBytes, readElement, TAG, type Element } from '../x509/der.js';
import { readGeneralNames } from '../x509/general-name.js';
import { canonicalNameKey } from '../x509/name.js';
import { extensionValue, readExtensions } from '../x509/signed.js';
import { SerialIndex } from './serial-index.js';

/** A monotonic millisecond clock for slicing work (not a time of day: see time/clock.ts for that). */
export const monotonicNow = (): number => performance.now();

/** Entry extensions (RFC 5280 section 5.3). */
const ENTRY_OID = {
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  certificateIssuer: '2.5.29.29',
} as const;

/** CRLReason removeFromCRL (RFC 5280 section 5.3.1): only in delta CRLs, undoing a hold. */
const REMOVE_FROM_CRL = 8;
const TAG_ENUMERATED = 0x0a;

/**
 * At most this many certificate issuers in one indirect CRL (RFC 5280 section 5.3.3): a real one
 * serves a few CAs. Each issuer costs a Map, about 290 bytes an entry where every entry names a new
 * issuer against 16 in the serial index (bench/crl-indirect-cost.ts), and a CRL fetched from a
 * distribution point is indexed before its signature is checked: past the cap, the CRL is
 * unusable and no more other issuers' entries are kept.
 */
export const MAX_INDIRECT_CRL_ISSUERS = 1000;
/** removeFromCRL entries kept per CRL; past this the CRL is unusable (see EntryIndexer.note). */
export const MAX_REMOVED_ENTRIES = 100_000;

/** The largest certificateIssuer value decoded (a real issuer name is a few hundred bytes). */
export const MAX_CERTIFICATE_ISSUER_BYTES = 4096;

const TOO_MANY_ISSUERS = `it names more than ${MAX_INDIRECT_CRL_ISSUERS} certificate issuers`;

/** The issuer of entries whose certificateIssuer was not decoded (the CRL is unusable by then). */
const UNDECODED_ISSUER = 'undecoded:';

/** What an entry says about a certificate: revoked, or (removeFromCRL) no longer on hold. */
export type EntryStatus = 'revoked' | 'removed';

/**
 * The entries a CRL's serial index does not hold, kept apart because they are rare: the CRL
 * issuer's own removeFromCRL entries, and an indirect CRL's entries for other issuers (RFC 5280
 * section 5.3.3). Maps survive structured cloning, so a worker can hand them over.
 */
export interface EntryNotes {
  /** Serials (hex of the content octets) of the CRL issuer's certificates listed as removeFromCRL. */
  removed: Set<string>;
  /** Other issuers' entries: issuer canonicalNameKey, then serial hex. */
  others: Map<string, Map<string, EntryStatus>>;
}

/**
 * crlEntryExtensions holding one non-critical reasonCode (RFC 5280 section 5.3.1), but the
 * ENUMERATED's value octet: SEQUENCE { SEQUENCE { OID 2.5.29.21, OCTET STRING { ENUMERATED } } }.
 */
const REASON_ONLY = Buffer.from('300c300a0603551d1504030a01', 'hex');

/** Whether `bytes` holds `prefix` at `at` (a plain loop: a native compare per entry costs more). */
function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/**
 * revokedCertificates ::= SEQUENCE OF SEQUENCE { userCertificate INTEGER, revocationDate Time,
 * crlEntryExtensions Extensions OPTIONAL }. The hot loop of large CRLs, in two passes that can stop
 * at a deadline and resume (so a large CRL is indexed without blocking the event loop): the first
 * checks every entry and records where its serial sits, decoding entry extensions only where there
 * are some; the second fills a SerialIndex sized from that count (not from a worst case).
 */
export class EntryIndexer {
  private index: SerialIndex | undefined;
  private pos: number;
  private offsets = new Uint32Array(1024);
  private lengths = new Uint8Array(1024);
  private count = 0;
  private added = 0;
  /** The certificate issuer of the entries being read, when another than the CRL's (indirect CRLs). */
  private entryIssuer: string | undefined;
  /** Set when an entry is not for the index (see EntryNotes); read by record(). */
  private entryStatus: EntryStatus = 'revoked';
  /** Entries the index does not hold; undefined while there are none. */
  notes: EntryNotes | undefined;
  /** Set once the entries named more than MAX_INDIRECT_CRL_ISSUERS issuers: the others are dropped. */
  private issuersCapped = false;
  /** Set when an entry's certificateIssuer was decoded: the slice deadline is checked after it. */
  private decodedName = false;
  /** certificateIssuer values decoded (latin1 of their DER) and the issuer key each names. */
  private readonly issuerKeys = new Map<string, string>();

  /** `indirectIssuer`: the CRL issuer's name key when the CRL is indirect (certificateIssuer allowed). */
  constructor(
    private readonly der: Buffer,
    private readonly revoked: Element | undefined,
    private readonly unusable: Set<string>,
    private readonly indirectIssuer?: string,
  ) {
    this.pos = revoked?.contentStart ?? 0;
  }

  /** The serials once run() has returned true. */
  get result(): SerialIndex {
    if (!this.index) throw new Error('the entries are not indexed yet');
    return this.index;
  }

  /** Indexes entries until done (true) or `deadline` (a `now()` value) passes (false). */
  run(deadline = Infinity, now: () => number = monotonicNow): boolean {
    if (!this.index && !this.check(deadline, now)) return false;
    const index = (this.index ??= new SerialIndex(this.der, this.count));
    const { offsets, lengths, count } = this;
    let i = this.added;
    // Checking the clock every 4096 insertions keeps its cost out of the loop.
    for (let n = 1; i < count; i++, n++) {
      if ((n & 4095) === 0 && now() > deadline) break;
      index.add(offsets[i] as number, lengths[i] as number);
    }
    this.added = i;
    if (i < count) return false;
    this.offsets = new Uint32Array(0);
    this.lengths = new Uint8Array(0);
    return true;
  }

  /** The first pass: checks entries and records their serials' places; true when all are done. */
  private check(deadline: number, now: () => number): boolean {
    const { der, revoked } = this;
    if (!revoked) return true;
    const end = revoked.end;
    let pos = this.pos;
    for (let n = 0; pos < end; n++) {
      // Checking the clock every 128 entries keeps its cost out of the loop; after an entry whose
      // certificateIssuer was decoded (up to 4 KiB of name, ~1.5 ms), at once.
      // (The flag is cleared either way, so that the next slice starts with an entry: progress.)
      const look = (n & 127) === 127 || this.decodedName;
      this.decodedName = false;
      if (look && now() > deadline) break;
      const next = this.commonEntry(pos, end);
      if (next >= 0) {
        pos = next;
        continue;
      }
      const entry = readElement(der, pos, end);
      if (entry.tag !== TAG.SEQUENCE) throw new DerError('a revoked entry must be a SEQUENCE');
      const serial = readElement(der, entry.contentStart, entry.end);
      integerBytes(der, serial);
      const date = readElement(der, serial.end, entry.end);
      if (date.tag !== TAG.UTC_TIME && date.tag !== TAG.GENERALIZED_TIME)
        throw new DerError('revocationDate must be a time');
      this.entryStatus = 'revoked';
      if (date.end < entry.end) this.entryExtensions(date.end, entry.end);
      this.record(serial.contentStart, serial.end - serial.contentStart);
      pos = entry.end;
    }
    this.pos = pos;
    return pos >= end;
  }

  /**
   * The entry at `pos` when it has the common shape, short lengths throughout: checked as the
   * general path checks it, without allocating (about twice as fast over 1,000,000 entries).
   * Returns where it ends, or -1 to let the general path decode it (and name any fault).
   */
  private commonEntry(pos: number, end: number): number {
    const b = this.der;
    // Every octet read is bounds-checked first: b[i] past the end would be undefined, not a throw.
    if (pos + 2 > end || b[pos] !== TAG.SEQUENCE) return -1;
    const length = b[pos + 1] as number;
    const entryEnd = pos + 2 + length;
    if (length >= 0x80 || entryEnd > end) return -1;
    const serialAt = pos + 2;
    if (serialAt + 2 > entryEnd || b[serialAt] !== TAG.INTEGER) return -1;
    const serialLength = b[serialAt + 1] as number;
    const serialStart = serialAt + 2;
    const serialEnd = serialStart + serialLength;
    if (serialLength === 0 || serialLength >= 0x80 || serialEnd > entryEnd) return -1;
    // DER INTEGER: minimal, no redundant leading 0x00 or 0xff (what integerBytes refuses).
    if (serialLength > 1) {
      const first = b[serialStart] as number;
      const second = b[serialStart + 1] as number;
      if ((first === 0 && second < 0x80) || (first === 0xff && second >= 0x80)) return -1;
    }
    if (serialEnd + 2 > entryEnd) return -1;
    const dateTag = b[serialEnd];
    const dateLength = b[serialEnd + 1] as number;
    const dateEnd = serialEnd + 2 + dateLength;
    if ((dateTag !== TAG.UTC_TIME && dateTag !== TAG.GENERALIZED_TIME) || dateLength >= 0x80 || dateEnd > entryEnd)
      return -1;
    this.entryStatus = 'revoked';
    if (dateEnd < entryEnd) this.entryExtensions(dateEnd, entryEnd);
    this.record(serialStart, serialLength);
    return entryEnd;
  }

  private entryExtensions(from: number, end: number): void {
    const { der } = this;
    // Nearly every entry of a real CRL carries a reason code and nothing else: those bytes are
    // recognised without decoding, the reason being their last octet.
    if (end - from === REASON_ONLY.length + 1 && startsWith(der, from, REASON_ONLY)) {
      if (der[end - 1] === REMOVE_FROM_CRL) this.entryStatus = 'removed';
      return;
    }
    const extensions = readElement(der, from, end);
    if (extensions.end !== end) throw new DerError('unexpected extra element in a revoked entry');
    for (const ext of readExtensions(der, extensions)) {
      if (ext.oid === ENTRY_OID.certificateIssuer) this.certificateIssuer(extensionValue(der, ext.value));
      else if (ext.oid === ENTRY_OID.reasonCode) {
        // RFC 5280 section 5.3.1: CRLReason ::= ENUMERATED.
        const reasonEl = extensionValue(der, ext.value);
        if (reasonEl.tag !== TAG_ENUMERATED) throw new DerError('reasonCode must be an ENUMERATED');
        const reason = contentOf(der, reasonEl);
        if (reason.length === 1 && reason[0] === REMOVE_FROM_CRL) this.entryStatus = 'removed';
      } else if (ext.critical && ext.oid !== ENTRY_OID.invalidityDate) {
        this.unusable.add(`an entry has an unsupported critical extension ${ext.oid}`);
      }
    }
  }

  /**
   * RFC 5280 section 5.3.3: in an indirect CRL, certificateIssuer names the issuer of this entry
   * and of the entries after it, until the next one. Outside an indirect CRL it is not allowed.
   */
  private certificateIssuer(value: Element): void {
    if (this.indirectIssuer === undefined) {
      this.unusable.add('an entry names another certificate issuer, but the CRL is not indirect');
      return;
    }
    this.entryIssuer = this.issuerKeyOf(value);
    if (this.entryIssuer === this.indirectIssuer) this.entryIssuer = undefined;
  }

  /**
   * The issuer key a certificateIssuer value names. The same encoding names the same issuer: it is
   * decoded once (a name costs ~300 ns a byte to decode, and a CRL may switch issuers on every
   * entry). Decoding is bounded per CRL: values of at most MAX_CERTIFICATE_ISSUER_BYTES, at most
   * MAX_INDIRECT_CRL_ISSUERS distinct ones; past either the CRL is unusable and nothing more is decoded.
   */
  private issuerKeyOf(value: Element): string {
    if (value.end - value.start > MAX_CERTIFICATE_ISSUER_BYTES) {
      this.capIssuers(`an entry's certificateIssuer is larger than ${MAX_CERTIFICATE_ISSUER_BYTES} bytes`);
      return UNDECODED_ISSUER;
    }
    const bytes = this.der.toString('latin1', value.start, value.end);
    const known = this.issuerKeys.get(bytes);
    if (known !== undefined) return known;
    if (this.issuersCapped) return UNDECODED_ISSUER;
    if (this.issuerKeys.size >= MAX_INDIRECT_CRL_ISSUERS) {
      this.capIssuers(TOO_MANY_ISSUERS);
      return UNDECODED_ISSUER;
    }
    this.decodedName = true;
    const names = readGeneralNames(this.der, value);
    const dn = names.find((n) => n.type === 'directoryName');
    // A certificate issuer is named by its DN; an entry naming none applies to no certificate.
    const key = dn?.type === 'directoryName' ? canonicalNameKey(dn.name) : `unnamed:${names.length}`;
    this.issuerKeys.set(bytes, key);
    return key;
  }

  /** Past a bound: the CRL is unusable (`why`), and what it kept of other issuers goes now. */
  private capIssuers(why: string): void {
    this.issuersCapped = true;
    this.unusable.add(why);
    this.notes?.others.clear();
  }

  private record(offset: number, length: number): void {
    // Serials longer than 255 octets cannot be a certificate's (RFC 5280 allows 20): not recorded.
    if (length > 255) return;
    if (this.entryIssuer !== undefined || this.entryStatus === 'removed') {
      this.note(this.der.subarray(offset, offset + length).toString('hex'));
      return;
    }
    if (this.count === this.offsets.length) {
      const offsets = new Uint32Array(this.count * 2);
      offsets.set(this.offsets);
      const lengths = new Uint8Array(this.count * 2);
      lengths.set(this.lengths);
      this.offsets = offsets;
      this.lengths = lengths;
    }
    this.offsets[this.count] = offset;
    this.lengths[this.count] = length;
    this.count++;
  }

  private note(serial: string): void {
    const notes = (this.notes ??= { removed: new Set(), others: new Map() });
    if (this.entryIssuer === undefined) {
      // removeFromCRL entries undo holds: a delta CRL lists a few. A Set costs about 50 bytes an
      // entry against the index's 16, so a CRL fetched from a distribution point (indexed before
      // its signature is checked) may not hold more than MAX_REMOVED_ENTRIES of them.
      if (notes.removed.size >= MAX_REMOVED_ENTRIES) {
        this.unusable.add(`it lists more than ${MAX_REMOVED_ENTRIES} removeFromCRL entries`);
        return;
      }
      notes.removed.add(serial);
      return;
    }
    if (this.issuersCapped) return;
    let entries = notes.others.get(this.entryIssuer);
    if (!entries) {
      if (notes.others.size >= MAX_INDIRECT_CRL_ISSUERS) {
        this.capIssuers(TOO_MANY_ISSUERS);
        return;
      }
      notes.others.set(this.entryIssuer, (entries = new Map()));
    }
    // A serial listed twice stays revoked, as the CRL issuer's own serials do (the index wins).
    if (entries.get(serial) !== 'revoked') entries.set(serial, this.entryStatus);
  }
}
