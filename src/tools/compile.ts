/**
 * A compiler for graphs whose shape does not change: `compile(fn, exampleInputs)` runs `fn` once on
 * Values, records the graph it builds, and returns a function that recomputes the output and the
 * gradient with respect to the inputs from new input numbers, with no per-node objects.
 *
 * Results equal the engine's to the last bit: each op's value and local derivative are computed
 * by the engine's own formulas (see RULES below), and every gradient receives its contributions in
 * the order the engine's `backward()` adds them (reverse topological order, operands in order).
 *
 * The program is the traced graph less what depends on no input, with each product that feeds
 * only a sum fused into it (`dot`: Σ aᵢ·bᵢ, one op per neuron of an MLP; see fuseDots). Two back
 * ends run it:
 * - `code`: straight-line JavaScript made with `new Function`, one local variable per number.
 *   Fastest for small graphs (the learner's network: within 2× of hand-written code). V8 takes
 *   longer to optimise a longer function (about 0.1 s at 1,500 lines) and gives up past about
 *   60 KB of bytecode, after which the code runs in the interpreter, 10–30× slower.
 * - `tape`: flat typed arrays (op codes, operand slots, values, gradients) run by one loop with a
 *   `switch` per op; its speed per op does not depend on the graph's size. The backward loop skips
 *   an op whose gradient is 0 where that cannot change a bit of the result (a relu that is off,
 *   a hinge loss that is satisfied).
 * `auto` (the default) generates code when it has at most `CODE_LINE_LIMIT` lines, else uses the tape.
 *
 * Limits (the graph is frozen at trace time):
 * - The graph's shape is fixed. Ops are recomputed from their operands on every call, so relu,
 *   abs and the sigmoid family re-decide their branches from the new numbers; but a JavaScript
 *   `if` on `.data` inside `fn` was decided once, during the trace, and is not re-evaluated.
 * - A leaf of the graph that is not among the inputs (a sample's x, `Value.constant`, a parameter
 *   left out of the inputs) is frozen at the number it held when `compile` ran, and so is every
 *   node that depends on no input (computed once, at trace time). Nodes that `fn` made but the
 *   output does not depend on are not part of the graph.
 * - The inputs must be leaves (parameters or data), distinct, and not constants.
 * - Errors as in the engine: an op whose value is not finite throws `NonFiniteError` (so does a
 *   negative base with a Value exponent); a non-finite local derivative on the backward pass, and
 *   a gradient that overflows, throw `NonFiniteError`. Ops that depend on no differentiated input
 *   take no part in the backward pass, so their local derivatives are not checked.
 */
import { NonFiniteError, Value, topologicalOrder, type OpName } from '../engine/value.js';
import { backwardOrder } from '../engine/backward.js';
import { frozenAtTraceReason } from '../engine/grad.js';
import { OPS, OP_NAMES, type BinaryOp, type UnaryOp } from '../engine/ops.js';
import { describeUnknown } from '../engine/describe.js';
import { inScope } from '../engine/scope.js';
import { ScopeError } from '../engine/errors.js';

type Op = Exclude<OpName, ''>;

/** Which back end runs the program. */
export type Strategy = 'code' | 'tape';

/**
 * `auto` uses straight-line code when it is at most this many lines long (about 250 ops of a chain,
 * or an MLP of a few hundred parameters), the tape above.
 */
export const CODE_LINE_LIMIT = 1000;

export interface CompileOptions {
  /**
   * How many inputs, counted from the first, get a gradient (default: all). The others are data:
   * numbers given anew on each call (a sample's x, its label) whose gradient is not wanted.
   */
  readonly gradients?: number;
  /** `auto` (default): `code` when it has at most `CODE_LINE_LIMIT` lines, else `tape`. */
  readonly strategy?: Strategy | 'auto';
}

export interface CompiledResult {
  /** The output's value. */
  readonly value: number;
  /** ∂output/∂input for each of the first `gradientCount` inputs. */
  readonly gradient: Float64Array;
}

/** What `compile` returns: call it with new input numbers, in the order of the example inputs. */
export interface CompiledFunction {
  /**
   * The output and its gradient. Pass `gradient` (length `gradientCount`) to have it filled and
   * returned instead of a new array.
   */
  (inputs: ArrayLike<number>, gradient?: Float64Array): CompiledResult;
  /** The same without allocating: fills `gradient` and returns the output's value. */
  run(inputs: ArrayLike<number>, gradient: Float64Array): number;
  /** The output's value alone (no backward pass). */
  value(inputs: ArrayLike<number>): number;
  /** How many numbers each call takes. */
  readonly inputCount: number;
  /** How many of them (the first ones) get a gradient. */
  readonly gradientCount: number;
  /** Nodes in the traced graph (`topologicalOrder(output).length`). */
  readonly nodeCount: number;
  /** Ops recomputed on each call (nodes that depend on an input). */
  readonly opCount: number;
  readonly strategy: Strategy;
  /** The generated JavaScript (`code` strategy), or null (`tape`). */
  readonly source: string | null;
  /** The program as readable text: one line per input, frozen number and op. */
  listing(): string;
}

// ---------------------------------------------------------------------------------------------
// The engine's formulas: the op table's own functions, bound to names in the generated code (see
// `tableBindings`), so that compiled results equal the engine's bit for bit by construction.

/** Names the templates are filled with: operands a and b, the result r, and a temporary t. */
interface Names {
  readonly a: string;
  readonly b: string;
  readonly r: string;
  readonly t: string;
}

interface Rule {
  /** A value computed before the result and shared with the derivative (e^(−|x|), e^(−2|x|)). */
  readonly temp?: (n: Names) => string;
  readonly value: (n: Names) => string;
  /** Whether finite operands can give a non-finite value (overflow, log 0, √−1, ...). */
  readonly mayFail: boolean;
  /** ∂r/∂a (for a unary op, ∂r/∂x). */
  readonly da: (n: Names) => string;
  /** ∂r/∂b (binary ops). */
  readonly db?: (n: Names) => string;
  /** Whether a derivative can be non-finite for finite operands: checked on the backward pass. */
  readonly checkDerivative: boolean;
  /** The derivative uses the temporary: it is computed on the forward pass and kept. */
  readonly keepDerivative: boolean;
  /** A domain rule (pow's negative base with a Value exponent): `(a, b, bIsValue)` → message or null. */
  readonly domain?: (n: Names, bIsValue: boolean) => string;
}

type TablePart = 'temp' | 'value' | 'd' | 'da' | 'db' | 'domain';

/** The name generated code uses for part `part` of op `op`'s table entry. */
function tableName(op: Op, part: TablePart): string {
  return `${OPS[op].method}_${part}`;
}

/** Declarations binding every table function that `source` calls, for the top of generated code. */
function tableBindings(source: string): string {
  const lines: string[] = [];
  for (const op of OP_NAMES) {
    for (const part of ['temp', 'value', 'd', 'da', 'db', 'domain'] as const) {
      const name = tableName(op, part);
      if (source.includes(`${name}(`)) lines.push(`const ${name} = OPS[${JSON.stringify(op)}].${part};`);
    }
  }
  return lines.join('\n');
}

function ruleOf(op: Exclude<Op, 'sum'>): Rule {
  const def = OPS[op] as UnaryOp | BinaryOp;
  if (def.arity === 1) {
    const temp = (n: Names): string => (def.temp === undefined ? '0' : n.t);
    return {
      ...(def.temp === undefined ? {} : { temp: (n: Names) => `${tableName(op, 'temp')}(${n.a})` }),
      value: (n) => `${tableName(op, 'value')}(${n.a}, ${temp(n)})`,
      da: (n) => `${tableName(op, 'd')}(${n.a}, ${n.r}, ${temp(n)})`,
      mayFail: def.mayFail, checkDerivative: def.derivativeMayFail, keepDerivative: def.temp !== undefined,
    };
  }
  return {
    value: (n) => `${tableName(op, 'value')}(${n.a}, ${n.b})`,
    da: (n) => `${tableName(op, 'da')}(${n.a}, ${n.b}, ${n.r})`,
    db: (n) => `${tableName(op, 'db')}(${n.a}, ${n.b}, ${n.r})`,
    mayFail: def.mayFail, checkDerivative: def.derivativeMayFail, keepDerivative: false,
    ...(def.domain !== undefined ? { domain: (n: Names, bIsValue: boolean) => `${tableName(op, 'domain')}(${n.a}, ${n.b}, ${bIsValue})` } : {}),
  };
}

const RULES = Object.fromEntries(OP_NAMES.filter((op) => op !== 'sum').map((op) => [op, ruleOf(op as Exclude<Op, 'sum'>)])) as
  { readonly [O in Exclude<Op, 'sum'>]: Rule };

// How an op's operands are given, as in the engine's nodes (it decides which local derivatives
// the engine stores, and so which it checks).
const UNARY = 0; // one operand
const BOTH = 1; //  two node operands
const CONST_B = 2; // first a node, second an inline number
const CONST_A = 3; // first an inline number, second a node
const NARY = 4; //  `sum`: any number of node operands
const DOT = 5; //   a fused Σ aᵢ·bᵢ (see fuseDots)
type Form = typeof UNARY | typeof BOTH | typeof CONST_B | typeof CONST_A | typeof NARY | typeof DOT;

/** Which operand positions (0 = a, 1 = b) carry a derivative in this form. */
function differentiatedSlots(form: Form): readonly (0 | 1)[] {
  return form === BOTH ? [0, 1] : form === CONST_A ? [1] : [0];
}

// ---------------------------------------------------------------------------------------------
// The program: what the trace becomes, shared by both back ends and the listing.
//
// Every number lives in a slot: inputs first (slot j = input j), then one slot per op (op k
// writes slot inputCount + k), then frozen numbers (leaves that are not inputs, nodes that depend
// on no input, inline constants).

interface Instruction {
  /** An engine op, or `dot`: a `sum` with some of its operands' products fused in. */
  readonly op: Op | 'dot';
  readonly form: Form;
  /**
   * Operand slots in the engine's order (for `sum`, all of them). For `dot`, pairs: each term of
   * the sum is a·b for the pair (a, b); a term that is not a product is paired with the slot `one`.
   */
  readonly operands: readonly number[];
  /** Whether the gradient flows through it (it depends on a differentiated input). */
  readonly backward: boolean;
  /** The traced node's label. */
  readonly label: string;
}

interface Frozen {
  readonly value: number;
  /** A leaf or node of the graph (with its label), or an inline constant (null). */
  readonly node: { readonly label: string; readonly op: OpName } | null;
}

interface Program {
  readonly inputCount: number;
  readonly gradientCount: number;
  readonly inputLabels: readonly string[];
  readonly nodeCount: number;
  readonly instructions: readonly Instruction[];
  readonly frozen: readonly Frozen[];
  /** The output's slot. */
  readonly output: number;
  /** The slot holding 1, which `dot` pairs a plain term with (−1 if no `dot`). */
  readonly one: number;
  /** Slots whose gradient is needed: differentiated inputs and ops on the backward pass. */
  readonly needsGradient: Uint8Array;
  readonly slotCount: number;
}

function frozenBase(p: Program): number {
  return p.inputCount + p.instructions.length;
}

/** Keys inline constants so that each distinct number (−0 apart from 0) gets one slot. */
function numberKey(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/**
 * An op as traced, before slots are laid out. Operands are references: input j is j, traced op k
 * is inputCount + k, frozen number i is −1 − i.
 */
interface RawOp {
  readonly op: Op;
  readonly form: Form;
  readonly refs: readonly number[];
  readonly backward: boolean;
  readonly label: string;
}

function trace(fn: (inputs: readonly Value[]) => Value, inputs: readonly Value[], gradientCount: number): Program {
  const root: unknown = fn(inputs);
  if (!(root instanceof Value)) {
    throw new TypeError(`the function passed to compile must return a Value, got ${describeUnknown(root)}`);
  }
  // Leaves first, then the operations in the order the engine's backward pass finishes them, so
  // that every gradient sum runs in the engine's order.
  const order = [...topologicalOrder(root).filter((v) => v.isLeaf), ...backwardOrder(root)];
  for (const v of order) {
    const why = frozenAtTraceReason(v);
    if (why !== null) throw new TypeError(`compile() cannot compile this function: its output depends on ${why}`);
  }
  const m = inputs.length;
  const inputIndex = new Map<Value, number>();
  inputs.forEach((v, j) => inputIndex.set(v, j));

  // What each node is: 0 frozen (depends on no input), 1 recomputed, 2 recomputed and on the
  // backward pass (depends on a differentiated input); one sweep in topological order decides.
  const ref = new Map<Value, number>();
  const kind = new Map<Value, number>();
  const frozen: Frozen[] = [];
  const constantRef = new Map<string, number>();
  const freezeNode = (v: Value): number => {
    let r = ref.get(v);
    if (r === undefined) {
      r = -1 - frozen.length;
      frozen.push({ value: v.data, node: { label: v.label, op: v.op } });
      ref.set(v, r);
    }
    return r;
  };
  const freezeNumber = (x: number): number => {
    const key = numberKey(x);
    let r = constantRef.get(key);
    if (r === undefined) {
      r = -1 - frozen.length;
      frozen.push({ value: x, node: null });
      constantRef.set(key, r);
    }
    return r;
  };
  inputs.forEach((v, j) => ref.set(v, j));

  const raw: RawOp[] = [];
  for (const v of order) {
    if (v.isLeaf) {
      const j = inputIndex.get(v);
      kind.set(v, j === undefined ? 0 : j < gradientCount ? 2 : 1);
      continue;
    }
    const ins = v.inputs; // read once: inline numbers come back as fresh constant leaves
    let k = 0;
    for (const x of ins) k = Math.max(k, kind.get(x) ?? 0);
    kind.set(v, k);
    if (k === 0) continue;
    const op = v.op as Op;
    const refs = ins.map((x) => {
      const xk = kind.get(x);
      if (xk === undefined) return freezeNumber(x.data); // an inline number
      return xk > 0 ? ref.get(x)! : freezeNode(x);
    });
    let form: Form;
    if (op === 'sum') form = NARY;
    else if (ins.length === 1) form = UNARY;
    else if (!kind.has(ins[1]!)) form = CONST_B;
    else if (!kind.has(ins[0]!)) form = CONST_A;
    else form = BOTH;
    ref.set(v, m + raw.length);
    raw.push({ op, form, refs, backward: k === 2, label: v.label });
  }
  const outputRef = (kind.get(root) ?? 0) > 0 ? ref.get(root)! : freezeNode(root);

  const fused = fuseDots(raw, m, gradientCount, outputRef);
  const oneRef = fused.some((f) => f !== null) ? freezeNumber(1) : 0;

  // Lay out the slots: inputs, the ops that remain, then the frozen numbers.
  const newIndex = new Int32Array(raw.length).fill(-1);
  let count = 0;
  for (let k = 0; k < raw.length; k++) if (fused[k] !== 'into') newIndex[k] = count++;
  const base = m + count;
  const slot = (r: number): number => (r < 0 ? base - 1 - r : r < m ? r : m + newIndex[r - m]!);
  const instructions: Instruction[] = [];
  for (let k = 0; k < raw.length; k++) {
    const f = fused[k]!;
    if (f === 'into') continue;
    const r = raw[k]!;
    if (f === null) {
      instructions.push({ op: r.op, form: r.form, operands: r.refs.map(slot), backward: r.backward, label: r.label });
      continue;
    }
    const pairs: number[] = [];
    r.refs.forEach((x, i) => {
      if (f.has(i)) {
        const product = raw[x - m]!;
        pairs.push(slot(product.refs[0]!), slot(product.refs[1]!));
      } else {
        pairs.push(slot(x), slot(oneRef));
      }
    });
    instructions.push({ op: 'dot', form: DOT, operands: pairs, backward: r.backward, label: r.label });
  }
  const slotCount = base + frozen.length;
  const needsGradient = new Uint8Array(slotCount);
  for (let j = 0; j < gradientCount; j++) needsGradient[j] = 1;
  instructions.forEach((ins, k) => { if (ins.backward) needsGradient[m + k] = 1; });
  return {
    inputCount: m, gradientCount, inputLabels: inputs.map((v) => v.label), nodeCount: order.length,
    instructions, frozen, output: slot(outputRef), one: fused.some((f) => f !== null) ? slot(oneRef) : -1,
    needsGradient, slotCount,
  };
}

/**
 * Finds the products to fuse into the sums that use them: for each `sum`, the operands that are
 * `*` ops used by nothing else. Returns, per op, null (kept as it is), 'into' (a product fused
 * into its sum) or, for a sum, the positions of its fused operands.
 *
 * Fusing is exact. The forward pass adds the same rounded products in the same order. On the
 * backward pass a fused product's contributions to its operands' gradients are made when its sum
 * is processed (terms in reverse order) instead of at the product's own place in reverse
 * topological order; its gradient equals the sum's (it has no other use), so the numbers are the
 * same. A product is fused only where this leaves the order in which every gradient receives its
 * contributions unchanged, so that each is summed as the engine sums it, bit for bit.
 */
function fuseDots(raw: readonly RawOp[], m: number, gradientCount: number, outputRef: number): (null | 'into' | Set<number>)[] {
  const uses = new Int32Array(raw.length);
  for (const r of raw) for (const x of r.refs) if (x >= m) uses[x - m]!++;
  if (outputRef >= m) uses[outputRef - m]!++;
  const needsGradient = (x: number): boolean => x >= 0 && (x < m ? x < gradientCount : raw[x - m]!.backward);
  const differentiated = (r: RawOp): number[] =>
    r.form === NARY ? r.refs.slice() : differentiatedSlots(r.form).map((p) => r.refs[p]!);

  // owner[p]: the sum that product p is fused into, or −1.
  const owner = new Int32Array(raw.length).fill(-1);
  const groups = new Map<number, Map<number, number>>(); // sum → (operand position → product)
  raw.forEach((s, k) => {
    if (s.op !== 'sum') return;
    const members = new Map<number, number>();
    let last = -1;
    s.refs.forEach((x, i) => {
      const p = x - m;
      // Products used once, at increasing places, so that reverse operand order is reverse
      // topological order within the group.
      if (x >= m && raw[p]!.op === '*' && uses[p] === 1 && p > last) {
        members.set(i, p);
        last = p;
      }
    });
    // Within one sum, its own contribution to a plain operand comes first in the engine; keep it
    // apart from the fused products' contributions.
    const plain = new Set(s.refs.filter((_, i) => !members.has(i)));
    for (const [i, p] of members) {
      if (differentiated(raw[p]!).some((x) => needsGradient(x) && plain.has(x))) members.delete(i);
    }
    if (members.size === 0) return;
    groups.set(k, members);
    for (const p of members.values()) owner[p] = k;
  });
  const unfuse = (p: number): void => {
    const members = groups.get(owner[p]!)!;
    for (const [i, q] of members) if (q === p) members.delete(i);
    owner[p] = -1;
  };

  // Where each gradient receives contributions: the places of the backward ops that feed it, in
  // the engine's order (reverse topological, here listed ascending).
  const consumers = new Map<number, number[]>();
  raw.forEach((r, k) => {
    if (!r.backward) return;
    for (const x of differentiated(r)) {
      if (!needsGradient(x)) continue;
      const list = consumers.get(x);
      if (list === undefined) consumers.set(x, [k]);
      else if (list[list.length - 1] !== k) list.push(k);
    }
  });
  // After fusing, a contribution is made at (its sum's place, its own place), in reverse
  // lexicographic order; where that breaks the engine's order, the products involved stay apart.
  for (let changed = true; changed;) {
    changed = false;
    for (const list of consumers.values()) {
      for (let c = 1; c < list.length; c++) {
        const p = list[c - 1]!, q = list[c]!;
        const ep = owner[p]! >= 0 ? owner[p]! : p, eq = owner[q]! >= 0 ? owner[q]! : q;
        if (ep < eq || (ep === eq && p < q)) continue;
        if (owner[p]! >= 0) unfuse(p);
        if (owner[q]! >= 0) unfuse(q);
        changed = true;
      }
    }
  }

  const result: (null | 'into' | Set<number>)[] = new Array(raw.length).fill(null);
  for (const [k, members] of groups) {
    if (members.size === 0) continue;
    result[k] = new Set(members.keys());
    for (const p of members.values()) result[p] = 'into';
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Errors met at run time, worded as the engine words them.


function operandNames(count: number): string[] {
  const names = count === 1 ? ['x'] : ['a', 'b'];
  for (let k = names.length; k < count; k++) names.push(`x${k}`);
  return names;
}

interface OperandInfo {
  readonly value: number;
  readonly label: string;
}

function formatOperands(info: readonly OperandInfo[]): string {
  const names = operandNames(info.length);
  return info.map((o, k) => `${names[k]}=${o.value}${o.label ? ` (${JSON.stringify(o.label)})` : ''}`).join(', ');
}

/** Makes the errors of one tape; `values` gives a slot's current number. */
class Failures {
  constructor(private readonly program: Program, private readonly values: (slot: number) => number) {}

  private label(slot: number): string {
    const p = this.program;
    if (slot < p.inputCount) return p.inputLabels[slot]!;
    if (slot < frozenBase(p)) return p.instructions[slot - p.inputCount]!.label;
    return p.frozen[slot - frozenBase(p)]!.node?.label ?? '';
  }

  private operands(k: number): OperandInfo[] {
    return this.program.instructions[k]!.operands.map((s) => ({ value: this.values(s), label: this.label(s) }));
  }

  private where(k: number): string {
    return `op %${k} of the compiled graph`;
  }

  /** An op's value is not finite. */
  value(k: number, r: number): NonFiniteError {
    const ins = this.program.instructions[k]!;
    const info = this.operands(k);
    if (ins.op === 'dot') return this.dotValue(k, r, info);
    return new NonFiniteError(`${ins.op}(${formatOperands(info)}) is ${r}, not a finite number (${this.where(k)})`, ins.op, info);
  }

  /** A fused sum of products is not finite: blames the first product that is not, else the sum. */
  private dotValue(k: number, r: number, pairs: readonly OperandInfo[]): NonFiniteError {
    const one = this.program.instructions[k]!.operands.map((s) => s === this.program.one);
    const terms: OperandInfo[] = [];
    for (let i = 0; i < pairs.length; i += 2) {
      const a = pairs[i]!, b = pairs[i + 1]!;
      if (one[i + 1]) {
        terms.push(a);
        continue;
      }
      const product = a.value * b.value;
      if (product - product !== 0) {
        return new NonFiniteError(
          `*(${formatOperands([a, b])}) is ${product}, not a finite number (a product in ${this.where(k)})`, '*', [a, b]);
      }
      terms.push({ value: product, label: '' });
    }
    return new NonFiniteError(`sum(${formatOperands(terms)}) is ${r}, not a finite number (${this.where(k)})`, 'sum', terms);
  }

  /** Operands outside an op's domain (pow's negative base with a Value exponent). */
  domain(k: number, why: string): NonFiniteError {
    const ins = this.program.instructions[k]! as Instruction & { op: Op };
    const info = this.operands(k);
    return new NonFiniteError(`${ins.op}(${formatOperands(info)}): ${why} (${this.where(k)})`, ins.op, info);
  }

  /** A local derivative met on the backward pass is not finite. */
  derivative(k: number, slot: 0 | 1, d: number): NonFiniteError {
    const ins = this.program.instructions[k]! as Instruction & { op: Op };
    const info = this.operands(k);
    const names = operandNames(info.length);
    return new NonFiniteError(
      `backward(): the local derivative of ${ins.op}(${formatOperands(info)}) with respect to ${names[slot]} is ${d}, not a finite number (${this.where(k)})`,
      ins.op, info);
  }

  /** An input that is not a finite number. */
  input(j: number, x: unknown): Error {
    if (typeof x !== 'number') return new TypeError(`input ${j} must be a number, got ${describeUnknown(x)}`);
    return new RangeError(`input ${j} must be finite, got ${x}`);
  }

  /** An input's gradient overflowed. */
  gradient(j: number, g: number, inputValue: number): NonFiniteError {
    const info = [{ value: inputValue, label: this.program.inputLabels[j]! }];
    const label = info[0]!.label ? ` (${JSON.stringify(info[0]!.label)})` : '';
    return new NonFiniteError(`backward(): the gradient of input ${j}=${inputValue}${label} overflowed to ${g}`, '', info);
  }
}

// ---------------------------------------------------------------------------------------------
// Back end 1: the tape. One interpreter for all programs, generated once from RULES.

interface Tape {
  readonly forwardCode: Uint8Array;
  /** 0 where the op is not on the backward pass. */
  readonly backwardCode: Uint8Array;
  /** Operand slots a and b; for `sum` and `dot`, the start and end of their operands in `args`. */
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly args: Int32Array;
}

type ForwardLoop = (
  val: Float64Array, aux: Float64Array, code: Uint8Array, A: Int32Array, B: Int32Array, args: Int32Array,
  base: number, n: number, failures: Failures,
) => void;
type BackwardLoop = (
  val: Float64Array, grad: Float64Array, aux: Float64Array, code: Uint8Array, A: Int32Array, B: Int32Array,
  args: Int32Array, base: number, n: number, failures: Failures,
) => void;

/** Op codes of the tape: one per (op, form) pair, from 1. */
const TAPE_CODES: readonly { readonly op: Op | 'dot'; readonly form: Form }[] = [
  ...(Object.keys(RULES) as Exclude<Op, 'sum'>[]).flatMap((op) =>
    (RULES[op].db === undefined ? [UNARY] : [BOTH, CONST_B, CONST_A]).map((form) => ({ op, form: form as Form }))),
  { op: 'sum', form: NARY },
  { op: 'dot', form: DOT },
];

function tapeCode(op: Op | 'dot', form: Form): number {
  return TAPE_CODES.findIndex((c) => c.op === op && c.form === form) + 1;
}

function mentions(expression: string, name: string): boolean {
  return new RegExp(`\\b${name}\\b`).test(expression);
}

const TAPE_NAMES: Names = { a: 'a', b: 'b', r: 'r', t: 't' };

function tapeForwardSource(): string {
  const cases = TAPE_CODES.map(({ op, form }, c) => {
    if (op === 'sum') {
      return `case ${c + 1}: {
        let r = 0;
        for (let j = A[k], e = B[k]; j < e; j++) r += val[args[j]];
        if (r - r !== 0) throw failures.value(k, r);
        val[base + k] = r;
        break;
      }`;
    }
    if (op === 'dot') {
      return `case ${c + 1}: {
        let r = 0;
        for (let j = A[k], e = B[k]; j < e; j += 2) r += val[args[j]] * val[args[j + 1]];
        if (r - r !== 0) throw failures.value(k, r);
        val[base + k] = r;
        break;
      }`;
    }
    const rule = RULES[op];
    const lines = [`const a = val[A[k]];`];
    if (form !== UNARY) lines.push(`const b = val[B[k]];`);
    if (rule.domain && form !== CONST_B) lines.push(`{ const why = ${rule.domain(TAPE_NAMES, true)}; if (why !== null) throw failures.domain(k, why); }`);
    if (rule.temp) lines.push(`const t = ${rule.temp(TAPE_NAMES)};`);
    lines.push(`const r = ${rule.value(TAPE_NAMES)};`);
    if (rule.mayFail) lines.push(`if (r - r !== 0) throw failures.value(k, r);`);
    if (rule.keepDerivative) lines.push(`aux[k] = ${rule.da(TAPE_NAMES)};`);
    lines.push(`val[base + k] = r;`);
    return `case ${c + 1}: { // ${op} ${formName(form)}\n        ${lines.join('\n        ')}\n        break;\n      }`;
  });
  return `return function forward(val, aux, code, A, B, args, base, n, failures) {
  for (let k = 0; k < n; k++) {
    switch (code[k]) {
      ${cases.join('\n      ')}
    }
  }
};`;
}

function tapeBackwardSource(): string {
  const cases = TAPE_CODES.map(({ op, form }, c) => {
    if (op === 'sum') {
      return `case ${c + 1}: {
        if (g === 0) break;
        for (let j = A[k], e = B[k]; j < e; j++) grad[args[j]] += g;
        break;
      }`;
    }
    if (op === 'dot') {
      // Terms in reverse order: the engine's reverse topological order within the sum.
      return `case ${c + 1}: {
        if (g === 0) break;
        for (let j = B[k] - 2, s = A[k]; j >= s; j -= 2) {
          const p = args[j], q = args[j + 1];
          const a = val[p], b = val[q];
          grad[p] += g * b;
          grad[q] += g * a;
        }
        break;
      }`;
    }
    const rule = RULES[op];
    const derivatives = differentiatedSlots(form).map((slot) => {
      const expression = rule.keepDerivative ? 'aux[k]' : (slot === 0 ? rule.da : rule.db!)(TAPE_NAMES);
      return { slot, expression, target: slot === 0 ? 'A[k]' : 'B[k]' };
    });
    const all = derivatives.map((d) => d.expression).join(' ');
    // Where nothing can throw, a zero gradient can be skipped: every contribution would be ±0
    // (derivatives are finite), which leaves a sum that started at +0 unchanged, bit for bit.
    const lines: string[] = rule.checkDerivative ? [] : ['if (g === 0) break;'];
    if (mentions(all, 'a')) lines.push('const a = val[A[k]];');
    if (mentions(all, 'b')) lines.push('const b = val[B[k]];');
    if (mentions(all, 'r')) lines.push('const r = val[base + k];');
    for (const d of derivatives) {
      if (rule.checkDerivative) {
        lines.push(`const d${d.slot} = ${d.expression};`);
        lines.push(`if (d${d.slot} - d${d.slot} !== 0) throw failures.derivative(k, ${d.slot}, d${d.slot});`);
        lines.push(`grad[${d.target}] += g * d${d.slot};`);
      } else {
        lines.push(accumulate(`grad[${d.target}]`, 'g', d.expression));
      }
    }
    return `case ${c + 1}: { // ${op} ${formName(form)}\n        ${lines.join('\n        ')}\n        break;\n      }`;
  });
  return `return function backward(val, grad, aux, code, A, B, args, base, n, failures) {
  for (let k = n - 1; k >= 0; k--) {
    const c = code[k];
    if (c === 0) continue;
    const g = grad[base + k];
    switch (c) {
      ${cases.join('\n      ')}
    }
  }
};`;
}

/**
 * `target += g · (derivative)`, written `+= g` or `-= g` for a derivative of ±1: the same number
 * (g·1 = g, and adding −g is subtracting g), and easier to read.
 */
function accumulate(target: string, g: string, derivative: string): string {
  if (derivative === '1') return `${target} += ${g};`;
  if (derivative === '-1') return `${target} -= ${g};`;
  return `${target} += ${g} * (${derivative});`;
}

function formName(form: Form): string {
  return ['unary', 'node node', 'node number', 'number node', 'n-ary', 'products'][form]!;
}

/** Runs `return function …` source with the table functions it calls bound. */
function withTable(source: string): unknown {
  return new Function('OPS', `${tableBindings(source)}\n${source}`)(OPS);
}

let tapeLoops: { forward: ForwardLoop; backward: BackwardLoop } | undefined;

function loops(): { forward: ForwardLoop; backward: BackwardLoop } {
  tapeLoops ??= {
    forward: withTable(tapeForwardSource()) as ForwardLoop,
    backward: withTable(tapeBackwardSource()) as BackwardLoop,
  };
  return tapeLoops;
}

/** The interpreter loops' source, for inspection. */
export function tapeInterpreterSource(): string {
  return `${tapeForwardSource()}\n\n${tapeBackwardSource()}`;
}

type Runner = (inputs: ArrayLike<number>, gradient: Float64Array | null) => number;

function tapeRunner(program: Program): Runner {
  const { inputCount: m, instructions, output, gradientCount } = program;
  const n = instructions.length;
  const tape: Tape = {
    forwardCode: new Uint8Array(n), backwardCode: new Uint8Array(n),
    a: new Int32Array(n), b: new Int32Array(n),
    args: new Int32Array(instructions.reduce((s, ins) => s + (ins.form >= NARY ? ins.operands.length : 0), 0)),
  };
  let used = 0;
  instructions.forEach((ins, k) => {
    const code = tapeCode(ins.op, ins.form);
    tape.forwardCode[k] = code;
    tape.backwardCode[k] = ins.backward ? code : 0;
    if (ins.form >= NARY) {
      tape.a[k] = used;
      for (const s of ins.operands) tape.args[used++] = s;
      tape.b[k] = used;
    } else {
      tape.a[k] = ins.operands[0]!;
      tape.b[k] = ins.operands[1] ?? 0;
    }
  });
  const val = new Float64Array(program.slotCount);
  const base = frozenBase(program);
  program.frozen.forEach((f, i) => { val[base + i] = f.value; });
  const grad = new Float64Array(program.slotCount);
  const aux = new Float64Array(n);
  const failures = new Failures(program, (s) => val[s]!);
  const { forward, backward } = loops();
  const outputOnBackward = program.needsGradient[output] === 1;
  return (inputs, gradient) => {
    for (let j = 0; j < m; j++) {
      const x = inputs[j]!;
      if (typeof x !== 'number' || x - x !== 0) throw failures.input(j, x);
      val[j] = x;
    }
    forward(val, aux, tape.forwardCode, tape.a, tape.b, tape.args, m, n, failures);
    const value = val[output]!;
    if (gradient === null) return value;
    if (outputOnBackward) {
      grad.fill(0);
      grad[output] = 1;
      backward(val, grad, aux, tape.backwardCode, tape.a, tape.b, tape.args, m, n, failures);
      // Checked before anything is written, so that a failed call leaves the caller's buffer as it was.
      for (let j = 0; j < gradientCount; j++) {
        const g = grad[j]!;
        if (g - g !== 0) throw failures.gradient(j, g, val[j]!);
      }
      for (let j = 0; j < gradientCount; j++) gradient[j] = grad[j]!;
    } else {
      gradient.fill(0);
    }
    return value;
  };
}

// ---------------------------------------------------------------------------------------------
// Back end 2: straight-line code, one local variable per number.

/**
 * A label as a one-line quoted string, safe inside a `//` comment of generated code: JSON escapes
 * quotes and line breaks except U+2028 and U+2029, which JavaScript also reads as line breaks.
 */
function quote(label: string): string {
  return JSON.stringify(label).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** A number as a JavaScript literal that reads back to the same double (−0 included). */
function literal(x: number): string {
  const text = Object.is(x, -0) ? '-0' : String(x);
  return x < 0 || Object.is(x, -0) ? `(${text})` : text;
}

function generateSource(program: Program): string {
  const { inputCount: m, instructions, needsGradient, output, gradientCount } = program;
  const base = frozenBase(program);
  const valueOf = (s: number): string => (s >= base ? literal(program.frozen[s - base]!.value) : `v${s}`);
  const lines: string[] = [];
  const emit = (line: string): void => { lines.push(`  ${line}`); };
  for (let j = 0; j < m; j++) {
    emit(`const v${j} = x[${j}];`);
    emit(`if (typeof v${j} !== 'number' || v${j} - v${j} !== 0) return fail(x, G);`);
  }
  instructions.forEach((ins, k) => {
    const s = m + k;
    const args = ins.operands.map(valueOf);
    const comment = ins.label ? ` // ${quote(ins.label)}` : '';
    if (ins.form === NARY || ins.form === DOT) {
      const terms = ins.form === NARY ? args : dotTerms(program, ins, valueOf);
      emit(`const v${s} = ${['0', ...terms].join(' + ')};${comment}`);
      emit(`if (v${s} - v${s} !== 0) return fail(x, G);`);
      return;
    }
    const rule = codeRule(program, ins);
    const names: Names = { a: args[0]!, b: args[1] ?? '', r: `v${s}`, t: `t${s}` };
    if (rule.domain && ins.form !== CONST_B) emit(`if (${rule.domain(names, true)} !== null) return fail(x, G);`);
    if (rule.temp) emit(`const t${s} = ${rule.temp(names)};`);
    emit(`const v${s} = ${rule.value(names)};${comment}`);
    if (rule.mayFail) emit(`if (v${s} - v${s} !== 0) return fail(x, G);`);
    if (rule.keepDerivative && ins.backward) emit(`const d${s} = ${rule.da(names)};`);
  });
  const outputValue = valueOf(output);
  emit(`if (G === null) return ${outputValue};`);
  if (needsGradient[output] === 1) {
    const gradients: string[] = [];
    for (let s = 0; s < base; s++) if (needsGradient[s] === 1 && s !== output) gradients.push(`g${s} = 0`);
    if (gradients.length > 0) emit(`let ${gradients.join(', ')};`);
    emit(`const g${output} = 1;`);
    for (let k = instructions.length - 1; k >= 0; k--) {
      const ins = instructions[k]!;
      if (!ins.backward) continue;
      const s = m + k;
      const args = ins.operands.map(valueOf);
      if (ins.form === NARY) {
        for (const o of ins.operands) if (needsGradient[o] === 1) emit(`g${o} += g${s};`);
        continue;
      }
      if (ins.form === DOT) {
        // Terms in reverse order, as the tape does (see fuseDots).
        for (let i = ins.operands.length - 2; i >= 0; i -= 2) {
          const p = ins.operands[i]!, q = ins.operands[i + 1]!;
          if (q === program.one) {
            if (needsGradient[p] === 1) emit(`g${p} += g${s};`);
            continue;
          }
          if (needsGradient[p] === 1) emit(`g${p} += g${s} * ${valueOf(q)};`);
          if (needsGradient[q] === 1) emit(`g${q} += g${s} * ${valueOf(p)};`);
        }
        continue;
      }
      const rule = codeRule(program, ins);
      const names: Names = { a: args[0]!, b: args[1] ?? '', r: `v${s}`, t: `t${s}` };
      for (const slot of differentiatedSlots(ins.form)) {
        const target = ins.operands[slot]!;
        const expression = rule.keepDerivative ? `d${s}` : (slot === 0 ? rule.da : rule.db!)(names);
        if (rule.checkDerivative) {
          emit(`const d${s}_${slot} = ${expression};`);
          emit(`if (d${s}_${slot} - d${s}_${slot} !== 0) return fail(x, G);`);
          if (needsGradient[target] === 1) emit(`g${target} += g${s} * d${s}_${slot};`);
        } else if (needsGradient[target] === 1) {
          emit(accumulate(`g${target}`, `g${s}`, expression));
        }
      }
    }
    // Checked before anything is written, so that a failed call leaves the caller's buffer as it was.
    for (let j = 0; j < gradientCount; j++) {
      if (j !== output) emit(`if (g${j} - g${j} !== 0) return fail(x, G);`);
    }
    for (let j = 0; j < gradientCount; j++) emit(`G[${j}] = ${j === output ? '1' : `g${j}`};`);
  } else {
    for (let j = 0; j < gradientCount; j++) emit(`G[${j}] = 0;`);
  }
  emit(`return ${outputValue};`);
  const body = `return function compiled(x, G) {\n${lines.join('\n')}\n};`;
  return `${tableBindings(body)}\n${body}`;
}

/**
 * x² as x·x, and its derivative 2·Math.pow(x, 1) as 2·x: the same numbers, because Math.pow is
 * fdlibm's pow, which returns x·x for an exponent of 2 and x for 1 (checked on 13 million doubles
 * of every magnitude on Node 20; the tests compare with the engine bit for bit). Two calls fewer
 * matter for small graphs such as the learner's loss (y − a)².
 */
const SQUARE: Rule = {
  value: (n) => `${n.a} * ${n.a}`, mayFail: true, da: (n) => `2 * ${n.a}`, checkDerivative: false, keepDerivative: false,
};

function codeRule(program: Program, ins: Instruction): Rule {
  if (ins.op === 'pow' && ins.form === CONST_B && program.frozen[ins.operands[1]! - frozenBase(program)]!.value === 2) return SQUARE;
  return RULES[ins.op as Exclude<Op, 'sum'>];
}

/** A `dot`'s terms as text: `a * b` for a product, the operand alone for a plain term. */
function dotTerms(program: Program, ins: Instruction, name: (slot: number) => string, times = ' * '): string[] {
  const terms: string[] = [];
  for (let i = 0; i < ins.operands.length; i += 2) {
    const p = ins.operands[i]!, q = ins.operands[i + 1]!;
    terms.push(q === program.one ? name(p) : `${name(p)}${times}${name(q)}`);
  }
  return terms;
}

/**
 * Runs generated code. Its checks only detect a problem; `fail` then replays the call on the tape,
 * which finds the same problem at the same place (same ops, same order) and throws the error that
 * names it. This keeps the generated functions small, which V8 needs in order to optimise them.
 */
function codeRunner(program: Program, source: string): Runner {
  let tape: Runner | undefined;
  const fail = (x: ArrayLike<number>, gradient: Float64Array | null): never => {
    tape ??= tapeRunner(program);
    tape(x, gradient === null ? null : new Float64Array(gradient.length));
    throw new Error('internal error: the compiled code found a non-finite number that the tape did not');
  };
  return new Function('OPS', 'fail', source)(OPS, fail) as Runner;
}

// ---------------------------------------------------------------------------------------------
// The listing.

function listing(program: Program, strategy: Strategy): string {
  const { inputCount: m, instructions, output } = program;
  const base = frozenBase(program);
  const name = (s: number): string =>
    s < m ? `x${s}` : s < base ? `%${s - m}` : program.frozen[s - base]!.node === null ? String(program.frozen[s - base]!.value) : `c${s - base}`;
  const quoted = (label: string): string => (label ? `  ${quote(label)}` : '');
  const lines = [
    `compiled graph (${strategy}): ${m} input${m === 1 ? '' : 's'} (${program.gradientCount} with gradients), ` +
      `${instructions.length} op${instructions.length === 1 ? '' : 's'}, ${program.nodeCount} traced nodes; output ${name(output)}`,
  ];
  for (let j = 0; j < m; j++) {
    const label = program.inputLabels[j]!;
    // Leaves that compile made from numbers are labelled x0, x1, ...: the name says it already.
    lines.push(`  x${j} = input ${j}${j < program.gradientCount ? '' : ' (no gradient)'}${quoted(label === `x${j}` ? '' : label)}`);
  }
  program.frozen.forEach((f, i) => {
    if (f.node === null) return;
    const what = f.node.op === '' ? 'frozen leaf' : `frozen ${f.node.op} (depends on no input)`;
    lines.push(`  c${i} = ${f.value}  ${what}${quoted(f.node.label)}`);
  });
  instructions.forEach((ins, k) => {
    const note = ins.backward ? '' : '  (no gradient)';
    const operands = ins.op === 'dot' ? dotTerms(program, ins, name, '·').join(' + ') : ins.operands.map(name).join(' ');
    lines.push(`  %${k} = ${ins.op} ${operands}${quoted(ins.label)}${note}`);
  });
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// compile().

function checkExampleInputs(exampleInputs: readonly Value[] | ArrayLike<number>): Value[] {
  if (exampleInputs === null || typeof exampleInputs !== 'object' || typeof exampleInputs.length !== 'number') {
    throw new TypeError(`compile's example inputs must be an array of Values or numbers, got ${describeUnknown(exampleInputs)}`);
  }
  const items = Array.from(exampleInputs as ArrayLike<Value | number>);
  if (items.every((x) => typeof x === 'number')) {
    return items.map((x, j) => {
      if (!Number.isFinite(x)) throw new RangeError(`example input ${j} must be a finite number, got ${x}`);
      return new Value(x as number, `x${j}`);
    });
  }
  const seen = new Set<Value>();
  items.forEach((v, j) => {
    if (!(v instanceof Value)) {
      throw new TypeError(`example input ${j} is ${describeUnknown(v)}: give all Values (leaves) or all numbers`);
    }
    if (!v.isLeaf) throw new TypeError(`example input ${j} is the result of a ${v.op} op; inputs must be leaves`);
    if (v.isConstant) throw new TypeError(`example input ${j} is a constant leaf; inputs must be variables`);
    if (seen.has(v)) throw new TypeError(`example input ${j} appears twice among the inputs`);
    seen.add(v);
  });
  return items as Value[];
}

/**
 * Traces `fn` once on Values and returns a function that recomputes its output and gradient from
 * new input numbers (in the order of `exampleInputs`), with results identical to the engine's.
 *
 * `exampleInputs` are either numbers (fresh leaves labelled x0, x1, ... are made and passed to
 * `fn`) or the leaves `fn` should receive (e.g. a model's parameters, which `fn` may also reach
 * through a closure). See the module comment for what is frozen at trace time.
 */
export function compile(
  fn: (inputs: readonly Value[]) => Value, exampleInputs: readonly Value[] | ArrayLike<number>, options: CompileOptions = {},
): CompiledFunction {
  if (typeof fn !== 'function') throw new TypeError(`compile needs a function of Values, got ${describeUnknown(fn)}`);
  // It traces fn's graph of ordinary nodes; a compiled function needs no scope to run fast.
  if (inScope()) throw new ScopeError('compile() traces a graph of ordinary Values: call it outside a scope (its result runs anywhere)');
  const inputs = checkExampleInputs(exampleInputs);
  const gradientCount = options.gradients ?? inputs.length;
  if (!Number.isInteger(gradientCount) || gradientCount < 0 || gradientCount > inputs.length) {
    throw new RangeError(`options.gradients must be a whole number from 0 to ${inputs.length} (the inputs), got ${String(options.gradients)}`);
  }
  const requested = options.strategy ?? 'auto';
  if (!['auto', 'code', 'tape'].includes(requested)) {
    throw new RangeError(`options.strategy must be "auto", "code" or "tape", got ${JSON.stringify(requested)}`);
  }
  const program = trace(fn, inputs, gradientCount);
  // Code takes at least a line per op: past the limit in ops, it is not even generated.
  let source = requested === 'code' || (requested === 'auto' && program.instructions.length <= CODE_LINE_LIMIT)
    ? generateSource(program) : null;
  if (requested === 'auto' && source !== null && source.split('\n').length > CODE_LINE_LIMIT) source = null;
  const strategy: Strategy = source === null ? 'tape' : 'code';
  const runner = source === null ? tapeRunner(program) : codeRunner(program, source);

  // Each back end checks the input numbers and the gradients itself (inlined, for small graphs).
  const m = inputs.length;
  const checkArray = (x: ArrayLike<number>): void => {
    if (x === null || typeof x !== 'object' || typeof x.length !== 'number') {
      throw new TypeError(`a compiled function takes an array of ${m} numbers, got ${describeUnknown(x)}`);
    }
    if (x.length !== m) throw new RangeError(`this compiled function takes ${m} input${m === 1 ? '' : 's'}, got ${x.length}`);
  };
  const run = (x: ArrayLike<number>, gradient: Float64Array): number => {
    checkArray(x);
    if (!(gradient instanceof Float64Array) || gradient.length !== gradientCount) {
      throw new TypeError(`the gradient buffer must be a Float64Array of length ${gradientCount}, got ${describeUnknown(gradient)}${gradient instanceof Float64Array ? ` of length ${gradient.length}` : ''}`);
    }
    return runner(x, gradient);
  };
  const compiled = (x: ArrayLike<number>, gradient?: Float64Array): CompiledResult => {
    const g = gradient ?? new Float64Array(gradientCount);
    const value = run(x, g);
    return { value, gradient: g };
  };
  return Object.assign(compiled, {
    run,
    value: (x: ArrayLike<number>): number => {
      checkArray(x);
      return runner(x, null);
    },
    inputCount: m,
    gradientCount,
    nodeCount: program.nodeCount,
    opCount: program.instructions.length,
    strategy,
    source,
    listing: () => listing(program, strategy),
  });
}
