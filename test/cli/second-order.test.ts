/**
 * `micrograd hessian` and `micrograd dot --grad`, spawned as a user would run them, against hand
 * formulas.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'micrograd-cli-2-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ROSENBROCK = '(1 - x)^2 + 100*(y - x^2)^2';
/** Rosenbrock's Hessian by hand: [[2 − 400(y − x²) + 800x², −400x], [−400x, 200]]. */
const hand = (x: number, y: number): number[][] => [[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200]];

describe('micrograd hessian', () => {
  it('prints { names, matrix } as JSON, equal to the hand formula', () => {
    const r = runCli(['hessian', ROSENBROCK, '--at', 'x=-1.2,y=1', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { names: string[]; matrix: number[][] };
    expect(out.names).toEqual(['x', 'y']);
    const h = hand(-1.2, 1);
    out.matrix.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(h[i]![j]!, 10)));
  });

  it('prints a table, and differentiates only the variables --wrt names, in its order', () => {
    const r = runCli(['hessian', ROSENBROCK, '--at', 'x=0.5,y=-1']);
    expect(r.code).toBe(0);
    const h = hand(0.5, -1);
    expect(r.stdout.split('\n')[0]).toMatch(/^\s+x\s+y$/);
    expect(r.stdout).toMatch(new RegExp(`x\\s+${h[0]![0]}\\s+${h[0]![1]}`));
    const w = runCli(['hessian', ROSENBROCK, '--at', 'x=0.5,y=-1', '--wrt', 'y,x', '--json']);
    const out = JSON.parse(w.stdout) as { names: string[]; matrix: number[][] };
    expect(out.names).toEqual(['y', 'x']);
    expect(out.matrix[0]![1]).toBeCloseTo(h[1]![0]!, 10);
    expect(out.matrix[1]![1]).toBeCloseTo(h[0]![0]!, 10);
  });

  it('refuses unknown or repeated --wrt names, no variables and a non-finite second derivative, with one line and exit 2', () => {
    for (const [args, message] of [
      [['hessian', 'x*y', '--at', 'x=1,y=2', '--wrt', 'z'], /--wrt names z, which is not a variable of the expression \(its variables: x, y\)/],
      [['hessian', 'x*y', '--at', 'x=1,y=2', '--wrt', 'x,x'], /--wrt names x twice/],
      [['hessian', 'x*y', '--at', 'x=1,y=2', '--wrt', 'x+1'], /--wrt takes variable names/],
      [['hessian', '2 + 3'], /no variables/],
      [['hessian', 'sqrt(x)', '--at', 'x=0'], /sqrt\(x=0.*not a finite number/],
    ] as const) {
      const r = runCli([...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('takes an expression that starts with a minus', () => {
    const r = runCli(['hessian', '-x^3', '--at', 'x=2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ names: ['x'], matrix: [[-12]] });
  });
});

describe('micrograd dot --grad', () => {
  it('draws the graph of ∂f/∂w, the forward pass grey and dashed, with second derivatives as its grads', () => {
    const file = join(tmp, 'dtanh.dot');
    const r = runCli(['dot', 'tanh(w*x)', '--at', 'w=0.5,x=2', '--grad', 'w', '-o', file, '--precision', '6']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const dot = readFileSync(file, 'utf8');
    const t = Math.tanh(1), s2 = 1 - t * t;
    const fmt = (v: number): string => v.toPrecision(6).replace(/0+$/, '').replace(/\.$/, '').replace('-', '−');
    // The root is ∂f/∂w = x·sech²(wx), amber; w's grad is ∂²f/∂w² = −2x²·tanh(wx)·sech²(wx).
    expect(dot).toMatch(new RegExp(`fillcolor="#fde68a", penwidth=2, label="\\{ ∂f/∂w \\| data ${fmt(2 * s2)} `));
    expect(dot).toContain(`label="{ w | data 0.5 | grad ${fmt(-8 * t * s2)} }"`);
    // x's grad is ∂²f/∂w∂x = sech²(wx)·(1 − 2wx·tanh(wx)).
    expect(dot).toContain(`label="{ x | data 2 | grad ${fmt(s2 * (1 - 2 * t))} }"`);
    // The forward nodes it uses (w, x, and w·x with its ×; tanh′ is built from σ(±2wx), not from the
    // tanh node) are dashed grey, and the legend says so.
    expect(dot.match(/style="filled,dashed"/g)).toHaveLength(4);
    expect(dot).toContain('grey dashed: the forward pass');
  });

  it('writes SVG, and refuses a name that is not in the expression with exit 2', () => {
    const svg = join(tmp, 'd.svg');
    const ok = runCli(['dot', '(w*x - 1)^2', '--at', 'w=1,x=3', '--grad', 'w', '-o', svg]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(svg, 'utf8')).toMatch(/<svg/);
    const bad = runCli(['dot', '(w*x - 1)^2', '--at', 'w=1,x=3', '--grad', 'v', '-o', svg]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--grad names v, which is not a variable or named step of the expression \(its names: w, x\)/);
  });
});
