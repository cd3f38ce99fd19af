/**
 * The op table, op by op: every op has a forward-mode rule in `Dual` (the independent oracle); the
 * engine's value and local derivatives equal Dual's at random points; the printable derivative
 * templates, read by the expression language, give the engine's derivatives; and the cases the
 * table's comments promise: max's and min's tie rule (in the engine, Dual and compile()), tan
 * near a pole and atan where 1 + x² overflows, against hand formulas.
 */
import { describe, expect, it } from 'vitest';
import {
  OPS, OP_NAMES, Value, Dual, compile, createRng, parseExpression, buildGraph, max, min,
} from '../../src/index.js';
import * as micrograd from '../../src/index.js';
import type { BinaryOp, DualOperand, Operand, OpName, Rng, Strategy } from '../../src/index.js';

type Op = Exclude<OpName, ''>;

/** |actual − expected| ≤ rtol·|expected| + atol, with both finite. */
function expectNear(actual: number | null | undefined, expected: number, rtol: number, atol: number, what: string): void {
  if (typeof actual !== 'number' || !Number.isFinite(actual) || !(Math.abs(actual - expected) <= rtol * Math.abs(expected) + atol)) {
    throw new Error(`${what}: got ${actual}, expected ${expected} (rtol ${rtol}, atol ${atol})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Calling an op by its table entry.

/**
 * The engine's op `name`: through its `Value` method (`x.max(y)`), or with a number first through
 * its module function (`max(2, x)`), whose number stays inline (no derivative: null).
 */
function engineOp(name: Op, operands: readonly Operand[]): Value {
  const def = OPS[name];
  if (def.arity === 'n') return Value.sum(operands);
  const [first, ...rest] = operands;
  if (!(first instanceof Value)) {
    const fn = (micrograd as unknown as Record<string, (...args: Operand[]) => Value>)[def.method];
    if (typeof fn !== 'function') throw new Error(`micrograd-ts exports no function ${def.method} for ${name}`);
    return fn(first!, ...rest);
  }
  const method = (first as unknown as Record<string, (...args: Operand[]) => Value>)[def.method];
  if (typeof method !== 'function') throw new Error(`Value has no method ${def.method} for ${name}`);
  return method.apply(first, rest);
}

/** Dual's rule for op `name`: `Dual.sum`, or the method the table names. */
function dualRule(name: Op): ((operands: readonly DualOperand[]) => Dual) | null {
  const def = OPS[name];
  if (def.arity === 'n') return typeof Dual.sum === 'function' ? (operands) => Dual.sum(operands) : null;
  const method = (Dual.prototype as unknown as Record<string, unknown>)[def.method];
  if (typeof method !== 'function') return null;
  return (operands) => {
    const [first, ...rest] = operands;
    const self = first instanceof Dual ? first : Dual.constant(first!);
    return (method as (...args: DualOperand[]) => Dual).apply(self, rest);
  };
}

/** Dual's value and ∂/∂(operand k) for each k, by seeding one operand at a time. */
function dualLocal(name: Op, point: readonly number[]): { value: number; derivatives: number[] } {
  const rule = dualRule(name)!;
  let value = NaN;
  const derivatives = point.map((_, k) => {
    const out = rule(point.map((p, j) => new Dual(p, j === k ? 1 : 0)));
    value = out.value;
    return out.tangent;
  });
  return { value, derivatives };
}

// ---------------------------------------------------------------------------------------------
// Where each op is sampled: a Record over the table, so that a new op is a type error here until
// it has a domain.

const wide = (rng: Rng): number => rng.uniform(-5, 5);
const positive = (rng: Rng): number => rng.uniform(0.01, 5);
const away = (rng: Rng): number => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.1, 3);
/** Any branch of tan within 4 periods, at least 0.05 from its poles (|cos| ≥ 0.05). */
const tanPoint = (rng: Rng): number => (rng.int(9) - 4) * Math.PI + rng.uniform(-Math.PI / 2 + 0.05, Math.PI / 2 - 0.05);

/** A point in the op's domain: one number per operand (a sum gets 1 to 5). */
const DOMAINS: Record<Op, (rng: Rng) => number[]> = {
  '+': (r) => [wide(r), wide(r)],
  '-': (r) => [wide(r), wide(r)],
  '*': (r) => [wide(r), wide(r)],
  '/': (r) => [wide(r), away(r)],
  pow: (r) => [r.uniform(0.1, 3), r.uniform(-3, 3)],
  neg: (r) => [wide(r)],
  exp: (r) => [wide(r)],
  log: (r) => [positive(r)],
  tanh: (r) => [wide(r)],
  sigmoid: (r) => [wide(r)],
  relu: (r) => [wide(r)],
  sum: (r) => Array.from({ length: 1 + r.int(5) }, () => wide(r)),
  sqrt: (r) => [positive(r)],
  abs: (r) => [wide(r)],
  softplus: (r) => [wide(r)],
  logsigmoid: (r) => [wide(r)],
  sin: (r) => [r.uniform(-20, 20)],
  cos: (r) => [r.uniform(-20, 20)],
  tan: (r) => [tanPoint(r)],
  atan: (r) => [r.uniform(-50, 50)],
  max: (r) => [wide(r), wide(r)],
  min: (r) => [wide(r), wide(r)],
};

const POINTS = 25;

/**
 * The engine and Dual compute the same values with the same Math functions, and derivatives by
 * formulas that may differ (tan: 1 + tan²x against 1/cos²x; σ: e/(1 + e)² against σ(x)·σ(−x)):
 * a few ulps apart on these domains.
 */
const ENGINE_VS_DUAL = { rtol: 1e-13, atol: 1e-300 };

describe('every op of the table', () => {
  it('has a forward-mode rule in Dual', () => {
    const missing = OP_NAMES.filter((name) => dualRule(name) === null);
    expect(missing, 'ops without a Dual rule').toEqual([]);
  });

  for (const name of OP_NAMES) {
    it(`${name}: the engine's value and local derivatives equal Dual's at ${POINTS} random points`, () => {
      const rng = createRng(1 + OP_NAMES.indexOf(name));
      for (let n = 0; n < POINTS; n++) {
        const point = DOMAINS[name](rng);
        const where = `${name} at ${JSON.stringify(point)}`;
        const y = engineOp(name, point.map((p) => new Value(p)));
        const dual = dualLocal(name, point);
        expectNear(y.data, dual.value, ENGINE_VS_DUAL.rtol, ENGINE_VS_DUAL.atol, `${where}: value`);
        const local = y.localGradients;
        expect(local.length, `${where}: operand count`).toBe(point.length);
        dual.derivatives.forEach((d, k) => expectNear(local[k], d, ENGINE_VS_DUAL.rtol, ENGINE_VS_DUAL.atol, `${where}: ∂/∂operand ${k}`));
        // A binary op with a number on either side: the Value operand's derivative is the same.
        if (OPS[name].arity === 2) {
          const [a, b] = point as [number, number];
          expect(engineOp(name, [new Value(a), b]).localGradients[1], `${where}: b's slot`).toBeNull();
          expect(engineOp(name, [a, new Value(b)]).localGradients[0], `${where}: a's slot`).toBeNull();
          expectNear(engineOp(name, [new Value(a), b]).localGradients[0], dual.derivatives[0]!, ENGINE_VS_DUAL.rtol, ENGINE_VS_DUAL.atol, `${where}, b a number: ∂/∂a`);
          expectNear(engineOp(name, [a, new Value(b)]).localGradients[1], dual.derivatives[1]!, ENGINE_VS_DUAL.rtol, ENGINE_VS_DUAL.atol, `${where}, a a number: ∂/∂b`);
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The printable templates.

/** Ops whose derivative is piecewise: the expression language cannot write it. */
const PIECEWISE: readonly Op[] = ['relu', 'abs', 'max', 'min'];

/**
 * Templates are the math, not the engine's stable forms: 1 − y² for tanh′ cancels where tanh is
 * near ±1 (|x| ≤ 5 here), hence the absolute term.
 */
const TEMPLATE_VS_ENGINE = { rtol: 1e-12, atol: 1e-13 };

describe('the derivative templates', () => {
  it('are null exactly for relu, abs, max and min, and one per operand', () => {
    const withNull = OP_NAMES.filter((name) => (OPS[name].templates as readonly (string | null)[]).includes(null));
    expect([...withNull].sort()).toEqual([...PIECEWISE].sort());
    for (const name of OP_NAMES) {
      const def = OPS[name];
      expect(def.templates.length, name).toBe(def.arity === 'n' ? 0 : def.arity);
    }
  });

  for (const name of OP_NAMES.filter((n) => OPS[n].arity !== 'n' && !PIECEWISE.includes(n))) {
    it(`${name}: ${JSON.stringify(OPS[name].templates)}, read by the expression language, give the engine's derivatives`, () => {
      const def = OPS[name];
      const programs = def.templates.map((t) => parseExpression(t!));
      const rng = createRng(100 + OP_NAMES.indexOf(name));
      for (let n = 0; n < POINTS; n++) {
        const point = DOMAINS[name](rng);
        const y = engineOp(name, point.map((p) => new Value(p)));
        // y from Dual, so that the templates are evaluated with no input from the code under test.
        const value = dualLocal(name, point).value;
        const bindings: Record<string, number> = point.length === 1 ? { x: point[0]!, y: value } : { a: point[0]!, b: point[1]!, y: value };
        programs.forEach((program, k) => {
          const template = buildGraph(program, bindings).output.data;
          expectNear(y.localGradients[k], template, TEMPLATE_VS_ENGINE.rtol, TEMPLATE_VS_ENGINE.atol,
            `${name} at ${JSON.stringify(point)}: template ${def.templates[k]} = ${template}, engine's ∂/∂operand ${k}`);
        });
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// max and min at a tie: half the gradient to each operand.

const STRATEGIES: readonly Strategy[] = ['code', 'tape'];

describe('max and min at a tie', () => {
  for (const op of ['max', 'min'] as const) {
    const fn = op === 'max' ? max : min;

    it(`${op}(x, x) has ∂/∂x = 1 in the engine, Dual and compile()`, () => {
      const x = new Value(1.5);
      const y = fn(x, x);
      expect(y.localGradients).toEqual([0.5, 0.5]);
      y.backward();
      expect(x.grad).toBe(1);
      const d = Dual.variable(1.5);
      expect(d[op](d).tangent).toBe(1);
      for (const strategy of STRATEGIES) {
        const f = compile((xs) => fn(xs[0]!, xs[0]!), [1.5], { strategy });
        expect(Array.from(f([1.5]).gradient), strategy).toEqual([1]);
        expect(Array.from(f([-4]).gradient), strategy).toEqual([1]);
      }
    });

    it(`${op}(x, y) at x = y gives ½ to each, and all to the ${op === 'max' ? 'larger' : 'smaller'} off the tie`, () => {
      const x = new Value(0.75), y = new Value(0.75);
      const out = fn(x, y);
      expect(out.data).toBe(0.75);
      out.backward();
      expect([x.grad, y.grad]).toEqual([0.5, 0.5]);
      expect(dualPair(op, 0.75, 0.75)).toEqual([0.5, 0.5]);
      // Off the tie: (2, 1) gives max's gradient to a, min's to b.
      const [wa, wb] = op === 'max' ? [1, 0] : [0, 1];
      expect(dualPair(op, 2, 1)).toEqual([wa, wb]);
      for (const strategy of STRATEGIES) {
        // Traced at the tie, then called off it and back on it: the branch is taken anew each call.
        const f = compile((xs) => fn(xs[0]!, xs[1]!), [0.75, 0.75], { strategy });
        expect(Array.from(f([0.75, 0.75]).gradient), strategy).toEqual([0.5, 0.5]);
        expect(Array.from(f([2, 1]).gradient), strategy).toEqual([wa, wb]);
        expect(Array.from(f([1, 2]).gradient), strategy).toEqual([wb, wa]);
        expect(Array.from(f([-3, -3]).gradient), strategy).toEqual([0.5, 0.5]);
      }
    });
  }

  // ∂/∂x of max(2, x), max(x, 2), min(x, 3), min(3, x) below, at and above the number.
  const cases = [
    { name: 'max(2, x)', engine: (x: Value) => max(2, x), dual: (x: Dual) => Dual.constant(2).max(x), c: 2, below: 0, above: 1 },
    { name: 'max(x, 2)', engine: (x: Value) => x.max(2), dual: (x: Dual) => x.max(2), c: 2, below: 0, above: 1 },
    { name: 'min(x, 3)', engine: (x: Value) => min(x, 3), dual: (x: Dual) => x.min(3), c: 3, below: 1, above: 0 },
    { name: 'min(3, x)', engine: (x: Value) => min(3, x), dual: (x: Dual) => Dual.constant(3).min(x), c: 3, below: 1, above: 0 },
  ];
  for (const c of cases) {
    it(`${c.name}: ∂/∂x is ${c.below} below ${c.c}, ½ at ${c.c}, ${c.above} above`, () => {
      for (const [at, expected] of [[c.c - 1, c.below], [c.c, 0.5], [c.c + 1, c.above]] as const) {
        const x = new Value(at);
        const out = c.engine(x);
        out.backward();
        expect(x.grad, `engine at ${at}`).toBe(expected);
        expect(c.dual(Dual.variable(at)).tangent, `Dual at ${at}`).toBe(expected);
        for (const strategy of STRATEGIES) {
          // Traced away from the number, so that the tie is met only by the compiled code.
          const f = compile((xs) => c.engine(xs[0]!), [c.c + 0.5], { strategy });
          expect(f([at]).gradient[0], `compile (${strategy}) at ${at}`).toBe(expected);
        }
      }
    });
  }
});

function dualPair(op: 'max' | 'min', a: number, b: number): [number, number] {
  return [new Dual(a, 1)[op](new Dual(b, 0)).tangent, new Dual(a, 0)[op](new Dual(b, 1)).tangent];
}

// ---------------------------------------------------------------------------------------------
// tan near its poles, atan where 1 + x² overflows.

/** π/2 − fl(π/2) (fl(π/2) = Math.PI/2 is below π/2 by this): for δ = π/2 − x to full precision. */
const HALF_PI_LOW = 6.123233995736766e-17;

describe('tan near a pole and atan at large |x|, against hand formulas', () => {
  for (const sign of [1, -1]) {
    const x = sign * (Math.PI / 2 - 1e-8);
    it(`tan at ${x}: cot δ and 1/sin²δ with δ = ${sign > 0 ? 'π/2 − x' : 'π/2 + x'}`, () => {
      // Math.PI/2 − |x| is exact (Sterbenz), so δ is known to about 1e-24 (1e-16 of itself).
      const delta = (Math.PI / 2 - Math.abs(x)) + HALF_PI_LOW;
      // tan(π/2 − δ) = cot δ = 1/δ − δ/3 − …; sec²(π/2 − δ) = 1/sin²δ = 1/δ² + 1/3 + δ²/15 + …
      const handValue = sign * (1 / delta - delta / 3);
      const handDerivative = 1 / (delta * delta) + 1 / 3;
      const y = new Value(x).tan();
      expectNear(y.data, handValue, 1e-12, 0, `tan(${x})`);
      expectNear(y.localGradients[0], handDerivative, 1e-12, 0, `tan′(${x})`);
      expect(handDerivative).toBeGreaterThan(0.99e16);
      const d = Dual.variable(x).tan();
      expectNear(d.tangent, handDerivative, 1e-12, 0, `Dual tan′(${x})`);
    });
  }

  for (const x of [1e155, -1e155]) {
    it(`atan′(${x}) is 1/(1 + x²) ≈ 1/x² ≈ 1e-310 (subnormal), though 1 + x² overflows`, () => {
      expect(1 + x * x).toBe(Infinity);
      // 1/(1 + x²) = 1/x² · (1 − 1/x² + …): 1/x² to far below the precision of a subnormal result.
      // x is 10¹⁵⁵ to 1e-16 relative; 1e-310 is a subnormal with about 13 significant digits.
      const hand = 1e-310;
      const y = new Value(x).atan();
      expect(y.data).toBe(Math.sign(x) * Math.PI / 2);
      expect(y.localGradients[0]).toBeGreaterThan(0);
      expectNear(y.localGradients[0], hand, 1e-9, 0, `atan′(${x})`);
      expectNear(Dual.variable(x).atan().tangent, hand, 1e-9, 0, `Dual atan′(${x})`);
    });
  }
});

describe("pow's square (a·a and 2·a in the table)", () => {
  // Doubles of every magnitude: random mantissas and exponents from −1074 (subnormal) to 1023,
  // both signs, and the edges: zeros, the smallest and largest doubles, overflow of the square.
  const rng = createRng(20261203);
  const samples = [0, -0, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, 1e154, 1.4e154, 1, -1, 0.5, 3];
  for (let k = 0; k < 200_000; k++) {
    const exponent = Math.floor(rng.next() * 2098) - 1074;
    samples.push((rng.next() < 0.5 ? -1 : 1) * (1 + rng.next()) * 2 ** exponent);
  }

  it('gives the numbers Math.pow gives, bit for bit, in the engine and in the op table', () => {
    const pow: BinaryOp = OPS.pow;
    let checked = 0;
    for (const a of samples) {
      const out = pow.value(a, 2), da = pow.da(a, 2, out);
      if (!Object.is(out, Math.pow(a, 2)) || !Object.is(da, 2 * Math.pow(a, 1))) {
        const show = (x: number): string => (Object.is(x, -0) ? '-0' : String(x)); // a sign of zero is a difference too
        throw new Error(`pow(${show(a)}, 2): table ${show(out)}, ${show(da)}; Math.pow ${show(Math.pow(a, 2))}, ${show(2 * Math.pow(a, 1))}`);
      }
      checked++;
    }
    expect(checked).toBe(samples.length);
    for (const a of [-2.5, 1e-160, 3e153]) {
      const y = new Value(a).pow(2);
      expect(Object.is(y.data, Math.pow(a, 2))).toBe(true);
      expect(Object.is(y.localGradients[0], 2 * Math.pow(a, 1))).toBe(true);
    }
  });
});
