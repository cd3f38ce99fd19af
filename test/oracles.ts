/**
 * Numeric oracles for the engine's tests, written here rather than taken from src/tools/gradcheck.ts, so
 * that a gradient is never checked against the code under test.
 */
import { expect } from 'vitest';

/** (f(x + h) − f(x − h)) / 2h with a step scaled to x: truncation error O(h²), rounding O(ε/h). */
export function centralDifference(f: (x: number) => number, x: number): number {
  const h = 1e-5 * Math.max(1, Math.abs(x));
  return (f(x + h) - f(x - h)) / (2 * h);
}

/** |actual − expected| ≤ rel·max(1, |expected|): relative for large numbers, absolute near 0. */
export function expectClose(actual: number, expected: number, rel: number): void {
  expect(Number.isFinite(actual)).toBe(true);
  const tolerance = rel * Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(`expected ${actual} to be within ${tolerance} of ${expected}`);
  }
}
