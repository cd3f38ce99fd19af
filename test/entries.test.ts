/**
 * The package's entries, as a bundler for the browser sees them: the main entry and the learner's
 * must bundle with nothing but their own sources (no Node built-in, graphviz-cli, vega, cli-progress
 * or commander reachable), and a bundle of `import { Value }` alone must not carry the compiler's
 * `new Function` (which a strict Content Security Policy forbids).
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { build, type Plugin, type Rollup } from 'vite';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VIRTUAL = '\0entry.js';

/** Fails the build on any import that is not one of the project's own files. */
const ownFilesOnly: Plugin = {
  name: 'own-files-only',
  enforce: 'pre',
  resolveId(id, importer) {
    if (id.endsWith('virtual:entry')) return VIRTUAL;
    if (importer !== undefined && !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0')) {
      throw new Error(`the browser bundle imports ${JSON.stringify(id)} (from ${importer.replace(ROOT, '')})`);
    }
    return null;
  },
};

/** Bundles `code` (an ES module importing the entries by path) for the browser; returns the minified chunk. */
async function bundle(code: string): Promise<string> {
  const entryPlugin: Plugin = { name: 'entry', load: (id) => (id === VIRTUAL ? code : null) };
  const out = await build({
    configFile: false,
    root: ROOT,
    logLevel: 'silent',
    plugins: [ownFilesOnly, entryPlugin],
    build: {
      write: false,
      minify: true,
      target: 'es2022',
      lib: { entry: 'virtual:entry', formats: ['es'], fileName: 'bundle' },
      rollupOptions: { treeshake: true },
    },
  });
  const outputs = (Array.isArray(out) ? out : [out]) as Rollup.RollupOutput[];
  const chunks = outputs.flatMap((o) => o.output).filter((o): o is Rollup.OutputChunk => o.type === 'chunk');
  expect(chunks).toHaveLength(1);
  return chunks[0]!.code;
}

const MAIN = `${ROOT}src/index.ts`;
const LEARNER = `${ROOT}src/learner/index.ts`;

describe('browser bundles', () => {
  it('the main entry bundles with nothing but its own sources', async () => {
    const code = await bundle(`export * from ${JSON.stringify(MAIN)};`);
    expect(code).not.toMatch(/\brequire\(|from\s*["']node:|process\.(stdout|stderr)/);
    expect(code).toContain('Value');
  }, 60_000);

  it('the learner entry bundles with nothing but its own sources', async () => {
    const code = await bundle(`export * from ${JSON.stringify(LEARNER)};`);
    expect(code).not.toMatch(/\brequire\(|from\s*["']node:/);
  }, 60_000);

  it('import { Value } alone carries no new Function and stays small', async () => {
    const code = await bundle(`export { Value } from ${JSON.stringify(MAIN)};`);
    // The minifier may drop `new`: look for any call of the Function constructor.
    const functionConstructor = /\bFunction\(/;
    expect(code).not.toMatch(functionConstructor);
    const full = await bundle(`export * from ${JSON.stringify(MAIN)};`);
    expect(full).toMatch(functionConstructor); // the guard above is live: compile() is in the full bundle
    expect(code.length).toBeLessThan(full.length / 2);
    // The bundle works: "sideEffects": false must not let the bundler drop the ops behind the methods.
    const { Value } = await import(`data:text/javascript,${encodeURIComponent(code)}`) as typeof import('../src/index.js');
    const x = new Value(0.5);
    const y = x.mul(x).sin().max(0);
    y.backward();
    expect(y.data).toBe(Math.max(Math.sin(0.25), 0));
    expect(x.grad).toBeCloseTo(Math.cos(0.25) * 2 * 0.5, 15);
    console.log(`import { Value }: ${code.length} bytes minified, ${gzipSync(code).length} gzipped; ` +
      `the whole main entry: ${full.length} / ${gzipSync(full).length}`);
  }, 60_000);

  it('a Node-only module is caught', async () => {
    await expect(bundle(`export * from ${JSON.stringify(`${ROOT}src/node/index.ts`)};`)).rejects.toThrow(/the browser bundle imports/);
  }, 60_000);
});
