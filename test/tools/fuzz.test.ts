/**
 * Property-based tests of the engine over random expression graphs (see fuzz-graphs.ts): reverse
 * mode against forward mode (Dual numbers) and against central differences, backward() twice, and
 * compile() against the engine, bit for bit.
 * A failure prints the shrunk case as the `micrograd grad` command that reproduces it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { add, agrees, buildGraph, mul, sub, tanh, OP_NAMES, Value } from '../../src/index.js';
import { Dual } from '../../src/tools/dual.js';
import { compile } from '../../src/tools/compile.js';
import {
  checkBackwardTwice, checkCompiled, checkFiniteDifferences, errorScales, checkReverseAgainstForward, dualAlgebra, evaluateGraph,
  caseOf, fuzzCaseArbitrary, graphStats, makeCase, toCommand, toExpression, valueAlgebra,
} from './fuzz-graphs.js';
import type { Algebra, FuzzCase, Graph, Outcome } from './fuzz-graphs.js';

/** Fixed, so that CI is reproducible; set FUZZ_SEED to explore other graphs. */
const SEED = process.env.FUZZ_SEED === undefined ? 20_250_601 : Number(process.env.FUZZ_SEED);
const RUNS = 10_000;
/** Compiling is the slow part (two back ends, `new Function` for one): fewer graphs here, more in `npm run fuzz`. */
const COMPILE_RUNS = 3_000;
/** Each property takes a few seconds alone; the margin is for a loaded machine. */
const TIMEOUT = 120_000;
/**
 * With plain inputs a kink within eps is rare: discards come from graphs such as relu(x − x), or
 * max(u, v) with u and v equal at a point but not around it.
 */
const MAX_DISCARD_FRACTION = 0.05;

type Check = (c: FuzzCase, engine: Algebra<Value>) => Outcome;

interface Tally {
  checked: number;
  discarded: number;
}

function property(check: Check, engine: Algebra<Value> = valueAlgebra, tally: Tally = { checked: 0, discarded: 0 }) {
  // Central differences are spoiled by a kink within the step: they get plain inputs, the others
  // inputs that favour 0 (where relu and abs have theirs).
  const cases = fuzzCaseArbitrary({ inputBias: check !== checkFiniteDifferences });
  return fc.property(cases, (c) => {
    const outcome = check(c, engine);
    if (outcome === 'discard') {
      tally.discarded++;
      fc.pre(false);
    }
    tally.checked++;
    if (outcome !== null) throw new Error(outcome);
  });
}

describe('the graph generator', () => {
  const sample = fc.sample(fuzzCaseArbitrary(), { numRuns: 3000, seed: SEED });

  it('covers the whole op set, Value exponents, n-ary sums, shared subexpressions and depth 12', () => {
    const ops = new Set<string>(), maxMinForms = new Set<string>();
    let deepest = 0, widestSum = 0, shared = 0, multiInput = 0;
    for (const c of sample) {
      const s = graphStats(c.graph);
      s.ops.forEach((o) => ops.add(o));
      s.maxMinForms.forEach((f) => maxMinForms.add(f));
      deepest = Math.max(deepest, s.depth);
      widestSum = Math.max(widestSum, s.widestSum);
      if (s.shared) shared++;
      if (c.inputs.length > 1) multiInput++;
    }
    for (const op of OP_NAMES) expect(ops, `no sampled graph uses ${op}`).toContain(op);
    expect(ops).toContain('pow-value');
    // Ties on purpose (the tie rule), and a number on either side.
    expect([...maxMinForms].sort()).toEqual(['max(c, u)', 'max(u, c)', 'max(u, u)', 'min(c, u)', 'min(u, c)', 'min(u, u)']);
    expect(deepest).toBeGreaterThanOrEqual(12);
    expect(widestSum).toBeGreaterThanOrEqual(4);
    expect(shared / sample.length).toBeGreaterThan(0.1);
    expect(multiInput / sample.length).toBeGreaterThan(0.3);
  });

  it('prints graphs that the expression language reads back to the same value and gradient', () => {
    // The printed program is what a failure asks to paste into `micrograd grad`: it must be the graph.
    // The same ops on the same numbers give the same value; the gradient's terms may be summed in
    // another order (nodes are made in another order), so it agrees to rounding error.
    for (const c of sample) {
      const bindings = Object.fromEntries(c.graph.inputNames.map((name, i) => [name, c.inputs[i]!]));
      const read = buildGraph(toExpression(c.graph), bindings);
      const inputs = c.inputs.map((x) => new Value(x));
      const out = evaluateGraph(c.graph, inputs, valueAlgebra)[c.graph.root]!;
      read.output.backward();
      out.backward();
      const context = toExpression(c.graph);
      expect(read.output.data, context).toBe(out.data);
      const { pathMagnitude } = errorScales(c.graph, c.inputs);
      c.graph.inputNames.forEach((name, i) => {
        const g = agrees(read.variables.get(name)?.grad ?? 0, inputs[i]!.grad, { rtol: 1e-12, atol: 1e-13 * pathMagnitude[i]! });
        expect(g.ok, `${context}: ∂/∂${name}, |difference| ${g.absError} > ${g.allowed}`).toBe(true);
      });
    }
  });

  it('builds the same graph from the same choices, and the simplest from none', () => {
    const c = sample[sample.length - 1]!;
    expect(makeCase(c.choices, c.inputs).command).toBe(c.command);
    expect(makeCase([], [0.5]).command).toBe('micrograd grad "x" --at x=0.5');
  });

  // x·y shared three times: t2 = x·y; sum(−(log(1 + t2²) − t2), −1.5, t2).
  const graph: Graph = {
    inputNames: ['x', 'y'],
    nodes: [
      { kind: 'input', index: 0 },
      { kind: 'input', index: 1 },
      { kind: 'binary', op: '*', a: { node: 0 }, b: { node: 1 } },
      { kind: 'binary', op: 'pow', a: { node: 2 }, b: { constant: 2 } },
      { kind: 'binary', op: '+', a: { constant: 1 }, b: { node: 3 } },
      { kind: 'unary', op: 'log', arg: 4 },
      { kind: 'binary', op: '-', a: { node: 5 }, b: { node: 2 } },
      { kind: 'unary', op: 'neg', arg: 6 },
      { kind: 'sum', terms: [{ node: 7 }, { constant: -1.5 }, { node: 2 }] },
    ],
    root: 8,
  };

  it('prints a graph as a program, shared nodes as named intermediates', () => {
    expect(toExpression(graph)).toBe('t2 = (x * y); sum((-(log((1 + (t2 ^ 2))) - t2)), (-1.5), t2)');
    expect(toCommand(graph, [0.5, -1])).toBe('micrograd grad "t2 = (x * y); sum((-(log((1 + (t2 ^ 2))) - t2)), (-1.5), t2)" --at x=0.5,y=-1');
  });

  it('evaluates a graph with Values and with Duals', () => {
    const x = 0.5, y = -1.2, p = x * y;
    const hand = -(Math.log(1 + p * p) - p) - 1.5 + p;
    // ∂/∂x = (−2p/(1 + p²) + 1 + 1)·y
    const handDx = (-2 * p / (1 + p * p) + 2) * y;
    const leaves = [new Value(x), new Value(y)];
    const out = evaluateGraph(graph, leaves, valueAlgebra)[graph.root]!;
    out.backward();
    expect(out.data).toBeCloseTo(hand, 14);
    expect(leaves[0]!.grad).toBeCloseTo(handDx, 14);
    const d = evaluateGraph(graph, [Dual.variable(x), Dual.constant(y)], dualAlgebra)[graph.root]!;
    expect(d.value).toBeCloseTo(hand, 14);
    expect(d.tangent).toBeCloseTo(handDx, 14);
  });
});

describe('the central-difference property near relu and abs kinks', () => {
  const x = { node: 0 } as const;
  const unary = (op: 'relu' | 'abs', arg: number) => ({ kind: 'unary', op, arg }) as const;
  const input = { kind: 'input', index: 0 } as const;
  // relu(x), abs(x − 0.25), and relu(relu(x) − 1) (whose argument is negative near x = 0.5).
  const relu: Graph = { inputNames: ['x'], nodes: [input, unary('relu', 0)], root: 1 };
  const shiftedAbs: Graph = {
    inputNames: ['x'],
    nodes: [input, { kind: 'binary', op: '-', a: x, b: { constant: 0.25 } }, unary('abs', 1)],
    root: 2,
  };
  const nested: Graph = {
    inputNames: ['x'],
    nodes: [input, unary('relu', 0), { kind: 'binary', op: '-', a: { node: 1 }, b: { constant: 1 } }, unary('relu', 2)],
    root: 3,
  };

  it('discards a case whose step crosses a kink, or starts on one', () => {
    expect(checkFiniteDifferences(caseOf(relu, [0]))).toBe('discard');
    expect(checkFiniteDifferences(caseOf(relu, [-5e-7]))).toBe('discard');
    expect(checkFiniteDifferences(caseOf(shiftedAbs, [0.25 + 2e-7]))).toBe('discard');
  });

  it('checks a case away from kinks, and one whose relu is off around the point', () => {
    expect(checkFiniteDifferences(caseOf(relu, [0.5]))).toBeNull();
    expect(checkFiniteDifferences(caseOf(relu, [-0.5]))).toBeNull();
    expect(checkFiniteDifferences(caseOf(shiftedAbs, [0.2]))).toBeNull();
    // The outer relu's argument is −0.5 on both sides: smooth (constant 0) there.
    expect(checkFiniteDifferences(caseOf(nested, [0.5]))).toBeNull();
  });
});

describe(`properties over ${RUNS.toLocaleString('en-US')} random graphs`, () => {
  it('reverse mode equals forward mode to rounding error', () => {
    fc.assert(property(checkReverseAgainstForward), { numRuns: RUNS, seed: SEED, includeErrorInReport: true });
  }, TIMEOUT);

  it('backward() twice gives exactly twice the leaf gradients and the same interior ones', () => {
    fc.assert(property(checkBackwardTwice), { numRuns: RUNS, seed: SEED, includeErrorInReport: true });
  }, TIMEOUT);

  it(`compile() equals the engine bit for bit, at the traced inputs and at others (${COMPILE_RUNS.toLocaleString('en-US')} graphs)`, () => {
    fc.assert(property((c) => checkCompiled(c)), { numRuns: COMPILE_RUNS, seed: SEED, includeErrorInReport: true });
  }, TIMEOUT);

  it('reverse mode matches central differences away from relu and abs kinks and max/min crossings', () => {
    const tally: Tally = { checked: 0, discarded: 0 };
    fc.assert(property(checkFiniteDifferences, valueAlgebra, tally), { numRuns: RUNS, seed: SEED, includeErrorInReport: true });
    const fraction = tally.discarded / (tally.checked + tally.discarded);
    console.info(`central differences: ${tally.checked} graphs checked, ${tally.discarded} discarded (${(100 * fraction).toFixed(2)}%) at a relu/abs kink or a max/min crossing`);
    expect(tally.checked).toBeGreaterThanOrEqual(RUNS);
    expect(fraction).toBeLessThanOrEqual(MAX_DISCARD_FRACTION);
  }, TIMEOUT);
});

describe('the properties catch a broken engine', () => {
  /** Runs a property against a broken engine and returns fast-check's failure report. */
  function failure(check: Check, engine: Algebra<Value>): string {
    const run = fc.check(property(check, engine), { numRuns: 2000, seed: SEED, includeErrorInReport: true });
    expect(run.failed).toBe(true);
    return fc.defaultReportMessage(run) ?? '';
  }

  it('forward mode catches a tanh derivative off by 1e-7, and prints the shrunk case', () => {
    // tanh(x) + 1e-7·(x − x.data): the same value, a gradient 1e-7 too large.
    const skewed: Algebra<Value> = {
      ...valueAlgebra,
      unary: (op, x) => (op === 'tanh' ? add(tanh(x), mul(1e-7, sub(x, x.data))) : valueAlgebra.unary(op, x)),
    };
    const report = failure(checkReverseAgainstForward, skewed);
    expect(report).toMatch(/reverse mode disagrees with forward mode on ∂f\/∂[xyz]/);
    expect(report).toMatch(/reproduce: micrograd grad ".*tanh.*"( --at [xyz]=\S+)?/);
    expect(report).toMatch(/Counterexample: \[micrograd grad ".*tanh/);
  }, TIMEOUT);

  it('the compile property catches a compiled function that ignores new inputs', () => {
    // Stale: always the results at the traced inputs. Caught at the second point, where they differ.
    const stale = (c: FuzzCase) => checkCompiled(c, (k, strategy) => {
      const f = compile((xs) => evaluateGraph(k.graph, xs, valueAlgebra)[k.graph.root]!, k.inputs, { strategy });
      return Object.assign((x: ArrayLike<number>) => f(Array.from(x, (_, i) => k.inputs[i]!)), f);
    });
    const report = failure(stale, valueAlgebra);
    expect(report).toMatch(/compile \(code\) at \[\S+\]: (value|∂f\/∂[xyz]) \S+, the engine's \S+/);
    expect(report).toMatch(/reproduce: micrograd grad ".+"/);
  }, TIMEOUT);

  it('central differences catch a product that drops one factor\'s gradient', () => {
    // a·b with b detached (b.data): the right value, half the gradient of x·x.
    const detached: Algebra<Value> = {
      ...valueAlgebra,
      binary: (op, a, b) => (op === '*' && a instanceof Value && b instanceof Value ? valueAlgebra.binary(op, a, b.data) : valueAlgebra.binary(op, a, b)),
    };
    const report = failure(checkFiniteDifferences, detached);
    expect(report).toMatch(/reverse mode disagrees with central differences on ∂f\/∂[xyz]: reverse \S+, central difference \S+/);
    expect(report).toMatch(/reproduce: micrograd grad ".*\*.*"/);
  }, TIMEOUT);
});
