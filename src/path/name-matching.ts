import type { GeneralName } from '../x509/general-name.js';
import { rdnKeys, type Name } from '../x509/name.js';

/**
 * Whether one name lies within one name constraint's subtree (RFC 5280 section 4.2.1.10), form by
 * form. Each matcher answers true or false, or undefined when the name or the constraint cannot be
 * compared (a malformed mailbox, a URI without a host): the caller fails closed on undefined, as
 * Go's crypto/x509 does, because a name that cannot be placed is not known to be inside a subtree
 * nor known to be outside an excluded one. Only the five forms RFC 5280 defines matching for are
 * here; the others are unsupported (src/path/name-constraints.ts).
 */

/** Which list a constraint comes from: a malformed constraint is read in the direction that fails closed. */
export type SubtreeRole = 'permitted' | 'excluded';

/** RFC 1035 section 2.3.4: a name is at most 253 characters in text, a label at most 63. */
const MAX_DOMAIN_LENGTH = 253;
/**
 * A label: letters, digits, hyphens (RFC 1123), and underscores, which service names use. Anything
 * else (NUL, "/", spaces, "%", non-ASCII) cannot be placed in a subtree: a C consumer stops at a
 * NUL, and "evil.example\0.good.example" must not pass as a name below good.example.
 */
const LABEL = /^[a-z0-9_-]{1,63}$/;

/**
 * A domain lower-cased, or undefined when it is not a well-formed one: an empty label (a leading,
 * trailing or doubled dot), a label of other characters than {@link LABEL}, over 253 characters.
 * `wildcard`: a leftmost label "*" is allowed (a subjectAltName, not a constraint). Domains are
 * compared as strings rather than label arrays.
 */
function domain(text: string, wildcard = false): string | undefined {
  if (text.length === 0 || text.length > MAX_DOMAIN_LENGTH) return undefined;
  const lower = text.toLowerCase();
  const labels = lower.split('.');
  for (const [i, label] of labels.entries()) {
    if (!LABEL.test(label) && !(wildcard && i === 0 && label === '*' && labels.length > 1)) return undefined;
  }
  return lower;
}

/** `name` is `parent` or below it, label-wise (`below`: strictly below, at least one label more). */
function within(name: string, parent: string, below: boolean): boolean {
  if (name.length === parent.length) return !below && name === parent;
  return name.endsWith(parent) && name.charCodeAt(name.length - parent.length - 1) === 0x2e;
}

/** A host constraint of rfc822Name and URI: a host, or (a leading period) the hosts below a domain. */
interface HostConstraint {
  readonly host: string;
  readonly below: boolean;
}

/** A dNSName constraint: empty (every name), or a domain with or without a leading period. */
type DnsConstraint = { readonly all: true } | { readonly domain: string; readonly leadingPeriod: boolean };

const dnsName = (text: string): string | undefined => domain(text, true);

function dnsConstraint(text: string): DnsConstraint | undefined {
  if (text.length === 0) return { all: true };
  const leadingPeriod = text.startsWith('.');
  const parent = domain(leadingPeriod ? text.slice(1) : text);
  return parent === undefined ? undefined : { domain: parent, leadingPeriod };
}

/**
 * dNSName: "any DNS name that can be constructed by simply adding zero or more labels to the
 * left-hand side of the name satisfies the name constraint"; an empty constraint matches every
 * name. RFC 5280 gives dNSName constraints no leading-period form (URI and rfc822Name have one).
 * OpenSSL and Go read ".example.com" as "the subdomains of example.com"; certgate takes the
 * stricter of the two readings in each list: excluded, it excludes example.com and all its
 * subdomains; permitted, it permits nothing (x509-limbo rfc5280::nc::invalid-dnsname-leading-period
 * requires the path to fail). A SAN dNSName with an empty label is malformed and never permitted
 * (x509-limbo rfc5280::nc::nc-permits-invalid-dns-san).
 */
function dnsWithin(host: string | undefined, c: DnsConstraint | undefined, role: SubtreeRole): boolean | undefined {
  if (host === undefined) return undefined;
  if (c && 'all' in c) return true;
  if (c?.leadingPeriod && role === 'permitted') return false;
  return c === undefined ? undefined : within(host, c.domain, false);
}

export function matchDns(name: string, constraint: string, role: SubtreeRole): boolean | undefined {
  return dnsWithin(dnsName(name), dnsConstraint(constraint), role);
}

/** local-part "@" domain: exactly one unquoted "@", a non-empty local part and a well-formed domain. */
interface Mailbox {
  readonly local: string;
  readonly host: string;
}

function mailbox(text: string): Mailbox | undefined {
  const at = text.lastIndexOf('@');
  if (at <= 0) return undefined;
  const local = text.slice(0, at);
  // RFC 5321 section 4.1.2: "@" may appear in a local part only inside a quoted string.
  const quoted = local.length >= 2 && local.startsWith('"') && local.endsWith('"');
  if (!quoted && local.includes('@')) return undefined;
  const host = domain(text.slice(at + 1));
  return host === undefined ? undefined : { local, host };
}

function hostConstraint(text: string): HostConstraint | undefined {
  const below = text.startsWith('.');
  const host = domain(below ? text.slice(1) : text);
  return host === undefined ? undefined : { host, below };
}

const emailConstraint = (text: string): Mailbox | HostConstraint | undefined =>
  text.includes('@') ? mailbox(text) : hostConstraint(text);

/**
 * rfc822Name: a constraint is a mailbox ("root@example.com": that mailbox), a host ("example.com":
 * every mailbox on that host) or a domain (".example.com": every mailbox on a host below it, not
 * on example.com itself). Local parts compare exactly, domains case-insensitively (RFC 5280
 * section 7.5). A malformed mailbox on either side cannot be compared (x509-limbo
 * rfc5280::nc::invalid-email-address and nc-permits-invalid-email-san).
 */
function emailWithin(box: Mailbox | undefined, c: Mailbox | HostConstraint | undefined): boolean | undefined {
  if (!box || !c) return undefined;
  if ('local' in c) return box.local === c.local && box.host === c.host;
  return c.below ? within(box.host, c.host, true) : box.host === c.host;
}

export function matchEmail(name: string, constraint: string): boolean | undefined {
  return emailWithin(mailbox(name), emailConstraint(constraint));
}

/**
 * WHATWG URL parsers (Node's among them) read a backslash as "/", decode "%2E" and drop tabs and
 * newlines: an authority holding any of these (or another control character or a space) may name
 * another host to the application than to this check.
 */
function misreadable(authority: string): boolean {
  for (let i = 0; i < authority.length; i++) {
    const c = authority.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x5c || c === 0x25) return true;
  }
  return false;
}

/**
 * The host of an absolute URI with an authority (RFC 3986 section 3.2.2), lower-cased; undefined
 * when there is none ("urn:...", "mailto:..."), or when it is an IP literal, which a URI
 * constraint (a fully qualified domain name) cannot place.
 */
export function uriHost(uri: string): string | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(uri)?.[1];
  if (authority === undefined) return undefined;
  if (misreadable(authority)) return undefined;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostPort.startsWith('[')) return undefined;
  const host = hostPort.replace(/:\d*$/, '');
  if (host.length === 0 || /^[\d.]+$/.test(host)) return undefined;
  return host.toLowerCase();
}

const uriName = (uri: string): string | undefined => {
  const raw = uriHost(uri);
  return raw === undefined ? undefined : domain(raw);
};

/**
 * uniformResourceIdentifier: "the constraint applies to the host part of the name ... When the
 * constraint begins with a period, it MAY be expanded with one or more subdomains ... When the
 * constraint does not begin with a period, it specifies a host." A URI without a host cannot be
 * compared, so it fails closed under any URI constraint.
 */
function uriWithin(host: string | undefined, c: HostConstraint | undefined): boolean | undefined {
  if (host === undefined || c === undefined) return undefined;
  return c.below ? within(host, c.host, true) : host === c.host;
}

export function matchUri(name: string, constraint: string): boolean | undefined {
  return uriWithin(uriName(name), hostConstraint(constraint));
}

/**
 * iPAddress: the constraint is an address and a mask of the same family ("192.0.2.0/24"); an
 * IPv4 address never matches an IPv6 constraint, nor the reverse (RFC 5280 section 4.2.1.10).
 */
export function matchIp(address: Buffer, base: Buffer, mask: Buffer): boolean {
  if (address.length !== base.length) return false;
  for (let i = 0; i < address.length; i++) {
    const m = mask[i] as number;
    if (((address[i] as number) & m) !== ((base[i] as number) & m)) return false;
  }
  return true;
}

/**
 * directoryName: the name is in the subtree when its leading RDNs equal the constraint's RDNs,
 * compared as RFC 5280 section 7.1 compares names (src/x509/name.ts canonicalNameKey).
 */
export function matchDn(name: Name, constraint: Name): boolean {
  if (name.length < constraint.length) return false;
  const have = rdnKeys(name);
  return rdnKeys(constraint).every((key, i) => key === have[i]);
}

/** The forms this module compares; a constraint of any other form is unsupported. */
export type MatchableForm = 'directoryName' | 'rfc822Name' | 'dNSName' | 'uniformResourceIdentifier' | 'iPAddress';

export const MATCHABLE_FORMS: ReadonlySet<string> = new Set<MatchableForm>([
  'directoryName',
  'rfc822Name',
  'dNSName',
  'uniformResourceIdentifier',
  'iPAddress',
]);

/**
 * Parses of decoded names and constraints, per GeneralName object: certificates are cached decoded,
 * so each is parsed once however many comparisons the cap allows (a quarter of a million per
 * verification), and a parse lives as long as its certificate, never evicted early.
 */
const parses = new WeakMap<object, unknown>();

function parsedOnce<T>(owner: object, parse: (text: string) => T | undefined, text: string): T | undefined {
  if (parses.has(owner)) return parses.get(owner) as T | undefined;
  const parsed = parse(text);
  parses.set(owner, parsed);
  return parsed;
}

/** One name against one constraint of the same form (undefined: cannot be compared, or an unsupported form). */
export function nameMatches(name: GeneralName, base: GeneralName, role: SubtreeRole): boolean | undefined {
  if (name.type === 'dNSName' && base.type === 'dNSName') {
    return dnsWithin(parsedOnce(name, dnsName, name.value), parsedOnce(base, dnsConstraint, base.value), role);
  }
  if (name.type === 'rfc822Name' && base.type === 'rfc822Name') {
    return emailWithin(parsedOnce(name, mailbox, name.value), parsedOnce(base, emailConstraint, base.value));
  }
  if (name.type === 'uniformResourceIdentifier' && base.type === 'uniformResourceIdentifier') {
    return uriWithin(parsedOnce(name, uriName, name.value), parsedOnce(base, hostConstraint, base.value));
  }
  if (name.type === 'iPAddress' && base.type === 'iPAddress' && base.mask) {
    return matchIp(name.address, base.address, base.mask);
  }
  if (name.type === 'directoryName' && base.type === 'directoryName') return matchDn(name.name, base.name);
  return undefined;
}
