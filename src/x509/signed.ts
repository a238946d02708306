import {
  cursor,
  DerError,
  readBitString,
  readBoolean,
  readElement,
  readOid,
  readRoot,
  TAG,
  type Element,
} from './der.js';

/** Certificate and CertificateList ::= SEQUENCE { tbs, signatureAlgorithm, signatureValue BIT STRING }. */
export interface SignedEnvelope {
  tbs: Element;
  algorithm: Element;
  signature: Buffer;
}

export function readSigned(der: Buffer): SignedEnvelope {
  const top = cursor(der, readRoot(der, TAG.SEQUENCE));
  const tbs = top.next(TAG.SEQUENCE);
  const algorithm = top.next(TAG.SEQUENCE);
  const sig = readBitString(der, top.next(TAG.BIT_STRING));
  top.end();
  if (sig.unused !== 0) throw new DerError('signature BIT STRING has unused bits');
  return { tbs, algorithm, signature: sig.data };
}

export interface Extension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING. */
  value: Element;
}

/**
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension, where Extension ::= SEQUENCE { extnID,
 * critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }; each extension at most once
 * (RFC 5280 sections 4.2 and 5.2).
 */
export function readExtensions(bytes: Uint8Array, el: Element): Extension[] {
  const list = cursor(bytes, el, TAG.SEQUENCE);
  const out: Extension[] = [];
  const seen = new Set<string>();
  while (!list.done) {
    const ext = cursor(bytes, list.next(TAG.SEQUENCE));
    const oid = readOid(bytes, ext.next(TAG.OID));
    const criticalEl = ext.optional(TAG.BOOLEAN);
    const value = ext.next(TAG.OCTET_STRING);
    ext.end();
    if (seen.has(oid)) throw new DerError(`duplicate extension ${oid}`);
    seen.add(oid);
    out.push({ oid, critical: criticalEl ? readBoolean(bytes, criticalEl) : false, value });
  }
  return out;
}

/** The one element an extension's OCTET STRING wraps, which must fill it exactly. */
export function extensionValue(bytes: Uint8Array, octets: Element): Element {
  const el = readElement(bytes, octets.contentStart, octets.end);
  if (el.end !== octets.end) throw new DerError('trailing bytes in extension value');
  return el;
}
