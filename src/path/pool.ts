import type { ParsedCertificate } from '../x509/certificate.js';

/**
 * How many certificates with one subject name a client's presented chain may add as issuer
 * candidates; the rest are ignored. Real chains carry one certificate per name, two or three with
 * key rollover or cross-signing; a hostile one carries a hundred, each one more signature check.
 */
export const MAX_PRESENTED_PER_NAME = 4;

/** Certificates indexed by canonical subject name, for issuer lookup. */
export class CertificatePool {
  private readonly bySubject = new Map<string, ParsedCertificate[]>();
  private readonly ids = new Set<string>();

  constructor(certs: Iterable<ParsedCertificate> = []) {
    for (const c of certs) this.add(c);
  }

  add(cert: ParsedCertificate): void {
    if (this.ids.has(cert.id)) return;
    this.ids.add(cert.id);
    const list = this.bySubject.get(cert.subjectKey);
    if (list) list.push(cert);
    else this.bySubject.set(cert.subjectKey, [cert]);
  }

  /**
   * The configured intermediates plus what a client presented, at most
   * {@link MAX_PRESENTED_PER_NAME} presented certificates per subject name (in presented order).
   */
  static withPresented(
    configured: Iterable<ParsedCertificate>,
    presented: Iterable<ParsedCertificate>,
  ): CertificatePool {
    const pool = new CertificatePool(configured);
    const added = new Map<string, number>();
    for (const cert of presented) {
      const n = added.get(cert.subjectKey) ?? 0;
      if (n >= MAX_PRESENTED_PER_NAME || pool.has(cert)) continue;
      added.set(cert.subjectKey, n + 1);
      pool.add(cert);
    }
    return pool;
  }

  has(cert: ParsedCertificate): boolean {
    return this.ids.has(cert.id);
  }

  all(): IterableIterator<ParsedCertificate> {
    return [...this.bySubject.values()].flat().values();
  }

  withSubject(subjectKey: string): readonly ParsedCertificate[] {
    return this.bySubject.get(subjectKey) ?? [];
  }
}
