import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { CertgateError } from '../../errors.js';
import { PROBLEM_CONTENT_TYPE, problemJson } from '../problem.js';

/**
 * Answers a CertgateError as every certgate adapter does: its status and the RFC 9457 body
 * (`error.toProblem()`) as `application/problem+json`. Nest's own handler would answer a 500, and
 * Nest 11's Express adapter rewrites the content type of an object body, so the body goes out as
 * text with the type set. Registered by CertgateModule (APP_FILTER) unless `forwardErrors` is set;
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
    httpAdapter.reply(response, problemJson(error), error.status);
  }
}
