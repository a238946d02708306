import { readFileSync, statSync } from 'node:fs';
import { decodeEach, PemError } from '../x509/pem.js';
import { parseCertificate, type ParsedCertificate } from '../x509/certificate.js';

/** What JSON.stringify leaves raw that a terminal or reader acts on: DEL, C1, line separators, format characters. */
const JSON_UNPRINTABLE = /[\u007f-\u009f\u2028\u2029\p{Cf}]/gu;

/**
 * JSON for a terminal: the same value, with every character a terminal or log viewer acts on as a
 * `\uXXXX` escape (JSON.stringify itself escapes only C0), so certificate text cannot drive it.
 */
export function printableJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(
    JSON_UNPRINTABLE,
    // Per UTF-16 unit, so a tag character (beyond U+FFFF) becomes its surrogate pair's escapes.
    (c) => [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
  );
}

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** Wrong arguments or unreadable input: a one-line message and exit code 2, never a stack trace. */
export class UsageError extends Error {}

function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (err as Error).message;
}

/** Reads an input file; with `maxBytes`, a larger file is refused before it is read. */
export function readInputFile(path: string, what: string, maxBytes = Infinity): Buffer {
  let size = 0;
  try {
    size = maxBytes === Infinity ? 0 : statSync(path).size;
    if (size <= maxBytes) return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${what} file "${path}": ${readProblem(err)}`);
  }
  throw new UsageError(`${what} file "${path}" is ${size} bytes, over the ${maxBytes}-byte limit`);
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
