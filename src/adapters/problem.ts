import type { CertgateError } from '../errors.js';

/** RFC 9457 problem details, plus `code` and `message` for clients that only read those. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  message: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Only the public message goes to the client; operator detail stays on the error object. */
export function problemBody(error: CertgateError): ProblemBody {
  return {
    type: `urn:certgate:error:${error.code}`,
    title: error.code,
    status: error.status,
    detail: error.message,
    code: error.code,
    message: error.message,
  };
}

const serialised = new WeakMap<CertgateError, string>();

/** The body as JSON text, built once per error: a refused keep-alive connection reuses its error. */
export function problemJson(error: CertgateError): string {
  let json = serialised.get(error);
  if (json === undefined) serialised.set(error, (json = JSON.stringify(problemBody(error))));
  return json;
}
