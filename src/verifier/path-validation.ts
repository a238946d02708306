import type { ParsedCertificate } from '../x509/certificate.js';
import type { Failure, PathResult, SignatureBudget } from '../model/verdict.js';
import { buildPath, chainedAnchors } from '../path/builder.js';
import type { CertificatePool } from '../path/pool.js';
import { pathOutcome, pathPolicy, type PathPolicy } from '../path/policy.js';
import { checkRevocation, type RevocationInput } from '../revocation/path-revocation.js';
import type { SignatureToCheck } from '../revocation/crl-checker.js';
import { signatureCost } from '../x509/key-policy.js';
import type { CertificateCache } from './certificate-cache.js';
import { CrlSignatures } from './crl-signatures.js';
import type { VerifierConfig } from './options.js';
import type { RevocationSources } from './revocation-sources.js';

/** Separate CRL-signing certificates validated within one verification, at most this deep. */
export const MAX_CRL_SIGNER_DEPTH = 2;

/** One verification's path search: its instant, its signature budget, its distribution points. */
export interface ValidationRun {
  at: number;
  budget: SignatureBudget;
  distributionPoints: RevocationInput['distributionPoints'];
  /** Large CRL signatures this decision needs checked before it can be final. */
  checkSignatures: RevocationInput['checkSignatures'];
  onUnknown(failure: Failure): void;
}

/**
 * Path building plus the path rules plus revocation, for a leaf: RFC 5280 section 6 as one call.
 * Also validates separate CRL signers (RFC 5280 section 6.3.3 (f)), which share the caller's
 * signature budget and may only be configured certificates: a client cannot make the verifier
 * validate certificates it sent just to sign a CRL.
 */
export class PathValidator {
  /** The client's leaf: the configured purpose. */
  private readonly clientRules: PathPolicy;
  /** A separate CRL signer: no purpose (RFC 5280 section 6.3.3 (f) asks for a valid path only). */
  private readonly signerRules: PathPolicy;
  /** Configured CA certificates that a configured certificate issues: not path ends (see chainedAnchors). */
  private readonly chainedAnchors: ReadonlySet<string>;
  /** CRL signatures: small ones checked at once, large ones by {@link checkCrlSignatures}. */
  private readonly crlSignatures: CrlSignatures;

  constructor(
    private readonly config: VerifierConfig,
    private readonly anchors: CertificatePool,
    private readonly configuredIntermediates: CertificatePool,
    private readonly cache: CertificateCache,
    private readonly revocation: RevocationSources,
  ) {
    const { purpose, legacyAlgorithms, clockToleranceMs, maxChainDepth, policies } = config;
    this.clientRules = pathPolicy({ purpose, legacyAlgorithms, clockToleranceMs, maxChainDepth, policies });
    this.signerRules = pathPolicy({ purpose: false, legacyAlgorithms, clockToleranceMs, maxChainDepth });
    this.chainedAnchors = chainedAnchors(anchors);
    // A CRL whose signature verifies with a validated path's issuer teaches its source that
    // issuer (crl-slots.ts): from then on, the source's deliveries are verified as they arrive.
    this.crlSignatures = new CrlSignatures(cache, legacyAlgorithms, (crl, signer) => revocation.learn(crl, signer));
  }

  /** Checks large CRL signatures a decision asked for, off the request path; never rejects. */
  checkCrlSignatures(checks: readonly SignatureToCheck[]): Promise<void> {
    return this.crlSignatures.check(checks);
  }

  validate(leaf: ParsedCertificate, intermediates: CertificatePool, run: ValidationRun): PathResult {
    return this.validateAt(leaf, intermediates, this.clientRules, run, 0);
  }

  private validateAt(
    leaf: ParsedCertificate,
    intermediates: CertificatePool,
    rules: PathPolicy,
    run: ValidationRun,
    signerDepth: number,
  ): PathResult {
    const { anchors, cache } = this;
    const revocation = this.revocationInput(run, signerDepth);
    return buildPath(leaf, {
      anchors,
      chainedAnchors: this.chainedAnchors,
      intermediates,
      maxChainDepth: rules.maxChainDepth,
      signedBy: (child, issuer) => cache.signedBy(child, issuer),
      costOf: (issuer) => signatureCost(issuer.key, this.config.legacyAlgorithms),
      checkPath: (path) => {
        const ruled = pathOutcome(path, rules, run.at, run.budget);
        if (!ruled.ok) return ruled;
        const revoked = checkRevocation(path, revocation);
        return revoked.ok ? { ...revoked, policies: ruled.policies } : revoked;
      },
      budget: run.budget,
    });
  }

  private revocationInput(run: ValidationRun, signerDepth: number): RevocationInput {
    const { config, revocation } = this;
    const settings = config.crlSettings;
    return {
      at: run.at,
      clockToleranceMs: config.clockToleranceMs,
      gracePeriodMs: settings.gracePeriodMs,
      crls: revocation.checker,
      crlsPending: revocation.pending,
      requireCrl: config.requireCrl,
      whenUnavailable: settings.whenUnavailable,
      // OCSP is about the client's leaf, not about the certificates that sign CRLs.
      leafOcsp: revocation.ocsp !== undefined && signerDepth === 0,
      distributionPoints: run.distributionPoints,
      ...(run.checkSignatures ? { checkSignatures: run.checkSignatures } : {}),
      onUnknown: run.onUnknown,
      crlSignedBy: (crl, signer) => this.crlSignatures.signedBy(crl, signer),
      signerCandidates: (crl) => this.configuredNamed(crl.issuerKey),
      validateSigner: (signer) => {
        // A CRL signer's path needs its own revocation check, which may need another signer:
        // bounded so that a hostile set of CRLs cannot recurse.
        if (signerDepth >= MAX_CRL_SIGNER_DEPTH)
          return { ok: false, failure: { code: 'REVOCATION_UNKNOWN', detail: 'CRL signer paths nest too deeply' } };
        return this.validateAt(signer, this.configuredIntermediates, this.signerRules, run, signerDepth + 1);
      },
    };
  }

  /** Configured certificates (anchors and intermediates) with this subject. */
  configuredNamed(subjectKey: string): ParsedCertificate[] {
    return [...this.anchors.withSubject(subjectKey), ...this.configuredIntermediates.withSubject(subjectKey)];
  }
}
