import { parseArgs } from 'node:util';
import { decodeEach, PemError } from '../x509/pem.js';
import { parseCrl, type ParsedCrl } from '../revocation/crl.js';
import { verifySignature } from '../x509/signature.js';
import { readCertificateFile, readInputFile, UsageError, type CliIo } from './io.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import { systemClock } from '../time/clock.js';

export const CRL_USAGE = 'usage: certgate crl <file|url> [--ca F ...] [--json]';

/** A CRL bigger than this is refused when fetched: no real CA publishes one that large. */
export const MAX_CRL_DOWNLOAD_BYTES = 256 * 1024 * 1024;
export const CRL_FETCH_TIMEOUT_MS = 15_000;

async function fetchCrl(url: string): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(CRL_FETCH_TIMEOUT_MS), redirect: 'follow' });
  } catch (err) {
    throw new UsageError(`cannot fetch ${url}: ${(err as Error).name === 'TimeoutError' ? `no answer within ${CRL_FETCH_TIMEOUT_MS / 1000} s` : (err as Error).message}`);
  }
  if (!response.ok) throw new UsageError(`cannot fetch ${url}: HTTP ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_CRL_DOWNLOAD_BYTES) throw new UsageError(`${url} is ${declared} bytes, over the ${MAX_CRL_DOWNLOAD_BYTES}-byte limit`);
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length > MAX_CRL_DOWNLOAD_BYTES) throw new UsageError(`${url} is over the ${MAX_CRL_DOWNLOAD_BYTES}-byte limit`);
  return body;
}

function signatureStatus(crl: ParsedCrl, issuers: ParsedCertificate[]): { verified: boolean; text: string } {
  if (issuers.length === 0) return { verified: false, text: 'not checked (give the issuer CA with --ca)' };
  const named = issuers.filter((c) => c.subjectKey === crl.issuerKey);
  if (named.length === 0) return { verified: false, text: `no --ca certificate is named "${crl.issuerDN}"` };
  for (const cert of named) {
    try {
      if (verifySignature(crl.signatureAlgorithm, crl.tbs, crl.signature, cert.publicKey())) return { verified: true, text: `verified with "${cert.subjectDN}" (serial ${cert.serialNumber})` };
    } catch {
      // an unsupported algorithm counts as "does not verify" below
    }
  }
  return { verified: false, text: `does not verify with the key of any --ca certificate named "${crl.issuerDN}"` };
}

/** `certgate crl`: what the server will see in a CRL. Exit 0 usable, 1 not usable now, 2 input error. */
export async function runCrl(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ca: { type: 'string', multiple: true }, json: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new UsageError(CRL_USAGE);
  const source = positionals[0] as string;
  const bytes = /^https?:\/\//i.test(source) ? await fetchCrl(source) : readInputFile(source, 'CRL');
  let crls: ParsedCrl[];
  try {
    crls = decodeEach(bytes, 'X509 CRL', 'CRL', parseCrl, 'does not parse');
  } catch (err) {
    if (err instanceof PemError) throw new UsageError(`CRL "${source}" is unusable: ${err.message}`);
    throw err;
  }
  const issuers = (values.ca ?? []).flatMap((f) => readCertificateFile(f, '--ca'));
  const now = systemClock.now();
  let allUsable = true;
  const reports = crls.map((crl) => {
    const signature = signatureStatus(crl, issuers);
    const freshness =
      crl.thisUpdate.getTime() > now ? 'not yet valid' : !crl.nextUpdate ? 'no nextUpdate (never current)' : now >= crl.nextUpdate.getTime() ? 'stale' : 'current';
    const usable = freshness === 'current' && !crl.unusableBecause && (issuers.length === 0 || signature.verified);
    allUsable &&= usable;
    return {
      issuer: crl.issuerDN,
      thisUpdate: crl.thisUpdate.toISOString(),
      nextUpdate: crl.nextUpdate?.toISOString() ?? null,
      crlNumber: crl.crlNumber?.toString() ?? null,
      entries: crl.revoked.size,
      freshness,
      signature: signature.text,
      ...(crl.unusableBecause ? { unusable: crl.unusableBecause } : {}),
      usable,
    };
  });
  if (values.json) io.out(JSON.stringify(reports.length === 1 ? reports[0] : reports));
  else {
    for (const r of reports) {
      io.out(`issuer:      ${r.issuer}`);
      io.out(`thisUpdate:  ${r.thisUpdate}`);
      io.out(`nextUpdate:  ${r.nextUpdate ?? '(none)'} (${r.freshness})`);
      io.out(`CRL number:  ${r.crlNumber ?? '(none: certgate will not use this CRL)'}`);
      io.out(`entries:     ${r.entries}`);
      io.out(`signature:   ${r.signature}`);
      if (r.unusable) io.out(`unusable:    ${r.unusable}`);
      io.out(`verdict:     ${r.usable ? 'usable' : 'NOT usable now'}`);
    }
  }
  return allUsable ? 0 : 1;
}
