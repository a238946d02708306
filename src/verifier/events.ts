import { EventEmitter } from 'node:events';
import type { CrlEvents } from '../revocation/crl-store.js';
import type { OcspEvents } from '../revocation/ocsp-client.js';

export interface VerifierEvents extends CrlEvents, OcspEvents {
  /** A certificate was refused as revoked. */
  'certificate-revoked': { code: 'CERT_REVOKED'; detail: string };
  /** Revocation could not be determined; with whenUnavailable 'allow' the certificate passed anyway. */
  'revocation-unknown': { detail: string; allowed: boolean };
}

export type EventName = keyof VerifierEvents;
export type Listener<E extends EventName> = (payload: VerifierEvents[E]) => void;

/**
 * Operator events. They are for logs and metrics: a listener that throws is reported as a process
 * warning and can never change a verdict or fail a verification.
 */
export class VerifierEventBus {
  private readonly emitter = new EventEmitter();

  emit<E extends EventName>(event: E, payload: VerifierEvents[E]): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as Listener<E>)(payload);
      } catch (err) {
        process.emitWarning(
          `certgate: a '${event}' listener threw: ${(err as Error)?.message ?? String(err)}`,
          'CertgateWarning',
        );
      }
    }
  }

  on<E extends EventName>(event: E, listener: Listener<E>): void {
    this.emitter.on(event, listener as (payload: unknown) => void);
  }

  off<E extends EventName>(event: E, listener: Listener<E>): void {
    this.emitter.off(event, listener as (payload: unknown) => void);
  }
}
