#!/usr/bin/env node
/**
 * `npm run notebooks`: builds dist/, then executes every notebook in notebooks/ headless with the
 * tslab kernel (jupyter nbconvert --execute) and saves the outputs in the files, so that they read
 * well on GitHub. A notebook is replaced only when every cell ran without an error or stderr
 * output; otherwise the failing cells are printed, the file is left as it was, and the exit code
 * is 1. Needs `bash scripts/notebooks-setup.sh` once.
 *
 *   node scripts/run-notebooks.mjs [notebook.ipynb ...]   (default: every notebooks/*.ipynb)
 *
 * After a notebook runs, its metadata gets the SHA-256 of its code cells (`micrograd_ts.
 * executed_code_sha256`): test/notebooks.test.ts compares it with the cells, so a cell edited
 * without re-running the notebook is caught without Jupyter.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { basename, delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const JUPYTER_DIR = join(ROOT, '.jupyter');
const KERNEL_SPEC = join(JUPYTER_DIR, 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json');
/** Seconds a cell may run before nbconvert gives up on it. */
const CELL_TIMEOUT = 180;

function fail(message) {
  process.stderr.write(`run-notebooks: ${message}\n`);
  process.exit(1);
}

/** The SHA-256 of a notebook's code cells' sources, in order. */
function codeHash(notebook) {
  const hash = createHash('sha256');
  for (const cell of notebook.cells) {
    if (cell.cell_type !== 'code') continue;
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    hash.update(`${source}\u0000`);
  }
  return hash.digest('hex');
}

/** JSON with object keys sorted and one-space indents, as nbformat writes notebooks. */
function stableJson(value) {
  const sort = (v) => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])]));
    return v;
  };
  return `${JSON.stringify(sort(value), null, 1)}\n`;
}

function checkSetup() {
  const probe = spawnSync(PYTHON, ['-c', 'import nbconvert, nbclient, ipykernel, jupyter_client'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    fail(`${PYTHON} has no Jupyter (nbconvert, nbclient, ipykernel, jupyter_client): run bash scripts/notebooks-setup.sh`);
  }
  const tslab = join(ROOT, 'node_modules', '.bin', 'tslab');
  let spec;
  try {
    spec = JSON.parse(readFileSync(KERNEL_SPEC, 'utf8'));
  } catch {
    fail(`no tslab kernel in ${relative(ROOT, KERNEL_SPEC)}: run bash scripts/notebooks-setup.sh`);
  }
  if (spec.argv?.[0] !== tslab) {
    fail(`the tslab kernel in ${relative(ROOT, KERNEL_SPEC)} starts ${spec.argv?.[0]}, not this checkout's ${tslab}: run bash scripts/notebooks-setup.sh`);
  }
}

function build() {
  // Type errors do not stop tsc's emit (`npm run typecheck` reports them); a missing entry does.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`run-notebooks: tsc reported problems (the build was still emitted):\n${r.stdout}${r.stderr}`);
  if (!existsSync(join(ROOT, 'dist', 'src', 'index.js'))) fail('building dist/ failed');
}

/**
 * Runs one notebook into a scratch copy (the file itself is replaced only if every cell ran
 * cleanly). tslab reports a failing cell's error, or a type error, on the cell's stderr, so the
 * copy is kept with its errors (--allow-errors) to show them.
 */
function execute(path, scratch) {
  const env = {
    ...process.env,
    // The kernel spec and Jupyter's own files stay in the project's git-ignored .jupyter/.
    JUPYTER_PATH: join(JUPYTER_DIR, 'share', 'jupyter'),
    JUPYTER_DATA_DIR: join(JUPYTER_DIR, 'share', 'jupyter'),
    JUPYTER_CONFIG_DIR: join(JUPYTER_DIR, 'config'),
    JUPYTER_RUNTIME_DIR: join(JUPYTER_DIR, 'runtime'),
    // The kernel (node_modules/.bin/tslab, `#!/usr/bin/env node`) runs on this same Node.
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  };
  const args = [
    '-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute',
    '--ExecutePreprocessor.kernel_name=tslab',
    `--ExecutePreprocessor.timeout=${CELL_TIMEOUT}`,
    '--ExecutePreprocessor.startup_timeout=120',
    // No per-cell timestamps in the saved file: re-running unchanged code changes nothing.
    '--ExecutePreprocessor.record_timing=False',
    '--allow-errors',
    '--output-dir', scratch,
    '--output', 'executed',
    path,
  ];
  const start = performance.now();
  const r = spawnSync(PYTHON, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - start) / 1000;
  if (r.error) fail(`could not start ${PYTHON}: ${r.error.message}`);
  if (r.status !== 0) return { notebook: null, seconds, problems: [`${r.stdout}${r.stderr}`.trimEnd().split('\n').slice(-30).join('\n')] };
  const notebook = JSON.parse(readFileSync(join(scratch, 'executed.ipynb'), 'utf8'));
  return { notebook, seconds, problems: cellProblems(notebook) };
}

const text = (t) => (Array.isArray(t) ? t.join('') : String(t ?? ''));

/** Each code cell that failed or wrote to stderr, with what it said. */
function cellProblems(notebook) {
  const problems = [];
  let index = 0;
  for (const cell of notebook.cells) {
    if (cell.cell_type !== 'code') continue;
    index++;
    const said = [];
    for (const o of cell.outputs ?? []) {
      if (o.output_type === 'error') said.push(`${o.ename}: ${o.evalue}\n${text(o.traceback)}`);
      if (o.output_type === 'stream' && o.name === 'stderr') said.push(text(o.text));
    }
    if (said.length > 0) {
      const head = text(cell.source).split('\n').slice(0, 3).join('\n    ');
      problems.push(`code cell ${index}:\n    ${head}\n${said.join('\n').trimEnd()}`);
    }
  }
  return problems;
}

function main() {
  const notebooksDir = join(ROOT, 'notebooks');
  const given = process.argv.slice(2);
  const paths = given.length > 0
    ? given.map((p) => resolve(p))
    : readdirSync(notebooksDir).filter((f) => f.endsWith('.ipynb')).sort().map((f) => join(notebooksDir, f));
  if (paths.length === 0) fail('no notebooks found');
  for (const p of paths) if (!existsSync(p)) fail(`no such notebook: ${p}`);
  checkSetup();
  build();
  const failed = [];
  const scratch = mkdtempSync(join(tmpdir(), 'run-notebooks-'));
  try {
    for (const path of paths) {
      const name = basename(path);
      process.stdout.write(`run-notebooks: ${name} … `);
      const { notebook, seconds, problems } = execute(path, scratch);
      if (notebook !== null && problems.length === 0) {
        notebook.metadata.micrograd_ts = { executed_code_sha256: codeHash(notebook) };
        writeFileSync(path, stableJson(notebook));
        process.stdout.write(`ok (${seconds.toFixed(1)} s)\n`);
      } else {
        process.stdout.write(`FAILED (${seconds.toFixed(1)} s)\n`);
        process.stderr.write(`${problems.join('\n\n')}\n`);
        failed.push(name);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (failed.length > 0) fail(`${failed.length} of ${paths.length} notebooks failed: ${failed.join(', ')} (their files were left as they were)`);
  process.stdout.write(`run-notebooks: all ${paths.length} notebooks ran; outputs saved in the files\n`);
}

main();
