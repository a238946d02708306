/**
 * Hostile client certificates for the flood bench and tests: self-signed, each distinct, each with a
 * subject (and so an issuer) of about `subjectBytes` bytes made of many small attributes (the
 * shape that costs a decoder the most objects per byte). Built as DER by hand and signed with one
 * reused ECDSA P-256 key: thousands of them take a second, not a minute.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);

// 2.5.4.11 organizationalUnitName, 2.5.4.3 commonName, 1.2.840.10045.4.3.2 ecdsa-with-SHA256.
const OU = Buffer.from('060355040b', 'hex');
const CN = Buffer.from('0603550403', 'hex');
const ECDSA_SHA256 = seq(Buffer.from('06082a8648ce3d040302', 'hex'));

function attribute(oid: Buffer, value: string): Buffer {
  return tlv(0x31, seq(oid, tlv(0x0c, Buffer.from(value, 'utf8'))));
}

export interface FloodCertificate {
  der: Buffer;
  pem: string;
}

export interface FloodMaker {
  /** The private key every certificate certifies (PEM, for a TLS client). */
  keyPem: string;
  make(index: number): FloodCertificate;
}

/**
 * A maker of distinct hostile certificates; `subjectBytes` about 28 KB reproduces the reported flood.
 * With `issuerName` (a Name's DER, e.g. a trust anchor's subject) they claim that issuer instead of
 * being self-signed, so that every one costs the verifier a signature check that fails.
 */
export function floodMaker(subjectBytes = 28 * 1024, issuerName?: Buffer): FloodMaker {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const run = randomBytes(6).toString('hex');
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    make: (index) => certificate(index, run, subjectBytes, spki, privateKey, issuerName),
  };
}

function certificate(
  index: number,
  run: string,
  subjectBytes: number,
  spki: Buffer,
  key: KeyObject,
  issuerName: Buffer | undefined,
) {
  const unique = `flood-${run}-${index}`;
  const parts = [attribute(CN, unique)];
  // Each attribute is ~48 bytes of DER: an OU of 36 characters, distinct per certificate.
  for (let n = 0, bytes = 0; bytes < subjectBytes; n++) {
    const a = attribute(OU, `${unique}-${n}`.padEnd(36, 'x').slice(0, 36));
    parts.push(a);
    bytes += a.length;
  }
  const name = seq(...parts);
  const serial = tlv(0x02, Buffer.concat([Buffer.from([0x01]), randomBytes(15)]));
  const validity = seq(tlv(0x17, Buffer.from('200101000000Z')), tlv(0x17, Buffer.from('491231000000Z')));
  const version = tlv(0xa0, tlv(0x02, Buffer.from([2])));
  const tbs = seq(version, serial, ECDSA_SHA256, issuerName ?? name, validity, name, spki);
  const signature = sign('sha256', tbs, key);
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), signature));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return { der, pem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n` };
}
