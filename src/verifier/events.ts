import { EventEmitter } from 'node:events';
import type { CrlEvents } from '../revocation/crl-store.js';
import type { OcspEvents } from '../revocation/ocsp-client.js';

export interface VerifierEvents extends CrlEvents, OcspEvents {
  /** A certificate was refused as revoked. */
  'certificate-revoked': { code: 'CERT_REVOKED'; detail: string };
  /** Revocation could not be determined; with whenUnavailable 'allow' the certificate passed anyway. */
  'revocation-unknown': { detail: string; allowed: boolean };
  /**
   * A verified leaf carries a PSD2 statement (ETSI TS 119 495) that certgate did not believe, so
   * its `psd2` is undefined (the certificate itself is accepted). Once per certificate parse, when it
   * first verifies: a refused certificate's statement concerns nobody, and cannot flood the logs.
   */
  'psd2-statement-ignored': { subjectDN: string; reason: string };
}

export type EventName = keyof VerifierEvents;
/** May be asynchronous: a rejection is reported like a throw. */
export type Listener<E extends EventName> = (payload: VerifierEvents[E]) => unknown;

function listenerFailed(event: EventName, err: unknown): void {
  process.emitWarning(
    `certgate: a '${event}' listener threw: ${(err as Error)?.message ?? String(err)}`,
    'CertgateWarning',
  );
}

/**
 * Operator events. They are for logs and metrics: a listener that throws (or rejects) is reported as
 * a process warning and can never change a verdict or fail a verification.
 */
export class VerifierEventBus {
  private readonly emitter = new EventEmitter();

  emit<E extends EventName>(event: E, payload: VerifierEvents[E]): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        const pending: unknown = (listener as Listener<E>)(payload);
        // An async listener's rejection would otherwise be unhandled: a crash under Node's default.
        if (typeof (pending as PromiseLike<unknown> | undefined)?.then === 'function') {
          (pending as PromiseLike<unknown>).then(undefined, (err: unknown) => listenerFailed(event, err));
        }
      } catch (err) {
        listenerFailed(event, err);
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
