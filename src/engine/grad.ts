/**
 * `grad(output, inputs, { createGraph })`: the gradient of one value with respect to chosen
 * others, returned rather than stored in `.grad` (PyTorch's `torch.autograd.grad`).
 *
 * - Without `createGraph` it is `backward()`'s computation: the same visiting order
 *   (`backwardOrder`), the same products and the same sums in the same order, leaves summed from +0,
 *   so its numbers equal the `.grad`s a `backward()` from zeroed grads would leave, bit for bit. It
 *   reads each node's stored local derivatives and writes no `.grad`.
 * - With `createGraph` each local derivative is built from Values by its op's rule in the op table
 *   (`dValue`, `daValue`, `dbValue`), and the chain rule's products and sums are Value operations
 *   too: the gradients are Values whose graphs can be differentiated again, to any order. Nothing is
 *   skipped below an adjoint that happens to be 0 ((w·x)² at w = 0 has a zero gradient whose
 *   derivative is not); only shares that are the constant number 0 are left out, since they have no
 *   derivative either.
 *
 * The rules read the operands' current `data`, while the stored numbers are from when the graph was
 * built; if a leaf changed in between (an optimiser step), the two would be mixed silently. So each
 * node's value and local derivatives are recomputed from its operands' current data (a few flops)
 * and a mismatch throws `StaleGraphError`.
 */
import { OPS, type BinaryOp, type OpDefinition, type RuleFunctions, type UnaryOp } from './ops.js';
import { NonFiniteError, formatOperand } from './errors.js';
import { describeUnknown } from './describe.js';
import { Value, OP_FUNCTIONS, sum } from './value.js';
import { backwardOrder } from './backward.js';

/** Options of `grad`. */
export interface GradOptions {
  /**
   * Build the gradients as Values with graphs of their own (differentiable again), rather than as
   * leaves holding numbers. Default false.
   */
  readonly createGraph?: boolean;
}

/** Thrown by `grad(…, { createGraph: true })` when a graph's data changed after it was built. */
export class StaleGraphError extends Error {
  override readonly name = 'StaleGraphError';
}

/**
 * ∂output/∂input for each input: Values labelled `∂L/∂w` (with the labels of `output` and the
 * input). Inputs may be leaves or interior nodes; those `output` does not depend on get 0; a constant
 * is an error. No `.grad` changes. See the module comment for `createGraph`.
 */
export function grad(output: Value, inputs: Value, options?: GradOptions): Value;
export function grad(output: Value, inputs: readonly Value[], options?: GradOptions): Value[];
export function grad(output: Value, inputs: Value | readonly Value[], options: GradOptions = {}): Value | Value[] {
  const list = inputList(inputs);
  if (typeof options !== 'object' || options === null) throw new TypeError(`grad options must be an object, got ${describeUnknown(options)}`);
  const createGraph = options.createGraph ?? false;
  if (typeof createGraph !== 'boolean') throw new TypeError(`grad's createGraph must be true or false, got ${describeUnknown(createGraph)}`);
  checkOutput(output);
  let result: Value[];
  if (createGraph) {
    result = gradValues(output, list);
  } else {
    result = gradNumbers(output, list).map((g) => new Value(g));
    for (const g of result) {
      frozenAtTrace.set(g, 'a gradient computed by grad() without createGraph, a leaf holding its number at the traced point; ' +
        'call grad(…, { createGraph: true }) so that the gradient is made of ops compile() can recompute');
    }
  }
  result.forEach((g, k) => { g.label = derivativeLabel(output.label || 'output', list[k]!.label || `input${k}`); });
  return inputs instanceof Value ? result[0]! : result;
}

const SUPERSCRIPTS = '⁰¹²³⁴⁵⁶⁷⁸⁹';
const superscript = (n: number): string => (n === 1 ? '' : [...String(n)].map((c) => SUPERSCRIPTS[Number(c)]).join(''));
const fromSuperscript = (s: string): number => (s === '' ? 1 : Number([...s].map((c) => SUPERSCRIPTS.indexOf(c)).join('')));

/** `∂L/∂w`; of a label that is already a derivative, the next order: ∂(∂L/∂w)/∂x is `∂²L/∂w∂x`. */
export function derivativeLabel(of: string, wrt: string): string {
  const m = /^∂([⁰¹²³⁴⁵⁶⁷⁸⁹]*)([^/]+)\/((?:∂[^∂/]+)+)$/.exec(of);
  if (m === null) return `∂${of}/∂${wrt}`;
  return `∂${superscript(fromSuperscript(m[1]!) + 1)}${m[2]}/${m[3]}∂${wrt}`;
}

function inputList(inputs: Value | readonly Value[]): readonly Value[] {
  const list = inputs instanceof Value ? [inputs] : inputs;
  if (!Array.isArray(list)) throw new TypeError(`grad needs a Value or an array of Values to differentiate with respect to, got ${describeUnknown(inputs)}`);
  list.forEach((x: unknown, k) => {
    if (!(x instanceof Value)) throw new TypeError(`grad's input ${k} is not a Value: ${describeUnknown(x)}`);
    if (x.isConstant) {
      throw new TypeError(`grad's input ${k} is a constant (${x.data}): a literal number has no gradient of interest; use new Value(${x.data}) for a variable`);
    }
  });
  return list;
}

function checkOutput(output: unknown): void {
  if (!(output instanceof Value)) throw new TypeError(`grad needs a Value to differentiate, got ${describeUnknown(output)}`);
}

/**
 * @internal The gradient as numbers: `backward()`'s sums without its `.grad` writes. (Used by
 * `hessian` and `hvp`, which need no Values.)
 */
export function gradNumbers(output: Value, inputs: readonly Value[]): number[] {
  checkOutput(output);
  const order = backwardOrder(output).reverse(); // the order backward() visits, output first
  const interior = new Map<Value, number>(); //       each interior node's gradient so far
  const leaves = new Map<Value, number>(); //         each leaf's sum, from +0, in the order met
  if (order.length > 0) interior.set(output, 1);
  for (const v of order) {
    const g = interior.get(v)!;
    const operands = v.inputs, local = v.localGradients;
    const isSum = v.op === 'sum';
    for (let k = 0; k < operands.length; k++) {
      const d = local[k];
      if (d === null || d === undefined) continue; // a number operand
      if (d - d !== 0) throw nonFiniteDerivative(v, k, d);
      const c = operands[k]!;
      const share = isSum ? g : g * d;
      if (c.isLeaf) {
        leaves.set(c, (leaves.get(c) ?? 0) + share);
      } else {
        const before = interior.get(c);
        interior.set(c, before === undefined ? share : before + share);
      }
    }
  }
  for (const [leaf, g] of leaves) if (g - g !== 0) throw overflowed(leaf, g);
  return inputs.map((x) => {
    if (x === output) return 1;
    if (x.isLeaf) return leaves.get(x) ?? 0;
    const g = interior.get(x);
    return g === undefined ? 0 : g + 0; // + 0: as backward() stores it
  });
}

/**
 * Gradients whose numbers `compile()` would freeze at the traced point where they change with the
 * inputs, with what to say: number gradients, and derivatives that a rule decided from the data
 * (the branches of relu, abs, max and min, pow's special cases at a base of 0, atan's two forms).
 */
const frozenAtTrace = new WeakMap<Value, string>();

/** @internal Why `compile()` must refuse a graph holding `v`, or null. */
export function frozenAtTraceReason(v: Value): string | null {
  return frozenAtTrace.get(v) ?? null;
}

/** Ops whose Value-level rule returns a number decided from the operands' data. */
const PIECEWISE = new Set<string>(['relu', 'abs', 'max', 'min']);

/** A gradient under construction: a Value, or a number where it does not depend on anything. */
type Adjoint = Value | number;

/** The rules' functions: the engine's ops, each result remembered as made by this `grad` call. */
function ruleFunctions(made: Set<Value>): RuleFunctions<Value> {
  const keep = (v: Value): Value => { made.add(v); return v; };
  const f = OP_FUNCTIONS;
  return {
    add: (a, b) => keep(f.add(a, b)), sub: (a, b) => keep(f.sub(a, b)), mul: (a, b) => keep(f.mul(a, b)),
    div: (a, b) => keep(f.div(a, b)), pow: (a, b) => keep(f.pow(a, b)), neg: (x) => keep(f.neg(x)),
    log: (x) => keep(f.log(x)), sigmoid: (x) => keep(f.sigmoid(x)), sin: (x) => keep(f.sin(x)),
    cos: (x) => keep(f.cos(x)), data: (x) => (typeof x === 'number' ? x : x.data),
  };
}

function gradValues(output: Value, inputs: readonly Value[]): Value[] {
  const order = backwardOrder(output).reverse();
  const made = new Set<Value>();
  const f = ruleFunctions(made);
  const shares = new Map<Value, Adjoint[]>(); // every node's shares of the gradient, in the order passed on
  const done = new Map<Value, Adjoint>(); //     interior nodes' gradients, once complete
  if (order.length > 0) shares.set(output, [1]);

  const total = (list: readonly Adjoint[] | undefined): Adjoint => {
    if (list === undefined || list.length === 0) return 0;
    if (list.length === 1) return list[0]!;
    if (list.every((s) => typeof s === 'number')) return (list as number[]).reduce((s, x) => s + x, 0);
    return keepSum(made, list);
  };
  const times = (g: Adjoint, d: Adjoint): Adjoint | null => {
    if (g === 0 || d === 0) return null; // a constant 0: no share, and no derivative
    if (typeof g === 'number' && typeof d === 'number') return g * d;
    if (g === 1) return d;
    if (d === 1) return g;
    if (g === -1) return f.neg(d as Value);
    if (d === -1) return f.neg(g as Value);
    return f.mul(g, d);
  };

  const decided = new Set<string>(); // the ops whose derivative a rule decided from the data
  // A graph that holds a gradient frozen at the traced point (an earlier grad's decided branch, now a
  // constant in it) passes that on: its derivative can be that constant, with no op left to flag it.
  let inherited = frozenAtTrace.get(output) ?? null;
  for (const v of order) {
    const g = total(shares.get(v));
    shares.delete(v);
    done.set(v, g);
    const operands = v.inputs, local = v.localGradients;
    inherited ??= frozenAtTrace.get(v) ?? null;
    for (const c of operands) inherited ??= frozenAtTrace.get(c) ?? null;
    checkUpToDate(v, operands, local);
    const op = OPS[v.op as Exclude<typeof v.op, ''>];
    // A number operand (no local derivative) reaches the rule as its number.
    const args = operands.map((c, k) => (local[k] === null ? c.data : c));
    if (PIECEWISE.has(v.op)) decided.add(v.op);
    // With a Value exponent, pow's rules pick their special cases at a base of 0 from the data, at
    // any traced point: traced at a = 2 and run at a = 0, the graph would take ln 0.
    if (v.op === 'pow' && args[1] instanceof Value) decided.add('pow with a Value exponent (its special cases at a base of 0)');
    // atan's rule picks one of two forms from |x| against 1: a compiled graph would keep the traced
    // form on the other side (other roundings, and x·x overflowing past 1.3e154 where r·r does not).
    if (v.op === 'atan') decided.add('atan (its form on one side of |x| = 1)');
    for (let k = 0; k < operands.length; k++) {
      const d = local[k];
      if (d === null || d === undefined) continue;
      if (d - d !== 0) throw nonFiniteDerivative(v, k, d);
      let rule: Adjoint;
      try {
        if (op.arity === 'n') rule = 1;
        else if (op.arity === 1) rule = (op as UnaryOp).dValue(operands[0]!, v, f);
        else rule = (k === 0 ? (op as BinaryOp).daValue : (op as BinaryOp).dbValue)(args[0]!, args[1]!, v, f);
      } catch (e) {
        // A step of the rule overflowed where the number did not (tanh′ at |x| > 8.9e307 builds 2x).
        if (!(e instanceof NonFiniteError)) throw e;
        throw new NonFiniteError(
          `grad(): the local derivative of ${describeNode(v)} with respect to ${operandName(v, k)} cannot be built from Values here: ${e.message}`,
          v.op, operands.map((c) => ({ value: c.data, label: c.label })));
      }
      const share = times(g, rule);
      if (share === null) continue;
      const c = operands[k]!;
      const list = shares.get(c);
      if (list === undefined) shares.set(c, [share]); else list.push(share);
    }
  }

  const labelled = new Set<Value>();
  const why = decided.size === 0 ? inherited
    : `derivatives of ${[...decided].join(', ')} that grad(…, { createGraph: true }) decided at the traced point ` +
      '(their branches are numbers in the gradient\'s graph, not ops compile() recomputes)';
  const results = inputs.map((x) => {
    let g: Adjoint;
    if (x === output) g = 1;
    else if (x.isLeaf) g = total(shares.get(x));
    else g = done.get(x) ?? 0;
    // A gradient that depends on nothing: a leaf holding its number (not a constant, which stands
    // for a literal operand and would be drawn without its label).
    if (typeof g === 'number') return new Value(g);
    // A fresh node for each result, so that labelling it renames no node of the forward graph and
    // no other input's gradient: Σ of one term (the same number, derivative 1).
    if (!made.has(g) || labelled.has(g)) g = keepSum(made, [g]);
    labelled.add(g);
    return g;
  });
  if (why !== null) for (const g of results) frozenAtTrace.set(g, why);
  return results;
}

function keepSum(made: Set<Value>, list: readonly Adjoint[]): Value {
  const v = sum(list);
  made.add(v);
  return v;
}

/**
 * Throws `StaleGraphError` unless node `v`'s value and local derivatives, recomputed from its
 * operands' current data, are the ones it stores.
 */
function checkUpToDate(v: Value, operands: readonly Value[], local: readonly (number | null)[]): void {
  const x = operands.map((c) => c.data);
  const op: OpDefinition = OPS[v.op as Exclude<typeof v.op, ''>];
  let y: number, d: (number | null)[];
  if (op.arity === 'n') {
    y = 0;
    for (const xi of x) y += xi;
    d = local.slice();
  } else if (op.arity === 1) {
    const un = op as UnaryOp;
    const t = un.temp === undefined ? 0 : un.temp(x[0]!);
    y = un.value(x[0]!, t);
    d = [un.d(x[0]!, y, t)];
  } else {
    const bin = op as BinaryOp;
    y = bin.value(x[0]!, x[1]!);
    d = [local[0] === null ? null : bin.da(x[0]!, x[1]!, y), local[1] === null ? null : bin.db(x[0]!, x[1]!, y)];
  }
  const same = (p: number | null | undefined, q: number | null | undefined): boolean => p === q || (p !== p && q !== q);
  if (same(y, v.data) && d.every((dk, k) => same(dk, local[k]))) return;
  const names = operands.length === 1 ? ['x'] : operands.length === 2 ? ['a', 'b'] : operands.map((_, k) => `x${k}`);
  const list = operands.map((c, k) => formatOperand(names[k]!, { value: c.data, label: c.label })).join(', ');
  throw new StaleGraphError(
    `grad(): the graph is out of date: ${v.op}(${list}) now gives ${y} (local derivatives ${d.map(String).join(', ')}), ` +
    `but the node${v.label ? ` ${JSON.stringify(v.label)}` : ''} was made as ${v.data} (local derivatives ${local.map(String).join(', ')}). ` +
    'Some data changed after the graph was built (an optimiser step?); run the forward pass again on the current data ' +
    'before calling grad with createGraph.');
}

/** How messages name a node's operands: x; a and b; x0, x1, … */
function operandName(v: Value, slot: number): string {
  const n = v.inputs.length;
  return n === 1 ? 'x' : n === 2 ? 'ab'[slot]! : `x${slot}`;
}

/** `mul(a=2 ("w"), b=3)`. */
function describeNode(v: Value): string {
  return `${v.op}(${v.inputs.map((x, k) => formatOperand(operandName(v, k), { value: x.data, label: x.label })).join(', ')})`;
}

/** The error `backward()` gives for a non-finite local derivative, worded for grad. */
function nonFiniteDerivative(v: Value, slot: number, d: number): NonFiniteError {
  const info = v.inputs.map((x) => ({ value: x.data, label: x.label }));
  return new NonFiniteError(
    `grad(): the local derivative of ${describeNode(v)} with respect to ${operandName(v, slot)} is ${d}, not a finite number`,
    v.op, info);
}

function overflowed(leaf: Value, g: number): NonFiniteError {
  const info = { value: leaf.data, label: leaf.label };
  return new NonFiniteError(`grad(): the gradient of ${formatOperand('leaf', info)} overflowed to ${g}`, leaf.op, [info]);
}
