import type { CertgateError, ProblemBody } from '../errors.js';

export type { ProblemBody } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Only the public message goes to the client; operator detail stays on the error object. */
export function problemBody(error: CertgateError): ProblemBody {
  return error.toProblem();
}

const serialised = new WeakMap<CertgateError, string>();

/** The body as JSON text, built once per error: a refused keep-alive connection reuses its error. */
export function problemJson(error: CertgateError): string {
  let json = serialised.get(error);
  if (json === undefined) serialised.set(error, (json = JSON.stringify(error.toProblem())));
  return json;
}
