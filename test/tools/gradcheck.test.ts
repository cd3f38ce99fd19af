import { describe, expect, it } from 'vitest';
import { NonFiniteError, Value } from '../../src/engine/value.js';
import {
  agrees, assertGradcheck, centralDifference, evaluateAt, formatGradcheckReport, gradcheck, numericGradient,
  DEFAULT_EPS, EXACT_TOLERANCE, FINITE_DIFFERENCE_TOLERANCE, GradcheckError,
} from '../../src/tools/gradcheck.js';
import type { GradcheckReport } from '../../src/tools/gradcheck.js';

describe('agrees: |candidate − reference| ≤ atol + rtol·|reference|', () => {
  it('reports the errors and the allowance', () => {
    const c = agrees(1.0005, 1);
    expect(c.absError).toBeCloseTo(5e-4, 15);
    expect(c.relError).toBeCloseTo(5e-4, 15);
    expect(c.allowed).toBeCloseTo(1e-5 + 1e-3, 15);
    expect(c.ok).toBe(true);
    expect(agrees(1.002, 1).ok).toBe(false);
  });

  it('passes exactly at the allowance and fails just past it', () => {
    expect(agrees(0.5, 0, { atol: 0.5, rtol: 0 }).ok).toBe(true);
    expect(agrees(0.5000001, 0, { atol: 0.5, rtol: 0 }).ok).toBe(false);
    expect(agrees(3, 2, { atol: 0, rtol: 0.5 }).ok).toBe(true);
    expect(agrees(3.0000001, 2, { atol: 0, rtol: 0.5 }).ok).toBe(false);
  });

  it('uses |reference|, not |candidate|, for the relative part', () => {
    // Relative to the reference 1, a candidate of 2 is 100 % off; relative to itself only 50 %.
    expect(agrees(2, 1, { atol: 0, rtol: 0.6 }).ok).toBe(false);
    expect(agrees(1, 2, { atol: 0, rtol: 0.6 }).ok).toBe(true);
  });

  it('gives relError 0 for two zeros and Infinity against a zero reference', () => {
    expect(agrees(0, 0).relError).toBe(0);
    expect(agrees(1e-7, 0).relError).toBe(Infinity);
    expect(agrees(1e-7, 0).ok).toBe(true);
  });

  it('has the named presets', () => {
    expect(EXACT_TOLERANCE).toEqual({ rtol: 1e-9, atol: 1e-12 });
    expect(FINITE_DIFFERENCE_TOLERANCE).toEqual({ rtol: 1e-3, atol: 1e-5 });
    expect(DEFAULT_EPS).toBe(1e-6);
    expect(agrees(1 + 1e-10, 1, EXACT_TOLERANCE).ok).toBe(true);
    expect(agrees(1 + 1e-8, 1, EXACT_TOLERANCE).ok).toBe(false);
  });

  it('rejects non-finite numbers and bad tolerances by name', () => {
    expect(() => agrees(NaN, 1)).toThrow(/candidate must be finite, got NaN/);
    expect(() => agrees(1, Infinity)).toThrow(/reference must be finite/);
    expect(() => agrees(1, 1, { atol: -1, rtol: 0 })).toThrow(/atol must be a finite number ≥ 0, got -1/);
    expect(() => agrees(1, 1, { atol: 0, rtol: NaN })).toThrow(/rtol/);
  });

  it('refuses rtol ≥ 1, from which a candidate of 0 would agree with any reference', () => {
    expect(agrees(0, 5, { atol: 0, rtol: 0.999 }).ok).toBe(false);
    for (const rtol of [1, 2.5]) {
      expect(() => agrees(0, 5, { atol: 0, rtol })).toThrow(RangeError);
      expect(() => agrees(0, 5, { atol: 0, rtol })).toThrow(new RegExp(`rtol must be below 1, got ${rtol}: .*a candidate of 0 would pass`));
    }
  });
});

describe('central differences', () => {
  // f(a, b) = a³ + a·b: ∂f/∂a = 3a² + b, ∂f/∂b = a.
  const f = ([a, b]: readonly number[]): number => a! ** 3 + a! * b!;

  it('approximate the partial derivatives of a polynomial', () => {
    // Truncation error is eps²·f‴/6 = 1e-12, rounding about 1e-16·|f|/eps ≈ 1e-9.
    expect(centralDifference(f, [2, 3], 0)).toBeCloseTo(15, 7);
    expect(centralDifference(f, [2, 3], 1)).toBeCloseTo(2, 7);
    const g = numericGradient(f, [-1, 0.5]);
    expect(g[0]).toBeCloseTo(3.5, 7);
    expect(g[1]).toBeCloseTo(-1, 7);
  });

  it('use the step given', () => {
    // For x² the central difference is exact whatever the step: ((x+h)² − (x−h)²)/2h = 2x.
    expect(centralDifference(([x]) => x! * x!, [3], 0, 0.25)).toBe(6);
    // For x³ it is 3x² + h²: the step shows.
    expect(centralDifference(([x]) => x! ** 3, [1], 0, 0.5)).toBeCloseTo(3.25, 12);
  });

  it('reject a bad index, step or function value', () => {
    expect(() => centralDifference(f, [1, 2], 2)).toThrow(/index must be a whole number in \[0, 2\), got 2/);
    expect(() => centralDifference(f, [1, 2], 0, 0)).toThrow(/eps must be a finite number > 0, got 0/);
    expect(() => centralDifference(f, [1, NaN], 0)).toThrow(/input 1 must be finite/);
    expect(() => centralDifference(([x]) => Math.log(x!), [0], 0)).toThrow(/f at input 0 \+ eps must be finite|f at input 0 − eps must be finite/);
    expect(() => centralDifference(f, [1e300, 0], 0)).toThrow(/too small to move input 0/);
  });

  it('evaluateAt runs a Value function on numbers', () => {
    expect(evaluateAt(([x, y]) => x!.mul(y!).add(1), [3, 4])).toBe(13);
    expect(() => evaluateAt((() => 3) as unknown as (xs: readonly Value[]) => Value, [1])).toThrow(/f must return a Value, got number/);
  });
});

// The learner's case: h = σ(w1·x + b1), y = σ(w2·h + b2), L = (y − a)².
const X = 1.5, A = 0.2;
const POINT = { w1: 0.8, b1: -0.3, w2: -1.2, b2: 0.4 };
const sigma = (z: number): number => 1 / (1 + Math.exp(-z));

function loss({ w1, b1, w2, b2 }: Readonly<Record<'w1' | 'b1' | 'w2' | 'b2', Value>>): Value {
  const h = w1.mul(X).add(b1).sigmoid();
  const y = w2.mul(h).add(b2).sigmoid();
  return y.sub(A).pow(2);
}

/** The hand-derived gradient; `wrongW2` uses the learner's slip (·w2 instead of ·h). */
function handGradient(wrongW2: boolean): Record<'w1' | 'b1' | 'w2' | 'b2', number> {
  const { w1, b1, w2, b2 } = POINT;
  const h = sigma(w1 * X + b1);
  const y = sigma(w2 * h + b2);
  const dz2 = 2 * (y - A) * y * (1 - y);
  const dz1 = dz2 * w2 * h * (1 - h);
  return { w1: dz1 * X, b1: dz1, w2: dz2 * (wrongW2 ? w2 : h), b2: dz2 };
}

describe('gradcheck', () => {
  it('passes the engine on a smooth function, with rows named x0, x1, …', () => {
    // f(a, b) = a·tanh(b) + exp(a/2): ∂f/∂a = tanh b + exp(a/2)/2, ∂f/∂b = a/cosh²b.
    const report = gradcheck(([a, b]) => a!.mul(b!.tanh()).add(a!.div(2).exp()), [0.7, -0.4]);
    expect(report.ok).toBe(true);
    expect(report.value).toBeCloseTo(0.7 * Math.tanh(-0.4) + Math.exp(0.35), 14);
    expect(report.rows.map((r) => r.name)).toEqual(['x0', 'x1']);
    expect(report.rows.map((r) => r.verdict)).toEqual(['ok', 'ok']);
    const hand = [Math.tanh(-0.4) + Math.exp(0.35) / 2, 0.7 / Math.cosh(-0.4) ** 2];
    report.rows.forEach((r, i) => {
      expect(r.at).toBe([0.7, -0.4][i]);
      expect(agrees(r.analytic!, hand[i]!, EXACT_TOLERANCE).ok).toBe(true);
      expect(Math.abs(r.numeric! - hand[i]!)).toBeLessThan(1e-8);
      expect(r.analyticCheck!.ok).toBe(true);
      expect(r.claimed).toBeNull();
      expect(r.claimedCheck).toBeNull();
    });
  });

  it('flags a graph broken by reading .data (the gradient misses a path)', () => {
    // x·x with the second factor detached: the value is x², the recorded gradient only x.
    const report = gradcheck(([x]) => x!.mul(x!.data), [1.5]);
    expect(report.ok).toBe(false);
    expect(report.rows[0]!.analytic).toBe(1.5);
    expect(report.rows[0]!.numeric).toBeCloseTo(3, 8);
    expect(report.rows[0]!.verdict).toBe('MISMATCH');
    expect(formatGradcheckReport(report)).toMatch(/MISMATCH: the engine's gradient disagrees for x0/);
  });

  it('names rows after the keys of named inputs', () => {
    const report = gradcheck(loss, POINT);
    expect(report.rows.map((r) => r.name)).toEqual(['w1', 'b1', 'w2', 'b2']);
    expect(report.rows.map((r) => r.at)).toEqual([0.8, -0.3, -1.2, 0.4]);
    expect(report.ok).toBe(true);
  });

  describe("the learner's case", () => {
    it('passes the right hand-derived gradient', () => {
      const right = handGradient(false);
      const report = assertGradcheck(loss, POINT, { claimed: right });
      expect(report.ok).toBe(true);
      expect(report.hasClaim).toBe(true);
      for (const row of report.rows) {
        expect(row.claimed).toBe(right[row.name as keyof typeof right]);
        expect(row.claimedCheck!.ok).toBe(true);
        // Exact formulas agree with the engine to rounding.
        expect(agrees(row.claimed!, row.analytic!, EXACT_TOLERANCE).ok).toBe(true);
      }
    });

    it('flags the learner\'s Δw2 = 2(y−a)·y(1−y)·w2 and only that', () => {
      const wrong = handGradient(true);
      const report = gradcheck(loss, POINT, { claimed: wrong });
      expect(report.ok).toBe(false);
      expect(report.rows.map((r) => r.verdict)).toEqual(['ok', 'ok', 'MISMATCH', 'ok']);
      const w2 = report.rows[2]!;
      expect(w2.analyticCheck!.ok).toBe(true); // the engine is right
      expect(w2.claimedCheck!.ok).toBe(false);
      expect(w2.claimedCheck!.absError).toBeCloseTo(Math.abs(wrong.w2 - handGradient(false).w2), 6);
    });

    it('throws the table from the throwing variant', () => {
      let error: unknown;
      try {
        assertGradcheck(loss, POINT, { claimed: handGradient(true) });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(GradcheckError);
      const e = error as GradcheckError;
      expect(e.report.ok).toBe(false);
      expect(e.message).toBe(formatGradcheckReport(e.report));
      const w2Line = e.message.split('\n').find((l) => l.startsWith('w2 '))!;
      expect(w2Line).toMatch(/ ok\s+\|\s+\S+\s+\S+\s+\S+\s+MISMATCH$/);
      expect(e.message).toMatch(/MISMATCH: the claimed gradient disagrees for w2$/m);
    });
  });

  it('lays the table out in fixed columns', () => {
    const report = gradcheck(loss, POINT, { claimed: handGradient(true) });
    const lines = formatGradcheckReport(report).split('\n');
    const header = lines.findIndex((l) => l.startsWith('input '));
    const table = lines.slice(header, header + 5);
    expect(table[0]).toMatch(/^input\s+value\s+numeric\s+engine\s+abs err\s+rel err\s+verdict\s+\|\s+claimed\s+abs err\s+rel err\s+verdict$/);
    // Every right-aligned column ends where its heading ends; the last column starts with its heading.
    const heading = table[0]!;
    const numericEnd = heading.indexOf('numeric') + 'numeric'.length;
    const lastStart = heading.lastIndexOf('verdict');
    const bar = heading.indexOf('|');
    for (const row of table.slice(1)) {
      expect(row.slice(0, numericEnd)).toMatch(/\d$/);
      expect(row[numericEnd]).toBe(' ');
      expect(row.slice(lastStart)).toMatch(/^(ok|MISMATCH)$/);
      expect(row[lastStart - 1]).toBe(' ');
      expect(row[bar]).toBe('|');
    }
    expect(lines[0]).toContain('eps = 1e-6; a gradient g passes when |g − numeric| ≤ 1e-5 + 0.001·|numeric|');
  });

  it('reports an input whose numeric gradient cannot be computed, instead of crashing', () => {
    // log(x) at x = 5e-7: x − eps is negative.
    const report = gradcheck(([x]) => x!.log(), [5e-7]);
    const row = report.rows[0]!;
    expect(row.numeric).toBeNull();
    expect(row.numericUnavailable).toMatch(/^f\(x0 ± eps\) failed: log\(x=-5e-7 \("x0"\)\) is NaN/);
    expect(row.analytic).toBeCloseTo(2e6, 3);
    expect(row.analyticCheck).toBeNull();
    expect(row.verdict).toBe('UNCHECKED');
    expect(report.ok).toBe(false);
    const table = formatGradcheckReport(report);
    expect(table).toMatch(/^x0\s.*n\/a.*UNCHECKED$/m);
    expect(table).toContain('x0: numeric gradient unavailable: f(x0 ± eps) failed: log(');
    expect(() => assertGradcheck(([x]) => x!.log(), [5e-7])).toThrow(GradcheckError);
  });

  it('reports a gradient that backward() cannot compute', () => {
    // √(x·x) at 0: the value is 0, but √′(0) is infinite; the numeric gradient (|x|′ by symmetry) is 0.
    const report = gradcheck(([x]) => x!.mul(x!).sqrt(), [0]);
    const row = report.rows[0]!;
    expect(row.analytic).toBeNull();
    expect(row.analyticUnavailable).toMatch(/backward\(\): the local derivative of sqrt/);
    expect(row.numeric).toBe(0);
    expect(row.verdict).toBe('UNCHECKED');
    expect(formatGradcheckReport(report)).toContain('engine gradient unavailable: backward(): the local derivative of sqrt');
  });

  it('cannot check a claim without a numeric gradient', () => {
    const report = gradcheck(([x]) => x!.log(), [5e-7], { claimed: [2e6] });
    expect(report.rows[0]!.claimedCheck).toBeNull();
    expect(report.rows[0]!.verdict).toBe('UNCHECKED');
  });

  it('throws when f is not defined at the point itself', () => {
    expect(() => gradcheck(([x]) => x!.log(), [0])).toThrow(NonFiniteError);
  });

  it('honours eps, atol and rtol', () => {
    // With a coarse step, x³'s central difference is 3x² + eps² = 3.25 at 1: off by 0.25.
    const cube = ([x]: readonly Value[]): Value => x!.pow(3);
    expect(gradcheck(cube, [1], { eps: 0.5 }).ok).toBe(false);
    expect(gradcheck(cube, [1], { eps: 0.5, atol: 0.25 }).ok).toBe(true);
    expect(gradcheck(cube, [1], { eps: 0.5, rtol: 0.1, atol: 0 }).ok).toBe(true);
    const r: GradcheckReport = gradcheck(cube, [1], { eps: 0.5, atol: 0.2, rtol: 0 });
    expect(r.eps).toBe(0.5);
    expect(r.tolerance).toEqual({ atol: 0.2, rtol: 0 });
  });

  it('rejects bad input with a message naming the problem', () => {
    const f = ([a]: readonly Value[]): Value => a!.mul(2);
    expect(() => gradcheck(f, [])).toThrow(/at least one input/);
    expect(() => gradcheck(f, [NaN])).toThrow(/input x0 must be finite, got NaN/);
    expect(() => gradcheck(f, [1], { eps: -1 })).toThrow(/eps must be a finite number > 0, got -1/);
    expect(() => gradcheck(f, [1], { atol: -1 })).toThrow(/atol must be a finite number ≥ 0/);
    // A claimed gradient of 0 for 2·a would pass with rtol 1: refused, not passed.
    expect(() => gradcheck(f, [1], { rtol: 1, claimed: [0] })).toThrow(/rtol must be below 1, got 1: it is a fraction of \|numeric\| .*a gradient of 0 would pass/);
    expect(() => gradcheck(f, [1, 2], { claimed: [1] })).toThrow(/claimed has 1 gradient for 2 inputs/);
    expect(() => gradcheck(f, [1], { claimed: [NaN] })).toThrow(/claimed gradient for x0 must be finite/);
    expect(() => gradcheck(loss, POINT, { claimed: { w1: 1, w2: 1, b2: 1 } as Record<'w1' | 'b1' | 'w2' | 'b2', number> }))
      .toThrow(/claimed has no gradient for input "b1"/);
    expect(() => gradcheck(loss, POINT, { claimed: { ...handGradient(false), w9: 1 } as Record<'w1' | 'b1' | 'w2' | 'b2', number> }))
      .toThrow(/claimed names "w9", which is not an input/);
    expect(() => gradcheck((() => 1) as unknown as (xs: readonly Value[]) => Value, [1])).toThrow(/f must return a Value, got number/);
    expect(() => gradcheck(f, 3 as unknown as number[])).toThrow(/inputs must be an array of numbers or a record/);
  });
});
