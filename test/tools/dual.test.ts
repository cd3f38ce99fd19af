import { describe, expect, it } from 'vitest';
import { Dual, directionalDerivative, forwardDerivative, forwardGradient } from '../../src/tools/dual.js';
import { NonFiniteError, Value } from '../../src/engine/value.js';
import { agrees, EXACT_TOLERANCE } from '../../src/tools/gradcheck.js';
import type { Tolerance } from '../../src/tools/gradcheck.js';

function expectClose(actual: number, expected: number, what: string, tolerance: Tolerance = EXACT_TOLERANCE): void {
  const c = agrees(actual, expected, tolerance);
  expect(c.ok, `${what}: got ${actual}, expected ${expected} (|error| ${c.absError}, allowed ${c.allowed})`).toBe(true);
}

const sigma = (x: number): number => 1 / (1 + Math.exp(-x));

/** Each op's derivative, from the hand formula, at points across its domain. */
const CASES: readonly { name: string; f: (x: Dual) => Dual; value: (x: number) => number; derivative: (x: number) => number; at: number[] }[] = [
  { name: 'x + 3', f: (x) => x.add(3), value: (x) => x + 3, derivative: () => 1, at: [-2, 0.5] },
  { name: 'x + x', f: (x) => x.add(x), value: (x) => 2 * x, derivative: () => 2, at: [1.25] },
  { name: '3 − x', f: (x) => Dual.constant(3).sub(x), value: (x) => 3 - x, derivative: () => -1, at: [0.7] },
  { name: 'x − x²', f: (x) => x.sub(x.mul(x)), value: (x) => x - x * x, derivative: (x) => 1 - 2 * x, at: [-1.5, 2] },
  { name: '5x', f: (x) => x.mul(5), value: (x) => 5 * x, derivative: () => 5, at: [0.3] },
  { name: 'x·x', f: (x) => x.mul(x), value: (x) => x * x, derivative: (x) => 2 * x, at: [-3, 0.25] },
  { name: '1/x', f: (x) => Dual.constant(1).div(x), value: (x) => 1 / x, derivative: (x) => -1 / (x * x), at: [-2, 0.1, 4] },
  { name: 'x/4', f: (x) => x.div(4), value: (x) => x / 4, derivative: () => 0.25, at: [1] },
  { name: 'x/(x+1)', f: (x) => x.div(x.add(1)), value: (x) => x / (x + 1), derivative: (x) => 1 / ((x + 1) * (x + 1)), at: [0.5, 3] },
  { name: 'x³', f: (x) => x.pow(3), value: (x) => x ** 3, derivative: (x) => 3 * x * x, at: [-1.5, 2] },
  { name: 'x^0.5', f: (x) => x.pow(0.5), value: Math.sqrt, derivative: (x) => 0.5 / Math.sqrt(x), at: [0.04, 9] },
  { name: 'x^-2', f: (x) => x.pow(-2), value: (x) => x ** -2, derivative: (x) => -2 * x ** -3, at: [-0.5, 3] },
  { name: 'x^0', f: (x) => x.pow(0), value: () => 1, derivative: () => 0, at: [-2, 0, 5] },
  { name: '2^x', f: (x) => Dual.constant(2).pow(x), value: (x) => 2 ** x, derivative: (x) => 2 ** x * Math.LN2, at: [-1, 3.5] },
  { name: 'x^x', f: (x) => x.pow(x), value: (x) => x ** x, derivative: (x) => x ** x * (Math.log(x) + 1), at: [0.2, 2] },
  { name: '−x', f: (x) => x.neg(), value: (x) => -x, derivative: () => -1, at: [0.9] },
  { name: 'exp', f: (x) => x.exp(), value: Math.exp, derivative: Math.exp, at: [-3, 0, 2.5] },
  { name: 'log', f: (x) => x.log(), value: Math.log, derivative: (x) => 1 / x, at: [0.01, 1, 50] },
  { name: 'tanh', f: (x) => x.tanh(), value: Math.tanh, derivative: (x) => 1 - Math.tanh(x) ** 2, at: [-1.2, 0, 0.4] },
  // In the tail, 1 − tanh² has no digits left; 1/cosh² still does.
  { name: 'tanh (tail)', f: (x) => x.tanh(), value: Math.tanh, derivative: (x) => 1 / Math.cosh(x) ** 2, at: [-25, 30] },
  { name: 'sigmoid', f: (x) => x.sigmoid(), value: sigma, derivative: (x) => sigma(x) * (1 - sigma(x)), at: [-2, 0, 1.5] },
  { name: 'sigmoid (tail)', f: (x) => x.sigmoid(), value: sigma, derivative: (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2, at: [40, 600] },
  { name: 'relu', f: (x) => x.relu(), value: (x) => Math.max(x, 0), derivative: (x) => (x > 0 ? 1 : 0), at: [-1, 0, 2] },
  { name: 'sqrt', f: (x) => x.sqrt(), value: Math.sqrt, derivative: (x) => 1 / (2 * Math.sqrt(x)), at: [0.25, 16] },
  { name: 'abs', f: (x) => x.abs(), value: Math.abs, derivative: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), at: [-2, 0, 0.5] },
  { name: 'softplus', f: (x) => x.softplus(), value: (x) => Math.log(1 + Math.exp(x)), derivative: (x) => 1 / (1 + Math.exp(-x)), at: [-3, 0, 2] },
  { name: 'softplus (large)', f: (x) => x.softplus(), value: (x) => x, derivative: () => 1, at: [800] },
  { name: 'logsigmoid', f: (x) => x.logsigmoid(), value: (x) => -Math.log(1 + Math.exp(-x)), derivative: (x) => 1 / (1 + Math.exp(x)), at: [-2, 0, 3] },
  { name: 'logsigmoid (very negative)', f: (x) => x.logsigmoid(), value: (x) => x, derivative: () => 1, at: [-800] },
  { name: 'sum(x, x², 3, x)', f: (x) => Dual.sum([x, x.mul(x), 3, x]), value: (x) => 2 * x + x * x + 3, derivative: (x) => 2 + 2 * x, at: [-0.5, 2] },
];

describe('Dual: each op against its hand formula', () => {
  for (const c of CASES) {
    it(c.name, () => {
      for (const x of c.at) {
        const { value, derivative } = forwardDerivative(c.f, x);
        expectClose(value, c.value(x), `${c.name} at ${x}`);
        expectClose(derivative, c.derivative(x), `${c.name}′ at ${x}`);
      }
    });
  }

  it('carries the tangent through: (f∘g)′ = f′(g)·g′', () => {
    const x = new Dual(0.3, 2.5);
    const y = x.mul(x).exp(); // e^(x²): derivative 2x·e^(x²), times the tangent 2.5
    expectClose(y.tangent, 2.5 * 2 * 0.3 * Math.exp(0.09), 'tangent of e^(x²)');
    expect(Dual.constant(4).tangent).toBe(0);
    expect(Dual.variable(4).tangent).toBe(1);
    expect(new Dual(4).tangent).toBe(0);
  });

  it('differentiates a Dual exponent with respect to both operands', () => {
    // d(aᵇ) = b·aᵇ⁻¹·da + aᵇ·ln a·db
    const a = new Dual(1.7, 0.4), b = new Dual(-0.6, 1.3);
    const out = a.pow(b);
    expectClose(out.value, 1.7 ** -0.6, 'aᵇ');
    expectClose(out.tangent, -0.6 * 1.7 ** -1.6 * 0.4 + 1.7 ** -0.6 * Math.log(1.7) * 1.3, 'd(aᵇ)');
    // At a = 0 with b > 0, the ln a term's limit is 0.
    expect(new Dual(0, 0).pow(new Dual(2, 1)).tangent).toBe(0);
  });

  it('uses the derivative 0 at the kinks of relu and abs (as the engine)', () => {
    expect(Dual.variable(0).relu().tangent).toBe(0);
    expect(Dual.variable(0).abs().tangent).toBe(0);
  });
});

describe('Dual: whole functions', () => {
  it('directionalDerivative is the gradient dotted with the direction', () => {
    // f = x·y + x²: ∇f = (y + 2x, x); at (3, 4) along (1, 2): 10·1 + 3·2 = 16.
    const r = directionalDerivative(([x, y]) => x!.mul(y!).add(x!.pow(2)), [3, 4], [1, 2]);
    expect(r.value).toBe(21);
    expect(r.derivative).toBe(16);
  });

  it('forwardGradient seeds each input in turn', () => {
    // f = x·y + eᶻ·x: ∇f = (y + eᶻ, x, eᶻ·x).
    const { value, gradient } = forwardGradient(([x, y, z]) => x!.mul(y!).add(z!.exp().mul(x!)), [2, -1, 0.5]);
    expectClose(value, -2 + Math.exp(0.5) * 2, 'value');
    expectClose(gradient[0]!, -1 + Math.exp(0.5), '∂f/∂x');
    expectClose(gradient[1]!, 2, '∂f/∂y');
    expectClose(gradient[2]!, Math.exp(0.5) * 2, '∂f/∂z');
  });
});

/** A function written once per engine: the same math with every op, so the gradients can be compared. */
function everyOpDual([x, y]: readonly Dual[]): Dual {
  const u = x!.mul(y!).tanh();
  const v = x!.pow(2).add(1).sqrt().div(y!.softplus());
  const w = x!.sub(y!).logsigmoid().mul(y!.relu());
  const s = Dual.sum([u, v, w.neg(), x!.abs().pow(1.5), y!.pow(2).add(1).pow(x!), Dual.constant(2).pow(y!), 0.5]);
  return s.add(x!.sigmoid().log()).add(y!.exp().div(3));
}

function everyOpValue([x, y]: readonly Value[]): Value {
  const u = x!.mul(y!).tanh();
  const v = x!.pow(2).add(1).sqrt().div(y!.softplus());
  const w = x!.sub(y!).logsigmoid().mul(y!.relu());
  const s = Value.sum([u, v, w.neg(), x!.abs().pow(1.5), y!.pow(2).add(1).pow(x!), Value.constant(2).pow(y!), 0.5]);
  return s.add(x!.sigmoid().log()).add(y!.exp().div(3));
}

/** The learner's 1-1-1 network's loss over (w1, b1, w2, b2). */
function learnerDual([w1, b1, w2, b2]: readonly Dual[]): Dual {
  const h = w1!.mul(1.5).add(b1!).sigmoid();
  const y = w2!.mul(h).add(b2!).sigmoid();
  return y.sub(0.2).pow(2);
}

function learnerValue([w1, b1, w2, b2]: readonly Value[]): Value {
  const h = w1!.mul(1.5).add(b1!).sigmoid();
  const y = w2!.mul(h).add(b2!).sigmoid();
  return y.sub(0.2).pow(2);
}

/** −log softmax(a)₀ over three logits. */
function crossEntropyDual(z: readonly Dual[]): Dual {
  return Dual.sum(z.map((zi) => zi.exp())).log().sub(z[0]!);
}

function crossEntropyValue(z: readonly Value[]): Value {
  return Value.sum(z.map((zi) => zi.exp())).log().sub(z[0]!);
}

describe('Dual: composite functions against the engine\'s reverse mode', () => {
  const composites = [
    { name: 'every op', dual: everyOpDual, value: everyOpValue, at: [[0.7, 1.3], [-1.1, 0.4], [2, 0.05]] },
    { name: "the learner's loss", dual: learnerDual, value: learnerValue, at: [[0.8, -0.3, -1.2, 0.4], [-2, 1, 3, -0.5]] },
    { name: 'softmax cross-entropy', dual: crossEntropyDual, value: crossEntropyValue, at: [[1, 2, 3], [-4, 0.5, 10]] },
  ];
  for (const c of composites) {
    it(c.name, () => {
      for (const at of c.at) {
        const leaves = at.map((x) => new Value(x));
        const out = c.value(leaves);
        out.backward();
        const forward = forwardGradient(c.dual, at);
        expectClose(forward.value, out.data, `${c.name} value at ${at}`);
        forward.gradient.forEach((g, i) => expectClose(g, leaves[i]!.grad, `${c.name} ∂/∂input ${i} at ${at}`));
      }
    });
  }
});

describe('Dual: bad input and non-finite results', () => {
  it('rejects non-numbers and non-finite numbers by name', () => {
    expect(() => new Dual(NaN)).toThrow(RangeError);
    expect(() => new Dual(NaN)).toThrow(/Dual value must be finite, got NaN/);
    expect(() => new Dual(1, Infinity)).toThrow(/Dual tangent must be finite/);
    expect(() => new Dual('1' as unknown as number)).toThrow(TypeError);
    expect(() => Dual.variable(1).add(NaN)).toThrow(/the operand of \+ must be finite/);
    expect(() => Dual.variable(1).pow(Infinity)).toThrow(/exponent of pow must be finite/);
  });

  it('throws NonFiniteError for a non-finite value, as the engine does', () => {
    expect(() => Dual.variable(0).log()).toThrow(NonFiniteError);
    expect(() => Dual.variable(-1).log()).toThrow(/log\(x=-1\) is NaN, not a finite number/);
    expect(() => Dual.variable(1000).exp()).toThrow(/exp\(x=1000\) is Infinity/);
    expect(() => Dual.variable(1).div(0)).toThrow(/\/\(a=1, b=0\) is Infinity/);
    expect(() => Dual.variable(1).div(Dual.variable(0))).toThrow(NonFiniteError);
    expect(() => Dual.variable(-8).pow(1 / 3)).toThrow(/pow\(a=-8, b=0.3333333333333333\) is NaN/);
    expect(() => Dual.sum([new Dual(1e308), new Dual(1e308)])).toThrow(/sum\(.*\) is Infinity/);
  });

  it('throws NonFiniteError for a non-finite derivative or tangent', () => {
    const e = (() => {
      try {
        Dual.variable(0).sqrt();
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(NonFiniteError);
    expect((e as NonFiniteError).op).toBe('sqrt');
    expect((e as NonFiniteError).message).toMatch(/sqrt\(x=0\) has the derivative Infinity with respect to x/);
    expect(() => new Dual(1e300, 1e300).mul(new Dual(1e3, 1e300))).toThrow(/has the tangent Infinity/);
  });

  it('needs a base ≥ 0 under a Dual exponent (as the engine)', () => {
    expect(() => Dual.constant(-2).pow(Dual.variable(2))).toThrow(/negative base with a Dual exponent/);
    expect(Dual.variable(-2).pow(2).tangent).toBe(-4); // a number exponent is fine
  });

  it('checks what the helpers are given', () => {
    expect(() => directionalDerivative(([x]) => x!, [1, 2], [1])).toThrow(/the direction has 1 entries for 2 inputs/);
    expect(() => forwardGradient((() => 3) as unknown as (xs: readonly Dual[]) => Dual, [1])).toThrow(/f must return a Dual, got number/);
    expect(() => forwardDerivative((x) => x, NaN)).toThrow(/input 0 must be finite/);
  });
});
