/**
 * "Check my derivation": a hand-derived ∂output/∂name, written in the expression language, against
 * the engine's gradient.
 *
 * TODO(#15): `diagnoseGradient` (src/tools/diagnose.ts) gives the diagnosis and the corrected
 * formula; until it lands this gives gradcheck's plain verdict (manual vs autodiff, `agrees` with
 * the exact tolerance) and marks the node it is about.
 */
import {
  agrees, buildGraph, EXACT_TOLERANCE, ExpressionError, formatNumber, parseExpression,
  type ExpressionGraph, type Program, type Value,
} from '../../src/index.js';

export interface DerivationResult {
  /** The formula's value, or null when it has an error. */
  readonly manual: number | null;
  readonly autodiff: number | null;
  /** True when manual agrees with autodiff. */
  readonly ok: boolean;
  /** One line: "agrees" or why not. */
  readonly verdict: string;
  /** What is wrong, when known. */
  readonly diagnosis: string | null;
  /** A formula that gives the right gradient, when known. */
  readonly corrected: string | null;
  /** The nodes of the page's graph to mark. */
  readonly marks: readonly Value[];
  /** An error in the formula, at its line and column. */
  readonly error: { readonly message: string; readonly line: number; readonly column: number } | null;
}

/**
 * Checks `formula` as ∂output/∂`name` for `program` at `at` (differentiated here, apart from the
 * page's graph, which may be in the middle of a stepped pass); `graph` is the page's build of the
 * same program, whose nodes get marked.
 */
export function checkDerivation(
  program: Program, at: Readonly<Record<string, number>>, graph: ExpressionGraph, name: string, formula: string,
): DerivationResult {
  const node = graph.names.get(name);
  if (node === undefined) throw new RangeError(`checkDerivation: the model has no ${name}`);
  const own = buildGraph(program, at);
  own.output.backward();
  const autodiff = own.names.get(name)!.grad;
  const scope = Object.fromEntries([...own.names].map(([n, v]) => [n, v.data]));
  let manual: number;
  try {
    manual = buildGraph(parseExpression(formula), scope).output.data;
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e;
    return {
      manual: null, autodiff, ok: false, verdict: `error: ${e.reason}`, diagnosis: null, corrected: null, marks: [],
      error: { message: e.reason, line: e.line, column: e.column },
    };
  }
  const c = agrees(manual, autodiff, EXACT_TOLERANCE);
  return {
    manual, autodiff, ok: c.ok,
    verdict: c.ok ? 'agrees with autodiff' : `wrong: manual ${formatNumber(manual, 6)} ≠ autodiff ${formatNumber(autodiff, 6)}`,
    diagnosis: null, corrected: null,
    marks: c.ok ? [] : [node],
    error: null,
  };
}
