/**
 * The header formats proxies forward a client certificate in, their default header names, and the
 * limits every forwarded value is held to (src/sources/forwarded/decode.ts applies them).
 */

export type ProxyFormat =
  | 'rfc9440'
  | 'xfcc'
  | 'nginx'
  | 'haproxy'
  | 'apache'
  | 'caddy'
  | 'traefik'
  | 'aws-alb'
  | 'azure';

export const PROXY_FORMATS: readonly ProxyFormat[] = [
  'rfc9440',
  'xfcc',
  'nginx',
  'haproxy',
  'apache',
  'caddy',
  'traefik',
  'aws-alb',
  'azure',
];

/** Default header names (lower case) per format: the leaf's, and the chain's where the format has one. */
export const DEFAULT_HEADERS: Readonly<Record<ProxyFormat, { cert: string; chain?: string }>> = {
  rfc9440: { cert: 'client-cert', chain: 'client-cert-chain' },
  xfcc: { cert: 'x-forwarded-client-cert' },
  nginx: { cert: 'x-ssl-client-cert' },
  haproxy: { cert: 'x-ssl-client-cert', chain: 'x-ssl-client-chain' },
  apache: { cert: 'x-ssl-client-cert' },
  caddy: { cert: 'x-ssl-client-cert' },
  traefik: { cert: 'x-forwarded-tls-client-cert' },
  'aws-alb': { cert: 'x-amzn-mtls-clientcert' },
  azure: { cert: 'x-arr-clientcert' },
};

/** Leaf and chain together: a real client chain is 1 to 4 certificates; more is a flood. */
export const MAX_FORWARDED_CERTIFICATES = 10;

/**
 * Raw header bytes, certificate and chain headers together: 10 certificates of a few KiB each fit,
 * and the cost of decoding stays bounded once Node's 16 KiB header limit is raised.
 */
export const MAX_FORWARDED_HEADER_BYTES = 64 * 1024;
