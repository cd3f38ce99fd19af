/**
 * The command line, spawned as a user would run it (the built dist/ entry), checked against hand
 * formulas and central differences computed here.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'micrograd-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

import { AT, HAND, MODEL, atArg, delta2, y } from './learner-oracle.js';
const close = (a: number, b: number, tol = 1e-12): boolean => Math.abs(a - b) <= tol * (1 + Math.abs(b));

describe('micrograd grad', () => {
  it('prints the value and every variable\'s gradient as JSON', () => {
    const r = runCli(['grad', MODEL, '--at', atArg, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { value: number; gradients: Record<string, number> };
    expect(close(out.value, (y - AT.a) ** 2)).toBe(true);
    expect(Object.keys(out.gradients)).toEqual(['w1', 'x', 'b1', 'w2', 'b2', 'a']);
    for (const k of ['w1', 'b1', 'w2', 'b2'] as const) expect(close(out.gradients[k]!, HAND[k])).toBe(true);
    expect(close(out.gradients.a!, -2 * (y - AT.a))).toBe(true);
  });

  it('prints a readable table, and writes DOT and SVG pictures', () => {
    const dot = join(tmp, 'g.dot'), svg = join(tmp, 'g.svg');
    const r = runCli(['grad', 'x^2 + 3*x', '--at', 'x=2', '--dot', dot, '--svg', svg]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/value\s+10/);
    expect(r.stdout).toMatch(/∂\/∂x\s+7/);
    expect(readFileSync(dot, 'utf8')).toMatch(/^digraph/);
    expect(readFileSync(svg, 'utf8')).toMatch(/<svg/);
  });

  it('names every unbound variable, with a caret, and exits 2', () => {
    const r = runCli(['grad', 'w*x + b', '--at', 'x=1']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/'w'/);
    expect(r.stderr).toMatch(/'b'/);
    expect(r.stderr).toMatch(/\^/);
    expect(r.stderr).not.toMatch(/    at /);
  });

  it('reports a bad expression with its position and caret, exit 2', () => {
    const r = runCli(['grad', 'sigmoid(x', '--at', 'x=1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 1, column 8/);
    expect(r.stderr).toMatch(/\^/);
    const u = runCli(['grad', 'sigmod(x)', '--at', 'x=1']);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/sigmoid/);
  });

  it('reports a non-finite result as an error, not NaN', () => {
    const r = runCli(['grad', 'log(x)', '--at', 'x=0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/log/);
    expect(r.stderr).not.toMatch(/NaN|    at /);
  });
});

describe('micrograd check', () => {
  it('flags the learner\'s Δw2 rule (·w2 instead of ·h), passes the right ones, exit 1, JSON rows', () => {
    const r = runCli([
      'check', MODEL, '--at', atArg, '--json',
      '--manual', 'w2=2*(y-a)*y*(1-y)*w2',
      '--manual', 'b2=2*(y-a)*y*(1-y)',
      '--manual', 'w1=2*(y-a)*y*(1-y)*w2*h*(1-h)*x',
    ]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { ok: boolean; rows: { name: string; manual: number; autodiff: number; numeric: number; absError: number; relError: number; ok: boolean }[] };
    expect(out.ok).toBe(false);
    expect(out.rows.map((row) => [row.name, row.ok])).toEqual([['w2', false], ['b2', true], ['w1', true]]);
    const w2 = out.rows[0]!;
    expect(close(w2.manual, delta2 * AT.w2)).toBe(true);
    expect(close(w2.autodiff, HAND.w2)).toBe(true);
    expect(Math.abs(w2.numeric - HAND.w2)).toBeLessThan(1e-8);
    expect(close(w2.absError, Math.abs(delta2 * AT.w2 - HAND.w2))).toBe(true);
    expect(Object.keys(w2).sort()).toEqual(['absError', 'agreesAtPoint', 'allowed', 'autodiff', 'diagnosis', 'manual', 'name', 'numeric', 'ok', 'relError']);
  });

  it('exits 0 when every manual gradient agrees, and marks wrong leaves red in the SVG', () => {
    const ok = runCli(['check', MODEL, '--at', atArg, '--manual', 'b2=2*(y-a)*y*(1-y)', '--manual', 'w2=2*(y-a)*y*(1-y)*h']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/All manual gradients agree/);
    const svg = join(tmp, 'check.svg');
    const bad = runCli(['check', MODEL, '--at', atArg, '--manual', 'w2=2*(y-a)*y*(1-y)*w2', '--svg', svg]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/WRONG/);
    const text = readFileSync(svg, 'utf8');
    expect(text).toMatch(/manual .* autodiff/);
    // The nodes the diagnosis names are drawn in the mark colour, and no other node (nor any edge):
    // w2, whose formula is wrong, and h, which belongs where w2 is written.
    const groups = [...text.matchAll(/<g id="[^"]*" class="(node|edge)">([\s\S]*?)<\/g>/g)];
    const red = groups.filter((g) => g[2]!.includes('#dc2626'));
    expect(red.map((g) => g[1])).toEqual(['node', 'node']);
    const w2 = red.find((g) => />w2</.test(g[2]!))!, hNode = red.find((g) => />h</.test(g[2]!))!;
    expect(w2[2]).toMatch(/manual [−\d.]+ ≠ autodiff [−\d.]+/);
    expect(hNode[2]).toMatch(/belongs where w2 is written/);
    expect(text.match(/#dc2626/g)!.length).toBe(red.reduce((n, g) => n + g[2]!.match(/#dc2626/g)!.length, 0));
    const good = runCli(['check', MODEL, '--at', atArg, '--manual', 'w2=2*(y-a)*y*(1-y)*h', '--svg', join(tmp, 'check-ok.svg')]);
    expect(good.code).toBe(0);
    expect(readFileSync(join(tmp, 'check-ok.svg'), 'utf8')).not.toMatch(/#dc2626/);
  });

  it('rejects a manual gradient for a name that is not a variable, exit 2', () => {
    const r = runCli(['check', MODEL, '--at', atArg, '--manual', 'q=1']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/q/);
  });

  it('reports a bad manual formula with its caret, exit 2', () => {
    const r = runCli(['check', MODEL, '--at', atArg, '--manual', 'w2=2*(y-a']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--manual w2/);
    expect(r.stderr).toMatch(/\^/);
  });
});

describe('micrograd dot', () => {
  it('writes SVG or DOT by extension and refuses others', () => {
    const svg = join(tmp, 'd.svg');
    expect(runCli(['dot', 'tanh(x*w)', '--at', 'x=1,w=0.5', '-o', svg]).code).toBe(0);
    expect(readFileSync(svg, 'utf8')).toMatch(/tanh/);
    const dot = join(tmp, 'd.dot');
    expect(runCli(['dot', 'tanh(x*w)', '--at', 'x=1,w=0.5', '-o', dot]).code).toBe(0);
    expect(readFileSync(dot, 'utf8')).toMatch(/^digraph/);
    const png = runCli(['dot', 'x', '--at', 'x=1', '-o', join(tmp, 'd.png')]);
    expect(png.code).toBe(2);
    expect(existsSync(join(tmp, 'd.png'))).toBe(false);
  });
});

describe('micrograd train', () => {
  it('runs the learner\'s training deterministically under a seed', () => {
    const args = ['train', '--steps', '300', '--seed', '3', '--rules', 'manual', '--target', 'threshold', '--json'];
    const a = runCli(args), b = runCli(args);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const run = JSON.parse(a.stdout) as { steps: number; rules: string; outputs: unknown[]; loss: number };
    expect([run.steps, run.rules, run.outputs.length]).toEqual([300, 'manual', 9]);
  });

  it('rejects bad option values with one line and exit 2', () => {
    for (const args of [['--rules', 'magic'], ['--target', 'odd'], ['--lr', '-1'], ['--steps', '1.5']]) {
      const r = runCli(['train', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});

describe('usage', () => {
  it('has --help on every command (as listed by micrograd --help, so new ones too), with an example and the exit codes, exit 0', () => {
    const top = runCli(['--help']);
    const listed = /\nCommands:\n([\s\S]*?)\n\n/.exec(top.stdout)![1]!.split('\n')
      .map((line) => /^ {2}(\w+)/.exec(line)?.[1]).filter((c): c is string => c !== undefined && c !== 'help');
    expect(listed).toEqual(['demo', 'grad', 'check', 'dot', 'hessian', 'train', 'moons', 'graphs']);
    for (const cmd of listed) {
      const r = runCli([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(new RegExp(`^Usage: micrograd ${cmd} `));
      expect(r.stdout, cmd).toMatch(/Example/);
      expect(r.stdout, cmd).toMatch(/Exit codes:/);
    }
  });

  it('gives an unknown command or option one line on stderr naming it, and exit 2', () => {
    for (const [args, message] of [
      [['frobnicate'], /^error: unknown command 'frobnicate'$/],
      [['grad', 'x', '--at', 'x=1', '--bogus'], /^error: unknown option '--bogus'$/],
      [['grad', 'x', '--at', 'x'], /^error: option '--at <name=value,...>' argument 'x' is invalid\. --at takes name=value pairs/],
    ] as const) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim(), args.join(' ')).toMatch(message);
    }
  });
});

describe('micrograd moons and graphs', () => {
  it('moons trains and reports as JSON, deterministic under the seed', () => {
    const args = ['moons', '--steps', '5', '--json'];
    const r = runCli(args);
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout) as { steps: number; points: number; curve: { loss: number }[]; final: { loss: number; accuracy: number }; files: string[] };
    expect([run.steps, run.points, run.curve.length, run.files.length]).toEqual([5, 100, 5, 0]);
    expect(run.final.accuracy).toBeGreaterThan(0.5);
    expect(JSON.parse(runCli(args).stdout).final).toEqual(run.final);
  }, 60_000);

  it('graphs writes every example picture into the folder given', () => {
    const out = join(tmp, 'graphs');
    const r = runCli(['graphs', '--out', out], { timeout: 120_000 });
    expect(r.code).toBe(0);
    for (const f of ['net111-loss.svg', 'net111-backward.svg', 'micrograd-expression.svg', 'moons-boundary.svg', 'moons-loss.svg']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
  }, 120_000);
});

describe('edge cases a user meets', () => {
  it('takes an expression that starts with a minus', () => {
    const r = runCli(['grad', '-x^2', '--at', 'x=3', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ value: -9, gradients: { x: -6 } });
  });

  it('checks at a point within eps of the domain\'s edge: no central difference, still a verdict', () => {
    const r = runCli(['check', 'log(x)', '--at', 'x=1e-7', '--manual', 'x=1/x']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/n\/a/);
    expect(r.stdout).toMatch(/numeric is n\/a for x \(no central difference\)/);
  });

  it('refuses hexadecimal values and seeds the generator cannot tell apart', () => {
    expect(runCli(['grad', 'x', '--at', 'x=0x10']).code).toBe(2);
    expect(runCli(['train', '--seed', '4294967297']).code).toBe(2);
  });
});
