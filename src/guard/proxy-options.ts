import proxyaddr from 'proxy-addr';
import { configError } from '../verifier/options.js';
import { describeType } from '../x509/pem.js';
import { optionNames } from '../model/option-names.js';
import { DEFAULT_HEADERS, PROXY_FORMATS, type ProxyFormat } from '../sources/forwarded/formats.js';
import type { ProxyHeaderIgnored, ProxySettings } from '../sources/forwarded-source.js';

export type { ProxyFormat } from '../sources/forwarded/formats.js';
export type { ProxyHeaderIgnored } from '../sources/forwarded-source.js';

/** The proxies allowed to forward a certificate: IPs, CIDRs, proxy-addr's names, or a predicate. */
export type ProxyTrust =
  | 'loopback'
  | 'linklocal'
  | 'uniquelocal'
  | (string & {})
  | readonly string[]
  | ((address: string) => boolean);

/** The guard option `proxy`: the certificate comes from a header a trusted proxy sets. */
export interface ProxyOptions {
  /**
   * Required. Only requests whose immediate peer (the TCP connection's address) matches are read
   * from the header; every other request is judged on its own TLS connection, header ignored.
   */
  trust: ProxyTrust;
  /** Required: how the proxy encodes the certificate (see README, "Behind a proxy"). */
  format: ProxyFormat;
  /** The certificate header's name; default: the format's. */
  header?: string;
  /** A header carrying the intermediates (formats with a separate chain header: rfc9440, haproxy). */
  chainHeader?: string;
  /**
   * Event `proxy-header-ignored`: a peer outside `trust` sent the certificate header (a spoofing
   * attempt, or a proxy missing from `trust`). For logs and metrics; a throw or rejection is
   * reported as a process warning and never changes the verdict.
   */
  onHeaderIgnored?: (event: ProxyHeaderIgnored) => unknown;
}

export const PROXY_OPTION_NAMES = optionNames<ProxyOptions>()([
  'trust',
  'format',
  'header',
  'chainHeader',
  'onHeaderIgnored',
]);

/** RFC 9110 token: the characters a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function headerName(value: unknown, option: string, where: string): string {
  if (typeof value !== 'string' || !TOKEN.test(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : describeType(value);
    throw configError(where, `option 'proxy.${option}' must be a header name (an RFC 9110 token), got ${shown}`);
  }
  return value.toLowerCase();
}

/** Peers whose trust answer is remembered: the proxies, and at most this many other addresses. */
const REMEMBERED_PEERS = 256;

/**
 * A fixed address list's answer per peer, remembered: proxy-addr parses the address on every call
 * (~3 us), and a proxy's requests all come from a handful of addresses. Bounded, so a flood from
 * many addresses only costs the parse again. Never for an application's function, whose answer
 * may change.
 */
function rememberAnswers(isTrusted: (address: string) => boolean): (address: string) => boolean {
  const answers = new Map<string, boolean>();
  return (address) => {
    let answer = answers.get(address);
    if (answer === undefined) {
      answer = isTrusted(address);
      if (answers.size >= REMEMBERED_PEERS) answers.clear();
      answers.set(address, answer);
    }
    return answer;
  };
}

function trustPredicate(trust: unknown, where: string): (address: string) => boolean {
  if (typeof trust === 'function') {
    const predicate = trust as (address: string) => unknown;
    return (address) => predicate(address) === true;
  }
  const list = typeof trust === 'string' ? [trust] : trust;
  if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string' && a.trim() !== '')) {
    throw configError(
      where,
      `option 'proxy.trust' must be an IP address, a CIDR, 'loopback' | 'linklocal' | 'uniquelocal', ` +
        `a non-empty array of those, or a function (address) => boolean; got ${describeType(trust)}`,
    );
  }
  try {
    const compiled = proxyaddr.compile(list.map((a: string) => a.trim()));
    return rememberAnswers((address) => compiled(address, 0));
  } catch (err) {
    throw configError(where, `option 'proxy.trust': ${(err as Error).message}`, err);
  }
}

function chainHeaderOf(format: ProxyFormat, chainHeader: unknown, where: string): string | undefined {
  const fallback = DEFAULT_HEADERS[format].chain;
  if (chainHeader === undefined) return fallback;
  if (fallback === undefined) {
    throw configError(where, `option 'proxy.chainHeader': format '${format}' has no separate chain header`);
  }
  return headerName(chainHeader, 'chainHeader', where);
}

/** Validates the `proxy` option once, at guard creation; every problem names the option. */
export function parseProxyOptions(value: unknown, where: string): ProxySettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(where, `option 'proxy' must be an object, got ${describeType(value)}`);
  }
  const options = value as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!(PROXY_OPTION_NAMES as readonly string[]).includes(key)) {
      throw configError(where, `unknown option 'proxy.${key}' (known: ${PROXY_OPTION_NAMES.join(', ')})`);
    }
  }
  if (options.trust === undefined) throw configError(where, `option 'proxy.trust' is required`);
  if (options.format === undefined) throw configError(where, `option 'proxy.format' is required`);
  const format = options.format as ProxyFormat;
  if (!PROXY_FORMATS.includes(format)) {
    const shown = typeof format === 'string' ? `'${format}'` : describeType(format);
    throw configError(where, `option 'proxy.format' must be one of ${PROXY_FORMATS.join(', ')}; got ${shown}`);
  }
  const { onHeaderIgnored } = options;
  if (onHeaderIgnored !== undefined && typeof onHeaderIgnored !== 'function') {
    throw configError(where, `option 'proxy.onHeaderIgnored' must be a function, got ${describeType(onHeaderIgnored)}`);
  }
  const cert =
    options.header === undefined ? DEFAULT_HEADERS[format].cert : headerName(options.header, 'header', where);
  const chain = chainHeaderOf(format, options.chainHeader, where);
  if (chain === cert) throw configError(where, `options 'proxy.header' and 'proxy.chainHeader' name the same header`);
  return {
    isTrusted: trustPredicate(options.trust, where),
    format,
    names: chain === undefined ? { cert } : { cert, chain },
    onHeaderIgnored: onHeaderIgnored as ProxySettings['onHeaderIgnored'],
  };
}
