import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { escapeUnprintable } from '../x509/name.js';
import { decodeForwarded, type ForwardedCertificate } from './forwarded/decode.js';
import { MAX_FORWARDED_HEADER_BYTES, type ProxyFormat } from './forwarded/formats.js';
import type { CertificateSource, RequestLike, SourceReading } from './source.js';
import { tlsSocketSource } from './tls-socket.js';

/**
 * Certificates forwarded by a TLS-terminating proxy in HTTP headers. The request's immediate peer
 * decides: a trusted proxy's requests are judged on the header(s) alone (the socket's certificate,
 * if any, is the proxy's own); anyone else's on their own TLS connection, headers ignored. Readings
 * are request-scoped, keyed by a digest of the header values: a proxy reuses one upstream
 * connection for many clients, so nothing may be remembered per connection.
 */

/** Payload of the `proxy-header-ignored` event: who sent the header, and which header. */
export interface ProxyHeaderIgnored {
  readonly peer: string;
  readonly header: string;
}

/** The validated `proxy` option (src/guard/proxy-options.ts). */
export interface ProxySettings {
  isTrusted(address: string): boolean;
  format: ProxyFormat;
  names: { cert: string; chain?: string };
  onHeaderIgnored?: ((event: ProxyHeaderIgnored) => unknown) | undefined;
}

/**
 * Decoded readings remembered by the raw header value(s) themselves: a known client's next request
 * costs a string-keyed lookup (V8 hashes the value once, then compares on a hit), not a SHA-256
 * and a decode. The key counts toward the byte budget.
 */
const DECODED_MEMORY_BYTES = 2 * 1024 * 1024;
const DECODED_ENTRIES = 1024;
const ENTRY_BYTES = 512;

const UNTRUSTED_HINT =
  'the proxy forwards only what its format carries (nginx, Apache and Caddy: the leaf alone); ' +
  'configure the intermediates with the `intermediates` option';

/** The peer's address, an IPv4-mapped IPv6 address as plain IPv4 (`::ffff:10.0.0.7` is `10.0.0.7`). */
export function peerAddress(req: RequestLike): string | undefined {
  const address = (req.socket as { remoteAddress?: unknown } | undefined)?.remoteAddress;
  if (typeof address !== 'string' || address === '') return undefined;
  // Most peers are plain IPv4: only an address starting with ':' can be IPv4-mapped.
  const mapped = address.charCodeAt(0) === 0x3a ? /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address) : null;
  return mapped ? (mapped[1] as string) : address;
}

interface HeaderValues {
  cert: string[];
  chain: string[];
  /** Raw value bytes of both headers (Node decodes header bytes as latin1: one char per byte). */
  bytes: number;
}

/** Every raw value of the two headers, in arrival order; repeats are kept, never joined. */
function headerValues(req: RequestLike, names: ProxySettings['names']): HeaderValues {
  const found: HeaderValues = { cert: [], chain: [], bytes: 0 };
  const raw = req.rawHeaders;
  if (raw) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i] as string;
      if (name.length !== names.cert.length && name.length !== names.chain?.length) continue;
      const lower = name.toLowerCase();
      const into = lower === names.cert ? found.cert : lower === names.chain ? found.chain : undefined;
      if (!into) continue;
      const value = raw[i + 1] as string;
      into.push(value);
      found.bytes += value.length;
    }
    return found;
  }
  // No rawHeaders (a hand-made request-like object): Node joins repeats with ", ", which no
  // format's single certificate value contains, so such a value counts as repeated (refused).
  for (const [name, into] of [
    [names.cert, found.cert],
    [names.chain, found.chain],
  ] as const) {
    const value = name === undefined ? undefined : req.headers?.[name];
    const joined = typeof value === 'string' && into === found.cert ? value.split(', ') : undefined;
    const values = value === undefined ? [] : (joined ?? (typeof value === 'string' ? [value] : [...value]));
    for (const v of values) {
      into.push(v);
      found.bytes += v.length;
    }
  }
  return found;
}

function digestOf(format: ProxyFormat, values: HeaderValues): string {
  const hash = createHash('sha256').update(format).update('\0');
  for (const v of values.cert) hash.update(v, 'latin1').update('\n');
  hash.update('\0');
  for (const v of values.chain) hash.update(v, 'latin1').update('\n');
  return `proxy:${hash.digest('base64')}`;
}

/** The header values as one string (values hold no line breaks: HTTP forbids them), for the decoded-reading memory. */
function lookupKeyOf(values: HeaderValues): string {
  if (values.cert.length === 1 && values.chain.length === 0) return values.cert[0] as string;
  return `${values.cert.join('\n')}\0${values.chain.join('\n')}`;
}

function refusalReading(detail: string, via: string): SourceReading {
  return Object.freeze({ kind: 'refusal', code: 'CERT_MALFORMED', detail: `${detail} [${via}]` });
}

/** Requests already reported: a guard may read one request twice (its cached() fast path, then check()). */
const reported = new WeakSet<object>();

/** Tells the operator hook a header was ignored; its failures are warnings, never verdicts. */
function notifyIgnored(settings: ProxySettings, req: RequestLike, peer: string | undefined): void {
  const hook = settings.onHeaderIgnored;
  const { cert, chain } = settings.names;
  const header = req.headers?.[cert] !== undefined ? cert : chain && req.headers?.[chain] !== undefined ? chain : '';
  if (!hook || header === '' || reported.has(req)) return;
  reported.add(req);
  const warn = (err: unknown) =>
    process.emitWarning(
      `certgate: an onHeaderIgnored hook failed: ${(err as Error)?.message ?? String(err)}`,
      'CertgateWarning',
    );
  try {
    const pending = hook(Object.freeze({ peer: peer ?? 'unknown', header }));
    if (typeof (pending as PromiseLike<unknown> | undefined)?.then === 'function') {
      (pending as PromiseLike<unknown>).then(undefined, warn);
    }
  } catch (err) {
    warn(err);
  }
}

/**
 * The `proxy` guard option's source. `direct` judges requests from untrusted peers (the TLS
 * connection's own certificate, as without `proxy`).
 */
export function forwardedSource(
  settings: ProxySettings,
  direct: CertificateSource = tlsSocketSource,
): CertificateSource {
  const decoded = new LRUCache<string, SourceReading>({
    max: DECODED_ENTRIES,
    maxSize: DECODED_MEMORY_BYTES,
    sizeCalculation: (reading, key) =>
      (reading.kind === 'certificate'
        ? reading.ders.reduce((n, d) => n + d.length, 0)
        : 2 * (reading.detail?.length ?? 0)) +
      ENTRY_BYTES +
      2 * key.length,
  });
  const { names, format } = settings;
  /** Per proxy connection, the last header value(s) and their reading (a memo of `decoded`, not a verdict). */
  const lastOnConnection = new WeakMap<object, { key: string; reading: SourceReading }>();

  const fromHeaders = (req: RequestLike, peer: string): SourceReading => {
    const via = `proxy ${peer}, header ${names.cert}`;
    const values = headerValues(req, names);
    if (values.bytes > MAX_FORWARDED_HEADER_BYTES) {
      return refusalReading(`header ${names.cert}: over ${MAX_FORWARDED_HEADER_BYTES} bytes`, via);
    }
    if (values.cert.length === 0 && values.chain.length === 0) {
      return Object.freeze({ kind: 'none', detail: `no ${names.cert} header from the proxy [${via}]` });
    }
    const valuesKey = lookupKeyOf(values);
    // The last value this connection forwarded: a proxy's keep-alive connection mostly carries one
    // client's requests in a row, and comparing two strings is cheaper than hashing one for the
    // lookup. A different value (another client on the same connection) falls through.
    const connection = typeof req.socket === 'object' && req.socket !== null ? req.socket : undefined;
    const last = connection ? lastOnConnection.get(connection) : undefined;
    if (last && last.key === valuesKey) return last.reading;
    const known = decoded.get(valuesKey);
    if (known) {
      if (connection) lastOnConnection.set(connection, { key: valuesKey, reading: known });
      return known;
    }
    const reading = readingOf(decodeForwarded(format, values.cert, values.chain, names), values, via);
    // Refusals too: a value is decoded once, however often it is sent (a guard reads a request twice).
    decoded.set(valuesKey, reading);
    if (connection) lastOnConnection.set(connection, { key: valuesKey, reading });
    return reading;
  };

  const readingOf = (result: ForwardedCertificate, values: HeaderValues, via: string): SourceReading => {
    if (result.kind === 'malformed') return refusalReading(escapeUnprintable(result.detail), via);
    if (result.kind === 'none')
      return Object.freeze({ kind: 'none', detail: `the proxy forwarded no certificate [${via}]` });
    return Object.freeze({
      kind: 'certificate',
      scope: 'request',
      cacheKey: digestOf(format, values),
      ders: Object.freeze(result.ders),
      via,
      origin: 'proxy',
      ...(result.ders.length === 1 ? { untrustedHint: UNTRUSTED_HINT } : {}),
    });
  };

  return Object.freeze({
    read(req: RequestLike): SourceReading {
      const peer = peerAddress(req);
      let trusted = false;
      try {
        trusted = peer !== undefined && settings.isTrusted(peer);
      } catch {
        // An application predicate that throws trusts no one: the header is ignored, never believed.
      }
      if (trusted) return fromHeaders(req, peer as string);
      notifyIgnored(settings, req, peer);
      return direct.read(req);
    },
  });
}
