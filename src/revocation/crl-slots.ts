import type { ParsedCrl } from './crl.js';
import { isNewer, slotKey } from './crl-usability.js';

/**
 * Which CRLs a source keeps in use, slot by slot (issuer name, authority key, scope: see
 * crl-usability.ts slotKey). A CRL whose issuer certificate was known when it arrived is verified
 * then; one whose issuer is not configured (an issuing CA that clients send in their chain) is a
 * candidate, verified at use against the issuer certificate of each validated path, exactly as
 * static values are. The rule, per slot:
 * - the newest verified CRL stays until a newer verified one replaces it: nothing unverified evicts it;
 * - at most one candidate, newer than the verified CRL: the source's latest unverified delivery. CRL
 *   numbers of unverified CRLs prove nothing (a forgery can carry any number), so a later candidate
 *   replaces an earlier one whatever their numbers, and a forged candidate never blocks the next
 *   genuine CRL. Once a candidate verifies at use it counts as verified;
 * - the checker uses, per slot, the newest CRL whose signature verifies for the path: an
 *   unverifiable candidate is "no usable CRL" only when there is no verified CRL to fall back to.
 * At most two CRLs per slot and source are held (two large CRLs of one CA at worst). Candidates of
 * slots a delivery no longer covers stay (a source must not uncover an issuer), but only while a
 * source's candidates weigh no more than one delivery may (`maxBytes`): anyone on the path to a
 * plain-http URL could otherwise pile up CRLs of made-up issuers. Dropped ones are reported, and
 * their issuers count as covered without a usable CRL (the store's `uncovered`).
 */

/** Whether a CRL's signature has verified with an issuer certificate's key (at load or at use). */
export function isVerified(crl: ParsedCrl): boolean {
  return crl.verifiedWith.size > 0;
}

interface Slot {
  verified?: ParsedCrl;
  candidate?: ParsedCrl;
}

function newer(a: ParsedCrl | undefined, b: ParsedCrl): ParsedCrl {
  return a && isNewer(a, b) ? a : b;
}

/** The verified CRLs of `inUse` (what a delivered CRL must not be older than). */
export function verifiedOnly(inUse: readonly ParsedCrl[]): ParsedCrl[] {
  return inUse.filter(isVerified);
}

/**
 * The CRLs in use after a source delivered `admitted` (each already checked: usable, not from the
 * future, verified if its issuer is known, not older than the verified CRL of its slot), and the
 * candidates dropped to keep the source's candidates within `candidateBytes`. A slot the delivery
 * does not cover keeps what it had: a source must never uncover an issuer.
 */
export function keptAfterDelivery(
  inUse: readonly ParsedCrl[],
  admitted: readonly ParsedCrl[],
  candidateBytes = Number.POSITIVE_INFINITY,
): { kept: ParsedCrl[]; dropped: ParsedCrl[] } {
  const slots = new Map<string, Slot>();
  const slotOf = (crl: ParsedCrl): Slot => {
    const key = slotKey(crl);
    let slot = slots.get(key);
    if (!slot) slots.set(key, (slot = {}));
    return slot;
  };
  for (const crl of inUse) {
    const slot = slotOf(crl);
    if (isVerified(crl)) slot.verified = newer(slot.verified, crl);
    else slot.candidate = crl;
  }
  const byId = new Map(inUse.map((c) => [c.id, c]));
  const touched = new Set<Slot>();
  for (const delivered of admitted) {
    // The same CRL again keeps its object, and with it what is known about its signature.
    const crl = byId.get(delivered.id) ?? delivered;
    const slot = slotOf(crl);
    if (!touched.has(slot)) {
      touched.add(slot);
      // The source's latest delivery replaces its earlier unverified candidate.
      if (slot.candidate !== crl) slot.candidate = undefined;
    }
    if (isVerified(crl)) slot.verified = newer(slot.verified, crl);
    else slot.candidate = newer(slot.candidate, crl);
  }
  for (const slot of slots.values()) {
    if (slot.candidate && slot.verified && !isNewer(slot.candidate, slot.verified)) slot.candidate = undefined;
  }
  const dropped = overBudget([...slots.values()], touched, candidateBytes);
  const kept: ParsedCrl[] = [];
  for (const { verified, candidate } of slots.values()) {
    if (verified) kept.push(verified);
    if (candidate) kept.push(candidate);
  }
  return { kept, dropped };
}

/** Candidates of untouched slots dropped, oldest first, until all candidates fit in `budget` bytes. */
function overBudget(slots: Slot[], touched: ReadonlySet<Slot>, budget: number): ParsedCrl[] {
  let total = 0;
  for (const { candidate } of slots) total += candidate?.der.length ?? 0;
  const dropped: ParsedCrl[] = [];
  for (const slot of slots) {
    if (total <= budget) break;
    const candidate = slot.candidate;
    if (!candidate || touched.has(slot)) continue;
    slot.candidate = undefined;
    total -= candidate.der.length;
    dropped.push(candidate);
  }
  return dropped;
}
