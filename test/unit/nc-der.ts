/**
 * Hand-built DER for the name constraint unit tests: every byte under test is visible. Lengths up
 * to 65535 (the pathological tests build constraint lists of a few kilobytes).
 */
export const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  if (body.length > 0xffff) throw new Error('test helper: lengths up to 65535 only');
  let length: number[];
  if (body.length < 0x80) length = [body.length];
  else if (body.length <= 0xff) length = [0x81, body.length];
  else length = [0x82, body.length >> 8, body.length & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
};
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

/** GeneralName forms, IMPLICIT-tagged as RFC 5280's module has them. */
export const gn = {
  email: (v: string) => tlv(0x81, ascii(v)),
  dns: (v: string) => tlv(0x82, ascii(v)),
  uri: (v: string) => tlv(0x86, ascii(v)),
  /** An iPAddress constraint: address then mask, as hex. */
  ip: (hex: string) => tlv(0x87, Buffer.from(hex, 'hex')),
  /** directoryName [4] EXPLICIT Name: one RDN per `cn` value. */
  dn: (...cn: string[]) =>
    tlv(0xa4, tlv(0x30, ...cn.map((v) => tlv(0x31, tlv(0x30, Buffer.from('0603550403', 'hex'), tlv(0x0c, ascii(v))))))),
  /** registeredID [8] 1.2.3.4 */
  rid: () => tlv(0x88, Buffer.from('2a0304', 'hex')),
  /** otherName [0] { 1.2.3.4, [0] NULL } */
  other: () => tlv(0xa0, tlv(0x06, Buffer.from('2a0304', 'hex')), tlv(0xa0, Buffer.from('0500', 'hex'))),
};

/** GeneralSubtree ::= SEQUENCE { base, minimum [0] DEFAULT 0, maximum [1] OPTIONAL } (extra fields raw). */
export const subtree = (base: Buffer, ...extra: Buffer[]): Buffer => tlv(0x30, base, ...extra);

/** NameConstraints with the given permitted and excluded bases (undefined: the field is absent). */
export function ncDer(permitted?: Buffer[], excluded?: Buffer[]): Buffer {
  const fields: Buffer[] = [];
  if (permitted) fields.push(tlv(0xa0, ...permitted.map((b) => subtree(b))));
  if (excluded) fields.push(tlv(0xa1, ...excluded.map((b) => subtree(b))));
  return tlv(0x30, ...fields);
}
