/**
 * The main job: the learner's case as a report that reads top to bottom as an answer to them —
 * what is wrong with their gradients and by how much, why even correct gradients cannot fit their
 * data, what does work, and what went wrong with their test inputs.
 */
import { bestMonotoneFit } from './isotonic.js';
import {
  PARAM_NAMES, LEARNER_FORMULAS, MANUAL_FORMULAS, NET111_MODEL, RAW_MAX, DEFAULT_SEED, buildNet111, checkMonotone,
  initialParams, net111Graph, predict, train, trainingSet,
  type ParamName, type Params, type TrainResult,
} from './net111.js';
import { createRng } from '../tools/random.js';
import { agrees, FINITE_DIFFERENCE_TOLERANCE, gradcheck, type Comparison } from '../tools/gradcheck.js';
import {
  agreementAtPoint, diagnoseGradient, ROUNDING_TOLERANCE,
  type Diagnosis, type PointAgreement, type ToleranceRule,
} from '../tools/diagnose.js';
import type { Value } from '../engine/value.js';
import { fitParity, type ParityResult } from './parity.js';
import { noProgress, type ProgressFactory } from '../tools/progress.js';

export interface DemoOptions {
  /** Seeds the initial weights and the sample picks (default 1). */
  readonly seed?: number;
  /** SGD steps per training run (default 10,000, the learner's). */
  readonly steps?: number;
  readonly progress?: ProgressFactory;
}

/** One parameter's gradient for one sample, from every source, with the comparisons. */
export interface GradientRow {
  readonly phase: 'start' | 'trained';
  readonly raw: number;
  readonly x: number;
  readonly a: number;
  readonly param: ParamName;
  readonly autodiff: number;
  /** The correct hand formula (MANUAL_FORMULAS). */
  readonly manual: number;
  readonly numeric: number;
  /** What the learner's rule claims ∂L/∂param is: their Δ divided by the learning rate (LEARNER_FORMULAS). */
  readonly learner: number;
  readonly manualVsAutodiff: Comparison;
  readonly autodiffVsNumeric: Comparison;
  readonly learnerVsAutodiff: Comparison;
}

/** The worst case per parameter over all rows. */
export interface ParamSummary {
  readonly param: ParamName;
  readonly rows: number;
  readonly manualOk: boolean;
  readonly worstManualRelError: number;
  readonly numericOk: boolean;
  readonly worstNumericRelError: number;
  readonly learnerOk: boolean;
  readonly learnerDisagreements: number;
  /** The row where the learner's rule is furthest from autodiff. */
  readonly worstLearnerRow: GradientRow;
  /** The learner's rule, as the gradient it claims (LEARNER_FORMULAS). */
  readonly learnerRule: string;
  /** What is wrong with it, diagnosed at the worst row's point (x and a held); null when it is right. */
  readonly learnerDiagnosis: Diagnosis | null;
}

export interface DemoReport {
  readonly seed: number;
  readonly steps: number;
  readonly lr: number;
  readonly initial: Params;
  /** Exact sources agree within a rounding bound (`agreementAtPoint`); against central differences, gradcheck's tolerance. */
  readonly tolerances: { readonly exact: ToleranceRule; readonly finiteDifference: typeof FINITE_DIFFERENCE_TOLERANCE };
  readonly gradients: { readonly summary: readonly ParamSummary[]; readonly rows: readonly GradientRow[] };
  readonly parity: { readonly learner: TrainResult; readonly correct: TrainResult };
  readonly monotonicity: {
    readonly isotonicFloor: number;
    readonly isotonicDirection: 'increasing' | 'decreasing';
    readonly constantLoss: number;
    readonly trainedLoss: number;
    readonly outputSpread: number;
    readonly randomCheck: { readonly settings: number; readonly monotone: number; readonly largestViolation: number };
  };
  readonly threshold: { readonly correct: TrainResult; readonly correctLr1: TrainResult; readonly learner: TrainResult };
  /** A 1-H-1 MLP that does fit the nine parity points, beside the 1-1-1 net that cannot. */
  readonly parityMlp: Omit<ParityResult, 'curve' | 'model'>;
  readonly testInputs: readonly {
    readonly input: string;
    readonly x: number;
    readonly y: number;
    readonly insideTrainingRange: boolean;
  }[];
  readonly files: readonly string[];
}

const LR = 0.1;

function compareRow(phase: GradientRow['phase'], p: Params, raw: number, x: number, a: number): GradientRow[] {
  // The engine's gradient and central differences, from the one gradcheck implementation.
  const check = gradcheck((v: Readonly<Record<ParamName, Value>>) => net111Graph(v, x, a).loss, p);
  // The hand formulas and the learner's rules, each against autodiff within both rounding bounds.
  const at = { ...p, x, a };
  const byName = (list: readonly PointAgreement[]) => Object.fromEntries(list.map((c) => [c.name, c])) as Record<ParamName, PointAgreement>;
  const manual = byName(agreementAtPoint(NET111_MODEL, at, MANUAL_FORMULAS));
  const learner = byName(agreementAtPoint(NET111_MODEL, at, LEARNER_FORMULAS));
  return PARAM_NAMES.map((param) => {
    const row = check.rows.find((r) => r.name === param)!;
    if (row.numeric === null || row.analytic === null) {
      throw new Error(`gradient check failed for ${param}: ${row.numericUnavailable ?? row.analyticUnavailable}`);
    }
    const autodiff = row.analytic; // the engine's gradient, from gradcheck's own backward pass
    return {
      phase, raw, x, a, param,
      autodiff,
      manual: manual[param].manual,
      numeric: row.numeric,
      learner: learner[param].manual,
      manualVsAutodiff: against(manual[param], autodiff),
      autodiffVsNumeric: agrees(autodiff, row.numeric, FINITE_DIFFERENCE_TOLERANCE),
      learnerVsAutodiff: against(learner[param], autodiff),
    };
  });
}

/** A formula's agreement, against gradcheck's autodiff number, with the allowed difference it came with. */
function against(c: PointAgreement, autodiff: number): Comparison {
  const absError = Math.abs(c.manual - autodiff);
  const relError = absError === 0 ? 0 : autodiff === 0 ? Infinity : absError / Math.abs(autodiff);
  return { absError, relError, allowed: c.allowed, ok: absError <= c.allowed };
}

/**
 * One summary per parameter of the gradient table's rows: does every row agree, and the worst one.
 * `diagnoses` gives what is wrong with each learner rule that disagrees (see `diagnoseLearnerRules`).
 */
export function summarise(rows: readonly GradientRow[], diagnoses: Partial<Record<ParamName, Diagnosis>> = {}): ParamSummary[] {
  return PARAM_NAMES.map((param) => {
    const mine = rows.filter((r) => r.param === param);
    const worst = (f: (r: GradientRow) => number): GradientRow =>
      mine.reduce((w, r) => (f(r) > f(w) ? r : w));
    const worstLearnerRow = worst((r) => r.learnerVsAutodiff.absError);
    const learnerOk = mine.every((r) => r.learnerVsAutodiff.ok);
    return {
      param,
      rows: mine.length,
      manualOk: mine.every((r) => r.manualVsAutodiff.ok),
      worstManualRelError: worst((r) => r.manualVsAutodiff.relError).manualVsAutodiff.relError,
      numericOk: mine.every((r) => r.autodiffVsNumeric.ok),
      worstNumericRelError: worst((r) => r.autodiffVsNumeric.relError).autodiffVsNumeric.relError,
      learnerOk,
      learnerDisagreements: mine.filter((r) => !r.learnerVsAutodiff.ok).length,
      worstLearnerRow,
      learnerRule: LEARNER_FORMULAS[param],
      learnerDiagnosis: learnerOk ? null : diagnoses[param] ?? null,
    };
  });
}

/**
 * What is wrong with each learner rule that disagrees with autodiff, computed by `diagnoseGradient`
 * at the point of its worst row (the sample's x and a held fixed), not described by stored text.
 */
export function diagnoseLearnerRules(
  rows: readonly GradientRow[], params: Readonly<Record<GradientRow['phase'], Params>>,
  rules: Readonly<Record<ParamName, string>> = LEARNER_FORMULAS,
): Partial<Record<ParamName, Diagnosis>> {
  const out: Partial<Record<ParamName, Diagnosis>> = {};
  for (const param of PARAM_NAMES) {
    const wrong = rows.filter((r) => r.param === param && !r.learnerVsAutodiff.ok);
    if (wrong.length === 0) continue;
    const worst = wrong.reduce((w, r) => (r.learnerVsAutodiff.absError > w.learnerVsAutodiff.absError ? r : w));
    const at = { ...params[worst.phase], x: worst.x, a: worst.a };
    out[param] = diagnoseGradient(NET111_MODEL, at, { [param]: rules[param] }, { fixed: ['x', 'a'] }).rows[0]!.diagnosis;
  }
  return out;
}

/** Runs every part of the learner's case (no files: `runDemo` in `micrograd-ts/learner/node` writes them). */
export function demoReport(options: DemoOptions = {}): DemoReport {
  const { seed = DEFAULT_SEED, steps = 10_000, progress = noProgress } = options;
  const run = (label: string, o: Omit<Parameters<typeof train>[0], 'onStep' | 'seed' | 'steps'>): TrainResult => {
    const bar = progress(label, steps);
    try {
      return train({ ...o, seed, steps, onStep: (d) => bar.update(d) });
    } finally {
      bar.stop();
    }
  };
  const initial = initialParams(createRng(seed));

  const learnerParity = run('parity, learner\'s rules', { rules: 'learner' });
  const correctParity = run('parity, correct gradients', { rules: 'autodiff' });
  const thresholdCorrect = run('threshold, correct gradients', { rules: 'autodiff', target: 'threshold' });
  const thresholdLr1 = run('threshold, correct gradients, lr 1', { rules: 'autodiff', target: 'threshold', lr: 1 });
  const thresholdLearner = run('threshold, learner\'s rules', { rules: 'learner', target: 'threshold' });
  const { curve: _curve, model: _model, ...parityMlp } = fitParity({ seed });

  // Gradients at the start and after (correct) training, for every sample.
  const rows: GradientRow[] = [];
  for (const [phase, p] of [['start', initial], ['trained', correctParity.final]] as const) {
    for (const s of trainingSet('parity')) rows.push(...compareRow(phase, p, s.raw, s.x, s.a));
  }

  const labels = trainingSet('parity').map((s) => s.a);
  const floor = bestMonotoneFit(labels);
  const mean = labels.reduce((s, a) => s + a, 0) / labels.length;
  const constantLoss = labels.reduce((s, a) => s + (a - mean) ** 2, 0) / labels.length;
  const ys = correctParity.outputs.map((o) => o.y);

  // The learner's tests fed raw inputs to a network trained on x/9.
  const p = correctParity.final;
  const testInputs = [5, 16].flatMap((raw) => [
    { input: `raw ${raw}`, x: raw },
    { input: `${raw}/${RAW_MAX}`, x: raw / RAW_MAX },
  ]).map(({ input, x }) => ({ input, x, y: predict(p, x).y, insideTrainingRange: x >= 1 / RAW_MAX && x <= 1 }));

  const report: DemoReport = {
    seed, steps, lr: LR, initial,
    tolerances: { exact: ROUNDING_TOLERANCE, finiteDifference: FINITE_DIFFERENCE_TOLERANCE },
    gradients: { summary: summarise(rows, diagnoseLearnerRules(rows, { start: initial, trained: correctParity.final })), rows },
    parity: { learner: learnerParity, correct: correctParity },
    monotonicity: {
      isotonicFloor: floor.mse,
      isotonicDirection: floor.direction,
      constantLoss,
      trainedLoss: correctParity.loss,
      outputSpread: Math.max(...ys) - Math.min(...ys),
      randomCheck: checkMonotone({ settings: 5000, seed }),
    },
    threshold: { correct: thresholdCorrect, correctLr1: thresholdLr1, learner: thresholdLearner },
    parityMlp,
    testInputs,
    files: [],
  };
  return report;
}

// ---------------------------------------------------------------------------------------------
// The console report.

/** @internal A number as the report prints it: four significant digits, or exponent form when far from 1. */
export function fmt(x: number, digits = 4): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e4 ? x.toPrecision(digits).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') : x.toExponential(1);
}

function outputs(r: TrainResult): string {
  return r.outputs.map((o) => o.y.toFixed(3)).join(' ');
}

/** The report as console text (under 80 lines); the full gradient table is in the JSON. */
export function formatDemoReport(r: DemoReport): string {
  const out: string[] = [];
  const line = (s = ''): void => { out.push(s); };
  const { initial: p0 } = r;
  line('micrograd-ts: why the learner\'s 1-1-1 network "always gives the same result"');
  line('  h = σ(w1·x + b1),  y = σ(w2·h + b2),  L = (y − a)²;  x = 1..9 divided by 9, a = 1 for even x');
  line(`  seed ${r.seed}: w1 = ${fmt(p0.w1)}, w2 = ${fmt(p0.w2)}, b1 = b2 = 0; SGD at lr ${r.lr}, ${r.steps} steps, one random sample each`);
  line();

  const rowsPer = r.gradients.summary[0]?.rows ?? 0;
  line(`1. The gradients, for the 9 samples at the start and after training (${rowsPer} per parameter)`);
  const exact = r.tolerances.exact;
  const exactRule = exact.rule === 'rounding'
    ? `within ${exact.safety}× their first-order rounding bounds`
    : `when |Δ| ≤ ${exact.atol} + ${exact.rtol}·|ref|`;
  line(`   exact sources agree ${exactRule}; against central differences, when |Δ| ≤ ${r.tolerances.finiteDifference.atol} + ${r.tolerances.finiteDifference.rtol}·|ref|`);
  line('   param   manual vs autodiff     autodiff vs numeric    learner\'s rule vs autodiff');
  for (const s of r.gradients.summary) {
    const m = `${s.manualOk ? 'ok' : 'MISMATCH'} (rel ≤ ${fmt(s.worstManualRelError, 2)})`;
    const n = `${s.numericOk ? 'ok' : 'MISMATCH'} (rel ≤ ${fmt(s.worstNumericRelError, 2)})`;
    const w = s.worstLearnerRow;
    const l = s.learnerOk
      ? `ok (rel ≤ ${fmt(w.learnerVsAutodiff.relError, 2)})`
      : `WRONG in ${s.learnerDisagreements}/${s.rows}: e.g. x=${w.raw}/9 ${w.phase}: ${fmt(w.learner)} vs ${fmt(w.autodiff)}`;
    line(`   ${s.param.padEnd(7)} ${m.padEnd(22)} ${n.padEnd(22)} ${l}`);
  }
  for (const s of r.gradients.summary) {
    const d = s.learnerDiagnosis;
    if (d === null) continue;
    line(`   ✗ ${s.param}: the rule ${s.learnerRule}`);
    line(`     ${d.kind}: ${d.text}`);
    if (d.corrected !== null) line(`     corrected: ${d.corrected}`);
  }
  const right = r.gradients.summary.filter((s) => s.learnerOk).map((s) => s.param);
  if (right.length) line(`   ✓ ${right.join(', ')}: the learner's rules are right (reading the undefined gradient_h as 2E·σ′(y)·w2).`);
  line();

  const { learner, correct } = r.parity;
  line(`2. Training on the parity labels (${r.steps} steps)`);
  line(`   learner's rules    loss ${fmt(learner.loss)}   y(1..9) = ${outputs(learner)}`);
  line(`   correct gradients  loss ${fmt(correct.loss)}   y(1..9) = ${outputs(correct)}`);
  line(`   Even with correct gradients the output is near-constant (spread ${fmt(r.monotonicity.outputSpread, 2)}).`);
  line();

  const m = r.monotonicity;
  line('3. Why: y is monotone in x for any weights');
  line('   dy/dx = y(1−y)·w2·h(1−h)·w1 has the sign of w1·w2 everywhere, and parity alternates.');
  line(`   best monotone fit (isotonic regression): loss ${fmt(m.isotonicFloor)} (2/9)  ← the floor for this network`);
  line(`   best constant prediction:                loss ${fmt(m.constantLoss)} (20/81)`);
  line(`   trained with correct gradients:          loss ${fmt(m.trainedLoss)}`);
  line(`   The floor is only approached as the weights grow without bound (a sigmoid turning into a step).`);
  line(`   Checked on ${m.randomCheck.settings} random weight settings: y monotone in x in ${m.randomCheck.monotone}.`);
  line();

  const t = r.threshold;
  line('4. A target this network can learn: a = 1 for raw x ≥ 5 (x/9 > 0.5)');
  line(`   correct gradients, lr 0.1:  loss ${fmt(t.correct.loss)}   y(1..9) = ${outputs(t.correct)}`);
  line(`   correct gradients, lr 1.0:  loss ${fmt(t.correctLr1.loss)}   y(1..9) = ${outputs(t.correctLr1)}`);
  line(`   learner's rules,  lr 0.1:  loss ${fmt(t.learner.loss)}   y(1..9) = ${outputs(t.learner)}`);
  line();

  const q = r.parityMlp;
  line(`5. What does fit parity: more hidden units. A 1-${q.hidden}-1 network (${q.activation} hidden, ${q.outputActivation} output,`);
  line(`   ${q.optimiser.name} at lr ${q.optimiser.lr}, ${q.steps} full-batch steps): loss ${fmt(q.loss)}, ${q.outputs.filter((o) => o.correct).length}/9 right`);
  line(`   y(1..9) = ${q.outputs.map((o) => o.y.toFixed(3)).join(' ')}`);
  line();

  line('6. The test inputs: training saw x/9 in [1/9, 1], the tests fed raw numbers');
  for (const ti of r.testInputs) {
    line(`   ${ti.input.padEnd(7)} x = ${fmt(ti.x).padEnd(7)} y = ${ti.y.toFixed(4)}${ti.insideTrainingRange ? '' : '   ← outside the training range'}`);
  }
  line('   Normalise test inputs as the training data was (x/9); 16 is outside the data either way.');
  line();
  if (r.files.length) line(`Files: ${r.files.join(', ')}`);
  line('The full gradient table: --json (e.g. npx micrograd demo --json).');
  return out.join('\n');
}
