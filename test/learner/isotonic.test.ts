import { describe, expect, it } from 'vitest';
import { bestMonotoneFit, isotonicIncreasing } from '../../src/learner/isotonic.js';
import { createRng } from '../../src/tools/random.js';

const mse = (y: number[], f: number[]): number => y.reduce((s, v, k) => s + (v - f[k]!) ** 2, 0) / y.length;

describe('isotonic regression', () => {
  it('pools adjacent violators on small known cases', () => {
    expect(isotonicIncreasing([1, 2, 3])).toEqual([1, 2, 3]);
    expect(isotonicIncreasing([3, 1, 2])).toEqual([2, 2, 2]);
    expect(isotonicIncreasing([1, 3, 2, 4])).toEqual([1, 2.5, 2.5, 4]);
    expect(isotonicIncreasing([0, 1, 0, 1, 0])).toEqual([0, 0.5, 0.5, 0.5, 0.5]);
    expect(isotonicIncreasing([2, 0], [3, 1])).toEqual([1.5, 1.5]);
  });

  it('gives the learner\'s parity labels a floor of 2/9, below the constant predictor\'s 20/81', () => {
    const labels = [0, 1, 0, 1, 0, 1, 0, 1, 0];
    const fit = bestMonotoneFit(labels);
    expect(fit.mse).toBeCloseTo(2 / 9, 14);
    expect(mse(labels, Array(9).fill(4 / 9))).toBeCloseTo(20 / 81, 14);
    expect(bestMonotoneFit([1, 0]).direction).toBe('decreasing');
    expect(bestMonotoneFit([1, 0]).mse).toBe(0);
  });

  it('is monotone and beats every monotone sequence tried at random', () => {
    const rng = createRng(3);
    for (let t = 0; t < 200; t++) {
      const n = 1 + rng.int(8);
      const y = Array.from({ length: n }, () => rng.int(3));
      const fit = isotonicIncreasing(y);
      for (let k = 1; k < n; k++) expect(fit[k]!).toBeGreaterThanOrEqual(fit[k - 1]! - 1e-15);
      for (let r = 0; r < 50; r++) {
        const other = Array.from({ length: n }, () => rng.uniform(-1, 3)).sort((a, b) => a - b);
        expect(mse(y, fit)).toBeLessThanOrEqual(mse(y, other) + 1e-12);
      }
    }
  });

  it('rejects bad input with a clear message', () => {
    expect(() => isotonicIncreasing([1, Number.NaN])).toThrow(/finite/);
    expect(() => isotonicIncreasing([1, 2], [1])).toThrow(/one weight per value/);
    expect(() => bestMonotoneFit([])).toThrow(/at least one/);
  });
});
