/**
 * Second derivatives on random expression graphs (fuzz-graphs.ts: every op of the generator,
 * Value-exponent pow, reused nodes): the engine's Hessian (grad with createGraph, then a reverse
 * pass per row) against hyper-dual forward mode and against central differences of the engine's
 * first derivatives; Hessians symmetric; H·v equal to the Hessian times v; third derivatives of
 * closed forms against their formulas; compile() on a function that calls grad.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Value, NonFiniteError, grad, hessian, hvp, compile, tanh, sigmoid, sin, atan, log, softplus,
} from '../../src/index.js';
import { gradNumbers } from '../../src/engine/grad.js';
import { HyperDual, forwardHessian } from '../../src/tools/hyper-dual.js';
import { agrees } from '../../src/tools/gradcheck.js';
import { evaluateGraph, fuzzCaseArbitrary, valueAlgebra } from './fuzz-graphs.js';
import type { Algebra, FuzzCase } from './fuzz-graphs.js';

const SEED = process.env.FUZZ_SEED === undefined ? 20_261_202 : Number(process.env.FUZZ_SEED);
const RUNS = 1500;
const TIMEOUT = 180_000;

/** Hyper-duals by op name (binary ops by operator or name), so that ops the generator gains are covered. */
const BINARY_METHOD: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', pow: 'pow', max: 'max', min: 'min' };
const hyperAlgebra: Algebra<HyperDual> = {
  unary: (op, x) => (x[op as keyof HyperDual] as () => HyperDual).call(x),
  binary: (op, a, b) => {
    const x = typeof a === 'number' ? HyperDual.constant(a) : a;
    return (x[BINARY_METHOD[op] as keyof HyperDual] as (o: HyperDual | number) => HyperDual).call(x, b);
  },
  sum: (terms) => HyperDual.sum(terms),
};

const valueFunction = (c: FuzzCase) => (xs: readonly Value[]): Value => evaluateGraph(c.graph, xs, valueAlgebra)[c.graph.root]!;

/** The engine's Hessian, or null where the graph cannot be evaluated or differentiated at the point. */
function engineHessian(c: FuzzCase): number[][] | null {
  try {
    return hessian(valueFunction(c), c.inputs).matrix.map((r) => r.slice());
  } catch (e) {
    if (e instanceof NonFiniteError) return null;
    throw e;
  }
}

/** Largest magnitude among the entries, and 1: the scale of the absolute tolerances. */
const scaleOf = (m: readonly (readonly number[])[]): number => Math.max(1, ...m.flat().map(Math.abs));

function property(check: (c: FuzzCase) => string | null | 'discard', tally: { checked: number; discarded: number }, inputBias: boolean) {
  return fc.property(fuzzCaseArbitrary({ inputBias }), (c) => {
    const outcome = check(c);
    if (outcome === 'discard') { tally.discarded++; fc.pre(false); }
    tally.checked++;
    if (outcome !== null) throw new Error(outcome);
  });
}

/**
 * Against hyper-duals: both are exact but for rounding, and the graphs' values stay below about
 * 1e3 with first derivatives of the same order; 1e-9 relative to the largest entry allows for the
 * cancellation in sums of products of such terms.
 */
function checkAgainstHyperDual(c: FuzzCase): string | null | 'discard' {
  const engine = engineHessian(c);
  let oracle: number[][];
  try {
    oracle = forwardHessian((xs) => evaluateGraph(c.graph, xs, hyperAlgebra)[c.graph.root]!, c.inputs);
  } catch (e) {
    if (e instanceof NonFiniteError) return engine === null ? 'discard' : `hyper-duals failed where the engine did not: ${(e as Error).message}\n  reproduce: ${c.command}`;
    throw e;
  }
  if (engine === null) return `the engine failed where hyper-duals did not\n  reproduce: ${c.command}`;
  const scale = scaleOf(oracle);
  for (let i = 0; i < engine.length; i++) {
    for (let j = 0; j < engine.length; j++) {
      const ok = agrees(engine[i]![j]!, oracle[i]![j]!, { rtol: 1e-9, atol: 1e-9 * scale });
      if (!ok.ok) return `H[${i}][${j}]: engine ${engine[i]![j]}, hyper-duals ${oracle[i]![j]} (|difference| ${ok.absError})\n  reproduce: ${c.command}`;
    }
  }
  return null;
}

/** Kinks (relu and abs arguments, max and min differences) whose sign differs between two points. */
function kinkSigns(c: FuzzCase, xs: readonly number[]): number[] {
  const values = evaluateGraph(c.graph, xs.map((x) => new Value(x)), valueAlgebra);
  const term = (t: { node: number } | { constant: number }): number => ('node' in t ? values[t.node]!.data : t.constant);
  return c.graph.nodes.flatMap((n) => {
    if (n.kind === 'unary' && (n.op === 'relu' || n.op === 'abs')) return [Math.sign(values[n.arg]!.data)];
    if (n.kind === 'binary' && ((n.op as string) === 'max' || (n.op as string) === 'min')) return [Math.sign(term(n.a) - term(n.b))];
    return [];
  });
}

const STEP = 1e-5;

/**
 * Against central differences of the engine's first derivatives (backward's numbers): truncation
 * O(h²·f⁗) and rounding O(u·|∇f|/h); discarded when a kink lies within the step.
 */
function checkAgainstDifferences(c: FuzzCase): string | null | 'discard' {
  const engine = engineHessian(c);
  if (engine === null) return 'discard';
  const f = valueFunction(c);
  const gradientAt = (xs: number[]): number[] => {
    const leaves = xs.map((x) => new Value(x));
    return gradNumbers(f(leaves), leaves);
  };
  const base = kinkSigns(c, c.inputs);
  let fd: number[][];
  try {
    fd = c.inputs.map((_, j) => {
      const up = c.inputs.slice(), down = c.inputs.slice();
      up[j]! += STEP; down[j]! -= STEP;
      for (const p of [up, down]) if (kinkSigns(c, p).some((s, k) => s !== base[k])) throw new Error('kink');
      const gu = gradientAt(up), gd = gradientAt(down);
      return gu.map((g, i) => (g - gd[i]!) / (up[j]! - down[j]!));
    });
  } catch (e) {
    if (e instanceof NonFiniteError || (e as Error).message === 'kink') return 'discard';
    throw e;
  }
  const gScale = Math.max(1, ...gradientAt(c.inputs.slice()).map(Math.abs));
  const scale = scaleOf(engine);
  for (let i = 0; i < engine.length; i++) {
    for (let j = 0; j < engine.length; j++) {
      // fd[j][i] = ∂/∂xⱼ of ∂f/∂xᵢ.
      const ok = agrees(engine[i]![j]!, fd[j]![i]!, { rtol: 1e-4, atol: 1e-5 * scale + (1e-13 * gScale) / STEP });
      if (!ok.ok) return `H[${i}][${j}]: engine ${engine[i]![j]}, central difference ${fd[j]![i]} (|difference| ${ok.absError})\n  reproduce: ${c.command}`;
    }
  }
  return null;
}

/** Each row is its own reverse pass, so H is symmetric to rounding only. */
function checkSymmetric(c: FuzzCase): string | null | 'discard' {
  const m = engineHessian(c);
  if (m === null) return 'discard';
  const scale = scaleOf(m);
  for (let i = 0; i < m.length; i++) {
    for (let j = 0; j < i; j++) {
      if (!agrees(m[i]![j]!, m[j]![i]!, { rtol: 1e-10, atol: 1e-10 * scale }).ok) {
        return `H[${i}][${j}] = ${m[i]![j]} but H[${j}][${i}] = ${m[j]![i]}\n  reproduce: ${c.command}`;
      }
    }
  }
  return null;
}

/** hvp(f, x, v) equals H·v (one pass against one per row). */
function checkHvp(c: FuzzCase): string | null | 'discard' {
  const m = engineHessian(c);
  if (m === null) return 'discard';
  const v = c.inputs.map((_, i) => [0.5, -1.25, 2][i]!);
  const product = hvp(valueFunction(c), c.inputs, v).product;
  const scale = scaleOf(m);
  for (let i = 0; i < m.length; i++) {
    const expected = m[i]!.reduce((s, h, j) => s + h * v[j]!, 0);
    if (!agrees(product[i]!, expected, { rtol: 1e-10, atol: 1e-10 * scale }).ok) return `(Hv)[${i}] = ${product[i]}, H·v = ${expected}\n  reproduce: ${c.command}`;
  }
  return null;
}

describe('second derivatives on random graphs', () => {
  // Hyper-duals keep the engine's conventions at kinks, so their inputs favour 0 (where relu and abs
  // have theirs); central differences need plain inputs, a kink within the step being discarded.
  for (const [name, check, inputBias] of [
    ['equal hyper-dual forward mode, at kinks too', checkAgainstHyperDual, true],
    ['equal central differences of the first derivatives', checkAgainstDifferences, false],
    ['form a symmetric Hessian', checkSymmetric, true],
    ['give hvp(f, x, v) = H·v', checkHvp, true],
  ] as const) {
    it(name, () => {
      const tally = { checked: 0, discarded: 0 };
      fc.assert(property(check, tally, inputBias), { numRuns: RUNS, seed: SEED });
      expect(tally.checked).toBe(RUNS);
      expect(tally.discarded).toBeLessThan(RUNS * 0.1);
    }, TIMEOUT);
  }
});

describe('third derivatives of closed forms', () => {
  /** d³f/dx³ by three nested grads (the first two with createGraph). */
  const third = (f: (x: Value) => Value, at: number): number => {
    const x = new Value(at, 'x');
    const g1 = grad(f(x), x, { createGraph: true });
    const g2 = grad(g1, x, { createGraph: true });
    return grad(g2, x).data;
  };
  const cases: [string, (x: Value) => Value, (x: number) => number][] = [
    ['tanh', tanh, (x) => { const t = Math.tanh(x); return (1 - t * t) * (6 * t * t - 2); }],
    ['sigmoid', sigmoid, (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s) * (1 - 6 * s + 6 * s * s); }],
    ['sin', sin, (x) => -Math.cos(x)],
    ['atan', atan, (x) => (6 * x * x - 2) / (1 + x * x) ** 3],
    ['log', log, (x) => 2 / x ** 3],
    ['softplus', softplus, (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s) * (1 - 2 * s); }],
    ['x⁵', (x) => x.pow(5), (x) => 60 * x * x],
    ['eˣ·sin x', (x) => x.exp().mul(x.sin()), (x) => 2 * Math.exp(x) * (Math.cos(x) - Math.sin(x))],
  ];
  for (const [name, f, formula] of cases) {
    it(`d³/dx³ ${name}`, () => {
      for (const at of [0.3, -1.1, 2.2, 0.01]) {
        if (name === 'log' && at <= 0) continue;
        const r = agrees(third(f, at), formula(at), { rtol: 1e-12, atol: 1e-14 });
        expect(r.ok, `d³/dx³ ${name} at ${at}: ${third(f, at)} vs ${formula(at)}`).toBe(true);
      }
    });
  }

  it('d⁴/dx⁴ sin at 0.7 = sin 0.7, through four nested grads', () => {
    const x = new Value(0.7, 'x');
    let g = x.sin();
    for (let k = 0; k < 4; k++) g = grad(g, x, { createGraph: true });
    expect(g.label).toBe('∂⁴output/∂x∂x∂x∂x');
    expect(agrees(g.data, Math.sin(0.7), { rtol: 1e-14, atol: 0 }).ok).toBe(true);
  });
});

describe('compile() and grad', () => {
  it('compiles a function whose output is built by grad with createGraph: its gradient is the second derivative', () => {
    // f = ‖∇g‖²/2 for g(a, b) = a²·b + sin(b): the compiled function's gradient is H·∇g.
    const fn = ([a, b]: readonly Value[]): Value => {
      const g = a!.mul(a!).mul(b!).add(b!.sin());
      const [ga, gb] = grad(g, [a!, b!], { createGraph: true });
      return ga!.mul(ga!).add(gb!.mul(gb!)).mul(0.5);
    };
    const compiled = compile(fn, [1.5, -0.5]);
    for (const [a, b] of [[1.5, -0.5], [0.3, 2], [-1, 0.25]] as const) {
      const r = compiled([a, b]);
      const ga = 2 * a * b, gb = a * a + Math.cos(b);
      expect(r.value).toBeCloseTo((ga * ga + gb * gb) / 2, 12);
      // H = [[2b, 2a], [2a, −sin b]].
      expect(r.gradient[0]).toBeCloseTo(2 * b * ga + 2 * a * gb, 12);
      expect(r.gradient[1]).toBeCloseTo(2 * a * ga - Math.sin(b) * gb, 12);
    }
  });

  it('refuses what it would freeze: gradients as numbers, and branches of relu, abs, max and min', () => {
    expect(() => compile(([a]) => grad(a!.mul(a!), a!), [2])).toThrow(/grad\(\) without createGraph.*createGraph: true/s);
    expect(() => compile(([a]) => grad(a!.relu().mul(a!), a!, { createGraph: true }), [2]))
      .toThrow(/relu.*decided at the traced point/s);
  });

  it('refuses pow\'s derivatives with a Value exponent, whose special cases at a base of 0 are decided from the data (traced at a = 2, run at a = 0 it would take ln 0)', () => {
    const fn = ([a, b]: readonly Value[]): Value => grad(a!.pow(b!), [a!, b!], { createGraph: true })[1]!;
    expect(() => compile(fn, [2, 1.5])).toThrow(/pow with a Value exponent.*decided at the traced point/s);
    // A number exponent has no such case: it still compiles.
    expect(compile(([a]) => grad(a!.pow(3), a!, { createGraph: true }), [2])([0.5]).value).toBe(0.75);
  });

  it('refuses a gradient of a gradient that was refused: the branch decided in the first is a constant in the second', () => {
    // ∂/∂y of ∂(relu(x)·y)/∂x is relu′(x), a number decided at the traced x: traced at x = 2 and run
    // at x = −2 it would give 3 where the engine gives 0.
    const fn = ([x, y]: readonly Value[]): Value => {
      const gx = grad(x!.relu().mul(y!), x!, { createGraph: true });
      return grad(gx, y!, { createGraph: true }).mul(y!);
    };
    expect(() => compile(fn, [2, 3])).toThrow(/relu.*decided at the traced point/s);
  });

  it('refuses atan\'s derivative, whose rule picks its form from |x| against 1 (traced at 0.5, run at 1.5 or 1e155 it would differ)', () => {
    expect(() => compile(([a]) => grad(a!.atan().mul(a!), a!, { createGraph: true }), [0.5]))
      .toThrow(/atan.*decided at the traced point/s);
  });
});
