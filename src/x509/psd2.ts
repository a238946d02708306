import { cursor, DerError, readElement, readOid, readString, TAG, type Element } from './der.js';
import { escapeUnprintable } from './name.js';

/**
 * The PSD2 attributes of an eIDAS QWAC or QSealC (ETSI TS 119 495 clause 5.1), read from the
 * qcStatements extension (RFC 3739 section 3.2.6):
 *
 *   QCStatements ::= SEQUENCE OF QCStatement
 *   QCStatement ::= SEQUENCE { statementId OID, statementInfo ANY DEFINED BY statementId OPTIONAL }
 *   PSD2QcType ::= SEQUENCE { rolesOfPSP RolesOfPSP, nCAName NCAName, nCAId NCAId }
 *   RolesOfPSP ::= SEQUENCE OF RoleOfPSP
 *   RoleOfPSP ::= SEQUENCE { roleOfPspOid OID, roleOfPspName UTF8String (SIZE(1..256)) }
 *   NCAName, NCAId ::= UTF8String (SIZE(1..256))
 *
 * The extension is non-critical in practice, so a statement certgate cannot read never refuses the
 * certificate: the reading is "no PSD2 attributes" and the reason is kept for the operator event.
 * Everything is read strictly (DER, the exact types, no extra fields): a statement that two
 * readers could understand differently grants no role.
 */

/** The PSP roles of ETSI TS 119 495 clause 4.2, by their abbreviated names. */
export type Psd2Role = 'PSP_AS' | 'PSP_PI' | 'PSP_AI' | 'PSP_IC';

/** What a certificate's PSD2 statement says (frozen). */
export interface Psd2Info {
  /** In the certificate's order, each at most once. */
  readonly roles: readonly Psd2Role[];
  /** The competent authority's name, e.g. "Financial Conduct Authority". */
  readonly ncaName: string;
  /** The competent authority's identifier, e.g. "GB-FCA". */
  readonly ncaId: string;
}

export const QC_STATEMENTS_OID = '1.3.6.1.5.5.7.1.3';
/** id-etsi-psd2-qcStatement: { itu-t(0) identified-organization(4) etsi(0) psd2(19495) qcstatement(2) }. */
export const PSD2_STATEMENT_OID = '0.4.0.19495.2';

/** id-psd2-role-psp-as .. -ic: 0.4.0.19495.1.{1..4}. */
const ROLE_BY_OID: ReadonlyMap<string, Psd2Role> = new Map([
  ['0.4.0.19495.1.1', 'PSP_AS'],
  ['0.4.0.19495.1.2', 'PSP_PI'],
  ['0.4.0.19495.1.3', 'PSP_AI'],
  ['0.4.0.19495.1.4', 'PSP_IC'],
]);

/**
 * Roles read at most: one of each known role (a duplicate or an unknown OID stops the reading
 * anyway), so a RolesOfPSP of 10,000 entries costs five element headers, not 10,000.
 */
export const MAX_PSD2_ROLES = ROLE_BY_OID.size;
/** The ASN.1's SIZE(1..256) for role names, NCAName and NCAId, in characters. */
export const MAX_PSD2_STRING_CHARS = 256;
/** A UTF-8 character is at most 4 octets: anything longer is over the limit before it is decoded. */
const MAX_PSD2_STRING_OCTETS = 4 * MAX_PSD2_STRING_CHARS;

/**
 * Statements that only describe the certificate (RFC 3739 3.2.6: in a critical qcStatements every
 * statement is critical): with these and a well-formed PSD2 statement, certgate processes all a
 * critical qcStatements says. QcLimitValue (0.4.0.1862.1.2) and QcRetentionPeriod (.1.3) set
 * terms a relying party must honour, and any other statement is unknown: a critical extension
 * holding one is not processed (CERT_EXTENSION_UNSUPPORTED).
 */
const INFORMATIONAL_STATEMENTS: ReadonlySet<string> = new Set([
  '1.3.6.1.5.5.7.11.1', // id-qcs-pkixQCSyntax-v1 (RFC 3739): semantics identifier
  '1.3.6.1.5.5.7.11.2', // id-qcs-pkixQCSyntax-v2
  '0.4.0.1862.1.1', // QcCompliance (ETSI EN 319 412-5)
  '0.4.0.1862.1.4', // QcSSCD
  '0.4.0.1862.1.5', // QcPDS
  '0.4.0.1862.1.6', // QcType
  '0.4.0.1862.1.7', // QcCClegislation
]);

/** What the qcStatements extension gave: the PSD2 attributes, or why there are none (undefined: no statement). */
export interface QcStatementsReading {
  psd2?: Psd2Info;
  psd2Ignored?: string;
  /**
   * Whether certgate processes everything the extension says (it decodes, its PSD2 statement is
   * well-formed, every other statement is informational): a critical one is honoured only then.
   */
  qcStatementsUnderstood: boolean;
}

/** A statement that is DER but not what ETSI TS 119 495 allows (DerError covers the rest). */
class Psd2Malformed extends Error {}

/** Certificate text for an operator message: quoted, unprintable characters escaped. */
const quoted = (s: string): string => escapeUnprintable(JSON.stringify(s));

/** A UTF8String of 1..256 characters; `what` names the field in the reason. */
function readText(bytes: Uint8Array, el: Element, what: string): string {
  if (el.tag !== TAG.UTF8_STRING) {
    // Strict: the ASN.1 says UTF8String; a PrintableString here is an issuer error, not a variant.
    throw new Psd2Malformed(`${what} is not a UTF8String (tag 0x${el.tag.toString(16)})`);
  }
  const octets = el.end - el.contentStart;
  if (octets === 0) throw new Psd2Malformed(`${what} is empty`);
  if (octets > MAX_PSD2_STRING_OCTETS)
    throw new Psd2Malformed(`${what} is longer than ${MAX_PSD2_STRING_CHARS} characters`);
  const text = readString(bytes, el) as string;
  let chars = 0;
  for (const _ of text) chars++;
  if (chars > MAX_PSD2_STRING_CHARS)
    throw new Psd2Malformed(`${what} is longer than ${MAX_PSD2_STRING_CHARS} characters`);
  // Control, bidi and invisible characters have no place in a name or an identifier, and would
  // reach logs and operator details as they are (what prints as "GB-FCA" must be "GB-FCA").
  if (escapeUnprintable(text) !== text) throw new Psd2Malformed(`${what} ${quoted(text)} has unprintable characters`);
  return text;
}

/** RoleOfPSP: the OID decides the role; the name must be the one ETSI TS 119 495 pairs with it. */
function readRole(bytes: Uint8Array, el: Element): Psd2Role {
  const c = cursor(bytes, el, TAG.SEQUENCE);
  const oid = readOid(bytes, c.next(TAG.OID));
  const name = readText(bytes, c.next(), 'a roleOfPspName');
  c.end();
  const role = ROLE_BY_OID.get(oid);
  if (!role) throw new Psd2Malformed(`unknown PSP role OID ${oid}`);
  // ETSI TS 119 495 REG-5.2.2-5: the name is the one associated with the OID.
  if (name !== role) throw new Psd2Malformed(`role name ${quoted(name)} contradicts its OID ${oid} (${role})`);
  return role;
}

/** PSD2QcType, the PSD2 statement's statementInfo. */
function readPsd2QcType(bytes: Uint8Array, el: Element | undefined): Psd2Info {
  if (!el) throw new Psd2Malformed('the PSD2 statement has no statementInfo');
  const c = cursor(bytes, el, TAG.SEQUENCE);
  const rolesEl = c.next();
  if (rolesEl.tag !== TAG.SEQUENCE) throw new Psd2Malformed('rolesOfPSP is not a SEQUENCE');
  const rc = cursor(bytes, rolesEl);
  const roles: Psd2Role[] = [];
  while (!rc.done) {
    if (roles.length === MAX_PSD2_ROLES) throw new Psd2Malformed(`more than ${MAX_PSD2_ROLES} roles`);
    const role = readRole(bytes, rc.next());
    if (roles.includes(role)) throw new Psd2Malformed(`role ${role} is listed twice`);
    roles.push(role);
  }
  // ETSI TS 119 495 GEN-5.2.2-1: one or more roles.
  if (roles.length === 0) throw new Psd2Malformed('rolesOfPSP is empty');
  const ncaName = readText(bytes, c.next(), 'nCAName');
  const ncaId = readText(bytes, c.next(), 'nCAId');
  c.end();
  return Object.freeze({ roles: Object.freeze(roles), ncaName, ncaId });
}

/**
 * Reads the qcStatements extension value (the extnValue OCTET STRING element). Never throws: a
 * malformed extension or PSD2 statement is a reason in `psd2Ignored`. Statements other than the
 * PSD2 one (QcCompliance, QcType, QcPDS, ...) are walked past without reading their info.
 */
export function readQcStatements(bytes: Uint8Array, octets: Element): QcStatementsReading {
  let found: Element | undefined;
  let statementInfo: Element | undefined;
  let informational = true;
  try {
    const root = readElement(bytes, octets.contentStart, octets.end);
    if (root.end !== octets.end) throw new DerError('trailing bytes in extension value');
    const list = cursor(bytes, root, TAG.SEQUENCE);
    while (!list.done) {
      const statementEl = list.next(TAG.SEQUENCE);
      const statement = cursor(bytes, statementEl);
      const id = readOid(bytes, statement.next(TAG.OID));
      const info = statement.done ? undefined : statement.next();
      statement.end();
      if (id !== PSD2_STATEMENT_OID) {
        if (!INFORMATIONAL_STATEMENTS.has(id)) informational = false;
        continue;
      }
      // Two statements could grant different roles: neither is believed.
      if (found) return { psd2Ignored: 'the certificate has two PSD2 statements', qcStatementsUnderstood: false };
      found = statementEl;
      statementInfo = info;
    }
  } catch (err) {
    const psd2Ignored = `the qcStatements extension is malformed (${(err as Error).message})`;
    return { psd2Ignored, qcStatementsUnderstood: false };
  }
  if (!found) return { qcStatementsUnderstood: informational };
  try {
    return { psd2: readPsd2QcType(bytes, statementInfo), qcStatementsUnderstood: informational };
  } catch (err) {
    return {
      psd2Ignored: `the PSD2 statement is malformed (${(err as Error).message})`,
      qcStatementsUnderstood: false,
    };
  }
}
