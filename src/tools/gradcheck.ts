/**
 * Gradient checking: the engine's reverse-mode gradients (and, optionally, a gradient someone
 * claims, such as a learner's hand derivation) compared against central differences.
 *
 * One verdict rule serves every comparison in the project, `agrees`:
 *
 *     |candidate − reference| ≤ atol + rtol·|reference|
 *
 * with the reference being the more trustworthy number (central differences here; the exact
 * formulas elsewhere). The finite-difference defaults are PyTorch's gradcheck defaults.
 */
import { NonFiniteError, Value } from '../engine/value.js';

/** How far a candidate may be from a reference: `atol + rtol·|reference|`. */
export interface Tolerance {
  /** ≥ 0. */
  readonly atol: number;
  /** A fraction: ≥ 0 and below 1 (from 1 on, a candidate of 0 would pass whatever the reference). */
  readonly rtol: number;
}

/** Between exact formulas (the manual derivation, the learner's rules, autodiff): rounding only. */
export const EXACT_TOLERANCE: Tolerance = Object.freeze({ rtol: 1e-9, atol: 1e-12 });

/** Against central differences with `DEFAULT_EPS` (PyTorch's gradcheck defaults). */
export const FINITE_DIFFERENCE_TOLERANCE: Tolerance = Object.freeze({ rtol: 1e-3, atol: 1e-5 });

/** The central-difference step. */
export const DEFAULT_EPS = 1e-6;

/** The outcome of comparing a candidate number against a reference number. */
export interface Comparison {
  /** |candidate − reference| */
  readonly absError: number;
  /** absError / |reference|: 0 when both are 0, Infinity when only the reference is 0. */
  readonly relError: number;
  /** The largest absError that passes: atol + rtol·|reference|. */
  readonly allowed: number;
  /** absError ≤ allowed. */
  readonly ok: boolean;
}

/** The verdict rule: does `candidate` agree with `reference` within `tolerance`? */
export function agrees(candidate: number, reference: number, tolerance: Tolerance = FINITE_DIFFERENCE_TOLERANCE): Comparison {
  requireFinite(candidate, 'the candidate');
  requireFinite(reference, 'the reference');
  checkTolerance(tolerance);
  const absError = Math.abs(candidate - reference);
  const scale = Math.abs(reference);
  const relError = absError === 0 ? 0 : scale === 0 ? Infinity : absError / scale;
  const allowed = tolerance.atol + tolerance.rtol * scale;
  return { absError, relError, allowed, ok: absError <= allowed };
}

/** @internal Throws unless `t` is a usable tolerance; `words` name the candidate and the reference in the rtol ≥ 1 message. */
export function checkTolerance(t: Tolerance, words: readonly [candidate: string, reference: string] = ['a candidate of 0', '|reference|']): void {
  if (typeof t !== 'object' || t === null) throw new TypeError('a tolerance must be an object { atol, rtol }');
  for (const key of ['atol', 'rtol'] as const) {
    const x: unknown = t[key];
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) {
      throw new RangeError(`tolerance ${key} must be a finite number ≥ 0, got ${String(x)}`);
    }
  }
  if (t.rtol >= 1) throw new RangeError(rtolTooLarge(t.rtol, ...words));
}

/**
 * @internal Why rtol ≥ 1 is refused (by `agrees`, `gradcheck`, `diagnoseGradient` and the command line):
 * it is a fraction of the reference's size, and from 1 on `candidate` would pass whatever the reference.
 */
export function rtolTooLarge(rtol: number, candidate: string, reference: string): string {
  return `rtol must be below 1, got ${rtol}: it is a fraction of ${reference} (1e-3 is 0.1 %), and from 1 on ${candidate} would pass`;
}

function requireFinite(x: unknown, what: string): number {
  if (typeof x !== 'number') throw new TypeError(`${what} must be a number, got ${typeof x}`);
  if (!Number.isFinite(x)) throw new RangeError(`${what} must be finite, got ${x}`);
  return x;
}

// ---------------------------------------------------------------------------------------------
// Central differences over plain numbers.

/** A scalar function of plain numbers. */
export type NumberFunction = (xs: readonly number[]) => number;

/** A scalar function built from engine Values: takes one leaf per input, returns the output. */
export type ValueFunction = (xs: readonly Value[]) => Value;

/** The same with named inputs: one leaf per key. */
export type NamedValueFunction<K extends string> = (xs: Readonly<Record<K, Value>>) => Value;

/**
 * ∂f/∂x_index at `at` by the central difference (f(x + eps) − f(x − eps)) / (2·eps). The step
 * divided by is the one actually taken, ((x + eps) − (x − eps)), which removes the error of rounding
 * x ± eps to the nearest double.
 */
export function centralDifference(fn: NumberFunction, at: readonly number[], index: number, eps: number = DEFAULT_EPS): number {
  checkPoint(at);
  checkEps(eps);
  if (!Number.isInteger(index) || index < 0 || index >= at.length) {
    throw new RangeError(`index must be a whole number in [0, ${at.length}), got ${index}`);
  }
  const xs = at.slice();
  const x = at[index]!;
  const up = x + eps, down = x - eps;
  if (up === down) throw new RangeError(`eps = ${eps} is too small to move input ${index} = ${x}`);
  xs[index] = up;
  const fUp = requireFinite(fn(xs), `f at input ${index} + eps`);
  xs[index] = down;
  const fDown = requireFinite(fn(xs), `f at input ${index} − eps`);
  return (fUp - fDown) / (up - down);
}

/** The central-difference gradient of `fn` at `at`, one entry per input. */
export function numericGradient(fn: NumberFunction, at: readonly number[], eps: number = DEFAULT_EPS): number[] {
  return at.map((_, i) => centralDifference(fn, at, i, eps));
}

/** Evaluates a Value function at plain numbers (builds fresh leaves, returns the output's data). */
export function evaluateAt(f: ValueFunction, at: readonly number[]): number {
  checkPoint(at);
  return callValueFunction(f, at.map((x) => new Value(x)), 'f').data;
}

function checkPoint(at: readonly number[]): void {
  if (!Array.isArray(at)) throw new TypeError('the point must be an array of numbers');
  at.forEach((x, i) => requireFinite(x, `input ${i}`));
}

function checkEps(eps: number): void {
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0) {
    throw new RangeError(`eps must be a finite number > 0, got ${String(eps)}`);
  }
}

function callValueFunction(f: ValueFunction, leaves: readonly Value[], what: string): Value {
  const out: unknown = f(leaves);
  if (!(out instanceof Value)) {
    throw new TypeError(`${what} must return a Value, got ${out === null ? 'null' : typeof out}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// gradcheck.

export interface GradcheckOptions<Claimed> {
  /** Central-difference step (default 1e-6). */
  readonly eps?: number;
  /** Absolute tolerance (default 1e-5). */
  readonly atol?: number;
  /** Relative tolerance, a fraction below 1 (default 1e-3). */
  readonly rtol?: number;
  /** Someone's gradient, one number per input, checked against central differences too. */
  readonly claimed?: Claimed;
}

export type Verdict = 'ok' | 'MISMATCH' | 'UNCHECKED';

/** One input's line of the report. */
export interface GradcheckRow {
  readonly name: string;
  /** The input's value. */
  readonly at: number;
  /** The central difference; null when f failed at x ± eps (see `numericUnavailable`). */
  readonly numeric: number | null;
  readonly numericUnavailable: string | null;
  /** The engine's gradient; null when `backward()` failed (see `analyticUnavailable`). */
  readonly analytic: number | null;
  readonly analyticUnavailable: string | null;
  /** analytic against numeric; null when either is missing. */
  readonly analyticCheck: Comparison | null;
  /** The claimed gradient, null when none was given. */
  readonly claimed: number | null;
  /** claimed against numeric; null when there is no claim or no numeric gradient. */
  readonly claimedCheck: Comparison | null;
  /** MISMATCH if any check failed, else UNCHECKED if one could not be made, else ok. */
  readonly verdict: Verdict;
}

export interface GradcheckReport {
  /** Every row's verdict is ok. */
  readonly ok: boolean;
  /** f at the inputs. */
  readonly value: number;
  readonly eps: number;
  readonly tolerance: Tolerance;
  /** Whether a claimed gradient was checked. */
  readonly hasClaim: boolean;
  readonly rows: readonly GradcheckRow[];
}

/** Thrown by `assertGradcheck`; the message is the report's table. */
export class GradcheckError extends Error {
  override readonly name = 'GradcheckError';
  constructor(readonly report: GradcheckReport) {
    super(formatGradcheckReport(report));
  }
}

/**
 * Checks the engine's gradient of `f` at `inputs` (and `options.claimed`, if given) against
 * central differences. Inputs are a list (rows named x0, x1, …) or a record of named numbers (rows
 * carry the names, and f receives a record of leaves).
 */
export function gradcheck(f: ValueFunction, inputs: readonly number[], options?: GradcheckOptions<readonly number[]>): GradcheckReport;
export function gradcheck<K extends string>(
  f: NamedValueFunction<K>, inputs: Readonly<Record<K, number>>, options?: GradcheckOptions<Readonly<Record<K, number>>>,
): GradcheckReport;
export function gradcheck(
  f: ValueFunction | NamedValueFunction<string>,
  inputs: readonly number[] | Readonly<Record<string, number>>,
  options?: GradcheckOptions<readonly number[] | Readonly<Record<string, number>>>,
): GradcheckReport {
  return run(f, inputs, options ?? {});
}

/** `gradcheck`, throwing a `GradcheckError` (whose message is the table) unless every row is ok. */
export function assertGradcheck(f: ValueFunction, inputs: readonly number[], options?: GradcheckOptions<readonly number[]>): GradcheckReport;
export function assertGradcheck<K extends string>(
  f: NamedValueFunction<K>, inputs: Readonly<Record<K, number>>, options?: GradcheckOptions<Readonly<Record<K, number>>>,
): GradcheckReport;
export function assertGradcheck(
  f: ValueFunction | NamedValueFunction<string>,
  inputs: readonly number[] | Readonly<Record<string, number>>,
  options?: GradcheckOptions<readonly number[] | Readonly<Record<string, number>>>,
): GradcheckReport {
  const report = run(f, inputs, options ?? {});
  if (!report.ok) throw new GradcheckError(report);
  return report;
}

function run(
  f: ValueFunction | NamedValueFunction<string>,
  inputs: readonly number[] | Readonly<Record<string, number>>,
  options: GradcheckOptions<readonly number[] | Readonly<Record<string, number>>>,
): GradcheckReport {
  if (typeof f !== 'function') throw new TypeError('gradcheck needs a function of Values as its first argument');
  if (typeof options !== 'object' || options === null) throw new TypeError('gradcheck options must be an object');
  const eps = options.eps ?? DEFAULT_EPS;
  checkEps(eps);
  const tolerance: Tolerance = {
    atol: options.atol ?? FINITE_DIFFERENCE_TOLERANCE.atol,
    rtol: options.rtol ?? FINITE_DIFFERENCE_TOLERANCE.rtol,
  };
  checkTolerance(tolerance, ['a gradient of 0', '|numeric|']);

  if (Array.isArray(inputs)) {
    const values = inputs as readonly number[];
    const names = values.map((_, i) => `x${i}`);
    const claimed = options.claimed === undefined ? null : claimedList(options.claimed, names, false);
    return check(f as ValueFunction, names, values, claimed, eps, tolerance);
  }
  if (typeof inputs !== 'object' || inputs === null) {
    throw new TypeError('gradcheck inputs must be an array of numbers or a record of named numbers');
  }
  const record = inputs as Readonly<Record<string, number>>;
  const names = Object.keys(record);
  const values = names.map((n) => record[n]!);
  const named = f as NamedValueFunction<string>;
  const asList: ValueFunction = (xs) => named(Object.fromEntries(names.map((n, i) => [n, xs[i]!])));
  const claimed = options.claimed === undefined ? null : claimedList(options.claimed, names, true);
  return check(asList, names, values, claimed, eps, tolerance);
}

function claimedList(
  claimed: readonly number[] | Readonly<Record<string, number>>, names: readonly string[], byName: boolean,
): number[] {
  if (Array.isArray(claimed)) {
    if (byName) throw new TypeError('claimed must be a record of named gradients when the inputs are named');
    const list = claimed as readonly number[];
    if (list.length !== names.length) {
      throw new RangeError(`claimed has ${list.length} gradient${list.length === 1 ? '' : 's'} for ${names.length} input${names.length === 1 ? '' : 's'}`);
    }
    return list.map((g, i) => requireFinite(g, `the claimed gradient for ${names[i]}`));
  }
  if (!byName) throw new TypeError('claimed must be an array of numbers, one per input');
  if (typeof claimed !== 'object' || claimed === null) throw new TypeError('claimed must be a record of named gradients');
  const record = claimed as Readonly<Record<string, number>>;
  for (const key of Object.keys(record)) {
    if (!names.includes(key)) throw new RangeError(`claimed names ${JSON.stringify(key)}, which is not an input`);
  }
  return names.map((n) => {
    if (!Object.hasOwn(record, n)) throw new RangeError(`claimed has no gradient for input ${JSON.stringify(n)}`);
    return requireFinite(record[n], `the claimed gradient for ${n}`);
  });
}

function check(
  f: ValueFunction, names: readonly string[], at: readonly number[], claimed: readonly number[] | null,
  eps: number, tolerance: Tolerance,
): GradcheckReport {
  if (names.length === 0) throw new RangeError('gradcheck needs at least one input');
  at.forEach((x, i) => requireFinite(x, `input ${names[i]}`));

  // The engine's gradient. A failure at the point itself means f is not defined there: rethrown.
  const leaves = at.map((x, i) => new Value(x, names[i]));
  const out = callValueFunction(f, leaves, 'f');
  let analyticUnavailable: string | null = null;
  try {
    out.backward();
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    analyticUnavailable = e.message;
  }

  const evaluate = (xs: readonly number[]): number =>
    callValueFunction(f, xs.map((x, i) => new Value(x, names[i])), 'f').data;

  const rows = names.map((name, i): GradcheckRow => {
    let numeric: number | null = null;
    let numericUnavailable: string | null = null;
    try {
      numeric = centralDifference(evaluate, at, i, eps);
    } catch (e) {
      if (!(e instanceof NonFiniteError)) throw e;
      numericUnavailable = `f(${name} ± eps) failed: ${e.message}`;
    }
    const analytic = analyticUnavailable === null ? leaves[i]!.grad : null;
    const claim = claimed === null ? null : claimed[i]!;
    const analyticCheck = analytic !== null && numeric !== null ? agrees(analytic, numeric, tolerance) : null;
    const claimedCheck = claim !== null && numeric !== null ? agrees(claim, numeric, tolerance) : null;
    const checks = [analyticCheck, ...(claimed === null ? [] : [claimedCheck])];
    const verdict: Verdict = checks.some((c) => c !== null && !c.ok)
      ? 'MISMATCH'
      : checks.some((c) => c === null) ? 'UNCHECKED' : 'ok';
    return {
      name, at: at[i]!, numeric, numericUnavailable, analytic, analyticUnavailable,
      analyticCheck, claimed: claim, claimedCheck, verdict,
    };
  });
  return { ok: rows.every((r) => r.verdict === 'ok'), value: out.data, eps, tolerance, hasClaim: claimed !== null, rows };
}

// ---------------------------------------------------------------------------------------------
// The table.

/**
 * The report as a fixed-column table, one row per input, then a summary line and the reasons for
 * any gradient that could not be computed.
 */
export function formatGradcheckReport(report: GradcheckReport): string {
  const { atol, rtol } = report.tolerance;
  // The engine's columns, then (after a bar) the claim's: each gradient is checked against numeric.
  const header = ['input', 'value', 'numeric', 'engine', 'abs err', 'rel err', 'verdict'];
  if (report.hasClaim) header.push('|', 'claimed', 'abs err', 'rel err', 'verdict');
  const rightAligned = new Set([1, 2, 3, 4, 5, 8, 9, 10]);
  const body = report.rows.map((r) => {
    const cells = [
      r.name, String(r.at), gradientText(r.numeric), gradientText(r.analytic),
      ...comparisonCells(r.analyticCheck),
    ];
    if (report.hasClaim) cells.push('|', gradientText(r.claimed), ...comparisonCells(r.claimedCheck));
    return cells;
  });
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((cells) => cells[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((s, c) => (rightAligned.has(c) ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join('  ').trimEnd();

  const lines = [
    `gradcheck: central differences with eps = ${short(report.eps)}; a gradient g passes when |g − numeric| ≤ ${short(atol)} + ${short(rtol)}·|numeric|`,
    `f = ${report.value}`,
    line(header),
    ...body.map(line),
    summary(report),
  ];
  const reasons = new Set<string>();
  for (const r of report.rows) {
    if (r.analyticUnavailable !== null) reasons.add(`engine gradient unavailable: ${r.analyticUnavailable}`);
    if (r.numericUnavailable !== null) reasons.add(`${r.name}: numeric gradient unavailable: ${r.numericUnavailable}`);
  }
  lines.push(...reasons);
  return lines.join('\n');
}

/** 1e-6 rather than 0.000001. */
function short(x: number): string {
  return x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : String(x);
}

function comparisonCells(c: Comparison | null): string[] {
  if (c === null) return ['n/a', 'n/a', 'UNCHECKED'];
  return [c.absError.toExponential(1), c.relError === Infinity ? 'inf' : c.relError.toExponential(1), c.ok ? 'ok' : 'MISMATCH'];
}

function gradientText(x: number | null): string {
  if (x === null) return 'n/a';
  if (x === 0) return '0';
  const m = Math.abs(x);
  return m >= 1e-4 && m < 1e6 ? x.toPrecision(10) : x.toExponential(9);
}

function summary(report: GradcheckReport): string {
  const n = report.rows.length;
  const badEngine = report.rows.filter((r) => r.analyticCheck !== null && !r.analyticCheck.ok).map((r) => r.name);
  const badClaim = report.rows.filter((r) => r.claimedCheck !== null && !r.claimedCheck.ok).map((r) => r.name);
  const unchecked = report.rows.filter((r) => r.verdict === 'UNCHECKED').map((r) => r.name);
  const what = report.hasClaim ? 'the engine\'s and the claimed gradients agree' : 'the engine\'s gradient agrees';
  if (report.ok) return `ok: ${what} with central differences for ${n === 1 ? 'the input' : `all ${n} inputs`}`;
  const parts: string[] = [];
  if (badEngine.length > 0) parts.push(`the engine's gradient disagrees for ${badEngine.join(', ')}`);
  if (badClaim.length > 0) parts.push(`the claimed gradient disagrees for ${badClaim.join(', ')}`);
  if (unchecked.length > 0) parts.push(`could not check ${unchecked.join(', ')}`);
  return `${badEngine.length + badClaim.length > 0 ? 'MISMATCH' : 'UNCHECKED'}: ${parts.join('; ')}`;
}
