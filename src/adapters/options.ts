import type { CertgateError } from '../errors.js';
import { configError } from '../verifier/options.js';
import { createGuard, type ClientCertGuard, type GuardOptions } from '../guard/guard.js';

export interface AdapterOptions extends GuardOptions {
  /**
   * Pass failures to the framework's error handling (`next(err)` in Express, a thrown error in
   * Koa) instead of answering with a problem+json response. Default false.
   */
  forwardErrors?: boolean;
  /** Called with every refusal (its `detail` names the certificate and rule), e.g. for logging. */
  onReject?: (error: CertgateError) => void;
}

export interface AdapterSetup {
  guard: ClientCertGuard;
  forwardErrors: boolean;
  onReject: ((error: CertgateError) => void) | undefined;
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

/** A logging hook that throws must not turn a refusal into a hung request or a crash. */
export function notifyReject(onReject: ((error: CertgateError) => void) | undefined, error: CertgateError): void {
  if (!onReject) return;
  try {
    onReject(error);
  } catch (err) {
    process.emitWarning(`certgate: onReject threw: ${(err as Error)?.message ?? String(err)}`, 'CertgateWarning');
  }
}
