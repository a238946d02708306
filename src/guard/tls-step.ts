import { ConnectionClosedError, type PresentedCertificate } from '../sources/source.js';
import { belowRule, negotiatedTls, type NegotiatedTls, type TlsRule } from '../tls/rule.js';
import { refusal } from './outcome.js';
import type { Remembered } from './verdict-memory.js';

/** The `tls` rule's answer for one connection: a refusal, or the facts `clientCert.tls` shows. */
export type TlsStep = { readonly refused: Remembered } | { readonly refused?: undefined; readonly tls?: NegotiatedTls };

const NO_FACTS: TlsStep = Object.freeze({});

/**
 * A connection's `clientCert.tls`, built once: a new connection's first request may reach this
 * step up to three times (cached(), check(), then the verification), every guard on it too.
 */
const negotiatedByReading = new WeakMap<PresentedCertificate, NegotiatedTls>();

/**
 * The guard's `tls` rule, applied to readings that know what their connection negotiated. A
 * forwarded certificate's reading does not (the Node connection is the proxy's): the proxy's own
 * configuration is its TLS rule, and `clientCert.tls` stays undefined. Run once per connection as
 * part of its verdict, before the certificate is verified: nothing sent over a connection below
 * the rule is looked at, and refusing it costs no verification.
 */
export function tlsStep(reading: PresentedCertificate, rule: TlsRule): TlsStep {
  let facts: PresentedCertificate['transport'];
  try {
    facts = reading.transport;
  } catch (err) {
    // Nobody is left to answer; the same refusal as for a chain that could not be read.
    if (err instanceof ConnectionClosedError) {
      return { refused: { outcome: refusal('CERT_MISSING', err.message), expiresAt: Infinity } };
    }
    throw err;
  }
  if (facts === undefined) return NO_FACTS;
  let tls = negotiatedByReading.get(reading);
  if (tls === undefined) negotiatedByReading.set(reading, (tls = negotiatedTls(facts)));
  const detail = belowRule(tls, facts.cipher, rule);
  // Refused for the connection's lifetime: tlsOptions() turns TLS 1.2 renegotiation off, and on
  // other servers a renegotiation is not looked at again (README, TLS strength).
  if (detail !== undefined) {
    return { refused: { outcome: refusal('TLS_TOO_WEAK', `${detail} [${reading.via}]`), expiresAt: Infinity } };
  }
  return { tls };
}
