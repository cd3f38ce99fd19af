/**
 * Second-order forward mode with hyper-dual numbers: an oracle for second derivatives that shares
 * no code with the engine (nor with its op table's rules).
 *
 * A hyper-dual number is x + x₁ε₁ + x₂ε₂ + x₁₂ε₁ε₂ with ε₁² = ε₂² = 0 and ε₁ε₂ ≠ 0. Then
 * f(x + bε₁ + cε₂ + dε₁ε₂) = f(x) + f′(x)·b ε₁ + f′(x)·c ε₂ + (f′(x)·d + f″(x)·b·c) ε₁ε₂, with no
 * truncation error: seeding input i in ε₁ and input j in ε₂ gives ∂²f/∂xᵢ∂xⱼ exactly (to rounding)
 * in the ε₁ε₂ part. Each op below needs its first and second derivatives, written from the math.
 * The conventions at kinks are the engine's (relu′(0) = abs′(0) = 0, a tie of max or min gives
 * each side ½), with zero curvature for relu, abs, max and min.
 */
import { NonFiniteError } from '../engine/errors.js';

/** A second operand: another HyperDual, or a plain number (a constant). */
export type HyperDualOperand = HyperDual | number;

/** value + e1·ε₁ + e2·ε₂ + e12·ε₁ε₂. */
export class HyperDual {
  constructor(
    readonly value: number,
    readonly e1: number = 0,
    readonly e2: number = 0,
    readonly e12: number = 0,
  ) {}

  static constant(x: number): HyperDual {
    return new HyperDual(x);
  }

  static sum(terms: Iterable<HyperDualOperand>): HyperDual {
    let v = 0, a = 0, b = 0, c = 0;
    for (const t of terms) {
      const h = lift(t);
      v += h.value; a += h.e1; b += h.e2; c += h.e12;
    }
    return checked('sum', new HyperDual(v, a, b, c));
  }

  add(other: HyperDualOperand): HyperDual { return binary('+', this, other, (a, b) => [a + b, 1, 1, 0, 0, 0]); }
  sub(other: HyperDualOperand): HyperDual { return binary('-', this, other, (a, b) => [a - b, 1, -1, 0, 0, 0]); }
  /** ∂/∂a = b, ∂/∂b = a, ∂²/∂a∂b = 1. */
  mul(other: HyperDualOperand): HyperDual { return binary('*', this, other, (a, b) => [a * b, b, a, 0, 1, 0]); }
  /** a/b: ∂/∂a = 1/b, ∂/∂b = −a/b², ∂²/∂a∂b = −1/b², ∂²/∂b² = 2a/b³. */
  div(other: HyperDualOperand): HyperDual {
    return binary('/', this, other, (a, b) => [a / b, 1 / b, -a / (b * b), 0, -1 / (b * b), (2 * a) / (b * b * b)]);
  }
  /**
   * aᵇ. A number exponent p: p·aᵖ⁻¹ and p(p − 1)·aᵖ⁻² (0 for p = 0, and the second for p = 1).
   * A HyperDual exponent needs a > 0: ∂/∂b = aᵇ ln a, ∂²/∂a∂b = aᵇ⁻¹(1 + b ln a), ∂²/∂b² = aᵇ ln²a.
   */
  pow(exponent: HyperDualOperand): HyperDual {
    if (typeof exponent === 'number') {
      const p = exponent;
      return unary('pow', this, (a) => [
        Math.pow(a, p), p === 0 ? 0 : p * Math.pow(a, p - 1), p === 0 || p === 1 ? 0 : p * (p - 1) * Math.pow(a, p - 2),
      ]);
    }
    if (!(this.value > 0)) {
      throw new NonFiniteError(`pow(a=${this.value}, b=${exponent.value}): a HyperDual exponent needs a base > 0`, 'pow', []);
    }
    return binary('pow', this, exponent, (a, b) => {
      const y = Math.pow(a, b), l = Math.log(a);
      return [y, b === 0 ? 0 : b * Math.pow(a, b - 1), y * l, b * (b - 1) * Math.pow(a, b - 2), Math.pow(a, b - 1) * (1 + b * l), y * l * l];
    });
  }
  max(other: HyperDualOperand): HyperDual {
    return binary('max', this, other, (a, b) => { const w = a > b ? 1 : a < b ? 0 : 0.5; return [Math.max(a, b), w, 1 - w, 0, 0, 0]; });
  }
  min(other: HyperDualOperand): HyperDual {
    return binary('min', this, other, (a, b) => { const w = a < b ? 1 : a > b ? 0 : 0.5; return [Math.min(a, b), w, 1 - w, 0, 0, 0]; });
  }

  neg(): HyperDual { return unary('neg', this, (x) => [-x, -1, 0]); }
  exp(): HyperDual { return unary('exp', this, (x) => { const e = Math.exp(x); return [e, e, e]; }); }
  log(): HyperDual { return unary('log', this, (x) => [Math.log(x), 1 / x, -1 / (x * x)]); }
  /** tanh′ = sech²x, tanh″ = −2·tanh x·sech²x. */
  tanh(): HyperDual {
    return unary('tanh', this, (x) => { const t = Math.tanh(x), c = Math.cosh(x), s = 1 / (c * c); return [t, s, -2 * t * s]; });
  }
  /** σ′ = σ(x)σ(−x), σ″ = σ′·(σ(−x) − σ(x)). */
  sigmoid(): HyperDual {
    return unary('sigmoid', this, (x) => { const p = logistic(x), q = logistic(-x); return [p, p * q, p * q * (q - p)]; });
  }
  relu(): HyperDual { return unary('relu', this, (x) => [x > 0 ? x : 0, x > 0 ? 1 : 0, 0]); }
  /** √x: 1/(2√x), −1/(4x√x). */
  sqrt(): HyperDual { return unary('sqrt', this, (x) => { const r = Math.sqrt(x); return [r, 1 / (2 * r), -1 / (4 * x * r)]; }); }
  abs(): HyperDual { return unary('abs', this, (x) => [Math.abs(x), x > 0 ? 1 : x < 0 ? -1 : 0, 0]); }
  /** softplus′ = σ(x), softplus″ = σ(x)σ(−x). */
  softplus(): HyperDual {
    return unary('softplus', this, (x) => [x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)), logistic(x), logistic(x) * logistic(-x)]);
  }
  /** ln σ(x): σ(−x), −σ(x)σ(−x). */
  logsigmoid(): HyperDual {
    return unary('logsigmoid', this, (x) => [
      x < 0 ? x - Math.log1p(Math.exp(x)) : -Math.log1p(Math.exp(-x)), logistic(-x), -logistic(x) * logistic(-x),
    ]);
  }
  sin(): HyperDual { return unary('sin', this, (x) => [Math.sin(x), Math.cos(x), -Math.sin(x)]); }
  cos(): HyperDual { return unary('cos', this, (x) => [Math.cos(x), -Math.sin(x), -Math.cos(x)]); }
  /** tan′ = sec²x, tan″ = 2 tan x sec²x. */
  tan(): HyperDual {
    return unary('tan', this, (x) => { const c = Math.cos(x), s = 1 / (c * c), t = Math.tan(x); return [t, s, 2 * t * s]; });
  }
  /** atan′ = 1/(1 + x²), atan″ = −2x/(1 + x²)². */
  atan(): HyperDual {
    return unary('atan', this, (x) => { const q = 1 / (1 + x * x); return [Math.atan(x), q, -2 * x * q * q]; });
  }

  toString(): string {
    return `HyperDual(${this.value}, ε₁ ${this.e1}, ε₂ ${this.e2}, ε₁ε₂ ${this.e12})`;
  }
}

function logistic(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function lift(x: HyperDualOperand): HyperDual {
  return x instanceof HyperDual ? x : new HyperDual(x);
}

function checked(op: string, h: HyperDual): HyperDual {
  if (![h.value, h.e1, h.e2, h.e12].every(Number.isFinite)) {
    throw new NonFiniteError(`${op} gave ${h.toString()}, not finite`, '', []);
  }
  return h;
}

/** f(x) from [f, f′, f″] at x. */
function unary(op: string, x: HyperDual, f: (x: number) => [number, number, number]): HyperDual {
  const [y, d, dd] = f(x.value);
  return checked(op, new HyperDual(y, d * x.e1, d * x.e2, d * x.e12 + dd * x.e1 * x.e2));
}

/** f(a, b) from [f, fa, fb, faa, fab, fbb] at (a, b). */
function binary(
  op: string, x: HyperDualOperand, y: HyperDualOperand,
  f: (a: number, b: number) => [number, number, number, number, number, number],
): HyperDual {
  const a = lift(x), b = lift(y);
  const [v, fa, fb, faa, fab, fbb] = f(a.value, b.value);
  // A constant operand's parts are 0: its partials (which may not be finite, as ∂/∂b of aᵇ at a = 0) do not enter.
  const term = (p: number, q: number): number => (q === 0 ? 0 : p * q);
  return checked(op, new HyperDual(
    v,
    term(fa, a.e1) + term(fb, b.e1),
    term(fa, a.e2) + term(fb, b.e2),
    term(fa, a.e12) + term(fb, b.e12) + term(faa, a.e1 * a.e2) + term(fab, a.e1 * b.e2 + a.e2 * b.e1) + term(fbb, b.e1 * b.e2),
  ));
}

/** The Hessian of f at `at` by forward mode: one hyper-dual pass per pair (i, j). */
export function forwardHessian(f: (xs: readonly HyperDual[]) => HyperDual, at: readonly number[]): number[][] {
  return at.map((_, i) => at.map((_, j) => {
    const xs = at.map((x, k) => new HyperDual(x, k === i ? 1 : 0, k === j ? 1 : 0, 0));
    return f(xs).e12;
  }));
}
