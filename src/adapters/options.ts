import type { CertgateError } from '../errors.js';
import { configError } from '../verifier/options.js';
import { createGuard, type ClientCertGuard, type GuardOptions } from '../guard/guard.js';

/** Called with every refusal; may be asynchronous (a log sink): a rejection is reported, never thrown. */
export type OnReject = (error: CertgateError) => unknown;

export interface AdapterOptions extends GuardOptions {
  /**
   * Pass failures to the framework's error handling (`next(err)` in Express, a thrown error in
   * Koa) instead of answering with a problem+json response. Default false.
   */
  forwardErrors?: boolean;
  /** Called with every refusal (its `detail` names the certificate and rule), e.g. for logging. */
  onReject?: OnReject;
}

export interface AdapterSetup {
  guard: ClientCertGuard;
  forwardErrors: boolean;
  onReject: OnReject | undefined;
}

export function adapterSetup(options: AdapterOptions | undefined, where: string): AdapterSetup {
  const { forwardErrors, onReject, ...guardOptions } = options ?? {};
  if (forwardErrors !== undefined && typeof forwardErrors !== 'boolean') {
    throw configError(where, `option 'forwardErrors' must be a boolean, got ${typeof forwardErrors}`);
  }
  if (onReject !== undefined && typeof onReject !== 'function') {
    throw configError(where, `option 'onReject' must be a function, got ${typeof onReject}`);
  }
  return { guard: createGuard(guardOptions, where), forwardErrors: forwardErrors ?? false, onReject };
}

/**
 * Something the application gave certgate (a callback, a later middleware) failed where no caller
 * can handle it: told to operators as a process warning, never rethrown (that would crash the process).
 */
export function reportFailure(what: string, err: unknown): void {
  process.emitWarning(`certgate: ${what}: ${(err as Error)?.message ?? String(err)}`, 'CertgateWarning');
}

/** A logging hook that throws or rejects must not turn a refusal into a hung request or a crash. */
export function notifyReject(onReject: OnReject | undefined, error: CertgateError): void {
  if (!onReject) return;
  try {
    const pending = onReject(error);
    if (typeof (pending as PromiseLike<void> | undefined)?.then === 'function') {
      (pending as PromiseLike<void>).then(undefined, (err: unknown) => reportFailure('onReject rejected', err));
    }
  } catch (err) {
    reportFailure('onReject threw', err);
  }
}
