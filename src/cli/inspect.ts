import { certificateInfo, type ParsedCertificate } from '../x509/certificate.js';
import { printableJson, readCertificateFile, UsageError, type CliIo } from './io.js';

export const INSPECT_USAGE = 'usage: certgate inspect <cert.pem>';

/** `certgate inspect`: the leaf as `identify()` receives it, with `raw` summarised. */
export async function runInspect(args: string[], io: CliIo): Promise<number> {
  if (args.length !== 1 || args[0]?.startsWith('-')) throw new UsageError(INSPECT_USAGE);
  const certs = readCertificateFile(args[0] as string, 'certificate');
  const leaf = certs[0] as ParsedCertificate;
  const info = certificateInfo(leaf);
  io.out(printableJson({ ...info, raw: `<DER, ${info.raw.length} bytes>` }));
  // What the 'psd2-statement-ignored' event would say: why `psd2` is missing from the output.
  if (leaf.psd2Ignored) io.out(`(PSD2 statement ignored: ${leaf.psd2Ignored})`);
  if (certs.length > 1) io.out(`(${certs.length - 1} more certificate(s) in the file; shown: the first, the leaf)`);
  return 0;
}
