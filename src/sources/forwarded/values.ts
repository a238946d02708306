/**
 * One decoder per format: how the trusted proxy writes the certificate header (`leaf`) and, where
 * the format or the operator's `chainHeader` adds one, the chain header (`chain`). A `leaf` decoder
 * returns 'none' for the proxy's "no certificate" marker, else the certificates it carries (leaf
 * first; some formats carry the chain in the same value). Sources of each encoding are in
 * docs-drafts/formats.md and test/unit/forwarded-formats.test.ts.
 */
import {
  FormatError,
  pemCertificates,
  percentDecode,
  singleDer,
  splitConcatenatedDer,
  strictBase64,
} from './encodings.js';
import type { ProxyFormat } from './formats.js';
import { MAX_FORWARDED_CERTIFICATES } from './formats.js';
import { parseSfBinaryItem, parseSfBinaryList } from './structured-field.js';
import { xfccCertificates } from './xfcc.js';

export interface FormatDecoder {
  /** The certificate header's one value, trimmed and not empty. */
  leaf(value: string, what: string): Buffer[] | 'none';
  /** The chain header's value (rfc9440: its lines combined), trimmed and not empty: intermediates. */
  chain(value: string, what: string): Buffer[];
}

/** nginx `$ssl_client_escaped_cert`, ALB, Envoy: PEM with percent escapes (`+` stays `+`). */
const urlEncodedPem = (value: string, what: string): Buffer[] => pemCertificates(percentDecode(value, what), what);

/** Base64 of DER certificates written back to back (HAProxy `ssl_c_chain_der,base64`). */
const base64Concatenated = (value: string, what: string): Buffer[] =>
  splitConcatenatedDer(strictBase64(value, what), what);

/** Traefik: base64 DER bodies joined by `,`; before v2.9.4 URL-escaped (the alphabet has no `%`). */
function traefikList(value: string, what: string): Buffer[] {
  const plain = value.includes('%') ? percentDecode(value, what) : value;
  const parts = plain.split(',');
  if (parts.length > MAX_FORWARDED_CERTIFICATES) {
    throw new FormatError(`${what} carries more than ${MAX_FORWARDED_CERTIFICATES} certificates`);
  }
  return parts.map((part, i) => singleDer(strictBase64(part.trim(), `${what} certificate #${i + 1}`), what));
}

/** Azure: App Service sends base64 DER, Application Gateway PEM (possibly URL-encoded) under the same name. */
function azureValue(value: string, what: string): Buffer[] {
  if (value.includes('%')) return urlEncodedPem(value, what);
  if (value.includes('-----')) return pemCertificates(value, what);
  return [singleDer(strictBase64(value, what), what)];
}

/** Caddy 2.6 leaves a placeholder it cannot fill as literal text: `{http.request.tls.client...}`. */
const CADDY_PLACEHOLDER = /^\{[A-Za-z0-9_.-]+\}$/;

export const DECODERS: Readonly<Record<ProxyFormat, FormatDecoder>> = {
  rfc9440: {
    leaf: (value, what) => [parseSfBinaryItem(value, what)],
    chain: (value, what) => parseSfBinaryList(value, what, MAX_FORWARDED_CERTIFICATES),
  },
  xfcc: { leaf: xfccCertificates, chain: urlEncodedPem },
  nginx: { leaf: urlEncodedPem, chain: urlEncodedPem },
  haproxy: { leaf: (value, what) => [singleDer(strictBase64(value, what), what)], chain: base64Concatenated },
  apache: {
    // mod_ssl writes the literal `(null)` for a variable it has no value for; mod_headers turns
    // the PEM's line breaks into spaces, which the PEM scanner reads as whitespace.
    leaf: (value, what) => (value === '(null)' ? 'none' : pemCertificates(value, what)),
    chain: (value, what) => (value === '(null)' ? [] : pemCertificates(value, what)),
  },
  caddy: {
    leaf: (value, what) => (CADDY_PLACEHOLDER.test(value) ? 'none' : [singleDer(strictBase64(value, what), what)]),
    chain: (value, what) => (CADDY_PLACEHOLDER.test(value) ? [] : base64Concatenated(value, what)),
  },
  traefik: { leaf: traefikList, chain: traefikList },
  'aws-alb': { leaf: urlEncodedPem, chain: urlEncodedPem },
  azure: { leaf: azureValue, chain: azureValue },
};
