/**
 * grad(): every op's Value-level rule against its number path and against hyper-dual second
 * derivatives; grad without createGraph equal to backward() bit for bit; what grad touches and
 * refuses; stale graphs.
 */
import { describe, expect, it } from 'vitest';
import {
  Value, OPS, OP_NAMES, NonFiniteError, StaleGraphError, grad, topologicalOrder, createRng,
  mul, sin, tanh, relu, sqrt, sum,
} from '../../src/index.js';
import { OP_FUNCTIONS } from '../../src/engine/value.js';
import { setNextSerial } from '../../src/engine/storage.js';
import { HyperDual } from '../../src/tools/hyper-dual.js';
import { agrees } from '../../src/tools/gradcheck.js';
import { evaluateGraph, randomCase, valueAlgebra } from '../tools/fuzz-graphs.js';

type Fn = (...xs: (Value | number)[]) => Value;
const call = (name: (typeof OP_NAMES)[number]): Fn => OP_FUNCTIONS[OPS[name].method as keyof typeof OP_FUNCTIONS] as Fn;

/** Unary ops' test points: 0 where the op is defined and differentiable there, the tails. */
const UNARY_POINTS: Record<string, readonly number[]> = {
  log: [0.001, 0.3, 1, 2.5, 40],
  sqrt: [1e-6, 0.3, 1, 2.5, 40],
  tan: [0, 0.3, -0.7, 1.2, -1.5],
};
const DEFAULT_UNARY = [0, 0.3, -0.7, 1.5, -2.5, 20, -20, 400, -400];

/** Binary ops' test points (a, b); pow's with a Value exponent need a ≥ 0. */
const BINARY_POINTS: Record<string, readonly (readonly [number, number])[]> = {
  '/': [[1, 2], [-0.5, 0.25], [0, 3], [3, -1e-3]],
  pow: [[2, 3], [0.5, -1.5], [0, 2], [3, 0], [1.5, 0.5], [0, 1]],
};
const DEFAULT_BINARY = [[1, 2], [-0.5, 0.25], [0, 3], [2, 2], [-1, -1], [0, 0], [-3, 1e-3]] as const;

/**
 * The rules' numbers equal the stored derivatives exactly, but for tanh and sigmoid, whose rules
 * take σ(x)·σ(−x) apart as two nodes: a few ulps.
 */
const ruleTolerance = (name: string): { rtol: number; atol: number } =>
  (name === 'tanh' || name === 'sigmoid' ? { rtol: 1e-14, atol: 1e-300 } : { rtol: 0, atol: 0 });
/** Second derivatives against hyper-duals: different formulas, so rounding of a few operations. */
const SECOND_TOLERANCE = { rtol: 1e-12, atol: 1e-300 };

function hyperDual(name: string, xs: readonly (HyperDual | number)[]): HyperDual {
  const h = (x: HyperDual | number): HyperDual => (x instanceof HyperDual ? x : HyperDual.constant(x));
  const method = OPS[name as keyof typeof OPS].method as keyof HyperDual;
  if (xs.length === 1) return (h(xs[0]!)[method] as () => HyperDual)();
  return (h(xs[0]!)[method] as (o: HyperDual | number) => HyperDual)(xs[1]!);
}

/** ∂²y/∂xᵢ∂xⱼ by hyper-duals, over the Value slots only (numbers stay numbers). */
function hyperHessian(name: string, at: readonly number[], isValue: readonly boolean[]): number[][] {
  const slots = at.flatMap((_, k) => (isValue[k] ? [k] : []));
  return slots.map((i) => slots.map((j) => {
    const xs = at.map((x, k) => (isValue[k] ? new HyperDual(x, k === i ? 1 : 0, k === j ? 1 : 0, 0) : x));
    return hyperDual(name, xs).e12;
  }));
}

function expectAgree(actual: number, expected: number, tolerance: { rtol: number; atol: number }, what: string): void {
  const c = agrees(actual, expected, tolerance);
  expect(c.ok, `${what}: ${actual} vs ${expected} (|difference| ${c.absError} > ${c.allowed})`).toBe(true);
}

describe("every op's Value-level rule", () => {
  it('covers the whole table', () => {
    for (const name of OP_NAMES) {
      const op = OPS[name];
      if (op.arity === 1) expect(typeof op.dValue, name).toBe('function');
      if (op.arity === 2) expect([typeof op.daValue, typeof op.dbValue], name).toEqual(['function', 'function']);
    }
  });

  for (const name of OP_NAMES) {
    const op = OPS[name];
    if (op.arity === 'n') continue;
    if (op.arity === 1) {
      it(`${name}: agrees with the number path, and its derivative with hyper-duals`, () => {
        for (const p of UNARY_POINTS[name] ?? DEFAULT_UNARY) {
          const x = new Value(p, 'x');
          const y = call(name)(x);
          const d = y.localGradients[0]!;
          const g = grad(y, x, { createGraph: true });
          expectAgree(g.data, d, ruleTolerance(name), `${name}′(${p})`);
          const second = grad(g, x).data;
          const [[h]] = hyperHessian(name, [p], [true]) as [[number]];
          expectAgree(second, h, SECOND_TOLERANCE, `${name}″(${p})`);
        }
      });
      continue;
    }
    it(`${name}: agrees with the number path, and its derivatives with hyper-duals, with a number on either side`, () => {
      for (const [a, b] of BINARY_POINTS[name] ?? DEFAULT_BINARY) {
        for (const isValue of [[true, true], [true, false], [false, true]] as const) {
          // Only a number exponent allows a negative base; 0⁰ with a Value exponent has no ∂/∂b.
          if (name === 'pow' && isValue[1] && (a < 0 || (a === 0 && b === 0))) continue;
          const xs = [a, b].map((v, k) => (isValue[k] ? new Value(v, k === 0 ? 'a' : 'b') : v));
          const y = call(name)(...xs);
          const values = xs.filter((x): x is Value => x instanceof Value);
          const slots = [0, 1].filter((k) => isValue[k]);
          const gs = grad(y, values, { createGraph: true });
          slots.forEach((k, s) => expectAgree(gs[s]!.data, y.localGradients[k]!, ruleTolerance(name), `∂${name}(${a}, ${b})/∂${'ab'[k]}`));
          // The hyper-dual pow needs a > 0 for a Dual exponent (it has no second derivative at 0).
          if (name === 'pow' && isValue[1] && a === 0) continue;
          const h = hyperHessian(name, [a, b], isValue);
          slots.forEach((_, i) => {
            const row = grad(gs[i]!, values).map((v) => v.data);
            slots.forEach((_, j) => expectAgree(row[j]!, h[i]![j]!, SECOND_TOLERANCE, `∂²${name}(${a}, ${b}) [${i}][${j}] (${isValue})`));
          });
        }
      }
    });
  }

  it('uses stable forms: σ′, tanh′ and softplus′ keep their digits in the tails', () => {
    // 1 − tanh²(20) and σ(40)·(1 − σ(40)) round to 0 or lose every digit; the rules do not.
    for (const [f, x, exact] of [
      [tanh, 20, 4 * Math.exp(-40) / (1 + Math.exp(-40)) ** 2],
      [(v: Value) => v.sigmoid(), 40, Math.exp(-40) / (1 + Math.exp(-40)) ** 2],
      [(v: Value) => v.softplus(), -40, Math.exp(-40) / (1 + Math.exp(-40))],
    ] as const) {
      const v = new Value(x);
      expectAgree(grad(f(v), v, { createGraph: true }).data, exact, { rtol: 1e-13, atol: 0 }, `${f.name || 'op'}′(${x})`);
    }
  });
});

describe('grad without createGraph', () => {
  it('equals backward() bit for bit on random graphs, at leaves and interior nodes, and writes no grad', () => {
    const rng = createRng(20_261_202);
    let compared = 0;
    for (let run = 0; run < 1500; run++) {
      const c = randomCase(rng);
      const inputs = c.inputs.map((x, i) => new Value(x, c.graph.inputNames[i]));
      let nodes: Value[];
      try {
        nodes = evaluateGraph(c.graph, inputs, valueAlgebra);
      } catch (e) {
        if (e instanceof NonFiniteError) continue;
        throw e;
      }
      const out = nodes[c.graph.root]!;
      const all = topologicalOrder(out).filter((v) => !v.isConstant);
      let theirs: Error | null = null;
      try { out.backward(); } catch (e) { theirs = e as Error; }
      const before = all.map((v) => v.grad);
      let ours: Value[] | Error;
      try { ours = grad(out, all); } catch (e) { ours = e as Error; }
      expect(all.map((v) => v.grad), 'grad() wrote a .grad').toEqual(before);
      if (theirs !== null) {
        expect(ours, c.command).toBeInstanceOf(NonFiniteError);
        continue;
      }
      expect(ours).toBeInstanceOf(Array);
      (ours as Value[]).forEach((g, k) => {
        if (!Object.is(g.data, all[k]!.grad)) throw new Error(`${c.command}: grad ${g.data} ≠ backward ${all[k]!.grad} at node ${k} (${all[k]!.op || 'leaf'})`);
      });
      compared++;
    }
    expect(compared).toBeGreaterThan(1000);
  }, 120_000);

  it('equals backward() bit for bit where serials collide and the pass falls back to depth-first order', () => {
    // The graph of value.test.ts's wrap-around case: t gets n1's serial, as a node made 2³⁰ nodes
    // later would, and the order of x's shares (so its last bit) depends on which order runs.
    setNextSerial(100);
    const x = new Value(1, 'x');
    const c3 = x.mul(0.4), c2 = x.mul(0.6), c1 = x.mul(0.3), n1 = x.mul(0.6);
    setNextSerial(104);
    const t = x.mul(-1);
    const root = sum([c1, c2, c3, n1, t.mul(1).relu(), t.mul(0.7)]);
    setNextSerial(0);
    const ours = grad(root, [x, t, c1]).map((g) => g.data);
    root.backward();
    expect(ours.every((g, k) => Object.is(g, [x, t, c1][k]!.grad))).toBe(true);
  });

  it('gives 0 for inputs the output does not depend on, 1 for the output itself, and refuses constants and non-Values', () => {
    const x = new Value(2, 'x'), y = new Value(3, 'y');
    const L = x.mul(x);
    expect(grad(L, [x, y, L]).map((g) => g.data)).toEqual([4, 0, 1]);
    expect(grad(x, x).data).toBe(1);
    expect(grad(x, y).data).toBe(0);
    expect(() => grad(L, Value.constant(2))).toThrow(/input 0 is a constant/);
    expect(() => grad(L, [x, 3 as unknown as Value])).toThrow(/input 1 is not a Value: number 3/);
    expect(() => grad(3 as unknown as Value, x)).toThrow(/grad needs a Value to differentiate, got number 3/);
    expect(() => grad(L, x, { createGraph: 'yes' as unknown as boolean })).toThrow(/createGraph must be true or false/);
  });

  it('says so when a rule cannot be built where the number can: tanh′ at 1e308', () => {
    const x = new Value(1e308, 'x');
    const y = tanh(x);
    expect(grad(y, x).data).toBe(0);
    expect(() => grad(y, x, { createGraph: true }))
      .toThrow(/grad\(\): the local derivative of tanh\(x=1e\+308 \("x"\)\) with respect to x cannot be built from Values here: .*Infinity/);
  });

  it('reports a non-finite local derivative as backward() does', () => {
    const x = new Value(0, 'x');
    const y = sqrt(x).add(1);
    expect(() => y.backward()).toThrow(NonFiniteError);
    for (const createGraph of [false, true]) {
      expect(() => grad(y, x, { createGraph })).toThrow(/grad\(\): the local derivative of sqrt\(x=0 \("x"\)\) with respect to x is Infinity/);
    }
  });
});

describe('grad with createGraph', () => {
  it('labels gradients ∂L/∂w and renames nothing of the forward graph', () => {
    const a = new Value(2, 'a'), b = new Value(3, 'b');
    const L = a.mul(b);
    L.label = 'L';
    const [ga, gb] = grad(L, [a, b], { createGraph: true });
    expect([ga!.label, gb!.label, ga!.data, gb!.data]).toEqual(['∂L/∂a', '∂L/∂b', 3, 2]);
    expect([a.label, b.label, L.label]).toEqual(['a', 'b', 'L']);
    expect(grad(ga!, b, { createGraph: true }).label).toBe('∂²L/∂a∂b');
    expect(grad(grad(ga!, b, { createGraph: true }), a).label).toBe('∂³L/∂a∂b∂a');
  });

  it('passes gradients on below an adjoint of 0: (w·x)² at w = 0 has ∂²/∂w² = 2x²', () => {
    const w = new Value(0, 'w'), x = new Value(3, 'x');
    const L = mul(w, x).pow(2);
    const g = grad(L, w, { createGraph: true });
    expect(g.data).toBe(0);
    expect(grad(g, w).data).toBe(18);
    expect(grad(g, x).data).toBe(0); // ∂²L/∂w∂x = 4wx = 0
  });

  it('differentiates with respect to interior nodes and the same input twice, each result its own labelled node', () => {
    const x = new Value(1.5, 'x'), y = new Value(-2, 'y');
    const h = x.mul(y);
    h.label = 'h';
    const L = h.mul(h).add(x);
    L.label = 'L';
    const [gh, gx, gx2] = grad(L, [h, x, x], { createGraph: true });
    expect([gh!.label, gh!.data, gx!.data, gx2!.data]).toEqual(['∂L/∂h', 2 * -3, 2 * -3 * -2 + 1, 2 * -3 * -2 + 1]);
    expect(gx).not.toBe(gx2); // each result its own node, so that each has its own label
    expect(h.label).toBe('h');
    expect(grad(gh!, [x, y]).map((g) => g.data)).toEqual([2 * -2, 2 * 1.5]); // ∂(2xy)/∂x, ∂(2xy)/∂y
 
    // x and y get the same share (cos(x + y), one node): each result still gets its own label.
    const s = sin(x.add(y));
    s.label = 'S';
    const [sx, sy] = grad(s, [x, y], { createGraph: true });
    expect([sx!.label, sy!.label]).toEqual(['∂S/∂x', '∂S/∂y']);
    expect([sx!.data, sy!.data]).toEqual([Math.cos(-0.5), Math.cos(-0.5)]);
  });

  it('touches no .grad and works on graphs sharing nodes', () => {
    const x = new Value(0.5, 'x');
    const s = sin(x);
    const f1 = s.mul(s), f2 = s.add(x.mul(x));
    x.grad = 7;
    const g1 = grad(f1, x, { createGraph: true }), g2 = grad(f2, x, { createGraph: true });
    expect(x.grad).toBe(7);
    expect(s.grad).toBe(0);
    expectAgree(g1.data, 2 * Math.sin(0.5) * Math.cos(0.5), { rtol: 1e-15, atol: 0 }, 'f1′');
    expectAgree(g2.data, Math.cos(0.5) + 1, { rtol: 1e-15, atol: 0 }, 'f2′');
    expectAgree(grad(g1, x).data, 2 * Math.cos(1), { rtol: 1e-14, atol: 0 }, 'f1″');
    expectAgree(grad(g2, x).data, 2 - Math.sin(0.5), { rtol: 1e-15, atol: 0 }, 'f2″');
  });

  it('refuses a graph whose data changed after it was built, and says why', () => {
    const w = new Value(1.5, 'w'), x = new Value(2, 'x');
    const L = tanh(w.mul(x)).add(relu(w));
    expect(() => grad(L, w, { createGraph: true })).not.toThrow();
    const before = grad(L, w).data;
    w.data = 1.4; // an optimiser step
    expect(() => grad(L, w, { createGraph: true })).toThrow(StaleGraphError);
    expect(() => grad(L, w, { createGraph: true })).toThrow(/graph is out of date: relu\(x=1\.4 \("w"\)\) now gives 1\.4.*made as 1\.5.*run the forward pass again/s);
    // The number path reads only what the graph stored, as backward() does.
    expect(grad(L, w).data).toBe(before);
    w.data = 1.5;
    expect(() => grad(L, w, { createGraph: true })).not.toThrow();
  });
});
