import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, unlink } from 'node:fs/promises';

/**
 * Where the development PKI goes. The folder may be shared or writable by others (a /tmp path),
 * so nothing here follows a link: files are created with O_CREAT | O_EXCL | O_NOFOLLOW and their
 * final mode, never opened if they exist, never chmod-ed afterwards.
 */

/** Creates `dir` when missing; refuses a symlink, a non-folder, and (without `force`) a non-empty folder. */
export async function prepareFolder(dir: string, force: boolean): Promise<void> {
  const info = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (info === undefined) {
    await mkdir(dir, { recursive: true });
    return;
  }
  // A link could point anywhere: the caller should name the real folder.
  if (info.isSymbolicLink()) throw new Error(`${dir} is a symbolic link; give the folder it points to`);
  if (!info.isDirectory()) throw new Error(`${dir} exists and is not a folder`);
  const entries = await readdir(dir);
  if (entries.length > 0 && !force) {
    throw new Error(`${dir} is not empty (${entries.length} entries); use --force to replace the dev PKI files in it`);
  }
}

/** O_NOFOLLOW is POSIX; where it does not exist, O_EXCL alone still refuses any existing name. */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/**
 * Writes `path` as a new file created with `mode`. With `replace`, an existing file, symlink or
 * hard link at `path` is unlinked first (the link goes, its target is untouched); a folder there
 * is refused. If anything reappears between the unlink and the create, O_EXCL fails: fail closed.
 */
export async function writeNewFile(path: string, contents: string, mode: number, replace: boolean): Promise<void> {
  if (replace) {
    const existing = await lstat(path).catch(() => undefined);
    if (existing?.isDirectory()) throw new Error(`${path} is a folder; remove it first`);
    if (existing) await unlink(path);
  }
  const handle = await open(path, CREATE_NEW, mode).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST' || err.code === 'ELOOP') throw new Error(`${path} already exists; not replaced`);
    throw err;
  });
  try {
    await handle.writeFile(contents);
  } finally {
    await handle.close();
  }
}
