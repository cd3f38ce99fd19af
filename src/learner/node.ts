/**
 * The learner's case and micrograd's moons demo on Node: the same computations as
 * `micrograd-ts/learner`, with their pictures written to files (SVG charts by vega, graphs by
 * graphviz-cli).
 */
import { join } from 'node:path';
import type { Value } from '../engine/value.js';
import { noProgress, type ProgressFactory } from '../tools/progress.js';
import { writeGraph } from '../node/render.js';
import { formatNumber } from '../tools/dot.js';
import { ensureDirectory, writeFileAtomic } from '../node/files.js';
import { decisionRegionSvg, lineChartSvg, panelChartSvg } from '../node/plot.js';
import { bestMonotoneFit } from './isotonic.js';
import { PARAM_NAMES, buildNet111, trainingSet, type Params, type TrainResult } from './net111.js';
import { demoReport, type DemoOptions, type DemoReport, type GradientRow } from './report.js';
import {
  MOONS_SEED, decisionGrid, moonsLearningRate, trainMoons,
  type MoonsStepRecord, type MoonsTrainOptions, type MoonsTraining,
} from './moons.js';
import type { MLPJson } from '../tools/nn.js';

export interface RunDemoOptions extends DemoOptions {
  /** Folder for the loss chart and the backward-pass graph; none are written without it. */
  readonly outDir?: string | null;
}

/** Runs every part of the learner's case and, given `outDir`, writes its pictures there. */
export async function runDemo(options: RunDemoOptions = {}): Promise<DemoReport> {
  const { outDir = null, ...rest } = options;
  const report = demoReport(rest);
  if (outDir === null) return report;
  return { ...report, files: await writeDemoFiles(outDir, report) };
}

/**
 * Writes a demo report's pictures into `outDir` (made if missing) and returns their paths: the loss
 * chart and one sample's backward pass. Apart from `runDemo` so that a caller can show the report
 * before a file error. @throws OutputError
 */
export async function writeDemoFiles(outDir: string, report: DemoReport): Promise<string[]> {
  const runs = [report.parity.learner, report.parity.correct, report.threshold.correct, report.threshold.learner];
  return writeDemoPictures(outDir, report.initial, report.gradients.rows, runs);
}

async function writeDemoPictures(outDir: string, initial: Params, rows: readonly GradientRow[], runs: readonly TrainResult[]): Promise<string[]> {
  await ensureDirectory(outDir);
  const name = (r: TrainResult): string =>
    `${r.target}, ${r.rules === 'learner' ? 'learner\'s rules' : 'correct gradients'}`;
  const chart = await lineChartSvg({
    title: 'The learner\'s 1-1-1 network: mean loss over the nine inputs',
    xTitle: 'SGD step',
    yTitle: 'mean (y − a)²',
    series: runs.map((r) => ({ name: name(r), points: r.curve.map((c) => ({ x: c.step, y: c.loss })) })),
    rules: [{ name: 'parity: best monotone fit (2/9)', y: bestMonotoneFit(trainingSet('parity').map((s) => s.a)).mse }],
  });
  const chartPath = join(outDir, 'net111-loss.svg');
  await writeFileAtomic(chartPath, chart);

  // One sample's backward pass at the start, with the learner's wrong gradients marked on it.
  const sample = trainingSet('parity')[1]!; // raw x = 2, a = 1
  const g = buildNet111(initial, sample.x, sample.a);
  g.loss.backward();
  const marks = new Map<Value, string>();
  for (const param of PARAM_NAMES) {
    const row = rows.find((r) => r.phase === 'start' && r.raw === sample.raw && r.param === param)!;
    if (!row.learnerVsAutodiff.ok) marks.set(g[param], `learner ${formatNumber(row.learner)} ≠ autodiff ${formatNumber(row.autodiff)}`);
  }
  const { dotPath, svgPath } = await writeGraph(g.loss, join(outDir, 'net111-backward'), { marks });
  return [chartPath, dotPath, svgPath];
}


export interface MoonsRunOptions extends Omit<MoonsTrainOptions, 'onStep'> {
  /** Folder for moons-boundary.svg and moons-loss.svg; none are written without it. */
  readonly outDir?: string | null;
  /** Decision-region grid cells per side (default 60). */
  readonly gridSize?: number;
  readonly progress?: ProgressFactory;
}

export interface MoonsResult {
  readonly seed: number;
  readonly points: number;
  readonly noise: number;
  readonly steps: number;
  readonly architecture: string;
  readonly parameters: number;
  readonly curve: readonly MoonsStepRecord[];
  /** Loss and accuracy after the last update. */
  readonly final: { readonly loss: number; readonly accuracy: number };
  /** The first step whose accuracy (before its update) was 100 %, or null. */
  readonly firstPerfectStep: number | null;
  /** Wall-clock seconds for the training (not the pictures); varies from run to run. */
  readonly trainSeconds: number;
  /** The trained parameters, loadable with `MLP.fromJSON`. */
  readonly model: MLPJson;
  readonly files: readonly string[];
}

/** The whole demo: trains, then (unless `outDir` is null) writes the two pictures. */
export async function runMoons(options: MoonsRunOptions = {}): Promise<MoonsResult> {
  const { outDir = null, ...rest } = options;
  const run = trainMoonsRun(rest);
  return outDir === null ? run.result : { ...run.result, files: await run.writeFiles(outDir) };
}

/** A finished moons run, whose pictures are not written yet. */
export interface MoonsRun {
  /** The run's figures (`files` empty). */
  readonly result: MoonsResult;
  /** Writes the two pictures into `outDir` (made if missing); resolves to their paths. @throws OutputError */
  writeFiles(outDir: string): Promise<string[]>;
}

/** Trains as `runMoons` does but leaves the pictures to the caller (who can show the figures before a file error). */
export function trainMoonsRun(options: Omit<MoonsRunOptions, 'outDir'> = {}): MoonsRun {
  const { gridSize = 60, progress = noProgress, ...trainOptions } = options;
  const steps = trainOptions.steps ?? 100;
  const bar = progress('moons, 2-16-16-1 relu, SGD', steps);
  const start = performance.now();
  let training: MoonsTraining;
  try {
    training = trainMoons({ ...trainOptions, onStep: (d) => bar.update(d) });
  } finally {
    bar.stop();
  }
  const trainSeconds = (performance.now() - start) / 1000;
  const { model, data, curve, final } = training;
  const firstPerfect = curve.find((r) => r.accuracy === 1);
  const result = {
    seed: trainOptions.seed ?? MOONS_SEED,
    points: data.length,
    noise: trainOptions.noise ?? 0.1,
    steps,
    architecture: '2-16-16-1, relu hidden layers, linear output',
    parameters: model.parameters().length,
    curve,
    final,
    firstPerfectStep: firstPerfect ? firstPerfect.step : null,
    trainSeconds,
    model: model.toJSON(),
  };
  return {
    result: { ...result, files: [] },
    writeFiles: (outDir) => writeMoonsPictures(outDir, training, gridSize, result.seed),
  };
}

async function writeMoonsPictures(outDir: string, t: MoonsTraining, gridSize: number, seed: number): Promise<string[]> {
  await ensureDirectory(outDir);
  const percent = (a: number): string => `${(100 * a).toFixed(0)} %`;
  const boundary = await decisionRegionSvg({
    title: 'Moons: decision regions of the trained 2-16-16-1 MLP',
    subtitle: `${t.data.length} points, seed ${seed}, training accuracy ${percent(t.final.accuracy)}, loss ${t.final.loss.toFixed(4)}`,
    grid: decisionGrid(t.model, t.data, gridSize),
    points: t.data.map((p) => ({ x1: p.x1, x2: p.x2, positive: p.label > 0 })),
    classNames: ['label −1', 'label +1'],
  });
  const steps = t.curve.length;
  const withFinal = [...t.curve.map((r) => ({ step: r.step, loss: r.loss, accuracy: r.accuracy })), { step: steps, ...t.final }];
  const chart = await panelChartSvg({
    title: steps === 0
      ? `Moons: untrained (seed ${seed})`
      : `Moons: ${steps} full-batch SGD steps, lr 1.0 → ${moonsLearningRate(steps - 1, steps).toFixed(3)} (seed ${seed})`,
    subtitle: 'at each step before its update; the last point is after the last update',
    xTitle: 'step',
    panels: [
      { yTitle: 'loss (hinge + L2)', series: [{ name: 'loss', points: withFinal.map((r) => ({ x: r.step, y: r.loss })) }] },
      { yTitle: 'training accuracy', yDomain: [0, 1], series: [{ name: 'accuracy', points: withFinal.map((r) => ({ x: r.step, y: r.accuracy })) }] },
    ],
  });
  const boundaryPath = join(outDir, 'moons-boundary.svg');
  const lossPath = join(outDir, 'moons-loss.svg');
  await writeFileAtomic(boundaryPath, boundary);
  await writeFileAtomic(lossPath, chart);
  return [boundaryPath, lossPath];
}
