import { describe, expect, it } from 'vitest';
import {
  autodiffGradients, buildNet111, checkMonotone, learnerDeltas, manualGradients, PARAM_NAMES, train, trainingSet,
  LEARNER_FORMULAS, MANUAL_FORMULAS, NET111_MODEL,
  type Params,
} from '../../src/learner/net111.js';
import { createRng } from '../../src/tools/random.js';
import { buildGraph } from '../../src/tools/expr.js';

const sigma = (z: number): number => 1 / (1 + Math.exp(-z));
/** The loss as a plain function, for central differences: an oracle independent of the engine. */
const lossOf = (p: Params, x: number, a: number): number => (sigma(p.w2 * sigma(p.w1 * x + p.b1) + p.b2) - a) ** 2;

function centralDifference(p: Params, x: number, a: number, k: keyof Params, eps = 1e-6): number {
  return (lossOf({ ...p, [k]: p[k] + eps }, x, a) - lossOf({ ...p, [k]: p[k] - eps }, x, a)) / (2 * eps);
}

const randomParams = (rng: ReturnType<typeof createRng>): Params =>
  ({ w1: rng.uniform(-3, 3), b1: rng.uniform(-3, 3), w2: rng.uniform(-3, 3), b2: rng.uniform(-3, 3) });

describe('the learner\'s 1-1-1 network', () => {
  it('has the learner\'s data: x = 1..9 divided by 9, a = 1 for even x', () => {
    const s = trainingSet('parity');
    expect(s.map((d) => d.x)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((r) => r / 9));
    expect(s.map((d) => d.a)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0]);
    expect(trainingSet('threshold').map((d) => d.a)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1]);
  });

  it('builds the forward pass from Values, labelled as in the formulas', () => {
    const p = { w1: 0.3, b1: 0.1, w2: -0.2, b2: 0.05 };
    const g = buildNet111(p, 2 / 9, 1);
    expect(g.h.data).toBeCloseTo(sigma(0.3 * 2 / 9 + 0.1), 15);
    expect(g.y.data).toBeCloseTo(sigma(-0.2 * g.h.data + 0.05), 15);
    expect(g.loss.data).toBeCloseTo(lossOf(p, 2 / 9, 1), 15);
    expect([g.h.label, g.y.label, g.loss.label, g.w1.label]).toEqual(['h', 'y', 'L', 'w1']);
  });

  it('autodiff, the hand formulas and central differences agree for random parameters and samples', () => {
    const rng = createRng(11);
    for (let t = 0; t < 300; t++) {
      const p = randomParams(rng);
      const { x, a } = trainingSet('parity')[rng.int(9)]!;
      const auto = autodiffGradients(p, x, a).grads;
      const manual = manualGradients(p, x, a);
      for (const k of PARAM_NAMES) {
        // Exact formulas: rtol 1e-9, atol 1e-12.
        expect(Math.abs(manual[k] - auto[k])).toBeLessThanOrEqual(1e-12 + 1e-9 * Math.abs(auto[k]));
        // Central differences: atol 1e-5, rtol 1e-3.
        const numeric = centralDifference(p, x, a, k);
        expect(Math.abs(auto[k] - numeric)).toBeLessThanOrEqual(1e-5 + 1e-3 * Math.abs(numeric));
      }
    }
  });

  it('transcribes the learner\'s rules: w2 and w1 carry the wrong factor, the bias rules are right', () => {
    const p = { w1: 0.7, b1: -0.2, w2: -0.4, b2: 0.3 };
    const x = 4 / 9, a = 1, lr = 0.1;
    const d = learnerDeltas(p, x, a, lr);
    const m = manualGradients(p, x, a);
    const h = sigma(p.w1 * x + p.b1), y = sigma(p.w2 * h + p.b2);
    const delta2 = 2 * (y - a) * y * (1 - y);
    // As posted: · w2 in Δw2 (not · h), · w1 in Δw1 (not · x).
    expect(d.w2).toBeCloseTo(delta2 * p.w2 * lr, 15);
    expect(d.w1).toBeCloseTo(delta2 * p.w2 * h * (1 - h) * p.w1 * lr, 15);
    expect(d.b2 / lr).toBeCloseTo(m.b2, 14);
    expect(d.b1 / lr).toBeCloseTo(m.b1, 14);
    expect(Math.abs(d.w2 / lr - m.w2)).toBeGreaterThan(1e-3);
    expect(Math.abs(d.w1 / lr - m.w1)).toBeGreaterThan(1e-4);
  });

  it('checkMonotone counts a non-monotone function as such, and a monotone one as monotone', () => {
    // A bump in x (down then up for w1 > 0) is monotone for no setting with w1 ≠ 0.
    const bump = checkMonotone({ settings: 200, seed: 3, model: (p, x) => p.w1 * (x - 0.5) ** 2 });
    expect(bump.monotone).toBe(0);
    // Its largest violation is at most the bump's height on [0, 1], |w1|·0.25, with |w1| ≤ scale = 10.
    expect(bump.largestViolation).toBeGreaterThan(0);
    expect(bump.largestViolation).toBeLessThanOrEqual(10 * 0.25);
    // Increasing when w1·w2 > 0 and decreasing when it is < 0: monotone in the checked direction, always.
    const line = checkMonotone({ settings: 200, seed: 3, model: (p, x) => Math.sign(p.w1 * p.w2) * x });
    expect(line.monotone).toBe(200);
    expect(line.largestViolation).toBe(0);
    // Increasing regardless of the sign of w1·w2: monotone only where w1·w2 > 0, so about half.
    const up = checkMonotone({ settings: 400, seed: 3, model: (_p, x) => x });
    expect(up.monotone).toBeGreaterThan(100);
    expect(up.monotone).toBeLessThan(300);
  });

  it('keeps y monotone in x for random weights', () => {
    const r = checkMonotone({ settings: 2000, seed: 5 });
    expect(r.monotone).toBe(2000);
    // Independently: the sign of dy/dx by central differences is the sign of w1·w2.
    const rng = createRng(9);
    for (let t = 0; t < 500; t++) {
      const p = randomParams(rng);
      const x = rng.next();
      const slope = lossOf(p, x + 1e-6, 0) - lossOf(p, x - 1e-6, 0); // L = y² with a = 0: same sign as dy/dx
      if (Math.abs(slope) > 1e-14) expect(Math.sign(slope)).toBe(Math.sign(p.w1 * p.w2));
    }
  });

  it('learns the threshold target with correct gradients, at the learner\'s settings and at lr 1', () => {
    for (const seed of [1, 2, 3]) {
      expect(train({ rules: 'autodiff', target: 'threshold', seed }).loss).toBeLessThan(0.03);
      expect(train({ rules: 'autodiff', target: 'threshold', seed, lr: 1 }).loss).toBeLessThan(0.01);
    }
  });

  it('cannot fit parity: the trained loss stays above the isotonic floor 2/9', () => {
    for (const seed of [1, 2]) {
      const r = train({ rules: 'autodiff', seed });
      expect(r.loss).toBeGreaterThan(2 / 9);
      const ys = r.outputs.map((o) => o.y);
      expect(Math.max(...ys) - Math.min(...ys)).toBeLessThan(0.1);
    }
  });

  it('is deterministic under the seed, and manual and autodiff training follow the same path', () => {
    const a = train({ rules: 'autodiff', seed: 4, steps: 500 });
    expect(train({ rules: 'autodiff', seed: 4, steps: 500 })).toEqual(a);
    const m = train({ rules: 'manual', seed: 4, steps: 500 });
    for (const k of PARAM_NAMES) expect(m.final[k]).toBeCloseTo(a.final[k], 10);
    expect(train({ rules: 'autodiff', seed: 5, steps: 500 }).final).not.toEqual(a.final);
  });

  it('rejects bad training options with a clear message', () => {
    expect(() => train({ rules: 'autodiff', steps: -1 })).toThrow(/steps must be a whole number/);
    expect(() => train({ rules: 'autodiff', lr: 0 })).toThrow(/lr must be a positive number/);
    expect(() => train({ rules: 'nope' as never })).toThrow(/rules must be one of/);
  });
});

describe('the formulas the report diagnoses', () => {
  it('LEARNER_FORMULAS and MANUAL_FORMULAS are the learner\'s rules (÷ lr) and the hand formulas, transcribed', () => {
    const rng = createRng(5);
    for (let k = 0; k < 20; k++) {
      const p = { w1: rng.uniform(-2, 2), b1: rng.uniform(-1, 1), w2: rng.uniform(-2, 2), b2: rng.uniform(-1, 1) };
      const x = rng.uniform(0, 1), a = rng.int(2);
      // h and y by hand, so that only the transcription is under test.
      const s = (z: number): number => 1 / (1 + Math.exp(-z));
      const h = s(p.w1 * x + p.b1), y = s(p.w2 * h + p.b2);
      const scope = { ...p, x, a, h, y };
      const lr = 0.1;
      const deltas = learnerDeltas(p, x, a, lr), hand = manualGradients(p, x, a);
      for (const name of PARAM_NAMES) {
        const claimed = buildGraph(LEARNER_FORMULAS[name], scope).output.data;
        expect(Math.abs(claimed - deltas[name] / lr)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(claimed)));
        const manual = buildGraph(MANUAL_FORMULAS[name], scope).output.data;
        expect(Math.abs(manual - hand[name])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(manual)));
      }
    }
    // The model text is the network: its loss matches buildNet111's.
    const p = { w1: 0.3, b1: -0.1, w2: 0.7, b2: 0.2 };
    expect(buildGraph(NET111_MODEL, { ...p, x: 0.4, a: 1 }).output.data).toBe(buildNet111(p, 0.4, 1).loss.data);
  });
});
