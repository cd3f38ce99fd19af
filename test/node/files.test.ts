/** Output files: folders made step by step (never Node's looping recursive mkdir), writes atomic. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

// The writes go through this module's functions, so a failure can be injected midway.
const failures = vi.hoisted(() => ({ writeFile: null as Error | null, rename: null as Error | null }));
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  return {
    ...real,
    writeFile: async (...args: Parameters<typeof real.writeFile>) => {
      if (failures.writeFile) {
        // Half the data reaches the disk before the device fills up.
        const [path, data] = args;
        await real.writeFile(path, String(data).slice(0, String(data).length / 2), { flag: 'wx' });
        throw failures.writeFile;
      }
      return real.writeFile(...args);
    },
    rename: async (...args: Parameters<typeof real.rename>) => {
      if (failures.rename) throw failures.rename;
      return real.rename(...args);
    },
  };
});

const { ensureDirectory, writeFileAtomic, OutputError } = await import('../../src/node/files.js');

const tmp = mkdtempSync(join(tmpdir(), 'micrograd-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => { failures.writeFile = null; failures.rename = null; });

const errno = (code: string): Error => Object.assign(new Error(`${code}: injected`), { code });

async function outputError(run: () => Promise<unknown>): Promise<InstanceType<typeof OutputError>> {
  try {
    await run();
  } catch (e) {
    if (e instanceof OutputError) return e;
    throw e;
  }
  throw new Error('expected an OutputError');
}

describe('ensureDirectory', () => {
  it('makes missing folders, one level at a time, and accepts existing ones', async () => {
    const deep = join(tmp, 'a', 'b', 'c');
    await ensureDirectory(deep);
    expect(existsSync(deep)).toBe(true);
    await ensureDirectory(deep);
  });

  it('names the file that stands where a folder is needed', async () => {
    const file = join(tmp, 'plain');
    writeFileSync(file, 'x');
    const e = await outputError(() => ensureDirectory(join(file, 'sub')));
    expect(e.message).toContain(`${file} is a file, not a folder`);
  });

  it.runIf(process.platform === 'linux' && existsSync('/proc/self'))('ends in an error, not a hang, where the file system makes no folders', async () => {
    // Node 20's recursive mkdir loops forever on this path.
    const e = await outputError(() => ensureDirectory('/proc/micrograd-test/deeper'));
    expect(e.path).toBe('/proc/micrograd-test');
    expect(e.message).toMatch(/does not allow new folders/);
  });

  it('refuses an empty name', async () => {
    expect((await outputError(() => ensureDirectory(''))).message).toMatch(/empty/);
  });
});

describe('writeFileAtomic', () => {
  it('writes the whole file and leaves nothing else in the folder', async () => {
    const dir = join(tmp, 'w');
    await writeFileAtomic(join(dir, 'x.svg'), 'first');
    await writeFileAtomic(join(dir, 'x.svg'), 'second, longer');
    expect(readFileSync(join(dir, 'x.svg'), 'utf8')).toBe('second, longer');
    expect(readdirSync(dir)).toEqual(['x.svg']);
  });

  it('leaves the old file whole and no temporary file when the write fails midway', async () => {
    const dir = join(tmp, 'full');
    await writeFileAtomic(join(dir, 'g.svg'), '<svg>old</svg>');
    failures.writeFile = errno('ENOSPC');
    const e = await outputError(() => writeFileAtomic(join(dir, 'g.svg'), '<svg>new and much longer</svg>'));
    expect(e.message).toBe(`cannot write ${join(dir, 'g.svg')}: no space left on the device (ENOSPC)`);
    expect(readFileSync(join(dir, 'g.svg'), 'utf8')).toBe('<svg>old</svg>');
    expect(readdirSync(dir)).toEqual(['g.svg']);
  });

  it('creates no file and leaves no temporary one when the rename fails', async () => {
    const dir = join(tmp, 'norename');
    failures.rename = errno('EACCES');
    const e = await outputError(() => writeFileAtomic(join(dir, 'g.dot'), 'digraph {}'));
    expect(e.message).toMatch(/permission denied/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a folder, an empty name and a name ending in a slash', async () => {
    await ensureDirectory(join(tmp, 'isdir'));
    expect((await outputError(() => writeFileAtomic(join(tmp, 'isdir'), 'x'))).message).toMatch(/it is a folder/);
    expect((await outputError(() => writeFileAtomic('', 'x'))).message).toMatch(/empty/);
    expect((await outputError(() => writeFileAtomic(`${tmp}/`, 'x'))).message).toMatch(/slash/);
  });
});
