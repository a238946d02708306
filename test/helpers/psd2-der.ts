/**
 * Hand-written DER for PSD2 statements (test side only): the shapes OpenSSL's ASN.1 generator
 * cannot write (truncated lengths, 10,000 roles, deep nesting) and the unit tests' inputs.
 */

export const QC_STATEMENTS = '1.3.6.1.5.5.7.1.3';
export const PSD2_STATEMENT = '0.4.0.19495.2';
export const ROLE_OID = {
  PSP_AS: '0.4.0.19495.1.1',
  PSP_PI: '0.4.0.19495.1.2',
  PSP_AI: '0.4.0.19495.1.3',
  PSP_IC: '0.4.0.19495.1.4',
} as const;

/** One DER TLV (test-side, for the raw `DER:` statements OpenSSL's generator cannot write). */
export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const content = Buffer.concat(parts);
  const n = content.length;
  const octets: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v % 256);
  const header = n < 0x80 ? [tag, n] : [tag, 0x80 | octets.length, ...octets];
  return Buffer.concat([Buffer.from(header), content]);
}

/** The DER of an OBJECT IDENTIFIER. */
export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const octets = [40 * a + b];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    octets.push(...chunk);
  }
  return tlv(0x06, Buffer.from(octets));
}

export const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
export const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);

/** A well-formed QCStatements value with one PSD2 statement (raw DER). */
export function psd2Der(roles: readonly Psd2RoleName[], ncaName = 'Financial Conduct Authority', ncaId = 'GB-FCA') {
  const roleSeq = seq(...roles.map((r) => seq(oid(ROLE_OID[r]), utf8(r))));
  return seq(seq(oid(PSD2_STATEMENT), seq(roleSeq, utf8(ncaName), utf8(ncaId))));
}

export type Psd2RoleName = keyof typeof ROLE_OID;
