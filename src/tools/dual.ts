/**
 * Forward-mode differentiation with dual numbers: a second, independent engine for checking the
 * reverse-mode one to rounding error, without the noise of finite differences.
 *
 * A `Dual` carries a value and a tangent (the derivative along one chosen direction). Each op
 * applies the chain rule at once: tangent(out) = Σ ∂out/∂operand · tangent(operand). The rules
 * below are written from the math and share no code with `Value`; the op set, the conventions at
 * kinks (relu′(0) = abs′(0) = 0) and the domain rules (a non-finite result or derivative throws
 * `NonFiniteError`; a Dual exponent needs a base ≥ 0) are the engine's, so the two agree.
 */
import { NonFiniteError } from '../engine/value.js';
import type { OpName } from '../engine/value.js';

/** A second operand: another Dual, or a plain number (a constant: tangent 0). */
export type DualOperand = Dual | number;

/** A number with a tangent: value + tangent·ε, where ε² = 0. */
export class Dual {
  readonly value: number;
  readonly tangent: number;

  constructor(value: number, tangent: number = 0) {
    this.value = checkNumber(value, 'Dual value');
    this.tangent = checkNumber(tangent, 'Dual tangent');
  }

  /** A constant: tangent 0. */
  static constant(x: number): Dual {
    return new Dual(x, 0);
  }

  /** The variable differentiated with respect to: tangent 1. */
  static variable(x: number): Dual {
    return new Dual(x, 1);
  }

  /** Σ terms (numbers are constants). */
  static sum(terms: Iterable<DualOperand>): Dual {
    let value = 0, tangent = 0;
    const seen: number[] = [];
    for (const term of terms) {
      const t = operand(term, 'sum');
      value += t.value;
      tangent += t.tangent;
      seen.push(t.value);
    }
    if (!Number.isFinite(value)) throw nonFinite('sum', seen, `is ${value}`);
    if (!Number.isFinite(tangent)) throw nonFinite('sum', seen, `has the tangent ${tangent}`);
    return new Dual(value, tangent);
  }

  add(other: DualOperand): Dual {
    const b = operand(other, '+');
    return result('+', [this, b], this.value + b.value, this.tangent + b.tangent);
  }

  sub(other: DualOperand): Dual {
    const b = operand(other, '-');
    return result('-', [this, b], this.value - b.value, this.tangent - b.tangent);
  }

  /** (a·b)′ = a′·b + a·b′ */
  mul(other: DualOperand): Dual {
    const b = operand(other, '*');
    return result('*', [this, b], this.value * b.value, this.tangent * b.value + this.value * b.tangent);
  }

  /** (a/b)′ = (a′ − (a/b)·b′)/b */
  div(other: DualOperand): Dual {
    const b = operand(other, '/');
    const q = this.value / b.value;
    if (!Number.isFinite(q)) throw nonFinite('/', [this.value, b.value], `is ${q}`);
    checkDerivative('/', [this, b], 1 / b.value, 'a');
    if (typeof other !== 'number') checkDerivative('/', [this, b], -q / b.value, 'b');
    return result('/', [this, b], q, (this.tangent - q * b.tangent) / b.value);
  }

  /**
   * aᵖ with a number exponent: (aᵖ)′ = p·aᵖ⁻¹·a′. With a Dual exponent b, also + aᵇ·ln a·b′, which
   * needs a ≥ 0 (at a = 0 with b > 0 the term's limit is 0).
   */
  pow(exponent: DualOperand): Dual {
    const a = this.value;
    if (typeof exponent === 'number') {
      const p = checkNumber(exponent, 'the exponent of pow');
      const out = Math.pow(a, p);
      if (!Number.isFinite(out)) throw nonFinite('pow', [a, p], `is ${out}`);
      const da = p === 0 ? 0 : p * Math.pow(a, p - 1);
      checkDerivative('pow', [this, p], da, 'a');
      return result('pow', [this, p], out, da * this.tangent);
    }
    const b = operand(exponent, 'pow');
    if (a < 0) {
      throw new NonFiniteError(
        `pow(a=${a}, b=${b.value}): a negative base with a Dual exponent has no real derivative with respect to b`,
        'pow', info([a, b.value]));
    }
    const out = Math.pow(a, b.value);
    if (!Number.isFinite(out)) throw nonFinite('pow', [a, b.value], `is ${out}`);
    const da = b.value === 0 ? 0 : b.value * Math.pow(a, b.value - 1);
    const db = a === 0 && b.value > 0 ? 0 : out * Math.log(a);
    checkDerivative('pow', [this, b], da, 'a');
    checkDerivative('pow', [this, b], db, 'b');
    return result('pow', [this, b], out, da * this.tangent + db * b.tangent);
  }

  neg(): Dual {
    return unary('neg', this, -this.value, -1);
  }

  /** (eˣ)′ = eˣ */
  exp(): Dual {
    const e = Math.exp(this.value);
    return unary('exp', this, e, e);
  }

  /** (ln x)′ = 1/x */
  log(): Dual {
    return unary('log', this, Math.log(this.value), 1 / this.value);
  }

  /** tanh′ = sech²x = 4e^(−2|x|)/(1 + e^(−2|x|))², which stays accurate in the tails. */
  tanh(): Dual {
    const x = this.value;
    const e = Math.exp(-2 * Math.abs(x));
    return unary('tanh', this, Math.tanh(x), (4 * e) / ((1 + e) * (1 + e)));
  }

  /** σ′(x) = σ(x)·σ(−x) */
  sigmoid(): Dual {
    const x = this.value;
    return unary('sigmoid', this, logistic(x), logistic(x) * logistic(-x));
  }

  /** relu′ = 1 for x > 0, else 0 (0 at the kink, as the engine). */
  relu(): Dual {
    const x = this.value;
    return unary('relu', this, x > 0 ? x : 0, x > 0 ? 1 : 0);
  }

  /** (√x)′ = 1/(2√x), infinite at 0. */
  sqrt(): Dual {
    const r = Math.sqrt(this.value);
    return unary('sqrt', this, r, 1 / (2 * r));
  }

  /** |x|′ = sign x (0 at the kink, as the engine). */
  abs(): Dual {
    const x = this.value;
    return unary('abs', this, Math.abs(x), Math.sign(x));
  }

  /** softplus(x) = ln(1 + eˣ); softplus′ = σ(x). */
  softplus(): Dual {
    const x = this.value;
    return unary('softplus', this, softplusValue(x), logistic(x));
  }

  /** ln σ(x) = −softplus(−x); its derivative is σ(−x). */
  logsigmoid(): Dual {
    const x = this.value;
    return unary('logsigmoid', this, -softplusValue(-x), logistic(-x));
  }

  /** sin′ = cos */
  sin(): Dual {
    return unary('sin', this, Math.sin(this.value), Math.cos(this.value));
  }

  /** cos′ = −sin */
  cos(): Dual {
    return unary('cos', this, Math.cos(this.value), -Math.sin(this.value));
  }

  /** tan′ = 1/cos²x = sec²x. */
  tan(): Dual {
    const c = Math.cos(this.value);
    return unary('tan', this, Math.tan(this.value), 1 / (c * c));
  }

  /** atan′ = 1/(1 + x²), from 1/x where x² would overflow. */
  atan(): Dual {
    const x = this.value;
    const d = Math.abs(x) <= 1e150 ? 1 / (1 + x * x) : (1 / x) * (1 / x);
    return unary('atan', this, Math.atan(x), d);
  }

  /** max(a, b): the gradient goes to the larger; at a tie, half to each (so max(x, x)′ = 1). */
  max(other: DualOperand): Dual {
    const b = operand(other, 'max');
    const wa = this.value > b.value ? 1 : this.value < b.value ? 0 : 0.5;
    return result('max', [this, b], Math.max(this.value, b.value), wa * this.tangent + (1 - wa) * b.tangent);
  }

  /** min(a, b): the gradient goes to the smaller; at a tie, half to each. */
  min(other: DualOperand): Dual {
    const b = operand(other, 'min');
    const wa = this.value < b.value ? 1 : this.value > b.value ? 0 : 0.5;
    return result('min', [this, b], Math.min(this.value, b.value), wa * this.tangent + (1 - wa) * b.tangent);
  }

  toString(): string {
    return `Dual(value=${this.value}, tangent=${this.tangent})`;
  }
}

/** σ(x) = 1/(1 + e⁻ˣ), from whichever of e^(±x) cannot overflow. */
function logistic(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** ln(1 + eˣ) without overflow: x + ln(1 + e⁻ˣ) for x > 0. */
function softplusValue(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

// ---------------------------------------------------------------------------------------------
// Checks: the same domain as the engine, reported with the same error type.

function checkNumber(x: unknown, what: string): number {
  if (typeof x !== 'number') throw new TypeError(`${what} must be a number, got ${x === null ? 'null' : typeof x}`);
  if (!Number.isFinite(x)) throw new RangeError(`${what} must be finite, got ${x}`);
  return x;
}

function operand(x: DualOperand, op: OpName): Dual {
  if (x instanceof Dual) return x;
  return new Dual(checkNumber(x, `the operand of ${op}`), 0);
}

function info(values: readonly number[]): { value: number; label: string }[] {
  return values.map((value) => ({ value, label: '' }));
}

function describe(op: OpName, values: readonly number[]): string {
  const names = values.length === 1 ? ['x'] : values.length === 2 ? ['a', 'b'] : values.map((_, k) => `x${k}`);
  return `${op}(${values.map((v, k) => `${names[k]}=${v}`).join(', ')})`;
}

function nonFinite(op: OpName, values: readonly number[], what: string): NonFiniteError {
  return new NonFiniteError(`${describe(op, values)} ${what}, not a finite number`, op, info(values));
}

function valuesOf(operands: readonly DualOperand[]): number[] {
  return operands.map((o) => (typeof o === 'number' ? o : o.value));
}

function checkDerivative(op: OpName, operands: readonly DualOperand[], d: number, wrt: string): void {
  if (!Number.isFinite(d)) {
    throw nonFinite(op, valuesOf(operands), `has the derivative ${d} with respect to ${wrt}`);
  }
}

function result(op: OpName, operands: readonly DualOperand[], value: number, tangent: number): Dual {
  if (!Number.isFinite(value)) throw nonFinite(op, valuesOf(operands), `is ${value}`);
  if (!Number.isFinite(tangent)) throw nonFinite(op, valuesOf(operands), `has the tangent ${tangent}`);
  return new Dual(value, tangent);
}

/** out = f(x) with f′(x) = `derivative`: tangent(out) = f′(x)·tangent(x). */
function unary(op: OpName, x: Dual, value: number, derivative: number): Dual {
  if (!Number.isFinite(value)) throw nonFinite(op, [x.value], `is ${value}`);
  checkDerivative(op, [x], derivative, 'x');
  return result(op, [x], value, derivative * x.tangent);
}

// ---------------------------------------------------------------------------------------------
// Derivatives of whole functions.

/** f(at) and its derivative along `direction` (one forward pass). */
export function directionalDerivative(
  f: (xs: readonly Dual[]) => Dual, at: readonly number[], direction: readonly number[],
): { value: number; derivative: number } {
  if (!Array.isArray(at) || !Array.isArray(direction)) throw new TypeError('the point and the direction must be arrays of numbers');
  if (direction.length !== at.length) {
    throw new RangeError(`the direction has ${direction.length} entries for ${at.length} inputs`);
  }
  const out: unknown = f(at.map((x, i) => new Dual(checkNumber(x, `input ${i}`), checkNumber(direction[i], `direction ${i}`))));
  if (!(out instanceof Dual)) throw new TypeError(`f must return a Dual, got ${out === null ? 'null' : typeof out}`);
  return { value: out.value, derivative: out.tangent };
}

/** f(at) and its full gradient, by seeding each input in turn (one forward pass per input). */
export function forwardGradient(f: (xs: readonly Dual[]) => Dual, at: readonly number[]): { value: number; gradient: number[] } {
  if (!Array.isArray(at)) throw new TypeError('the point must be an array of numbers');
  let value = NaN;
  const gradient = at.map((_, i) => {
    const pass = directionalDerivative(f, at, at.map((_, j) => (j === i ? 1 : 0)));
    value = pass.value;
    return pass.derivative;
  });
  if (at.length === 0) value = directionalDerivative(f, at, []).value;
  return { value, gradient };
}

/** f(x) and f′(x) for a function of one variable. */
export function forwardDerivative(f: (x: Dual) => Dual, at: number): { value: number; derivative: number } {
  return directionalDerivative((xs) => f(xs[0]!), [at], [1]);
}
