import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { CertgateError } from '../../errors.js';
import { PROBLEM_CONTENT_TYPE, problemBytes } from '../problem.js';

/**
 * Answers a CertgateError as every certgate adapter does: its status and the RFC 9457 body
 * (`error.toProblem()`) as `application/problem+json`. Nest's own handler would answer a 500, and
 * Nest 11's Express adapter rewrites the content type of an object body, so the body goes out as
 * bytes with the type set. Registered by CertgateModule (APP_FILTER) unless `forwardErrors` is set;
 * usable by an application's own filter: `new CertgateExceptionFilter(adapterHost).catch(err, host)`.
 */
@Catch(CertgateError)
export class CertgateExceptionFilter implements ExceptionFilter<CertgateError> {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: CertgateError, host: ArgumentsHost): void {
    // Only an HTTP request has a response to write; other contexts are not certgate's to answer.
    if (host.getType() !== 'http') return;
    const { httpAdapter } = this.adapterHost;
    const response = host.switchToHttp().getResponse<unknown>();
    // Someone else answered meanwhile (a timeout interceptor): a late refusal writes nothing.
    if (httpAdapter.isHeadersSent(response)) return;
    httpAdapter.setHeader(response, 'content-type', PROBLEM_CONTENT_TYPE);
    // Bytes, not text: for a string both platforms append `; charset=utf-8` to the content type,
    // which certgate's other adapters do not send. Express's adapter would turn a Buffer into JSON,
    // so there the body goes to Node's response itself (the Express response is one).
    const body = problemBytes(error);
    if (httpAdapter.getType() === 'express') {
      const res = response as ServerResponse;
      res.statusCode = error.status;
      res.end(body);
      return;
    }
    httpAdapter.reply(response, body, error.status);
  }
}
