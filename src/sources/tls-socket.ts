import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';

/** The certificates a client presented on one TLS connection, leaf first. */
export interface PeerChain {
  ders: readonly Buffer[];
  /** A resumed session brought only the leaf, and no earlier handshake told us its intermediates. */
  resumedWithoutChain: boolean;
}

const perSocket = new WeakMap<TLSSocket, PeerChain | null>();

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

/**
 * Reads the client's chain once per connection (keep-alive requests reuse it). Returns null when
 * the client sent no certificate. Never trusts `socket.authorized`: a resumed session can report
 * authorized without a certificate in hand, and certgate makes its own decision anyway.
 */
export function peerChainOf(socket: TLSSocket): PeerChain | null {
  const known = perSocket.get(socket);
  if (known !== undefined) return known;
  const chain = readPeerChain(socket);
  perSocket.set(socket, chain);
  return chain;
}

function readPeerChain(socket: TLSSocket): PeerChain | null {
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
    if (intermediates.reduce((n, d) => n + d.length, 0) <= INTERMEDIATES_MEMORY_BYTES / 1024) intermediatesByLeaf.set(leaf.fingerprint256, intermediates);
    return { ders, resumedWithoutChain: false };
  }
  const remembered = intermediatesByLeaf.get(leaf.fingerprint256);
  if (remembered) return { ders: [...ders, ...remembered], resumedWithoutChain: false };
  return { ders, resumedWithoutChain: socket.isSessionReused() };
}

const watched = new WeakSet<object>();

/**
 * Records the chain of every full handshake on `server` from now on, so that a later resumed
 * session whose first connection only visited unguarded routes can still be verified.
 */
export function watchHandshakes(server: EventEmitter | undefined): void {
  if (!server || watched.has(server) || typeof server.on !== 'function') return;
  watched.add(server);
  server.on('secureConnection', (socket: TLSSocket) => {
    if (!socket.isSessionReused()) peerChainOf(socket);
  });
}

/** The connection's TLS socket, or undefined on plain HTTP. */
export function tlsSocketOf(socket: unknown): TLSSocket | undefined {
  return socket && typeof (socket as TLSSocket).getPeerCertificate === 'function' && (socket as TLSSocket).encrypted ? (socket as TLSSocket) : undefined;
}
