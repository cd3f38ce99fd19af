/**
 * Where a script's instructions go, function by function, V8's compiled code included:
 *
 *   npm run profile -- <script.js|script.ts> [args ...] [--top N]
 *
 * Runs the script under valgrind's callgrind (instructions counted, not time: the count is the same
 * on a loaded machine) with `node --perf-basic-prof`, which writes where V8 put each compiled
 * function into /tmp/perf-<pid>.map; callgrind sees that code only as addresses, and the map names it
 * ("JIT *binary value.js:261", `*` for optimised code, `^` for baseline). Prints each function's own
 * instructions (not those of what it calls) and its share of the whole run, startup included: give a
 * script a long enough run that its steady state dominates, or compare two run lengths.
 *
 * Needs valgrind (Debian's package of that name).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One function's own instruction count. */
export interface FunctionCost {
  name: string;
  instructions: number;
}

/** A compiled function's code range, from a perf map. */
interface CodeRange {
  start: number;
  end: number;
  name: string;
}

/** The ranges of a perf map (`start size name` per line, both numbers in hex), sorted by start. */
export function parsePerfMap(text: string): CodeRange[] {
  const ranges: CodeRange[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/i.exec(line);
    if (m) ranges.push({ start: parseInt(m[1]!, 16), end: parseInt(m[1]!, 16) + parseInt(m[2]!, 16), name: m[3]! });
  }
  return ranges.sort((a, b) => a.start - b.start);
}

function rangeAt(ranges: readonly CodeRange[], address: number): CodeRange | undefined {
  let lo = 0, hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]!.start <= address) lo = mid + 1;
    else hi = mid - 1;
  }
  const r = ranges[hi];
  return r !== undefined && address < r.end ? r : undefined;
}

/**
 * Each function's own instructions from a callgrind output file (its first event, Ir), largest
 * first. Functions callgrind knows only by address are named from `ranges` where they fall in one,
 * and the functions of one compiled range are summed.
 */
export function ownInstructions(callgrindOut: string, ranges: readonly CodeRange[] = []): FunctionCost[] {
  const names = new Map<string, string>(); // callgrind's compressed "(id)" names
  const costs = new Map<string, number>();
  let current = '';
  let skipNext = false; // the line after `calls=` is the call's inclusive cost, not the caller's own
  let positions = 1; // columns before the costs: `positions: line`, or `instr line` with --dump-instr
  const nameOf = (spec: string): string => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(spec);
    if (!m) return spec;
    if (m[2] !== undefined) names.set(m[1]!, m[2]);
    return names.get(m[1]!) ?? spec;
  };
  for (const line of callgrindOut.split('\n')) {
    if (line.startsWith('positions:')) positions = line.slice('positions:'.length).trim().split(/\s+/).length;
    else if (line.startsWith('fn=')) current = nameOf(line.slice(3));
    else if (line.startsWith('cfn=')) nameOf(line.slice(4)); // defines a name that later `fn=` lines may use
    else if (line.startsWith('calls=')) skipNext = true;
    else if (/^([+-]?\d|\*|0x)/.test(line)) {
      const cost = Number(line.split(/\s+/)[positions] ?? 0); // the first event, Ir; omitted means 0
      if (skipNext) skipNext = false;
      else if (current !== '') costs.set(current, (costs.get(current) ?? 0) + cost);
    }
  }
  const byName = new Map<string, number>();
  for (const [fn, n] of costs) {
    const address = /^0x([0-9a-f]+)$/i.exec(fn);
    const range = address ? rangeAt(ranges, parseInt(address[1]!, 16)) : undefined;
    const name = range ? `JIT ${range.name}` : fn;
    byName.set(name, (byName.get(name) ?? 0) + n);
  }
  return [...byName].map(([name, instructions]) => ({ name, instructions })).sort((a, b) => b.instructions - a.instructions);
}

/** The total of the first event from a callgrind output's `summary:` or `totals:` line. */
export function totalInstructions(callgrindOut: string): number {
  const m = /^(?:summary|totals): (\d+)/m.exec(callgrindOut);
  if (!m) throw new Error('no summary line in the callgrind output');
  return Number(m[1]);
}

function main(argv: readonly string[]): void {
  let top = 30;
  const rest: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    if (argv[k] === '--top') {
      top = Number(argv[++k]);
      if (!Number.isInteger(top) || top < 1) fail(`--top needs a whole number ≥ 1, got ${JSON.stringify(argv[k])}`);
    } else rest.push(argv[k]!);
  }
  const [script, ...args] = rest;
  if (script === undefined) fail('usage: npm run profile -- <script.js|script.ts> [args ...] [--top N]');
  if (!existsSync(script)) fail(`no such script: ${script}`);
  if (spawnSync('valgrind', ['--version']).error) fail('valgrind is not installed (apt-get install -y valgrind)');
  const dir = mkdtempSync(join(tmpdir(), 'callgrind-'));
  try {
    const out = join(dir, 'callgrind.out');
    const loader = /\.[cm]?ts$/.test(script) ? ['--disable-warning=ExperimentalWarning', '--loader', 'ts-node/esm'] : [];
    const run = spawnSync('valgrind', [
      '--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`,
      // --perf-basic-prof also logs code events, to isolate-*.log in the working folder unless told where.
      process.execPath, '--perf-basic-prof', `--logfile=${join(dir, 'v8.log')}`, '--no-logfile-per-isolate',
      '--single-threaded', ...loader, script, ...args,
    ], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
    if (run.status !== 0 || !existsSync(out)) fail(`the run failed (exit ${run.status}):\n${run.stderr.slice(-2000)}`);
    const text = readFileSync(out, 'utf8');
    const pid = /^pid: (\d+)/m.exec(text)?.[1];
    const mapFile = `/tmp/perf-${pid}.map`;
    const ranges = pid !== undefined && existsSync(mapFile) ? parsePerfMap(readFileSync(mapFile, 'utf8')) : [];
    if (existsSync(mapFile)) rmSync(mapFile);
    const total = totalInstructions(text);
    console.log(`${total.toLocaleString('en-US')} instructions in all`);
    for (const { name, instructions } of ownInstructions(text, ranges).slice(0, top)) {
      console.log(`${(100 * instructions / total).toFixed(2).padStart(6)} % ${instructions.toLocaleString('en-US').padStart(15)}  ${name}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fail(message: string): never {
  console.error(`profile: ${message}`);
  process.exit(2);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
