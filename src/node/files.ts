/**
 * Output files that either appear whole or not at all, in folders made one level at a time.
 *
 * Node 20's `mkdir(path, { recursive: true })` spins forever on some paths (`/proc/foo/bar`: the
 * kernel answers ENOENT for a folder whose parent exists), so folders are made here step by step,
 * each failure reported with the folder it concerns. A file is written to a temporary name beside
 * it and renamed into place, so a failure (disk full, a signal) leaves no truncated picture.
 */
import { lstat, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, parse, resolve, basename } from 'node:path';

/** A file or folder could not be written: the path and the reason, in one line. */
export class OutputError extends Error {
  override readonly name = 'OutputError';
  constructor(
    /** The file or folder concerned, as the caller gave it. */
    readonly path: string,
    /** What went wrong, without the path. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot write ${path}: ${reason}`, options);
  }
}

const REASONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  ENAMETOOLONG: 'the name is too long',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  ELOOP: 'too many symbolic links',
  EIO: 'an input/output error',
};

function reasonOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code && REASONS[code]) return `${REASONS[code]} (${code})`;
  return code ? `${code}` : e instanceof Error ? e.message : String(e);
}

function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/**
 * Makes `dir` and any missing parents, one level at a time; an existing folder is fine.
 * @throws OutputError naming the first folder that could not be made (or the file in the way).
 */
export async function ensureDirectory(dir: string): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new OutputError(String(dir), 'the folder name is empty');
  const absolute = resolve(dir);
  const { root } = parse(absolute);
  const parts = absolute.slice(root.length).split(/[\\/]+/).filter((p) => p !== '');
  let current = root;
  for (const part of parts) {
    current = join(current, part);
    let info;
    try {
      info = await stat(current);
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw new OutputError(current, reasonOf(e), { cause: e });
    }
    if (info) {
      if (!info.isDirectory()) throw new OutputError(dir, `${current} is a file, not a folder`);
      continue;
    }
    try {
      await mkdir(current);
    } catch (e) {
      if (codeOf(e) === 'EEXIST' && (await stat(current).then((s) => s.isDirectory(), () => false))) continue;
      // ENOENT for a folder whose parent exists: a file system that makes no folders (/proc, /sys).
      const reason = codeOf(e) === 'ENOENT' ? `the file system at ${dirname(current)} does not allow new folders (ENOENT)` : reasonOf(e);
      throw new OutputError(current, `cannot create the folder: ${reason}`, { cause: e });
    }
  }
}

let counter = 0;

/**
 * Writes `data` to `path` atomically: into a temporary file in the same folder, then renamed over
 * `path` (missing folders are made first). On failure the temporary file is removed and `path` is
 * untouched.
 * @throws OutputError with the path and the reason.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new OutputError(String(path), 'the file name is empty');
  if (/[\\/]$/.test(path)) throw new OutputError(path, 'the name ends in a slash: give a file name, not a folder');
  await ensureDirectory(dirname(path));
  const existing = await lstat(path).catch(() => null);
  if (existing?.isDirectory()) throw new OutputError(path, 'it is a folder');
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${++counter}.tmp`);
  try {
    await writeFile(temporary, data, { flag: 'wx' });
    await rename(temporary, path);
  } catch (e) {
    await rm(temporary, { force: true }).catch(() => undefined);
    // ENOENT in a folder that exists: a file system that makes no files (/proc, /sys).
    const reason = codeOf(e) === 'ENOENT' ? `the file system at ${dirname(path)} does not allow new files (ENOENT)` : reasonOf(e);
    throw new OutputError(path, reason, { cause: e });
  }
}
