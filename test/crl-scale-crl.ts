/**
 * Large signed CRLs for the large-CRL tests, DER-encoded by hand (fast enough for hundreds of
 * thousands of entries): a reason code on every entry, as `openssl ca -gencrl` writes them.
 */
import { createPrivateKey, randomBytes, sign, webcrypto } from 'node:crypto';
import { encodeElement, TAG } from '../src/x509/der.js';
import type { Made } from './unit/pki.js';

const seq = (...parts: Buffer[]) => encodeElement(TAG.SEQUENCE, Buffer.concat(parts));
const utc = (d: Date) =>
  encodeElement(TAG.UTC_TIME, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`, 'latin1'));
const ECDSA_SHA256 = Buffer.from('300a06082a8648ce3d040302', 'hex');
/** Reason codes in the shares real CAs publish them (RFC 5280 section 5.3.1). */
const REASONS = [5, 5, 5, 5, 4, 4, 4, 1, 1, 3];

/** Entry i: a 16-octet serial, a date, and a reasonCode extension (as OpenSSL writes it). */
function entry(serial: Buffer, date: Buffer, i: number): Buffer {
  const reason = Buffer.from(
    `300c300a0603551d1504030a01${(REASONS[i % REASONS.length] as number).toString(16).padStart(2, '0')}`,
    'hex',
  );
  return seq(encodeElement(TAG.INTEGER, serial), date, reason);
}

export const serial = () => {
  const s = randomBytes(16);
  s[0] = ((s[0] as number) & 0x7f) | 1;
  return s;
};

/**
 * A CRL by `ca` with `count` entries (`listed` first); `corruptAt` breaks that entry's INTEGER tag;
 * CRL number `number` (2 unless given, at most 127).
 */
export async function bigCrl(
  ca: Made,
  count: number,
  listed: Buffer[],
  corruptAt?: number,
  number = 2,
): Promise<Buffer> {
  const now = Date.now();
  const date = utc(new Date(now - 3_600_000));
  const entries: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const e = entry(listed[i] ?? serial(), date, i);
    if (i === corruptAt) e[2] = TAG.NULL;
    entries.push(e);
  }
  const aki = Buffer.concat([Buffer.from('301f0603551d23041830168014', 'hex'), Buffer.from(ca.keyId, 'hex')]);
  const crlNumber = Buffer.from(`300a0603551d1404030201${number.toString(16).padStart(2, '0')}`, 'hex');
  const issuer = Buffer.from(ca.x509.subjectName.toArrayBuffer());
  const tbs = seq(
    Buffer.from('020101', 'hex'),
    ECDSA_SHA256,
    issuer,
    date,
    utc(new Date(now + 86_400_000)),
    encodeElement(TAG.SEQUENCE, Buffer.concat(entries)),
    encodeElement(0xa0, seq(aki, crlNumber)),
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', ca.keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const signature = Buffer.concat([Buffer.from([0]), sign('sha256', tbs, key)]);
  return seq(tbs, ECDSA_SHA256, encodeElement(TAG.BIT_STRING, signature));
}

export const pemOf = (der: Buffer) =>
  `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`;
