import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import type { CertificateSource, RequestLike, SourceReading } from './source.js';

/**
 * The TLS connection as a certificate source: the certificate the client presented in the
 * handshake Node terminated. Connection-scoped: the chain is read once per connection (an HTTP/1
 * socket, or the TLS socket under an HTTP/2 session, whose streams each get their own socket
 * proxy from Node) and every request on it gets the same reading, so a guard decides once.
 */

/**
 * On a resumed TLS session OpenSSL restores only the client's leaf, not the intermediates it sent
 * in the full handshake, so we remember them per leaf. They stay untrusted helpers for path
 * building (every signature is still checked), so sharing them across connections is safe.
 */
export const INTERMEDIATES_MEMORY_BYTES = 16 * 1024 * 1024;
/** More intermediates than any real chain has; a client cannot park a junk pile per leaf. */
export const MAX_REMEMBERED_INTERMEDIATES = 8;
// Bounded in bytes, not entries: a flood of handshakes can evict entries (those clients' resumed
// sessions then fail closed with a hint) but cannot grow memory.
const intermediatesByLeaf = new LRUCache<string, readonly Buffer[]>({
  maxSize: INTERMEDIATES_MEMORY_BYTES,
  sizeCalculation: (ders) => Math.max(1, ders.reduce((n, d) => n + d.length, 0)),
});

const RESUMED_HINT =
  'resumed TLS session: the intermediates the client sent earlier are unknown to this process; configure them with the `intermediates` option';

/** Readings per TLS socket: the chain is read from OpenSSL once per connection. */
const perSocket = new WeakMap<TLSSocket, SourceReading>();

interface Connection {
  /** Lives exactly as long as the connection: the HTTP/1 socket, or the HTTP/2 session. */
  key: object;
  socket: TLSSocket;
}

function isTlsSocket(socket: unknown): socket is TLSSocket {
  return !!socket && typeof (socket as TLSSocket).getPeerCertificate === 'function' && (socket as TLSSocket).encrypted === true;
}

/** The connection a request arrived on, if over TLS. */
function connectionOf(req: RequestLike): Connection | undefined {
  // HTTP/2: `req.socket` is a proxy made per stream; the session is the connection.
  const session = (req.stream as { session?: { socket?: unknown } } | undefined)?.session;
  if (session && typeof session === 'object') {
    const socket = session.socket;
    return isTlsSocket(socket) ? { key: session, socket } : undefined;
  }
  return isTlsSocket(req.socket) ? { key: req.socket, socket: req.socket } : undefined;
}

const NOT_TLS: SourceReading = Object.freeze({ kind: 'none', detail: 'the request did not arrive over TLS' });

/** Reads the presented chain of one connection (a few µs, once per connection). */
function readSocket(socket: TLSSocket, key: object): SourceReading {
  const server = (socket as TLSSocket & { server?: object }).server;
  const chain = peerChain(socket);
  if (!chain) return Object.freeze({ kind: 'none', detail: 'the client sent no certificate', scope: 'connection', cacheKey: key, server });
  const remote = socket.remoteAddress ? ` from ${socket.remoteAddress}` : '';
  return Object.freeze({
    kind: 'certificate',
    ders: chain.ders,
    scope: 'connection',
    cacheKey: key,
    via: `TLS connection${remote}`,
    transport: Object.freeze({ protocol: socket.getProtocol?.() ?? undefined, cipher: socket.getCipher?.()?.name }),
    ...(chain.resumedWithoutChain ? { untrustedHint: RESUMED_HINT } : {}),
    ...(server ? { server } : {}),
  });
}

interface PeerChain {
  ders: readonly Buffer[];
  resumedWithoutChain: boolean;
}

/**
 * The client's chain, leaf first, or null when it sent no certificate. Never trusts
 * `socket.authorized`: a resumed session can report authorized without a certificate in hand,
 * and certgate makes its own decision anyway.
 */
function peerChain(socket: TLSSocket): PeerChain | null {
  // getPeerCertificate(true), not getPeerX509Certificate(): on Node 20 the latter links the
  // issuer chain only on its first call per connection, and another middleware may have made it.
  const leaf = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  if (!leaf?.raw) return null;
  const ders: Buffer[] = [leaf.raw];
  const seen = new Set([leaf.fingerprint256]);
  for (let c = leaf.issuerCertificate; c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    ders.push(c.raw);
  }
  if (ders.length > 1) {
    const intermediates = ders.slice(1, 1 + MAX_REMEMBERED_INTERMEDIATES);
    const bytes = intermediates.reduce((n, d) => n + d.length, 0);
    if (bytes <= INTERMEDIATES_MEMORY_BYTES / 1024) intermediatesByLeaf.set(leaf.fingerprint256, intermediates);
    return { ders, resumedWithoutChain: false };
  }
  const remembered = intermediatesByLeaf.get(leaf.fingerprint256);
  if (remembered) return { ders: [...ders, ...remembered], resumedWithoutChain: false };
  return { ders, resumedWithoutChain: socket.isSessionReused() };
}

function readingOf(socket: TLSSocket, key: object): SourceReading {
  let reading = perSocket.get(socket);
  if (!reading || reading.cacheKey !== key) {
    reading = readSocket(socket, key);
    perSocket.set(socket, reading);
  }
  return reading;
}

const watched = new WeakSet<object>();

/**
 * Records the chain of every full handshake on `server` from now on, so that a later resumed
 * session whose first connection only visited unguarded routes can still be verified.
 */
function watchHandshakes(server: object | undefined): void {
  const emitter = server as EventEmitter | undefined;
  if (!emitter || watched.has(emitter) || typeof emitter.on !== 'function') return;
  watched.add(emitter);
  emitter.on('secureConnection', (socket: TLSSocket) => {
    if (!socket.isSessionReused()) readingOf(socket, socket);
  });
}

/** The client certificate of the TLS connection a request arrived on. */
export const tlsSocketSource: CertificateSource = Object.freeze({
  read(req: RequestLike): SourceReading {
    const connection = connectionOf(req);
    if (!connection) return NOT_TLS;
    const { socket, key } = connection;
    const known = perSocket.get(socket);
    if (known !== undefined && known.cacheKey === key) return known;
    watchHandshakes((socket as TLSSocket & { server?: object }).server);
    return readingOf(socket, key);
  },
});
