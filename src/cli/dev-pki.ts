import { describeDevPki, generateDevPki } from '../devpki/generate.js';

const USAGE = 'usage: certgate dev-pki <dir> [--force]';

/**
 * `certgate dev-pki <dir> [--force]`: writes a development PKI into `dir`, which must be empty or
 * missing unless --force (which replaces the dev PKI files, never following a link).
 * Returns the process exit code; never throws, so callers can exit with it directly.
 */
export async function runDevPki(args: string[], out: (line: string) => void): Promise<number> {
  const force = args.includes('--force');
  const [dir, ...rest] = args.filter((arg) => arg !== '--force');
  if (dir === undefined || dir === '' || dir.startsWith('-') || rest.length > 0) {
    out(USAGE);
    return 2;
  }

  try {
    const files = await generateDevPki(dir, { force });
    for (const { path, description } of describeDevPki(files)) {
      out(`${path}  ${description}`);
    }
    return 0;
  } catch (err) {
    out(`certgate: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
}
