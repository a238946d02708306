import { certificateInfo, type ParsedCertificate } from '../x509/certificate.js';
import { printableJson, readCertificateFile, UsageError, type CliIo } from './io.js';

export const INSPECT_USAGE = 'usage: certgate inspect <cert.pem>';

/** `certgate inspect`: the leaf as `identify()` receives it, with `raw` summarised. */
export async function runInspect(args: string[], io: CliIo): Promise<number> {
  if (args.length !== 1 || args[0]?.startsWith('-')) throw new UsageError(INSPECT_USAGE);
  const certs = readCertificateFile(args[0] as string, 'certificate');
  const info = certificateInfo(certs[0] as ParsedCertificate);
  io.out(printableJson({ ...info, raw: `<DER, ${info.raw.length} bytes>` }));
  if (certs.length > 1) io.out(`(${certs.length - 1} more certificate(s) in the file; shown: the first, the leaf)`);
  return 0;
}
