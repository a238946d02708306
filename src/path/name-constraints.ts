import type { ParsedCertificate } from '../x509/certificate.js';
import { ipText, type GeneralName } from '../x509/general-name.js';
import { escapeUnprintable, formatDn } from '../x509/name.js';
import type { GeneralSubtree, NameConstraints } from '../x509/name-constraints.js';
import { describe, type Failure } from '../model/verdict.js';
import { MATCHABLE_FORMS, nameMatches } from './name-matching.js';

/**
 * RFC 5280 sections 6.1.3 (b), (c) and 6.1.4 (g): the names of every certificate below a CA
 * against the subtrees that CA permits and excludes.
 *
 * RFC 5280 keeps one permitted_subtrees (the intersection over the path) and one excluded_subtrees
 * (the union). Checking every name against each CA above it on its own is the same test: a name
 * is within the intersection exactly when it is within the permitted subtrees of every CA that
 * constrains its form, and within the union exactly when some CA excludes it. Excluded wins over
 * permitted, since a name must pass both.
 *
 * The trust anchor's own nameConstraints are honoured, as OpenSSL and Go do (RFC 5280 section 6.1.1
 * leaves anchor constraints to the implementation; certgate already takes the anchor's pathLen at
 * its word).
 */

/**
 * At most this many name x constraint comparisons per verification (every path it tries), as Go's
 * maxConstraintComparisons (250,000) and OpenSSL's NAME_CHECK_MAX (2^20) bound the quadratic work
 * a path can ask for (x509-limbo pathological::nc-dos-1: 1,027 constraints against 514 names).
 * Counted before any comparison (countComparisons), so a path over what is left costs only the count.
 */
export const MAX_NAME_CONSTRAINT_COMPARISONS = 250_000;

/** PKCS #9 emailAddress, which RFC 5280 section 4.2.1.10 puts under rfc822Name constraints. */
const EMAIL_ADDRESS = '1.2.840.113549.1.9.1';

/**
 * The names rules apply to: the subject when it is not empty (directoryName), the subject's
 * emailAddress attributes (rfc822Name: "the rfc822Name constraint MUST be applied to the attribute
 * of type emailAddress in the subject distinguished name"; applied whether or not a subjectAltName
 * is present, as OpenSSL does) and every subjectAltName.
 */
export function namesOf(cert: ParsedCertificate): GeneralName[] {
  const names: GeneralName[] = [];
  if (cert.subjectName.length > 0) names.push({ type: 'directoryName', name: cert.subjectName });
  for (const rdn of cert.subjectName) {
    for (const attribute of rdn) {
      // An emailAddress that is not text cannot be compared: as '' it fails any rfc822Name constraint.
      if (attribute.type === EMAIL_ADDRESS) names.push({ type: 'rfc822Name', value: attribute.text ?? '' });
    }
  }
  names.push(...(cert.subjectAltNames ?? []));
  return names;
}

/** A name as details print it: escaped, since certificate text reaches logs. */
export function nameText(name: GeneralName): string {
  switch (name.type) {
    case 'directoryName':
      return `directoryName "${formatDn(name.name)}"`;
    case 'iPAddress':
      return `iPAddress ${ipText(name.address)}${name.mask ? `/${ipText(name.mask)}` : ''}`;
    case 'rfc822Name':
    case 'dNSName':
    case 'uniformResourceIdentifier':
      return `${name.type} "${escapeUnprintable(name.value)}"`;
    case 'otherName':
      return `otherName ${name.typeId}`;
    case 'registeredID':
      return `registeredID ${name.oid}`;
    default:
      return name.type;
  }
}

/** One CA above, and the certificates below it whose names its constraints reach. */
interface Reach {
  ca: ParsedCertificate;
  constraints: NameConstraints;
  below: ParsedCertificate[];
}

/**
 * Each CA with nameConstraints (the anchor included) and the certificates below it, leaf first.
 * RFC 5280 section 6.1.3 (b), (c): self-issued certificates are exempt unless they are the leaf
 * ("This could prevent CAs that use name constraints from employing self-issued certificates to
 * implement key rollover"); their own constraints still apply below them.
 */
function reaches(path: readonly ParsedCertificate[]): Reach[] {
  const out: Reach[] = [];
  for (let j = 1; j < path.length; j++) {
    const ca = path[j] as ParsedCertificate;
    if (!ca.nameConstraints) continue;
    const below = path.slice(0, j).filter((cert, i) => i === 0 || !cert.selfIssued);
    out.push({ ca, constraints: ca.nameConstraints, below });
  }
  return out;
}

/**
 * The comparisons a path may need, counted as OpenSSL counts them (v3_ncons.c, NAME_CHECK_MAX):
 * every subject attribute and every subjectAltName of each certificate below a CA, times all of
 * that CA's subtrees, whatever their forms. The count bounds the work from above, and a
 * certificate cannot slip a thousand subject attributes past it because they are of a form no
 * constraint names (x509-limbo pathological::nc-dos-*).
 */
function countComparisons(all: readonly Reach[]): number {
  let count = 0;
  for (const { constraints, below } of all) {
    const subtrees = (constraints.permitted?.length ?? 0) + (constraints.excluded?.length ?? 0);
    for (const cert of below) {
      const attributes = cert.subjectName.reduce((sum, rdn) => sum + rdn.length, 0);
      count += (attributes + (cert.subjectAltNames?.length ?? 0)) * subtrees;
    }
  }
  return count;
}

/** Whether `subtrees` hold one of `form` (no allocation: this runs for every name and CA). */
function hasForm(subtrees: readonly GeneralSubtree[] | undefined, form: string): boolean {
  if (subtrees) for (const s of subtrees) if (s.base.type === form) return true;
  return false;
}

/** Why `name` fails `constraints`, or undefined when it passes. */
function violation(name: GeneralName, constraints: NameConstraints): string | undefined {
  const form = name.type;
  const { permitted, excluded } = constraints;
  const anyPermitted = hasForm(permitted, form);
  if (!anyPermitted && !hasForm(excluded, form)) return undefined;
  // RFC 5280 section 4.2.1.10: "If a name constraints extension that is marked as critical imposes
  // constraints on a particular name form, and an instance of that name form appears in the
  // subject field or subjectAltName extension of a subsequent certificate, then the application
  // MUST either process the constraint or reject the certificate." certgate rejects.
  if (!MATCHABLE_FORMS.has(form)) return `has a constraint on ${form} names, which certgate cannot check`;
  for (const s of excluded ?? []) {
    if (s.base.type !== form) continue;
    const hit = nameMatches(name, s.base, 'excluded');
    if (hit === undefined) return 'has an excluded subtree it cannot be compared with';
    if (hit) return `excludes ${nameText(s.base)}`;
  }
  if (!anyPermitted) return undefined;
  let comparable = true;
  for (const s of permitted ?? []) {
    if (s.base.type !== form) continue;
    const hit = nameMatches(name, s.base, 'permitted');
    if (hit) return undefined;
    if (hit === undefined) comparable = false;
  }
  return comparable ? `does not permit it` : 'has permitted subtrees it cannot be compared with';
}

/** RFC 5280 sections 6.1.3 (b), (c): the first name in the path outside what a CA above allows. */
export function checkNameConstraints(
  path: readonly ParsedCertificate[],
  budget: { nameComparisons: number } = { nameComparisons: MAX_NAME_CONSTRAINT_COMPARISONS },
): Failure | undefined {
  // The common case costs one scan: no constraints anywhere, nothing to do.
  if (!path.some((cert) => cert.nameConstraints !== undefined)) return undefined;
  const all = reaches(path);
  const count = countComparisons(all);
  // Charged before any comparison, to the verification's budget: path building may try many
  // paths under constrained CAs, and a path that would pass the cap costs only its count.
  if (count > budget.nameComparisons) {
    const left = budget.nameComparisons;
    const detail =
      `the path needs ${count} name constraint comparisons, over the ${left} left of the limit of ` +
      `${MAX_NAME_CONSTRAINT_COMPARISONS} per verification (${describe(path[0] as ParsedCertificate)})`;
    return { code: 'CERT_NAME_CONSTRAINED', detail };
  }
  budget.nameComparisons -= count;
  // Each certificate's names, read once (by position in the path).
  const names: (GeneralName[] | undefined)[] = [];
  const namesAt = (i: number) => (names[i] ??= namesOf(path[i] as ParsedCertificate));
  // From the anchor down, as RFC 5280 section 6.1 processes the path.
  for (let r = all.length - 1; r >= 0; r--) {
    const { ca, constraints, below } = all[r] as Reach;
    for (let b = below.length - 1; b >= 0; b--) {
      const cert = below[b] as ParsedCertificate;
      for (const name of namesAt(path.indexOf(cert))) {
        const why = violation(name, constraints);
        if (why) {
          const detail = `${describe(cert)} has ${nameText(name)}, but the name constraints of ${describe(ca)} ${why}`;
          return { code: 'CERT_NAME_CONSTRAINED', detail };
        }
      }
    }
  }
  return undefined;
}
