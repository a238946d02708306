import { readFileSync } from 'node:fs';
import { decodeEach, PemError } from '../x509/pem.js';
import { parseCertificate, type ParsedCertificate } from '../x509/certificate.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** Wrong arguments or unreadable input: a one-line message and exit code 2, never a stack trace. */
export class UsageError extends Error {}

export function readInputFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new UsageError(`cannot read ${what} file "${path}": ${why}`);
  }
}

/** Reads a file that must hold certificates; garbage, keys and empty files are input errors. */
export function readCertificateFile(path: string, what: string): ParsedCertificate[] {
  const bytes = readInputFile(path, what);
  try {
    return decodeEach(bytes, 'CERTIFICATE', 'certificate', parseCertificate, 'is malformed');
  } catch (err) {
    if (err instanceof PemError) throw new UsageError(`${what} file "${path}" is unusable: ${err.message}`);
    throw err;
  }
}
