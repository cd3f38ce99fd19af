/**
 * `micrograd check` as a spawned process: the diagnosis of every kind under the table, the JSON
 * fields, the options, the numeric column and the SVG marks. Oracles are hand formulas and central
 * differences computed here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, type Run } from '../cli-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'micrograd-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

import { AT, HAND, MODEL, atArg, delta2, h, s } from './learner-oracle.js';
const close = (a: number, b: number, tol = 1e-12): boolean => Math.abs(a - b) <= tol * (1 + Math.abs(b));

interface Row {
  name: string; manual: number; autodiff: number; numeric: number | null; absError: number; relError: number | null;
  allowed: number; ok: boolean; agreesAtPoint: boolean;
  diagnosis: { kind: string; text: string; corrected: string | null; scale?: number; factor?: string; wrote?: string; expected?: string; use?: { name: string; line: number; column: number; excerpt: string } };
}
interface Doc { ok: boolean; points: number; seed: number; fixed: string[]; tolerance: Record<string, unknown>; rows: Row[] }

const TIMEOUT = 60_000;
const check = (args: readonly string[]): Run => runCli(['check', ...args], { timeout: TIMEOUT });
function json(args: readonly string[]): { run: Run; doc: Doc } {
  const run = check([...args, '--json']);
  expect(run.stderr).toBe('');
  return { run, doc: JSON.parse(run.stdout) as Doc };
}
const learner = (...manual: string[]): string[] => [MODEL, '--at', atArg, '--fixed', 'x,a', ...manual.flatMap((m) => ['--manual', m])];

describe('micrograd check: the diagnosis', () => {
  it('the learner\'s two slips: w2 where h belongs, w1 where x belongs; the table, the diagnosis under it, exit 1', () => {
    const args = learner('w2=2*(y-a)*y*(1-y)*w2', 'w1=gradient_h = 2*(y-a)*y*(1-y)*w2; gradient_h*h*(1-h)*w1', 'b2=2*(y-a)*y*(1-y)');
    const text = check(args);
    expect(text.code).toBe(1);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^name\s+manual\s+autodiff\s+numeric\s+abs err\s+rel err\s+verdict$/);
    expect(lines[1]).toMatch(/^w2 .* WRONG$/);
    expect(lines[3]).toMatch(/^b2 .* ok$/);
    expect(text.stdout).toMatch(/\nw2: substitution: it uses w2 where h belongs/);
    expect(text.stdout).toMatch(/\n {2}corrected: w2 = 2 \* \(y - a\) \* y \* \(1 - y\) \* h\n/);
    expect(text.stdout).toMatch(/\nw1: substitution: it uses w1 where x belongs/);
    expect(text.stdout).toMatch(/\nb2: ok: agrees with autodiff at the given point and the 16 random points around it\n/);
    expect(text.stdout).toMatch(/x, a held fixed/);
    expect(text.stdout).toMatch(/2 of 3 manual gradients disagree with autodiff\.\n$/);

    const { run, doc } = json(args);
    expect(run.code).toBe(1);
    expect(doc).toMatchObject({ ok: false, points: 16, seed: 1, fixed: ['x', 'a'], tolerance: { rule: 'rounding', safety: 4 } });
    const [w2, w1, b2] = doc.rows;
    expect(w2!.diagnosis).toEqual({
      kind: 'substitution', wrote: 'w2', expected: 'h',
      text: 'it uses w2 where h belongs; with h it agrees with autodiff at all 17 points checked',
      corrected: '2 * (y - a) * y * (1 - y) * h',
    });
    expect(w1!.diagnosis).toMatchObject({ kind: 'substitution', wrote: 'w1', expected: 'x' });
    expect(close(w2!.manual, delta2 * AT.w2)).toBe(true);
    expect(close(w2!.autodiff, HAND.w2)).toBe(true);
    expect(close(w1!.autodiff, HAND.w1)).toBe(true);
    expect(Object.keys(w2!).sort()).toEqual(['absError', 'agreesAtPoint', 'allowed', 'autodiff', 'diagnosis', 'manual', 'name', 'numeric', 'ok', 'relError']);
    expect([w2!.ok, w2!.agreesAtPoint, b2!.ok, b2!.agreesAtPoint]).toEqual([false, false, true, true]);
    expect(b2!.diagnosis).toEqual({ kind: 'ok', text: b2!.diagnosis.text, corrected: null });
  });

  it('a sign error: scaled −1', () => {
    const { run, doc } = json(learner('w2=-2*(y-a)*y*(1-y)*h'));
    expect(run.code).toBe(1);
    expect(doc.rows[0]!.diagnosis).toMatchObject({ kind: 'scaled', scale: -1, corrected: '2 * (y - a) * y * (1 - y) * h' });
  });

  it('a missing 2: scaled 1/2', () => {
    const { doc } = json(learner('b2=(y-a)*y*(1-y)'));
    expect(doc.rows[0]!.diagnosis).toMatchObject({ kind: 'scaled', scale: 0.5, corrected: '2 * (y - a) * y * (1 - y)' });
  });

  it('a missing σ′ factor', () => {
    const { doc } = json(learner('b1=2*(y-a)*y*(1-y)*w2'));
    expect(doc.rows[0]!.diagnosis).toMatchObject({ kind: 'missing-factor', factor: 'h * (1 - h)' });
    expect(doc.rows[0]!.diagnosis.text).toMatch(/σ′ of the sigmoid that makes h/);
    expect(Object.keys(doc.rows[0]!.diagnosis).sort()).toEqual(['corrected', 'factor', 'kind', 'text']);
  });

  it('σ′ written on z instead of y: substitution', () => {
    const { doc } = json(['z = w*x + b; y = sigmoid(z); (y - a)^2', '--at', 'w=0.5,x=1.5,b=0.1,a=1', '--manual', 'w=2*(y - a)*z*(1 - z)*x']);
    expect(doc.rows[0]!.diagnosis).toMatchObject({ kind: 'substitution', wrote: 'z', expected: 'y' });
  });

  it('a reused variable with one use left out: missing-path, the use by line and column', () => {
    const model = 'p = w*x\nq = sigmoid(w + b)\np*q';
    const r = check([model, '--at', 'w=0.5,x=1.5,b=0.1', '--manual', 'w=x*q']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/w: missing-path: it leaves out the path through w's use at line 2, column 13/);
    expect(r.stdout).toContain('  2 | q = sigmoid(w + b)\n    |             ^');
    const { doc } = json([model, '--at', 'w=0.5,x=1.5,b=0.1', '--manual', 'w=x*q']);
    expect(doc.rows[0]!.diagnosis.use).toEqual({ name: 'w', line: 2, column: 13, excerpt: '  2 | q = sigmoid(w + b)\n    |             ^' });
    const q = s(0.6), p = 0.75;
    expect(close(doc.rows[0]!.autodiff, 1.5 * q + p * q * (1 - q))).toBe(true);
  });

  it('a correct formula that rounding used to call WRONG is ok', () => {
    const r = check(['y = sigmoid(w*x); 100000*y', '--at', 'w=20,x=1', '--manual', 'w=100000*y*(1-y)*x']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/WRONG/);
  });

  it('the issue\'s sigmoid case: agrees at its point, no longer WRONG; its random points saturate σ, so UNCHECKED', () => {
    const { run, doc } = json(['y = sigmoid(w*x); y', '--at', 'w=0.0002,x=100000', '--manual', 'w=y*(1-y)*x']);
    expect(run.code).toBe(1);
    expect(doc.rows[0]).toMatchObject({ agreesAtPoint: true, ok: false, diagnosis: { kind: 'unchecked' } });
    const text = check(['y = sigmoid(w*x); y', '--at', 'w=0.0002,x=100000', '--manual', 'w=y*(1-y)*x']);
    expect(text.stdout).toMatch(/UNCHECKED/);
    expect(text.stdout).not.toMatch(/WRONG/);
  });

  it('a formula right at one point only: point-only, exit 1', () => {
    const { run, doc } = json(['w*x', '--at', 'w=1,x=2', '--manual', 'w=x^2 - x']);
    expect(run.code).toBe(1);
    expect(doc.rows[0]).toMatchObject({ agreesAtPoint: true, ok: false, diagnosis: { kind: 'point-only', corrected: 'x' } });
  });

  it('an unexplainable formula: unexplained, exit 1', () => {
    const { run, doc } = json(['w*x', '--at', 'w=1,x=2', '--manual', 'x=w + 1']);
    expect(run.code).toBe(1);
    expect(doc.rows[0]!.diagnosis.kind).toBe('unexplained');
  });

  it('a relu model whose formula is right on the point\'s branch: ok, exit 0', () => {
    const { run, doc } = json(['relu(w*x) + w', '--at', 'w=0.2,x=2', '--manual', 'w=x + 1']);
    expect(run.code).toBe(0);
    expect(doc.rows[0]!.diagnosis.kind).toBe('ok');
  });

  it('ties: x + x with manual 1 is scaled 1/2; a sign slip is scaled −1', () => {
    expect(json(['x + x', '--at', 'x=1', '--manual', 'x=1']).doc.rows[0]!.diagnosis).toMatchObject({ kind: 'scaled', scale: 0.5 });
    expect(json(['(y - a)^2', '--at', 'y=0.3,a=1', '--manual', 'a=2*(y - a)']).doc.rows[0]!.diagnosis).toMatchObject({ kind: 'scaled', scale: -1 });
  });

  it('unchecked where no point carries information: exit 1', () => {
    const r = check(['relu(w*x)', '--at', 'w=-1,x=1', '--manual', 'w=x']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/UNCHECKED/);
    expect(r.stdout).toMatch(/1 of 1 could not be checked\.\n$/);
  });
});

describe('micrograd check: the gaps it closes', () => {
  it('one point agreeing by chance is not ok: w*x at w = x = 1 with manual x*x', () => {
    const r = check(['w*x', '--at', 'w=1,x=1', '--manual', 'w=x*x']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/w: extra-factor: it has an extra factor x/);
    expect(r.stdout).toMatch(/it agrees at the given point, but not as an identity/);
  });

  it('--manual names an intermediate: ∂L/∂h, its numeric column from the graph cut at h', () => {
    const { run, doc } = json([MODEL, '--at', atArg, '--manual', 'h=2*(y - a)*y*(1 - y)*w2']);
    expect(run.code).toBe(0);
    const row = doc.rows[0]!;
    expect(close(row.autodiff, HAND.h)).toBe(true);
    const L = (hv: number): number => (s(AT.w2 * hv + AT.b2) - AT.a) ** 2;
    expect(Math.abs(row.numeric! - (L(h + 1e-6) - L(h - 1e-6)) / 2e-6)).toBeLessThan(1e-9);
  });

  it('w^2 at w = 1e12: the numeric column is n/a naming w, and the check still runs', () => {
    const r = check(['w^2', '--at', 'w=1e12', '--manual', 'w=2*w']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[1]).toMatch(/^w .* n\/a .* ok$/);
    expect(r.stdout).toMatch(/note: numeric is n\/a for w \(no central difference\): w = 1000000000000 is too large/);
    expect(r.stdout).not.toMatch(/input 0/);
    expect(json(['w^2', '--at', 'w=1e12', '--manual', 'w=2*w']).doc.rows[0]!.numeric).toBeNull();
  });

  it('the tolerance is the rounding bound, not gradcheck\'s 1e-3: a slip of 1e-4 is WRONG', () => {
    const { run, doc } = json(learner('w2=2*(y-a)*y*(1-y)*h*1.0001'));
    expect(run.code).toBe(1);
    expect(doc.rows[0]!.diagnosis).toMatchObject({ kind: 'scaled', scale: 1.0001 });
    expect(doc.rows[0]!.allowed).toBeLessThan(1e-12);
  });

  it('the numeric column is the central difference, and a disagreement with autodiff is noted', () => {
    // relu at its kink: autodiff takes relu′(0) = 0, the central difference (h/2 − 0)/h = 1/2.
    const r = check(['relu(x)', '--at', 'x=0', '--manual', 'x=0']);
    expect(r.stdout).toMatch(/note: autodiff and central differences disagree for x/);
    const { doc } = json(['relu(x)', '--at', 'x=0', '--manual', 'x=0']);
    expect(doc.rows[0]!.autodiff).toBe(0);
    expect(Math.abs(doc.rows[0]!.numeric! - 0.5)).toBeLessThan(1e-9);
    // Away from kinks they agree, and there is no note.
    expect(check(learner('w2=2*(y-a)*y*(1-y)*h')).stdout).not.toMatch(/note:/);
  });
});

describe('micrograd check: long models', () => {
  it('diagnoses a formula for a flat sum of 10⁴ terms read from @FILE (within the spawn timeout: nothing quadratic)', () => {
    const terms = 10_000;
    const file = join(tmp, 'long.txt');
    writeFileSync(file, Array.from({ length: terms }, (_, k) => `x*w${k}`).join(' + '));
    const at = ['x=0.7', ...Array.from({ length: terms }, (_, k) => `w${k}=${(k + 1) / 1000}`)].join(',');
    const { run, doc } = json([`@${file}`, '--at', at, '--manual', 'x=w1', '--manual', 'w5=x', '--manual', 'w7=w7']);
    expect(run.code).toBe(1);
    // ∂/∂x = Σ w_k = 50005 by hand; w1 is no slip of it. ∂/∂w5 = x. w7 is written where x belongs.
    expect(close(doc.rows[0]!.autodiff, (terms * (terms + 1)) / 2 / 1000, 1e-12)).toBe(true);
    expect(doc.rows.map((r) => r.diagnosis.kind)).toEqual(['unexplained', 'ok', 'substitution']);
    expect(doc.rows[2]!.diagnosis).toMatchObject({ wrote: 'w7', expected: 'x' });
  });
});

describe('micrograd check: options and input', () => {
  it('--points and --seed are reported and change the points; --rtol/--atol replace the rounding bound', () => {
    const a = json([...learner('w2=2*(y-a)*y*(1-y)*h'), '--points', '5', '--seed', '7']).doc;
    expect([a.points, a.seed]).toEqual([5, 7]);
    expect(a.rows[0]!.diagnosis.text).toMatch(/all 6 points checked/);
    const loose = json([...learner('w2=2*(y-a)*y*(1-y)*h*1.0001'), '--rtol', '1e-3']).doc;
    expect(loose.tolerance).toEqual({ rule: 'fixed', rtol: 1e-3, atol: 0 });
    expect(loose.rows[0]!.ok).toBe(true);
    expect(json([...learner('w2=2*(y-a)*y*(1-y)*h*1.0001'), '--atol', '1']).doc.tolerance).toEqual({ rule: 'fixed', rtol: 0, atol: 1 });
  });

  it('--fixed holds a label: 2*(y - 1) is ∂/∂y only while a = 1', () => {
    expect(check(['(y - a)^2', '--at', 'y=0.3,a=1', '--manual', 'y=2*(y - 1)', '--fixed', 'a']).code).toBe(0);
    expect(check(['(y - a)^2', '--at', 'y=0.3,a=1', '--manual', 'y=2*(y - 1)']).code).toBe(1);
  });

  it('rejects bad options and names with one line and exit 2', () => {
    for (const args of [
      learner('q=1'),
      [...learner('w2=h'), '--fixed', 'h'],
      [...learner('w2=h'), '--points', '0'],
      [...learner('w2=h'), '--rtol', '-1'],
      [...learner('w2=h'), '--rtol', '1'],
      [...learner('w2=h'), '--seed', 'x'],
    ]) {
      const r = check(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    expect(check([...learner('w2=0'), '--rtol', '1']).stderr).toMatch(/--rtol must be below 1, got 1: .*a manual gradient of 0 would pass/);
  });

  it('refuses --fixed on a variable whose gradient is claimed, or on every variable (no point would move)', () => {
    // 3 is not ∂(w³)/∂w = 3w², yet it matches at w = 1; with w held, every "random" point is w = 1.
    const held = check(['w^3', '--at', 'w=1', '--fixed', 'w', '--manual', 'w=3']);
    expect(held.code).toBe(2);
    expect(held.stderr.trim().split('\n')).toHaveLength(1);
    expect(held.stderr).toMatch(/--fixed holds w, whose gradient --manual claims/);
    expect(held.stdout).toBe('');
    // ∂(h²)/∂h = 2h = 2wx, not 2; they meet only at w = x = 1.
    const all = check(['h = w*x; h^2', '--at', 'w=1,x=1', '--fixed', 'w,x', '--manual', 'h=2']);
    expect(all.code).toBe(2);
    expect(all.stderr).toMatch(/--fixed holds every variable \(w, x\)/);
    expect(all.stdout).toBe('');
  });

  it('reports a bad formula with its caret, naming --manual and the name, exit 2', () => {
    const r = check(learner('w2=2*(y-a'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--manual w2/);
    expect(r.stderr).toMatch(/\^/);
    expect(check(learner('w2=hh*2')).stderr).toMatch(/did you mean 'h'/);
  });

  it('--svg marks the nodes the diagnosis names', () => {
    const sub = join(tmp, 'sub.svg');
    expect(check([...learner('w2=2*(y-a)*y*(1-y)*w2'), '--svg', sub]).code).toBe(1);
    const text = readFileSync(sub, 'utf8');
    expect(text).toMatch(/manual .* autodiff/);
    expect(text).toMatch(/belongs where w2 is written/);
    const path = join(tmp, 'path.svg');
    expect(check(['p = w*x\nq = sigmoid(w + b)\np*q', '--at', 'w=0.5,x=1.5,b=0.1', '--manual', 'w=x*q', '--svg', path]).code).toBe(1);
    expect(readFileSync(path, 'utf8')).toMatch(/its use of w is left out/);
    const good = join(tmp, 'good.svg');
    expect(check([...learner('w2=2*(y-a)*y*(1-y)*h'), '--svg', good]).code).toBe(0);
    expect(readFileSync(good, 'utf8')).not.toMatch(/#dc2626/);
  });
});

describe('the README\'s check example', () => {
  it('prints what the README shows, and exits 1', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const at = readme.indexOf("--manual 'b1=2*(y-a)*y*(1-y)*w2'");
    expect(at).toBeGreaterThan(0);
    const shown = /```text\n([\s\S]*?)```/.exec(readme.slice(at))![1];
    const r = check([MODEL, '--at', 'x=0.2222,a=1,w1=0.3,b1=0,w2=-0.2,b2=0', '--fixed', 'x,a',
      '--manual', 'w2=2*(y-a)*y*(1-y)*w2', '--manual', 'b2=2*(y-a)*y*(1-y)', '--manual', 'b1=2*(y-a)*y*(1-y)*w2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(shown);
  });
});
