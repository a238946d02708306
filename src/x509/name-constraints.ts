import type { Element } from './der.js';
import type { GeneralName } from './general-name.js';

/**
 * RFC 5280 section 4.2.1.10: NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees
 * OPTIONAL, excludedSubtrees [1] GeneralSubtrees OPTIONAL }. (Decoding only: what the constraints
 * mean for a path is src/path/name-constraints.ts.)
 */
export interface GeneralSubtree {
  readonly base: GeneralName;
}

export interface NameConstraints {
  readonly permitted?: readonly GeneralSubtree[];
  readonly excluded?: readonly GeneralSubtree[];
}

/** Decodes the extension value; throws DerError on anything malformed. (Stub: filled in by the name constraints work.) */
export function decodeNameConstraints(_bytes: Uint8Array, _root: Element): NameConstraints {
  return {};
}
