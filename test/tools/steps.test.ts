/**
 * backwardSteps: the backward pass one node at a time. Its end state is compared with backward()'s
 * on random graphs (bit for bit for the leaves), its gradients with hand formulas, and each step
 * with the chain rule.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NonFiniteError, Value, topologicalOrder } from '../../src/engine/value.js';
import { buildGraph } from '../../src/tools/expr.js';
import { backwardSteps, type BackwardStep } from '../../src/tools/steps.js';
import { catchError } from '../catch-error.js';
import { evaluateGraph, fuzzCaseArbitrary, valueAlgebra, type FuzzCase } from './fuzz-graphs.js';

const SEED = 20_251_202;
const RUNS = 3000;
const TIMEOUT = 120_000;

function build(c: FuzzCase): Value {
  const inputs = c.inputs.map((x, i) => new Value(x, c.graph.inputNames[i]));
  return evaluateGraph(c.graph, inputs, valueAlgebra)[c.graph.root]!;
}

function stepAll(root: Value): BackwardStep[] {
  return [...backwardSteps(root)];
}

/** Builds the case twice; `earlier` passes first on both (so leaves start from non-zero grads); then backward() on one, steps on the other. */
function compare(c: FuzzCase, earlier: number): string | null {
  const a = build(c), b = build(c);
  for (let k = 0; k < earlier; k++) { a.backward(); b.backward(); }
  a.backward();
  const steps = stepAll(b);
  const na = topologicalOrder(a), nb = topologicalOrder(b);
  if (na.length !== nb.length) return 'the two builds differ';
  for (let k = 0; k < na.length; k++) {
    const x = na[k]!, y = nb[k]!;
    // Leaves bit for bit (a sign of zero included); interior grads as numbers.
    if (x.isLeaf ? !Object.is(x.grad, y.grad) : x.grad !== y.grad) {
      return `node ${k} (${x.op || 'leaf'}): backward() gives ${x.grad}, the steps ${y.grad}; ${c.command}`;
    }
  }
  const interior = nb.filter((v) => !v.isLeaf);
  if (steps.length !== Math.max(1, interior.length)) return `${steps.length} steps for ${interior.length} interior nodes; ${c.command}`;
  return null;
}

describe('backwardSteps against backward()', () => {
  it(`ends where backward() ends, on ${RUNS} random graphs (fresh, and after earlier passes)`, () => {
    fc.assert(
      fc.property(fuzzCaseArbitrary(), fc.integer({ min: 0, max: 2 }), (c, earlier) => {
        const failure = compare(c, earlier);
        if (failure !== null) throw new Error(failure);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, TIMEOUT);

  it('each step obeys the chain rule, and a node is processed only after all its users', () => {
    fc.assert(
      fc.property(fuzzCaseArbitrary(), (c) => {
        const root = build(c);
        const seen = new Map<Value, number>();
        const received = new Map<Value, number[]>(); // shares each interior node got, in order
        for (const s of backwardSteps(root)) {
          expect(seen.has(s.node)).toBe(false);
          seen.set(s.node, s.index);
          // Its gradient is the sum of the shares its users passed on, in the order they came.
          const shares = received.get(s.node);
          const expected = s.node === root ? 1 : shares!.slice(1).reduce((t, x) => t + x, shares![0]!);
          expect(Object.is(s.grad, expected)).toBe(true);
          expect(s.zero).toBe(s.grad === 0);
          for (const u of s.updates) {
            expect(u.input).toBe(s.node.inputs[u.slot]);
            expect(u.local).toBe(s.node.localGradients[u.slot]);
            expect(u.share).toBe(s.node.op === 'sum' ? s.grad : s.grad * u.local);
            expect(u.after).toBe(u.before === null ? u.share : u.before + u.share);
            if (!u.input.isLeaf) received.set(u.input, [...(received.get(u.input) ?? []), u.share]);
          }
        }
        // Every user of a node was processed before it.
        for (const [v, index] of seen) {
          for (const input of v.inputs) if (seen.has(input)) expect(seen.get(input)!).toBeGreaterThan(index);
        }
      }),
      { numRuns: 500, seed: SEED },
    );
  }, TIMEOUT);
});

describe('backwardSteps', () => {
  it('gives the hand-derived gradients, and a reused value visibly sums its shares', () => {
    // f = x·x + x at x = 3: df/dx = 2x + 1 = 7, from three shares 3, 3 and 1.
    const g = buildGraph('x*x + x', { x: 3 });
    const x = g.variables.get('x')!;
    const seenGrads: number[] = [];
    const shares: number[] = [];
    for (const s of backwardSteps(g.output)) {
      for (const u of s.updates) if (u.input === x) { shares.push(u.share); seenGrads.push(x.grad); }
    }
    expect(shares.sort()).toEqual([1, 3, 3]);
    expect(x.grad).toBe(7);
    // After each update the Value shows the sum so far; the last is the whole sum.
    expect(seenGrads.length).toBe(3);
    expect(seenGrads.at(-1)).toBe(7);
  });

  it('matches hand formulas on the learner\'s network', () => {
    const at = { x: 0.2222, a: 1, w1: 0.3, b1: 0, w2: -0.2, b2: 0 };
    const g = buildGraph('h = sigmoid(w1*x + b1); y = sigmoid(w2*h + b2); (y - a)^2', at);
    for (const _ of backwardSteps(g.output)) { /* to the end */ }
    const s = (z: number): number => 1 / (1 + Math.exp(-z));
    const h = s(at.w1 * at.x + at.b1), y = s(at.w2 * h + at.b2);
    const d2 = 2 * (y - at.a) * y * (1 - y), d1 = d2 * at.w2 * h * (1 - h);
    const hand = { w1: d1 * at.x, b1: d1, w2: d2 * h, b2: d2 };
    for (const [name, want] of Object.entries(hand)) {
      expect(Math.abs(g.variables.get(name)!.grad - want)).toBeLessThanOrEqual(1e-15 + 1e-12 * Math.abs(want));
    }
  });

  it('lists the nodes backward() may skip below a zero gradient', () => {
    // relu is off at x = 1, so nothing below it receives a non-zero share.
    const g = buildGraph('relu(x*w - 5) * y', { x: 1, w: 2, y: 3 });
    const steps = stepAll(g.output);
    expect(steps.map((s) => s.node.op)).toEqual(['*', 'relu', '-', '*']);
    expect(steps.slice(2).every((s) => s.zero && s.updates.length > 0)).toBe(true);
    expect(g.variables.get('w')!.grad).toBe(0);
    expect(g.variables.get('y')!.grad).toBe(0); // relu(−3) = 0
  });

  it('adds this pass to a leaf\'s earlier gradient once, and steps a leaf root', () => {
    const g = buildGraph('x*y', { x: 0.1, y: 0.7 });
    const x = g.variables.get('x')!;
    x.grad = 1e16;
    const steps = stepAll(g.output);
    expect(steps).toHaveLength(1);
    expect(x.grad).toBe(1e16 + 0.7);
    const leaf = new Value(4);
    leaf.grad = 2;
    expect(stepAll(leaf).map((s) => s.grad)).toEqual([1]);
    expect(leaf.grad).toBe(3);
  });

  it('throws backward()\'s NonFiniteError at a non-finite local derivative, leaving the leaves as they were', () => {
    const g = buildGraph('sqrt(x) * y', { x: 0, y: 2 });
    const x = g.variables.get('x')!, y = g.variables.get('y')!;
    x.grad = 5; y.grad = 6;
    const it = backwardSteps(g.output);
    it.next(); // the product: y gets sqrt(0) = 0, x's sqrt node gets 2
    expect(y.grad).toBe(6);
    const stepped = catchError(() => it.next()) as Error;
    const engine = catchError(() => g.output.backward()) as Error;
    expect(stepped).toBeInstanceOf(NonFiniteError);
    expect(stepped.message).toBe(engine.message);
    expect(engine.message).toMatch(/local derivative of sqrt\(x=0 \("x"\)\) with respect to x is Infinity/);
    expect(x.grad).toBe(5);
    expect(y.grad).toBe(6);
  });

  it('refuses a root that is not a Value', () => {
    expect(() => backwardSteps(3 as unknown as Value).next()).toThrow(/root must be a Value, got number 3/);
  });
});
