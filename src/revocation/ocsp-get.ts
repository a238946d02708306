/**
 * OCSP over HTTP GET (RFC 6960 appendix A.1, RFC 5019 section 5): the DER request, base64-encoded
 * then URL-encoded, appended to the responder URL. GET answers can be cached by HTTP proxies and
 * CDNs; RFC 5019 section 5 limits GET to requests whose encoded form is at most 255 bytes.
 */

/** The longest encoded request sent by GET (RFC 5019 section 5); longer ones are POSTed. */
export const MAX_OCSP_GET_BYTES = 255;

/**
 * The GET URL asking `request` of the responder at `responderUrl`, or undefined when the request
 * goes by POST: its encoded form is over {@link MAX_OCSP_GET_BYTES}, or the URL has a query or a
 * fragment (appending to it would change what the responder reads).
 */
export function ocspGetUrl(responderUrl: string, request: Buffer): string | undefined {
  // encodeURIComponent escapes standard base64's '+', '/' and '=' (RFC 6960 A.1: url-encoding of base-64).
  const encoded = encodeURIComponent(request.toString('base64'));
  if (encoded.length > MAX_OCSP_GET_BYTES) return undefined;
  let url: URL;
  try {
    url = new URL(responderUrl);
  } catch {
    return undefined;
  }
  if (url.search !== '' || url.hash !== '' || responderUrl.includes('?') || responderUrl.includes('#'))
    return undefined;
  return `${responderUrl.endsWith('/') ? responderUrl : `${responderUrl}/`}${encoded}`;
}
