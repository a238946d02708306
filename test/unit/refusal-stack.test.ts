/**
 * A refusal's error carries its first line as its stack and captures no frames: capturing costs
 * every refusal, and with source maps on (--enable-source-maps, tsx) formatting frames parsed
 * certgate's source map on the first refusal (20 ms of a first request, measured).
 */
import { describe, expect, it } from 'vitest';
import { refusal } from '../../src/guard/outcome.js';

describe('a refusal', () => {
  it('has a one-line stack, captures no frames, and leaves Error.stackTraceLimit as it was', () => {
    const before = Error.stackTraceLimit;
    let frames: number | undefined;
    const original = Error.prepareStackTrace;
    Error.prepareStackTrace = (_error, callSites) => {
      frames = callSites.length;
      return '';
    };
    try {
      const outcome = refusal('CERT_REVOKED', 'serial 01 is listed');
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error.stack).toBe(
        'CertgateError [CERT_REVOKED]: The client certificate or one of its issuers has been revoked.',
      );
      // Formatting, if anything asks for it, sees no frames.
      expect(frames ?? 0).toBe(0);
    } finally {
      Error.prepareStackTrace = original;
    }
    expect(Error.stackTraceLimit).toBe(before);
  });
});
