import type { CertgateError } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const serialised = new WeakMap<CertgateError, string>();

/** The body as JSON text, built once per error: a refused keep-alive connection reuses its error. */
export function problemJson(error: CertgateError): string {
  let json = serialised.get(error);
  if (json === undefined) serialised.set(error, (json = JSON.stringify(error.toProblem())));
  return json;
}

const bytes = new WeakMap<CertgateError, Buffer>();

/**
 * The body as bytes, once per error: for a string body Fastify (and Nest's platforms) append
 * `; charset=utf-8` to the content type, which the other adapters do not send and JSON media types
 * do not define (RFC 8259 section 11).
 */
export function problemBytes(error: CertgateError): Buffer {
  let body = bytes.get(error);
  if (body === undefined) bytes.set(error, (body = Buffer.from(problemJson(error))));
  return body;
}
