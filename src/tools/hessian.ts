/**
 * Second derivatives of a function of Values: the Hessian matrix, and Hessian-vector products.
 *
 * Both differentiate the gradient: `grad(f, xs, { createGraph: true })` builds ∂f/∂xᵢ as Values,
 * and a reverse pass over one of those gives a row of the Hessian (∂²f/∂xᵢ∂xⱼ for every j). So a
 * Hessian costs one pass per input, and a Hessian-vector product H·v costs one: it differentiates
 * the single Value Σᵢ vᵢ·∂f/∂xᵢ.
 *
 * The inputs take the forms `gradcheck` takes: a list of numbers (named x0, x1, …; `f` receives a
 * list of leaves) or a record of named numbers (`f` receives a record of leaves).
 */
import { Value, sum } from '../engine/value.js';
import { grad, gradNumbers } from '../engine/grad.js';
import { describeUnknown } from '../engine/describe.js';
import type { NamedValueFunction, ValueFunction } from './gradcheck.js';

/** A Hessian and what it was computed with. */
export interface HessianResult {
  /** The inputs' names, in the order of the matrix's rows and columns. */
  readonly names: readonly string[];
  /** f at the point. */
  readonly value: number;
  /** ∂f/∂xᵢ (as `backward()` computes it). */
  readonly gradient: readonly number[];
  /** matrix[i][j] = ∂²f/∂xᵢ∂xⱼ: symmetric to rounding (each row is its own reverse pass). */
  readonly matrix: readonly (readonly number[])[];
}

/** A Hessian-vector product and what it was computed with. */
export interface HvpResult {
  readonly names: readonly string[];
  readonly value: number;
  readonly gradient: readonly number[];
  /** (H·v)ᵢ = Σⱼ ∂²f/∂xᵢ∂xⱼ · vⱼ. */
  readonly product: readonly number[];
}

/** The Hessian of `f` at `at`. */
export function hessian(f: ValueFunction, at: readonly number[]): HessianResult;
export function hessian<K extends string>(f: NamedValueFunction<K>, at: Readonly<Record<K, number>>): HessianResult;
export function hessian(
  f: ValueFunction | NamedValueFunction<string>, at: readonly number[] | Readonly<Record<string, number>>,
): HessianResult {
  const { names, leaves, out } = evaluate('hessian', f, at);
  return { names, ...hessianOf(out, leaves) };
}

/**
 * The Hessian of a graph already built: ∂²output/∂xᵢ∂xⱼ for the given inputs (leaves or interior
 * nodes), with the output's value and gradient.
 */
export function hessianOf(output: Value, inputs: readonly Value[]): Omit<HessianResult, 'names'> {
  const gradients = grad(output, inputs, { createGraph: true });
  const matrix = gradients.map((g) => gradNumbers(g, inputs));
  return { value: output.data, gradient: gradNumbers(output, inputs), matrix };
}

/** H·v for the Hessian H of `f` at `at`; `v` in the same form as `at` (a list, or a record by name). */
export function hvp(f: ValueFunction, at: readonly number[], v: readonly number[]): HvpResult;
export function hvp<K extends string>(
  f: NamedValueFunction<K>, at: Readonly<Record<K, number>>, v: Readonly<Record<K, number>>,
): HvpResult;
export function hvp(
  f: ValueFunction | NamedValueFunction<string>, at: readonly number[] | Readonly<Record<string, number>>,
  v: readonly number[] | Readonly<Record<string, number>>,
): HvpResult {
  const { names, leaves, out } = evaluate('hvp', f, at);
  const direction = vectorOf(v, names, Array.isArray(at));
  const gradients = grad(out, leaves, { createGraph: true });
  const product = gradNumbers(sum(gradients.map((g, i) => g.mul(direction[i]!))), leaves);
  return { names, value: out.data, gradient: gradNumbers(out, leaves), product };
}

function evaluate(
  what: string, f: ValueFunction | NamedValueFunction<string>, at: readonly number[] | Readonly<Record<string, number>>,
): { names: string[]; leaves: Value[]; out: Value } {
  if (typeof f !== 'function') throw new TypeError(`${what} needs a function of Values as its first argument`);
  let names: string[], values: number[], call: (leaves: Value[]) => unknown;
  if (Array.isArray(at)) {
    values = (at as readonly number[]).slice();
    names = values.map((_, i) => `x${i}`);
    call = (leaves) => (f as ValueFunction)(leaves);
  } else if (typeof at === 'object' && at !== null) {
    const record = at as Readonly<Record<string, number>>;
    names = Object.keys(record);
    values = names.map((n) => record[n]!);
    call = (leaves) => (f as NamedValueFunction<string>)(Object.fromEntries(names.map((n, i) => [n, leaves[i]!])));
  } else {
    throw new TypeError(`${what} needs the point as an array of numbers or a record of named numbers, got ${describeUnknown(at)}`);
  }
  if (names.length === 0) throw new RangeError(`${what} needs at least one input`);
  values.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new TypeError(`${what}: input ${names[i]} must be a finite number, got ${describeUnknown(x)}`);
  });
  const leaves = values.map((x, i) => new Value(x, names[i]));
  const out = call(leaves);
  if (!(out instanceof Value)) throw new TypeError(`${what}: f must return a Value, got ${describeUnknown(out)}`);
  return { names, leaves, out };
}

function vectorOf(v: readonly number[] | Readonly<Record<string, number>>, names: readonly string[], asList: boolean): number[] {
  let list: unknown[];
  if (asList) {
    if (!Array.isArray(v)) throw new TypeError(`hvp: v must be an array of numbers like the point, got ${describeUnknown(v)}`);
    if (v.length !== names.length) throw new RangeError(`hvp: v has ${v.length} entries for ${names.length} inputs`);
    list = v.slice();
  } else {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`hvp: v must be a record of named numbers like the point, got ${describeUnknown(v)}`);
    const record = v as Readonly<Record<string, number>>;
    for (const key of Object.keys(record)) if (!names.includes(key)) throw new RangeError(`hvp: v names ${JSON.stringify(key)}, which is not an input`);
    list = names.map((n) => {
      if (!Object.hasOwn(record, n)) throw new RangeError(`hvp: v has no entry for input ${JSON.stringify(n)}`);
      return record[n];
    });
  }
  return list.map((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new TypeError(`hvp: v's entry for ${names[i]} must be a finite number, got ${describeUnknown(x)}`);
    return x;
  });
}
