import * as asn1js from 'asn1js';
import { AsnParser } from '@peculiar/asn1-schema';

/** A decoded DER element: asn1js's tree, whose nodes keep the exact bytes they were decoded from. */
export type DerNode = asn1js.AsnType;

export class DerError extends Error {}

/**
 * Decodes one complete DER element with asn1js and maps it onto an @peculiar/asn1-x509 schema,
 * keeping the asn1js tree so callers can slice the exact signed bytes instead of re-encoding
 * (re-encoding costs time and may not reproduce what was signed).
 */
export function decodeDer<T>(der: Buffer, schema: new () => T): { value: T; tree: DerNode } {
  const decoded = asn1js.fromBER(der);
  if (decoded.offset === -1 || decoded.result.error) throw new DerError(decoded.result.error || 'undecodable');
  // Bytes after the element would be ignored here but may be read differently by other tools.
  if (decoded.offset !== der.length) throw new DerError('trailing bytes after the structure');
  return { value: AsnParser.fromASN(decoded.result, schema), tree: decoded.result };
}

/** Child `index` of a constructed node, as its exact encoded bytes. */
export function childBytes(node: DerNode, ...path: number[]): Buffer {
  let current: DerNode = node;
  for (const index of path) {
    const children = (current.valueBlock as { value?: DerNode[] }).value;
    const next = Array.isArray(children) ? children[index] : undefined;
    if (!next) throw new DerError('unexpected structure');
    current = next;
  }
  const view = current.valueBeforeDecodeView;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
