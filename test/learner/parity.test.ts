import { describe, expect, it } from 'vitest';
import { fitParity, PARITY_DEFAULTS } from '../../src/learner/parity.js';
import { trainingSet } from '../../src/learner/net111.js';
import type { MLPJson } from '../../src/tools/nn.js';

const sigma = (z: number): number => 1 / (1 + Math.exp(-z));

/** The trained 1-H-1 sigmoid network on plain numbers, from its saved parameters: an independent check of the outputs. */
function output(json: MLPJson, x: number): number {
  const [hidden, out] = json.layers;
  const h = hidden!.neurons.map((n) => sigma(n.w[0]! * x + n.b));
  const o = out!.neurons[0]!;
  return sigma(o.w.reduce((s, w, i) => s + w * h[i]!, 0) + o.b);
}

// Seeds 1–200 all fitted with loss below 1e-3 when the defaults were chosen; the bound leaves room.
const LOSS_BOUND = 5e-3;

describe('the learner\'s case completed: a 1-H-1 network fits the nine parity points', () => {
  it(`with H = ${PARITY_DEFAULTS.hidden}, Adam at lr ${PARITY_DEFAULTS.lr}, ${PARITY_DEFAULTS.steps} steps: all nine right, loss < ${LOSS_BOUND}, for seeds 1–5`, () => {
    const samples = trainingSet('parity');
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = fitParity({ seed });
      expect(r.seed).toBe(seed);
      expect(r.hidden).toBe(16);
      expect(r.parameters).toBe(3 * 16 + 1);
      expect(r.allCorrect).toBe(true);
      expect(r.loss).toBeLessThan(LOSS_BOUND);
      // The reported outputs are the saved network's, on the learner's data.
      expect(r.outputs.map((o) => [o.raw, o.x, o.a])).toEqual(samples.map((s) => [s.raw, s.x, s.a]));
      let squares = 0;
      for (const o of r.outputs) {
        const y = output(r.model, o.x);
        expect(o.y).toBeCloseTo(y, 12);
        expect(y > 0.5).toBe(o.a === 1);
        squares += (y - o.a) ** 2;
      }
      expect(r.loss).toBeCloseTo(squares / 9, 12);
      expect(r.curve.at(-1)).toEqual({ step: r.steps, loss: r.loss });
    }
  }, 30_000);

  it('is deterministic under the seed', () => {
    const a = fitParity({ seed: 9, steps: 200 });
    const b = fitParity({ seed: 9, steps: 200 });
    expect(b).toEqual(a);
    expect(fitParity({ seed: 10, steps: 200 }).model).not.toEqual(a.model);
  });

  it('with one hidden unit (the learner\'s 1-1-1 shape) the same training cannot classify all nine', () => {
    const r = fitParity({ hidden: 1 });
    expect(r.allCorrect).toBe(false);
    // Its output is monotone in x, and a threshold on a monotone output gets at most 5 of the 9
    // alternating labels right; its loss cannot go below the best monotone fit's, 2/9.
    expect(r.outputs.filter((o) => o.correct).length).toBeLessThanOrEqual(5);
    expect(r.loss).toBeGreaterThan(2 / 9 - 1e-9);
  });

  it('rejects bad settings', () => {
    expect(() => fitParity({ hidden: 0 })).toThrow(/hidden must be a whole number ≥ 1, got 0/);
    expect(() => fitParity({ steps: 1.5 })).toThrow(/steps must be a whole number ≥ 0, got 1.5/);
    expect(() => fitParity({ lr: -1 })).toThrow(/lr must be a finite number ≥ 0/);
  });
});
