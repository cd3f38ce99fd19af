/**
 * `micrograd check`: hand-derived gradients diagnosed by `diagnoseGradient` (agreement with autodiff
 * as an identity over random points, and the kind of mistake), with central differences beside
 * them. What it prints: the table at the given point, the diagnosis under it, the JSON document
 * (`checkJson`) and the marks for `--svg`. The command exits 1 when any formula is not ok.
 */
import type { Value } from '../engine/value.js';
import { formatNumber, mismatchNote } from '../tools/dot.js';
import { ExpressionError } from '../tools/expr.js';
import {
  diagnoseGradient, FormulaError,
  type DiagnoseOptions, type Diagnosis, type DiagnosisReport, type GradientDiagnosis, type ToleranceRule,
} from '../tools/diagnose.js';
import { UsageError } from './exit-codes.js';
import type { ManualEntry } from './input.js';
import type { ModelAt } from './model.js';

/**
 * Diagnoses each manual formula. A formula's error is reported where it sits in what the user
 * wrote (the argument, or the file's line).
 */
export function checkManual(m: ModelAt, manual: readonly ManualEntry[], options: DiagnoseOptions = {}): DiagnosisReport {
  const names = [...m.variables, ...m.program.assignments.map((a) => a.name)];
  const unknown = manual.map((e) => e.name).filter((n) => !names.includes(n));
  if (unknown.length) {
    throw new UsageError(`--manual names ${unknown.join(', ')}, which ${unknown.length === 1 ? 'is not a variable or named intermediate' : 'are not variables or named intermediates'} of the expression (its names: ${names.join(', ') || 'none'})`);
  }
  const notVariables = (options.fixed ?? []).filter((n) => !m.variables.includes(n));
  if (notVariables.length) {
    throw new UsageError(`--fixed names ${notVariables.join(', ')}, which ${notVariables.length === 1 ? 'is not a variable' : 'are not variables'} of the expression (its variables: ${m.variables.join(', ') || 'none'})`);
  }
  const heldTargets = manual.map((e) => e.name).filter((n) => (options.fixed ?? []).includes(n));
  if (heldTargets.length) {
    throw new UsageError(`--fixed holds ${heldTargets.join(', ')}, whose gradient --manual claims: a formula must hold as its variable moves, so it cannot be held fixed`);
  }
  if (m.variables.length > 0 && m.variables.every((n) => (options.fixed ?? []).includes(n))) {
    throw new UsageError(`--fixed holds every variable (${m.variables.join(', ')}): no random point would differ from the given one`);
  }
  try {
    return diagnoseGradient(m.program, m.at, new Map(manual.map((e) => [e.name, e.formula])), options);
  } catch (e) {
    if (!(e instanceof FormulaError)) throw e;
    const target = e.target;
    const entry = manual.find((x) => x.name === target)!;
    const located = new ExpressionError(e.code, `in --manual ${entry.name}: ${e.formulaReason}`, entry.source, entry.offset + e.offset, { cause: e.cause });
    throw entry.origin === undefined ? located : new UsageError(`${entry.origin}: ${located.message}`, { cause: located });
  }
}

/** Rows of text in aligned columns (the `right` ones right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((s, c) => (right.has(c) ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function verdict(r: GradientDiagnosis): string {
  return r.ok ? 'ok' : r.diagnosis.kind === 'unchecked' ? 'UNCHECKED' : 'WRONG';
}

function toleranceText(t: ToleranceRule): string {
  return t.rule === 'rounding'
    ? `within ${t.safety}× the first-order rounding bounds of both evaluations`
    : `within ${formatNumber(t.atol, 3)} + ${formatNumber(t.rtol, 3)}·|autodiff|`;
}

/** The diagnosis of one formula, for the lines under the table. */
function diagnosisLines(r: GradientDiagnosis): string[] {
  const d = r.diagnosis;
  const lines = [`${r.name}: ${d.kind}: ${d.text}`];
  if (!r.ok && r.agreesAtPoint && d.kind !== 'unchecked') lines.push('  (it agrees at the given point, but not as an identity)');
  if (d.use) lines.push(d.use.excerpt);
  if (d.corrected !== null) lines.push(`  corrected: ${r.name} = ${d.corrected}`);
  return lines;
}

/** The text `micrograd check` prints. */
export function formatCheck(report: DiagnosisReport): string {
  const f = (x: number | null): string => (x === null ? 'n/a' : formatNumber(x, 6));
  const body = report.rows.map((r) => [
    r.name, f(r.manual), f(r.autodiff), f(r.numeric), formatNumber(r.absError, 2), formatNumber(r.relError, 2), verdict(r),
  ]);
  const out = [table(['name', 'manual', 'autodiff', 'numeric', 'abs err', 'rel err', 'verdict'], body, new Set([1, 2, 3, 4, 5]))];
  out.push('');
  const ok = report.rows.filter((r) => r.ok);
  for (const r of report.rows) if (!r.ok) out.push(...diagnosisLines(r));
  if (ok.length) {
    const rest = report.points === 1 ? 'the random point' : `the ${report.points} random points`;
    out.push(`${ok.map((r) => r.name).join(', ')}: ok: ${ok.length === 1 ? 'agrees' : 'agree'} with autodiff at the given point and ${rest} around it`);
  }
  for (const r of report.rows) if (r.numericUnavailable) out.push(`note: numeric is n/a for ${r.name} (no central difference): ${r.numericUnavailable}`);
  const suspicious = report.rows.filter((r) => r.numericCheck !== null && !r.numericCheck.ok).map((r) => r.name);
  if (suspicious.length) {
    out.push(`note: autodiff and central differences disagree for ${suspicious.join(', ')} (a kink such as relu at 0, or a badly scaled input)`);
  }
  const fixed = report.fixed.length ? `, ${report.fixed.join(', ')} held fixed` : '';
  out.push(`checked at the given point and ${report.points} random points around it (seed ${report.seed}${fixed}), ${toleranceText(report.tolerance)}`);
  const n = report.rows.length;
  const wrong = report.rows.filter((r) => !r.ok && r.diagnosis.kind !== 'unchecked').length;
  const unchecked = report.rows.filter((r) => r.diagnosis.kind === 'unchecked').length;
  if (wrong === 0 && unchecked === 0) {
    out.push('All manual gradients agree with autodiff.');
  } else {
    const parts = [];
    if (wrong) parts.push(`${wrong} of ${n} manual gradients disagree with autodiff`);
    if (unchecked) parts.push(`${unchecked} of ${n} could not be checked`);
    out.push(`${parts.join('; ')}.`);
  }
  return `${out.join('\n')}\n`;
}

/** The diagnosis as JSON: only the fields that apply to its kind. */
function diagnosisJson(d: Diagnosis): Record<string, unknown> {
  const { kind, text, corrected, scale, factor, wrote, expected, use } = d;
  return {
    kind, text, corrected,
    ...(scale !== undefined ? { scale } : {}),
    ...(factor !== undefined ? { factor } : {}),
    ...(wrote !== undefined ? { wrote, expected } : {}),
    ...(use !== undefined ? { use } : {}),
  };
}

/** The document `micrograd check --json` prints. */
export function checkJson(report: DiagnosisReport): Record<string, unknown> {
  return {
    ok: report.ok,
    points: report.points,
    seed: report.seed,
    fixed: report.fixed,
    tolerance: report.tolerance,
    rows: report.rows.map((r) => ({
      name: r.name,
      manual: r.manual,
      autodiff: r.autodiff,
      numeric: r.numeric,
      absError: r.absError,
      // Infinity (autodiff 0, manual not) has no JSON form: null.
      relError: Number.isFinite(r.relError) ? r.relError : null,
      allowed: r.allowed,
      ok: r.ok,
      agreesAtPoint: r.agreesAtPoint,
      diagnosis: diagnosisJson(r.diagnosis),
    })),
  };
}

/**
 * The nodes to mark red in `--svg`, each with a note: the name whose formula is wrong (manual ≠
 * autodiff), and what its diagnosis names (the name written and the one that belongs, the factor's
 * node, the node that consumes a left-out use).
 */
export function checkMarks(report: DiagnosisReport): Map<Value, string> {
  const marks = new Map<Value, string>();
  const add = (v: Value, note: string): void => {
    const prev = marks.get(v);
    marks.set(v, prev === undefined ? note : `${prev}; ${note}`);
  };
  for (const r of report.rows) {
    if (r.ok || r.nodes.length === 0) continue;
    const [self, ...named] = r.nodes;
    add(self!, mismatchNote(r.manual, r.autodiff));
    const d = r.diagnosis;
    for (const v of named) {
      const note = d.kind === 'substitution'
        ? (report.graph.names.get(d.expected!) === v ? `belongs where ${d.wrote} is written in ∂/∂${r.name}` : `written for ${d.expected} in ∂/∂${r.name}`)
        : d.kind === 'missing-path' ? `its use of ${d.use!.name} is left out of ∂/∂${r.name}`
        : d.factor !== undefined ? `${d.kind === 'missing-factor' ? 'missing' : 'extra'} factor ${d.factor} in ∂/∂${r.name}`
        : `named by the diagnosis of ∂/∂${r.name}`;
      add(v, note);
    }
  }
  return marks;
}
