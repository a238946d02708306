import type { TLSSocket } from 'node:tls';
import { LRUCache } from 'lru-cache';

/** The certificates a client presented on one TLS connection, leaf first. */
export interface PeerChain {
  ders: readonly Buffer[];
  /** SHA-256 fingerprint of the leaf (Node's colon form): stable per certificate. */
  leafFingerprint: string;
}

const perSocket = new WeakMap<TLSSocket, PeerChain | null>();

/**
 * On a resumed TLS session OpenSSL restores only the client's leaf, not the intermediates it sent
 * in the full handshake, so we remember them per leaf. They stay untrusted helpers for path
 * building (every signature is still checked), so sharing them across connections is safe.
 */
const INTERMEDIATES_MEMORY = 10_000;
const intermediatesByLeaf = new LRUCache<string, readonly Buffer[]>({ max: INTERMEDIATES_MEMORY });

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
  if (typeof socket.getPeerX509Certificate !== 'function') return null;
  const leaf = socket.getPeerX509Certificate();
  if (!leaf) return null;
  const ders: Buffer[] = [leaf.raw];
  const seen = new Set([leaf.fingerprint256]);
  // Node links each certificate to the next one the peer sent (or OpenSSL found) via issuerCertificate.
  for (let c = leaf.issuerCertificate; c && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    ders.push(c.raw);
  }
  if (ders.length > 1) intermediatesByLeaf.set(leaf.fingerprint256, ders.slice(1));
  else {
    const remembered = intermediatesByLeaf.get(leaf.fingerprint256);
    if (remembered) ders.push(...remembered);
  }
  return { ders, leafFingerprint: leaf.fingerprint256 };
}

/** The connection's TLS socket, or undefined on plain HTTP. */
export function tlsSocketOf(socket: unknown): TLSSocket | undefined {
  return socket && typeof (socket as TLSSocket).getPeerX509Certificate === 'function' ? (socket as TLSSocket) : undefined;
}
