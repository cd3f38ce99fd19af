/**
 * A small seeded pseudo-random generator, so that every result a test or a report depends on is
 * reproducible (no `Math.random`). SplitMix32-style mixing over a 32-bit counter: fast, and good
 * enough for initialising weights, picking samples and generating test data.
 */
export interface Rng {
  /** The seed this generator started from. */
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** A whole number uniform in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
}

/** A generator whose sequence depends only on `seed` (any finite number; it is reduced to 32 bits). */
export function createRng(seed: number): Rng {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new RangeError(`seed must be a finite number, got ${String(seed)}`);
  }
  let state = Math.trunc(seed) >>> 0;
  const next = (): number => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`int(n) needs a positive whole number, got ${n}`);
      return Math.floor(next() * n);
    },
    normal: () => {
      // 1 − u lies in (0, 1], so the logarithm is finite.
      const u = 1 - next(), v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
  };
}
