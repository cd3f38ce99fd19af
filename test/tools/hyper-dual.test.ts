/**
 * The hyper-dual oracle itself: each op's ε₁ parts equal forward mode's (Dual) tangents to rounding, and its
 * ε₁ε₂ part equals a central difference of those tangents. Neither shares code with the engine.
 */
import { describe, expect, it } from 'vitest';
import { OPS, OP_NAMES } from '../../src/index.js';
import { Dual } from '../../src/tools/dual.js';
import { HyperDual, forwardHessian } from '../../src/tools/hyper-dual.js';
import { agrees } from '../../src/tools/gradcheck.js';

const POINTS: Record<string, readonly number[]> = {
  log: [0.2, 1, 3.5], sqrt: [0.2, 1, 3.5], tan: [0.3, -1.2, 0.9],
};
const DEFAULT = [0.3, -0.7, 1.5, -2.5, 4];
const PAIRS: Record<string, readonly (readonly [number, number])[]> = {
  '/': [[1, 2], [-0.5, 0.75]], pow: [[2, 3], [0.5, -1.5], [1.5, 0.5]],
};
const DEFAULT_PAIRS = [[1, 2], [-0.5, 0.25], [2.5, -1]] as const;

type AnyOf<T> = (x: T, y?: T) => T;
function apply<T extends object>(name: string, x: T, y?: T): T {
  const m = OPS[name as keyof typeof OPS].method;
  return ((x as Record<string, unknown>)[m] as AnyOf<T>).call(x, y as T);
}

const H = 1e-5;

describe('HyperDual', () => {
  for (const name of OP_NAMES) {
    const op = OPS[name];
    if (op.arity === 'n') continue;
    it(`${name}: first parts equal Dual's tangents to rounding, the ε₁ε₂ part a central difference of them`, () => {
      if (op.arity === 1) {
        for (const x of POINTS[name] ?? DEFAULT) {
          const h = apply(name, new HyperDual(x, 1, 1, 0));
          const tangent = (at: number): number => apply(name, new Dual(at, 1)).tangent;
          expect(agrees(h.e1, tangent(x), { rtol: 1e-14, atol: 0 }).ok, `${name}′(${x}) = ${h.e1}`).toBe(true);
          expect(agrees(h.e12, (tangent(x + H) - tangent(x - H)) / (2 * H), { rtol: 1e-6, atol: 1e-8 }).ok, `${name}″(${x}) = ${h.e12}`).toBe(true);
        }
        return;
      }
      for (const [a, b] of PAIRS[name] ?? DEFAULT_PAIRS) {
        // ∂²/∂xᵢ∂xⱼ for (i, j) over both operands.
        const m = forwardHessian((xs) => apply(name, xs[0]!, xs[1]!), [a, b]);
        for (let i = 0; i < 2; i++) {
          for (let j = 0; j < 2; j++) {
            const tangent = (at: number[]): number => apply(name, new Dual(at[0]!, i === 0 ? 1 : 0), new Dual(at[1]!, i === 1 ? 1 : 0)).tangent;
            const up = [a, b], down = [a, b];
            up[j]! += H; down[j]! -= H;
            const fd = (tangent(up) - tangent(down)) / (2 * H);
            expect(agrees(m[i]![j]!, fd, { rtol: 1e-6, atol: 1e-8 }).ok, `∂²${name}(${a}, ${b})[${i}][${j}] = ${m[i]![j]} vs ${fd}`).toBe(true);
          }
        }
      }
    });
  }

  it('gives zero curvature at and away from the kinks of relu, abs, max and min', () => {
    for (const x of [-1, 0, 2]) {
      expect(new HyperDual(x, 1, 1, 0).relu().e12).toBe(0);
      expect(new HyperDual(x, 1, 1, 0).abs().e12).toBe(0);
    }
    expect(forwardHessian((xs) => xs[0]!.max(xs[1]!), [1, 1])).toEqual([[0, 0], [0, 0]]);
    expect(forwardHessian((xs) => xs[0]!.min(xs[1]!), [1, 2])).toEqual([[0, 0], [0, 0]]);
  });
});
