/** Inputs users hand us for certificates and CRLs: PEM text, a DER buffer, or a list of those. */
export type PemOrDer = string | Buffer | Uint8Array;
export type PemOrDerInput = PemOrDer | readonly PemOrDer[];

export interface DerItem {
  /** The PEM label (`CERTIFICATE`, `X509 CRL`, ...) or `undefined` for a bare DER buffer. */
  label: string | undefined;
  der: Buffer;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
const LABEL = /^[A-Z0-9 ]+$/;
const BASE64_BODY = /^[A-Za-z0-9+/=\s]*$/;

export class PemError extends Error {}

/** A Buffer is PEM when it starts (after whitespace) with a PEM header: DER always starts 0x30. */
function looksLikePem(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  return bytes[i] === 0x2d; // '-'
}

/** `-----BEGIN label-----` at `at`: the label and where the body starts, or undefined for no such header. */
function readBoundary(text: string, at: number, kind: string): { label: string; end: number } | undefined {
  const labelStart = at + kind.length;
  const close = text.indexOf(DASHES, labelStart);
  if (close === -1) return undefined;
  const label = text.slice(labelStart, close);
  return LABEL.test(label) ? { label, end: close + DASHES.length } : undefined;
}

function decodeBody(label: string, body: string): Buffer {
  // Encapsulated headers (Proc-Type, ...) belong to encrypted keys, never to certificates.
  if (!BASE64_BODY.test(body)) throw new PemError(`the ${label} PEM block is not valid base64`);
  const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  if (der.length === 0) throw new PemError(`the ${label} PEM block is empty`);
  return der;
}

/**
 * One forward pass: every search starts where the previous one stopped, so hostile text (say a
 * megabyte of BEGIN lines and no END) costs linear time. A block runs from its BEGIN line to the
 * next `-----` boundary, which must be the END line of the same label: a BEGIN without its END is
 * a truncated or spliced file, refused rather than skipped.
 */
function decodePemText(text: string): DerItem[] {
  const items: DerItem[] = [];
  let at = text.indexOf(BEGIN);
  while (at !== -1) {
    const begin = readBoundary(text, at, BEGIN);
    if (begin === undefined) {
      at = text.indexOf(BEGIN, at + BEGIN.length);
      continue;
    }
    const bodyEnd = text.indexOf(DASHES, begin.end);
    const end = bodyEnd === -1 || !text.startsWith(END, bodyEnd) ? undefined : readBoundary(text, bodyEnd, END);
    if (end === undefined) throw new PemError(`the ${begin.label} PEM block has no END line`);
    if (end.label !== begin.label) {
      throw new PemError(`the ${begin.label} PEM block ends with an END line for ${end.label}`);
    }
    items.push({ label: begin.label, der: decodeBody(begin.label, text.slice(begin.end, bodyEnd)) });
    at = text.indexOf(BEGIN, end.end);
  }
  if (items.length === 0) {
    throw new PemError(text.trim() === '' ? 'it is empty' : 'it holds no PEM block (-----BEGIN ...-----)');
  }
  return items;
}

/** Splits any accepted input into DER items; throws PemError describing what was wrong. */
export function decodePemOrDer(input: PemOrDerInput): DerItem[] {
  if (Array.isArray(input)) return input.flatMap((one) => decodePemOrDer(one as PemOrDer));
  if (typeof input === 'string') return decodePemText(input);
  if (input instanceof Uint8Array) {
    if (input.length === 0) throw new PemError('it is empty');
    if (looksLikePem(input)) return decodePemText(Buffer.from(input).toString('latin1'));
    // Certificates and CRLs are DER SEQUENCEs; anything else is neither form.
    if (input[0] !== 0x30) throw new PemError('it holds no PEM block (-----BEGIN ...-----) and is not DER either');
    // A copy: parsed certificates are cached, and callers may reuse their buffers.
    return [{ label: undefined, der: Buffer.from(input) }];
  }
  throw new PemError(`expected PEM text, a DER Buffer, or an array of these, got ${describeType(input)}`);
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object'
    ? `an object (${(value as object).constructor?.name ?? 'Object'})`
    : `a ${typeof value}`;
}

/** Keeps items whose label is one of `labels` (bare DER is accepted as any); names the first stranger. */
export function expectLabels(items: DerItem[], labels: readonly string[], what: string): Buffer[] {
  return items.map((item) => {
    if (item.label !== undefined && !labels.includes(item.label)) {
      throw new PemError(`it holds a ${item.label}, not a ${what}`);
    }
    return item.der;
  });
}

/**
 * Decodes every item of one kind (PEM label `label`, or bare DER) and parses each with `parse`;
 * a wrong label or an item that does not parse is a PemError naming the item
 * (`certificate #2 is malformed: ...`).
 */
export function decodeEach<T>(
  input: PemOrDerInput,
  label: string,
  what: string,
  parse: (der: Buffer) => T,
  problem: string,
): T[] {
  return expectLabels(decodePemOrDer(input), [label], what).map((der, i) => {
    try {
      return parse(der);
    } catch (err) {
      throw new PemError(`${what} #${i + 1} ${problem}: ${(err as Error).message}`);
    }
  });
}
