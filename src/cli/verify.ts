import { parseArgs } from 'node:util';
import { CertgateError } from '../errors.js';
import { createVerifier } from '../verifier/verifier.js';
import { escapeUnprintable } from '../x509/name.js';
import { printableJson, readInputFile, readCertificateFile, UsageError, type CliIo } from './io.js';

export const VERIFY_USAGE =
  'usage: certgate verify <chain.pem> --ca F [--ca F ...] [--intermediate F ...] [--crl F ...] ' +
  '[--ocsp] [--ocsp-url U ...] [--at ISO8601] [--purpose clientAuth|serverAuth|any] [--json]';

/** `certgate verify`: exit 0 accepted, 1 rejected, 2 usage or input error. */
export async function runVerify(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ca: { type: 'string', multiple: true },
      intermediate: { type: 'string', multiple: true },
      crl: { type: 'string', multiple: true },
      ocsp: { type: 'boolean' },
      'ocsp-url': { type: 'string', multiple: true },
      at: { type: 'string' },
      purpose: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0 ? 'verify needs one certificate chain file' : 'verify takes one certificate chain file',
    );
  if (!values.ca?.length) throw new UsageError('verify needs at least one --ca file');
  let at: Date | undefined;
  if (values.at !== undefined) {
    at = new Date(values.at);
    if (!/^\d{4}-\d{2}-\d{2}/.test(values.at) || Number.isNaN(at.getTime()))
      throw new UsageError(`--at must be an ISO 8601 date, got "${values.at}"`);
  }
  const purpose = values.purpose ?? 'clientAuth';
  if (purpose !== 'clientAuth' && purpose !== 'serverAuth' && purpose !== 'any') {
    throw new UsageError(`--purpose must be clientAuth, serverAuth or any, got "${purpose}"`);
  }

  const chain = readCertificateFile(positionals[0] as string, 'certificate chain').map((c) => c.der);
  let verifier;
  try {
    verifier = createVerifier({
      ca: values.ca.map((f) => readInputFile(f, '--ca')),
      ...(values.intermediate
        ? { intermediates: values.intermediate.map((f) => readInputFile(f, '--intermediate')) }
        : {}),
      ...(values.crl ? { crl: values.crl.map((f) => readInputFile(f, '--crl')) } : {}),
      purpose: purpose === 'any' ? false : purpose,
      // --ocsp asks the responder the certificate names; --ocsp-url names one instead.
      ...(values['ocsp-url'] ? { ocsp: { urls: values['ocsp-url'] } } : values.ocsp ? { ocsp: true } : {}),
    });
  } catch (err) {
    if (err instanceof CertgateError)
      throw new UsageError(
        err.message.replace(/^createVerifier: option '([\w.]+)'/, (_m, o: string) => `--${optionFlag(o)}`),
      );
    throw err;
  }
  const result = await verifier.verify(chain, at ? { at } : undefined).finally(() => verifier.close());
  if (values.json) {
    io.out(
      printableJson(
        result.ok
          ? {
              ok: true,
              subject: result.certificate.subjectDN,
              chain: result.chain.map((c) => c.subjectDN),
              expiresAt: result.expiresAt,
            }
          : { ok: false, code: result.code, message: result.message, detail: result.detail },
        0,
      ),
    );
  } else if (result.ok) {
    io.out(`OK: ${result.certificate.subjectDN}`);
    io.out(`chain: ${result.chain.map((c) => c.subjectDN).join(' <- ')}`);
  } else {
    // DNs in the detail are escaped already; the rest (URLs, CRL reasons) may quote certificate text too.
    io.out(`REJECTED ${result.code}: ${escapeUnprintable(result.detail)}`);
  }
  return result.ok ? 0 : 1;
}

function optionFlag(option: string): string {
  return option === 'intermediates' ? 'intermediate' : option === 'ocsp.urls' ? 'ocsp-url' : option;
}
