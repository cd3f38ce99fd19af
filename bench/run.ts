/**
 * Runs the benchmarks and prints one table; with --save, also merges the rows into bench/results.json
 * (a tracked file: a run without --save changes nothing on disk).
 *
 *   npm run bench -- [workload ...] [--quick] [--reps N] [--save]
 *
 * Workloads are the files bench/wN-*.ts that export `workload`; select them by id ("w1") or file
 * name ("w3-deep-chain"); the default is all. A new workload or variant is just a new such file.
 *
 * Each file runs in a Node process of its own, so that what V8 learned from one workload (the
 * operand shapes its ops saw, which decide what it inlines) does not slow the next: run after W1
 * in one process, W2's engine measured about a quarter slower.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatTable, hasGc, mergeProcesses } from './harness.js';
import type { Row, RunOptions, Workload } from './harness.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = join(BENCH_DIR, 'results.json');
const WORKLOAD_FILE = /^(w\d+)[-\w]*\.ts$/;

const USAGE = `usage: npm run bench -- [workload ...] [--quick] [--reps N] [--procs N] [--save]
  workload   an id (w1, w3, ...) or a file name without .ts (w3-deep-chain); default: all
  --quick    smaller sizes (W3 stops at N = 1e6) and fewer repetitions
  --reps N   timed repetitions per measurement (overrides each workload's default)
  --procs N  run each workload file in N processes, one after another, and report the median over
             them, with the range (default 1: on a shared machine one process can run 1.5-2x slower
             than the next from start to end)
  --save     merge the rows into bench/results.json (without it nothing is written)
W3 at N = 1e7 needs a heap limit of 2.5 GiB or more (Node's default is 4 GiB with 16 GB of memory);
where it is lower, W3 skips 1e7 and says so; raise the limit with
  node --max-old-space-size=8192 --expose-gc --disable-warning=ExperimentalWarning --loader ts-node/esm bench/run.ts w3`;

interface Args {
  selectors: string[];
  quick: boolean;
  repetitions: number | undefined;
  /** Processes per workload file. */
  processes: number;
  /** Merge the rows into bench/results.json. */
  save: boolean;
  /** Internal: run the selected files in this process and print their rows for the parent. */
  inProcess: boolean;
}

const IN_PROCESS = '--in-process';
/** The child's rows go to the parent on this file descriptor; its log lines go straight to stdout. */
const ROWS_FD = 3;

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { selectors: [], quick: false, repetitions: undefined, processes: 1, save: false, inProcess: false };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--save') args.save = true;
    else if (a === IN_PROCESS) args.inProcess = true;
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--reps' || a.startsWith('--reps=')) {
      const text = a === '--reps' ? argv[++k] : a.slice('--reps='.length);
      const reps = Number(text);
      if (!Number.isInteger(reps) || reps < 1) fail(`--reps needs a whole number ≥ 1, got ${JSON.stringify(text)}`);
      args.repetitions = reps;
    } else if (a === '--procs' || a.startsWith('--procs=')) {
      const text = a === '--procs' ? argv[++k] : a.slice('--procs='.length);
      const procs = Number(text);
      if (!Number.isInteger(procs) || procs < 1) fail(`--procs needs a whole number ≥ 1, got ${JSON.stringify(text)}`);
      args.processes = procs;
    } else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else args.selectors.push(a);
  }
  return args;
}

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

function isWorkload(x: unknown): x is Workload {
  if (typeof x !== 'object' || x === null) return false;
  const w = x as Record<string, unknown>;
  return typeof w.id === 'string' && typeof w.title === 'string' && typeof w.run === 'function';
}

function chooseFiles(selectors: readonly string[]): string[] {
  const files = readdirSync(BENCH_DIR).filter((f) => WORKLOAD_FILE.test(f)).sort();
  // A selector is an id (w1), a file name without .ts (all of its variants), or one exact file name.
  const matches = (f: string, s: string): boolean => f === s || f === `${s}.ts` || f.startsWith(`${s}-`);
  const unmatched = selectors.filter((s) => !files.some((f) => matches(f, s)));
  if (unmatched.length > 0) {
    fail(`no workload ${unmatched.map((s) => JSON.stringify(s)).join(', ')}; there are: ${files.join(', ')}`);
  }
  return selectors.length === 0
    ? files
    : files.filter((f) => selectors.some((s) => matches(f, s)));
}

async function loadWorkloads(chosen: readonly string[]): Promise<Workload[]> {
  const workloads: Workload[] = [];
  for (const file of chosen) {
    const module: Record<string, unknown> = await import(pathToFileURL(join(BENCH_DIR, file)).href);
    if (!isWorkload(module.workload)) fail(`${file} does not export \`workload: Workload\``);
    workloads.push(module.workload);
  }
  return workloads;
}

interface StoredRow extends Row {
  measuredAt: string;
  node: string;
  quick: boolean;
}

/** Replaces the stored rows of the same workload and variant; keeps the others. */
function saveResults(rows: readonly Row[], quick: boolean): void {
  let stored: StoredRow[] = [];
  if (existsSync(RESULTS_FILE)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(RESULTS_FILE, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { rows?: unknown }).rows)) {
        stored = (parsed as { rows: StoredRow[] }).rows;
      }
    } catch {
      console.error(`bench: ${RESULTS_FILE} is not valid JSON; starting it afresh`);
    }
  }
  const measuredAt = new Date().toISOString();
  const fresh: StoredRow[] = rows.map((r) => ({ ...r, measuredAt, node: process.version, quick }));
  const key = (r: Row): string => `${r.workload}\u0000${r.variant}`;
  const replaced = new Set(fresh.map(key));
  const merged = [...stored.filter((r) => !replaced.has(key(r))), ...fresh];
  merged.sort((a, b) => (a.workload < b.workload ? -1 : a.workload > b.workload ? 1 : 0));
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ rows: merged }, null, 2)}\n`);
}

/** Runs workload file `file` in a child process with this process's Node flags; returns its rows. */
function runIsolated(file: string, args: Args): Row[] {
  const flags = [...(args.quick ? ['--quick'] : []), ...(args.repetitions === undefined ? [] : ['--reps', String(args.repetitions)])];
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), file, ...flags, IN_PROCESS],
    { encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit', 'pipe'], maxBuffer: 64 * 2 ** 20 },
  );
  const sent = child.output?.[ROWS_FD] ?? '';
  if (child.status !== 0 || sent === '') {
    console.error(`bench: ${file} failed (${child.error?.message ?? `exit status ${child.status ?? child.signal}`})`);
    process.exit(1);
  }
  return JSON.parse(sent) as Row[];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const files = chooseFiles(args.selectors);
  const rows: Row[] = [];
  if (args.inProcess) {
    const options: RunOptions = { quick: args.quick, repetitions: args.repetitions, log: (line) => console.log(line) };
    for (const w of await loadWorkloads(files)) {
      console.log(`\n== ${w.id}: ${w.title}`);
      rows.push(...w.run(options));
    }
    writeSync(ROWS_FD, JSON.stringify(rows));
    return;
  }
  if (!hasGc()) console.log('note: run with `node --expose-gc` for the memory figures (npm run bench does)');
  if (args.processes === 1) {
    for (const file of files) rows.push(...runIsolated(file, args));
  } else {
    // Round-robin over the files, so that a slow spell of the machine falls on all of them alike.
    const runs: Row[][] = [];
    for (let p = 1; p <= args.processes; p++) {
      console.log(`\n=== process ${p} of ${args.processes} for each workload file`);
      runs.push(files.flatMap((file) => runIsolated(file, args)));
    }
    rows.push(...mergeProcesses(runs));
  }
  console.log(`\n${formatTable(rows)}`);
  if (args.save) {
    saveResults(rows, args.quick);
    console.log(`\nrows merged into ${RESULTS_FILE}`);
  } else {
    console.log(`\nnot saved: add --save to merge these rows into ${RESULTS_FILE}`);
  }
}

await main();
