import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import type { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import {
  ConnectionClosedError,
  type CertificateSource,
  type RequestLike,
  type SourceReading,
  type TransportFacts,
} from './source.js';

/**
 * The TLS connection as a certificate source: the certificate the client presented in the
 * handshake Node terminated. Connection-scoped: read once per connection (an HTTP/1 socket, or
 * the TLS socket under an HTTP/2 session, whose streams each get their own socket proxy from
 * Node), so every request on it gets the same reading and a guard decides once.
 *
 * What a new connection costs (bench/new-connection.ts): reading the whole chain as JavaScript
 * objects (`getPeerCertificate(true)`) is the dearest step of certgate's per-connection work, so a
 * connection is read leaf first. The chain is read only when a guard must verify (an unknown leaf)
 * or when this process has not yet remembered the leaf's intermediates.
 */

/**
 * On a resumed TLS session OpenSSL restores only the client's leaf, not the intermediates it sent
 * in the full handshake, so we remember them per leaf. They stay untrusted helpers for path
 * building (every signature is still checked), so sharing them across connections is safe.
 */
export const INTERMEDIATES_MEMORY_BYTES = 16 * 1024 * 1024;
/** More intermediates than any real chain has; a client cannot park a junk pile per leaf. */
export const MAX_REMEMBERED_INTERMEDIATES = 8;
/** A Buffer object and its share of an entry, beyond its bytes; the key string (a fingerprint) alike. */
const BYTES_PER_BUFFER = 128;
const ENTRY_BYTES = 512;
// Bounded in bytes, not entries: a flood of handshakes can evict entries (those clients' resumed
// sessions then fail closed with a hint) but cannot grow memory.
const intermediatesByLeaf = new LRUCache<string, readonly Buffer[]>({
  maxSize: INTERMEDIATES_MEMORY_BYTES,
  sizeCalculation: (ders) => ders.reduce((n, d) => n + d.length + BYTES_PER_BUFFER, ENTRY_BYTES),
});

const RESUMED_HINT =
  'resumed TLS session: the intermediates the client sent earlier are unknown to this process; ' +
  'configure them with the `intermediates` option';

/** What is known about one TLS socket, read from OpenSSL at most once each. */
interface SocketRecord {
  /** The client's leaf (its DER and SHA-256 fingerprint only), or null when it sent none. */
  leaf: Pick<PeerCertificate, 'raw' | 'fingerprint256'> | null;
  /** The presented chain, leaf first, once read. */
  chain?: readonly Buffer[];
}

const perSocket = new WeakMap<TLSSocket, SocketRecord>();
/** The reading handed to guards, per connection (the HTTP/1 socket, or the HTTP/2 session). */
const readings = new WeakMap<object, SourceReading>();

function recordOf(socket: TLSSocket): SocketRecord {
  let record = perSocket.get(socket);
  if (!record) {
    const leaf = socket.getPeerCertificate(false);
    record = { leaf: leaf?.raw ? { raw: leaf.raw, fingerprint256: leaf.fingerprint256 } : null };
    perSocket.set(socket, record);
  }
  return record;
}

/**
 * The presented chain, leaf first. getPeerCertificate(true), not getPeerX509Certificate(): on
 * Node 20 the latter hands the intermediates to its first caller only, and removes them from the
 * connection for everyone after (getPeerCertificate(true) included). Never trusts
 * `socket.authorized`: a resumed session can report authorized without a certificate in hand.
 */
function chainOf(socket: TLSSocket, record: SocketRecord): readonly Buffer[] {
  if (record.chain) return record.chain;
  const leaf = record.leaf as NonNullable<SocketRecord['leaf']>;
  const detailed = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  const ders: Buffer[] = [leaf.raw];
  const seen = new Set([leaf.fingerprint256]);
  if (detailed?.fingerprint256 === leaf.fingerprint256) {
    for (let c = detailed.issuerCertificate; c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
      seen.add(c.fingerprint256);
      ders.push(c.raw);
    }
  }
  if (ders.length > 1) {
    const intermediates = ders.slice(1, 1 + MAX_REMEMBERED_INTERMEDIATES);
    const bytes = intermediates.reduce((n, d) => n + d.length, 0);
    if (bytes <= INTERMEDIATES_MEMORY_BYTES / 1024) intermediatesByLeaf.set(leaf.fingerprint256, intermediates);
  } else {
    const remembered = intermediatesByLeaf.get(leaf.fingerprint256);
    if (remembered) ders.push(...remembered);
  }
  record.chain = ders;
  return ders;
}

interface Connection {
  /** Lives exactly as long as the connection: the HTTP/1 socket, or the HTTP/2 session. */
  key: object;
  socket: TLSSocket;
}

function isTlsSocket(socket: unknown): socket is TLSSocket {
  return (
    !!socket &&
    typeof (socket as TLSSocket).getPeerCertificate === 'function' &&
    (socket as TLSSocket).encrypted === true
  );
}

/**
 * Whether a socket can no longer be read. Node's HTTP/2 socket proxy throws
 * ERR_HTTP2_SOCKET_UNBOUND for any property once its session let go of the socket.
 */
function isGone(socket: TLSSocket): boolean {
  try {
    return socket.destroyed === true;
  } catch {
    return true;
  }
}

/**
 * The connection a request arrived on, if over TLS; `closed` for an HTTP/2 request whose session
 * is gone (Node clears `stream.session`, and the session's socket throws once unbound).
 */
function connectionOf(req: RequestLike): Connection | 'closed' | undefined {
  const stream = req.stream as { session?: { socket?: unknown; destroyed?: boolean } } | undefined;
  // HTTP/2: `req.socket` is a proxy made per stream; the session is the connection.
  if (stream && typeof stream === 'object') {
    const session = stream.session;
    if (!session || typeof session !== 'object' || session.destroyed) return 'closed';
    const socket = session.socket;
    if (socket === undefined || isGone(socket as TLSSocket)) return 'closed';
    return isTlsSocket(socket) ? { key: session, socket } : undefined;
  }
  return isTlsSocket(req.socket) ? { key: req.socket, socket: req.socket } : undefined;
}

const NOT_TLS: SourceReading = Object.freeze({ kind: 'none', detail: 'the request did not arrive over TLS' });
const CLOSED: SourceReading = Object.freeze({
  kind: 'none',
  detail: 'the HTTP/2 session closed before its certificate was read',
});
const CHAIN_UNREAD = 'the connection closed before its certificate chain was read';
const TLS_UNREAD = 'the connection closed before its TLS parameters were read';

/**
 * A connection's reading: the leaf now, the chain only if a guard asks for `ders` (a class with
 * getters on its prototype: made once per connection, cheaper than a frozen object of accessors).
 */
class TlsReading {
  readonly kind = 'certificate' as const;
  readonly scope = 'connection' as const;
  readonly leafKey: string;
  readonly server: object | undefined;
  /**
   * What the handshake negotiated, read with the reading (once per connection): every guard's
   * `tls` rule needs it. The protocol is getProtocol()'s: getCipher().version is the oldest
   * version the suite is defined for, not the negotiated one. Undefined: the socket was already
   * closed (OpenSSL then reports nothing), which is not a weak connection.
   */
  private readonly facts: TransportFacts | undefined;

  constructor(
    private readonly socket: TLSSocket,
    private readonly record: SocketRecord,
    readonly cacheKey: object,
  ) {
    this.leafKey = `tls-leaf:${(record.leaf as NonNullable<SocketRecord['leaf']>).fingerprint256}`;
    this.server = (socket as TLSSocket & { server?: object }).server;
    if (isGone(socket)) {
      this.facts = undefined;
    } else {
      const cipher = socket.getCipher?.();
      this.facts = Object.freeze({
        protocol: socket.getProtocol?.() ?? undefined,
        cipher: cipher?.name,
        standardCipher: cipher?.standardName,
      });
    }
  }

  /** Throws ConnectionClosedError when the connection closed before its TLS parameters were read. */
  get transport(): TransportFacts {
    if (this.facts === undefined) throw new ConnectionClosedError(TLS_UNREAD);
    return this.facts;
  }

  /** Read only for operator details (a refusal): asking the socket for its peer address costs. */
  get via(): string {
    const address = isGone(this.socket) ? undefined : this.socket.remoteAddress;
    return `TLS connection${address ? ` from ${address}` : ''}`;
  }

  get closed(): boolean {
    return isGone(this.socket);
  }

  /** Throws ConnectionClosedError when the connection closed before the chain was read. */
  get ders(): readonly Buffer[] {
    if (this.record.chain) return this.record.chain;
    if (isGone(this.socket)) throw new ConnectionClosedError(CHAIN_UNREAD);
    try {
      return chainOf(this.socket, this.record);
    } catch (err) {
      if (isGone(this.socket)) throw new ConnectionClosedError(CHAIN_UNREAD);
      throw err;
    }
  }

  get untrustedHint(): string | undefined {
    const resumedWithoutChain = this.ders.length === 1 && !isGone(this.socket) && this.socket.isSessionReused();
    return resumedWithoutChain ? RESUMED_HINT : undefined;
  }
}

function readingFor(socket: TLSSocket, record: SocketRecord, key: object): SourceReading {
  if (record.leaf) return new TlsReading(socket, record, key);
  const server = (socket as TLSSocket & { server?: object }).server;
  return Object.freeze({
    kind: 'none',
    detail: 'the client sent no certificate',
    scope: 'connection',
    cacheKey: key,
    server,
  });
}

const watched = new WeakSet<object>();

/**
 * From the first guarded request on, every full handshake on `server` is looked at once: its leaf,
 * and its chain when this process does not know the leaf's intermediates yet. So a later resumed
 * session (leaf only) whose first connection visited only unguarded routes can still be verified,
 * and the chain is in hand before application code could strip it (see chainOf).
 */
function watchHandshakes(server: object | undefined): void {
  const emitter = server as EventEmitter | undefined;
  if (!emitter || watched.has(emitter) || typeof emitter.on !== 'function') return;
  watched.add(emitter);
  emitter.on('secureConnection', (socket: TLSSocket) => {
    if (socket.isSessionReused()) return;
    const record = recordOf(socket);
    if (record.leaf && !intermediatesByLeaf.has(record.leaf.fingerprint256)) chainOf(socket, record);
  });
}

/** The client certificate of the TLS connection a request arrived on. */
export const tlsSocketSource: CertificateSource = Object.freeze({
  read(req: RequestLike): SourceReading {
    // The per-request path: one WeakMap lookup by the connection (HTTP/2 session or socket), before
    // touching the socket (on HTTP/2, Node's socket proxy binds a new function per property read).
    const session = (req.stream as { session?: object } | undefined)?.session;
    const known = readings.get(session ?? (req.socket as object));
    if (known) return known;
    const connection = connectionOf(req);
    if (connection === 'closed') return CLOSED;
    if (!connection) return NOT_TLS;
    const { socket, key } = connection;
    watchHandshakes((socket as TLSSocket & { server?: object }).server);
    const reading = readingFor(socket, recordOf(socket), key);
    readings.set(key, reading);
    return reading;
  },
});
