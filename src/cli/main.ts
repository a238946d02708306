import { runDevPki } from './dev-pki.js';
import { CRL_USAGE, runCrl } from './crl.js';
import { INSPECT_USAGE, runInspect } from './inspect.js';
import { UsageError, type CliIo } from './io.js';
import { runVerify, VERIFY_USAGE } from './verify.js';

const HELP = [
  'certgate: client-certificate (mutual TLS) verification for operators',
  '',
  `  ${VERIFY_USAGE.replace('usage: ', '')}`,
  '      exit 0 accepted, 1 rejected, 2 usage or input error',
  `  ${INSPECT_USAGE.replace('usage: ', '')}`,
  '      print the certificate as identify() sees it',
  `  ${CRL_USAGE.replace('usage: ', '')}`,
  '      issuer, thisUpdate, nextUpdate, entries and signature status of a CRL (exit 0 usable, 1 not)',
  '  certgate dev-pki <dir> [--force]',
  '      write a development PKI (CAs, CRL, server and client certificates)',
].join('\n');

/** Runs the CLI and returns its exit code; every error becomes one line on stderr. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'verify':
        return await runVerify(rest, io);
      case 'inspect':
        return await runInspect(rest, io);
      case 'crl':
        return await runCrl(rest, io);
      case 'dev-pki':
        return await runDevPki(
          rest,
          io.err === io.out
            ? io.out
            : (line) => (line.startsWith('usage:') || line.startsWith('certgate:') ? io.err(line) : io.out(line)),
        );
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.out(HELP);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}" (try: certgate --help)`);
    }
  } catch (err) {
    // parseArgs reports unknown flags with a code; anything else unexpected is still one line.
    const message =
      err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
        ? (err as Error).message
        : `unexpected error: ${(err as Error).message}`;
    io.err(`certgate: ${message}`);
    return 2;
  }
}
