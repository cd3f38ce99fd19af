/**
 * diagnoseGradient: every kind and every tie the order of the kinds decides, each from its own
 * case, against hand-derived gradients and central differences (never the code under test).
 */
import { describe, expect, it } from 'vitest';
import {
  diagnoseGradient, FormulaError, DEFAULT_POINTS, ROUNDING_SAFETY,
  type DiagnoseOptions, type GradientDiagnosis,
} from '../../src/tools/diagnose.js';
import { buildGraph, ExpressionError } from '../../src/tools/expr.js';
import { agrees, EXACT_TOLERANCE } from '../../src/tools/gradcheck.js';

const LEARNER = 'h = sigmoid(w1*x + b1); y = sigmoid(w2*h + b2); (y - a)^2';
const AT = { x: 0.2222, a: 1, w1: 0.3, b1: 0, w2: -0.2, b2: 0 };

const s = (z: number): number => 1 / (1 + Math.exp(-z));
/** The learner's network by hand: forward values and the correct gradients. */
function hand(p: typeof AT) {
  const h = s(p.w1 * p.x + p.b1), y = s(p.w2 * h + p.b2);
  const d2 = 2 * (y - p.a) * y * (1 - y), d1 = d2 * p.w2 * h * (1 - h);
  return { h, y, w2: d2 * h, b2: d2, w1: d1 * p.x, b1: d1, dh: d2 * p.w2 };
}
const H = hand(AT);

/** A formula's value at the given point of the learner's model, from the hand forward pass. */
function atLearnerPoint(formula: string): number {
  return buildGraph(formula, { ...AT, h: H.h, y: H.y }).output.data;
}

function one(source: string, at: Record<string, number>, name: string, formula: string, options: DiagnoseOptions = {}): GradientDiagnosis {
  const r = diagnoseGradient(source, at, { [name]: formula }, options);
  expect(r.rows).toHaveLength(1);
  return r.rows[0]!;
}

const close = (a: number, b: number, rel = 1e-12): boolean => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

describe('diagnoseGradient: agreement', () => {
  it('calls the right formulas ok, at the given point and the default 16 random points', () => {
    const r = diagnoseGradient(LEARNER, AT, {
      w2: '2*(y-a)*y*(1-y)*h', b2: '2*(y-a)*y*(1-y)', w1: '2*(y-a)*y*(1-y)*w2*h*(1-h)*x', b1: '2*(y-a)*y*(1-y)*w2*h*(1-h)',
    });
    expect(r.ok).toBe(true);
    expect(r.points).toBe(DEFAULT_POINTS);
    expect(r.tolerance).toEqual({ rule: 'rounding', safety: ROUNDING_SAFETY, epsilon: Number.EPSILON });
    for (const row of r.rows) {
      expect(row.diagnosis.kind).toBe('ok');
      expect(row.ok).toBe(true);
      expect(row.informativePoints).toBe(16);
      expect(close(row.autodiff, H[row.name as 'w1' | 'b1' | 'w2' | 'b2'])).toBe(true);
      expect(close(row.manual, H[row.name as 'w1' | 'b1' | 'w2' | 'b2'])).toBe(true);
      expect(Math.abs(row.numeric! - H[row.name as 'w1' | 'b1' | 'w2' | 'b2'])).toBeLessThan(1e-8);
    }
  });

  it('diagnoses a named intermediate: ∂L/∂h is h\'s adjoint, its numeric column from the graph cut at h', () => {
    const row = one(LEARNER, AT, 'h', '2*(y - a)*y*(1 - y)*w2');
    expect(row.diagnosis.kind).toBe('ok');
    expect(close(row.autodiff, H.dh)).toBe(true);
    // Central difference of L(h) = (σ(w2·h + b2) − a)² by hand.
    const L = (h: number): number => (s(AT.w2 * h + AT.b2) - AT.a) ** 2;
    const fd = (L(H.h + 1e-6) - L(H.h - 1e-6)) / 2e-6;
    expect(Math.abs(row.numeric! - fd)).toBeLessThan(1e-9);
    expect(Math.abs(row.numeric! - H.dh)).toBeLessThan(1e-8);
    const wrong = one(LEARNER, AT, 'h', '2*(y - a)*y*(1 - y)*h');
    expect(wrong.diagnosis).toMatchObject({ kind: 'substitution', wrote: 'h', expected: 'w2' });
  });

  it('does not let one point agree by chance: w*x at w = x = 1 with manual x*x is an extra factor x', () => {
    const row = one('w*x', { w: 1, x: 1 }, 'w', 'x*x');
    expect(row.agreesAtPoint).toBe(true);
    expect(row.ok).toBe(false);
    expect(row.diagnosis).toMatchObject({ kind: 'extra-factor', factor: 'x', corrected: 'x' });
  });

  it('a correct formula that the fixed rtol 1e-9 called wrong is ok under the rounding bound', () => {
    // σ(20) = 1 − 2.1e-9: 1 − y keeps only ~8 digits, so 1e5·y·(1 − y)·x is right to ~1e-7 relative.
    const model = 'y = sigmoid(w*x); 100000*y';
    const at = { w: 20, x: 1 };
    const row = one(model, at, 'w', '100000*y*(1-y)*x');
    const yv = s(20), exact = 1e5 * Math.exp(-20) / (1 + Math.exp(-20)) ** 2;
    expect(agrees(1e5 * yv * (1 - yv), exact, EXACT_TOLERANCE).ok).toBe(false); // the old rule's verdict
    expect(close(row.autodiff, exact)).toBe(true);
    expect(row.agreesAtPoint).toBe(true);
    expect(row.diagnosis.kind).toBe('ok');
    // The same formula under the old fixed tolerance is not ok.
    expect(one(model, at, 'w', '100000*y*(1-y)*x', { rtol: 1e-9, atol: 1e-12 }).ok).toBe(false);
  });

  it('the issue\'s own sigmoid case agrees at its point; its random points saturate σ, so it is unchecked', () => {
    const row = one('y = sigmoid(w*x); y', { w: 0.0002, x: 100000 }, 'w', 'y*(1-y)*x');
    expect(row.agreesAtPoint).toBe(true);
    expect(row.diagnosis.kind).toBe('unchecked');
    expect(row.ok).toBe(false);
  });

  it('catches a slip of one part in 10⁶ where the bound is below 1e-7', () => {
    const row = one(LEARNER, AT, 'w2', '2*(y-a)*y*(1-y)*h*1.000001');
    expect(row.agreesAtPoint).toBe(false);
    expect(row.diagnosis).toMatchObject({ kind: 'scaled', scale: 1.000001 });
    // Near the limit: σ(18.3) leaves a bound of ~8e-8 relative, and the slip is still caught there.
    const edge = one('y = sigmoid(w*x); 100000*y', { w: 18.3, x: 1 }, 'w', '100000*y*(1-y)*x*1.000001');
    const bound = edge.allowed / ROUNDING_SAFETY / Math.abs(edge.autodiff);
    expect(bound).toBeLessThan(1e-7);
    expect(bound).toBeGreaterThan(5e-8);
    expect(edge.agreesAtPoint).toBe(false);
  });

  it('--rtol/--atol replace the rounding bound', () => {
    const r = diagnoseGradient(LEARNER, AT, { w2: '2*(y-a)*y*(1-y)*h*1.000001' }, { rtol: 1e-5 });
    expect(r.tolerance).toEqual({ rule: 'fixed', rtol: 1e-5, atol: 0 });
    expect(r.rows[0]!.diagnosis.kind).toBe('ok');
    expect(close(r.rows[0]!.allowed, 1e-5 * Math.abs(H.w2))).toBe(true);
  });

  it('refuses rtol ≥ 1, under which a manual gradient of 0 would pass', () => {
    // Just below 1, 0 is still refused: |0 − g| = |g| > 0.999·|g|.
    expect(diagnoseGradient(LEARNER, AT, { w2: '0' }, { rtol: 0.999 }).rows[0]!.ok).toBe(false);
    for (const rtol of [1, 2.5]) {
      expect(() => diagnoseGradient(LEARNER, AT, { w2: '0' }, { rtol })).toThrow(RangeError);
      expect(() => diagnoseGradient(LEARNER, AT, { w2: '0' }, { rtol })).toThrow(`rtol must be below 1, got ${rtol}`);
    }
    expect(() => diagnoseGradient(LEARNER, AT, { w2: '0' }, { atol: -1 })).toThrow(/atol must be a finite number ≥ 0, got -1/);
    expect(() => diagnoseGradient(LEARNER, AT, { w2: '0' }, { rtol: NaN })).toThrow(/rtol must be a finite number ≥ 0, got NaN/);
  });

  it('a relu model whose formula is right on the given point\'s branch is ok (other branches are redrawn)', () => {
    // relu(w·x) + w at w·x = 0.4 > 0: ∂/∂w = x + 1 there, but 1 where w·x < 0, which the draws reach.
    const row = one('relu(w*x) + w', { w: 0.2, x: 2 }, 'w', 'x + 1');
    expect(row.diagnosis.kind).toBe('ok');
    expect(row.informativePoints).toBe(16);
  });

  it('is unchecked where the true gradient is below its rounding bound at the random points', () => {
    // relu is off on this branch: the gradient is 0 everywhere the draws may go.
    const row = one('relu(w*x)', { w: -1, x: 1 }, 'w', 'x');
    expect(row.diagnosis.kind).toBe('unchecked');
    expect(row.informativePoints).toBe(0);
    expect(row.ok).toBe(false);
  });

  it('refuses fixed on a claimed variable, or on every variable: no draw would move them', () => {
    // Hand: ∂(w³)/∂w = 3w², which is 3 only at w = ±1; ∂(h²)/∂h = 2h = 2wx, which is 2 only where wx = 1.
    expect(() => diagnoseGradient('w^3*x', { w: 1, x: 2 }, { w: '3*x' }, { fixed: ['w'] })).toThrow(/fixed holds w, whose gradient/);
    expect(() => diagnoseGradient('h = w*x; h^2', { w: 1, x: 1 }, { h: '2' }, { fixed: ['w', 'x'] })).toThrow(/fixed holds every variable/);
    // Without fixed, both are caught as not identities.
    expect(one('w^3*x', { w: 1, x: 2 }, 'w', '3*x').ok).toBe(false);
    expect(one('h = w*x; h^2', { w: 1, x: 1 }, 'h', '2').ok).toBe(false);
  });

  it('claims no factor whose own rounding bound is as large as its value', () => {
    // d = (1 + 4e-16) − 1 is a few ulps of 1: its bound is about its value. ∂/∂w = 2wx by hand, and x
    // times any constant times d is not 2wx as w moves; only the reach of d's bound made one fit.
    const row = one('y = u*1e-16 + 1; d = y - 1; d*v + w*w*x', { u: 4, v: 1, w: 10, x: 3 }, 'w', 'x');
    expect(row.autodiff).toBe(60);
    // The factor that does hold: 2wx = x · 2w.
    expect(row.diagnosis).toMatchObject({ kind: 'missing-factor', factor: '2 * w' });
    expect(row.diagnosis.text).not.toMatch(/\bd\b/);
  });

  it('a formula that rounding cannot tell from 0 is not ok where the true gradient is tiny', () => {
    // ∂y/∂w = exp(x) ≈ 1e-44 here and at every draw (x in [−150, −50]). y − y is identically 0:
    // it agrees only because its own rounding bound (ε·|y| ≈ 1e-16) dwarfs exp(x).
    const model = 'y = w*exp(x) + 1; y';
    const zero = one(model, { w: 1, x: -100 }, 'w', 'y - y');
    expect(zero.diagnosis.kind).toBe('unchecked');
    expect(zero.ok).toBe(false);
    // The right formula, evaluated without cancellation, is still ok there.
    expect(one(model, { w: 1, x: -100 }, 'w', 'exp(x)').diagnosis.kind).toBe('ok');
  });

  it('claims no explanation whose candidate agrees only within its own rounding bound', () => {
    // ∂/∂w = exp(x), below 1e-21 at every draw; the formula y − a is wrong (≈ 1 − a). Writing y for a
    // gives y − y, which is 0 to within ε·|y|: not an identity with exp(x), so not a substitution.
    const row = one('y = w*exp(x) + 1; y - a', { w: 1, x: -100, a: 3 }, 'w', 'y - a');
    expect(row.agreesAtPoint).toBe(false);
    expect(row.diagnosis.kind).not.toBe('substitution');
    expect(['unexplained', 'point-only']).toContain(row.diagnosis.kind);
    expect(row.diagnosis.corrected ?? '').not.toMatch(/y - y/);
  });

  it('--fixed holds data and labels at their given values', () => {
    // 2(y − 1) is ∂/∂y only while a = 1.
    expect(one('(y - a)^2', { y: 0.3, a: 1 }, 'y', '2*(y - 1)', { fixed: ['a'] }).diagnosis.kind).toBe('ok');
    const moved = one('(y - a)^2', { y: 0.3, a: 1 }, 'y', '2*(y - 1)');
    expect(moved.diagnosis.kind).toBe('point-only');
  });

  it('is reproducible under a seed, and the seed changes the points', () => {
    const a = diagnoseGradient(LEARNER, AT, { w2: '2*(y-a)*y*(1-y)*w2' }, { seed: 7 });
    const b = diagnoseGradient(LEARNER, AT, { w2: '2*(y-a)*y*(1-y)*w2' }, { seed: 7 });
    expect(a.rows[0]!.diagnosis).toEqual(b.rows[0]!.diagnosis);
    expect(a.seed).toBe(7);
    // Near relu's kink, how many draws fall on the other branch depends on the seed.
    const drawn = [1, 2, 3].map((seed) => one('relu(w*x) + w', { w: 0.2, x: 2 }, 'w', 'x + 1', { seed }).drawnPoints);
    expect(new Set(drawn).size).toBeGreaterThan(1);
    expect(Math.min(...drawn)).toBeGreaterThan(16);
    expect(one(LEARNER, AT, 'w2', '2*(y-a)*y*(1-y)*w2', { seed: 8, points: 5 }).diagnosis.kind).toBe('substitution');
  });
});

describe('diagnoseGradient: the kinds', () => {
  it('the learner\'s Δw2 rule: w2 where h belongs', () => {
    const row = one(LEARNER, AT, 'w2', '2*(y-a)*y*(1-y)*w2');
    expect(row.diagnosis).toMatchObject({ kind: 'substitution', wrote: 'w2', expected: 'h' });
    expect(row.diagnosis.text).toMatch(/uses w2 where h belongs/);
    expect(close(atLearnerPoint(row.diagnosis.corrected!), H.w2)).toBe(true);
  });

  it('the learner\'s Δw1 rule (gradient_h read as 2E·σ′(y)·w2): w1 where x belongs', () => {
    const row = one(LEARNER, AT, 'w1', 'gradient_h = 2*(y-a)*y*(1-y)*w2; gradient_h*h*(1-h)*w1');
    expect(row.diagnosis).toMatchObject({ kind: 'substitution', wrote: 'w1', expected: 'x' });
    expect(row.diagnosis.corrected).toBe('gradient_h = 2 * (y - a) * y * (1 - y) * w2; gradient_h * h * (1 - h) * x');
    expect(close(atLearnerPoint(row.diagnosis.corrected!), H.w1)).toBe(true);
  });

  it('a sign error is scaled −1', () => {
    const row = one(LEARNER, AT, 'w2', '-2*(y-a)*y*(1-y)*h');
    expect(row.diagnosis).toMatchObject({ kind: 'scaled', scale: -1 });
    expect(close(atLearnerPoint(row.diagnosis.corrected!), H.w2)).toBe(true);
  });

  it('a missing 2 is scaled 1/2', () => {
    const row = one(LEARNER, AT, 'b2', '(y-a)*y*(1-y)');
    expect(row.diagnosis).toMatchObject({ kind: 'scaled', scale: 0.5 });
    expect(row.diagnosis.text).toMatch(/factor 2 missing/);
    expect(close(atLearnerPoint(row.diagnosis.corrected!), H.b2)).toBe(true);
  });

  it('a learning rate left in the formula is scaled 0.1', () => {
    const row = one(LEARNER, AT, 'b2', '2*(y-a)*y*(1-y)*0.1');
    expect(row.diagnosis).toMatchObject({ kind: 'scaled', scale: 0.1, corrected: '2 * (y - a) * y * (1 - y)' });
  });

  it('a missing σ′ factor, printed from the op table\'s template in the model\'s names', () => {
    const row = one(LEARNER, AT, 'b1', '2*(y-a)*y*(1-y)*w2');
    expect(row.diagnosis).toMatchObject({ kind: 'missing-factor', factor: 'h * (1 - h)' });
    expect(row.diagnosis.text).toMatch(/σ′ of the sigmoid that makes h/);
    expect(close(atLearnerPoint(row.diagnosis.corrected!), H.b1)).toBe(true);
  });

  it('an extra factor', () => {
    const row = one(LEARNER, AT, 'b1', '2*(y-a)*y*(1-y)*w2*h*(1-h)*x');
    expect(row.diagnosis).toMatchObject({ kind: 'extra-factor', factor: 'x' });
    expect(close(atLearnerPoint(row.diagnosis.corrected!), H.b1)).toBe(true);
  });

  it('a substitution at one use of a name written twice, the use named', () => {
    // ∂(w·x·h)/∂w = x·h; x·x has one x too many: the second use should be h.
    const row = one('h = sigmoid(x); w*x*h', { w: 0.7, x: 1.3 }, 'w', 'x*x');
    expect(row.diagnosis).toMatchObject({ kind: 'substitution', wrote: 'x', expected: 'h', corrected: 'h * x' });
    expect(row.diagnosis.text).toMatch(/its use at column 1 of the formula/);
  });

  it('σ′ written on z instead of y: z where y belongs', () => {
    const at = { w: 0.5, x: 1.5, b: 0.1, a: 1 };
    const row = one('z = w*x + b; y = sigmoid(z); (y - a)^2', at, 'w', '2*(y - a)*z*(1 - z)*x');
    expect(row.diagnosis).toMatchObject({ kind: 'substitution', wrote: 'z', expected: 'y' });
    const yv = s(at.w * at.x + at.b);
    expect(close(row.autodiff, 2 * (yv - at.a) * yv * (1 - yv) * at.x)).toBe(true);
  });

  it('a reused variable with one use left out: missing-path, the use named by line and column', () => {
    const model = 'p = w*x\nq = sigmoid(w + b)\np*q';
    const at = { w: 0.5, x: 1.5, b: 0.1 };
    const row = one(model, at, 'w', 'x*q');
    expect(row.diagnosis.kind).toBe('missing-path');
    expect(row.diagnosis.use).toEqual({ name: 'w', line: 2, column: 13, excerpt: '  2 | q = sigmoid(w + b)\n    |             ^' });
    // The corrected formula adds the left-out path: by hand, ∂(p·q)/∂w = x·q + p·q·(1 − q).
    const q = s(at.w + at.b), p = at.w * at.x;
    const corrected = buildGraph(row.diagnosis.corrected!, { ...at, p, q }).output.data;
    expect(close(corrected, at.x * q + p * q * (1 - q))).toBe(true);
  });

  it('a formula right at one point only', () => {
    // x² − x equals x at x = 2 only; nothing in w·x explains it.
    const row = one('w*x', { w: 1, x: 2 }, 'w', 'x^2 - x');
    expect(row.agreesAtPoint).toBe(true);
    expect(row.diagnosis.kind).toBe('point-only');
    expect(row.diagnosis.corrected).toBe('x');
  });

  it('an unexplainable formula', () => {
    const row = one('w*x', { w: 1, x: 2 }, 'x', 'w + 1');
    expect(row.agreesAtPoint).toBe(false);
    expect(row.diagnosis.kind).toBe('unexplained');
    expect(row.diagnosis.corrected).toBe('w');
  });
});

describe('diagnoseGradient: ties the order decides', () => {
  it('x + x with manual 1 is scaled 1/2, not a left-out use', () => {
    const row = one('x + x', { x: 1 }, 'x', '1');
    expect(row.diagnosis).toMatchObject({ kind: 'scaled', scale: 0.5 });
  });

  it('a sign slip is scaled −1, not a factor from the subtraction\'s local derivative −1', () => {
    const row = one('(y - a)^2', { y: 0.3, a: 1 }, 'a', '2*(y - a)');
    expect(row.diagnosis).toMatchObject({ kind: 'scaled', scale: -1, corrected: '-2 * (y - a)' });
  });

  it('a name swap comes before a missing factor: x where q = x·x belongs, not "missing the factor x"', () => {
    const row = one('q = x*x; w*q', { w: 1.5, x: 2 }, 'w', 'x');
    expect(row.diagnosis).toMatchObject({ kind: 'substitution', wrote: 'x', expected: 'q' });
  });

  it('a missing factor comes before an extra one: manual 1 for w·x is missing x, not an extra 1/x', () => {
    const row = one('q = 1/x; w*x + q', { w: 1.5, x: 2 }, 'w', '1');
    expect(row.diagnosis).toMatchObject({ kind: 'missing-factor', factor: 'x', corrected: 'x' });
  });

  it('with aliases, the first name in program order', () => {
    // c is x under another name: x comes into being first.
    const row = one('c = x; w*x + c', { w: 1.5, x: 2 }, 'w', 'w');
    expect(row.diagnosis).toMatchObject({ kind: 'substitution', wrote: 'w', expected: 'x' });
  });

  it('manual ≡ 0 is never scaled (by 0)', () => {
    const row = one('w*x', { w: 1, x: 2 }, 'w', '0');
    expect(row.diagnosis.kind).toBe('unexplained');
  });

  it('true ≡ 0 is never scaled: no point carries information', () => {
    const row = one('w*x + 0*z', { w: 1, x: 2, z: 3 }, 'z', 'w');
    expect(row.autodiff).toBe(0);
    expect(row.diagnosis.kind).toBe('unchecked');
  });
});

describe('diagnoseGradient: input', () => {
  it('shows the numeric column as unavailable, naming the variable, where eps cannot move it', () => {
    const row = one('w^2', { w: 1e12 }, 'w', '2*w');
    expect(row.diagnosis.kind).toBe('ok');
    expect(row.numeric).toBeNull();
    expect(row.numericUnavailable).toMatch(/^w = 1000000000000 /);
    expect(row.numericCheck).toBeNull();
  });

  it('redraws points where the model is not finite, and reports a model not defined at the given point', () => {
    // log(x) at x = 0.1: the draws reach x ≤ 0, where log fails; those are drawn again.
    const row = one('log(x)', { x: 0.1 }, 'x', '1/x');
    expect(row.diagnosis.kind).toBe('ok');
    expect(row.drawnPoints).toBeGreaterThan(16);
    let err: unknown;
    try { diagnoseGradient('log(x)', { x: -1 }, { x: '1/x' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ExpressionError);
    expect((err as ExpressionError).code).toBe('numeric');
    expect((err as ExpressionError).column).toBe(1);
  });

  it('names a bad formula\'s target and position', () => {
    let err: unknown;
    try { diagnoseGradient(LEARNER, AT, { w2: '2*(y-a' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FormulaError);
    expect((err as FormulaError).target).toBe('w2');
    expect((err as FormulaError).message).toMatch(/in the formula for w2/);
    expect(() => diagnoseGradient(LEARNER, AT, { w2: 'hh*2' })).toThrow(/did you mean 'h'/);
  });

  it('rejects names that are not in the model, and bad options', () => {
    expect(() => diagnoseGradient(LEARNER, AT, { q: '1' })).toThrow(/q is not a variable or named intermediate/);
    expect(() => diagnoseGradient(LEARNER, AT, { w2: 'h' }, { points: 0 })).toThrow(RangeError);
    expect(() => diagnoseGradient(LEARNER, AT, { w2: 'h' }, { fixed: ['h'] })).toThrow(/h, which is not a variable/);
    expect(() => diagnoseGradient(LEARNER, AT, { w2: 'h' }, { rtol: -1 })).toThrow(RangeError);
  });
});
