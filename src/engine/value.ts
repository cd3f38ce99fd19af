/**
 * The engine: a scalar `Value` that records every operation into a computation graph, and
 * reverse-mode differentiation over that graph.
 *
 * Each operation below is one short function that states its forward value and its local
 * derivatives (∂out/∂operand) side by side. The derivatives are computed when the node is made and
 * stored with it, so `backward()` is one uniform loop: grad(input) += grad(out) · local derivative.
 *
 * Underneath, for speed, a node is a thin object holding its operands (so the garbage collector
 * sees the graph and frees it exactly when it is unreachable), while its numbers (data, grad, local
 * derivatives) live in shared Float64Array chunks: no boxed doubles, and little for the young
 * generation to copy.
 */

import { describeUnknown } from './describe.js';

/** A second operand: another Value, or a plain number treated as a constant. */
export type Operand = Value | number;

/** The `op` names a node can carry (`""` for a leaf). */
export type OpName =
  | ''
  | '+'
  | '-'
  | '*'
  | '/'
  | 'pow'
  | 'neg'
  | 'exp'
  | 'log'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'sum'
  | 'sqrt'
  | 'abs'
  | 'softplus'
  | 'logsigmoid';

/** Every op name except the leaf's, in a fixed order (op codes index this list). */
export const OP_NAMES: readonly Exclude<OpName, ''>[] = [
  '+', '-', '*', '/', 'pow', 'neg', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'sum',
  'sqrt', 'abs', 'softplus', 'logsigmoid',
];
// A literal object, not a Map: V8 turns `CODE['*']` into a constant at each call site.
const CODE: Readonly<Record<OpName, number>> = {
  '': 0, '+': 1, '-': 2, '*': 3, '/': 4, pow: 5, neg: 6, exp: 7, log: 8, tanh: 9, sigmoid: 10, relu: 11,
  sum: 12, sqrt: 13, abs: 14, softplus: 15, logsigmoid: 16,
};

/** Thrown when an operation's result, or a local derivative met in `backward()`, is not finite. */
export class NonFiniteError extends RangeError {
  override readonly name = 'NonFiniteError';
  constructor(
    message: string,
    /** The operation that produced the non-finite number. */
    readonly op: OpName,
    /** Its operands' values and labels (a constant operand has the label `""`). */
    readonly operands: readonly { readonly value: number; readonly label: string }[],
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Storage. Every node gets a serial number when it is made; its numbers live in a Float64Array
// chunk shared by CHUNK consecutive serials, kept alive by the nodes that point at it and no longer.

const CHUNK = 4096;
const SLOT = CHUNK - 1;
// Serials count modulo 2³⁰ (small integers for V8); CHUNK divides 2³⁰, so serial & SLOT is always
// the node's place in its chunk. `backward` checks, rather than assumes, that serials order a graph.
const SERIAL = (1 << 30) - 1;

// How a node's operands are laid out (`form`), which says how to read slots a, b, d0 and d1.
const LEAF = 0; //     no operands
const CONSTANT = 1; // a leaf that stands for a literal number, never a variable of interest
const UNARY = 2; //    a = operand, d0 = ∂out/∂a
const BINARY = 3; //   a, b operands, d0 = ∂out/∂a, d1 = ∂out/∂b
const CONST_B = 4; //  a = operand, d0 = ∂out/∂a, d1 = the constant second operand
const CONST_A = 5; //  a = operand (the second), d0 = ∂out/∂a, d1 = the constant first operand
const NARY = 6; //     b = operand array, every ∂out/∂operand = 1

// A chunk holds its nodes' numbers interleaved, WORDS to a node, so that the backward pass touches
// one or two cache lines per node: data, grad, the local derivatives d0 and d1, and `since`.
const DATA = 0, GRAD = 1, D0 = 2, D1 = 3, SINCE = 4, WORDS = 5;

// `since` says whether backward() may skip what lies below a node whose gradient is exactly 0
// (a relu that is off, a hinge that is satisfied). Every share such a node passes on is ±0, which
// changes no leaf's sum (those start at +0); but the interior nodes only it reaches must still read
// grad 0 after the pass. They do if no pass has written them yet. So `since` is the number of passes
// begun when the oldest interior node of the node's graph was made (the node itself included):
// where that equals `passes` at the start of a pass, no pass has touched any of them. A leaf has
// Infinity (leaves do not count); a graph holding a non-finite local derivative has -1, so that
// backward() still meets that derivative and reports it.
let passes = 0;
// Nothing is skipped in a graph holding an interior node made before serials last wrapped around
// (`since` below this): there serials may be out of order, and a skipped node could hide that from
// the pass, which would then keep to serial order where it would otherwise fall back to depth-first
// order, and add the same shares in another order.
let sinceWrap = 0;

/** Starts a chunk at serial `s`; at serial 0, serials have wrapped (or begin). */
function newChunk(s: number): Float64Array {
  if (s === 0) sinceWrap = ++passes;
  return new Float64Array(CHUNK * WORDS);
}

let chunk = newChunk(1);
let nextSerial = 0;

/** Where node `v`'s numbers start in `v._n`. */
function at(v: Value): number {
  return (v._s & SLOT) * WORDS;
}

/**
 * @internal For tests: the serial number the next node gets, to exercise wrap-around and sparse
 * serials without making 2³⁰ nodes. Starts a fresh chunk, so that no two live nodes share a slot.
 */
export function setNextSerial(serial: number): void {
  nextSerial = serial & SERIAL;
  chunk = newChunk(0); // as after a wrap
}

const labels = new WeakMap<Value, string>();

function setLabel(v: Value, text: string): void {
  if (typeof text !== 'string') throw new TypeError(`Value label must be a string, got ${describeUnknown(text)}`);
  labels.set(v, text);
}

/** The constructor's uncommon work: refusing a bad number (before any state changes), setting a label. */
function leafExtras(v: Value, data: number, label: string | undefined): void {
  checkNumber(data, 'Value data');
  if (label !== undefined) setLabel(v, label);
}

// The checks below are small and their errors built out of line, so that V8 inlines the checks
// into every op (its inlining budget is what limits the speed of making nodes).

function checkNumber(x: unknown, what: string): number {
  if (typeof x === 'number' && x - x === 0) return x;
  throw badNumber(x, what);
}

function badNumber(x: unknown, what: string): Error {
  if (typeof x !== 'number') return new TypeError(`${what} must be a number, got ${describeUnknown(x)}`);
  return new RangeError(`${what} must be finite, got ${x}`);
}

// ---------------------------------------------------------------------------------------------

/** A scalar that remembers how it was computed, so that `backward()` can differentiate it. */
export class Value {
  // Declared, not initialised as class fields: the constructor sets them all, in one order.
  /** @internal The chunk holding this node's numbers. */ declare _n: Float64Array;
  /** @internal Serial number: creation order, modulo 2³⁰. */ declare _s: number;
  /** @internal The first operand, or null. */ declare _a: Value | null;
  /** @internal The second operand, the n-ary operand list, or null. */ declare _b: Value | readonly Value[] | null;
  /** @internal op code << 3 | form. */ declare _kind: number;
  /** @internal Traversal stamp; see `collect`. */ declare _mark: number;

  constructor(data: number, label?: string) {
    // Short in bytecode, so that V8 inlines it into every op (its inlining budget is what limits the
    // speed of making nodes); the uncommon work is out of line.
    if (typeof data !== 'number' || data - data !== 0 || label !== undefined) leafExtras(this, data, label);
    const s = nextSerial;
    if ((s & SLOT) === 0) chunk = newChunk(s);
    nextSerial = (s + 1) & SERIAL;
    this._n = chunk;
    this._s = s;
    this._a = null;
    this._b = null;
    this._kind = LEAF;
    this._mark = 0;
    const i = (s & SLOT) * WORDS;
    chunk[i + DATA] = data;
    chunk[i + SINCE] = Infinity;
  }

  /** A leaf standing for a literal number (drawn as a constant, not a variable). */
  static constant(x: number): Value {
    const v = new Value(x);
    v._kind = CONSTANT;
    return v;
  }

  /** One n-ary node: the sum of all the values (numbers become constant leaves). */
  static sum(values: Iterable<Operand>): Value {
    return sum(values);
  }

  /** The forward value. Mutable, so that optimisers can update parameters in place. */
  get data(): number {
    return this._n[at(this) + DATA]!;
  }
  set data(x: number) {
    this._n[at(this) + DATA] = checkNumber(x, 'Value data');
  }

  /** ∂root/∂this after the latest `backward()` (accumulated across calls for leaves). */
  get grad(): number {
    return this._n[at(this) + GRAD]!;
  }
  set grad(x: number) {
    // + 0 stores −0 as 0, as a pass adding into it would: a leaf a pass skips must read the same.
    this._n[at(this) + GRAD] = checkNumber(x, 'Value grad') + 0;
    if (!this.isLeaf) passes++; // an interior grad no pass wrote: no graph made so far may be skipped
  }

  /** A name for pictures and messages; `""` when unset. */
  get label(): string {
    return labels.get(this) ?? '';
  }
  set label(text: string) {
    setLabel(this, text);
  }

  /** The operation that made this value, `""` for a leaf. */
  get op(): OpName {
    const code = this._kind >> 3;
    return code === 0 ? '' : OP_NAMES[code - 1]!;
  }

  /** True for a value made directly (a parameter, an input or a constant), not by an operation. */
  get isLeaf(): boolean {
    return (this._kind & 7) <= CONSTANT;
  }

  /** True for a constant leaf: a literal number operand. */
  get isConstant(): boolean {
    return (this._kind & 7) === CONSTANT;
  }

  /**
   * The operands, in order. A number operand appears as a constant leaf (`isConstant`), made
   * afresh on each read: the node itself stores only the number.
   */
  get inputs(): readonly Value[] {
    const f = this._kind & 7;
    const d1 = this._n[at(this) + D1]!;
    switch (f) {
      case UNARY: return [this._a!];
      case BINARY: return [this._a!, this._b as Value];
      case CONST_B: return [this._a!, Value.constant(d1)];
      case CONST_A: return [Value.constant(d1), this._a!];
      case NARY: return (this._b as readonly Value[]).slice();
      default: return [];
    }
  }

  /**
   * ∂this/∂input for each entry of `inputs`, at the values the node was made with; `null` for a
   * constant operand (it has no gradient of interest).
   */
  get localGradients(): readonly (number | null)[] {
    const f = this._kind & 7;
    const d0 = this._n[at(this) + D0]!;
    switch (f) {
      case UNARY: return [d0];
      case BINARY: return [d0, this._n[at(this) + D1]!];
      case CONST_B: return [d0, null];
      case CONST_A: return [null, d0];
      case NARY: return (this._b as readonly Value[]).map(() => 1);
      default: return [];
    }
  }

  add(other: Operand): Value { return add(this, other); }
  sub(other: Operand): Value { return sub(this, other); }
  mul(other: Operand): Value { return mul(this, other); }
  div(other: Operand): Value { return div(this, other); }
  pow(exponent: Operand): Value { return pow(this, exponent); }
  neg(): Value { return neg(this); }
  exp(): Value { return exp(this); }
  log(): Value { return log(this); }
  tanh(): Value { return tanh(this); }
  sigmoid(): Value { return sigmoid(this); }
  relu(): Value { return relu(this); }
  sqrt(): Value { return sqrt(this); }
  abs(): Value { return abs(this); }
  softplus(): Value { return softplus(this); }
  logsigmoid(): Value { return logsigmoid(this); }

  /**
   * Reverse-mode differentiation of this value with respect to every value it depends on.
   *
   * Sets this value's gradient to 1, zeroes the gradients of the interior nodes of its graph and
   * adds this pass's gradient into each leaf once (so a second call gives exactly twice the leaf
   * gradients). Iterative: no recursion, whatever the graph's depth.
   */
  backward(): void {
    backward(this);
  }

  toString(): string {
    const label = this.label;
    return `Value(data=${this.data}, grad=${this.grad}${label ? `, label=${JSON.stringify(label)}` : ''})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Making nodes.

/** An operand's number; NaN for something that is neither, so that `binary` reports it. */
function valueOf(x: Operand): number {
  return typeof x === 'number' ? x : x instanceof Value ? x._n[at(x) + DATA]! : NaN;
}

/** A unary op's operand's number; NaN for a non-Value, which `unary` then reports. */
function operandOf(x: Value): number {
  return x instanceof Value ? x._n[at(x) + DATA]! : NaN;
}

function operandInfo(x: Operand): { value: number; label: string } {
  return typeof x === 'number' ? { value: x, label: '' } : { value: x.data, label: x.label };
}

function formatOperand(name: string, o: { value: number; label: string }): string {
  return `${name}=${o.value}${o.label ? ` (${JSON.stringify(o.label)})` : ''}`;
}

function nonFinite(op: OpName, operands: readonly Operand[], out: number): NonFiniteError {
  const info = operands.map(operandInfo);
  const names = operands.length === 1 ? ['x'] : ['a', 'b'];
  const list = info.map((o, k) => formatOperand(names[k] ?? `x${k}`, o)).join(', ');
  return new NonFiniteError(`${op}(${list}) is ${out}, not a finite number`, op, info);
}

function node(op: number, form: number, out: number, a: Value | null, b: Value | readonly Value[] | null, d0: number, d1: number, since: number): Value {
  const v = new Value(out);
  v._a = a;
  v._b = b;
  v._kind = (op << 3) | form;
  const num = v._n, i = at(v);
  num[i + D0] = d0;
  num[i + D1] = d1;
  num[i + SINCE] = since;
  return v;
}

/** `since` for a new node on operand `x` (and `y`) with local derivative `d0` (and `d1`); see SINCE. */
function sinceOf(x: Value, d0: number, y: Value | null, d1: number): number {
  if (d0 - d0 !== 0 || d1 - d1 !== 0) return -1;
  const sx = x._n[at(x) + SINCE]!;
  const since = sx < passes ? sx : passes;
  if (y === null) return since;
  const sy = y._n[at(y) + SINCE]!;
  return sy < since ? sy : since;
}

/** A one-operand node: `out` = f(x), `dx` = f′(x). */
function unary(op: OpName, x: Value, out: number, dx: number): Value {
  if (x instanceof Value && out - out === 0) return node(CODE[op], UNARY, out, x, null, dx, 0, sinceOf(x, dx, null, 0));
  throw badUnary(op, x, out);
}

function badUnary(op: OpName, x: unknown, out: number): Error {
  if (!(x instanceof Value)) return new TypeError(`${op} needs a Value operand, got ${describeUnknown(x)}`);
  return nonFinite(op, [x], out);
}

/** A two-operand node: `out` = f(x, y), `dx` = ∂f/∂x, `dy` = ∂f/∂y. Either operand may be a number. */
function binary(op: OpName, x: Operand, y: Operand, out: number, dx: number, dy: number): Value {
  // Kept short, so that V8 inlines it all into the op; a number first, and errors, out of line.
  if (x instanceof Value && out - out === 0) {
    if (y instanceof Value) return node(CODE[op], BINARY, out, x, y, dx, dy, sinceOf(x, dx, y, dy));
    // A number operand stays in the node (in d1) in place of a second Value.
    if (typeof y === 'number' && y - y === 0) return node(CODE[op], CONST_B, out, x, null, dx, y, sinceOf(x, dx, null, 0));
  }
  return withConstantFirst(op, x, y, out, dx, dy);
}

/** `binary` with a number first operand (kept in d1), or the error that names what is wrong. */
function withConstantFirst(op: OpName, x: Operand, y: Operand, out: number, dx: number, dy: number): Value {
  if (out - out === 0) {
    if (y instanceof Value && typeof x === 'number' && x - x === 0) {
      return node(CODE[op], CONST_A, out, y, null, dy, x, sinceOf(y, dy, null, 0));
    }
  }
  throw badOperation(op, x, y, out);
}

function badOperation(op: OpName, x: Operand, y: Operand, out: number): Error {
  checkOperands(op, x, y);
  return nonFinite(op, [x, y], out);
}

/** Throws the error that says what is wrong with the operands of `op`, if anything is. */
function checkOperands(op: OpName, x: unknown, y: unknown): void {
  if (!(x instanceof Value)) checkNumber(x, `the first operand of ${op}`);
  if (!(y instanceof Value)) checkNumber(y, `the second operand of ${op}`);
  if (!(x instanceof Value || y instanceof Value)) {
    throw new TypeError(`${op} needs at least one Value operand, got the numbers ${x} and ${y}`);
  }
}

function operand(x: Operand, op: OpName): Operand {
  if (x instanceof Value) return x;
  return checkNumber(x, `the operand of ${op}`);
}

// ---------------------------------------------------------------------------------------------
// The operations: forward value, then the local derivative with respect to each operand.

export function add(x: Operand, y: Operand): Value {
  const a = valueOf(x), b = valueOf(y);
  return binary('+', x, y, a + b, 1, 1);
}

export function sub(x: Operand, y: Operand): Value {
  const a = valueOf(x), b = valueOf(y);
  return binary('-', x, y, a - b, 1, -1);
}

export function mul(x: Operand, y: Operand): Value {
  const a = valueOf(x), b = valueOf(y);
  return binary('*', x, y, a * b, b, a);
}

export function div(x: Operand, y: Operand): Value {
  const a = valueOf(x), b = valueOf(y);
  // −a/b² as −(a/b)/b: b·b would underflow for |b| < 1.5e-154 where the derivative is still finite.
  return binary('/', x, y, a / b, 1 / b, -(a / b) / b);
}

/**
 * xʸ. With a number exponent, a negative base works wherever the power is real ((−2)² = 4). With a
 * Value exponent, ∂/∂y = xʸ·ln x needs x > 0 (it is 0 at x = 0, y > 0), so a negative base throws.
 */
export function pow(x: Operand, y: Operand): Value {
  const a = valueOf(x), b = valueOf(y);
  if (y instanceof Value && a < 0) {
    throw new NonFiniteError(
      `pow(${formatOperand('a', operandInfo(x))}, ${formatOperand('b', operandInfo(y))}): a negative base with a Value exponent has no real derivative ∂/∂b = aᵇ·ln a`,
      'pow', [operandInfo(x), operandInfo(y)]);
  }
  const out = Math.pow(a, b);
  const dx = b === 0 ? 0 : b * Math.pow(a, b - 1);
  const dy = a === 0 && b > 0 ? 0 : out * Math.log(a);
  return binary('pow', x, y, out, dx, dy);
}

export function neg(x: Value): Value {
  return unary('neg', x, -operandOf(x), -1);
}

export function exp(x: Value): Value {
  const out = Math.exp(operandOf(x));
  return unary('exp', x, out, out);
}

export function log(x: Value): Value {
  const a = operandOf(x);
  return unary('log', x, Math.log(a), 1 / a);
}

/**
 * tanh, with its derivative 1/cosh²x computed as 4e/(1 + e)² from e = e^(−2|x|) ≤ 1: accurate in
 * the tails, where 1 − tanh²x rounds to 0 early, and free of the overflow of cosh² past |x| ≈ 355.
 */
export function tanh(x: Value): Value {
  const a = operandOf(x);
  const e = Math.exp(-2 * Math.abs(a));
  return unary('tanh', x, Math.tanh(a), (4 * e) / ((1 + e) * (1 + e)));
}

/**
 * σ(x) = 1/(1 + e⁻ˣ), computed from e = e^(−|x|) ≤ 1 so that it never overflows; its derivative
 * σ(x)·σ(−x) = e/(1 + e)² keeps its precision in the tails, where s·(1 − s) loses it.
 */
export function sigmoid(x: Value): Value {
  const a = operandOf(x);
  const e = Math.exp(-Math.abs(a));
  const out = a >= 0 ? 1 / (1 + e) : e / (1 + e);
  return unary('sigmoid', x, out, e / ((1 + e) * (1 + e)));
}

/** max(0, x), with relu′(0) = 0. */
export function relu(x: Value): Value {
  const a = operandOf(x);
  return unary('relu', x, a > 0 ? a : 0, a > 0 ? 1 : 0);
}

/** √x; its derivative 1/(2√x) is infinite at 0, which `backward()` reports. */
export function sqrt(x: Value): Value {
  const out = Math.sqrt(operandOf(x));
  return unary('sqrt', x, out, 0.5 / out);
}

/** |x|, with abs′(0) = 0. */
export function abs(x: Value): Value {
  const a = operandOf(x);
  return unary('abs', x, Math.abs(a), a > 0 ? 1 : a < 0 ? -1 : 0);
}

/** softplus(x) = ln(1 + eˣ), computed as max(x, 0) + ln(1 + e^(−|x|)); its derivative is σ(x). */
export function softplus(x: Value): Value {
  const a = operandOf(x);
  const e = Math.exp(-Math.abs(a));
  return unary('softplus', x, Math.max(a, 0) + Math.log1p(e), a >= 0 ? 1 / (1 + e) : e / (1 + e));
}

/** ln σ(x) = min(x, 0) − ln(1 + e^(−|x|)); its derivative is σ(−x). */
export function logsigmoid(x: Value): Value {
  const a = operandOf(x);
  const e = Math.exp(-Math.abs(a));
  return unary('logsigmoid', x, Math.min(a, 0) - Math.log1p(e), a >= 0 ? e / (1 + e) : 1 / (1 + e));
}

/** One n-ary node for Σ values: ∂/∂ each operand = 1. Numbers become constant leaves. */
export function sum(values: Iterable<Operand>): Value {
  const list = Array.isArray(values) ? (values as readonly Operand[]) : [...values];
  const operands: Value[] = new Array(list.length);
  for (let k = 0; k < list.length; k++) {
    const x = list[k]!;
    operands[k] = x instanceof Value ? x : Value.constant(operand(x, 'sum') as number);
  }
  return sumOf(operands);
}

/**
 * @internal `sum` of an array of Values that the node takes over (the caller must not change it
 * afterwards), sparing a copy where `sum` is on a hot path.
 */
export function sumOf(operands: Value[]): Value {
  let out = 0, since = passes;
  for (let k = 0; k < operands.length; k++) {
    const v = operands[k];
    if (!(v instanceof Value)) throw notAValue(v, k);
    const num = v._n, i = at(v);
    out += num[i + DATA]!;
    if (num[i + SINCE]! < since) since = num[i + SINCE]!;
  }
  if (out - out !== 0) throw nonFinite('sum', operands, out);
  return node(CODE.sum, NARY, out, null, operands, 0, 0, since);
}

function notAValue(v: unknown, k: number): TypeError {
  return new TypeError(`sum needs Values, got ${describeUnknown(v)} at ${k}`);
}

// ---------------------------------------------------------------------------------------------
// Backward.
//
// One pass visits the interior nodes in an order that puts every node before its operands, so
// that a node's gradient is complete when it is passed on. Each node has a place in that order; a
// scratch array holds the gradients by place, and `places` the nodes.
//
// The places come for free from serial numbers: a node is made after its operands, so its serial
// distance from the root is greater than that of every node that uses it. The pass then finds the
// graph as it goes: a node's users, at smaller places, have all been visited before its place is
// reached. Serials are checked on every edge; if they fail to order the graph (after wrapping around
// 2³⁰), the pass is undone and run again over places given by a depth-first post-order, which each
// node then holds in `_mark` as ~place. A leaf's `_mark` holds the number of the pass that last met it.

// The scratch arrays cover a window of serial distances, at most this much beyond 8× the nodes
// placed so far; a node met farther away waits in a short list until the pass gets near it, and the
// window then jumps to it. So a pass costs time and memory in proportion to its graph, not to how
// long ago a node of it was made.
const WINDOW = 1 << 16;

let pass = 0;
let stack: (Value | null)[] = [];
let places: (Value | null)[] = [null]; // interior nodes by place, with gaps; all null between passes
let gradAt = new Float64Array(1024); //   their gradients, by place
let order: (Value | null)[] = []; //       depth-first post-order (topologicalOrder and the fallback)
// Nodes met beyond the window: each one's serial distance and gradient so far. While listed here, a
// node's `_mark` holds its index in the list.
let far: (Value | null)[] = [];
let farDist: number[] = [];
let farGrad: number[] = [];
let farCount = 0;
let peak = 0; // the most scratch entries the pass in progress has used

// Leaves met by the current pass, with their gradients from before it.
let leafList: (Value | null)[] = [];
let savedLeafGrad = new Float64Array(256);
let leafCount = 0;

function nextPass(): number {
  pass = pass === SERIAL ? 1 : pass + 1;
  return pass;
}

/** A leaf met for the first time by this pass: its grad is set aside, and restarts at 0. */
function meetLeaf(v: Value): void {
  if (leafCount === savedLeafGrad.length) {
    const grown = new Float64Array(2 * leafCount);
    grown.set(savedLeafGrad);
    savedLeafGrad = grown;
  }
  const num = v._n, g = at(v) + GRAD;
  savedLeafGrad[leafCount] = num[g]!;
  num[g] = 0;
  leafList[leafCount++] = v;
}

/**
 * Passes gradients from `root` (whose own is 1) to everything it depends on; leaves get this
 * pass's sums, their earlier grads set aside in `savedLeafGrad`. With `record`, lists the interior
 * nodes in the order visited instead of setting their grads, and checks no local derivative.
 */
function pushGradients(root: Value, record: Value[] | null): void {
  leafCount = 0;
  if (sweep(root, -1, record)) return;
  if (record !== null) record.length = 0; // the failed pass's nodes
  const n = collect(root, false);
  peak = Math.max(peak, n);
  for (let k = 0; k < n; k++) {
    const v = order[n - 1 - k]!;
    places[k] = v;
    v._mark = ~k;
  }
  release(order, n);
  sweep(root, n - 1, record);
}

/**
 * The pass itself. With `last` < 0 it places nodes by serial distance, and on finding that it
 * cannot, it undoes what it did to leaves and `places` and returns false. Otherwise nodes
 * 0..`last` are already in `places` and their places in `_mark`.
 */
function sweep(root: Value, last: number, record: Value[] | null): boolean {
  const bySerial = last < 0;
  const top = root._s;
  const stamp = nextPass();
  // Graphs whose `since` is `untouched` may be skipped below a zero gradient (see SINCE); a pass
  // that writes grads, even one that fails, makes every graph made before it count as touched.
  let untouched = -2;
  if (record === null) {
    if (root._n[at(root) + SINCE]! >= sinceWrap) untouched = passes;
    passes++;
  }
  if (bySerial) {
    last = 0;
    places[0] = root;
  } else {
    if (gradAt.length <= last) gradAt = new Float64Array(last + 1);
    gradAt.fill(0, 0, last + 1);
  }
  gradAt[0] = 1;
  let placed = 1;
  let base = 0; //         the serial distance at place 0 of the window
  let nearest = SERIAL; // the least distance on the waiting list (the window stays short of it)
  for (let p = 0; ; p++) {
    if (p > last) {
      if (farCount === 0) break;
      // Nothing left in the window: it jumps to the nearest node waiting beyond it.
      base = nearest;
      nearest = SERIAL;
      p = 0;
      last = -1;
      for (let k = farCount - 1; k >= 0; k--) {
        const d = farDist[k]! - base;
        if (d > 8 * placed + WINDOW) {
          nearest = Math.min(nearest, farDist[k]!);
          continue;
        }
        growWindow(d);
        if (places[d] !== null) return abandonSerialPass(0, last); // two nodes at one distance
        last = Math.max(last, d);
        places[d] = far[k]!;
        gradAt[d] = farGrad[k]!;
        placed++;
        dropFar(k);
      }
    }
    const v = places[p];
    if (v === null || v === undefined) continue;
    places[p] = null;
    const num = v._n, i = at(v);
    const g = gradAt[p]!;
    if (record === null) num[i + GRAD] = g;
    else record.push(v);
    if (g === 0 && num[i + SINCE] === untouched) continue; // it passes on only zeros
    const form = v._kind & 7;
    const operands = form === NARY ? (v._b as readonly Value[]) : null;
    const count = operands === null ? (form === BINARY ? 2 : 1) : operands.length;
    for (let k = 0; k < count; k++) {
      // Operand c, and its share of the gradient: g · ∂v/∂c.
      let c: Value, share: number;
      if (operands !== null) {
        c = operands[k]!;
        share = g;
      } else {
        const d = num[i + D0 + k]!;
        if (d - d !== 0 && record === null) {
          endSerialPass(p, last);
          throw nonFiniteDerivative(v, k, d);
        }
        c = k === 0 ? v._a! : (v._b as Value);
        share = g * d;
      }
      if ((c._kind & 7) <= CONSTANT) {
        if (c._mark !== stamp) { c._mark = stamp; meetLeaf(c); }
        c._n[at(c) + GRAD] += share;
        continue;
      }
      if (!bySerial) {
        gradAt[~c._mark] += share;
        continue;
      }
      const dist = (top - c._s) & SERIAL;
      const d = dist - base;
      if (d <= last && d > p && places[d] === c) {
        gradAt[d] += share;
        continue;
      }
      // Serials must order the graph: an operand farther than its user, and no two nodes at one
      // distance (possible 2³⁰ serials apart).
      if (d <= p || (d <= last && places[d] !== null)) return abandonSerialPass(p, last);
      if (d > last && (d > 8 * placed + WINDOW || dist >= nearest)) {
        // Beyond the window: onto the waiting list, or already there.
        const m = c._mark;
        if (m >= 0 && m < farCount && far[m] === c) {
          farGrad[m] += share;
        } else {
          addFar(c, dist, share);
          nearest = Math.min(nearest, dist);
        }
        continue;
      }
      if (d > last) {
        last = d;
        growWindow(d);
      }
      places[d] = c;
      gradAt[d] = share;
      placed++;
    }
  }
  return true;
}

/** Ends a serial pass that cannot go on, undoing what it did; returns false. */
function abandonSerialPass(p: number, last: number): false {
  endSerialPass(p, last);
  restoreLeaves(false);
  return false;
}

function growWindow(d: number): void {
  if (d >= peak) peak = d + 1;
  while (places.length <= d) places.push(null);
  if (gradAt.length <= d) {
    const grown = new Float64Array(Math.max(2 * gradAt.length, d + 1));
    grown.set(gradAt);
    gradAt = grown;
  }
}

/** Clears a serial pass that cannot go on: the window from place `p` on, and the waiting list. */
function endSerialPass(p: number, last: number): void {
  places.fill(null, p, last + 1);
  release(far, farCount);
  farCount = 0;
}

function addFar(c: Value, dist: number, share: number): void {
  far[farCount] = c;
  farDist[farCount] = dist;
  farGrad[farCount] = share;
  c._mark = farCount++;
}

/** Takes entry `k` off the waiting list (the last entry moves into its place). */
function dropFar(k: number): void {
  const lastEntry = --farCount;
  if (k !== lastEntry) {
    const moved = far[lastEntry]!;
    far[k] = moved;
    farDist[k] = farDist[lastEntry]!;
    farGrad[k] = farGrad[lastEntry]!;
    moved._mark = k;
  }
  far[lastEntry] = null;
}

/**
 * Depth-first post-order of the nodes reachable from `root` into `order` (inputs before the nodes
 * made from them); returns how many. Leaves are included if `withLeaves`.
 */
function collect(root: Value, withLeaves: boolean): number {
  const open = nextPass(), done = nextPass();
  let sp = 0, n = 0, deepest = 1;
  stack[sp++] = root;
  while (sp > 0) {
    if (sp > deepest) deepest = sp;
    const v = stack[sp - 1]!;
    const m = v._mark;
    if (m === done) { sp--; continue; }
    if (m === open) { v._mark = done; order[n++] = v; sp--; continue; }
    const form = v._kind & 7;
    if (form <= CONSTANT) {
      v._mark = done;
      if (withLeaves) order[n++] = v;
      sp--;
      continue;
    }
    v._mark = open;
    if (form === NARY) {
      const b = v._b as readonly Value[];
      for (let k = b.length - 1; k >= 0; k--) if (b[k]!._mark !== done) stack[sp++] = b[k]!;
    } else {
      const a = v._a!;
      if (a._mark !== done) stack[sp++] = a;
      if (form === BINARY && (v._b as Value)._mark !== done) stack[sp++] = v._b as Value;
    }
  }
  release(stack, deepest);
  return n;
}

/** Every node `root` depends on (itself included), each once, inputs before the nodes made from them. */
export function topologicalOrder(root: Value): Value[] {
  const n = collect(root, true);
  const result = order.slice(0, n) as Value[];
  release(order, n);
  return result;
}

/**
 * @internal The operation nodes `root` depends on (itself included), in the order in which
 * `backward()` finishes them, last first: the order its sums run in, for a compiler that must
 * match the engine bit for bit. Leaves the graph's gradients as they were.
 */
export function backwardOrder(root: Value): Value[] {
  if ((root._kind & 7) <= CONSTANT) return [];
  const visited: Value[] = [];
  pushGradients(root, visited);
  restoreLeaves(false);
  return visited.reverse();
}

/** Drops the references left in the first `n` entries of a scratch list. */
function release(list: (Value | null)[], n: number): void {
  for (let k = 0; k < n; k++) list[k] = null;
}

/**
 * Gives back scratch memory that was mostly unused by the latest pass, so that a series of passes
 * over one graph keeps it and an unusually large graph does not leave it behind. Past 2²² entries
 * (32 MB an array) it is always given back: regrowing it costs little beside such a pass.
 */
function shrink(): void {
  const keep = Math.max(1 << 16, Math.min(4 * peak, 1 << 22));
  peak = 0;
  if (places.length > keep) places = [null];
  if (gradAt.length > keep) gradAt = new Float64Array(1024);
  if (order.length > keep) order = [];
  if (stack.length > keep) stack = [];
  if (leafList.length > keep) leafList = [];
  if (far.length > keep) { far = []; farDist = []; farGrad = []; }
}

/** Puts every leaf's grad back as it was before the pass (adding this pass's if `addPass`), and forgets the leaves. */
function restoreLeaves(addPass: boolean): void {
  for (let k = 0; k < leafCount; k++) {
    const v = leafList[k]!;
    const num = v._n, g = at(v) + GRAD;
    num[g] = addPass ? savedLeafGrad[k]! + num[g]! : savedLeafGrad[k]!;
    leafList[k] = null;
  }
  leafCount = 0;
}

function backward(root: Value): void {
  if ((root._kind & 7) <= CONSTANT) {
    checkLeafGrad(root, root.grad + 1);
    root._n[at(root) + GRAD] += 1;
    return;
  }
  // Interior grads restart at 0; each leaf's grad is set aside so that this pass's contributions
  // are summed on their own and then added to it once.
  try {
    pushGradients(root, null);
  } catch (e) {
    restoreLeaves(false);
    shrink();
    throw e;
  }
  // A leaf whose gradient overflows (this pass's, or the sum with earlier passes') fails the whole
  // pass, leaving every leaf as it was.
  for (let k = 0; k < leafCount; k++) {
    const v = leafList[k]!;
    const g = savedLeafGrad[k]! + v._n[at(v) + GRAD]!;
    if (g - g !== 0) {
      restoreLeaves(false);
      shrink();
      checkLeafGrad(v, g);
    }
  }
  restoreLeaves(true);
  shrink();
}

/** Throws if `g`, the new gradient of leaf `v`, is not finite. */
function checkLeafGrad(v: Value, g: number): void {
  if (g - g === 0) return;
  const info = operandInfo(v);
  throw new NonFiniteError(
    `backward(): the gradient of ${formatOperand('leaf', info)} overflowed to ${g}`, v.op, [info]);
}

function nonFiniteDerivative(v: Value, slot: number, d: number): NonFiniteError {
  const inputs = v.inputs;
  const info = inputs.map(operandInfo);
  const names = inputs.length === 1 ? ['x'] : ['a', 'b'];
  const list = info.map((o, k) => formatOperand(names[k] ?? `x${k}`, o)).join(', ');
  // Slot 0 holds the Value operand, which is the second input when the constant comes first.
  if ((v._kind & 7) === CONST_A) slot = 1;
  return new NonFiniteError(
    `backward(): the local derivative of ${v.op}(${list}) with respect to ${names[slot]} is ${d}, not a finite number`,
    v.op, info);
}

/** Sets the gradient of every given value to 0 (for leaves, whose gradients accumulate across calls). */
export function zeroGrad(values: Iterable<Value>): void {
  // No pass count to bump (see the grad setter): a 0 is what a skipped node must read anyway.
  for (const v of values) v._n[at(v) + GRAD] = 0;
}
