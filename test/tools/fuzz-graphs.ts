/**
 * Random expression graphs for property-based testing of the engine, shared by test/fuzz.test.ts
 * and `npm run fuzz` (bench/fuzz.ts).
 *
 * A graph is a small AST of our own (a list of nodes, each referring to earlier ones, so shared
 * subexpressions make it a DAG) that can be evaluated with engine Values, with forward-mode Duals,
 * and printed in the expression language that `micrograd grad` reads.
 *
 * Graphs are built from a list of integer choices (Hypothesis-style): fast-check generates and
 * shrinks the list, and the builder reads it. Running out of choices reads 0, which always means
 * "the simplest option", so a shrunk list gives a small graph. Every graph is valid by
 * construction: the builder tracks an interval that bounds each node's value for all inputs in
 * [−2, 2], puts a positive form (1 + u², softplus(u) + c, …) under log, sqrt, division and
 * Value-exponent pow, keeps tan's argument within one branch, at least 0.2 from its poles (so
 * |cos| ≥ sin 0.2 ≈ 0.199), and squashes an operand with tanh or sigmoid wherever a result could
 * exceed about 1e3 (so nothing overflows and finite differences stay meaningful). max and min meet
 * their operands on continuous values, where a tie is a rare crossing, except in the deliberate
 * max(u, u) and min(u, u) that test the tie rule (half the gradient to each operand).
 */
import fc from 'fast-check';
import {
  Value, NonFiniteError, topologicalOrder,
  add, sub, mul, div, pow, neg, exp, log, tanh, sigmoid, relu, sqrt, abs, softplus, logsigmoid, sum,
  sin, cos, tan, atan, max, min, OPS,
} from '../../src/index.js';
import type { UnaryOpName, BinaryOpName } from '../../src/index.js';
import { Dual } from '../../src/tools/dual.js';
import { compile } from '../../src/tools/compile.js';
import type { CompiledFunction, Strategy } from '../../src/tools/compile.js';
import { agrees, gradcheck, DEFAULT_EPS, FINITE_DIFFERENCE_TOLERANCE } from '../../src/tools/gradcheck.js';
import type { Rng } from '../../src/tools/random.js';

// ---------------------------------------------------------------------------------------------
// The AST.

// The op table's own names: an op added to the table is a type error here until the generator,
// both algebras and the bounds handle it.
export type UnaryOp = UnaryOpName;
export type BinaryOp = BinaryOpName;

/** An operand: an earlier node, or a literal number. */
export type Term = { readonly node: number } | { readonly constant: number };

export type GraphNode =
  | { readonly kind: 'input'; readonly index: number }
  | { readonly kind: 'unary'; readonly op: UnaryOp; readonly arg: number }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly a: Term; readonly b: Term }
  | { readonly kind: 'sum'; readonly terms: readonly Term[] };

export interface Graph {
  readonly inputNames: readonly string[];
  /** Inputs first (node i is input i), then every node after the nodes it uses. */
  readonly nodes: readonly GraphNode[];
  /** The output node. */
  readonly root: number;
}

/** How to compute with some number type: Values, Duals, … */
export interface Algebra<T> {
  unary(op: UnaryOp, x: T): T;
  binary(op: BinaryOp, a: T | number, b: T | number): T;
  sum(terms: readonly (T | number)[]): T;
}

/** Every node's result, given one `T` per input. */
export function evaluateGraph<T>(graph: Graph, inputs: readonly T[], algebra: Algebra<T>): T[] {
  const out: T[] = [];
  const term = (t: Term): T | number => ('node' in t ? out[t.node]! : t.constant);
  for (const n of graph.nodes) {
    switch (n.kind) {
      case 'input': out.push(inputs[n.index]!); break;
      case 'unary': out.push(algebra.unary(n.op, out[n.arg]!)); break;
      case 'binary': out.push(algebra.binary(n.op, term(n.a), term(n.b))); break;
      case 'sum': out.push(algebra.sum(n.terms.map(term))); break;
    }
  }
  return out;
}

const VALUE_UNARY: Record<UnaryOp, (x: Value) => Value> = {
  neg, exp, log, tanh, sigmoid, relu, sqrt, abs, softplus, logsigmoid, sin, cos, tan, atan,
};
const VALUE_BINARY: Record<BinaryOp, (a: Value | number, b: Value | number) => Value> = {
  '+': add, '-': sub, '*': mul, '/': div, pow, max, min,
};

/** The engine: number operands stay inline numbers, as `x.pow(2)` or `sub(3, x)` would make them. */
export const valueAlgebra: Algebra<Value> = {
  unary: (op, x) => VALUE_UNARY[op](x),
  binary: (op, a, b) => VALUE_BINARY[op](a, b),
  sum: (terms) => sum(terms),
};

const DUAL_UNARY: Record<UnaryOp, (x: Dual) => Dual> = {
  neg: (x) => x.neg(), exp: (x) => x.exp(), log: (x) => x.log(), tanh: (x) => x.tanh(),
  sigmoid: (x) => x.sigmoid(), relu: (x) => x.relu(), sqrt: (x) => x.sqrt(), abs: (x) => x.abs(),
  softplus: (x) => x.softplus(), logsigmoid: (x) => x.logsigmoid(),
  sin: (x) => x.sin(), cos: (x) => x.cos(), tan: (x) => x.tan(), atan: (x) => x.atan(),
};

/** Forward mode. A number first operand becomes a constant Dual; a number exponent stays a number. */
export const dualAlgebra: Algebra<Dual> = {
  unary: (op, x) => DUAL_UNARY[op](x),
  binary: (op, a, b) => {
    const x = typeof a === 'number' ? Dual.constant(a) : a;
    switch (op) {
      case '+': return x.add(b);
      case '-': return x.sub(b);
      case '*': return x.mul(b);
      case '/': return x.div(b);
      case 'pow': return x.pow(b);
      case 'max': return x.max(b);
      case 'min': return x.min(b);
    }
  },
  sum: (terms) => Dual.sum(terms),
};

// ---------------------------------------------------------------------------------------------
// Printing, in the language of `micrograd grad`.

/** The nodes the root depends on, and how many times each is used as an operand by those. */
function uses(graph: Graph): { reachable: boolean[]; count: number[] } {
  const reachable = graph.nodes.map(() => false);
  const count = graph.nodes.map(() => 0);
  reachable[graph.root] = true;
  for (let k = graph.root; k >= 0; k--) {
    if (!reachable[k]) continue;
    for (const j of operandNodes(graph.nodes[k]!)) {
      reachable[j] = true;
      count[j]!++;
    }
  }
  return { reachable, count };
}

function operandNodes(n: GraphNode): number[] {
  const of = (t: Term): number[] => ('node' in t ? [t.node] : []);
  switch (n.kind) {
    case 'input': return [];
    case 'unary': return [n.arg];
    case 'binary': return [...of(n.a), ...of(n.b)];
    case 'sum': return n.terms.flatMap(of);
  }
}

function numberText(x: number): string {
  return x < 0 ? `(-${String(-x)})` : String(x);
}

/**
 * The graph as a program: each node used more than once becomes a named intermediate
 * (`t7 = …;`), the rest are written inline, fully parenthesised; the last statement is the output.
 */
export function toExpression(graph: Graph): string {
  const { reachable, count } = uses(graph);
  const named = (k: number): boolean => graph.nodes[k]!.kind !== 'input' && k !== graph.root && count[k]! >= 2;
  const term = (t: Term): string => ('node' in t ? ref(t.node) : numberText(t.constant));
  const ref = (k: number): string => {
    const n = graph.nodes[k]!;
    if (n.kind === 'input') return graph.inputNames[n.index]!;
    return named(k) ? `t${k}` : inline(k);
  };
  const inline = (k: number): string => {
    const n = graph.nodes[k]!;
    switch (n.kind) {
      case 'input': return graph.inputNames[n.index]!;
      case 'unary': return n.op === 'neg' ? `(-${ref(n.arg)})` : `${OPS[n.op].call}(${ref(n.arg)})`;
      case 'binary': {
        const { operator, call } = OPS[n.op];
        return operator !== null ? `(${term(n.a)} ${operator} ${term(n.b)})` : `${call}(${term(n.a)}, ${term(n.b)})`;
      }
      case 'sum': return `sum(${n.terms.map(term).join(', ')})`;
    }
  };
  const statements: string[] = [];
  for (let k = 0; k < graph.root; k++) if (reachable[k] && named(k)) statements.push(`t${k} = ${inline(k)}`);
  statements.push(ref(graph.root));
  return statements.join('; ');
}

/** The `micrograd grad` command line for the graph at these inputs (only the inputs it uses). */
export function toCommand(graph: Graph, inputs: readonly number[]): string {
  const { reachable } = uses(graph);
  const at = graph.inputNames.map((name, i) => (reachable[i] ? `${name}=${String(inputs[i])}` : '')).filter((s) => s !== '');
  return `micrograd grad "${toExpression(graph)}"${at.length > 0 ? ` --at ${at.join(',')}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Building graphs from choices.

/** A source of choices: `pick(n)` is a whole number in [0, n). */
export interface Choices {
  pick(n: number): number;
}

/** Choices read from a list; past its end, every choice is 0 (the simplest option). */
export function choicesFromList(list: readonly number[]): Choices {
  let next = 0;
  return { pick: (n) => (next < list.length ? list[next++]! % n : 0) };
}

interface Interval {
  readonly lo: number;
  readonly hi: number;
}

/** Inputs are drawn from [−2, 2]; the bounds allow for the finite-difference step. */
const INPUT_BOUND = 2.01;
/** Results larger than this get a squashed operand instead. */
const LIMIT = 1e3;
/** The least value of a "positive form" (under log, sqrt, division, Value-exponent pow). */
const POSITIVE_MIN = 0.05;
const MAX_DEPTH = 12;
const MAX_OPS = 60;
const INPUT_NAMES = ['x', 'y', 'z'];

const ADD_CONSTANTS = [1, 2, 0.5, -1, -3, 0.25, 1.5];
const MUL_CONSTANTS = [2, -1, 0.5, 3, -0.25, 1.5];
const DIVISORS = [2, -4, 0.5, 3];
const OFFSETS = [0.1, 0.5, 1, 2];
const NUMBER_BASES = [2, 0.5, 3, 1.5];
/** Number exponents; after the first four the base must be positive. */
const EXPONENTS = [2, 3, 1, 0, 4, -1, 0.5, 1.5, -0.5, -2];
/** Number operands of max and min: within the inputs' range, so that either side can win. */
const MAX_MIN_CONSTANTS = [0.5, -1, 1.5, -0.25, 2, 0.75];
/** Factors that bring a wide argument of tan within a branch, tried largest first. */
const TAN_SCALES = [0.5, 0.25];
/** tan's argument stays this far from its poles: |cos| ≥ sin 0.2 ≈ 0.199, |tan| ≤ 5, tan′ ≤ 26. */
const TAN_MARGIN = 0.2;

type Kind = UnaryOp | BinaryOp | 'pow-value' | 'number-pow' | 'sum';
const KINDS: readonly Kind[] = [
  'neg', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'sqrt', 'abs', 'softplus', 'logsigmoid',
  'sin', 'cos', 'tan', 'atan',
  '+', '+', '-', '-', '*', '*', '/', '/', 'pow', 'pow-value', 'number-pow', 'sum', 'sum', 'max', 'min',
];

const span = (a: readonly number[]): Interval => ({ lo: Math.min(...a), hi: Math.max(...a) });
const magnitude = (i: Interval): number => Math.max(Math.abs(i.lo), Math.abs(i.hi));

/**
 * The k for which x lies within tan's branch (kπ − π/2, kπ + π/2), at least `TAN_MARGIN` from
 * both poles; null if there is none.
 */
function tanBranch(x: Interval): number | null {
  const k = Math.round((x.lo + x.hi) / 2 / Math.PI);
  const ok = x.lo >= k * Math.PI - Math.PI / 2 + TAN_MARGIN && x.hi <= k * Math.PI + Math.PI / 2 - TAN_MARGIN;
  return ok ? k : null;
}

/** Bounds of sin or cos over x: the ends, and any extremum (±1, at `first` + kπ) between them. */
function periodicBound(f: (v: number) => number, first: number, x: Interval): Interval {
  if (x.hi - x.lo >= 2 * Math.PI) return { lo: -1, hi: 1 };
  const values = [f(x.lo), f(x.hi)];
  for (let k = Math.ceil((x.lo - first) / Math.PI); first + k * Math.PI <= x.hi; k++) values.push(k % 2 === 0 ? 1 : -1);
  return span(values);
}

/**
 * Bounds of a unary op's result over the operand's interval (every op is monotone but abs, sin and
 * cos); tan's is infinite unless the interval lies within one branch, away from the poles.
 */
function unaryBound(op: UnaryOp, x: Interval): Interval {
  const monotone = (f: (v: number) => number): Interval => span([f(x.lo), f(x.hi)]);
  switch (op) {
    case 'neg': return { lo: -x.hi, hi: -x.lo };
    case 'exp': return monotone(Math.exp);
    case 'log': return monotone(Math.log);
    case 'tanh': return monotone(Math.tanh);
    case 'sigmoid': return monotone((v) => 1 / (1 + Math.exp(-v)));
    case 'relu': return monotone((v) => Math.max(v, 0));
    case 'sqrt': return monotone(Math.sqrt);
    case 'abs': return x.lo >= 0 || x.hi <= 0 ? monotone(Math.abs) : { lo: 0, hi: magnitude(x) };
    case 'softplus': return monotone((v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))));
    case 'logsigmoid': return monotone((v) => Math.min(v, 0) - Math.log1p(Math.exp(-Math.abs(v))));
    // sin is ±1 at π/2 + kπ (+1 for even k); cos at kπ.
    case 'sin': return periodicBound(Math.sin, Math.PI / 2, x);
    case 'cos': return periodicBound(Math.cos, 0, x);
    case 'tan': return tanBranch(x) === null ? { lo: -Infinity, hi: Infinity } : monotone(Math.tan);
    case 'atan': return monotone(Math.atan);
  }
}

/** Bounds of a binary op's result; the builder only divides by, and raises, positive intervals. */
function binaryBound(op: BinaryOp, a: Interval, b: Interval): Interval {
  const corners = (f: (x: number, y: number) => number): Interval =>
    span([f(a.lo, b.lo), f(a.lo, b.hi), f(a.hi, b.lo), f(a.hi, b.hi)]);
  switch (op) {
    case '+': return { lo: a.lo + b.lo, hi: a.hi + b.hi };
    case '-': return { lo: a.lo - b.hi, hi: a.hi - b.lo };
    case '*': return corners((x, y) => x * y);
    case '/': return corners((x, y) => x / y);
    case 'max': return { lo: Math.max(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
    case 'min': return { lo: Math.min(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
    case 'pow': {
      if (b.lo === b.hi && a.lo <= 0) {
        // A whole-number exponent over an interval that may contain 0 or negatives.
        const p = b.lo;
        const ends = [Math.pow(a.lo, p), Math.pow(a.hi, p)];
        if (a.lo < 0 && a.hi > 0) ends.push(0);
        return span(ends);
      }
      // xʸ = e^(y·ln x) is monotone in each of y and ln x, so its extremes are at the corners.
      return corners(Math.pow);
    }
  }
}

class Builder {
  readonly nodes: GraphNode[] = [];
  readonly bounds: Interval[] = [];
  readonly depths: number[] = [];
  private ops = 0;

  constructor(private readonly choices: Choices, private readonly inputs: number) {
    for (let i = 0; i < inputs; i++) this.push({ kind: 'input', index: i }, { lo: -INPUT_BOUND, hi: INPUT_BOUND }, 0);
  }

  private pick(n: number): number {
    return this.choices.pick(n);
  }

  private item<T>(list: readonly T[]): T {
    return list[this.pick(list.length)]!;
  }

  private push(node: GraphNode, bound: Interval, depth: number): number {
    if (!(Number.isFinite(bound.lo) && Number.isFinite(bound.hi))) {
      throw new Error(`fuzz-graphs: a node's bound is not finite: ${JSON.stringify(node)}`);
    }
    this.nodes.push(node);
    this.bounds.push(bound);
    this.depths.push(depth);
    if (node.kind !== 'input') this.ops++;
    return this.nodes.length - 1;
  }

  private boundOf(t: Term): Interval {
    return 'node' in t ? this.bounds[t.node]! : { lo: t.constant, hi: t.constant };
  }

  private depthOf(t: Term): number {
    return 'node' in t ? this.depths[t.node]! : 0;
  }

  /** A node with a made-up operand: a new subexpression (depth + 1), or one built earlier. */
  private operand(depth: number): number {
    const interior = this.nodes.length - this.inputs;
    if (interior > 0 && this.pick(100) >= 80) return this.inputs + this.pick(interior);
    return this.build(depth + 1);
  }

  private unary(op: UnaryOp, x: number): number {
    const bound = unaryBound(op, this.bounds[x]!);
    // A squashed operand lies within [−1, 1]: tan's branch about 0, with room to spare.
    if (magnitude(bound) > LIMIT) return this.unary(op, this.squash(x));
    return this.push({ kind: 'unary', op, arg: x }, bound, this.depths[x]! + 1);
  }

  /** `a op b`; when the result could be too large, the operands listed in `squashable` are squashed. */
  private binary(op: BinaryOp, a: Term, b: Term, squashable: readonly ('a' | 'b')[] = ['a', 'b']): number {
    let bound = binaryBound(op, this.boundOf(a), this.boundOf(b));
    for (const which of squashable) {
      if (magnitude(bound) <= LIMIT) break;
      const t = which === 'a' ? a : b;
      if (!('node' in t)) continue;
      const squashed = { node: this.squash(t.node) };
      if (which === 'a') a = squashed; else b = squashed;
      bound = binaryBound(op, this.boundOf(a), this.boundOf(b));
    }
    return this.push({ kind: 'binary', op, a, b }, bound, Math.max(this.depthOf(a), this.depthOf(b)) + 1);
  }

  /** tanh(x) or sigmoid(x): the same node, confined to [−1, 1]. */
  private squash(x: number): number {
    return this.unary(this.pick(2) === 0 ? 'tanh' : 'sigmoid', x);
  }

  /** x itself if it already lies within ±max, else squashed. */
  private limited(x: number, max: number): number {
    return magnitude(this.bounds[x]!) <= max ? x : this.squash(x);
  }

  /** tan's argument: x if it lies within a branch, else x scaled into the branch about 0, or squashed. */
  private tanArgument(x: number): number {
    const b = this.bounds[x]!;
    if (tanBranch(b) !== null) return x;
    const scale = TAN_SCALES.find((s) => magnitude(b) * s <= Math.PI / 2 - TAN_MARGIN);
    if (scale !== undefined && this.pick(2) === 0) return this.binary('*', { node: x }, { constant: scale }, []);
    return this.squash(x);
  }

  /** A form of x that is ≥ POSITIVE_MIN and ≤ max (max ≥ 3) for every input. */
  private positive(x: number, max: number): number {
    const b = this.bounds[x]!;
    if (b.lo >= POSITIVE_MIN && b.hi <= max && this.pick(3) === 0) return x;
    switch (this.pick(4)) {
      case 0: // 1 + u²
        return this.binary('+', { constant: 1 }, { node: this.binary('pow', { node: this.limited(x, Math.sqrt(max - 1)) }, { constant: 2 }, []) }, []);
      case 1: { // softplus(u) + c
        const c = this.item(OFFSETS.filter((o) => o <= max - 2));
        return this.binary('+', { node: this.unary('softplus', this.limited(x, max - c - 1)) }, { constant: c }, []);
      }
      case 2: { // sigmoid(u) + c
        const c = this.item(OFFSETS.filter((o) => o <= max - 1));
        return this.binary('+', { node: this.unary('sigmoid', x) }, { constant: c }, []);
      }
      default: // e^squash(u), within [1/e, e]
        return this.unary('exp', this.squash(x));
    }
  }

  /** A made-up subexpression at `depth` (0 for the output). */
  build(depth: number): number {
    const leafPercent = depth === 0 ? 3 : 5 * depth;
    if (depth >= MAX_DEPTH || this.ops >= MAX_OPS || this.pick(100) < leafPercent) {
      return this.pick(this.inputs);
    }
    const kind = this.item(KINDS);
    switch (kind) {
      case 'exp': {
        const x = this.operand(depth);
        return this.unary('exp', this.bounds[x]!.hi > 6 ? this.squash(x) : x);
      }
      case 'log': return this.unary('log', this.positive(this.operand(depth), LIMIT));
      case 'sqrt': return this.unary('sqrt', this.positive(this.operand(depth), LIMIT));
      case 'neg': case 'tanh': case 'sigmoid': case 'relu': case 'abs': case 'softplus': case 'logsigmoid':
      case 'sin': case 'cos': case 'atan':
        return this.unary(kind, this.operand(depth));
      case 'tan': return this.unary('tan', this.tanArgument(this.operand(depth)));
      case 'max': case 'min': {
        const a = this.operand(depth);
        const form = this.pick(8);
        // A deliberate tie, max(u, u): the tie rule gives u′ (half through each operand).
        if (form === 0) return this.binary(kind, { node: a }, { node: a });
        if (form <= 5) return this.binary(kind, { node: a }, { node: this.operand(depth) });
        const c = { constant: this.item(MAX_MIN_CONSTANTS) };
        return form === 6 ? this.binary(kind, { node: a }, c) : this.binary(kind, c, { node: a });
      }
      case '+': case '-': case '*': {
        const a = this.operand(depth);
        if (this.pick(4) !== 0) return this.binary(kind, { node: a }, { node: this.operand(depth) });
        const c = { constant: this.item(kind === '*' ? MUL_CONSTANTS : ADD_CONSTANTS) };
        return this.pick(2) === 0 ? this.binary(kind, { node: a }, c) : this.binary(kind, c, { node: a });
      }
      case '/': {
        const form = this.pick(3);
        if (form === 0) return this.binary('/', { node: this.operand(depth) }, { constant: this.item(DIVISORS) });
        const numerator: Term = form === 1 ? { node: this.operand(depth) } : { constant: this.item(MUL_CONSTANTS) };
        return this.binary('/', numerator, { node: this.positive(this.operand(depth), LIMIT) }, ['a']);
      }
      case 'pow': {
        const k = this.pick(EXPONENTS.length);
        const p = EXPONENTS[k]!;
        const maxBase = p === 0 ? LIMIT : Math.pow(LIMIT, 1 / Math.abs(p)) / 2;
        const x = this.operand(depth);
        const base = k < 4 ? this.limited(x, maxBase) : this.positive(x, Math.max(3, maxBase));
        return this.binary('pow', { node: base }, { constant: p }, []);
      }
      case 'pow-value': {
        const base = this.positive(this.operand(depth), LIMIT);
        return this.binary('pow', { node: base }, { node: this.operand(depth) }, ['b']);
      }
      case 'number-pow': {
        const c = this.item(NUMBER_BASES);
        return this.binary('pow', { constant: c }, { node: this.limited(this.operand(depth), 6) }, ['b']);
      }
      case 'sum': {
        const count = 2 + this.pick(4);
        let terms: Term[] = [];
        for (let k = 0; k < count; k++) {
          // The first term is always a node: a sum of numbers alone would be a number, not an op.
          terms.push(k > 0 && this.pick(5) === 0 ? { constant: this.item(ADD_CONSTANTS) } : { node: this.operand(depth) });
        }
        const total = (ts: readonly Term[]): number => magnitude(ts.reduce(
          (acc, t) => binaryBound('+', acc, this.boundOf(t)), { lo: 0, hi: 0 } as Interval));
        if (total(terms) > LIMIT) terms = terms.map((t) => ('node' in t ? { node: this.limited(t.node, 1) } : t));
        return this.push({ kind: 'sum', terms }, terms.reduce(
          (acc, t) => binaryBound('+', acc, this.boundOf(t)), { lo: 0, hi: 0 } as Interval),
        Math.max(...terms.map((t) => this.depthOf(t))) + 1);
      }
    }
  }
}

/** A graph over `inputCount` inputs (1 to 3, named x, y, z) built from `choices`. */
export function buildGraph(choices: Choices, inputCount: number): Graph {
  if (!Number.isInteger(inputCount) || inputCount < 1 || inputCount > INPUT_NAMES.length) {
    throw new RangeError(`inputCount must be 1 to ${INPUT_NAMES.length}, got ${inputCount}`);
  }
  const builder = new Builder(choices, inputCount);
  const root = builder.build(0);
  // The output is the last node: a graph whose output is an earlier node gets no further nodes.
  const nodes = builder.nodes.slice(0, Math.max(root, inputCount - 1) + 1);
  return { inputNames: INPUT_NAMES.slice(0, inputCount), nodes, root };
}

/** Facts about a graph, for checking that the generator covers what it should. */
export interface GraphStats {
  /** Ops of the nodes the output depends on (`pow` with a Value exponent is `pow-value`). */
  readonly ops: ReadonlySet<string>;
  /** The longest path from an input to the output, in ops. */
  readonly depth: number;
  /** Some node is an operand more than once. */
  readonly shared: boolean;
  /** The most operands of any sum. */
  readonly widestSum: number;
  /**
   * The forms of max and min present: `max(u, u)` (the same node twice: a tie), `max(c, u)` and
   * `max(u, c)` (a number first or second), and the same for min.
   */
  readonly maxMinForms: ReadonlySet<string>;
  readonly size: number;
}

export function graphStats(graph: Graph): GraphStats {
  const { reachable, count } = uses(graph);
  const ops = new Set<string>();
  const maxMinForms = new Set<string>();
  const depth: number[] = [];
  let widestSum = 0, size = 0;
  graph.nodes.forEach((n, k) => {
    const below = Math.max(0, ...operandNodes(n).map((j) => depth[j]!));
    depth.push(n.kind === 'input' ? 0 : below + 1);
    if (!reachable[k] || n.kind === 'input') return;
    size++;
    if (n.kind === 'unary') ops.add(n.op);
    if (n.kind === 'sum') { ops.add('sum'); widestSum = Math.max(widestSum, n.terms.length); }
    if (n.kind === 'binary') ops.add(n.op === 'pow' && 'node' in n.b ? 'pow-value' : n.op);
    if (n.kind === 'binary' && (n.op === 'max' || n.op === 'min')) {
      if ('node' in n.a && 'node' in n.b && n.a.node === n.b.node) maxMinForms.add(`${n.op}(u, u)`);
      if ('constant' in n.a) maxMinForms.add(`${n.op}(c, u)`);
      if ('constant' in n.b) maxMinForms.add(`${n.op}(u, c)`);
    }
  });
  const shared = graph.nodes.some((n, k) => n.kind !== 'input' && reachable[k] && count[k]! >= 2);
  return { ops, depth: depth[graph.root]!, shared, widestSum, maxMinForms, size };
}

// ---------------------------------------------------------------------------------------------
// Cases: a graph and a point.

export interface FuzzCase {
  readonly choices: readonly number[];
  readonly inputs: readonly number[];
  readonly graph: Graph;
  /** The `micrograd grad` command line that reproduces the case. */
  readonly command: string;
  [fc.toStringMethod](): string;
}

export function makeCase(choices: readonly number[], inputs: readonly number[]): FuzzCase {
  return caseOf(buildGraph(choicesFromList(choices), inputs.length), inputs, choices);
}

/** A case for a given graph (its `choices` are only meaningful when the graph was built from them). */
export function caseOf(graph: Graph, inputs: readonly number[], choices: readonly number[] = []): FuzzCase {
  if (inputs.length !== graph.inputNames.length) {
    throw new RangeError(`the graph has ${graph.inputNames.length} inputs, got ${inputs.length} values`);
  }
  const command = toCommand(graph, inputs);
  return { choices, inputs, graph, command, [fc.toStringMethod]: () => command };
}

const MAX_CHOICES = 400;

/**
 * Inputs lie on a grid of step 1e-6 over [−2, 2], so that they print briefly and shrink towards
 * short decimals (fast-check's doubles are uniform over bit patterns: most would be tiny).
 */
const GRID = 1e6;

function inputArbitrary(bias: boolean): fc.Arbitrary<number> {
  const steps = fc.integer({ min: -2 * GRID, max: 2 * GRID });
  return (bias ? steps : fc.noBias(steps)).map(
    (k) => k / GRID,
    (x) => {
      const k = typeof x === 'number' ? Math.round(x * GRID) : NaN;
      if (k / GRID !== x) throw new Error('not an input on the grid');
      return k;
    },
  );
}

/**
 * Random cases: the choice list and the inputs (1 to 3 of them, in [−2, 2]) both shrink. By default
 * the inputs lean, as fast-check's numbers do, towards special values (0, ±2, small ones): good for
 * meeting kinks exactly. `inputBias: false` draws them uniformly, for properties a kink spoils.
 */
export function fuzzCaseArbitrary(options: { readonly inputBias?: boolean } = {}): fc.Arbitrary<FuzzCase> {
  const input = inputArbitrary(options.inputBias !== false);
  return fc
    .tuple(
      fc.array(fc.nat(), { maxLength: MAX_CHOICES, size: 'max' }),
      fc.array(input, { minLength: 1, maxLength: INPUT_NAMES.length }),
    )
    .map(
      ([choices, inputs]) => makeCase(choices, inputs),
      (c) => {
        if (typeof c !== 'object' || c === null || !('choices' in c) || !('inputs' in c)) throw new Error('not a FuzzCase');
        return [(c as FuzzCase).choices.slice(), (c as FuzzCase).inputs.slice()] as [number[], number[]];
      },
    );
}

/** A random case from a seeded generator: the same distribution of graphs, without fast-check. */
export function randomCase(rng: Rng): FuzzCase {
  const choices = Array.from({ length: rng.int(MAX_CHOICES + 1) }, () => rng.int(0x80000000));
  const inputs = Array.from({ length: 1 + rng.int(INPUT_NAMES.length) }, () => (rng.int(4 * GRID + 1) - 2 * GRID) / GRID);
  return makeCase(choices, inputs);
}

// ---------------------------------------------------------------------------------------------
// The properties. Each returns null when it holds, 'discard' when the case does not apply, or
// the failure message. `engine` is the code under test (the real engine unless a test swaps in a
// deliberately broken one to show that the property can fail).

export type Outcome = null | 'discard' | string;

const UNIT_ROUNDOFF = 2 ** -53;

/** Error scales of a graph at a point, from forward mode's local derivatives. */
export interface ErrorScales {
  /** The output's value. */
  readonly value: number;
  /** Per input: Σ over paths of |product of local derivatives| (the terms the gradient sums). */
  readonly pathMagnitude: readonly number[];
  /** A first-order bound on the output's rounding error, in units of the unit roundoff. */
  readonly valueErrorScale: number;
}

/** The gradient by forward mode: one Dual pass per input, seeding that input. */
export function forwardGradientOf(graph: Graph, inputs: readonly number[]): number[] {
  return inputs.map((_, i) => {
    const seeded = inputs.map((x, j) => new Dual(x, j === i ? 1 : 0));
    return evaluateGraph(graph, seeded, dualAlgebra)[graph.root]!.tangent;
  });
}

/**
 * Error scales, from Dual numbers only: each node's local derivatives are read off by seeding one
 * operand slot at a time, and their absolute values propagated forward.
 */
export function errorScales(graph: Graph, inputs: readonly number[]): ErrorScales {
  const n = inputs.length;
  const value: number[] = [];
  const error: number[] = [];
  const paths: number[][] = [];
  graph.nodes.forEach((node) => {
    if (node.kind === 'input') {
      const x = inputs[node.index]!;
      value.push(x);
      error.push(Math.abs(x));
      paths.push(inputs.map((_, j) => (j === node.index ? 1 : 0)));
      return;
    }
    const operands: Term[] = node.kind === 'unary' ? [{ node: node.arg }]
      : node.kind === 'binary' ? [node.a, node.b] : [...node.terms];
    // ∂node/∂(operand slot k), by seeding slot k alone.
    const seededAt = (k: number): (Dual | number)[] =>
      operands.map((t, s) => ('node' in t ? new Dual(value[t.node]!, s === k ? 1 : 0) : t.constant));
    const apply = (args: (Dual | number)[]): Dual => {
      switch (node.kind) {
        case 'unary': return dualAlgebra.unary(node.op, args[0] as Dual);
        case 'binary': return dualAlgebra.binary(node.op, args[0]!, args[1]!);
        case 'sum': return dualAlgebra.sum(args);
      }
    };
    let v = NaN, e = 0;
    const p = new Array<number>(n).fill(0);
    operands.forEach((t, k) => {
      if (!('node' in t)) return;
      const out = apply(seededAt(k));
      v = out.value;
      const d = Math.abs(out.tangent);
      e += d * error[t.node]!;
      for (let j = 0; j < n; j++) p[j]! += d * paths[t.node]![j]!;
    });
    value.push(v);
    error.push(Math.abs(v) + e);
    paths.push(p);
  });
  return { value: value[graph.root]!, pathMagnitude: paths[graph.root]!, valueErrorScale: error[graph.root]! };
}

function reproduce(c: FuzzCase): string {
  return `\n  reproduce: ${c.command}`;
}

/** The engine's value and gradient, with the leaves (inputs and constants) of its graph. */
function reverse(c: FuzzCase, engine: Algebra<Value>): { out: Value; inputs: Value[]; leaves: Value[] } {
  const inputs = c.inputs.map((x, i) => new Value(x, c.graph.inputNames[i]));
  const out = evaluateGraph(c.graph, inputs, engine)[c.graph.root]!;
  out.backward();
  return { out, inputs, leaves: topologicalOrder(out).filter((v) => v.isLeaf) };
}

/**
 * Gradients this small come from terms that underflowed (tanh′(360) ≈ 4e-313 is subnormal; the
 * engine's 1/cosh²x rounds it to 0, forward mode does not): no relative comparison means anything.
 */
const UNDERFLOW_FLOOR = 1e-250;

/**
 * Reverse mode equals forward mode: values to 1e-12 of their error scale, gradients to 1e-10
 * relative plus 1e-12 of the magnitude of the terms summed (which covers cancellation), plus
 * `UNDERFLOW_FLOOR`.
 */
export function checkReverseAgainstForward(c: FuzzCase, engine: Algebra<Value> = valueAlgebra): Outcome {
  const scales = errorScales(c.graph, c.inputs);
  const forward = forwardGradientOf(c.graph, c.inputs);
  const { out, inputs } = reverse(c, engine);
  const v = agrees(out.data, scales.value, { rtol: 0, atol: 1e-12 * scales.valueErrorScale });
  if (!v.ok) return `the engine's value ${out.data} differs from forward mode's ${scales.value} by ${v.absError}${reproduce(c)}`;
  for (let i = 0; i < inputs.length; i++) {
    const r = inputs[i]!.grad, f = forward[i]!;
    const g = agrees(r, f, { rtol: 1e-10, atol: 1e-12 * scales.pathMagnitude[i]! + UNDERFLOW_FLOOR });
    if (!g.ok) {
      return `reverse mode disagrees with forward mode on ∂f/∂${c.graph.inputNames[i]}: reverse ${r}, forward ${f}, `
        + `|difference| ${g.absError.toExponential(3)} > allowed ${g.allowed.toExponential(3)}${reproduce(c)}`;
    }
  }
  return null;
}

/** A second `backward()` adds exactly the same gradients again: every leaf's grad doubles. */
export function checkBackwardTwice(c: FuzzCase, engine: Algebra<Value> = valueAlgebra): Outcome {
  const { out } = reverse(c, engine);
  // The first pass may skip parts below a zero gradient (its graph was new); the second may not
  // (the first wrote it), so it visits every node: both must give interior nodes the same grads.
  const nodes = topologicalOrder(out);
  const once = nodes.map((v) => v.grad);
  out.backward();
  for (let k = 0; k < nodes.length; k++) {
    const v = nodes[k]!, twice = v.grad;
    if (v.isLeaf ? twice !== 2 * once[k]! : twice !== once[k]!) {
      const name = v.label || (v.isConstant ? `the constant ${v.data}` : v.isLeaf ? `leaf ${k}` : `the ${v.op} node ${k}`);
      const expected = v.isLeaf ? `exactly 2 × ${once[k]}` : `${once[k]}, as after the first`;
      return `after two backward() calls, ${name} has grad ${twice}, not ${expected}${reproduce(c)}`;
    }
  }
  return null;
}

/**
 * The quantities whose sign (−, 0, +) picks a branch: a relu or abs argument, and the difference
 * a − b of max(a, b) and min(a, b), from the nodes' values.
 */
function kinksOf(graph: Graph): ((values: readonly Value[]) => number)[] {
  return graph.nodes.flatMap((n) => {
    if (n.kind === 'unary' && (n.op === 'relu' || n.op === 'abs')) return [(values: readonly Value[]) => values[n.arg]!.data];
    if (n.kind === 'binary' && (n.op === 'max' || n.op === 'min')) {
      const at = (t: Term, values: readonly Value[]): number => ('node' in t ? values[t.node]!.data : t.constant);
      return [(values: readonly Value[]) => at(n.a, values) - at(n.b, values)];
    }
    return [];
  });
}

/**
 * Reverse mode matches central differences within gradcheck's tolerances, plus the rounding error
 * of the differences themselves (about u·scale/eps, with the scale from forward mode). Discarded
 * when a relu or abs argument, or the difference of max's or min's operands, has different signs
 * (−, 0, +) at the points evaluated, x and x ± eps along each input: a kink within reach of the
 * step. A tie at every point (max(u, u)) is no kink: there the tie rule must give u′.
 */
export function checkFiniteDifferences(c: FuzzCase, engine: Algebra<Value> = valueAlgebra): Outcome {
  const kinks = kinksOf(c.graph);
  let signs: number[] | null = null;
  let crossed = false;
  const f = (xs: readonly Value[]): Value => {
    const values = evaluateGraph(c.graph, xs, engine);
    const now = kinks.map((kink) => Math.sign(kink(values)));
    // A sign change, or 0 on one side only, is a kink within reach; an argument that is 0 at every
    // point (relu of a relu that is off) is locally constant, which is smooth.
    if (signs !== null && now.some((s, j) => s !== signs![j])) crossed = true;
    signs ??= now;
    return values[c.graph.root]!;
  };
  const scale = errorScales(c.graph, c.inputs).valueErrorScale;
  let report;
  try {
    report = gradcheck(f, c.inputs, { atol: FINITE_DIFFERENCE_TOLERANCE.atol + (8 * UNIT_ROUNDOFF * scale) / DEFAULT_EPS });
  } catch (e) {
    if (e instanceof NonFiniteError) return `gradcheck failed: ${e.message}${reproduce(c)}`;
    throw e;
  }
  if (crossed) return 'discard';
  const i = report.rows.findIndex((r) => r.verdict !== 'ok');
  if (i < 0) return null;
  const bad = report.rows[i]!;
  const why = bad.numericUnavailable ?? bad.analyticUnavailable
    ?? `reverse ${bad.analytic}, central difference ${bad.numeric}, |difference| ${bad.analyticCheck!.absError.toExponential(3)} > allowed ${bad.analyticCheck!.allowed.toExponential(3)}`;
  return `reverse mode disagrees with central differences on ∂f/∂${c.graph.inputNames[i]}: ${why}${reproduce(c)}`;
}

/** The point where a compiled graph is called anew: x ↦ 0.1 − 0.75x, within [−2, 2] for x within it. */
function elsewhere(inputs: readonly number[]): number[] {
  return inputs.map((x) => 0.1 - 0.75 * x);
}

/**
 * compile() gives the engine's value and gradient bit for bit (−0 ≠ 0), with both back ends: at
 * the inputs it traced, and at a second point, against a fresh engine graph there (where relu,
 * abs, max and min may take other branches). Here the engine is the oracle and compile() the code
 * under test: `compiler` may be swapped for a broken one.
 */
export function checkCompiled(
  c: FuzzCase,
  compiler: (c: FuzzCase, strategy: Strategy) => CompiledFunction = (k, strategy) =>
    compile((xs) => evaluateGraph(k.graph, xs, valueAlgebra)[k.graph.root]!, k.inputs, { strategy }),
): Outcome {
  const points = [c.inputs, elsewhere(c.inputs)];
  const expected = points.map((x) => {
    const { out, inputs } = reverse(caseOf(c.graph, x), valueAlgebra);
    return { value: out.data, gradient: inputs.map((v) => v.grad) };
  });
  for (const strategy of ['code', 'tape'] as const) {
    const f = compiler(c, strategy);
    for (let p = 0; p < points.length; p++) {
      const { value, gradient } = f(points[p]!);
      const e = expected[p]!;
      const at = p === 0 ? 'at the traced inputs' : `at ${JSON.stringify(points[p])}`;
      if (!Object.is(value, e.value)) return `compile (${strategy}) ${at}: value ${value}, the engine's ${e.value}${reproduce(c)}`;
      for (let i = 0; i < e.gradient.length; i++) {
        if (!Object.is(gradient[i], e.gradient[i])) {
          return `compile (${strategy}) ${at}: ∂f/∂${c.graph.inputNames[i]} ${gradient[i]}, the engine's ${e.gradient[i]}${reproduce(c)}`;
        }
      }
    }
  }
  return null;
}
