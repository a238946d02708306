import type { ParsedCertificate } from '../x509/certificate.js';
import { keyPolicyViolation } from '../x509/key-policy.js';
import type { ParsedCrl } from '../revocation/crl.js';
import type { SignatureToCheck } from '../revocation/crl-checker.js';
import { verifyInSlices } from '../revocation/crl-bytes.js';
import type { CertificateCache } from './certificate-cache.js';

/**
 * TBS bytes above which a CRL signature is not checked on the request path: hashing 1 MiB costs
 * about 2 ms, a 1,000,000-entry CRL (49 MB) 60-100 ms of one blocked event loop. Such a signature
 * is checked off the request path (crl-bytes.ts verifyInSlices) and the verification decided again.
 */
export const LARGE_CRL_TBS_BYTES = 1024 * 1024;

/**
 * The CRL signature oracle of a verifier: small CRLs are checked at once (memoised by the
 * certificate cache), large ones only by {@link CrlSignatures.check}, one check in flight per CRL
 * and signer. Only CRLs from the configuration are checked (never one a client sent), against
 * issuer certificates of validated paths: a client cannot make the server hash what it chooses.
 */
export class CrlSignatures {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Large CRLs' signatures found not to verify, by signer id: kept with the CRL, not in an LRU that churns. */
  private readonly failed = new WeakMap<ParsedCrl, Set<string>>();

  constructor(
    private readonly cache: CertificateCache,
    private readonly legacyAlgorithms: boolean,
    /**
     * Told once per CRL and signer whose signature verified here: a validated path's issuer (or a
     * configured CRL signer) that the CRL store may learn (crl-slots.ts).
     */
    private readonly onVerified: (crl: ParsedCrl, signer: ParsedCertificate) => void = () => {},
  ) {}

  /** The checker's oracle: the answer when known or cheap, undefined for a large CRL not checked yet. */
  signedBy(crl: ParsedCrl, signer: ParsedCertificate): boolean | undefined {
    const known = this.cache.knownCrlSignature(crl, signer);
    if (known !== undefined) return known;
    if (this.failed.get(crl)?.has(signer.id)) return false;
    if (crl.tbs.length > LARGE_CRL_TBS_BYTES) return undefined;
    const ok = this.cache.crlSignedBy(crl, signer);
    if (ok) this.onVerified(crl, signer);
    return ok;
  }

  /** Checks these signatures off the request path; resolves once all are known (never rejects). */
  async check(checks: readonly SignatureToCheck[]): Promise<void> {
    await Promise.all(checks.map(({ crl, signer }) => this.checkOne(crl, signer)));
  }

  private checkOne(crl: ParsedCrl, signer: ParsedCertificate): Promise<void> {
    const key = `${crl.id}:${signer.id}`;
    let running = this.inFlight.get(key);
    if (!running) {
      running = this.verify(crl, signer).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, running);
    }
    return running;
  }

  private async verify(crl: ParsedCrl, signer: ParsedCertificate): Promise<void> {
    let ok = false;
    try {
      if (!keyPolicyViolation(signer.key, this.legacyAlgorithms)) {
        for (const key of this.cache.issuerKeys(signer)) {
          if (await verifyInSlices(crl, key, this.legacyAlgorithms)) {
            ok = true;
            break;
          }
        }
      }
    } catch {
      ok = false;
    }
    this.cache.rememberCrlSignature(crl, signer, ok);
    if (ok) {
      this.onVerified(crl, signer);
      return;
    }
    const failures = this.failed.get(crl) ?? new Set<string>();
    failures.add(signer.id);
    this.failed.set(crl, failures);
  }
}
