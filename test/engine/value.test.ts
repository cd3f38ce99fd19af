/**
 * The engine through its public API. Every gradient is checked against an oracle that does not use
 * the engine's backward pass: a hand-written derivative formula, and central differences of the
 * forward value.
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catchError } from '../catch-error.js';
import { centralDifference, expectClose } from '../oracles.js';
import { sanity, sanityPlain } from './micrograd-sanity.js';
import {
  NonFiniteError, OP_NAMES, Value, topologicalOrder, zeroGrad,
  abs, add, div, exp, log, logsigmoid, mul, neg, pow, relu, sigmoid, softplus, sqrt, sub, sum, tanh,
} from '../../src/index.js';
import type { Operand } from '../../src/index.js';
import { Dual, forwardGradient } from '../../src/index.js';
import { setNextSerial } from '../../src/engine/storage.js';
import { ROOT } from '../cli-helpers.js';

// ---------------------------------------------------------------------------------------------
// Oracles and comparisons.

/** |actual − expected| ≤ rel·|expected|: for tiny numbers whose relative precision matters. */
function expectRelative(actual: number, expected: number, rel: number): void {
  if (!(Math.abs(actual - expected) <= rel * Math.abs(expected))) {
    throw new Error(`expected ${actual} to be within relative ${rel} of ${expected}`);
  }
}

/** Value and gradient of a one-operand op at x, through the engine. */
function unaryAt(op: (v: Value) => Value, x: number): { value: number; grad: number } {
  const v = new Value(x);
  const out = op(v);
  out.backward();
  return { value: out.data, grad: v.grad };
}

/** Value and both partial derivatives of a two-Value op at (a, b), through the engine. */
function binaryAt(op: (x: Value, y: Value) => Value, a: number, b: number): { value: number; da: number; db: number } {
  const x = new Value(a), y = new Value(b);
  const out = op(x, y);
  out.backward();
  return { value: out.data, da: x.grad, db: y.grad };
}


// ---------------------------------------------------------------------------------------------
// One-operand ops.

interface UnaryCase {
  name: string;
  op: (v: Value) => Value;
  /** The textbook value, as plain numbers. */
  f: (x: number) => number;
  /** The textbook derivative, as plain numbers. */
  df: (x: number) => number;
  points: number[];
}

const sigmoidPlain = (x: number): number => 1 / (1 + Math.exp(-x));

const unaryCases: UnaryCase[] = [
  { name: 'neg', op: (v) => v.neg(), f: (x) => -x, df: () => -1, points: [-3.5, -1, 0.25, 2, 1e6] },
  { name: 'exp', op: (v) => v.exp(), f: Math.exp, df: Math.exp, points: [-20, -3, -0.5, 0, 1, 2.5, 10] },
  { name: 'log', op: (v) => v.log(), f: Math.log, df: (x) => 1 / x, points: [0.01, 0.1, 0.5, 1, 7, 1e4] },
  {
    name: 'tanh', op: (v) => v.tanh(),
    f: (x) => (Math.exp(2 * x) - 1) / (Math.exp(2 * x) + 1),
    // 1/cosh²x written out: 4/(eˣ + e⁻ˣ)²; exact enough in the tails, unlike 1 − tanh²x.
    df: (x) => 4 / (Math.exp(x) + Math.exp(-x)) ** 2,
    points: [-20, -3, -0.5, 0, 0.5, 1.2, 3, 20],
  },
  {
    name: 'sigmoid', op: (v) => v.sigmoid(), f: sigmoidPlain,
    df: (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2,
    points: [-40, -5, -1, 0, 0.3, 2, 5, 40],
  },
  { name: 'relu', op: (v) => v.relu(), f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0), points: [-2, -0.1, 0.1, 3] },
  { name: 'sqrt', op: (v) => v.sqrt(), f: Math.sqrt, df: (x) => 1 / (2 * Math.sqrt(x)), points: [0.01, 0.25, 2, 9, 1e6] },
  { name: 'abs', op: (v) => v.abs(), f: Math.abs, df: (x) => Math.sign(x), points: [-3, -0.5, 0.5, 4] },
  {
    name: 'softplus', op: (v) => v.softplus(), f: (x) => Math.log(1 + Math.exp(x)), df: sigmoidPlain,
    points: [-30, -3, -0.5, 0, 0.5, 3, 30],
  },
  {
    name: 'logsigmoid', op: (v) => v.logsigmoid(), f: (x) => -Math.log(1 + Math.exp(-x)), df: (x) => 1 / (1 + Math.exp(x)),
    points: [-30, -3, -0.5, 0, 0.5, 3, 30],
  },
];

describe('one-operand ops', () => {
  for (const c of unaryCases) {
    describe(c.name, () => {
      it.each(c.points)(`at x = %s: value and gradient match the formula and central differences`, (x) => {
        const { value, grad } = unaryAt(c.op, x);
        expectClose(value, c.f(x), 1e-12);
        expectClose(grad, c.df(x), 1e-12);
        // Central differences of the engine's own forward value: forward and backward must agree.
        const fd = centralDifference((t) => c.op(new Value(t)).data, x);
        expectClose(grad, fd, 1e-6);
      });

      it('records its op name and a single input', () => {
        const x = new Value(0.7);
        const y = c.op(x);
        expect(y.op).toBe(c.name);
        expect(y.inputs).toHaveLength(1);
        expect(y.inputs[0]).toBe(x);
        expect(y.isLeaf).toBe(false);
        expectClose(y.localGradients[0]!, c.df(0.7), 1e-12);
      });
    });
  }

  it('module functions agree with the methods', () => {
    const fns: [(v: Value) => Value, (v: Value) => Value][] = [
      [neg, (v) => v.neg()], [exp, (v) => v.exp()], [log, (v) => v.log()], [tanh, (v) => v.tanh()],
      [sigmoid, (v) => v.sigmoid()], [relu, (v) => v.relu()], [sqrt, (v) => v.sqrt()], [abs, (v) => v.abs()],
      [softplus, (v) => v.softplus()], [logsigmoid, (v) => v.logsigmoid()],
    ];
    for (const [fn, method] of fns) {
      expect(unaryAt(fn, 0.8)).toEqual(unaryAt(method, 0.8));
    }
  });
});

describe('tails', () => {
  it('sigmoid at ±1000 gives exactly 1 and 0, with gradient exactly 0', () => {
    expect(unaryAt((v) => v.sigmoid(), 1000)).toEqual({ value: 1, grad: 0 });
    expect(unaryAt((v) => v.sigmoid(), -1000)).toEqual({ value: 0, grad: 0 });
  });

  it('tanh at ±1000 gives exactly ±1, with gradient exactly 0', () => {
    expect(unaryAt((v) => v.tanh(), 1000)).toEqual({ value: 1, grad: 0 });
    expect(unaryAt((v) => v.tanh(), -1000)).toEqual({ value: -1, grad: 0 });
  });

  it('softplus at ±1000 is x or 0, with gradient 1 or 0', () => {
    expect(unaryAt((v) => v.softplus(), 1000)).toEqual({ value: 1000, grad: 1 });
    expect(unaryAt((v) => v.softplus(), -1000)).toEqual({ value: 0, grad: 0 });
  });

  it('logsigmoid at ±1000 is 0 or x, with gradient 0 or 1', () => {
    expect(unaryAt((v) => v.logsigmoid(), 1000)).toEqual({ value: 0, grad: 0 });
    expect(unaryAt((v) => v.logsigmoid(), -1000)).toEqual({ value: -1000, grad: 1 });
  });

  it('tiny tail values and gradients keep their relative precision', () => {
    // At |x| = 40 the exact results are about e⁻⁴⁰ ≈ 4.2e-18: a formula like s·(1 − s) gives 0 there.
    const e40 = Math.exp(-40);
    expectRelative(unaryAt((v) => v.sigmoid(), -40).value, e40 / (1 + e40), 1e-14);
    expectRelative(unaryAt((v) => v.sigmoid(), 40).grad, e40 / (1 + e40) ** 2, 1e-14);
    expectRelative(unaryAt((v) => v.sigmoid(), -40).grad, e40 / (1 + e40) ** 2, 1e-14);
    expectRelative(unaryAt((v) => v.tanh(), 20).grad, 4 / (Math.exp(20) + Math.exp(-20)) ** 2, 1e-13);
    expectRelative(unaryAt((v) => v.softplus(), -40).value, Math.log1p(e40), 1e-14);
    expectRelative(unaryAt((v) => v.softplus(), -40).grad, e40 / (1 + e40), 1e-14);
    expectRelative(unaryAt((v) => v.logsigmoid(), 40).value, -Math.log1p(e40), 1e-14);
    expectRelative(unaryAt((v) => v.logsigmoid(), 40).grad, e40 / (1 + e40), 1e-14);
  });

  it('no op gives NaN anywhere in [-1000, 1000] where it is defined', () => {
    const ops: ((v: Value) => Value)[] = [
      (v) => v.sigmoid(), (v) => v.tanh(), (v) => v.softplus(), (v) => v.logsigmoid(), (v) => v.relu(), (v) => v.abs(),
    ];
    for (const op of ops) {
      for (let x = -1000; x <= 1000; x += 12.5) {
        const { value, grad } = unaryAt(op, x);
        expect(Number.isFinite(value) && Number.isFinite(grad)).toBe(true);
      }
    }
  });
});

describe('derivatives at kinks', () => {
  it("relu'(0) = 0 and abs'(0) = 0", () => {
    expect(unaryAt((v) => v.relu(), 0)).toEqual({ value: 0, grad: 0 });
    expect(unaryAt((v) => v.abs(), 0)).toEqual({ value: 0, grad: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Two-operand ops.

interface BinaryCase {
  name: string;
  op: (x: Operand, y: Operand) => Value;
  f: (a: number, b: number) => number;
  dfa: (a: number, b: number) => number;
  dfb: (a: number, b: number) => number;
  points: [number, number][];
}

const binaryCases: BinaryCase[] = [
  { name: '+', op: add, f: (a, b) => a + b, dfa: () => 1, dfb: () => 1, points: [[1.5, -2], [0, 0], [1e6, 3]] },
  { name: '-', op: sub, f: (a, b) => a - b, dfa: () => 1, dfb: () => -1, points: [[1.5, -2], [0, 0], [-7, 3]] },
  { name: '*', op: mul, f: (a, b) => a * b, dfa: (_a, b) => b, dfb: (a) => a, points: [[1.5, -2], [0, 4], [-7, 0.25]] },
  {
    name: '/', op: div, f: (a, b) => a / b, dfa: (_a, b) => 1 / b, dfb: (a, b) => -a / b ** 2,
    points: [[3, -2], [-1.5, 0.25], [0, 5], [10, 7]],
  },
  {
    // A Value exponent needs a positive base: ∂/∂b = aᵇ·ln a.
    name: 'pow', op: pow, f: (a, b) => a ** b, dfa: (a, b) => b * a ** (b - 1), dfb: (a, b) => a ** b * Math.log(a),
    points: [[2, 3], [2.5, 1.7], [0.3, -2.2], [7, 0.5], [1, 4]],
  },
];

describe('two-operand ops', () => {
  for (const c of binaryCases) {
    describe(c.name, () => {
      it.each(c.points)('at (%s, %s): value and both partials match the formula and central differences', (a, b) => {
        const r = binaryAt((x, y) => c.op(x, y), a, b);
        expectClose(r.value, c.f(a, b), 1e-12);
        expectClose(r.da, c.dfa(a, b), 1e-12);
        expectClose(r.db, c.dfb(a, b), 1e-12);
        const fdA = centralDifference((t) => c.op(new Value(t), new Value(b)).data, a);
        const fdB = centralDifference((t) => c.op(new Value(a), new Value(t)).data, b);
        expectClose(r.da, fdA, 1e-6);
        expectClose(r.db, fdB, 1e-6);
      });

      it.each(c.points)('at (%s, %s): a number in either slot acts as a constant', (a, b) => {
        const x = new Value(a);
        const left = c.op(x, b);
        left.backward();
        expectClose(left.data, c.f(a, b), 1e-12);
        expectClose(x.grad, c.dfa(a, b), 1e-12);

        const y = new Value(b);
        const right = c.op(a, y);
        right.backward();
        expectClose(right.data, c.f(a, b), 1e-12);
        expectClose(y.grad, c.dfb(a, b), 1e-12);
      });

      it('the method form equals the function form', () => {
        const methods: Record<string, (x: Value, y: Operand) => Value> = {
          '+': (x, y) => x.add(y), '-': (x, y) => x.sub(y), '*': (x, y) => x.mul(y), '/': (x, y) => x.div(y),
          pow: (x, y) => x.pow(y),
        };
        const [a, b] = c.points[0]!;
        expect(binaryAt(methods[c.name]!, a, b)).toEqual(binaryAt((x, y) => c.op(x, y), a, b));
      });
    });
  }
});

describe('constant-first forms', () => {
  it('sub(3, x) = 3 − x with ∂/∂x = −1', () => {
    const x = new Value(1.25);
    const y = sub(3, x);
    y.backward();
    expect(y.data).toBe(1.75);
    expect(x.grad).toBe(-1);
    expect(y.inputs[0]!.isConstant).toBe(true);
    expect(y.inputs[0]!.data).toBe(3);
    expect(y.inputs[1]).toBe(x);
    expect(y.localGradients).toEqual([null, -1]);
  });

  it('div(3, x) = 3/x with ∂/∂x = −3/x²', () => {
    const x = new Value(-1.5);
    const y = div(3, x);
    y.backward();
    expect(y.data).toBe(-2);
    expectClose(x.grad, -3 / 2.25, 1e-15);
    expectClose(x.grad, centralDifference((t) => 3 / t, -1.5), 1e-7);
  });

  it('pow(2, x) = 2ˣ with ∂/∂x = 2ˣ·ln 2', () => {
    const x = new Value(1.3);
    const y = pow(2, x);
    y.backward();
    expectClose(y.data, 2 ** 1.3, 1e-15);
    expectClose(x.grad, 2 ** 1.3 * Math.LN2, 1e-15);
    expectClose(x.grad, centralDifference((t) => 2 ** t, 1.3), 1e-7);
  });

  it('add(3, x) and mul(3, x) keep the constant first among the inputs', () => {
    const x = new Value(2);
    const s = add(3, x), p = mul(3, x);
    expect(s.data).toBe(5);
    expect(p.data).toBe(6);
    expect(p.inputs.map((v) => v.isConstant)).toEqual([true, false]);
    expect(p.localGradients).toEqual([null, 3]);
  });
});

describe('pow', () => {
  it('∂/∂b of aᵇ is 0 at a = 0, b > 0', () => {
    const r = binaryAt((x, y) => x.pow(y), 0, 2);
    expect(r).toEqual({ value: 0, da: 0, db: 0 });
  });

  it('∂/∂a is 0 when b = 0 (number or Value exponent)', () => {
    const x = new Value(0);
    const y = x.pow(0);
    y.backward();
    expect(y.data).toBe(1);
    expect(x.grad).toBe(0);

    const r = binaryAt((a, b) => a.pow(b), 3, 0);
    expect(r.value).toBe(1);
    expect(r.da).toBe(0);
    expectClose(r.db, Math.log(3), 1e-15);
  });

  it('a negative base with a number exponent works where the power is real', () => {
    const x = new Value(-2);
    const y = x.pow(3);
    y.backward();
    expect(y.data).toBe(-8);
    expect(x.grad).toBe(12);
    const z = new Value(-2);
    const w = z.pow(-2);
    w.backward();
    expect(w.data).toBe(0.25);
    expectClose(z.grad, 0.25, 1e-15); // d/dz z⁻² = −2z⁻³ = 0.25 at z = −2
  });

  it('a negative base with a Value exponent throws NonFiniteError', () => {
    const base = new Value(-2, 'base'), e = new Value(2, 'e');
    const err = catchError(() => base.pow(e));
    expect(err).toBeInstanceOf(NonFiniteError);
    const nf = err as NonFiniteError;
    expect(nf.op).toBe('pow');
    expect(nf.operands).toEqual([{ value: -2, label: 'base' }, { value: 2, label: 'e' }]);
    expect(nf.message).toMatch(/pow/);
    expect(nf.message).toMatch(/-2/);
    expect(nf.message).toMatch(/"base"/);
    // A number base is no different.
    expect(() => pow(-2, e)).toThrow(NonFiniteError);
  });
});

// ---------------------------------------------------------------------------------------------
// Sums and reuse.

describe('Value.sum', () => {
  it('is one node whose inputs are the n operands', () => {
    const xs = [1, 2, 3, 4, 5].map((k) => new Value(k / 2));
    const s = Value.sum(xs);
    expect(s.op).toBe('sum');
    expect(s.inputs).toHaveLength(5);
    s.inputs.forEach((v, k) => expect(v).toBe(xs[k]));
    expect(s.localGradients).toEqual([1, 1, 1, 1, 1]);
    expect(s.data).toBe(7.5);
    expect(topologicalOrder(s)).toHaveLength(6); // five leaves and the sum: no chain of + nodes
    s.backward();
    for (const x of xs) expect(x.grad).toBe(1);
  });

  it('turns numbers into constant leaves, and counts a repeated operand each time', () => {
    const a = new Value(2);
    const s = sum([a, 3, a, a]);
    expect(s.data).toBe(9);
    expect(s.inputs.map((v) => v.isConstant)).toEqual([false, true, false, false]);
    s.backward();
    expect(a.grad).toBe(3);
  });

  it('of an empty list is 0', () => {
    const s = Value.sum([]);
    expect(s.data).toBe(0);
    expect(s.inputs).toEqual([]);
  });

  it('gradients match central differences through a product', () => {
    const xs = [0.5, -1.25, 2];
    const vs = xs.map((x) => new Value(x));
    const y = Value.sum(vs).mul(vs[0]!);
    y.backward();
    const f = (t: number[]): number => (t[0]! + t[1]! + t[2]!) * t[0]!;
    for (let k = 0; k < xs.length; k++) {
      const fd = centralDifference((t) => f(xs.map((x, j) => (j === k ? t : x))), xs[k]!);
      expectClose(vs[k]!.grad, fd, 1e-7);
    }
  });
});

describe('reuse of a node', () => {
  it('b = a + a; c = b + b gives ∂c/∂a = 4', () => {
    const a = new Value(3);
    const b = a.add(a);
    const c = b.add(b);
    c.backward();
    expect(c.data).toBe(12);
    expect(a.grad).toBe(4);
    expect(b.grad).toBe(2);
  });

  it('x·x gives 2x', () => {
    const x = new Value(-1.75);
    const y = x.mul(x);
    y.backward();
    expect(y.data).toBe(3.0625);
    expect(x.grad).toBe(-3.5);
  });
});

// ---------------------------------------------------------------------------------------------
// micrograd's sanity check.

function microgradEngine(): { a: Value; b: Value; c: Value; d: Value; f: Value; g: Value } {
  const a = new Value(-4, 'a'), b = new Value(2, 'b');
  return { a, b, ...sanity(a, b) };
}

describe("micrograd's sanity expression", () => {
  it('value and gradients agree with the plain function and its central differences', () => {
    const { a, b, g } = microgradEngine();
    g.backward();
    // Hand evaluation: c = −2 → −3 → −1; d = −8 + 8 = 0 → 0 → 6; e = −7; f = 49; g = 24.5 + 10/49.
    expect(sanityPlain(-4, 2)).toBe(24.5 + 10 / 49);
    expectClose(g.data, 24.5 + 10 / 49, 1e-14);
    expectClose(g.data, 24.7041, 1e-5);
    const fdA = centralDifference((t) => sanityPlain(t, 2), -4);
    const fdB = centralDifference((t) => sanityPlain(-4, t), 2);
    expectClose(a.grad, fdA, 1e-7);
    expectClose(b.grad, fdB, 1e-7);
    expectClose(a.grad, 138.8338, 1e-6);
    expectClose(b.grad, 645.5773, 1e-6);
  });

  it('gradients also match a hand derivation', () => {
    // c ← c + (c + 1) gives 2(a + b) + 1; c ← c + (1 + c − a) gives 2c + 1 − a, so c = 3a + 4b + 3.
    // d₀ = ab + b³; d₁ = 3d₀ + relu(a+b); d₂ = 4d₁ + relu(b−a).
    // With a + b < 0 < b − a: d = 12(ab + b³) + (b − a), e = c − d.
    const a = -4, b = 2;
    const e = 3 * a + 4 * b + 3 - (12 * (a * b + b ** 3) + (b - a));
    expect(e).toBe(-7);
    const dgde = e - 20 / e ** 3; // g = e²/2 + 10/e²
    const deda = 3 - (12 * b - 1);
    const dedb = 4 - (12 * (a + 3 * b ** 2) + 1);
    const { a: va, b: vb, g } = microgradEngine();
    g.backward();
    expectClose(va.grad, dgde * deda, 1e-12);
    expectClose(vb.grad, dgde * dedb, 1e-12);
  });

  it('a second backward() doubles the leaf gradients exactly, interior ones show the latest pass', () => {
    const { a, b, c, d, f, g } = microgradEngine();
    g.backward();
    const first = { a: a.grad, b: b.grad, c: c.grad, d: d.grad, f: f.grad, g: g.grad };
    g.backward();
    expect(a.grad).toBe(2 * first.a);
    expect(b.grad).toBe(2 * first.b);
    expect(c.grad).toBe(first.c);
    expect(d.grad).toBe(first.d);
    expect(f.grad).toBe(first.f);
    expect(g.grad).toBe(1);
    g.backward();
    expect(a.grad).toBe(3 * first.a);
  });
});

// ---------------------------------------------------------------------------------------------
// Errors.

describe('parts of a graph below a zero gradient', () => {
  // backward() skips what lies below a node whose gradient is exactly 0 when no pass has written
  // that part yet. Whatever it skips must read as if it had been visited: grad 0, leaf sums unchanged,
  // and a non-finite local derivative there still reported.

  it('an interior node reached only through a relu that is off has grad 0, also after an earlier pass wrote it', () => {
    const x = new Value(-1, 'x');
    const w = x.mul(3); //                        −3
    w.mul(2).backward(); //                       writes w.grad = 2 and x.grad = 6
    expect(w.grad).toBe(2);
    const u = w.mul(1); //                        made after that pass, on a node it wrote
    const r = u.relu().add(x); //                 relu(−3) is off: u and w pass on only zeros
    r.backward();
    expect(u.grad).toBe(0);
    expect(w.grad).toBe(0); // not the 2 left by the first pass
    expect(x.grad).toBe(6 + 1);
  });

  it('an interior grad set by hand is cleared by the next pass that reaches it only through zeros', () => {
    const x = new Value(-1, 'x');
    const w = x.mul(3);
    const u = w.mul(1);
    w.grad = 5;
    const r = u.relu().add(x);
    r.backward();
    expect(w.grad).toBe(0);
    expect(x.grad).toBe(1);
  });

  it('gives each leaf and interior node the gradient the hand formula gives, with hinge terms on and off', () => {
    // L = Σᵢ relu(1 − yᵢ·w·xᵢ): ∂L/∂w = Σ over the terms that are on of −yᵢ·xᵢ.
    const xs = [0.5, 3, -2, 2], ys = [1, 1, 1, -1];
    const w = new Value(0.8, 'w');
    const margins = xs.map((xi, i) => mul(w, xi).mul(-ys[i]!).add(1));
    const loss = sum(margins.map((m) => m.relu()));
    loss.backward();
    const expected = xs.reduce((g, xi, i) => (1 - ys[i]! * 0.8 * xi > 0 ? g - ys[i]! * xi : g), 0);
    expect(w.grad).toBe(expected);
    margins.forEach((m) => expect(m.grad).toBe(m.data > 0 ? 1 : 0));
    expect(margins.some((m) => m.data <= 0)).toBe(true); // some terms are off, so some parts were skipped
    expect(margins.some((m) => m.data > 0)).toBe(true);
  });

  it('nothing is skipped in a graph holding nodes made before serials wrapped, so the sums run in the same order', () => {
    // t gets the serial n1 has, as a node made 2³⁰ nodes later would: the pass must notice the
    // collision and fall back to depth-first order, whether or not the relu above t is off. A skipped
    // t would hide it, and x's shares would be added in serial order instead, which differs here in
    // the last bit. The second copy cannot skip (an interior grad set by hand): it is the oracle.
    const grads: number[] = [];
    for (const mayskip of [true, false]) {
      setNextSerial(100);
      const x = new Value(1, 'x');
      const c3 = x.mul(0.4), c2 = x.mul(0.6), c1 = x.mul(0.3), n1 = x.mul(0.6); // n1 at serial 104
      setNextSerial(104); //                                                       the wrap
      const t = x.mul(-1); //                                                      also at 104
      const r = t.mul(1).relu(); //                                                off
      const root = sum([c1, c2, c3, n1, r]);
      if (!mayskip) c1.grad = 0;
      root.backward();
      grads.push(x.grad);
    }
    setNextSerial(0);
    expect(Object.is(grads[0], grads[1])).toBe(true);
  });

  it('a leaf grad set to −0 reads +0 after a pass that skips it, as after one that adds 0 into it', () => {
    const x = new Value(2, 'x');
    x.grad = -0;
    x.mul(-1).relu().add(new Value(1)).backward();
    expect(Object.is(x.grad, 0)).toBe(true);
  });

  it('a non-finite local derivative below a zero gradient is still reported, on the first pass and the second', () => {
    const x = new Value(0, 'x');
    const s = x.sqrt(); //                   ∂/∂x is infinite at 0
    const r = s.add(-1).relu().add(x); //    relu(−1) is off: s gets gradient 0
    expect(() => r.backward()).toThrow(NonFiniteError);
    expect(() => r.backward()).toThrow(NonFiniteError);
    expect(x.grad).toBe(0);
  });

  it('the same for an op on two Values (their common path makes the node on its own)', () => {
    const x = new Value(0, 'x'), e = new Value(0.5, 'e');
    const s = x.pow(e); //                   ∂/∂x = e·x^(e−1) is infinite at 0
    const r = s.add(-1).relu().add(x).add(e); // relu(−1) is off: s gets gradient 0
    expect(() => r.backward()).toThrow('the local derivative of pow(a=0 ("x"), b=0.5 ("e")) with respect to a is Infinity');
    expect(() => r.backward()).toThrow(NonFiniteError);
    expect([x.grad, e.grad]).toEqual([0, 0]);
  });
});

describe('bad numbers', () => {
  it.each([NaN, Infinity, -Infinity])('new Value(%s) throws a RangeError naming it', (x) => {
    expect(() => new Value(x)).toThrow(RangeError);
    expect(() => new Value(x)).toThrow(new RegExp(`Value data.*${String(x)}`));
  });

  it.each<[unknown, RegExp]>([
    ['1', /string "1"/], [null, /null/], [undefined, /undefined/], [{}, /an object/], [new Date(0), /an instance of Date/], [1n, /bigint/],
  ])('new Value(%s) throws a TypeError naming it', (x, described) => {
    expect(() => new Value(x as number)).toThrow(TypeError);
    expect(() => new Value(x as number)).toThrow(described);
  });

  it('the data setter rejects the same inputs and keeps the old value', () => {
    const v = new Value(1.5);
    expect(() => { v.data = NaN; }).toThrow(RangeError);
    expect(() => { v.data = -Infinity; }).toThrow(/-Infinity/);
    expect(() => { v.data = 'x' as unknown as number; }).toThrow(TypeError);
    expect(v.data).toBe(1.5);
    v.data = -2;
    expect(v.data).toBe(-2);
  });

  it('a non-finite or non-number operand is named', () => {
    const x = new Value(1);
    expect(() => x.add(NaN)).toThrow(RangeError);
    expect(() => x.add(NaN)).toThrow(/operand.*NaN/);
    expect(() => x.mul('3' as unknown as number)).toThrow(TypeError);
    expect(() => add(2 as unknown as Value, 3)).toThrow(/at least one Value/);
    expect(() => exp(3 as unknown as Value)).toThrow(TypeError);
  });
});

describe('NonFiniteError', () => {
  const cases: [string, () => Value, string, { value: number; label: string }[], RegExp[]][] = [
    ['log(0)', () => new Value(0, 'z').log(), 'log', [{ value: 0, label: 'z' }], [/log/, /0/, /"z"/, /-Infinity/]],
    ['log(−1)', () => new Value(-1, 'm').log(), 'log', [{ value: -1, label: 'm' }], [/log/, /-1/, /"m"/, /NaN/]],
    [
      'div by 0', () => new Value(1, 'p').div(new Value(0, 'q')), '/',
      [{ value: 1, label: 'p' }, { value: 0, label: 'q' }], [/\//, /1/, /"p"/, /"q"/, /Infinity/],
    ],
    ['div by the number 0', () => new Value(2, 'p').div(0), '/', [{ value: 2, label: 'p' }, { value: 0, label: '' }], [/\//, /"p"/]],
    ['exp(1000)', () => new Value(1000, 'big').exp(), 'exp', [{ value: 1000, label: 'big' }], [/exp/, /1000/, /"big"/]],
    [
      'pow(−8, 1/3)', () => new Value(-8, 'cube').pow(1 / 3), 'pow',
      [{ value: -8, label: 'cube' }, { value: 1 / 3, label: '' }], [/pow/, /-8/, /0\.333/, /"cube"/],
    ],
    ['sqrt(−1)', () => new Value(-1, 's').sqrt(), 'sqrt', [{ value: -1, label: 's' }], [/sqrt/, /-1/, /"s"/]],
  ];

  it.each(cases)('%s throws NonFiniteError naming the op, operands and labels', (_name, make, op, operands, patterns) => {
    const err = catchError(make);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err).toBeInstanceOf(RangeError);
    const nf = err as NonFiniteError;
    expect(nf.name).toBe('NonFiniteError');
    expect(nf.op).toBe(op);
    expect(nf.operands).toEqual(operands);
    for (const p of patterns) expect(nf.message).toMatch(p);
  });

  it('pow(0, 0.5) is fine forward; backward() throws, naming the op', () => {
    const x = new Value(0, 'x');
    const y = x.pow(0.5);
    expect(y.data).toBe(0);
    const err = catchError(() => y.backward());
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as NonFiniteError).op).toBe('pow');
    expect((err as NonFiniteError).message).toMatch(/backward/);
    expect((err as NonFiniteError).message).toMatch(/"x"/);
    expect((err as NonFiniteError).message).toMatch(/Infinity/);
  });

  it('a failed backward() leaves the leaf gradients as they were', () => {
    const w = new Value(3, 'w'), x = new Value(0, 'x');
    w.mul(w).backward(); // w.grad = 6
    expect(w.grad).toBe(6);
    const loss = w.mul(2).add(x.pow(0.5)).add(w);
    expect(() => loss.backward()).toThrow(NonFiniteError);
    expect(w.grad).toBe(6);
    expect(x.grad).toBe(0);
    // The engine still works afterwards.
    w.mul(5).backward();
    expect(w.grad).toBe(11);
  });

  it('a leaf gradient that overflows makes backward() throw, leaving leaf gradients unchanged', () => {
    const x = new Value(1e-300, 'tiny'), w = new Value(2, 'w');
    w.backward();
    expect(w.grad).toBe(1);
    const y = x.mul(1e300).mul(1e300).add(w); // forward values stay finite, ∂y/∂x = 1e600
    expect(Number.isFinite(y.data)).toBe(true);
    const err = catchError(() => y.backward());
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as NonFiniteError).message).toMatch(/"tiny"/);
    expect(x.grad).toBe(0);
    expect(w.grad).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Introspection.

describe('node properties', () => {
  it('a leaf', () => {
    const v = new Value(2.5, 'w');
    expect(v.op).toBe('');
    expect(v.isLeaf).toBe(true);
    expect(v.isConstant).toBe(false);
    expect(v.inputs).toEqual([]);
    expect(v.localGradients).toEqual([]);
    expect(v.label).toBe('w');
    expect(v.grad).toBe(0);
  });

  it('a constant leaf', () => {
    const k = Value.constant(4);
    expect(k.isLeaf).toBe(true);
    expect(k.isConstant).toBe(true);
    expect(k.op).toBe('');
    expect(k.data).toBe(4);
    expect(new Value(4).isConstant).toBe(false);
  });

  it('a binary node lists both Value operands and its local gradients', () => {
    const x = new Value(3), y = new Value(-2);
    const z = x.mul(y);
    expect(z.op).toBe('*');
    expect(z.isLeaf).toBe(false);
    expect(z.isConstant).toBe(false);
    expect(z.inputs).toHaveLength(2);
    expect(z.inputs[0]).toBe(x);
    expect(z.inputs[1]).toBe(y);
    expect(z.localGradients).toEqual([-2, 3]);
  });

  it('a number operand appears as a fresh constant leaf on every read', () => {
    const x = new Value(3);
    const z = x.mul(5);
    const first = z.inputs[1]!, second = z.inputs[1]!;
    expect(first.isConstant).toBe(true);
    expect(first.data).toBe(5);
    expect(first).not.toBe(second);
    expect(z.localGradients).toEqual([5, null]);
  });

  it('local gradients are those at build time', () => {
    const x = new Value(2);
    const z = x.mul(x);
    x.data = 10;
    expect(z.localGradients).toEqual([2, 2]);
    expect(z.data).toBe(4);
  });

  it('labels: "" when unset; settable; must be strings', () => {
    const v = new Value(1);
    expect(v.label).toBe('');
    v.label = 'loss';
    expect(v.label).toBe('loss');
    expect(() => { v.label = 7 as unknown as string; }).toThrow(TypeError);
    expect(v.label).toBe('loss');
    expect(new Value(1).add(1).label).toBe('');
  });

  it('toString shows data, grad and label', () => {
    const v = new Value(2.5, 'w');
    v.mul(3).backward();
    expect(v.toString()).toBe('Value(data=2.5, grad=3, label="w")');
    expect(new Value(-1).toString()).toBe('Value(data=-1, grad=0)');
  });

  it('every node carries an op name from OP_NAMES', () => {
    expect([...OP_NAMES].sort()).toEqual(
      ['+', '-', '*', '/', 'pow', 'neg', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'sum', 'sqrt', 'abs', 'softplus', 'logsigmoid',
        'sin', 'cos', 'tan', 'atan', 'max', 'min'].sort(),
    );
    const x = new Value(0.5), y = new Value(1.5);
    const nodes = [
      x.add(y), x.sub(y), x.mul(y), x.div(y), x.pow(y), x.neg(), x.exp(), x.log(), x.tanh(), x.sigmoid(), x.relu(),
      Value.sum([x, y]), x.sqrt(), x.abs(), x.softplus(), x.logsigmoid(), x.sin(), x.cos(), x.tan(), x.atan(), x.max(y), x.min(y),
    ];
    expect(nodes.map((n) => n.op).sort()).toEqual([...OP_NAMES].sort());
  });
});

describe('zeroGrad', () => {
  it('sets gradients to 0, so the next backward() does not accumulate', () => {
    const a = new Value(2), b = new Value(5);
    const y = a.mul(b);
    y.backward();
    y.backward();
    expect([a.grad, b.grad]).toEqual([10, 4]);
    zeroGrad([a, b]);
    expect([a.grad, b.grad]).toEqual([0, 0]);
    y.backward();
    expect([a.grad, b.grad]).toEqual([5, 2]);
  });
});

describe('topologicalOrder', () => {
  it('lists each reachable node once, inputs before outputs, root last', () => {
    const { g } = microgradEngine();
    const order = topologicalOrder(g);
    const position = new Map(order.map((v, k) => [v, k]));
    expect(position.size).toBe(order.length);
    expect(order[order.length - 1]).toBe(g);
    for (const [v, k] of position) {
      for (const u of v.inputs) {
        const j = position.get(u);
        if (j === undefined) {
          // Only an inline number operand is not a node of the graph.
          expect(u.isConstant).toBe(true);
        } else {
          expect(j).toBeLessThan(k);
        }
      }
    }
  });

  it('finds exactly the nodes an independent search over inputs finds', () => {
    const { g } = microgradEngine();
    const seen = new Set<Value>();
    const todo: Value[] = [g];
    while (todo.length > 0) {
      const v = todo.pop()!;
      if (seen.has(v)) continue;
      seen.add(v);
      // Fresh constant leaves for inline numbers are new objects on every read: not graph nodes.
      for (const u of v.inputs) if (!u.isConstant) todo.push(u);
    }
    expect(new Set(topologicalOrder(g))).toEqual(seen);
  });

  it('on a diamond lists the shared node once, and is deterministic', () => {
    const x = new Value(1, 'x');
    const a = x.mul(2), b = x.add(3);
    const top = a.mul(b).add(a);
    const order = topologicalOrder(top);
    expect(order).toHaveLength(5); // x, a, b, a·b, top
    expect(new Set(order).size).toBe(5);
    expect(order[0]).toBe(x);
    expect(topologicalOrder(top)).toEqual(order);
  });

  it('includes constant leaves made by Value.constant, but not inline numbers', () => {
    const x = new Value(1);
    expect(topologicalOrder(x.add(Value.constant(2)))).toHaveLength(3);
    expect(topologicalOrder(x.add(2))).toHaveLength(2);
    expect(topologicalOrder(x)).toEqual([x]);
  });
});

describe('deep graphs', () => {
  it('a 10⁶-node chain runs backward() without overflowing the stack', { timeout: 60_000 }, () => {
    const x = new Value(1);
    let v = x;
    for (let k = 0; k < 500_000; k++) v = v.mul(1.000001).add(0.000001);
    v.backward();
    // x_N + 1 = 2·1.000001ᴺ and ∂x_N/∂x = 1.000001ᴺ.
    const growth = Math.exp(500_000 * Math.log1p(1e-6));
    expectClose(x.grad, growth, 1e-9);
    expectClose(v.data, 2 * growth - 1, 1e-9);
    expect(topologicalOrder(v)).toHaveLength(1_000_001);
  });

  it('a 10⁶-node chain of unary ops, then a second backward(), works', { timeout: 60_000 }, () => {
    const x = new Value(0.5);
    let v = x;
    for (let k = 0; k < 1_000_000; k++) v = v.neg();
    v.backward();
    v.backward();
    expect(v.data).toBe(0.5); // an even number of negations
    expect(x.grad).toBe(2);
  });
});

// backward() orders a graph by the serial numbers nodes get when made (modulo 2³⁰), checking on
// every edge that they do order it, and falls back to a depth-first order when they do not. These
// graphs are built across a wrap-around, a serial collision, a gap and a reversal, and their
// gradients checked against forward-mode duals (which use no graph).
describe('graphs whose serial numbers do not order them', () => {
  /**
   * A graph with shared nodes, an n-ary sum, constants on both sides and every operand form;
   * `between` runs between its parts (to move the serial counter).
   */
  function model(a: Value, b: Value, c: Value, between: () => void): Value {
    const ab = a.mul(b);
    between();
    const t = c.tanh().add(ab).mul(ab);
    between();
    const s = t.sigmoid().sub(3).mul(div(2, b.exp()));
    return Value.sum([s, ab, t, 1]);
  }
  const at = [0.7, -1.3, 0.4];
  const expected = forwardGradient(([a, b, c]) => {
    const ab = a!.mul(b!);
    const t = c!.tanh().add(ab).mul(ab);
    const s = t.sigmoid().sub(3).mul(b!.exp().pow(-1).mul(2));
    return Dual.sum([s, ab, t, 1]);
  }, at);

  function check(start: number, between: () => void): void {
    setNextSerial(start);
    const [a, b, c] = at.map((v) => new Value(v)) as [Value, Value, Value];
    const out = model(a, b, c, between);
    expectClose(out.data, expected.value, 1e-12);
    out.backward();
    const first = [a.grad, b.grad, c.grad];
    first.forEach((g, j) => expectClose(g, expected.gradient[j]!, 1e-12));
    // A second pass gives exactly twice, and the root's gradient is that of the latest pass.
    out.backward();
    expect([a.grad, b.grad, c.grad]).toEqual(first.map((g) => 2 * g));
    expect(out.grad).toBe(1);
  }

  it('in serial order (the usual case)', () => check(0, () => {}));

  it('across the wrap-around of serial numbers at 2³⁰', () => check(2 ** 30 - 4, () => {}));

  it('with live nodes 2³⁰ serials apart (the same serial twice), as after 2³⁰ nodes', () => {
    check(12345, () => setNextSerial(12345));
    // The two operands of the root have the same serial, and nothing else links them.
    setNextSerial(100);
    const a = new Value(1.5), b = new Value(-2);
    const u = a.mul(a);
    setNextSerial(102);
    const w = b.mul(3);
    const root = u.add(w);
    root.backward();
    expect([a.grad, b.grad]).toEqual([3, 3]);
  });

  for (const [gap, name] of [[1e6, '10⁶'], [2 ** 26, '2²⁶']] as const) {
    it(`with gaps of ${name} serials between parts, without scratch memory for the gaps`, () => {
      let next = 0;
      const before = process.memoryUsage().arrayBuffers;
      check(next, () => setNextSerial((next += gap)));
      // Gradients indexed by serial distance would need 8 bytes per serial of the gaps.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(gap);
    });
  }

  it('with an old node reached both directly and through 10⁵ newer nodes', () => {
    // c and f = tanh(c) are made first, then a chain of 10⁵ nodes that starts from c. The root sums f
    // (far away in serial distance) and the chain's end: c's gradient needs both paths, so f's has to
    // be followed before c is passed on, although the chain reaches c only after 10⁵ nodes.
    const a = new Value(0.3), b = new Value(-1.7);
    const c = a.mul(b);
    const f = c.tanh();
    let chain = c.mul(1);
    for (let k = 0; k < 50_000; k++) chain = chain.mul(1.00001).add(0.00001);
    const root = Value.sum([f, chain]);
    root.backward();
    // ∂chain/∂c = 1.00001⁵⁰⁰⁰⁰, ∂f/∂c = 1 − tanh²c.
    const dc = 1 - Math.tanh(0.3 * -1.7) ** 2 + Math.exp(50_000 * Math.log1p(0.00001));
    expectClose(c.grad, dc, 1e-9);
    expectClose(a.grad, dc * -1.7, 1e-9);
    expectClose(b.grad, dc * 0.3, 1e-9);
  });

  it('made out of serial order, close together', () => {
    // ab is made at about 1003, t (which uses it) at about 500, the rest at about 2000: every
    // distance from the root is small, but ab's is smaller than that of t.
    const next = [500, 2000];
    check(1000, () => setNextSerial(next.shift()!));
  });

  it('made out of serial order, far apart (serials counting back)', () => {
    let next = 5_000_000;
    check(next, () => setNextSerial((next -= 1_000_000)));
  });

  it('give a depth-first order in topologicalOrder all the same', () => {
    setNextSerial(2 ** 30 - 2);
    const x = new Value(2);
    const y = x.mul(x).add(x).mul(3);
    setNextSerial(7);
    const z = y.mul(y).add(x);
    const order = topologicalOrder(z);
    expect(order).toHaveLength(6);
    expect(order.indexOf(y)).toBeLessThan(order.indexOf(z));
    z.backward();
    // z = y² + x, y = 3(x² + x): ∂z/∂x = 2y·3(2x + 1) + 1.
    expect(x.grad).toBe(2 * 18 * 3 * 5 + 1);
  });
});

describe('operands that are neither Values nor numbers', () => {
  it('give a TypeError naming the operand, never a raw property error', () => {
    const x = new Value(2);
    expect(() => x.mul(null as unknown as number)).toThrow(/second operand of \*.*null/);
    expect(() => x.add(undefined as unknown as number)).toThrow(/second operand of \+.*undefined/);
    expect(() => relu(3 as unknown as Value)).toThrow(/relu needs a Value operand, got number 3/);
    expect(() => neg(null as unknown as Value)).toThrow(TypeError);
  });
});

describe('a non-finite number operand', () => {
  it('is refused even where the result would be finite', () => {
    const x = new Value(2);
    expect(() => x.div(Infinity)).toThrow(/second operand of \/ must be finite, got Infinity/);
    expect(() => mul(-Infinity, x)).toThrow(/first operand of \* must be finite, got -Infinity/);
    expect(() => x.pow(NaN)).toThrow(RangeError);
  });
});

describe('a non-finite derivative with a constant first operand', () => {
  it('names the Value operand (b) in the message', () => {
    const x = new Value(1e-200, 'x');
    const q = div(3, x);
    expect(() => q.backward()).toThrow(/with respect to b/);
  });
});

describe('a non-finite local derivative below a zero gradient', () => {
  // A pass skips what lies below a zero gradient (see `since`), but never a graph that holds a
  // non-finite local derivative: it must still meet it and say so.
  it('is reported, with a number operand as with a Value one', () => {
    const x = new Value(0, 'x');
    expect(() => x.pow(0.5).mul(0).backward()).toThrow(/derivative of pow\(a=0 \("x"\), b=0\.5\) with respect to a is Infinity/);
    expect(x.grad).toBe(0);
    const y = new Value(0, 'y');
    expect(() => y.pow(new Value(0.5)).mul(new Value(0)).backward()).toThrow(/derivative of pow\(a=0 \("y"\), b=0\.5\) with respect to a is Infinity/);
    expect(y.grad).toBe(0);
  });
});

describe('gradients that overflow across calls', () => {
  it('throw when the sum with earlier passes overflows, leaving the leaf as it was', () => {
    const x = new Value(1, 'x');
    const y = x.mul(1e308);
    y.backward();
    expect(x.grad).toBe(1e308);
    expect(() => y.backward()).toThrow(NonFiniteError);
    expect(x.grad).toBe(1e308);
  });

  it('keep ∂(a/b)/∂b finite where b² underflows', () => {
    const a = new Value(1e-200), b = new Value(1e-200);
    const q = div(a, b);
    q.backward();
    // −a/b² = −1e200 exactly by hand (a = b).
    expect(b.grad / -1e200).toBeCloseTo(1, 12);
  });
});

describe('a Value in plain JavaScript', () => {
  it('refuses arithmetic and comparison with operators, naming the methods to use', () => {
    const a = new Value(2), b = new Value(3);
    const attempts: (() => unknown)[] = [
      () => (a as unknown as number) * (b as unknown as number),
      () => (a as unknown as number) < (b as unknown as number),
      () => (a as unknown as number) + 1,
      () => -(a as unknown as number),
      () => Number(a),
      () => Math.max(a as unknown as number, 1),
    ];
    for (const attempt of attempts) {
      const e = catchError(attempt) as TypeError;
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toContain('a.mul(b)');
      expect(e.message).toContain('a.data');
    }
  });

  it('still turns into a string wherever a string is asked for', () => {
    const v = new Value(2, 'w');
    expect(String(v)).toBe('Value(data=2, grad=0, label="w")');
    expect(`${v}`).toBe(String(v));
    expect(new Error(`bad ${v}`).message).toBe('bad Value(data=2, grad=0, label="w")');
  });

  it('prints as Value(data, grad, label) in console.log and util.inspect, not as its storage', async () => {
    const { inspect } = await import('node:util');
    const v = new Value(0.5, 'x').mul(3);
    v.backward();
    expect(inspect(v)).toBe('Value(data=1.5, grad=1)');
    expect(inspect({ v })).toBe('{ v: Value(data=1.5, grad=1) }');
    expect(inspect(v)).not.toContain('Float64Array');
  });

  it('makes a leaf whatever else is passed to the constructor', () => {
    // The engine makes an op's node through the same constructor, with arguments of its own.
    const x = new Value(3);
    const Loose = Value as unknown as new (...args: unknown[]) => Value;
    // (A `since` below −1 marks a freed scope's handle: kept by a leaf, it would make v.mul(v) throw.)
    for (const extra of [[undefined, 7, x, x, 27, 5, 6, -5], ['w', 7, x, x, 27, 5, 6, -5]]) {
      const v = new Loose(2, ...extra);
      expect(v.isLeaf).toBe(true);
      expect(v.op).toBe('');
      expect(v.inputs).toEqual([]);
      expect(v.data).toBe(2);
      v.mul(v).backward();
      expect(v.grad).toBe(4);
      expect(x.grad).toBe(0);
    }
    expect(() => new Loose(2, Symbol('an interior node'), 7, x, x, 27, 5, 6, 0)).toThrow(/label must be a string, got symbol/);
  });

  it('serialises as { data, grad, label, op }, without its graph', () => {
    const x = new Value(0.5, 'x');
    const y = x.sigmoid().mul(x);
    y.label = 'y';
    y.backward();
    expect(JSON.parse(JSON.stringify(y))).toEqual({ data: y.data, grad: 1, label: 'y', op: '*' });
    expect(JSON.parse(JSON.stringify([x]))).toEqual([{ data: 0.5, grad: x.grad, label: 'x', op: '' }]);
    expect(JSON.stringify(y).length).toBeLessThan(100);
  });
});

describe('negative zero', () => {
  // An interior node all of whose shares are −0 (here through relu′ = 0 times −1 times 3) read −0
  // after a pass that visited it and +0 after one that skipped it. Both must read +0.
  const build = (): { a: Value; t: Value; d: Value } => {
    const a = new Value(2);
    const t = a.mul(3);
    const d = t.mul(-1).relu().mul(5).add(a);
    return { a, t, d };
  };

  it('reads +0 after a pass that skips it and after one that visits it', () => {
    const { a, t, d } = build();
    d.backward(); // first pass: nothing below the off relu was ever written, so it is skipped
    expect(Object.is(t.grad, 0)).toBe(true);
    d.backward(); // second pass: the graph was touched, so it is visited, and its shares are −0
    expect(Object.is(t.grad, 0)).toBe(true);
    expect(a.grad).toBe(2);
  });

  it('reads +0 when every pass visits it (a hand-set interior grad turns skipping off)', () => {
    const { t, d } = build();
    t.grad = 7;
    d.backward();
    expect(Object.is(t.grad, 0)).toBe(true);
  });
});

describe('accessors V8 inlines anywhere', () => {
  // `data` and `grad` are read in every training loop, whose inlining budget the ops have spent. V8
  // inlines a function of at most `--max-inlined-bytecode-size-small` bytes of bytecode even then
  // (README, "Fast steps" and bench/ROUNDS.md, eighth round: W1 about 8 % fewer instructions), so one
  // more test in a getter would cost every loop a call per read without failing any other test.
  it("Value's data and grad getters fit V8's size for inlining small functions, on the built package", () => {
    const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
    const small = Number(/--max-inlined-bytecode-size-small \(.*?\)\n\s*type: int\s*default: --max-inlined-bytecode-size-small=(\d+)/.exec(options)?.[1]);
    expect(small).toBeGreaterThan(0);
    const script = `const { Value } = await import(${JSON.stringify(pathToFileURL(`${ROOT}/dist/src/index.js`).href)});
      const v = new Value(2); let s = 0; for (let i = 0; i < 3; i++) s += v.data + v.grad; if (s !== 6) throw new Error(String(s));`;
    const lengths = (name: string): number[] => {
      // Without coverage or extra options from the environment: coverage counters lengthen bytecode.
      const env = { ...process.env };
      delete env.NODE_V8_COVERAGE;
      delete env.NODE_OPTIONS;
      const r = spawnSync(process.execPath, ['--print-bytecode', `--print-bytecode-filter=${name}`, '--input-type=module', '-e', script], { encoding: 'utf8', env });
      expect(r.status).toBe(0);
      return [...r.stdout.matchAll(/Bytecode length: (\d+)/g)].map((m) => Number(m[1]));
    };
    for (const name of ['get data', 'get grad']) {
      const found = lengths(name);
      expect(found, name).toHaveLength(1); // Value's; a scope's handles have their own, not run here
      expect(found[0], name).toBeLessThanOrEqual(small);
    }
  });
});
