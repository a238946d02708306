import { createHash, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { SignatureCheck } from '../model/verdict.js';
import type { ParsedCrl } from '../revocation/crl.js';
import { type MalformedCertificateError, parseCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { dsaKeyWithInheritedParameters } from '../x509/dsa-inheritance.js';
import { keyPolicyViolation } from '../x509/key-policy.js';
import { checkSchemeFitsKey, UnsupportedAlgorithmError, verifySignature } from '../x509/signature.js';
import type { CertificatePool } from '../path/pool.js';
import { type CacheBudget, cacheBudget, DEFAULT_CACHE_MAX_BYTES } from './options.js';
import { type Clock, systemClock } from '../time/clock.js';
import { ENTRY_FIXED_BYTES, parseBytes, stringBytes } from './footprint.js';

export type Parsed = ParsedCertificate | { malformed: string };

/** The smallest the parse and signature caches get, so that an intermediate stays decoded. */
const MIN_CACHE_ENTRIES = 16;
/**
 * How long a parse of a certificate not (yet) on a path to an anchor is kept: long enough for one
 * verification (which may wait for a CRL fetch) and a client's retry, no longer.
 */
export const UNPROVEN_PARSE_TTL_MS = 30_000;

function parsedBytes(p: Parsed): number {
  return 'malformed' in p ? stringBytes(p.malformed) + ENTRY_FIXED_BYTES : parseBytes(p);
}

/**
 * What a verifier computes once and reuses across verifications: certificates decoded (an
 * intermediate is parsed and its key imported once, however many leaves it issued) and signature
 * checks (a memoised oracle: does this key verify that signature?). Neither depends on time or on
 * CRLs, so neither is cleared when CRLs change.
 *
 * Parses are kept in three places, so that a flood of certificates that lead nowhere cannot hold
 * memory: configured certificates for the verifier's life (the pools hold them anyway); presented
 * ones that reached a trust anchor ({@link keep}) in a byte-bounded LRU; every other presented one
 * (and a malformed one) only in a small byte-bounded area, for {@link UNPROVEN_PARSE_TTL_MS}.
 */
export class CertificateCache {
  private readonly pinned = new Map<string, ParsedCertificate>();
  private readonly proven: LRUCache<string, ParsedCertificate>;
  private readonly unproven: LRUCache<string, Parsed>;
  private readonly signatures: LRUCache<string, SignatureCheck>;

  constructor(
    cacheSize: number,
    private readonly legacyAlgorithms: boolean,
    /** Configured certificates (anchors and intermediates): the only source of inherited DSA parameters. */
    private readonly configured: readonly CertificatePool[],
    budget: CacheBudget = cacheBudget(DEFAULT_CACHE_MAX_BYTES),
    clock: Clock = systemClock,
  ) {
    const max = Math.max(cacheSize, MIN_CACHE_ENTRIES);
    this.proven = new LRUCache({ max, maxSize: budget.proven, sizeCalculation: parseBytes });
    // ttlResolution 0: lru-cache would otherwise reuse a clock reading for 1 ms, whatever the injected clock says.
    this.unproven = new LRUCache({
      max,
      maxSize: budget.unproven,
      sizeCalculation: parsedBytes,
      ttl: UNPROVEN_PARSE_TTL_MS,
      perf: clock,
      ttlResolution: 0,
    });
    this.signatures = new LRUCache({
      max,
      maxSize: budget.signatures,
      sizeCalculation: (check, key) => stringBytes(key, check.ok ? '' : check.detail) + ENTRY_FIXED_BYTES,
    });
    for (const pool of configured) for (const cert of pool.all()) this.pinned.set(cert.id, cert);
  }

  /** Decodes a DER certificate once; a malformed one is remembered as such, briefly. */
  parse(der: Buffer): Parsed {
    const digest = createHash('sha256').update(der).digest();
    const id = digest.toString('hex');
    let p: Parsed | undefined = this.pinned.get(id) ?? this.proven.get(id) ?? this.unproven.get(id);
    if (!p) {
      try {
        p = parseCertificate(der, digest);
      } catch (err) {
        p = { malformed: (err as MalformedCertificateError).message };
      }
      this.unproven.set(id, p);
    }
    return p;
  }

  /**
   * The certificates of a path that reached a trust anchor: their parses are worth keeping.
   * Returns those kept now for the first time (what once-per-certificate events report on).
   */
  keep(path: readonly ParsedCertificate[]): readonly ParsedCertificate[] {
    const fresh: ParsedCertificate[] = [];
    for (const cert of path) {
      if (this.pinned.has(cert.id) || this.proven.has(cert.id)) continue;
      this.proven.set(cert.id, cert);
      this.unproven.delete(cert.id);
      fresh.push(cert);
    }
    return fresh;
  }

  /** Whether the verifier holds this certificate whatever the caches do (a configured one). */
  isPinned(cert: ParsedCertificate): boolean {
    return this.pinned.has(cert.id);
  }

  /** Bytes (estimated) each cache holds now: what the bounds are checked against. */
  usage(): { proven: number; unproven: number; signatures: number } {
    return {
      proven: this.proven.calculatedSize,
      unproven: this.unproven.calculatedSize,
      signatures: this.signatures.calculatedSize,
    };
  }

  /** Does `issuer`'s key verify `child`'s signature? RFC 5280 section 6.1.3 (a)(1). */
  signedBy(child: ParsedCertificate, issuer: ParsedCertificate): SignatureCheck {
    const key = `${child.id}:${issuer.id}`;
    let result = this.signatures.get(key);
    if (!result) {
      result = this.checkCertificateSignature(child, issuer);
      this.signatures.set(key, result);
    }
    return result;
  }

  /** Does `signer`'s key verify the CRL's signature? (The CRL store may have checked it already.) */
  crlSignedBy(crl: ParsedCrl, signer: ParsedCertificate): boolean {
    if (crl.verifiedWith.has(signer.id)) return true;
    const result = this.signatures.get(`crl:${crl.id}:${signer.id}`);
    if (!result) {
      let ok = false;
      try {
        ok =
          !keyPolicyViolation(signer.key, this.legacyAlgorithms) &&
          this.issuerKeys(signer).some((k) =>
            verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, k, this.legacyAlgorithms),
          );
      } catch {
        ok = false;
      }
      this.rememberCrlSignature(crl, signer, ok);
      return ok;
    }
    return result.ok;
  }

  /** Records what a CRL signature check found; a success stays with the CRL (the store reads it: crl-slots.ts). */
  rememberCrlSignature(crl: ParsedCrl, signer: ParsedCertificate, ok: boolean): void {
    if (ok) crl.verifiedWith.add(signer.id);
    const result: SignatureCheck = ok
      ? { ok: true }
      : { ok: false, code: 'CERT_SIGNATURE_INVALID', detail: 'CRL signature does not verify' };
    this.signatures.set(`crl:${crl.id}:${signer.id}`, result);
  }

  /** A remembered CRL signature check: true or false, undefined when not checked (or forgotten). */
  knownCrlSignature(crl: ParsedCrl, signer: ParsedCertificate): boolean | undefined {
    if (crl.verifiedWith.has(signer.id)) return true;
    return this.signatures.get(`crl:${crl.id}:${signer.id}`)?.ok;
  }

  private checkCertificateSignature(child: ParsedCertificate, issuer: ParsedCertificate): SignatureCheck {
    // RFC 5280 section 4.1.1.2: the outer algorithm must equal the one inside the signed part.
    if (!child.signatureAlgorithmsMatch) {
      return {
        ok: false,
        code: 'CERT_SIGNATURE_INVALID',
        detail: 'the signature algorithm inside the signed part differs from the outer one',
      };
    }
    // The key policy and the algorithm's fit with the key come before the key is imported or
    // used: an oversized key or exponent makes a single check cost tens of milliseconds.
    const weak = keyPolicyViolation(issuer.key, this.legacyAlgorithms);
    if (weak) {
      return { ok: false, code: 'CERT_ALGORITHM_UNSUPPORTED', detail: `the issuer has a ${weak}` };
    }
    try {
      checkSchemeFitsKey(child.signatureAlgorithm, issuer.key.type, this.legacyAlgorithms);
      const ok = this.issuerKeys(issuer).some((k) =>
        verifySignature(child.signatureAlgorithm, child.tbs, child.signature, k, this.legacyAlgorithms),
      );
      return ok
        ? { ok: true }
        : { ok: false, code: 'CERT_SIGNATURE_INVALID', detail: 'signature does not verify with the issuer key' };
    } catch (err) {
      return err instanceof UnsupportedAlgorithmError
        ? { ok: false, code: 'CERT_ALGORITHM_UNSUPPORTED', detail: err.message }
        : { ok: false, code: 'CERT_SIGNATURE_INVALID', detail: `issuer key unusable (${(err as Error).message})` };
    }
  }

  /**
   * The issuer's key, completed with inherited DSA parameters where a legacy PKI needs them. The
   * parameters come only from a configured certificate whose own key verifies the issuer's
   * signature (its issuer on the path), never from what a client sent: borrowed parameters
   * decide what a signature proves.
   */
  issuerKeys(issuer: ParsedCertificate): KeyObject[] {
    const inherits = this.legacyAlgorithms && issuer.key.type === 'dsa' && !issuer.key.hasParameters;
    if (!inherits) return [issuer.publicKey()];
    return this.configured
      .flatMap((pool) => pool.withSubject(issuer.issuerKey))
      .filter((source) => source.key.type === 'dsa' && source.key.hasParameters && this.signedBy(issuer, source).ok)
      .map((source) => dsaKeyWithInheritedParameters(issuer, source))
      .filter((k): k is KeyObject => k !== undefined);
  }
}
