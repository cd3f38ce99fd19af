/**
 * Every ```js example in the README runs against the built package, and prints what its
 * `// → …` comments say.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './cli-helpers.js';

const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);

// Inside the project, so that `import … from 'micrograd-ts'` resolves to this package as it does for a user.
const dir = mkdtempSync(join(ROOT, '.readme-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README examples', () => {
  it('has examples', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it.each(blocks.map((code, k) => [k + 1, code] as const))('example %i runs and prints what it says', (k, code) => {
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]!.trim());
    const file = join(dir, `example-${k}.mjs`);
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const printed = r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    expect(printed).toEqual(expected);
  }, 60_000);
});

describe('README sample output', () => {
  it('is what `npm start` prints now', () => {
    const block = /### Sample output[\s\S]*?```text\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const r = runCli(['demo']);
    expect(r.code).toBe(0);
    const withoutFiles = (text: string): string => text.split('\n').filter((l) => !l.startsWith('Files:')).join('\n').trim();
    // A difference means the README is stale: paste the output of `npm start --silent` into it.
    expect(withoutFiles(r.stdout)).toBe(withoutFiles(block!));
  }, 60_000);
});

describe('README op table', () => {
  it('lists exactly the ops of the op table, by their op names', async () => {
    const { OP_NAMES, FUNCTION_NAMES } = await import('../src/index.js');
    const section = /## Operations and their local derivatives\n([\s\S]*?)\n### /.exec(readme)?.[1] ?? '';
    const listed = [...section.matchAll(/^\| `[^`]+` \| `([^`]+)` \|/gm)].map((m) => m[1]!);
    expect([...listed].sort()).toEqual([...OP_NAMES].sort());
    expect(new Set(listed).size).toBe(listed.length);
    // The expression language's list of functions, likewise.
    const functions = /- Functions: ((?:.|\n)*?)`:/.exec(readme)?.[1] ?? '';
    const names = functions.replace(/[`\n]/g, ' ').split(/\s+/).filter(Boolean).map((f) => f.replace(/\(.*$/, '')).filter((f) => /^[a-z]+$/.test(f));
    expect([...new Set(names)].sort()).toEqual([...FUNCTION_NAMES].sort());
  });
});
