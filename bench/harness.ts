/**
 * The benchmark harness: timing by in-process repetitions after a warm-up (medians, since the
 * machines are shared and noisy), heap measurement, and the row format every workload returns.
 *
 * A workload is a module `bench/wN-name.ts` exporting `workload: Workload`; `bench/run.ts` finds
 * such files by name, so a new workload or variant is a new file, with no edits elsewhere.
 */
import { getHeapSpaceStatistics } from 'node:v8';

/** One line of the results table (and of bench/results.json). */
export interface Row {
  /** e.g. "W1 net-111" or "W3 deep-chain N=1e6". */
  workload: string;
  /** "engine", "hand-written", "compiled", ... */
  variant: string;
  /** Median wall time of one step (one SGD step, or one forward+backward of the whole graph). */
  medianMsPerStep: number;
  /** Operation nodes built and differentiated per second (null where no graph is built). */
  nodesPerSecond: number | null;
  /** This variant's median over the hand-written baseline's median in the same run (1 for the baseline). */
  ratioToHandWritten: number | null;
  /** Further figures, by name (memory per node, forward/backward split, final parameters...). */
  [extra: string]: number | string | boolean | null | undefined;
}

export interface RunOptions {
  /** Smaller sizes and fewer repetitions. */
  quick: boolean;
  /** Overrides each workload's default number of timed repetitions. */
  repetitions?: number;
  /** Where a workload prints lines that do not fit the table. */
  log: (line: string) => void;
}

export interface Workload {
  /** Short name selected on the command line, e.g. "w1". Several files may share one id (variants). */
  id: string;
  title: string;
  run(options: RunOptions): Row[];
}

export interface Timing {
  /** Milliseconds of each timed repetition. */
  samplesMs: number[];
  medianMs: number;
  minMs: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `fn` `warmup` times untimed (so that V8 has optimised it), then `repetitions` times timed. */
export function time(fn: () => void, warmup: number, repetitions: number): Timing {
  if (!(repetitions >= 1)) throw new RangeError(`repetitions must be at least 1, got ${repetitions}`);
  for (let k = 0; k < warmup; k++) fn();
  const samplesMs: number[] = [];
  for (let k = 0; k < repetitions; k++) {
    const t0 = process.hrtime.bigint();
    fn();
    samplesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { samplesMs, medianMs: median(samplesMs), minMs: Math.min(...samplesMs) };
}

/**
 * Times several variants of one task round-robin (a, b, a, b, ...) after a warm-up of each, so
 * that a burst of load from elsewhere on a shared machine hits every variant alike.
 */
export function timeInterleaved<K extends string>(
  variants: Readonly<Record<K, () => void>>, warmup: number, repetitions: number,
): Record<K, Timing> {
  if (!(repetitions >= 1)) throw new RangeError(`repetitions must be at least 1, got ${repetitions}`);
  const names = Object.keys(variants) as K[];
  for (const name of names) for (let k = 0; k < warmup; k++) variants[name]();
  const samples = new Map<K, number[]>(names.map((name) => [name, []]));
  for (let k = 0; k < repetitions; k++) {
    for (const name of names) {
      const t0 = process.hrtime.bigint();
      variants[name]();
      samples.get(name)!.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const result = {} as Record<K, Timing>;
  for (const name of names) {
    const samplesMs = samples.get(name)!;
    result[name] = { samplesMs, medianMs: median(samplesMs), minMs: Math.min(...samplesMs) };
  }
  return result;
}

/**
 * One row per workload and variant from the rows of several processes that ran the same workloads
 * (`npm run bench -- --procs N`). A process can run a whole workload 1.5–2× slower than the next one on
 * this kind of shared machine, from start to end, while a hand-written baseline in it does not slow:
 * one process is one sample. Each figure is the median over the processes; the time per step also
 * gets its range (`processMsMin`, `processMsMax`) and the number of processes (`procs`). A boolean
 * holds only if it held in every process (a check such as `identicalToEngine`); text is kept where
 * every process agrees, and otherwise listed by process.
 */
export function mergeProcesses(runs: readonly (readonly Row[])[]): Row[] {
  if (runs.length === 0) throw new RangeError('no processes to merge');
  const key = (r: Row): string => `${r.workload}\u0000${r.variant}`;
  const groups = new Map<string, Row[]>();
  for (const rows of runs) {
    for (const r of rows) {
      const group = groups.get(key(r));
      if (group === undefined) groups.set(key(r), [r]);
      else group.push(r);
    }
  }
  const merged: Row[] = [];
  for (const group of groups.values()) {
    if (group.length !== runs.length) {
      throw new Error(`${group[0]!.workload} / ${group[0]!.variant}: a row in ${group.length} of ${runs.length} processes`);
    }
    const row: Row = { ...group[0]! };
    const fields = new Set(group.flatMap((r) => Object.keys(r)));
    for (const field of fields) {
      if (field === 'workload' || field === 'variant') continue;
      const values = group.map((r) => r[field]);
      if (values.every((v) => typeof v === 'number')) row[field] = median(values as number[]);
      else if (values.every((v) => typeof v === 'boolean')) row[field] = values.every((v) => v === true);
      else if (values.every((v) => v === values[0])) row[field] = values[0];
      else row[field] = values.map((v) => String(v ?? '—')).join(' | ');
    }
    const times = group.map((r) => r.medianMsPerStep);
    row.procs = runs.length;
    row.processMsMin = Math.min(...times);
    row.processMsMax = Math.max(...times);
    merged.push(row);
  }
  return merged;
}

/**
 * Bytes in use in V8's young generation. A young-generation collection (a scavenge) empties it but
 * for what survives, so less at the end of a step than at its start means that one ran during it
 * (read outside the timed span). A step that allocated more than the young generation holds could be
 * collected and refill it past its start unnoticed; W2's steps allocate a quarter (the bench's form)
 * to a third (micrograd's form) of it: one step in four or three holds a collection.
 */
export function youngGenerationBytes(): number {
  for (const space of getHeapSpaceStatistics()) if (space.space_name === 'new_space') return space.space_used_size;
  throw new Error("V8 reports no 'new_space' among its heap spaces");
}

/**
 * The steps' times split by whether a young-generation collection ran during them: the share of steps
 * that held one, and the median of each kind (null for a kind with no steps). Where a third of the steps
 * hold one, the median of all steps is about the 75th percentile of those that hold none.
 */
export function splitByCollection(ms: readonly number[], collected: readonly boolean[]):
  { stepsWithGc: number; medianWithGc: number | null; medianWithoutGc: number | null } {
  if (ms.length !== collected.length) throw new RangeError(`${ms.length} times but ${collected.length} collection flags`);
  if (ms.length === 0) throw new RangeError('no steps to split');
  const withGc = ms.filter((_, k) => collected[k]), withoutGc = ms.filter((_, k) => !collected[k]);
  return {
    stepsWithGc: withGc.length / ms.length,
    medianWithGc: withGc.length > 0 ? median(withGc) : null,
    medianWithoutGc: withoutGc.length > 0 ? median(withoutGc) : null,
  };
}

/** Milliseconds since an arbitrary origin, with sub-microsecond resolution. */
export function nowMs(): number {
  return performance.now();
}

/** A full garbage collection; requires `node --expose-gc`. */
export function collectGarbage(): void {
  if (typeof globalThis.gc !== 'function') {
    throw new Error('run with `node --expose-gc` (as `npm run bench` does) to measure memory');
  }
  // Twice: the first pass can leave objects that only the second finds unreachable (weak refs).
  globalThis.gc();
  globalThis.gc();
}

export function hasGc(): boolean {
  return typeof globalThis.gc === 'function';
}

export interface Memory {
  heapUsed: number;
  arrayBuffers: number;
}

/** Live memory after a full collection: JS heap, and typed-array backing stores (outside the heap). */
export function liveMemory(): Memory {
  collectGarbage();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

/** Formats a number for the table: 3 significant digits, with exponent notation for the extremes. */
export function formatNumber(x: number | boolean | null | undefined): string {
  if (typeof x === 'boolean') return String(x);
  if (x === null || x === undefined) return '—';
  if (Number.isInteger(x) && Math.abs(x) < 1e7) return x.toString();
  const a = Math.abs(x);
  if (a >= 1e7 || a < 1e-3) return x.toExponential(2);
  if (a >= 1000) return Math.round(x).toString();
  return x.toPrecision(3);
}

/** A plain-text table of the rows: the common columns, then each row's extra figures. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['workload', 'variant', 'ms/step', 'µs/step', 'nodes/s', '× hand-written', 'more'];
  const common = new Set(['workload', 'variant', 'medianMsPerStep', 'nodesPerSecond', 'ratioToHandWritten']);
  const body = rows.map((r) => [
    r.workload,
    r.variant,
    formatNumber(r.medianMsPerStep),
    formatNumber(r.medianMsPerStep * 1000),
    formatNumber(r.nodesPerSecond),
    formatNumber(r.ratioToHandWritten),
    Object.entries(r)
      .filter(([k, v]) => !common.has(k) && v !== undefined && v !== null)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : v}`)
      .join(' '),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((line) => line[c]!.length)));
  const render = (cells: string[]): string => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...body.map(render)].join('\n');
}
