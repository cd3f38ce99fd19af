import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnoseLearnerRules, formatDemoReport, summarise, type DemoReport } from '../../src/learner/report.js';
import { LEARNER_FORMULAS } from '../../src/learner/net111.js';
import { ROUNDING_SAFETY } from '../../src/tools/diagnose.js';
import { runDemo } from '../../src/learner/node.js';
import { ROOT, runCli } from '../cli-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'micrograd-demo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the learner\'s case report', () => {
  let report: DemoReport;
  it('runs, flags the learner\'s w2 and w1 rules and not their bias rules', async () => {
    report = await runDemo({ outDir: null });
    const byParam = Object.fromEntries(report.gradients.summary.map((s) => [s.param, s]));
    expect(byParam.w2!.learnerOk).toBe(false);
    expect(byParam.w1!.learnerOk).toBe(false);
    // Diagnosed, not stored: the substitutions the diagnosis computes.
    expect(byParam.w2!.learnerDiagnosis).toMatchObject({ kind: 'substitution', wrote: 'w2', expected: 'h' });
    expect(byParam.w1!.learnerDiagnosis).toMatchObject({ kind: 'substitution', wrote: 'w1', expected: 'x' });
    expect(byParam.b1!.learnerDiagnosis).toBeNull();
    expect(byParam.b2!.learnerDiagnosis).toBeNull();
    const text = formatDemoReport(report);
    expect(text).toMatch(/✗ w2: the rule gradient_y = 2\*\(y - a\); gradient_y\*y\*\(1 - y\)\*w2\n\s+substitution: it uses w2 where h belongs/);
    expect(text).toMatch(/corrected: gradient_h = 2 \* \(y - a\) \* y \* \(1 - y\) \* w2; gradient_h \* h \* \(1 - h\) \* x/);
    expect(byParam.b1!.learnerOk).toBe(true);
    expect(byParam.b2!.learnerOk).toBe(true);
    for (const s of report.gradients.summary) {
      expect(s.manualOk).toBe(true);
      expect(s.numericOk).toBe(true);
      expect(s.rows).toBe(18);
    }
    expect(report.gradients.rows).toHaveLength(72);
  }, 60_000);

  it('diagnoses whatever rules it is given: a sign slip in Δb2 is scaled −1', () => {
    const rows = report.gradients.rows.map((r) => (r.param === 'b2' ? { ...r, learnerVsAutodiff: { ...r.learnerVsAutodiff, ok: false } } : r));
    const d = diagnoseLearnerRules(rows, { start: report.initial, trained: report.parity.correct.final },
      { ...LEARNER_FORMULAS, b2: '-2*(y - a)*y*(1 - y)' });
    expect(d.b2).toMatchObject({ kind: 'scaled', scale: -1 });
  });

  it('compares exact sources by the rounding rule, the same as micrograd check', () => {
    expect(report.tolerances.exact).toEqual({ rule: 'rounding', safety: ROUNDING_SAFETY, epsilon: Number.EPSILON });
    for (const r of report.gradients.rows) {
      // The allowed difference follows the conditioning: a few ulps of these well-conditioned values,
      // far below the old fixed 1e-12 + 1e-9·|ref|.
      expect(r.manualVsAutodiff.allowed).toBeGreaterThan(0);
      expect(r.manualVsAutodiff.allowed).toBeLessThan(1e-12 * Math.abs(r.autodiff) + 1e-14);
    }
  });

  it('states the isotonic floor, the constant predictor and the learnable target', () => {
    expect(report.monotonicity.isotonicFloor).toBeCloseTo(2 / 9, 14);
    expect(report.monotonicity.constantLoss).toBeCloseTo(20 / 81, 14);
    expect(report.monotonicity.trainedLoss).toBeGreaterThan(2 / 9);
    expect(report.monotonicity.randomCheck.monotone).toBe(report.monotonicity.randomCheck.settings);
    expect(report.threshold.correct.loss).toBeLessThan(0.03);
    expect(report.threshold.correctLr1.loss).toBeLessThan(0.01);
    const outside = report.testInputs.filter((t) => !t.insideTrainingRange).map((t) => t.input);
    expect(outside).toEqual(['raw 5', 'raw 16', '16/9']);
  });

  it('summarises one disagreeing row as a disagreement for its parameter only', () => {
    const rows = report.gradients.rows;
    const k = rows.findIndex((r) => r.param === 'b1');
    const flip = (field: 'manualVsAutodiff' | 'autodiffVsNumeric' | 'learnerVsAutodiff') =>
      rows.map((r, j) => (j === k ? { ...r, [field]: { ...r[field], ok: !r[field].ok } } : r));
    const byParam = (s: ReturnType<typeof summarise>) => Object.fromEntries(s.map((x) => [x.param, x]));
    const numeric = byParam(summarise(flip('autodiffVsNumeric')));
    expect(numeric.b1!.numericOk).toBe(false);
    for (const p of ['w1', 'w2', 'b2']) expect(numeric[p]!.numericOk, p).toBe(true);
    const manual = byParam(summarise(flip('manualVsAutodiff')));
    expect(manual.b1!.manualOk).toBe(false);
    expect(manual.w1!.manualOk).toBe(true);
    // b1's learner rule agrees everywhere; one flipped row makes it disagree once.
    const learner = byParam(summarise(flip('learnerVsAutodiff')));
    expect([learner.b1!.learnerOk, learner.b1!.learnerDisagreements]).toEqual([false, 1]);
    // The printed report says so too.
    expect(formatDemoReport({ ...report, gradients: { summary: summarise(flip('autodiffVsNumeric')), rows } })).toMatch(/MISMATCH/);
  });

  it('fits the console report in about 80 lines', () => {
    const text = formatDemoReport(report);
    expect(text.split('\n').length).toBeLessThanOrEqual(80);
    expect(text).toMatch(/WRONG/);
  });
});

describe('npm start', () => {
  it('exits 0, prints the verdicts and writes the graph files', () => {
    const out = join(tmp, 'start');
    const r = spawnSync('npm', ['start', '--silent', '--', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).not.toMatch(/Error|at .*\.ts:\d+/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/w2 .*WRONG/);
    expect(r.stdout).toMatch(/w1 .*WRONG/);
    for (const f of ['net111-loss.svg', 'net111-backward.dot', 'net111-backward.svg']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'net111-backward.svg'), 'utf8')).toMatch(/<svg/);
    // The learner's wrong gradients are marked on the picture, numbers written as the node labels
    // write theirs (a true minus sign), and equal to the report's at that sample (x = 2, the start).
    const dot = readFileSync(join(out, 'net111-backward.dot'), 'utf8');
    const notes = [...dot.matchAll(/learner (\S+) ≠ autodiff (\S+?)"/g)].map((m) => [m[1]!, m[2]!]);
    expect(notes).toHaveLength(2);
    const json = JSON.parse(runCli(['demo', '--json']).stdout) as DemoReport;
    const marked = json.gradients.rows.filter((row) => row.phase === 'start' && row.raw === 2 && !row.learnerVsAutodiff.ok);
    expect(marked.map((row) => row.param).sort()).toEqual(['w1', 'w2']);
    for (const [learner, autodiff] of notes) {
      expect(`${learner} ${autodiff}`).not.toMatch(/-/);
      const row = marked.find((m) => Number(learner!.replaceAll('−', '-')) === Number(m.learner.toPrecision(4)))!;
      expect(row).toBeDefined();
      expect(Number(autodiff!.replaceAll('−', '-'))).toBe(Number(row.autodiff.toPrecision(4)));
    }
  }, 120_000);

  it('prints the same report as one JSON document with --json', () => {
    const r = runCli(['demo', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as DemoReport;
    expect(report.gradients.rows).toHaveLength(72);
    expect(report.files).toEqual([]);
  }, 60_000);

  it('rejects a bad option with one line on stderr and exit code 2', () => {
    const r = runCli(['demo', '--seed', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--seed/);
  });
});
