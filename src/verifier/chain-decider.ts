import type { ParsedCertificate } from '../x509/certificate.js';
import { certificateInfo, type CertificateInfo } from '../x509/certificate.js';
import { signatureBudget } from '../path/builder.js';
import { CertificatePool } from '../path/pool.js';
import type { CertificateCache } from './certificate-cache.js';
import type { VerifierEventBus } from './events.js';
import type { VerifierConfig } from './options.js';
import type { Outcome, OutcomeCache } from './outcome-cache.js';
import type { PathValidator } from './path-validation.js';
import { failure } from './results.js';
import type { RevocationSources } from './revocation-sources.js';
import type { Wanted } from './wanted.js';

/**
 * How many certificates of a presented chain are read beyond `maxChainDepth` (the leaf, the anchor
 * if sent, rollover and cross-signed certificates); the rest are ignored. Real clients send their
 * leaf and one to three CA certificates; each certificate beyond costs a parse (a hostile
 * 100-certificate chain of fresh 1 KB certificates: 5-15 ms of CPU), and ignoring untrusted
 * helpers can only make a path harder to find, never let one in. Default depth 8: 16 read.
 */
export const PRESENTED_BEYOND_DEPTH = 8;

/**
 * How many DER bytes of a presented chain are read: OpenSSL's default limit on the certificate
 * list a TLS peer may send (SSL_MAX_CERT_LIST_DEFAULT), so no chain a TLS client can deliver is
 * cut. Parsing costs ~100 ns a byte for certificates made of many small name attributes (a 57 KB
 * one: ~6 ms), so this bounds a request's parsing at ~10 ms whatever the source.
 * A leaf alone over it is malformed; later certificates past it are ignored.
 */
export const MAX_PRESENTED_BYTES = 100 * 1024;

/** The presented certificates read (within both limits), parsed; or why the chain is refused. */
function readPresented(
  ders: readonly Buffer[],
  limit: number,
  cache: CertificateCache,
): ParsedCertificate[] | { malformed: string } {
  const certs: ParsedCertificate[] = [];
  let bytes = 0;
  for (const [i, der] of ders.slice(0, limit).entries()) {
    bytes += der.length;
    const which = i === 0 ? 'the leaf certificate' : `presented certificate #${i + 1}`;
    if (i === 0 && bytes > MAX_PRESENTED_BYTES)
      return { malformed: `${which} is ${der.length} bytes, over the ${MAX_PRESENTED_BYTES}-byte limit` };
    if (bytes > MAX_PRESENTED_BYTES) break;
    const p = cache.parse(der);
    if ('malformed' in p) return { malformed: `${which} is malformed: ${p.malformed}` };
    certs.push(p);
  }
  return certs;
}

/**
 * One presented chain to one verdict, before OCSP: parse (cached), reuse a remembered verdict, or
 * validate the path and remember what it rests on. Reports revocations and undecidable revocation
 * as events, once a verdict is final.
 */
export class ChainDecider {
  constructor(
    private readonly config: VerifierConfig,
    /** The configured intermediates (a chain that brings none of its own uses them as they are). */
    private readonly intermediates: CertificatePool,
    private readonly cache: CertificateCache,
    private readonly revocation: RevocationSources,
    private readonly validator: PathValidator,
    private readonly outcomes: OutcomeCache,
    private readonly events: VerifierEventBus,
  ) {}

  decide(ders: readonly Buffer[], at: number, cacheable: boolean, wanted: Wanted): Outcome {
    const { config, cache, revocation, validator, outcomes, events } = this;
    if (ders.length === 0) return { result: failure('CERT_MISSING', 'no certificate was presented') };
    const certs = readPresented(ders, config.maxChainDepth + PRESENTED_BEYOND_DEPTH, cache);
    if ('malformed' in certs) return { result: failure('CERT_MALFORMED', certs.malformed) };
    const key = certs.map((c) => c.id).join(':');
    const hit = cacheable ? outcomes.get(key, at, revocation.revision) : undefined;
    if (hit) return hit;
    const pool =
      certs.length > 1 ? CertificatePool.withPresented(config.intermediates, certs.slice(1)) : this.intermediates;
    const built = validator.validate(certs[0] as ParsedCertificate, pool, {
      at,
      budget: signatureBudget(),
      distributionPoints: revocation.distributionPoints(wanted.urls),
      checkSignatures: (checks) => wanted.signatures.push(...checks),
      onUnknown: (f) => events.emit('revocation-unknown', { detail: f.detail, allowed: true }),
    });
    // Not final while a distribution point's CRL is fetched or a large CRL's signature checked:
    // neither remembered nor reported.
    const final = wanted.empty;
    let outcome: Outcome;
    if (built.ok) {
      // The verdict holds until the first certificate or CRL it rests on expires.
      const expiry = Math.min(
        ...[...built.path, ...built.relied.certificates].map((c) => c.notAfter.getTime()),
        ...built.relied.crls.map((c) => (c.nextUpdate as Date).getTime() + config.crlSettings.gracePeriodMs),
        built.relied.recheckBy ?? Infinity,
      );
      const chain = Object.freeze(built.path.map(certificateInfo));
      const result = Object.freeze({
        ok: true as const,
        certificate: chain[0] as CertificateInfo,
        chain,
        expiresAt: new Date(expiry),
        // Frozen: the verdict is cached and handed to identify() and clientCert.
        policies: Object.freeze(built.policies),
      });
      outcome = { result, path: built.path, ...(built.relied.leafCrl ? { leafCrl: built.relied.leafCrl } : {}) };
    } else {
      const { code, detail } = built.failure;
      outcome = { result: failure(code, detail) };
      if (final && code === 'CERT_REVOKED') events.emit('certificate-revoked', { code, detail });
      else if (final && code === 'REVOCATION_UNKNOWN') events.emit('revocation-unknown', { detail, allowed: false });
    }
    if (cacheable && final) outcomes.remember(key, outcome, at);
    return outcome;
  }
}
