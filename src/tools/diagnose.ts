/**
 * What is wrong with a hand-derived gradient, not only that it is wrong.
 *
 * `diagnoseGradient(model, at, { name: formula }, options)` compares each formula with the engine's
 * ∂output/∂name (a variable's gradient, or a named intermediate's adjoint) as an identity: at the
 * given point and at N seeded random points around it, each within a tolerance that comes from a
 * first-order rounding bound of both evaluations (src/tools/rounding.ts). When a formula disagrees,
 * the diagnosis is the first explanation, in a fixed order, that holds at every informative point:
 *
 *   scaled          manual = c × true for one constant c
 *   substitution    one name written where another belongs (at every use, or at one)
 *   missing-factor  true = manual × F × c, F a named value, a node's value or a local derivative
 *   extra-factor    manual = true × F × c
 *   missing-path    a name used more than once, and the formula leaves out one use's contribution
 *   point-only      none of these, and it agrees at the given point only
 *   unexplained     none of these
 *
 * `unchecked` means too few random points carried information (the true gradient below its own
 * rounding bound there, or a formula that agrees only within an allowance reaching |true|). Nothing here is guessed: an explanation is reported only when its formula
 * agrees with autodiff at every informative point, and its corrected formula is printed from it.
 */
import { NonFiniteError, Value, topologicalOrder } from '../engine/value.js';
import {
  buildGraph, formatExpression, freeVariables, parseExpression, sourceExcerpt, ExpressionError,
  type Expression, type ExpressionErrorCode, type ExpressionGraph, type Identifier, type Program,
} from './expr.js';
import {
  binaryNode, childrenOf, expressionProgram, identifierNode, identifierUses, isConstantExpression, negate, numberNode, sizeAtMost, subexpressions,
  productFactors, programUses, replaceIdentifiers, replaceInProgram, simplify, withOutput,
} from './expr-edit.js';
import { adjointBounds, isPiecewise, MACHINE_EPSILON, parsedTemplate, RoundingBounds, type Adjoint } from './rounding.js';
import { createRng, type Rng } from './random.js';
import { agrees, centralDifference, checkTolerance, DEFAULT_EPS, FINITE_DIFFERENCE_TOLERANCE, rtolTooLarge, type Comparison } from './gradcheck.js';

// ---------------------------------------------------------------------------------------------
// Public types.

/** The kinds of diagnosis, in the order they are tried. */
export type DiagnosisKind =
  | 'ok' | 'scaled' | 'substitution' | 'missing-factor' | 'extra-factor' | 'missing-path'
  | 'point-only' | 'unexplained' | 'unchecked';

export const DIAGNOSIS_KINDS: readonly DiagnosisKind[] = Object.freeze([
  'ok', 'scaled', 'substitution', 'missing-factor', 'extra-factor', 'missing-path', 'point-only', 'unexplained', 'unchecked',
]);

/** Random points checked besides the given one. */
export const DEFAULT_POINTS = 16;
export const DEFAULT_DIAGNOSIS_SEED = 1;
/** Each variable moves by SPREAD·max(|x|, 1)·u, u uniform in [−1, 1]. */
export const SPREAD = 0.5;
/** Draws that yield no informative point (not finite, another branch, or below rounding), at most. */
export const MAX_REDRAWS = 100;
/** The allowed difference is this many times the sum of both evaluations' rounding bounds. */
export const ROUNDING_SAFETY = 4;

/** The default rule: ROUNDING_SAFETY × both evaluations' first-order rounding bounds (ε = 2⁻⁵²). */
export const ROUNDING_TOLERANCE: ToleranceRule = Object.freeze({ rule: 'rounding', safety: ROUNDING_SAFETY, epsilon: MACHINE_EPSILON });

export interface DiagnoseOptions {
  /** Random points besides the given one (default 16). */
  readonly points?: number;
  /** Seeds the random points (default 1). */
  readonly seed?: number;
  /** Variables held at their given values (data, labels); not one a formula is given for, nor all of them. */
  readonly fixed?: readonly string[];
  /** With `atol`: a fixed tolerance atol + rtol·|autodiff| in place of the rounding bound (either may be given; the other is 0). A fraction below 1. */
  readonly rtol?: number;
  readonly atol?: number;
}

/** How the allowed difference between a formula and autodiff is set. */
export type ToleranceRule =
  | { readonly rule: 'rounding'; readonly safety: number; readonly epsilon: number }
  | { readonly rule: 'fixed'; readonly rtol: number; readonly atol: number };

/** A use of a name in the model's source. */
export interface SourceUse {
  readonly name: string;
  readonly line: number;
  readonly column: number;
  /** The source line with a caret under the use. */
  readonly excerpt: string;
}

export interface Diagnosis {
  readonly kind: DiagnosisKind;
  /** What is wrong (or right), in words. */
  readonly text: string;
  /** The formula that agrees, as source; null when none is known. */
  readonly corrected: string | null;
  /** `scaled`: manual = scale × true. */
  readonly scale?: number;
  /** `missing-factor`, `extra-factor`: the factor, as source (a constant multiple included). */
  readonly factor?: string;
  /** `substitution`: the name written … */
  readonly wrote?: string;
  /** … and the one that belongs there. */
  readonly expected?: string;
  /** `missing-path`: the use left out. */
  readonly use?: SourceUse;
}

/** One formula's result. */
export interface GradientDiagnosis {
  /** The variable or named intermediate: the formula claims ∂output/∂name. */
  readonly name: string;
  readonly formula: string;
  /** The formula at the given point. */
  readonly manual: number;
  /** The engine's ∂output/∂name at the given point. */
  readonly autodiff: number;
  /** The central difference at the given point (for an intermediate, of the graph cut at it); null when unavailable. */
  readonly numeric: number | null;
  /** Why there is no central difference. */
  readonly numericUnavailable: string | null;
  /** autodiff against the central difference (gradcheck's tolerance); null without one. */
  readonly numericCheck: Comparison | null;
  readonly absError: number;
  /** absError / |autodiff|: 0 when both are 0, Infinity when only autodiff is 0. */
  readonly relError: number;
  /** The allowed difference at the given point. */
  readonly allowed: number;
  readonly agreesAtPoint: boolean;
  /** True exactly when the diagnosis is `ok`. */
  readonly ok: boolean;
  /** Random points that carried information (the check needs `points` of them). */
  readonly informativePoints: number;
  /** Random points drawn to find them (the others were redrawn). */
  readonly drawnPoints: number;
  readonly diagnosis: Diagnosis;
  /** The nodes of `graph` the diagnosis names (for pictures): the name's own node first. */
  readonly nodes: readonly Value[];
}

export interface DiagnosisReport {
  /** Every diagnosis is `ok`. */
  readonly ok: boolean;
  /** Random points per formula. */
  readonly points: number;
  readonly seed: number;
  readonly fixed: readonly string[];
  readonly tolerance: ToleranceRule;
  readonly rows: readonly GradientDiagnosis[];
  /** The model at the given point, after `backward()`. */
  readonly graph: ExpressionGraph;
}

/** A formula that does not parse or build; `target` names the gradient it was given for. */
export class FormulaError extends ExpressionError {
  constructor(
    /** The variable or intermediate the formula is for. */
    readonly target: string,
    /** The problem without the formula's name. */
    readonly formulaReason: string,
    code: ExpressionErrorCode,
    /** The formula's text. */
    readonly formula: string,
    offset: number,
    options?: { cause?: unknown },
  ) {
    super(code, `in the formula for ${target}: ${formulaReason}`, formula, offset, options);
  }
}

export type ManualFormulas = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

// ---------------------------------------------------------------------------------------------
// The model at a point.

interface ModelPoint {
  readonly at: Readonly<Record<string, number>>;
  readonly graph: ExpressionGraph;
  readonly forward: RoundingBounds;
  readonly branch: string;
  adjoints(): ReadonlyMap<Value, Adjoint>;
}

/** Which way each relu/abs/max/min goes: their local derivatives, in graph order. */
function branchOf(nodes: readonly Value[]): string {
  let s = '';
  for (const v of nodes) if (isPiecewise(v.op)) s += `${v.localGradients.join(',')};`;
  return s;
}

/** The model built and differentiated at `at`; a string says why it is not finite there. */
function modelAt(program: Program, at: Readonly<Record<string, number>>): ModelPoint | string {
  let graph: ExpressionGraph;
  try {
    graph = buildGraph(program, at);
  } catch (e) {
    if (e instanceof ExpressionError && e.code === 'numeric') return e.reason;
    throw e;
  }
  try {
    graph.output.backward();
  } catch (e) {
    if (e instanceof NonFiniteError) return e.message;
    throw e;
  }
  const forward = new RoundingBounds();
  let adjoints: Map<Value, Adjoint> | undefined;
  return {
    at, graph, forward,
    branch: branchOf(topologicalOrder(graph.output)),
    adjoints: () => (adjoints ??= adjointBounds(graph.output, forward)),
  };
}

interface Estimate {
  readonly value: number;
  readonly bound: number;
}

/** The engine's ∂output/∂name at the point, with the rounding bound of the backward pass. */
function trueGradient(p: ModelPoint, name: string): Estimate {
  const node = p.graph.names.get(name)!;
  return { value: node.grad, bound: p.adjoints().get(node)?.bound ?? 0 };
}

/** A formula in the model's names: parsed, with the names it reads from the model. */
interface Formula {
  readonly program: Program;
  readonly free: readonly string[];
}

function formulaOf(program: Program): Formula {
  return { program, free: freeVariables(program) };
}

interface Evaluated extends Estimate {
  readonly output: Value;
}

/** A formula evaluated over the model's Values at a point; a string says why it is not finite. */
function evaluate(f: Formula, p: ModelPoint): Evaluated | string {
  const bindings: Record<string, Value> = {};
  for (const n of f.free) {
    const v = p.graph.names.get(n);
    if (v === undefined) return `'${n}' is not a name of the model`;
    bindings[n] = v;
  }
  let output: Value;
  try {
    output = buildGraph(f.program, bindings).output;
  } catch (e) {
    if (e instanceof ExpressionError && e.code === 'numeric') return e.reason;
    throw e;
  }
  const bound = p.forward.of(output);
  if (!Number.isFinite(bound)) return 'its rounding bound overflows';
  return { value: output.data, bound, output };
}

// ---------------------------------------------------------------------------------------------
// The model, parsed once, with its draws of random points shared by every formula.

interface Use {
  readonly id: Identifier;
  /** The canonical name of the Value it reads. */
  readonly canonical: string;
  /** The expression that consumes it and at which operand; null for an alias or a bare output. */
  readonly parent: { readonly expr: Expression; readonly operand: number } | null;
}

interface Draw {
  readonly at: Readonly<Record<string, number>>;
  readonly point: ModelPoint | string;
}

class Model {
  readonly program: Program;
  readonly variables: readonly string[];
  /** Every name, in the order it comes into being: a variable at its first use, an intermediate after its statement. */
  readonly names: readonly string[];
  /** Each name to the first name (in `names` order) of the same Value: aliases share one. */
  readonly canonical: ReadonlyMap<string, string>;
  readonly given: ModelPoint;
  readonly uses: readonly Use[];
  /** The given point's Value of each model subexpression that makes a node. */
  readonly nodeOf: ReadonlyMap<Expression, Value>;
  /** The first subexpression that made each Value. */
  readonly exprOf: ReadonlyMap<Value, Expression>;
  /** The statement name each subexpression is the whole value of. */
  readonly namedExpr: ReadonlyMap<Expression, string>;
  /** Each named Value to its first name. */
  private readonly nameOf: ReadonlyMap<Value, string>;
  private readonly draws: Draw[] = [];
  private readonly rng: Rng;

  constructor(
    source: string | Program,
    readonly at: Readonly<Record<string, number>>,
    readonly points: number,
    readonly seed: number,
    readonly fixed: ReadonlySet<string>,
    readonly tolerance: ToleranceRule,
  ) {
    this.program = typeof source === 'string' ? parseExpression(source) : source;
    this.variables = freeVariables(this.program);
    // Built here first, so that a model not defined at the given point is reported with its caret.
    buildGraph(this.program, at);
    const given = modelAt(this.program, at);
    if (typeof given === 'string') throw new RangeError(`the gradient is not finite at the given point: ${given}`);
    this.given = given;
    this.names = introductionOrder(this.program);
    const canonical = new Map<string, string>();
    const firstOf = new Map<Value, string>();
    for (const n of this.names) {
      const v = given.graph.names.get(n)!;
      if (!firstOf.has(v)) firstOf.set(v, n);
      canonical.set(n, firstOf.get(v)!);
    }
    this.canonical = canonical;
    this.nameOf = new Map([...firstOf].map(([v, n]) => [v, n]));
    const mapped = mapNodes(this.program, given.graph);
    this.nodeOf = mapped.nodeOf;
    this.exprOf = mapped.exprOf;
    this.namedExpr = mapped.namedExpr;
    this.uses = mapped.uses.map((u) => ({ ...u, canonical: canonical.get(u.id.name)! }));
    this.rng = createRng(seed);
  }

  /** The k-th random point (the same for every formula, so that results do not depend on one another). */
  draw(k: number): Draw {
    while (this.draws.length <= k) {
      const at: Record<string, number> = {};
      for (const n of this.variables) {
        const x = this.at[n]!;
        // Every variable takes its draw, fixed or not, so that fixing one moves no other.
        const u = this.rng.uniform(-1, 1);
        at[n] = this.fixed.has(n) ? x : x + SPREAD * Math.max(Math.abs(x), 1) * u;
      }
      this.draws.push({ at, point: modelAt(this.program, at) });
    }
    return this.draws[k]!;
  }

  /** The allowed difference between a value and the true gradient `t` (bounds: the two evaluations'). */
  allowed(t: number, bounds: number): number {
    const r = this.tolerance;
    return r.rule === 'fixed' ? r.atol + r.rtol * Math.abs(t) : ROUNDING_SAFETY * bounds;
  }

  /** The model's name for a node, or its source subexpression; null for a Value with neither. */
  printable(v: Value): Expression | null {
    const n = this.nameOf.get(v);
    if (n !== undefined) return identifierNode(n);
    if (v.isConstant) return numberNode(v.data);
    return this.exprOf.get(v) ?? null;
  }
}

/** Names in the order they come into being: a variable at its first use, an intermediate once assigned. */
function introductionOrder(p: Program): string[] {
  const seen = new Set<string>();
  const assigned = new Set(p.assignments.map((a) => a.name));
  const out: string[] = [];
  const add = (n: string): void => { if (!seen.has(n)) { seen.add(n); out.push(n); } };
  for (const a of p.assignments) {
    for (const id of identifierUses(a.value)) if (!assigned.has(id.name)) add(id.name);
    add(a.name);
  }
  for (const id of identifierUses(p.output)) if (!assigned.has(id.name)) add(id.name);
  return out;
}

/** Pairs the program's subexpressions with the Values they made (structure only: the same at every point). */
function mapNodes(p: Program, graph: ExpressionGraph): {
  nodeOf: Map<Expression, Value>; exprOf: Map<Value, Expression>; namedExpr: Map<Expression, string>;
  uses: { id: Identifier; parent: Use['parent'] }[];
} {
  const nodeOf = new Map<Expression, Value>();
  const exprOf = new Map<Value, Expression>();
  const namedExpr = new Map<Expression, string>();
  const uses: { id: Identifier; parent: Use['parent'] }[] = [];
  // Iterative: a flat chain of 10⁵ terms is as deep as it is long.
  const walk = (root: Expression, rootValue: Value | undefined): void => {
    const stack: [Expression, Value | undefined][] = [[root, rootValue]];
    while (stack.length > 0) {
      const [e, v] = stack.pop()!;
      if (v !== undefined && e.kind !== 'identifier' && e.kind !== 'number' && !v.isLeaf) {
        nodeOf.set(e, v);
        if (!exprOf.has(v)) exprOf.set(v, e);
      }
      const cs = childrenOf(e);
      // A number-only part was folded while building: no node stands for it or for its parts.
      const inputs = v !== undefined && !v.isLeaf ? v.inputs : [];
      const aligned = inputs.length === cs.length && nodeOf.has(e);
      cs.forEach((c, k) => {
        if (c.kind === 'identifier') uses.push({ id: c, parent: { expr: e, operand: k } });
        const input = aligned ? inputs[k] : undefined;
        stack.push([c, input !== undefined && !input.isConstant ? input : undefined]);
      });
    }
  };
  for (const a of p.assignments) {
    namedExpr.set(a.value, a.name);
    if (a.value.kind === 'identifier') uses.push({ id: a.value, parent: null });
    walk(a.value, graph.intermediates.get(a.name));
  }
  if (p.output.kind === 'identifier') uses.push({ id: p.output, parent: null });
  walk(p.output, graph.output);
  uses.sort((x, y) => x.id.span.start - y.id.span.start);
  return { nodeOf, exprOf, namedExpr, uses };
}

// ---------------------------------------------------------------------------------------------
// The points one formula is checked at.

interface Sample {
  readonly point: ModelPoint;
  readonly t: number;
  readonly et: number;
  readonly m: number;
  readonly em: number;
  readonly given: boolean;
}

interface Samples {
  readonly given: Sample;
  readonly givenInformative: boolean;
  /** Informative random points, then the given point if it is informative: where explanations must hold. */
  readonly checked: readonly Sample[];
  readonly informativeRandom: number;
  readonly drawn: number;
  /** Why draws were redrawn: not finite, another branch, below rounding. */
  readonly redrawn: { readonly notFinite: number; readonly branch: number; readonly uninformative: number };
}

/**
 * A point tells a formula from 0 only where |t| exceeds the rounding allowance of both evaluations
 * (bounds: their sum); elsewhere even a formula that is identically 0 would agree.
 */
function informative(t: number, bounds: number): boolean {
  return Math.abs(t) > ROUNDING_SAFETY * bounds;
}

/**
 * Whether a point tells anything about the formula: the true gradient is above its own rounding
 * bound, and the formula either disagrees there or agrees with an allowance below |t| (an allowance
 * that reaches |t| would pass a formula that is identically 0).
 */
function telling(model: Model, t: Estimate, m: Estimate): boolean {
  if (!informative(t.value, t.bound)) return false;
  const agrees = Math.abs(m.value - t.value) <= model.allowed(t.value, t.bound + m.bound);
  return !agrees || informative(t.value, t.bound + m.bound);
}

function collectSamples(model: Model, target: string, formula: Formula, givenManual: Evaluated): Samples {
  const g = trueGradient(model.given, target);
  const given: Sample = { point: model.given, t: g.value, et: g.bound, m: givenManual.value, em: givenManual.bound, given: true };
  const needsFormulaBranch = formulaHasCalls(formula);
  const givenBranch = needsFormulaBranch ? branchOf(topologicalOrder(givenManual.output)) : '';
  const randoms: Sample[] = [];
  let redraws = 0, k = 0;
  const redrawn = { notFinite: 0, branch: 0, uninformative: 0 };
  const redraw = (why: keyof typeof redrawn): void => { redraws++; redrawn[why]++; };
  for (; randoms.length < model.points && redraws < MAX_REDRAWS; k++) {
    const d = model.draw(k);
    const p = d.point;
    if (typeof p === 'string') { redraw('notFinite'); continue; }
    if (p.branch !== model.given.branch) { redraw('branch'); continue; }
    const m = evaluate(formula, p);
    if (typeof m === 'string') { redraw('notFinite'); continue; }
    if (needsFormulaBranch && branchOf(topologicalOrder(m.output)) !== givenBranch) { redraw('branch'); continue; }
    const t = trueGradient(p, target);
    if (!Number.isFinite(t.bound)) { redraw('notFinite'); continue; }
    if (!telling(model, t, m)) { redraw('uninformative'); continue; }
    randoms.push({ point: p, t: t.value, et: t.bound, m: m.value, em: m.bound, given: false });
  }
  const givenInformative = telling(model, { value: given.t, bound: given.et }, { value: given.m, bound: given.em });
  return {
    given, givenInformative,
    checked: givenInformative ? [...randoms, given] : randoms,
    informativeRandom: randoms.length,
    drawn: k,
    redrawn,
  };
}

/** Whether the formula may hold a piecewise op of its own (then its branch must stay the same too). */
function formulaHasCalls(f: Formula): boolean {
  for (const s of [...f.program.assignments.map((a) => a.value), f.program.output]) {
    for (const e of subexpressions(s)) if (e.kind === 'call') return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Checks that an explanation holds.

/** Does `value` (computed per sample) equal the true gradient at every checked sample? */
function equalsTrue(model: Model, samples: readonly Sample[], value: (s: Sample) => Estimate | null): boolean {
  for (const s of samples) {
    const v = value(s);
    if (v === null || !Number.isFinite(v.value)) return false;
    // A candidate whose own rounding swamps the true gradient is not shown to equal it.
    if (!informative(s.t, s.et + v.bound)) return false;
    if (Math.abs(v.value - s.t) > model.allowed(s.t, s.et + v.bound)) return false;
  }
  return true;
}

interface Pair {
  readonly ref: Estimate;
  readonly cand: Estimate;
}

function scaleHolds(model: Model, pairs: readonly Pair[], k: number, relK: number): boolean {
  for (const { ref, cand } of pairs) {
    const kc = k * cand.value;
    const diff = Math.abs(ref.value - kc);
    const r = model.tolerance;
    const allowed = r.rule === 'fixed'
      ? r.atol + r.rtol * Math.max(Math.abs(ref.value), Math.abs(kc))
      : ROUNDING_SAFETY * (ref.bound + Math.abs(k) * cand.bound + Math.abs(kc) * relK);
    if (!(diff <= allowed)) return false;
    // An allowance that reaches |ref| would pass 0 × cand as well: the pair shows nothing.
    if (r.rule === 'rounding' && !(allowed < Math.abs(ref.value))) return false;
  }
  return true;
}

const SIMPLE_DENOMINATORS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 50, 100, 1000];

/**
 * One constant k with ref ≈ k·cand at every pair (k ≠ 0), or null. k is read off the pair whose
 * candidate is best conditioned and, when a simple fraction p/q also fits, reported as that.
 */
function fitScale(model: Model, pairs: readonly Pair[]): number | null {
  // Manual ≡ 0 or true ≡ 0 is never a scale: 0 × anything is no explanation.
  if (pairs.every((p) => p.ref.value === 0) || pairs.every((p) => p.cand.value === 0)) return null;
  let best = -1, quality = -1;
  pairs.forEach(({ cand }, i) => {
    if (cand.value === 0) return;
    const q = Math.abs(cand.value) / (cand.bound + MACHINE_EPSILON * Math.abs(cand.value));
    if (q > quality) { quality = q; best = i; }
  });
  const { ref, cand } = pairs[best]!;
  const k = ref.value / cand.value;
  if (!Number.isFinite(k)) return null;
  const relK = (ref.value === 0 ? 0 : ref.bound / Math.abs(ref.value)) + cand.bound / Math.abs(cand.value) + MACHINE_EPSILON;
  if (!scaleHolds(model, pairs, k, relK)) return null;
  for (const q of SIMPLE_DENOMINATORS) {
    const p = Math.round(k * q);
    if (p !== 0 && scaleHolds(model, pairs, p / q, 0)) return p / q;
  }
  for (let digits = 1; digits <= 12; digits++) {
    const c = Number(k.toPrecision(digits));
    if (c !== 0 && scaleHolds(model, pairs, c, 0)) return c;
  }
  return k;
}

/** A constant as an expression: a short decimal, or p/q. */
function constantNode(c: number): Expression {
  if (c < 0) return negate(constantNode(-c));
  for (const q of SIMPLE_DENOMINATORS) {
    const p = Math.round(c * q);
    if (p / q === c && q > 1 && String(c).length > 6) return binaryNode('/', numberNode(p), numberNode(q));
  }
  return numberNode(c);
}

/** c as text: "−1", "2", "1/2", "0.1". */
function constantText(c: number): string {
  return formatExpression(constantNode(c)).replace(/ \/ /, '/').replace(/^-/, '−');
}

/** e / c, written as a person would: `-e`, `2*e` for c = 1/2, `e/3`, `2*e/3`. */
function divideByConstant(e: Expression, c: number): Expression {
  const factors = productFactors(e);
  const k = factors.findIndex((x) => x.kind === 'number' && x.value === c);
  if (k >= 0 && factors.length > 1) return divideBy(e, factors[k]!);
  if (c < 0) return simplify(negate(divideByConstant(e, -c)));
  for (const q of SIMPLE_DENOMINATORS) {
    const p = Math.round(c * q);
    if (p / q !== c) continue;
    const scaled = q === 1 ? e : times(numberNode(q), e);
    return p === 1 ? scaled : simplify(binaryNode('/', scaled, numberNode(p)));
  }
  return simplify(binaryNode('/', e, numberNode(c)));
}

/** e / f, dropping f from e's product when it is one of its factors. */
function divideBy(e: Expression, f: Expression): Expression {
  const factors = productFactors(e);
  const text = formatExpression(f);
  const k = factors.findIndex((x) => formatExpression(x) === text);
  if (k < 0 || factors.length < 2) return simplify(binaryNode('/', e, f));
  const rest = factors.filter((_, i) => i !== k);
  return rest.slice(1).reduce((acc, x) => times(acc, x), rest[0]!);
}

/** A product written left to right (`a*b*c`, not `a*(b*c)`): it reads as the chain rule does. */
function times(a: Expression, b: Expression): Expression {
  if (b.kind === 'binary' && b.operator === '*') return times(times(a, b.left), b.right);
  return simplify(binaryNode('*', a, b));
}

// ---------------------------------------------------------------------------------------------
// Factors: the values a formula can be missing or have too many of.

interface FactorCandidate {
  readonly formula: Formula;
  /** The factor as source, in the model's names. */
  readonly text: string;
  readonly expr: Expression;
  /** What it is, in words. */
  readonly what: string;
  /** The given-point node the factor belongs to (to mark). */
  readonly node: Value | null;
}

const SYMBOL: Readonly<Record<string, string>> = { sigmoid: 'σ', tanh: 'tanh', exp: 'exp', log: 'log' };

/** Factors of more AST nodes than this are not tried. */
const MAX_FACTOR_SIZE = 40;

function factorCandidates(model: Model): FactorCandidate[] {
  const out: FactorCandidate[] = [];
  const seen = new Set<string>();
  // A constant factor is a scale, which is tried first; local derivatives that are constants (the
  // −1 of a subtraction) stay listed all the same, so that the order of the kinds alone decides.
  const add = (expr: Expression, what: string, node: Value | null, constantOk = false): void => {
    // A factor longer than a line is no help to read, and would make the search quadratic in a long model.
    if (!sizeAtMost(expr, MAX_FACTOR_SIZE)) return;
    const e = simplify(expr);
    if (!constantOk && isConstantExpression(e)) return;
    const text = formatExpression(e);
    if (seen.has(text)) return;
    seen.add(text);
    out.push({ formula: formulaOf(expressionProgram(e, text)), text, expr: e, what, node });
  };
  const graphNames = model.given.graph.names;
  // 1. Named values.
  for (const n of model.names) {
    const v = graphNames.get(n)!;
    if (model.canonical.get(n) !== n || v.isConstant) continue;
    add(identifierNode(n), `the value of ${n}`, v);
  }
  // 2. Nodes, as their source subexpressions (outer before inner, in source order).
  const named = new Set([...graphNames.values()]);
  const statements = [...model.program.assignments.map((a) => a.value), model.program.output];
  const visit = (e: Expression, f: (e: Expression) => void): void => { for (const x of subexpressions(e)) f(x); };
  for (const s of statements) {
    visit(s, (e) => {
      const v = model.nodeOf.get(e);
      if (v !== undefined && !named.has(v) && sizeAtMost(e, MAX_FACTOR_SIZE)) add(e, `the value of ${formatExpression(e)}`, v);
    });
  }
  // 3. Local derivatives, from the op table's templates in the model's names.
  for (const s of statements) {
    visit(s, (e) => {
      const u = model.nodeOf.get(e);
      if (u === undefined) return;
      const local = localDerivatives(model, e, u);
      for (const l of local) add(l.expr, l.what, u, true);
    });
  }
  return out;
}

interface LocalDerivative {
  readonly operand: number;
  readonly expr: Expression;
  readonly what: string;
}

/** The printed local derivatives of node `u` (made by subexpression `e`) with respect to each Value operand. */
function localDerivatives(model: Model, e: Expression, u: Value): LocalDerivative[] {
  const cs = childrenOf(e);
  const name = model.namedExpr.get(e);
  const y: Expression = name !== undefined ? identifierNode(name) : e;
  const small = (x: Expression): boolean => sizeAtMost(x, MAX_FACTOR_SIZE);
  // Printed in terms of the operands and the result: too long to read past a line.
  if (!cs.every(small) || !small(y)) return [];
  const inputs = u.inputs;
  const ds = u.localGradients;
  const yText = formatExpression(y);
  const out: LocalDerivative[] = [];
  cs.forEach((c, k) => {
    if (ds[k] === null || ds[k] === undefined || inputs[k]?.isConstant) return;
    const t = parsedTemplate(u.op, k);
    if (t === null) return;
    const operand = (n: string): Expression => (n === 'y' ? y : n === 'b' ? cs[1]! : cs[0]!);
    const expr = simplify(replaceIdentifiers(t.program.output, (id) => operand(id.name)));
    const what = cs.length === 1
      ? `${SYMBOL[u.op] ?? u.op}′ of the ${u.op} that makes ${yText}`
      : `∂(${formatExpression(e)})/∂(${formatExpression(c)}), the local derivative of ${u.op === '*' ? 'the product' : `'${u.op}'`} ${name !== undefined ? `that makes ${name}` : formatExpression(e)}`;
    out.push({ operand: k, expr, what });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The symbolic gradient, for corrected formulas where the manual one gives no handle.

/** Past this many AST nodes in one adjoint, the symbolic gradient is not printed. */
const MAX_SYMBOLIC_SIZE = 200;

/** ∂output/∂node for every node of the given graph, as expressions in the model's names (null past a size limit). */
function symbolicAdjoints(model: Model): Map<Value, Expression> | null {
  const order = topologicalOrder(model.given.graph.output);
  const adj = new Map<Value, Expression>();
  adj.set(model.given.graph.output, numberNode(1));
  let tooBig = false;
  for (let i = order.length - 1; i >= 0; i--) {
    const u = order[i]!;
    if (u.isLeaf) continue;
    const au = adj.get(u);
    if (au === undefined) continue;
    const locals = localExpressions(model, u);
    if (locals === null) return null;
    locals.forEach((l, k) => {
      if (l === null) return;
      const v = u.inputs[k]!;
      const term = times(au, l);
      if (isZero(term)) return;
      const prev = adj.get(v);
      const next = prev === undefined ? term : simplify(binaryNode('+', prev, term));
      adj.set(v, next);
      if (!sizeAtMost(next, MAX_SYMBOLIC_SIZE)) tooBig = true;
    });
    if (tooBig) return null;
  }
  return adj;
}

function isZero(e: Expression): boolean {
  return e.kind === 'number' && e.value === 0;
}

/** Node u's local derivatives as expressions (a branch's constant for a piecewise op); null if u cannot be printed. */
function localExpressions(model: Model, u: Value): (Expression | null)[] | null {
  const inputs = u.inputs;
  const ds = u.localGradients;
  const yExpr = model.printable(u);
  if (yExpr === null || !sizeAtMost(yExpr, MAX_SYMBOLIC_SIZE)) return null;
  const operands = inputs.map((x) => model.printable(x));
  if (operands.some((x) => x !== null && !sizeAtMost(x, MAX_SYMBOLIC_SIZE))) return null;
  return inputs.map((x, k) => {
    if (ds[k] === null || ds[k] === undefined || x.isConstant) return null;
    const t = parsedTemplate(u.op, k);
    if (t === null) return numberNode(ds[k]!); // piecewise: constant on the branch every point shares
    let ok = true;
    const expr = replaceIdentifiers(t.program.output, (id) => {
      const e = id.name === 'y' ? yExpr : id.name === 'b' ? operands[1] : operands[0];
      if (e === null || e === undefined) { ok = false; return undefined; }
      return e;
    });
    return ok ? simplify(expr) : null;
  });
}

// ---------------------------------------------------------------------------------------------
// Diagnosing one formula.

interface Context {
  readonly model: Model;
  readonly target: string;
  readonly formula: Formula;
  readonly source: string;
  readonly samples: Samples;
  symbolic(): Map<Value, Expression> | null;
}

interface Found {
  readonly diagnosis: Diagnosis;
  readonly nodes: readonly Value[];
}

function verifiedCorrected(ctx: Context, program: Program): string | null {
  const f = formulaOf(program);
  const holds = equalsTrue(ctx.model, ctx.samples.checked, (s) => {
    const r = evaluate(f, s.point);
    return typeof r === 'string' ? null : r;
  });
  return holds ? formatExpression(program) : null;
}

function pointsText(ctx: Context): string {
  const n = ctx.samples.checked.length;
  return `${n === 1 ? 'the 1 point' : `all ${n} points`} checked`;
}

function tryScaled(ctx: Context): Found | null {
  const pairs = ctx.samples.checked.map((s) => ({ ref: { value: s.m, bound: s.em }, cand: { value: s.t, bound: s.et } }));
  const c = fitScale(ctx.model, pairs);
  if (c === null || c === 1) return null;
  const corrected = verifiedCorrected(ctx, withOutput(ctx.formula.program, divideByConstant(ctx.formula.program.output, c)));
  const why = c === -1
    ? 'a sign error'
    : Math.abs(c) === 2 ? 'a factor 2 too many' : Math.abs(c) === 0.5 ? 'a factor 2 missing (a forgotten 2?)'
    : 'a constant factor, such as a learning rate left in the formula';
  return {
    diagnosis: {
      kind: 'scaled', scale: c,
      text: `it is ${constantText(c)} × the true gradient at ${pointsText(ctx)}: ${why}`,
      corrected,
    },
    nodes: [],
  };
}

function trySubstitution(ctx: Context): Found | null {
  const { model } = ctx;
  const uses = programUses(ctx.formula.program).filter((id) => ctx.formula.free.includes(id.name));
  const names = [...new Set(uses.map((u) => u.name))];
  for (const wrote of names) {
    const mine = uses.filter((u) => u.name === wrote);
    const groups: { ids: readonly Identifier[]; one: boolean }[] = [{ ids: mine, one: false }];
    if (mine.length > 1) for (const id of mine) groups.push({ ids: [id], one: true });
    for (const { ids, one } of groups) {
      for (const expected of model.names) {
        if (model.canonical.get(expected) === model.canonical.get(wrote)) continue;
        const program = replaceInProgram(ctx.formula.program, (id) => (ids.includes(id) ? identifierNode(expected) : undefined));
        const f = formulaOf(program);
        const holds = equalsTrue(model, ctx.samples.checked, (s) => {
          const r = evaluate(f, s.point);
          return typeof r === 'string' ? null : r;
        });
        if (!holds) continue;
        const where = one ? ` (its use at column ${ids[0]!.span.column}${ids[0]!.span.line > 1 ? `, line ${ids[0]!.span.line}` : ''} of the formula)` : '';
        const g = model.given.graph.names;
        return {
          diagnosis: {
            kind: 'substitution', wrote, expected,
            text: `it uses ${wrote} where ${expected} belongs${where}; with ${expected} it agrees with autodiff at ${pointsText(ctx)}`,
            corrected: formatExpression(program),
          },
          nodes: [g.get(wrote)!, g.get(expected)!],
        };
      }
    }
  }
  return null;
}

function tryFactors(ctx: Context): Found | null {
  const { model } = ctx;
  const candidates = factorCandidates(model);
  const cache = new Map<FactorCandidate, (Estimate | null)[]>();
  const factorAt = (c: FactorCandidate, i: number): Estimate | null => {
    let list = cache.get(c);
    if (list === undefined) cache.set(c, (list = []));
    if (list[i] === undefined) {
      const r = evaluate(c.formula, ctx.samples.checked[i]!.point);
      list[i] = typeof r === 'string' ? null : { value: r.value, bound: r.bound };
    }
    return list[i]!;
  };
  const product = (a: Estimate, b: Estimate): Estimate => ({
    value: a.value * b.value,
    bound: Math.abs(b.value) * a.bound + Math.abs(a.value) * b.bound + MACHINE_EPSILON * Math.abs(a.value * b.value),
  });
  for (const kind of ['missing-factor', 'extra-factor'] as const) {
    for (const c of candidates) {
      const pairs: Pair[] = [];
      let usable = true;
      for (let i = 0; i < ctx.samples.checked.length && usable; i++) {
        const s = ctx.samples.checked[i]!;
        const F = factorAt(c, i);
        if (F === null) { usable = false; break; }
        const t = { value: s.t, bound: s.et }, m = { value: s.m, bound: s.em };
        pairs.push(kind === 'missing-factor' ? { ref: t, cand: product(m, F) } : { ref: m, cand: product(t, F) });
        // Reject early: the first two pairs already pin the constant down.
        if (pairs.length === 2 && fitScale(model, pairs) === null) usable = false;
      }
      if (!usable) continue;
      const k = fitScale(model, pairs);
      if (k === null) continue;
      const factorExpr = k === 1 ? c.expr : times(constantNode(k), c.expr);
      const factor = formatExpression(factorExpr);
      const out = ctx.formula.program.output;
      const fixedOut = kind === 'missing-factor' ? times(out, factorExpr) : divideBy(out, factorExpr);
      const corrected = verifiedCorrected(ctx, withOutput(ctx.formula.program, fixedOut));
      const text = kind === 'missing-factor'
        ? `it is missing the factor ${factor} (${c.what}); multiplied by it, it agrees with autodiff at ${pointsText(ctx)}`
        : `it has an extra factor ${factor} (${c.what}); divided by it, it agrees with autodiff at ${pointsText(ctx)}`;
      return {
        diagnosis: { kind, factor, text, corrected },
        nodes: c.node ? [c.node] : [],
      };
    }
  }
  return null;
}

function tryMissingPath(ctx: Context): Found | null {
  const { model, target } = ctx;
  const counts = new Map<string, number>();
  for (const u of model.uses) counts.set(u.canonical, (counts.get(u.canonical) ?? 0) + 1);
  const taken = new Set(model.names);
  const filter = pathFilter(ctx);
  for (const use of model.uses) {
    if ((counts.get(use.canonical) ?? 0) < 2) continue;
    const v = model.given.graph.names.get(use.id.name)!;
    if (v.isConstant || !filter(use)) continue;
    let copy = `${use.id.name}_detached`;
    for (let k = 2; taken.has(copy); k++) copy = `${use.id.name}_detached${k}`;
    const detached = replaceInProgram(model.program, (id) => (id === use.id ? identifierNode(copy) : undefined));
    const holds = ctx.samples.checked.every((s) => {
      const value = s.point.graph.names.get(use.id.name)!.data;
      let g: ExpressionGraph;
      try {
        g = buildGraph(detached, { ...s.point.at, [copy]: value });
        g.output.backward();
      } catch (e) {
        if (e instanceof ExpressionError || e instanceof NonFiniteError) return false;
        throw e;
      }
      const t = g.names.get(target)!.grad;
      return Math.abs(s.m - t) <= model.allowed(t, s.et + s.em);
    });
    if (!holds) continue;
    const { line, column, start } = use.id.span;
    const consumer = use.parent ? model.nodeOf.get(use.parent.expr) ?? null : null;
    const count = counts.get(use.canonical)!;
    const inText = use.parent && sizeAtMost(use.parent.expr, MAX_FACTOR_SIZE) ? ` (in ${formatExpression(use.parent.expr)})` : '';
    return {
      diagnosis: {
        kind: 'missing-path',
        use: { name: use.id.name, line, column, excerpt: sourceExcerpt(model.program.source, start) },
        text: `it leaves out the path through ${use.id.name}'s use at line ${line}, column ${column}${inText}: ` +
          `${use.id.name} is used ${count} times, and the gradient sums the contributions of every use (the chain rule's sum, micrograd's +=)`,
        corrected: missingPathCorrection(ctx, use, consumer),
      },
      nodes: consumer ? [consumer] : [],
    };
  }
  return null;
}

/** ∂root/∂v for everything below root: a plain backward sweep over the stored local derivatives (no node's grad is touched). */
function plainAdjoints(root: Value): Map<Value, number> {
  const order = topologicalOrder(root);
  const adj = new Map<Value, number>([[root, 1]]);
  for (let i = order.length - 1; i >= 0; i--) {
    const u = order[i]!;
    const au = adj.get(u);
    if (au === undefined || u.isLeaf) continue;
    const inputs = u.inputs, ds = u.localGradients;
    inputs.forEach((x, k) => {
      const d = ds[k];
      if (d !== null && d !== undefined) adj.set(x, (adj.get(x) ?? 0) + au * d);
    });
  }
  return adj;
}

/**
 * A quick necessary test for leaving out one use, at the given point: by the chain rule, the
 * detached copy's gradient is the true one less adjoint(consumer) × local derivative × ∂name/∂target.
 * Only uses that pass it are rebuilt with the detached copy (a long model has many uses).
 */
function pathFilter(ctx: Context): (use: Use) => boolean {
  const { model, target, samples } = ctx;
  if (!samples.givenInformative) return () => true;
  const given = model.given.graph;
  const self = given.names.get(target)!;
  const sensitivity = new Map<string, number>();
  const sensitivityOf = (name: string): number => {
    let sv = sensitivity.get(name);
    if (sv === undefined) {
      const n = given.names.get(name)!;
      sv = n === self ? 1 : plainAdjoints(n).get(self) ?? 0;
      sensitivity.set(name, sv);
    }
    return sv;
  };
  const { t, m, et, em } = samples.given;
  return (use) => {
    if (use.parent === null) return true;
    const consumer = model.nodeOf.get(use.parent.expr);
    const d = consumer?.localGradients[use.parent.operand];
    if (consumer === undefined || d === null || d === undefined) return true;
    const left = t - consumer.grad * d * sensitivityOf(use.canonical);
    return Math.abs(m - left) <= 1e-6 * Math.max(Math.abs(m), Math.abs(left)) + model.allowed(left, et + em);
  };
}

/** The formula plus the left-out use's contribution (adjoint of its consumer × that local derivative). */
function missingPathCorrection(ctx: Context, use: Use, consumer: Value | null): string | null {
  if (use.parent === null || consumer === null) return null;
  const adj = ctx.symbolic();
  const au = adj?.get(consumer);
  if (au === undefined) return null;
  const locals = localExpressions(ctx.model, consumer);
  const local = locals?.[use.parent.operand];
  if (local === null || local === undefined) return null;
  const program = ctx.formula.program;
  return verifiedCorrected(ctx, withOutput(program, binaryNode('+', program.output, times(au, local))));
}

function trueFormula(ctx: Context): string | null {
  const node = ctx.model.given.graph.names.get(ctx.target)!;
  const e = ctx.symbolic()?.get(node);
  return e === undefined ? null : verifiedCorrected(ctx, expressionProgram(e));
}

function diagnoseOne(model: Model, target: string, source: string, formula: Formula, givenManual: Evaluated): GradientDiagnosis {
  const samples = collectSamples(model, target, formula, givenManual);
  let symbolic: Map<Value, Expression> | null | undefined;
  const ctx: Context = { model, target, formula, source, samples, symbolic: () => (symbolic === undefined ? (symbolic = symbolicAdjoints(model)) : symbolic) };
  const g = samples.given;
  const c = agreesWithin(g.m, g.t, model.allowed(g.t, g.et + g.em));
  const self = model.given.graph.names.get(target)!;
  let found: Found;
  const bad = samples.checked.filter((s) => !(Math.abs(s.m - s.t) <= model.allowed(s.t, s.et + s.em)));
  if (samples.informativeRandom < model.points) {
    found = {
      diagnosis: {
        kind: 'unchecked',
        text: `only ${samples.informativeRandom} of the ${model.points} random points needed carried information; ` +
          `of the ${samples.drawn} drawn, ${redrawnText(samples.redrawn)}` +
          (bad.length ? `; it disagrees at ${bad.length} of the ${samples.checked.length} points checked` : ''),
        corrected: null,
      },
      nodes: [],
    };
  } else if (bad.length === 0) {
    found = {
      diagnosis: { kind: 'ok', text: `it agrees with autodiff at ${pointsText(ctx)} (the given one and ${samples.informativeRandom} around it)`, corrected: null },
      nodes: [],
    };
  } else {
    found = tryScaled(ctx) ?? trySubstitution(ctx) ?? tryFactors(ctx) ?? tryMissingPath(ctx) ?? {
      diagnosis: c.ok
        ? { kind: 'point-only', text: `it agrees with autodiff at the given point only: it disagrees at ${bad.length} of ${samples.checked.length} points, and no single slip explains it`, corrected: trueFormula(ctx) }
        : { kind: 'unexplained', text: `it disagrees with autodiff at ${bad.length} of ${samples.checked.length} points, and no single slip (a constant factor, a swapped name, a missing or extra factor, a left-out use) explains it`, corrected: trueFormula(ctx) },
      nodes: [],
    };
  }
  const ok = found.diagnosis.kind === 'ok';
  const numeric = numericGradient(model, target);
  return {
    name: target, formula: source,
    manual: g.m, autodiff: g.t,
    numeric: numeric.value, numericUnavailable: numeric.unavailable,
    numericCheck: numeric.value === null ? null : agrees(g.t, numeric.value, FINITE_DIFFERENCE_TOLERANCE),
    absError: c.absError, relError: c.relError, allowed: c.allowed,
    agreesAtPoint: c.ok, ok,
    informativePoints: samples.informativeRandom,
    drawnPoints: samples.drawn,
    diagnosis: found.diagnosis,
    nodes: ok ? [] : [self, ...found.nodes.filter((v) => v !== self)],
  };
}

function redrawnText(r: Samples['redrawn']): string {
  const parts = [
    r.uninformative ? `${r.uninformative} had a true gradient below its rounding bound (such as a saturated sigmoid's, or a relu's that is off) or one the formula's rounding bound could not tell from 0` : '',
    r.branch ? `${r.branch} put a relu, abs, max or min on another branch than the given point` : '',
    r.notFinite ? `${r.notFinite} gave a value that is not finite` : '',
  ].filter((p) => p !== '');
  return parts.length ? parts.join(', ') : 'none was redrawn';
}

function agreesWithin(m: number, t: number, allowed: number): { absError: number; relError: number; allowed: number; ok: boolean } {
  const absError = Math.abs(m - t);
  const relError = absError === 0 ? 0 : t === 0 ? Infinity : absError / Math.abs(t);
  return { absError, relError, allowed, ok: absError <= allowed };
}

/**
 * The central difference of the output with respect to the name: for a variable, moving it; for an
 * intermediate, moving it in the graph cut there (its statement becomes an input).
 */
function numericGradient(model: Model, target: string): { value: number | null; unavailable: string | null } {
  const name = model.canonical.get(target)!;
  const isVariable = model.variables.includes(name);
  const program: Program = isVariable ? model.program : { ...model.program, assignments: model.program.assignments.filter((a) => a.name !== name) };
  const x = model.given.graph.names.get(name)!.data;
  // centralDifference would refuse this too, naming "input 0": the column names the variable instead.
  if (x + DEFAULT_EPS === x - DEFAULT_EPS) {
    return { value: null, unavailable: `${name} = ${x} is too large for a step of ${DEFAULT_EPS} to move it` };
  }
  const f = (xs: readonly number[]): number => buildGraph(program, { ...model.at, [name]: xs[0]! }).output.data;
  try {
    return { value: centralDifference(f, [x], 0), unavailable: null };
  } catch (e) {
    if (e instanceof ExpressionError && e.code === 'numeric') {
      return { value: null, unavailable: `the model fails at ${name} ± ${DEFAULT_EPS}: ${e.reason}` };
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// The entry point.

function entries(manual: ManualFormulas): [string, string][] {
  if (manual instanceof Map) return [...(manual as ReadonlyMap<string, string>)];
  if (typeof manual !== 'object' || manual === null) throw new TypeError('the manual formulas must be an object or a Map of name → formula');
  return Object.entries(manual);
}

/** What a fixed tolerance's rtol ≥ 1 would let pass, in the words of manual gradients against autodiff. */
const MANUAL_WORDS = ['a manual gradient of 0', '|autodiff|'] as const;

/** @internal Why diagnoseGradient and the command line refuse rtol ≥ 1 (gradcheck.ts's rule, in their words). */
export function manualRtolTooLarge(rtol: number): string {
  return rtolTooLarge(rtol, ...MANUAL_WORDS);
}

function resolveOptions(options: DiagnoseOptions): { points: number; seed: number; fixed: readonly string[]; tolerance: ToleranceRule } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const points = options.points ?? DEFAULT_POINTS;
  if (options.fixed !== undefined && (!Array.isArray(options.fixed) || options.fixed.some((n) => typeof n !== 'string'))) {
    throw new TypeError('fixed must be an array of variable names');
  }
  if (!Number.isSafeInteger(points) || points < 1) throw new RangeError(`points must be a whole number ≥ 1, got ${String(points)}`);
  const seed = options.seed ?? DEFAULT_DIAGNOSIS_SEED;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${String(seed)}`);
  let tolerance: ToleranceRule = ROUNDING_TOLERANCE;
  if (options.rtol !== undefined || options.atol !== undefined) {
    tolerance = { rule: 'fixed', rtol: options.rtol ?? 0, atol: options.atol ?? 0 };
    checkTolerance(tolerance, MANUAL_WORDS);
  }
  return { points, seed, fixed: [...(options.fixed ?? [])], tolerance };
}

interface Prepared {
  readonly model: Model;
  readonly formulas: readonly { readonly target: string; readonly text: string; readonly formula: Formula; readonly given: Evaluated }[];
}

/** Parses and checks the model, the point and the formulas, and evaluates each formula at the point. */
function prepare(
  source: string | Program, at: Readonly<Record<string, number>>, manual: ManualFormulas,
  o: ReturnType<typeof resolveOptions>,
): Prepared {
  const program = typeof source === 'string' ? parseExpression(source) : source;
  const variables = freeVariables(program);
  if (typeof at !== 'object' || at === null) throw new TypeError('the point must be an object of name → number');
  const extra = Object.keys(at).filter((n) => !variables.includes(n));
  if (extra.length) throw new RangeError(`the point gives ${extra.join(', ')}, which the model does not use (its variables: ${variables.join(', ') || 'none'})`);
  const notVariables = o.fixed.filter((n) => !variables.includes(n));
  if (notVariables.length) throw new RangeError(`fixed names ${notVariables.join(', ')}, which ${notVariables.length === 1 ? 'is not a variable' : 'are not variables'} of the model (its variables: ${variables.join(', ') || 'none'})`);
  const list = entries(manual);
  const model = new Model(program, at, o.points, o.seed, new Set(o.fixed), o.tolerance);
  const unknown = list.map(([n]) => n).filter((n) => !model.given.graph.names.has(n));
  if (unknown.length) {
    throw new RangeError(`${unknown.join(', ')} ${unknown.length === 1 ? 'is not a variable or named intermediate' : 'are not variables or named intermediates'} of the model (its names: ${model.names.join(', ')})`);
  }
  // A variable held still is never moved by the draws: its own formula, or every formula when all are
  // held, would be checked at the given point only, and a coincidence there would read as an identity.
  const heldTargets = list.map(([n]) => n).filter((n) => o.fixed.includes(n));
  if (heldTargets.length) {
    throw new RangeError(`fixed holds ${heldTargets.join(', ')}, whose gradient a formula claims: a formula must hold as its variable moves, so it cannot be held fixed`);
  }
  if (variables.length > 0 && variables.every((n) => o.fixed.includes(n))) {
    throw new RangeError(`fixed holds every variable of the model (${variables.join(', ')}): no random point would differ from the given one`);
  }
  const formulas = list.map(([target, text]) => {
    if (typeof text !== 'string') throw new TypeError(`the formula for ${target} must be a string, got ${typeof text}`);
    try {
      const formula = formulaOf(parseExpression(text));
      // Built with every name of the model bound, so that a misspelt one gets a suggestion.
      const output = buildGraph(formula.program, Object.fromEntries(model.given.graph.names)).output;
      return { target, text, formula, given: { value: output.data, bound: model.given.forward.of(output), output } };
    } catch (e) {
      if (e instanceof ExpressionError) {
        const reason = e.code === 'assigned-and-bound'
          ? e.reason.replace('also given a value from outside', 'also a name of the model')
          : e.reason;
        throw new FormulaError(target, reason, e.code, text, e.offset, { cause: e });
      }
      throw e;
    }
  });
  return { model, formulas };
}

/**
 * Diagnoses hand-derived gradients of a model written in the expression language.
 *
 * @param source the model (its last statement is the output).
 * @param at a value for every variable.
 * @param manual name → formula: the claimed ∂output/∂name, for a variable or a named intermediate;
 *   formulas may use the model's variables and intermediates.
 * @throws ExpressionError for a bad model; FormulaError for a bad formula; RangeError for a name
 *   that is not in the model, a point where the model or its gradient is not finite, bad options.
 */
export function diagnoseGradient(
  source: string | Program, at: Readonly<Record<string, number>>, manual: ManualFormulas, options: DiagnoseOptions = {},
): DiagnosisReport {
  const o = resolveOptions(options);
  const { model, formulas } = prepare(source, at, manual, o);
  const rows = formulas.map((f) => diagnoseOne(model, f.target, f.text, f.formula, f.given));
  return {
    ok: rows.every((r) => r.ok),
    points: o.points, seed: o.seed, fixed: o.fixed, tolerance: o.tolerance,
    rows,
    graph: model.given.graph,
  };
}

/** One formula against autodiff at the given point only, by the same rule. */
export interface PointAgreement extends Comparison {
  readonly name: string;
  /** The formula's value. */
  readonly manual: number;
  readonly autodiff: number;
  /** The two evaluations' rounding bounds, summed (before the safety factor). */
  readonly bound: number;
}

/**
 * The verdict rule of `diagnoseGradient` at one point, without random points or a diagnosis: each
 * formula against the engine's gradient, within ROUNDING_SAFETY × both rounding bounds (or
 * atol + rtol·|autodiff| when either is given). For tables of many points, such as the main report's.
 */
export function agreementAtPoint(
  source: string | Program, at: Readonly<Record<string, number>>, manual: ManualFormulas,
  options: Pick<DiagnoseOptions, 'rtol' | 'atol'> = {},
): PointAgreement[] {
  const o = resolveOptions({ ...(options.rtol === undefined ? {} : { rtol: options.rtol }), ...(options.atol === undefined ? {} : { atol: options.atol }) });
  const { model, formulas } = prepare(source, at, manual, o);
  return formulas.map((f) => {
    const t = trueGradient(model.given, f.target);
    const bound = t.bound + f.given.bound;
    return { name: f.target, manual: f.given.value, autodiff: t.value, bound, ...agreesWithin(f.given.value, t.value, model.allowed(t.value, bound)) };
  });
}
