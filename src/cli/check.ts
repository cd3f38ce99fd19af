/**
 * `micrograd check`: hand-derived gradients against the engine's (autodiff) and central differences.
 * Its rows are what `--json` prints (without `engineVsNumeric` and `numericUnavailable`):
 *
 *     { "ok": boolean, "rows": [{ "name", "manual", "autodiff", "numeric", "absError", "relError", "ok" }] }
 *
 * `numeric` is null when f fails at x ± eps; `relError` is null in JSON when it is infinite (autodiff 0,
 * manual not). The command exits 1 when any row is not ok.
 */
import { buildGraph, ExpressionError, parseExpression, type ExpressionGraph } from '../tools/expr.js';
import { agrees, EXACT_TOLERANCE, gradcheck, type Verdict } from '../tools/gradcheck.js';
import { formatNumber } from '../tools/dot.js';
import { NonFiniteError, type Value } from '../engine/value.js';
import { UsageError } from './exit-codes.js';
import type { ManualEntry } from './input.js';
import type { ModelAt } from './model.js';


/**
 * One row of `micrograd check` (its `--json` output holds these without the last two fields):
 * the manual formula's value, the engine's gradient, the central difference (null when a step
 * leaves the model's domain), |manual − autodiff| and its relative size, and the verdict.
 */
export interface CheckRow {
  readonly name: string;
  readonly manual: number;
  readonly autodiff: number;
  readonly numeric: number | null;
  readonly absError: number;
  readonly relError: number;
  readonly ok: boolean;
  /** autodiff vs central differences. */
  readonly engineVsNumeric: Verdict;
  /** Why there is no central difference, when there is none. */
  readonly numericUnavailable: string | null;
}

/** The rows, and the model's graph after its backward pass (for the picture). */
export interface CheckResult {
  readonly rows: readonly CheckRow[];
  readonly graph: ExpressionGraph;
}

/** Evaluates each manual formula at the model's values and compares it with autodiff and central differences. */
export function checkManual(m: ModelAt, manual: readonly ManualEntry[]): CheckResult {
  const unknown = manual.map((e) => e.name).filter((n) => !m.variables.includes(n));
  if (unknown.length) {
    throw new UsageError(`--manual names ${unknown.join(', ')}, which ${unknown.length === 1 ? 'is not a variable' : 'are not variables'} of the expression (its variables: ${m.variables.join(', ') || 'none'})`);
  }
  // The engine's gradient and central differences, by the one gradcheck implementation.
  // A step x ± eps outside the model's domain must reach gradcheck as the engine's NonFiniteError
  // (that input's numeric gradient is then unavailable), not as a mistake in the user's text.
  const report = gradcheck((xs: Readonly<Record<string, Value>>) => {
    try {
      return buildGraph(m.program, xs).output;
    } catch (e) {
      throw e instanceof ExpressionError && e.cause instanceof NonFiniteError ? e.cause : e;
    }
  }, m.at);
  const graph = buildGraph(m.program, m.at);
  graph.output.backward();
  const scope = Object.fromEntries([...graph.names].map(([n, v]) => [n, v.data]));
  const rows = manual.map(({ name, formula, source, offset, origin }): CheckRow => {
    let value: number;
    try {
      value = buildGraph(parseExpression(formula), scope).output.data;
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      // Reported where the formula sits in what the user wrote (the argument, or the file's line).
      const located = new ExpressionError(e.code, `in --manual ${name}: ${e.reason}`, source, offset + e.offset, { cause: e.cause });
      throw origin === undefined ? located : new UsageError(`${origin}: ${located.message}`, { cause: located });
    }
    const r = report.rows.find((row) => row.name === name)!;
    const autodiff = graph.variables.get(name)!.grad;
    const c = agrees(value, autodiff, EXACT_TOLERANCE);
    return {
      name, manual: value, autodiff, numeric: r.numeric, absError: c.absError, relError: c.relError, ok: c.ok,
      engineVsNumeric: r.verdict, numericUnavailable: r.numericUnavailable ?? null,
    };
  });
  return { rows, graph };
}

/** The JSON document `--json` prints. */
export function checkJson(rows: readonly CheckRow[]): { ok: boolean; rows: Omit<CheckRow, 'engineVsNumeric' | 'numericUnavailable'>[] } {
  return { ok: rows.every((r) => r.ok), rows: rows.map(({ engineVsNumeric: _, numericUnavailable: __, ...r }) => r) };
}

/** The table and notes printed without --json. */
export function formatCheck(rows: readonly CheckRow[]): string {
  const f = (x: number | null): string => (x === null ? 'n/a' : formatNumber(x, 6));
  const body = rows.map((r) => [r.name, f(r.manual), f(r.autodiff), f(r.numeric), formatNumber(r.absError, 2), formatNumber(r.relError, 2), r.ok ? 'ok' : 'WRONG']);
  const lines = [table(['name', 'manual', 'autodiff', 'numeric', 'abs err', 'rel err', 'verdict'], body, new Set([1, 2, 3, 4, 5]))];
  for (const r of rows) if (r.numericUnavailable) lines.push(`note: no central difference for ${r.name}: ${r.numericUnavailable}`);
  const suspicious = rows.filter((r) => r.engineVsNumeric === 'MISMATCH').map((r) => r.name);
  if (suspicious.length) lines.push(`note: autodiff and central differences disagree for ${suspicious.join(', ')} (a kink such as relu at 0, or a badly scaled input)`);
  const wrong = rows.filter((r) => !r.ok).length;
  lines.push(wrong === 0 ? 'All manual gradients agree with autodiff.' : `${wrong} of ${rows.length} manual gradients disagree with autodiff.`);
  return `${lines.join('\n')}\n`;
}
/** Rows of text in aligned columns (numbers right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((s, c) => (right.has(c) ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
