/**
 * TEMPORARY (h-proxy): the minimal format table the proxy source needs. The formats helper's full
 * module replaces this file at merge; only the exported names and shapes below are relied on.
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

export const PROXY_FORMATS: readonly ProxyFormat[] = Object.freeze([
  'rfc9440',
  'xfcc',
  'nginx',
  'haproxy',
  'apache',
  'caddy',
  'traefik',
  'aws-alb',
  'azure',
]);

/** Default header names (lower case) per format: the leaf's, and the chain's where the format has one. */
export const DEFAULT_HEADERS: Readonly<Record<ProxyFormat, { cert: string; chain?: string }>> = Object.freeze({
  rfc9440: { cert: 'client-cert', chain: 'client-cert-chain' },
  xfcc: { cert: 'x-forwarded-client-cert' },
  nginx: { cert: 'x-ssl-client-cert' },
  haproxy: { cert: 'x-ssl-client-cert', chain: 'x-ssl-client-chain' },
  apache: { cert: 'x-ssl-client-cert' },
  caddy: { cert: 'x-ssl-client-cert' },
  traefik: { cert: 'x-forwarded-tls-client-cert' },
  'aws-alb': { cert: 'x-amzn-mtls-clientcert' },
  azure: { cert: 'x-arr-clientcert' },
});

export const MAX_FORWARDED_CERTIFICATES = 10;
export const MAX_FORWARDED_HEADER_BYTES = 64 * 1024;
