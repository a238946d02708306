import type { ParsedCertificate } from '../x509/certificate.js';
import type { ParsedCrl } from './crl.js';
import { isNewer, slotKey } from './crl-usability.js';

/**
 * Unverified CRLs a source keeps from one delivery, at most: a legitimate bundle of CRLs whose
 * issuers are not configured holds a few; anyone on the path to a plain-http URL could otherwise
 * send thousands, each walked by every verification of that issuer name.
 */
export const MAX_CANDIDATES_PER_DELIVERY = 16;
/** Issuer certificates a source remembers per issuer name, learned from verified paths. */
export const MAX_LEARNED_SIGNERS_PER_NAME = 4;
/** Issuer names a source remembers learned signers for. */
export const MAX_LEARNED_NAMES = 64;

/** A delivered CRL that may enter, and the known issuer certificate that verified it (if any). */
export interface Admitted {
  crl: ParsedCrl;
  signer: ParsedCertificate | undefined;
}

/**
 * The CRLs one file or URL source keeps in use. A CRL that verified with a known issuer
 * certificate (configured, the issuer that named a distribution point, or one learned from a
 * verified path) is *verified*; one whose issuer certificate is not known (an issuing CA that
 * clients send) is a *candidate*, verified at use against the issuer of each validated path, as
 * static values are. The rule:
 * - verified CRLs are kept per issuer name, scope and verifying key: a newer verified CRL of the
 *   same key replaces one; nothing else evicts it (a source that stops delivering an issuer's CRL
 *   does not uncover it; CRLs of different keys never outrank each other);
 * - the candidates are those of the source's latest delivery (at most
 *   {@link MAX_CANDIDATES_PER_DELIVERY}): CRL numbers of unverified CRLs prove nothing, so a
 *   later delivery replaces earlier candidates whatever their numbers, and a forged candidate never
 *   blocks the next genuine CRL;
 * - a candidate whose signature verifies with the issuer of a validated path is *learned*: it
 *   becomes verified with that key, and that issuer certificate verifies the source's later
 *   deliveries as they arrive (a replayed older CRL is then refused, as for a configured issuer;
 *   one that does not verify with it, a new key or a forgery, is a candidate). The issuer's own
 *   revocation may not be decided yet: its key only ever vouches for CRLs in its own slots.
 * The checker uses, per slot, the newest CRL whose signature verifies for the path being
 * validated: an unverifiable candidate falls back to the verified CRL, or is "no usable CRL".
 */
export class SourceCrls {
  private readonly verified = new Map<string, { crl: ParsedCrl; signer: ParsedCertificate }>();
  private candidates: ParsedCrl[];
  private readonly learned = new Map<string, ParsedCertificate[]>();

  constructor(initial: readonly ParsedCrl[]) {
    this.candidates = [...initial];
  }

  /** Every CRL in use, verified ones first. */
  get list(): ParsedCrl[] {
    return [...[...this.verified.values()].map((v) => v.crl), ...this.candidates];
  }

  /** The verified CRLs (what decides when to fetch again; candidates' times are the sender's word). */
  get verifiedCrls(): ParsedCrl[] {
    return [...this.verified.values()].map((v) => v.crl);
  }

  get unverifiedCrls(): readonly ParsedCrl[] {
    return this.candidates;
  }

  /** Issuer certificates learned for this issuer name, newest first. */
  learnedSigners(issuerKey: string): readonly ParsedCertificate[] {
    return this.learned.get(issuerKey) ?? [];
  }

  /** The verified CRL of `crl`'s slot and `signer`'s key, if any: what a new one must not be older than. */
  verifiedFor(crl: ParsedCrl, signer: ParsedCertificate): ParsedCrl | undefined {
    return this.verified.get(verifiedSlot(crl, signer))?.crl;
  }

  /**
   * Takes a delivery (each CRL already admitted: usable, not from the future, verified if its
   * issuer is known, not older than the verified CRL of its slot and key). Returns the candidates
   * refused for being over {@link MAX_CANDIDATES_PER_DELIVERY}.
   */
  deliver(admitted: readonly Admitted[]): ParsedCrl[] {
    const candidates: ParsedCrl[] = [];
    const refused: ParsedCrl[] = [];
    for (const { crl, signer } of admitted) {
      if (signer) this.keepVerified(crl, signer);
      else if (candidates.length < MAX_CANDIDATES_PER_DELIVERY) candidates.push(this.sameObject(crl));
      else refused.push(crl);
    }
    this.candidates = candidates;
    return refused;
  }

  /**
   * `crl`'s signature verified with `signer`, the issuer certificate of a validated path: if it is
   * one of the candidates, it becomes verified with that key, and `signer` is learned. True when
   * the CRLs in use changed.
   */
  learn(crl: ParsedCrl, signer: ParsedCertificate): boolean {
    const at = this.candidates.indexOf(crl);
    if (at < 0) return false;
    this.candidates.splice(at, 1);
    this.keepVerified(crl, signer);
    const list = (this.learned.get(crl.issuerKey) ?? []).filter((c) => c.id !== signer.id);
    this.learned.delete(crl.issuerKey);
    this.learned.set(crl.issuerKey, [signer, ...list].slice(0, MAX_LEARNED_SIGNERS_PER_NAME));
    const oldest = this.learned.keys().next().value;
    if (this.learned.size > MAX_LEARNED_NAMES && oldest !== undefined) this.learned.delete(oldest);
    return true;
  }

  private keepVerified(crl: ParsedCrl, signer: ParsedCertificate): void {
    const slot = verifiedSlot(crl, signer);
    const held = this.verified.get(slot);
    if (held && (held.crl.id === crl.id || isNewer(held.crl, crl))) return;
    this.verified.set(slot, { crl, signer });
  }

  /** The same CRL delivered again keeps its object, and with it what is known about its signature. */
  private sameObject(crl: ParsedCrl): ParsedCrl {
    const held = this.candidates.find((c) => c.id === crl.id);
    if (!held) return crl;
    for (const id of crl.verifiedWith) held.verifiedWith.add(id);
    return held;
  }
}

/** A verified CRL's place: its slot (issuer name, AKI, scope) and the key that verified it. */
function verifiedSlot(crl: ParsedCrl, signer: ParsedCertificate): string {
  return `${slotKey(crl)}:${signer.spki.toString('base64')}`;
}
