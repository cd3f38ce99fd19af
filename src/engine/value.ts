/**
 * The engine: a scalar `Value` that records every operation into a computation graph, and
 * reverse-mode differentiation over that graph.
 *
 * - Every op comes from the op table (`ops.ts`): making a node computes its value and its local
 *   derivatives ∂out/∂operand there and then, and stores them with it.
 * - `backward()` is then one uniform loop that knows no op: visit the nodes from the output back to
 *   the leaves, every node before its operands, and add grad(node) × local derivative into each
 *   operand (the chain rule, summed over every use of a value).
 *
 * Where the numbers live (typed-array chunks) is `storage.ts`; how the backward pass finds its
 * order fast and what it may skip is `backward.ts`. Neither changes what is computed.
 */
import { OPS, OP_NAMES, opCodes, type BinaryOp, type BinaryOpName, type OpName, type UnaryOp, type UnaryOpName } from './ops.js';
import { NonFiniteError, checkNumber, formatOperand, nonFinite, type OperandInfo } from './errors.js';
import { describeUnknown } from './describe.js';
import {
  claimSerial as claimSerialImport, currentChunk as currentChunkImport, sinceOf as sinceOfImport, touch as touchImport,
  passCount as passCountImport, LAYOUT,
} from './storage.js';
import { backward } from './backward.js';
import {
  addRow as addRowImport, noteNonFinite as noteNonFiniteImport, checkAlive, gradSetByHand, currentEpoch as currentEpochImport, freed,
  labelRow, needsOrdinary, nextTapePass, rowChunk as rowChunkImport, tape,
} from './scope.js';
import * as functions from './functions.js';

// The node layout (storage.ts), as constants of this module: see LAYOUT there.
const { DATA, GRAD, D0, D1, SINCE, WORDS, SLOT, LEAF, CONSTANT, UNARY, BINARY, CONST_B, CONST_A, NARY, TAPE, TAPE_SINCE, CHUNK } = LAYOUT;
// Storage's functions as constants of this module, for the same reason (see functions.ts).
const claimSerial = claimSerialImport, currentChunk = currentChunkImport, sinceOf = sinceOfImport;
const touch = touchImport, passCount = passCountImport;
// scope.ts's, for the ops' path inside a scope (declarations there, so safe to read in either load order).
const addRow = addRowImport, noteNonFinite = noteNonFiniteImport, currentEpoch = currentEpochImport, rowChunk = rowChunkImport;
const LOG_CHUNK = Math.log2(CHUNK);
/** Where node `v`'s numbers start in `v._n`: (serial & SLOT) × WORDS, written out (see LAYOUT in storage.ts). */
const at = (v: { _s: number }): number => (v._s & 1023) * 5;

export { NonFiniteError } from './errors.js';
export { OP_NAMES } from './ops.js';
export type { OpName } from './ops.js';
export { topologicalOrder, zeroGrad } from './backward.js';

/** A second operand: another Value, or a plain number treated as a constant. */
export type Operand = Value | number;

/** A node's op code: its op's place in the table, from 1 (0 is a leaf). */
const CODE = opCodes();

const labels = new WeakMap<Value, string>();

/** The constructor's second argument when `node` makes an op's node: no caller outside this module has it. */
const INTERIOR: unique symbol = Symbol('an interior node');

/**
 * Whether operations make rows of a scope's tape (scope.ts sets it). A property of a module-local
 * object: the cheapest thing for every op to test (see LAYOUT in storage.ts on module bindings).
 */
const MODE = { tape: false };

/** @internal scope.ts: operations make tape rows while `on`. */
export function setTapeMode(on: boolean): void {
  MODE.tape = on;
}

/** A scalar that remembers how it was computed, so that `backward()` can differentiate it. */
export class Value {
  // Declared, not initialised as class fields: the constructor sets them all, in one order.
  /** @internal The chunk holding this node's numbers. */ declare _n: Float64Array;
  /** @internal Serial number: creation order, modulo 2³⁰. */ declare _s: number;
  /** @internal The first operand, or null. */ declare _a: Value | null;
  /** @internal The second operand, the n-ary operand list, or null. */ declare _b: Value | readonly Value[] | null;
  /** @internal op code << 3 | form. */ declare _kind: number;
  /** @internal Traversal stamp (backward.ts); on a leaf in a scope, its place there; on a handle, its scope's epoch (scope.ts). */ declare _mark: number;

  constructor(data: number, label?: string);
  /** @internal An interior node (`node`, below): its serial, operands, kind, local derivatives and `since`. */
  constructor(data: number, label: typeof INTERIOR, s: number, a: Value | null, b: Value | readonly Value[] | null, kind: number, d0: number, d1: number, since: number);
  constructor(data: number, label?: string | typeof INTERIOR, s?: number, a?: Value | null, b?: Value | readonly Value[] | null, kind?: number, d0?: number, d1?: number, since?: number) {
    // Short in bytecode, so that V8 inlines it into the ops (within each op's budget: W1's pow with a
    // number exponent calls it, bench/ROUNDS.md, eighth round); the uncommon work is out of line.
    // An op's node comes with all its fields (see `node`); a leaf is made here.
    if (label !== INTERIOR) {
      if (typeof data !== 'number' || data - data !== 0 || label !== undefined) leafExtras(this, data, label);
      s = claimSerial();
      a = null;
      b = null;
      kind = 0; // LEAF
      d0 = 0;
      d1 = 0;
      since = Infinity;
    }
    const num = currentChunk();
    this._n = num;
    this._s = s!;
    this._a = a!;
    this._b = b!;
    this._kind = kind!;
    this._mark = 0;
    // The layout's numbers written out, here and in the `at`s of this module and storage.ts: DATA is
    // word 0, D0 to SINCE words 2 to 4, SLOT 1023, WORDS 5 (test/engine/storage.test.ts checks them
    // against LAYOUT). A named constant costs bytecode, and V8 inlines by bytecode size: with names,
    // an op with a number operand no longer fit its budget (W3's chain: 1,077 instructions a link
    // with names, 881 with these literals).
    const i = (s! & 1023) * 5;
    num[i] = data;
    num[i + 2] = d0!;
    num[i + 3] = d1!;
    num[i + 4] = since!;
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

  // The getters are written out with the layout's numbers (DATA word 0, GRAD word 1; see the
  // constructor) and test nothing, so that each is at most 27 bytes of bytecode: V8 then inlines it
  // wherever it is used, even where the caller has spent its inlining budget on the ops, as a
  // training loop has (W1: 8,120–8,660 → 7,460–7,910 instructions a step). A scope's handles test
  // that their scope is still open, in accessors of their own (`Handle`, below). A setter must check
  // its number, which no form of it does in 27 bytes.

  /** The forward value. Mutable, so that optimisers can update parameters in place. */
  get data(): number {
    return this._n[(this._s & 1023) * 5]!;
  }
  set data(x: number) {
    this._n[(this._s & 1023) * 5] = checkNumber(x, 'Value data');
  }

  /** ∂root/∂this after the latest `backward()` (accumulated across calls for leaves). */
  get grad(): number {
    return this._n[(this._s & 1023) * 5 + 1]!;
  }
  set grad(x: number) {
    writeGrad(this, x);
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
    if ((this._kind & 7) === TAPE) throw needsOrdinary('inputs');
    const d1 = this._n[at(this) + D1]!;
    switch (this._kind & 7) {
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
    if ((this._kind & 7) === TAPE) throw needsOrdinary('localGradients');
    const d0 = this._n[at(this) + D0]!;
    switch (this._kind & 7) {
      case UNARY: return [d0];
      case BINARY: return [d0, this._n[at(this) + D1]!];
      case CONST_B: return [d0, null];
      case CONST_A: return [null, d0];
      case NARY: return (this._b as readonly Value[]).map(() => 1);
      default: return [];
    }
  }

  /**
   * Reverse-mode differentiation of this value with respect to every value it depends on.
   *
   * Sets this value's gradient to 1, then visits the interior nodes of its graph in reverse
   * topological order (each before its operands) and adds grad(node) × ∂node/∂operand into each
   * operand. Interior gradients restart at 0; each leaf gets this pass's sum added once (so a second
   * call gives exactly twice the leaf gradients). Iterative: no recursion, whatever the graph's depth.
   */
  backward(): void {
    backward(this);
  }

  toString(): string {
    if ((this._kind & 7) === TAPE && this._mark !== currentEpoch()) return 'Value(freed with its scope)';
    const label = this.label;
    return `Value(data=${this.data}, grad=${this.grad}${label ? `, label=${JSON.stringify(label)}` : ''})`;
  }

  /** `{ data, grad, label, op }`: the node alone, not its graph. */
  toJSON(): { data: number; grad: number; label: string; op: OpName } {
    return { data: this.data, grad: this.grad, label: this.label, op: this.op };
  }

  /**
   * A Value is not a number: `a * b`, `a < b` and `a + 1` would silently give NaN or compare
   * strings, so they throw and name the method to use. Strings (`${v}`, `String(v)`) still work.
   */
  [Symbol.toPrimitive](hint: 'string' | 'number' | 'default'): string {
    if (hint === 'string') return this.toString();
    throw new TypeError(
      `${this.toString()} is not a number: use its methods (a.add(b), a.sub(b), a.mul(b), a.div(b), a.pow(b)) ` +
      'for arithmetic, and compare a.data with b.data');
  }

  /** What `console.log` and Node's `util.inspect` show. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

// The op methods (`a.mul(b)`, `x.exp()`): one per op of the table, installed below.
type MethodOf<K extends keyof typeof OPS> = (typeof OPS)[K]['method'];
type UnaryMethods = { readonly [K in UnaryOpName as MethodOf<K>]: () => Value };
type BinaryMethods = { readonly [K in BinaryOpName as MethodOf<K>]: (other: Operand) => Value };
// Declaration merging: the class gets the methods' types from the table.
export interface Value extends UnaryMethods, BinaryMethods {}

/**
 * A Value made inside a scope: a handle to row `_s` of the scope's tape (scope.ts), which the next
 * scope reuses, so its accessors first check that its scope is still open (its number in `_mark`).
 * Its own class, so that ordinary Values' accessors test nothing (see them above), with
 * Value.prototype next in its prototype chain: every method, and `instanceof Value`, are those of a
 * Value. Not a subclass, whose constructor would run Value's, which claims storage: a handle's
 * numbers are its row's. It sets the same fields in the same order, so that sites meeting both
 * classes, as the ops do inside a scope, read them at the same offsets.
 */
interface Handle extends Value {}
class Handle {
  constructor(row: number, chunk: Float64Array, kind: number) {
    this._n = chunk;
    this._s = row;
    this._a = null;
    this._b = null;
    this._kind = kind;
    this._mark = currentEpoch();
  }

  get data(): number {
    checkAlive(this);
    return this._n[at(this) + DATA]!;
  }
  set data(x: number) {
    checkAlive(this);
    this._n[at(this) + DATA] = checkNumber(x, 'Value data');
  }

  get grad(): number {
    checkAlive(this);
    return this._n[at(this) + GRAD]!;
  }
  set grad(x: number) {
    checkAlive(this);
    gradSetByHand();
    writeGrad(this, x);
  }
}
Object.setPrototypeOf(Handle.prototype, Value.prototype);
// To its users a scope's Value is a Value: `v.constructor` (and a message naming it) says so, not the class behind it.
Object.defineProperty(Handle.prototype, 'constructor', { value: Value, writable: true, configurable: true, enumerable: false });
/** The class under a second name, as `ValueClass` below, for `row`. */
const HandleClass = Handle;

/** A grad set by hand (both classes' setters). */
function writeGrad(v: Value, x: number): void {
  // + 0 stores −0 as 0, as a pass adding into it would: a leaf a pass skips must read the same.
  v._n[at(v) + GRAD] = checkNumber(x, 'Value grad') + 0;
  if (!v.isLeaf) touch(); // an interior grad no pass wrote: no graph made so far may be skipped
}

function setLabel(v: Value, text: string): void {
  if (typeof text !== 'string') throw new TypeError(`Value label must be a string, got ${describeUnknown(text)}`);
  labels.set(v, text);
  if ((v._kind & 7) === TAPE) labelRow(v, text); // for the row's copy, which has no handle to look up
}

/** The constructor's uncommon work: refusing a bad number (before any state changes), setting a label. */
function leafExtras(v: Value, data: number, label: string | undefined): void {
  checkNumber(data, 'Value data');
  if (label !== undefined) setLabel(v, label);
}

// ---------------------------------------------------------------------------------------------
// Making nodes.

/**
 * The class under a name of this module's own, for the paths every op takes: V8 reads an exported
 * binding (`Value`) through a module cell, checking at each use that it is initialised and has not
 * changed (about 7 instructions a use, in this module as in others).
 */
const ValueClass = Value;

// A constant, not a function declaration: V8 checks at every call of a declared function that the
// module's binding still holds it (W2 in micrograd's form: 25.75 → 25.48 million instructions a step).
const node = (code: number, form: number, out: number, a: Value | null, b: Value | readonly Value[] | null, d0: number, d1: number, since: number): Value => {
  // A handle of a scope that has ended, as an operand: its `since` is TAPE_SINCE (storage.ts).
  if (since < -1) throw freed();
  // The serial before the object: claiming it may start a chunk, a call, and with no call between
  // allocating the object and storing its fields V8 stores them with no write barrier (W2 in
  // micrograd's form: 28.3 → 25.8 million instructions a step; bench/ROUNDS.md, eleventh round).
  return new ValueClass(out, INTERIOR, claimSerial(), a, b, (code << 3) | form, d0, d1, since);
};

/**
 * The numbers of the tape row being made: an op stores its value and local derivatives here and then
 * calls `row`, rather than passing them. `row` is often too big to inline into a user's loop that
 * has inlined the op (V8 caps the bytecode it inlines into one function), and a double passed to a
 * call V8 does not inline is boxed, a heap allocation each (W2 in micrograd's form, in a scope:
 * 36.4 → 33.4 million instructions a step; bench/ROUNDS.md, twelfth round). The three stores are
 * written out at each of the five call sites: a helper taking the numbers would be a call of its own,
 * too big for V8 to inline wherever the budget is spent, with the same boxing.
 */
const ROW = new Float64Array(3);

/** A node on the scope's tape, and its handle; its numbers are in ROW: value, d0, d1. (A constant, as `node`.) */
const row = (code: number, form: number, a: Value | null, b: Value | readonly Value[] | null): Value => {
  const i = addRow(code, form, a, b);
  const d0 = ROW[1]!, d1 = ROW[2]!;
  if (d0 - d0 !== 0 || d1 - d1 !== 0) noteNonFinite();
  const v: Value = new HandleClass(i, rowChunk(), (code << 3) | TAPE);
  const num = v._n, o = at(v);
  num[o + DATA] = ROW[0]!;
  num[o + GRAD] = 0;
  num[o + D0] = d0;
  num[o + D1] = d1;
  num[o + SINCE] = TAPE_SINCE;
  return v;
};

/** @internal An operand's number; NaN for something that is neither, so that `constantFirst` reports it. */
export function valueOf(x: Operand): number {
  // A Value first, and `+x` for a number (returning `x` itself, of unknown type to V8, made it box
  // every Value's number on the heap). Where `…Operands` inlines all of an op, V8 still boxes the
  // Value's number, 30–45 instructions an op; a Float64Array for the number's way out avoided that
  // but cost W3's chain a fifth more (bench/ROUNDS.md, seventh round).
  return x instanceof ValueClass ? x._n[at(x)]! : typeof x === 'number' ? +x : NaN; // DATA is word 0
}

/** @internal A unary op's operand's number; NaN for a non-Value, which `unary` then reports. */
export function operandOf(x: Value): number {
  return x instanceof ValueClass ? x._n[at(x)]! : NaN; // DATA is word 0
}

function operandInfo(x: Operand): OperandInfo {
  return typeof x === 'number' ? { value: x, label: '' } : { value: x.data, label: x.label };
}

/** @internal A one-operand node: `out` = f(x), `dx` = f′(x). */
export function unary(code: number, x: Value, out: number, dx: number): Value {
  if (x instanceof ValueClass && out - out === 0) {
    // `sinceOf` on the ordinary path only: V8 then inlines only the path a program takes.
    if (!MODE.tape) return node(code, UNARY, out, x, null, dx, 0, sinceOf(x, dx, null, 0));
    ROW[0] = out; ROW[1] = dx; ROW[2] = 0;
    return row(code, UNARY, x, null);
  }
  throw badUnary(OP_NAMES[code - 1]!, x, out);
}

function badUnary(name: OpName, x: unknown, out: number): Error {
  if (!(x instanceof ValueClass)) return new TypeError(`${name} needs a Value operand, got ${describeUnknown(x)}`);
  return nonFinite(name, [operandInfo(x)], out);
}

// A two-operand op takes one of three paths. Both operands Values, the common case (`valuePair`,
// `dataOf`, `pairNode`); a Value and a number (`valueAndNumber`, `constNode`); and the rest, a number
// and a Value or operands that are wrong (`valueOf`, `constantFirst`). Each tests each operand once
// and then does straight-line work, where one path for all of them tested each operand twice and
// carried the number and error cases through every node.
// Measured on W2 (30,400 of its 38,079 nodes are a mul of two Values), with the alias above and the
// constructor's literals: 28.9 → 25.5 million instructions a step (bench/ROUNDS.md, fourth round).

/** @internal Whether an op on `x` and `y` takes the common path: both Values. */
export function valuePair(x: Operand, y: Operand): boolean {
  return x instanceof ValueClass && y instanceof ValueClass;
}

/** @internal The number of an operand that `valuePair` accepted. */
export function dataOf(x: Operand): number {
  return (x as Value)._n[at(x as Value)]!; // DATA is word 0
}

/** @internal The node of an op on operands that `valuePair` accepted: `out` = f(x, y), `dx` = ∂f/∂x, `dy` = ∂f/∂y. */
export function pairNode(code: number, x: Operand, y: Operand, out: number, dx: number, dy: number): Value {
  const a = x as Value, b = y as Value;
  if (out - out !== 0) throw badOperation(OP_NAMES[code - 1]!, a, b, out);
  if (MODE.tape) {
    ROW[0] = out; ROW[1] = dx; ROW[2] = dy;
    return row(code, BINARY, a, b);
  }
  // `sinceOf` (storage.ts) for two Values, written out: one version of it for both shapes, called
  // from here and from the path for a number operand, made W2 26.45 million instructions a step
  // against 25.51.
  const sa = a._n[at(a) + SINCE]!, sb = b._n[at(b) + SINCE]!, passes = passCount();
  let since = sa < sb ? sa : sb;
  if (passes < since) since = passes;
  if ((dx - dx !== 0 || dy - dy !== 0) && since >= -1) since = -1;
  return node(code, BINARY, out, a, b, dx, dy, since);
}

// A Value and a number (`x.mul(2)`, `y.sub(a)`, `h.pow(2)`) is tested at the top of each `…Operands`
// function, so that the ops' common path stays as it is. It went through `valueOf` and a node
// function for every shape, which tested the Value three times and the number twice (W3's chain,
// every node of which takes it: 592–607 → 482–489 instructions a node; bench/ROUNDS.md, tenth round).

/** @internal Whether an op on `x` and `y` takes the path of a Value and a number. */
export function valueAndNumber(x: Operand, y: Operand): boolean {
  return x instanceof ValueClass && typeof y === 'number';
}

/** @internal The node of an op on operands that `valueAndNumber` accepted: the number stays in the node (d1). */
export function constNode(code: number, x: Operand, c: number, out: number, dx: number): Value {
  const a = x as Value;
  if (c - c !== 0 || out - out !== 0) throw badOperation(OP_NAMES[code - 1]!, a, c, out);
  if (MODE.tape) {
    ROW[0] = out; ROW[1] = dx; ROW[2] = c;
    return row(code, CONST_B, a, null);
  }
  return node(code, CONST_B, out, a, null, dx, c, sinceOf(a, dx, null, 0));
}

/**
 * @internal The node of an op on a number and a Value (the number kept in d1, `dy` = ∂f/∂y), or, for
 * any other operands that neither path above took, the error that names what is wrong.
 */
export function constantFirst(code: number, x: Operand, y: Operand, out: number, dy: number): Value {
  if (out - out === 0 && y instanceof ValueClass && typeof x === 'number' && x - x === 0) {
    if (!MODE.tape) return node(code, CONST_A, out, y, null, dy, x, sinceOf(y, dy, null, 0));
    ROW[0] = out; ROW[1] = dy; ROW[2] = x;
    return row(code, CONST_A, y, null);
  }
  throw badOperation(OP_NAMES[code - 1]!, x, y, out);
}

function badOperation(name: OpName, x: Operand, y: Operand, out: number): Error {
  if (!(x instanceof ValueClass)) checkNumber(x, `the first operand of ${name}`);
  if (!(y instanceof ValueClass)) checkNumber(y, `the second operand of ${name}`);
  if (!(x instanceof ValueClass || y instanceof ValueClass)) {
    return new TypeError(`${name} needs at least one Value operand, got the numbers ${x} and ${y}`);
  }
  return nonFinite(name, [operandInfo(x), operandInfo(y)], out);
}

/** The error for operands an op's domain rule refuses. */
function outsideDomain(name: OpName, x: Operand, y: Operand, why: string): NonFiniteError {
  const info = [operandInfo(x), operandInfo(y)];
  return new NonFiniteError(`${name}(${formatOperand('a', info[0]!)}, ${formatOperand('b', info[1]!)}): ${why}`, name, info);
}

/** @internal The error for operands an op's domain rule refuses, if it refuses them. */
export function checkDomain(name: BinaryOpName, x: Operand, y: Operand, a: number, b: number): void {
  const domain = (OPS[name] as BinaryOp).domain;
  const why = domain === undefined ? null : domain(a, b, y instanceof ValueClass);
  if (why !== null) throw outsideDomain(name, x, y, why);
}

/** One n-ary node for Σ values: ∂/∂ each operand = 1. Numbers become constant leaves. */
export function sum(values: Iterable<Operand>): Value {
  const list = Array.isArray(values) ? (values as readonly Operand[]) : [...values];
  const operands: Value[] = new Array(list.length);
  for (let k = 0; k < list.length; k++) {
    const x = list[k]!;
    operands[k] = x instanceof ValueClass ? x : Value.constant(checkNumber(x, 'the operand of sum'));
  }
  return sumOf(operands);
}

/**
 * @internal `sum` of an array of Values that the node takes over (the caller must not change it
 * afterwards), sparing a copy where `sum` is on a hot path.
 */
export function sumOf(operands: Value[]): Value {
  let out = 0, since = passCount();
  for (let k = 0; k < operands.length; k++) {
    const v = operands[k];
    if (!(v instanceof ValueClass)) throw notAValue(v, k);
    const num = v._n, i = at(v);
    out += num[i + DATA]!;
    if (num[i + SINCE]! < since) since = num[i + SINCE]!;
  }
  if (out - out !== 0) throw nonFinite('sum', operands.map(operandInfo), out);
  if (!MODE.tape) return node(CODE.sum, NARY, out, null, operands, 0, 0, since);
  ROW[0] = out; ROW[1] = 0; ROW[2] = 0;
  return row(CODE.sum, NARY, null, operands);
}

function notAValue(v: unknown, k: number): TypeError {
  return new TypeError(`sum needs Values, got ${describeUnknown(v)} at ${k}`);
}

type OpFunctions = { readonly [K in UnaryOpName as MethodOf<K>]: (x: Value) => Value }
  & { readonly [K in BinaryOpName as MethodOf<K>]: (x: Operand, y: Operand) => Value };

/** Every op's function by its method name. A compile error here names an op with no function in functions.ts. */
export const OP_FUNCTIONS: OpFunctions = functions;

// The methods: each calls its op's function.
for (const name of OP_NAMES) {
  if (name === 'sum') continue;
  const f = OP_FUNCTIONS[OPS[name].method as keyof OpFunctions] as (x: Value, y?: Operand) => Value;
  Object.defineProperty(Value.prototype, OPS[name].method, {
    value: OPS[name].arity === 1 ? function (this: Value) { return f(this); } : function (this: Value, y: Operand) { return f(this, y); },
    writable: true, configurable: true, enumerable: false,
  });
}

// ---------------------------------------------------------------------------------------------
// Copying graphs out of a scope's tape as ordinary nodes (scope.ts: `keep`, a scope's return value).

/** @internal Ordinary copies of the handles `roots` and of everything they depend on, one copy per row. */
export function copyRows(roots: readonly Value[]): Value[] {
  const tapeMode = MODE.tape;
  MODE.tape = false; // the copies are ordinary nodes
  try {
    return copyOut(roots);
  } finally {
    MODE.tape = tapeMode;
  }
}

function copyOut(roots: readonly Value[]): Value[] {
  const { chunks, kinds, refA, refB, seen, pool, outside, rowLabels } = tape();
  const pass = nextTapePass();
  let highest = -1;
  for (const r of roots) {
    seen[r._s] = pass;
    if (r._s > highest) highest = r._s;
  }
  // The rows they reach (every operand's row is below its user's).
  const mark = (ref: number): void => { if (ref >= 0) seen[ref] = pass; };
  for (let i = highest; i >= 0; i--) {
    if (seen[i] !== pass) continue;
    const form = kinds[i]! & 7;
    if (form === NARY) for (let k = 0; k < refB[i]!; k++) mark(pool[refA[i]! + k]!);
    else {
      mark(refA[i]!);
      if (form === BINARY) mark(refB[i]!);
    }
  }
  const copies = new Map<number, Value>();
  const operand = (ref: number): Value => ref >= 0 ? copies.get(ref)! : outside[~ref]!;
  for (let i = 0; i <= highest; i++) {
    if (seen[i] !== pass) continue;
    const kind = kinds[i]!, form = kind & 7, code = kind >> 3;
    const num = chunks[i >> LOG_CHUNK]!, o = (i & SLOT) * WORDS;
    const out = num[o + DATA]!, d0 = num[o + D0]!, d1 = num[o + D1]!;
    let v: Value;
    if (form === NARY) {
      const list: Value[] = [];
      let since = passCount();
      for (let k = 0; k < refB[i]!; k++) {
        const x = operand(pool[refA[i]! + k]!);
        list.push(x);
        since = Math.min(since, x._n[at(x) + SINCE]!);
      }
      v = node(code, NARY, out, null, list, 0, 0, since);
    } else {
      const a = operand(refA[i]!);
      const b = form === BINARY ? operand(refB[i]!) : null;
      v = node(code, form, out, a, b, d0, d1, sinceOf(a, d0, b, form === BINARY ? d1 : 0));
    }
    const g = num[o + GRAD]!;
    if (g !== 0) v.grad = g; // the setter counts it as a pass (see \`since\`): nothing below it may be skipped
    const label = rowLabels.get(i);
    if (label !== undefined) labels.set(v, label);
    copies.set(i, v);
  }
  return roots.map((r) => copies.get(r._s)!);
}
