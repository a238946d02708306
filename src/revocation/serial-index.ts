import { nextTurn } from './pacing.js';

/**
 * The revoked serials of one CRL, as an open-addressing hash table of offsets into the CRL's own
 * DER bytes. No per-entry strings or objects: a 1,000,000-entry CRL costs 12 MiB of table on top
 * of its DER, and a lookup hashes the serial once and compares a few bytes. Each slot also keeps
 * the serial's length and 8 bits of its hash: a probe reads the CRL's bytes (a cache miss in 49 MB)
 * only when both match, which halved the time to index 1,000,000 entries.
 */
/**
 * The most slots an insertion or a lookup probes. The hash has no secret, so a crafted CRL (any
 * URL on plain http can serve one; its signature is checked later) can make every serial
 * collide: 65,536 such entries took 5.7 s to index, and time grows with the square. Random
 * serials at the table's half load probe a few slots; a CRL one of whose serials would need more
 * than this is refused as malformed (MalformedCrlError), never indexed slowly.
 */
export const MAX_PROBE_RUN = 1024;

/** A CRL's serials collide in the index beyond {@link MAX_PROBE_RUN}: what crl.ts reports as malformed. */
export class SerialCollisionError extends Error {
  constructor() {
    super(`its serials collide in the index beyond ${MAX_PROBE_RUN} slots (a crafted CRL)`);
  }
}

export class SerialIndex {
  /** Slot value: offset of an entry's serial content octets + 1 (0 = empty). */
  private readonly slots: Uint32Array;
  /** Slot metadata: the serial's length (low 8 bits) and a fingerprint of its hash (high 8 bits). */
  private readonly lengths: Uint16Array;
  private readonly mask: number;
  private count = 0;

  /** No serials: what a CRL holds until its entries are indexed. */
  static readonly EMPTY = new SerialIndex(new Uint8Array(0), 0);

  /** `maxEntries` bounds what will be added; the table is sized for at most half full. */
  constructor(
    private readonly der: Uint8Array,
    maxEntries: number,
    tables?: { slots: Uint32Array; lengths: Uint16Array; count: number; checked?: boolean },
  ) {
    let capacity = 16;
    while (capacity < maxEntries * 2) capacity *= 2;
    if (tables) {
      // Built elsewhere (a worker) over the same DER: checked, not trusted blindly.
      const { slots, lengths, count } = tables;
      if (tables.checked !== true) {
        checkShape(slots, lengths, count);
        checkCount(slots, lengths, count, der.length);
      }
      this.slots = slots;
      this.lengths = lengths;
      this.count = count;
    } else {
      this.slots = new Uint32Array(capacity);
      this.lengths = new Uint16Array(capacity);
    }
    this.mask = this.slots.length - 1;
  }

  /** An index over `der` from tables that tables() of an index over the same bytes returned. */
  static fromTables(der: Uint8Array, slots: Uint32Array, lengths: Uint16Array, count: number): SerialIndex {
    return new SerialIndex(der, count, { slots, lengths, count });
  }

  /**
   * fromTables, with the tables checked in steps between which the event loop runs (checking the
   * 2,097,152 slots of a 1,000,000-entry CRL's index at once takes 13 ms, more on a busy machine).
   */
  static async fromTablesInSlices(
    der: Uint8Array,
    slots: Uint32Array,
    lengths: Uint16Array,
    count: number,
  ): Promise<SerialIndex> {
    checkShape(slots, lengths, count);
    let occupied = 0;
    for (let from = 0; from < slots.length; from += CHECK_STEP) {
      if (from > 0) await nextTurn();
      occupied += occupiedIn(slots, lengths, der.length, from, Math.min(slots.length, from + CHECK_STEP));
    }
    if (occupied !== count) throw new RangeError('SerialIndex tables hold another count than they say');
    return new SerialIndex(der, count, { slots, lengths, count, checked: true });
  }

  /** The table itself (to hand an index built in a worker back to the main thread). */
  tables(): { slots: Uint32Array; lengths: Uint16Array; count: number } {
    return { slots: this.slots, lengths: this.lengths, count: this.count };
  }

  get size(): number {
    return this.count;
  }

  /**
   * Records the serial whose content octets are `der[offset, offset + length)`. Serials longer
   * than 255 octets cannot be a certificate's (RFC 5280 allows 20) and are not recorded.
   */
  add(offset: number, length: number): void {
    if (length > 255) return;
    if (this.count * 2 >= this.slots.length) throw new RangeError('SerialIndex is full');
    const h = hash(this.der, offset, length);
    const meta = length | ((h >>> 24) << 8);
    let slot = h & this.mask;
    for (let probes = 0; probes <= MAX_PROBE_RUN; probes++) {
      const taken = this.slots[slot] as number;
      if (taken === 0) {
        this.slots[slot] = offset + 1;
        this.lengths[slot] = meta;
        this.count++;
        return;
      }
      if (this.lengths[slot] === meta && this.same(taken - 1, length, this.der, offset)) return;
      slot = (slot + 1) & this.mask;
    }
    throw new SerialCollisionError();
  }

  /** Whether `serial` (a certificate's serial content octets) is listed. */
  has(serial: Uint8Array): boolean {
    if (serial.length > 255) return false;
    const h = hash(serial, 0, serial.length);
    const meta = serial.length | ((h >>> 24) << 8);
    let slot = h & this.mask;
    // add() put every serial within MAX_PROBE_RUN slots of its hash's: none lies further.
    for (let probes = 0; probes <= MAX_PROBE_RUN; probes++) {
      const taken = this.slots[slot] as number;
      if (taken === 0) return false;
      if (this.lengths[slot] === meta && this.same(taken - 1, serial.length, serial, 0)) return true;
      slot = (slot + 1) & this.mask;
    }
    return false;
  }

  /** The listed serials as hex content octets (for diagnostics and tests; not the hot path). */
  *[Symbol.iterator](): IterableIterator<string> {
    for (let slot = 0; slot < this.slots.length; slot++) {
      const taken = this.slots[slot] as number;
      if (taken !== 0)
        yield Buffer.from(
          this.der.buffer,
          this.der.byteOffset + taken - 1,
          (this.lengths[slot] as number) & 0xff,
        ).toString('hex');
    }
  }

  /** Whether the `length` octets at `offset` of the DER equal those at `otherOffset` of `other`. */
  private same(offset: number, length: number, other: Uint8Array, otherOffset: number): boolean {
    for (let i = 0; i < length; i++) if (this.der[offset + i] !== other[otherOffset + i]) return false;
    return true;
  }
}

/** FNV-1a, 32 bit: cheap and well spread for serials, which are mostly random already. */
function hash(bytes: Uint8Array, offset: number, length: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ (bytes[offset + i] as number), 0x01000193);
  return h >>> 0;
}

/** Slots checked per step by fromTablesInSlices: 1-2 ms of work. */
const CHECK_STEP = 256 * 1024;

/** Tables from another thread must be a power-of-two table at most half full. */
function checkShape(slots: Uint32Array, lengths: Uint16Array, count: number): void {
  const size = slots.length;
  if (size < 16 || (size & (size - 1)) !== 0 || lengths.length !== size || !(count * 2 <= size))
    throw new RangeError('SerialIndex tables of the wrong shape');
}

/**
 * Tables from another thread, checked in one pass before use: as many occupied slots as `count`
 * says, and every serial inside the DER. (Lookups are bounded by MAX_PROBE_RUN whatever the table.)
 */
function checkCount(slots: Uint32Array, lengths: Uint16Array, count: number, derLength: number): void {
  if (occupiedIn(slots, lengths, derLength, 0, slots.length) !== count)
    throw new RangeError('SerialIndex tables hold another count than they say');
}

/** The occupied slots in [from, to); throws if one points outside the DER. */
function occupiedIn(slots: Uint32Array, lengths: Uint16Array, derLength: number, from: number, to: number): number {
  let occupied = 0;
  for (let slot = from; slot < to; slot++) {
    const taken = slots[slot] as number;
    if (taken === 0) continue;
    occupied++;
    if (taken - 1 + ((lengths[slot] as number) & 0xff) > derLength)
      throw new RangeError('SerialIndex tables point outside the CRL');
  }
  return occupied;
}
