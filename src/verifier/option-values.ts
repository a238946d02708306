import { CertgateError } from '../errors.js';
import { decodeEach, describeType, PemError, type PemOrDerInput } from '../x509/pem.js';
import { parseCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { MalformedCrlError, parseCrl, type ParsedCrl } from '../revocation/crl.js';
import { checkCrlHeader, deferredCrl, LARGE_CRL_BYTES } from '../revocation/crl-header.js';

/** Validators shared by the verifier's options: each names the option and what was wrong. */

export function configError(where: string, message: string, cause?: unknown): CertgateError {
  return new CertgateError('CONFIG_INVALID', `${where}: ${message}`, { detail: message, cause });
}

export function parseCertificates(input: PemOrDerInput, where: string, option: string): ParsedCertificate[] {
  try {
    return decodeEach(input, 'CERTIFICATE', 'certificate', parseCertificate, 'is malformed');
  } catch (err) {
    if (err instanceof PemError)
      throw configError(
        where,
        `option '${option}' ${err.message.startsWith('certificate #') ? 'has a problem' : 'is unusable'}: ` +
          err.message,
        err,
      );
    throw err;
  }
}

/**
 * Static CRLs. A value of LARGE_CRL_BYTES or more is not decoded here (that would block the event
 * loop for up to seconds): its framing and header are checked now (a fault there is CONFIG_INVALID),
 * and a placeholder stands for it until the CRL store has loaded it off the event loop (see
 * crl-header.ts); a fault found then makes its issuer's revocation status unknown.
 */
export function parseCrls(input: PemOrDerInput, where: string): ParsedCrl[] {
  const values = Array.isArray(input) ? input : [input as string | Uint8Array];
  const out: ParsedCrl[] = [];
  values.forEach((value, i) => {
    if (value.length >= LARGE_CRL_BYTES) {
      out.push(deferredCrl(largeCrlHeader(value, where, values.length > 1 ? `CRL #${i + 1} ` : ''), value));
      return;
    }
    try {
      out.push(...decodeEach(value, 'X509 CRL', 'CRL', parseCrl, 'does not parse'));
    } catch (err) {
      if (err instanceof PemError) throw configError(where, `option 'crl' is unusable: ${err.message}`, err);
      throw err;
    }
  });
  return out;
}

/** The synchronous part of a large CRL's checks (crl-header.ts): CONFIG_INVALID when it fails. */
export function largeCrlHeader(value: string | Uint8Array, where: string, which: string, total?: number) {
  try {
    return checkCrlHeader(value, total);
  } catch (err) {
    if (err instanceof MalformedCrlError)
      throw configError(where, `option 'crl' is unusable: ${which}does not parse: ${err.message}`, err);
    throw err;
  }
}

/** A value as an error message shows it: numbers as themselves, anything else by its type. */
export function shown(value: unknown): string {
  return typeof value === 'number' ? String(value) : describeType(value);
}

export function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

export function positiveMs(value: unknown, where: string, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw configError(where, `option '${option}' must be a positive number of milliseconds, got ${shown(value)}`);
  }
  return value;
}

export function stringList(value: unknown, where: string, option: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    throw configError(where, `option '${option}' must be an array of non-empty strings`);
  }
  return [...value];
}

export function httpUrls(value: unknown, where: string, option: string): string[] {
  const urls = stringList(value, where, option);
  for (const url of urls) {
    let protocol = '';
    try {
      protocol = new URL(url).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'http:' && protocol !== 'https:')
      throw configError(where, `option '${option}' holds "${url}", which is not an http: or https: URL`);
  }
  return urls;
}

export function whenUnavailableOption(value: unknown, where: string, option: string): 'reject' | 'allow' {
  if (value === undefined) return 'reject';
  if (value !== 'reject' && value !== 'allow')
    throw configError(
      where,
      `option '${option}' must be 'reject' or 'allow', got ${JSON.stringify(value) ?? describeType(value)}`,
    );
  return value;
}

export function nonNegativeInteger(
  value: unknown,
  where: string,
  option: string,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw configError(where, `option '${option}' must be an integer from 0 to ${max}, got ${shown(value)}`);
  }
  return value;
}

export function integerInRange(value: unknown, where: string, option: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw configError(where, `option '${option}' must be an integer from ${min} to ${max}, got ${shown(value)}`);
  }
  return value;
}

export function booleanOption(value: unknown, where: string, option: string): boolean {
  if (value === undefined) return false;
  // Strings like 'false' are refused rather than read as true.
  if (typeof value !== 'boolean')
    throw configError(where, `option '${option}' must be true or false, got ${describeType(value)}`);
  return value;
}

export function isPemOrDerInput(value: unknown): value is PemOrDerInput {
  const one = (v: unknown) => typeof v === 'string' || v instanceof Uint8Array;
  return one(value) || (Array.isArray(value) && value.every(one));
}
