/**
 * The engine's errors and the small checks behind them. The checks are tiny and the errors are built
 * out of line, so that V8 inlines the checks into every op (its inlining budget is what limits the
 * speed of making nodes).
 */
import { describeUnknown } from './describe.js';
import type { OpName } from './ops.js';

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

/** An operand as errors describe it. */
export interface OperandInfo {
  readonly value: number;
  readonly label: string;
}

/** `x` if it is a finite number, else the error that says what it is. */
export function checkNumber(x: unknown, what: string): number {
  if (typeof x === 'number' && x - x === 0) return x;
  throw badNumber(x, what);
}

export function badNumber(x: unknown, what: string): Error {
  if (typeof x !== 'number') return new TypeError(`${what} must be a number, got ${describeUnknown(x)}`);
  return new RangeError(`${what} must be finite, got ${x}`);
}

export function formatOperand(name: string, o: OperandInfo): string {
  return `${name}=${o.value}${o.label ? ` (${JSON.stringify(o.label)})` : ''}`;
}

/** `op(a=…, b=…) is <out>, not a finite number`. */
export function nonFinite(op: OpName, info: readonly OperandInfo[], out: number): NonFiniteError {
  const names = info.length === 1 ? ['x'] : ['a', 'b'];
  const list = info.map((o, k) => formatOperand(names[k] ?? `x${k}`, o)).join(', ');
  return new NonFiniteError(`${op}(${list}) is ${out}, not a finite number`, op, info);
}

/**
 * Thrown for a Value made inside `scope(fn)` used where it cannot be: after its scope has ended, or by
 * a tool that needs an ordinary Value; and for an operand a scope cannot take.
 */
export class ScopeError extends Error {
  override readonly name = 'ScopeError';
}
