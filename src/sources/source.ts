import type { ReasonCode } from '../errors.js';

/**
 * Certificate sources: where the certificate a request presents comes from. The guard asks its
 * source once per request and decides; it never looks at sockets or headers itself. Today's
 * source is the TLS connection (src/sources/tls-socket.ts); certificates forwarded by proxies in
 * headers are request-scoped sources of the same shape.
 */

/**
 * The parts of an HTTP request a source may read: Node's `IncomingMessage` and
 * `Http2ServerRequest`, and the raw request of Express, Koa, Fastify and others, all fit.
 */
export interface RequestLike {
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /**
   * Header names and values as received, alternating (Node's `rawHeaders`): forwarded-certificate
   * sources count repeated headers here, which `headers` joins into one value.
   */
  readonly rawHeaders?: readonly string[];
  readonly socket?: unknown;
  /** HTTP/2 compatibility requests carry their stream; its session is the connection. */
  readonly stream?: unknown;
}

/** What the TLS layer negotiated, reported by sources that know it (for transport rules). */
export interface TransportFacts {
  /** The negotiated protocol, e.g. `TLSv1.3` (`socket.getProtocol()`). */
  readonly protocol: string | undefined;
  /** The negotiated cipher suite's OpenSSL name (`getCipher().name`). */
  readonly cipher: string | undefined;
  /** Its IANA name (`getCipher().standardName`), which the guard's `tls` rule reads key bits from. */
  readonly standardCipher?: string | undefined;
}

/**
 * What verdicts are remembered under. `connection`: an object that lives as long as the
 * connection (the TLS socket, or the HTTP/2 session), so every request and stream on it reuses
 * one verdict; `request`: a string naming the credential itself (a forwarded certificate), since
 * one proxy connection carries many clients and a per-connection verdict would mix them up.
 */
export type CacheScope =
  | { readonly scope: 'connection'; readonly cacheKey: object }
  | { readonly scope: 'request'; readonly cacheKey: string };

/** Where a presented certificate came from: the request's own TLS connection, or a trusted proxy's header. */
export type CertificateOrigin = 'tls' | 'proxy';

export type PresentedCertificate = CacheScope & {
  readonly kind: 'certificate';
  /** Absent: 'tls'. */
  readonly origin?: CertificateOrigin;
  /**
   * DER certificates, leaf first, as presented (untrusted). May be read lazily: only a guard that
   * must verify reads it.
   */
  readonly ders: readonly Buffer[];
  /**
   * What the TLS layer negotiated with the client, for the guard's `tls` rule. Absent when the
   * source cannot know it (a forwarded certificate: the Node connection is the proxy's). May be
   * read lazily; throws ConnectionClosedError when the connection closed before it was read.
   */
  readonly transport?: TransportFacts;
  /** Where the certificate came from, for operator details (e.g. `TLS connection from 10.0.0.7`). */
  readonly via: string;
  /** Said to operators when the certificate is refused as untrusted (e.g. a resumed TLS session's missing chain). */
  readonly untrustedHint?: string;
  /** The server the connection arrived on: a guard without its own `ca` trusts this server's `ca` and `crl`. */
  readonly server?: object;
  /**
   * Names the leaf itself, when the source knows the client proved possession of its key (a TLS
   * handshake): a guard may then reuse an approval of the same leaf on another connection without
   * reading or verifying the chain again. The verdict is about the leaf's path to a trust anchor,
   * which does not depend on what else a client sends (presented intermediates are only untrusted
   * helpers), so a new connection of a known client costs a lookup.
   */
  readonly leafKey?: string;
  /**
   * Whether the connection has closed, for sources that know (read after an asynchronous decision:
   * an approval for a connection nobody is on any more must not let its requests through).
   */
  readonly closed?: boolean;
};

/** The request presents no certificate (or cannot, e.g. plain HTTP). */
export type NoCertificate = Partial<CacheScope> & {
  readonly kind: 'none';
  readonly detail: string;
  readonly server?: object;
};

/** The request presents something that must be refused before any verification (a source's own rule). */
export type SourceRefusal = Partial<CacheScope> & {
  readonly kind: 'refusal';
  readonly code: ReasonCode;
  readonly detail: string;
};

export type SourceReading = PresentedCertificate | NoCertificate | SourceRefusal;

/**
 * Thrown by a reading's lazy parts (`ders`) when the connection closed before they were read (an
 * HTTP/2 session destroyed while its first verdict was pending): the guard answers CERT_MISSING,
 * not a configuration error, and nobody is left to receive it anyway.
 */
export class ConnectionClosedError extends Error {}

export interface CertificateSource {
  /**
   * Reads what `req` presents. Called on every request, so it must be cheap on a connection seen
   * before, and it must never throw for anything a client controls.
   */
  read(req: RequestLike): SourceReading;
}
