/**
 * First-order rounding bounds: how far a computed value can be from the exact value of the same
 * formula, given that every operation rounds its result.
 *
 * A running bound, carried forward through the graph: an operation adds ε·|result| for its own
 * rounding (two for the library functions, none for exact ones such as negation) and passes on
 * |local derivative| × each operand's bound. Summed over every path this is an upper bound of
 * ε·Σ|∂r/∂node|·|node|, the first-order error of r. The gradient's bound is carried the same way
 * through the backward pass written out as a graph: each adjoint is a sum of adjoint × local
 * derivative, with the local derivative built from the op table's template (`y*(1 - y)` for sigmoid),
 * so that its own rounding counts too.
 */
import { Value, topologicalOrder } from '../engine/value.js';
import { OPS, OP_NAMES, type OpDefinition } from '../engine/ops.js';
import { freeVariables, parseExpression, type Expression, type Program } from './expr.js';

/** The gap between 1 and the next double. */
export const MACHINE_EPSILON = Number.EPSILON;

// Exact: the result is one of the operands (up to sign). Correctly rounded: one rounding. The rest
// (exp, log, tanh, sigmoid, pow, …) are library functions or short compositions: two.
const EXACT = new Set<string>(['neg', 'relu', 'abs', 'max', 'min']);
const ONE_ROUNDING = new Set<string>(['+', '-', '*', '/', 'sqrt']);

/** The rounding error op's result adds; for `sum`, `operands` are its terms' magnitudes. */
function ownRounding(op: string, result: number, operands: readonly number[] = []): number {
  if (EXACT.has(op)) return 0;
  if (ONE_ROUNDING.has(op)) return MACHINE_EPSILON * Math.abs(result);
  if (op === 'sum') {
    // A running sum of n terms rounds n − 1 times, each at most ε × the partial sum.
    let total = 0;
    for (const x of operands) total += Math.abs(x);
    return MACHINE_EPSILON * Math.max(0, operands.length - 1) * total;
  }
  return 2 * MACHINE_EPSILON * Math.abs(result);
}

const DEFINITIONS = OPS as Readonly<Record<string, OpDefinition>>;
const BY_CALL = new Map<string, string>();
const BY_OPERATOR = new Map<string, string>();
for (const name of OP_NAMES) {
  const d = DEFINITIONS[name]!;
  if (d.call !== null) BY_CALL.set(d.call, name);
  if (d.arity === 2 && d.operator !== null) BY_OPERATOR.set(d.operator, name);
}

/** A value with its rounding bound. */
interface Bounded {
  readonly v: number;
  readonly e: number;
}

/**
 * A template evaluated with the op table's own functions (the engine's arithmetic, without making
 * nodes), carrying bounds; null where it is not finite.
 */
function evaluateBounded(x: Expression, env: (name: string) => Bounded): Bounded | null {
  switch (x.kind) {
    case 'number': return { v: x.value, e: 0 };
    case 'identifier': return env(x.name);
    case 'unary': {
      const a = evaluateBounded(x.operand, env);
      return a === null ? null : { v: -a.v, e: a.e };
    }
    case 'binary': case 'call': {
      const op = x.kind === 'binary' ? BY_OPERATOR.get(x.operator) : BY_CALL.get(x.callee);
      const args: Bounded[] = [];
      for (const arg of x.kind === 'binary' ? [x.left, x.right] : x.args) {
        const a = evaluateBounded(arg, env);
        if (a === null) return null;
        args.push(a);
      }
      const d = op === undefined ? undefined : DEFINITIONS[op];
      if (d === undefined) return null;
      let v: number, e: number;
      if (d.arity === 1) {
        const a = args[0]!;
        const t = d.temp ? d.temp(a.v) : 0;
        v = d.value(a.v, t);
        e = ownRounding(op!, v) + Math.abs(d.d(a.v, v, t)) * a.e;
      } else if (d.arity === 2) {
        const [a, b] = args as [Bounded, Bounded];
        v = d.value(a.v, b.v);
        e = ownRounding(op!, v) + Math.abs(d.da(a.v, b.v, v)) * a.e + Math.abs(d.db(a.v, b.v, v)) * b.e;
      } else {
        v = args.reduce((acc, a) => acc + a.v, 0);
        e = ownRounding(op!, v, args.map((a) => a.v)) + args.reduce((acc, a) => acc + a.e, 0);
      }
      return Number.isFinite(v) && Number.isFinite(e) ? { v, e } : null;
    }
  }
}

/**
 * The op's local derivative with respect to operand `k` as expression-language source (operands
 * `x`, or `a` and `b`; the result `y`), or null for a piecewise op (its derivative is a constant on
 * each branch). The n-ary sum's one template serves every operand.
 */
export function localDerivativeTemplate(op: string, k: number): string | null {
  const spec = (OPS as Readonly<Record<string, { readonly templates: readonly (string | null)[] } | undefined>>)[op];
  if (!spec) throw new RangeError(`no op-table entry for '${op}'`);
  const list = spec.templates;
  if (list.length === 0) return null;
  return list[Math.min(k, list.length - 1)] ?? null;
}

/** True for an op whose local derivatives are piecewise constants (relu, abs, max, min). */
export function isPiecewise(op: string): boolean {
  if (op === '') return false;
  const spec = (OPS as Readonly<Record<string, { readonly templates: readonly (string | null)[] } | undefined>>)[op];
  return spec !== undefined && spec.templates.some((t) => t === null);
}

interface ParsedTemplate {
  readonly program: Program;
  readonly free: readonly string[];
}

const templates = new Map<string, ParsedTemplate | null>();

/** The parsed template for (op, k), cached; null for a piecewise op. */
export function parsedTemplate(op: string, k: number): ParsedTemplate | null {
  const key = `${op}\u0000${k}`;
  let t = templates.get(key);
  if (t === undefined) {
    const text = localDerivativeTemplate(op, k);
    if (text === null) {
      t = null;
    } else {
      const program = parseExpression(text);
      t = { program, free: freeVariables(program) };
    }
    templates.set(key, t);
  }
  return t;
}

/** Rounding bounds of Values, memoised: a node's bound is computed once, from its operands'. */
export class RoundingBounds {
  private readonly memo = new Map<Value, number>();

  /** Gives a value its bound from elsewhere (a leaf standing for a value computed in another graph). */
  set(v: Value, bound: number): void {
    this.memo.set(v, bound);
  }

  has(v: Value): boolean {
    return this.memo.has(v);
  }

  /** The first-order bound of `v`'s rounding error; leaves not `set` are exact. */
  of(root: Value): number {
    const memo = this.memo;
    const known = memo.get(root);
    if (known !== undefined) return known;
    // Iterative post-order, so that a deep graph cannot overflow the stack.
    const stack: Value[] = [root];
    while (stack.length > 0) {
      const v = stack[stack.length - 1]!;
      if (memo.has(v)) { stack.pop(); continue; }
      if (v.isLeaf) { memo.set(v, 0); stack.pop(); continue; }
      const inputs = v.inputs;
      let ready = true;
      for (const x of inputs) {
        if (!x.isConstant && !memo.has(x)) { stack.push(x); ready = false; }
      }
      if (!ready) continue;
      stack.pop();
      const ds = v.localGradients;
      let e = ownRounding(v.op, v.data, v.op === 'sum' ? inputs.map((x) => x.data) : undefined);
      for (let k = 0; k < inputs.length; k++) {
        const d = ds[k];
        if (d !== null && d !== undefined) e += Math.abs(d) * (memo.get(inputs[k]!) ?? 0);
      }
      memo.set(v, e);
    }
    return memo.get(root)!;
  }

  /**
   * The bound of the local derivative ∂v/∂(operand k), computed from the op's template over v's
   * operands and v itself (so that the operands' own errors count).
   */
  localDerivative(v: Value, inputs: readonly Value[], k: number): number {
    const t = parsedTemplate(v.op, k);
    if (t === null || t.free.length === 0) return 0;
    const out = t.program.output;
    if (out.kind === 'identifier') return this.of(templateBinding(out.name, v, inputs));
    const r = evaluateBounded(out, (name) => {
      const x = templateBinding(name, v, inputs);
      return { v: x.data, e: this.of(x) };
    });
    // Not finite here (pow's y·log a at a = 0, where the engine takes 0): the engine's number is
    // exact in that case.
    return r === null ? 0 : r.e;
  }
}

function templateBinding(name: string, v: Value, inputs: readonly Value[]): Value {
  switch (name) {
    case 'y': return v;
    case 'x': case 'a': return inputs[0]!;
    case 'b': return inputs[1]!;
    default: throw new RangeError(`op template for '${v.op}' names '${name}', which is not x, a, b or y`);
  }
}

/** Each node's adjoint ∂root/∂node as computed by a backward pass, with its rounding bound. */
export interface Adjoint {
  readonly value: number;
  readonly bound: number;
}

/**
 * The backward pass from `root`, carried with rounding bounds: every node of the graph to its
 * adjoint. (The values are this pass's own; the engine's `grad` is the number to report.)
 */
export function adjointBounds(root: Value, forward: RoundingBounds): Map<Value, Adjoint> {
  const order = topologicalOrder(root);
  const adj = new Map<Value, { value: number; bound: number }>();
  adj.set(root, { value: 1, bound: 0 });
  for (let i = order.length - 1; i >= 0; i--) {
    const u = order[i]!;
    if (u.isLeaf) continue;
    const au = adj.get(u);
    if (au === undefined) continue;
    const inputs = u.inputs;
    const ds = u.localGradients;
    for (let k = 0; k < inputs.length; k++) {
      const d = ds[k];
      if (d === null || d === undefined) continue;
      const v = inputs[k]!;
      const c = au.value * d;
      const ec = MACHINE_EPSILON * Math.abs(c) + Math.abs(d) * au.bound + Math.abs(au.value) * forward.localDerivative(u, inputs, k);
      const prev = adj.get(v);
      if (prev === undefined) {
        adj.set(v, { value: c, bound: ec });
      } else {
        prev.value += c;
        prev.bound += ec + MACHINE_EPSILON * Math.abs(prev.value);
      }
    }
  }
  return adj;
}
