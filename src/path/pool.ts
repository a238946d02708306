import type { ParsedCertificate } from '../x509/certificate.js';

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
