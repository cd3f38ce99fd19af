/**
 * "Check my derivation": a hand-derived ∂output/∂name, written in the expression language, checked
 * by `diagnoseGradient` (as an identity over seeded random points around the given one): its
 * verdict, what is wrong with it, a corrected formula, and the graph's nodes the diagnosis names.
 */
import {
  diagnoseGradient, ExpressionError, FormulaError, formatNumber, topologicalOrder,
  type ExpressionGraph, type Program, type Value,
} from '../../src/index.js';

export interface DerivationResult {
  /** The formula's value at the given point, or null when it has an error. */
  readonly manual: number | null;
  readonly autodiff: number | null;
  /** True when the formula is the gradient (the diagnosis is `ok`). */
  readonly ok: boolean;
  /** One line: the diagnosis kind and the numbers at the given point, or the error. */
  readonly verdict: string;
  /** What is wrong (or right), in words. */
  readonly diagnosis: string | null;
  /** A formula that gives the right gradient, when one is known. */
  readonly corrected: string | null;
  /** The nodes of the page's graph to mark. */
  readonly marks: readonly Value[];
  /** An error in the formula, at its line and column. */
  readonly error: { readonly message: string; readonly line: number; readonly column: number } | null;
}

/**
 * Checks `formula` as ∂output/∂`name` for `program` at `at`; `graph` is the page's build of the same
 * program (the diagnosis's own graph has the same shape: its nodes are found by their place in it).
 */
export function checkDerivation(
  program: Program, at: Readonly<Record<string, number>>, graph: ExpressionGraph, name: string, formula: string,
): DerivationResult {
  let row;
  let theirs: readonly Value[];
  try {
    const report = diagnoseGradient(program, at, { [name]: formula });
    row = report.rows[0]!;
    theirs = topologicalOrder(report.graph.output);
  } catch (e) {
    if (e instanceof FormulaError) {
      return {
        manual: null, autodiff: null, ok: false, verdict: `error: ${e.formulaReason}`, diagnosis: null, corrected: null, marks: [],
        error: { message: e.formulaReason, line: e.line, column: e.column },
      };
    }
    if (e instanceof ExpressionError || e instanceof RangeError) {
      return { manual: null, autodiff: null, ok: false, verdict: `cannot check: ${e.message.split('\n')[0]}`, diagnosis: null, corrected: null, marks: [], error: null };
    }
    throw e;
  }
  const mine = topologicalOrder(graph.output);
  const marks = row.ok ? [] : row.nodes.map((v) => mine[theirs.indexOf(v)]).filter((v): v is Value => v !== undefined);
  const numbers = `manual ${formatNumber(row.manual, 6)}, autodiff ${formatNumber(row.autodiff, 6)}`;
  return {
    manual: row.manual, autodiff: row.autodiff, ok: row.ok,
    verdict: row.ok ? `agrees with autodiff (${numbers})` : `${row.diagnosis.kind}: ${numbers}`,
    diagnosis: row.diagnosis.text,
    corrected: row.ok ? null : row.diagnosis.corrected,
    marks,
    error: null,
  };
}
