import type { KeyObject } from 'node:crypto';
import type { ParsedCertificate } from '../x509/certificate.js';
import { MalformedCrlError, type ParsedCrl } from './crl.js';
import { checkCrlHeader, deferredLoadOf } from './crl-header.js';
import { loadCrls } from './crl-offthread.js';
import { afterPoll } from './pacing.js';

/**
 * The CRL store's side of large CRLs (crl-header.ts): static values loaded after createVerifier,
 * and the placeholders of large files, which stand for their issuer until the file's CRL is in use.
 * A CRL found malformed after startup leaves its placeholder saying so, so that the issuer's
 * revocation status is unknown, never "not revoked".
 */

type IssuersNamed = (issuerKey: string) => readonly ParsedCertificate[];
type Emit = (event: 'crl-loaded' | 'crl-rejected', payload: never) => void;

/** The configured certificates that may have signed a CRL of this issuer, as the CRL worker wants them. */
export function signersOf(issuersNamed: IssuersNamed, issuerKey: string): { id: string; key: KeyObject }[] {
  const signers: { id: string; key: KeyObject }[] = [];
  for (const cert of issuersNamed(issuerKey)) {
    try {
      signers.push({ id: cert.id, key: cert.publicKey() });
    } catch {
      // A key Node cannot import verifies nothing: the checker reports that at use.
    }
  }
  return signers;
}

/** The payload of 'crl-loaded' for `crl`. */
export function loadedEvent(source: string, crl: ParsedCrl) {
  const { issuerDN: issuer, thisUpdate, nextUpdate, crlNumber } = crl;
  // `verified`: checked against a configured certificate of its issuer where it was decoded.
  const verified = crl.verifiedWith.size > 0;
  return { source, issuer, entries: crl.revoked.size, thisUpdate, nextUpdate, crlNumber, verified };
}

/** A placeholder now says its CRL is malformed; the payload of the 'crl-rejected' to emit. */
export function markMalformed(source: string, placeholder: ParsedCrl, err: unknown) {
  const reason = `the configured CRL is malformed (${(err as Error).message})`;
  placeholder.unusableBecause = reason;
  return { source, issuer: placeholder.issuerDN, reason };
}

/**
 * What a file or URL delivered, decoded off the event loop, each CRL checked there against the
 * configured certificates of the issuer a large file's placeholder names. A malformed CRL where a
 * placeholder stands is reported ('crl-rejected') and the placeholder says so.
 */
export async function decodeDelivery(
  source: string,
  bytes: Buffer,
  inUse: readonly ParsedCrl[],
  options: { issuersNamed: IssuersNamed; legacyAlgorithms: boolean; emit: Emit; paced?: boolean },
): Promise<ParsedCrl[]> {
  const placeholders = inUse.filter((c) => deferredLoadOf(c));
  // The issuer the (first) CRL names, from its header: its configured certificates' keys are
  // checked in the worker too. (Read before the bytes move to the worker.)
  const header = headerOf(bytes);
  const issuer = placeholders[0]?.issuerKey ?? header?.issuerKey;
  const signers = issuer ? signersOf(options.issuersNamed, issuer) : [];
  const issuerDN = header?.issuerDN ?? '';
  try {
    return await loadCrls(bytes, signers, options.legacyAlgorithms, { owned: true, paced: options.paced });
  } catch (err) {
    if (!(err instanceof MalformedCrlError)) throw err;
    for (const p of placeholders) options.emit('crl-rejected', markMalformed(source, p, err) as never);
    if (placeholders.length === 0) {
      const reason = `the delivered CRL is malformed (${err.message})`;
      options.emit('crl-rejected', { source, issuer: issuerDN, reason } as never);
    }
    throw err;
  }
}

/** The header of a delivered CRL, if it has one that decodes (crl-header.ts: a few ms at most). */
function headerOf(bytes: Buffer): { issuerKey: string; issuerDN: string } | undefined {
  try {
    return checkCrlHeader(bytes);
  } catch {
    return undefined;
  }
}

/** `crls` without the placeholders whose issuer now has a real CRL among them (the same list if none). */
export function withoutCoveredPlaceholders(crls: readonly ParsedCrl[]): readonly ParsedCrl[] {
  const covered = (p: ParsedCrl) => crls.some((c) => !deferredLoadOf(c) && c.issuerKey === p.issuerKey);
  const kept = crls.filter((c) => !deferredLoadOf(c) || !covered(c));
  return kept.length === crls.length ? crls : kept;
}

/**
 * Static CRLs, the large ones loaded after creation: `crls` holds each large one's placeholder until
 * its CRL replaces it; `changed` is called after each change. `ready` settles when all have loaded
 * or failed.
 */
export class StaticCrls {
  readonly crls: ParsedCrl[];
  readonly ready: Promise<void>;
  closed = false;

  constructor(
    initial: readonly { source: string; crls: readonly ParsedCrl[] }[],
    private readonly options: { issuersNamed: IssuersNamed; legacyAlgorithms: boolean; emit: Emit },
    private readonly changed: () => void,
  ) {
    this.crls = initial.flatMap((i) => i.crls);
    const loads = initial.flatMap((i) =>
      i.crls.filter((c) => deferredLoadOf(c)?.input !== undefined).map((c) => [i.source, c] as const),
    );
    // Started in a turn of its own, once the store that owns this is built (it hears of every
    // change) and createVerifier has returned: its caller's work (the first request, for a guard
    // without options) and the first slice of loading must not add up to one long block.
    this.ready = afterPoll()
      .then(() => Promise.all(loads.map(([source, crl]) => this.load(source, crl))))
      .then(() => undefined);
  }

  private async load(source: string, placeholder: ParsedCrl): Promise<void> {
    const load = deferredLoadOf(placeholder);
    const { header, input } = load ?? {};
    if (!load || !header || input === undefined) return;
    load.input = undefined;
    const { issuersNamed, legacyAlgorithms, emit } = this.options;
    let crls: ParsedCrl[];
    try {
      crls = await loadCrls(input, signersOf(issuersNamed, header.issuerKey), legacyAlgorithms);
    } catch (err) {
      const rejected = markMalformed(source, placeholder, err);
      this.changed();
      emit('crl-rejected', rejected as never);
      return;
    }
    const at = this.crls.indexOf(placeholder);
    if (this.closed || at < 0) return;
    this.crls.splice(at, 1, ...crls);
    this.changed();
    for (const crl of crls) emit('crl-loaded', loadedEvent(source, crl) as never);
  }
}
