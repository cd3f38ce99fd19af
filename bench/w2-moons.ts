/**
 * W2, moons: micrograd's demo, a 2-16-16-1 relu MLP trained on 100 points by full-batch SGD with
 * the max-margin (hinge) loss plus α·Σp², 100 steps with lr falling from 1.0 (src/moons.ts).
 *
 * Three ways to take a step, each timed step by step over the 100 steps of training (several
 * rounds from the same start, median per step):
 * - engine: `moonsStep`, the dynamic graph rebuilt every step (build, backward, update);
 * - compiled: the loss compiled once with `compile` (the 337 parameters as inputs, the points
 *   frozen), then per step one call for loss and gradient and the update on a Float64Array;
 * - hand-written: plain loops over Float64Arrays with the chain rule applied by hand, skipping the
 *   backward of points whose hinge is satisfied and of units whose relu is off (the limit).
 * The engine and the compiled function must end at the same parameters, bit for bit.
 */
import { createRng, scope, topologicalOrder } from '../src/index.js';
import { compile, type CompiledFunction } from '../src/tools/compile.js';
import { MOONS_ALPHA, MOONS_SEED, makeMoons, moonsLearningRate, moonsLoss, moonsModel, moonsStep, type MoonPoint } from '../src/learner/moons.js';
import type { MLP } from '../src/tools/nn.js';
import { median, splitByCollection, youngGenerationBytes } from './harness.js';
import type { Row, RunOptions, Workload } from './harness.js';

export const STEPS = 100;
const WORKLOAD = 'W2 moons 2-16-16-1 ×100';

export interface Setup {
  readonly data: readonly MoonPoint[];
  readonly model: MLP;
  /** The initial parameters, in `model.parameters()` order. */
  readonly initial: Float64Array;
}

/** The data and initial model of `trainMoons` with the default seed. */
export function setup(): Setup {
  const rng = createRng(MOONS_SEED);
  const data = makeMoons({ n: 100, noise: 0.1, rng });
  const model = moonsModel(rng);
  return { data, model, initial: Float64Array.from(model.parameters(), (p) => p.data) };
}

function setParameters(model: MLP, values: Float64Array): void {
  model.parameters().forEach((p, j) => { p.data = values[j]!; });
}

// ---------------------------------------------------------------------------------------------
// The hand-written baseline. Parameters are laid out as `model.parameters()`: layer by layer,
// neuron by neuron, its weights then its bias.

const H = 16;
const L2 = 3 * H; // first parameter of layer 2
const L3 = L2 + (H + 1) * H; // first parameter of layer 3
export const PARAMETERS = L3 + H + 1;

export class HandWritten {
  private readonly x: Float64Array;
  private readonly label: Float64Array;
  private readonly h1 = new Float64Array(H);
  private readonly h2 = new Float64Array(H);
  private readonly dh1 = new Float64Array(H);

  constructor(data: readonly MoonPoint[]) {
    this.x = Float64Array.from(data.flatMap((p) => [p.x1, p.x2]));
    this.label = Float64Array.from(data, (p) => p.label);
  }

  /** The loss at parameters `p`; its gradient into `g`. */
  lossAndGradient(p: Float64Array, g: Float64Array): number {
    const { x, label, h1, h2, dh1 } = this;
    const n = label.length, invN = 1 / n;
    g.fill(0);
    let dataLoss = 0;
    for (let i = 0; i < n; i++) {
      const x0 = x[2 * i]!, x1 = x[2 * i + 1]!, y = label[i]!;
      for (let u = 0; u < H; u++) {
        const z = p[3 * u]! * x0 + p[3 * u + 1]! * x1 + p[3 * u + 2]!;
        h1[u] = z > 0 ? z : 0;
      }
      for (let u = 0; u < H; u++) {
        const o = L2 + (H + 1) * u;
        let z = 0;
        for (let j = 0; j < H; j++) z += p[o + j]! * h1[j]!;
        z += p[o + H]!;
        h2[u] = z > 0 ? z : 0;
      }
      let s = 0;
      for (let j = 0; j < H; j++) s += p[L3 + j]! * h2[j]!;
      s += p[L3 + H]!;
      const margin = 1 - y * s;
      if (margin <= 0) continue; // relu(margin) = 0: no loss, no gradient
      dataLoss += margin;
      // ∂loss/∂s = (1/n)·relu′(margin)·(−y).
      const ds = -y * invN;
      g[L3 + H]! += ds;
      dh1.fill(0);
      for (let u = 0; u < H; u++) {
        g[L3 + u]! += ds * h2[u]!;
        if (h2[u]! <= 0) continue;
        const dz = ds * p[L3 + u]!;
        const o = L2 + (H + 1) * u;
        g[o + H]! += dz;
        for (let j = 0; j < H; j++) {
          g[o + j]! += dz * h1[j]!;
          dh1[j]! += dz * p[o + j]!;
        }
      }
      for (let u = 0; u < H; u++) {
        if (h1[u]! <= 0) continue;
        const dz = dh1[u]!;
        g[3 * u]! += dz * x0;
        g[3 * u + 1]! += dz * x1;
        g[3 * u + 2]! += dz;
      }
    }
    // + α·Σp², ∂/∂p = 2αp.
    let reg = 0;
    for (let j = 0; j < p.length; j++) {
      reg += p[j]! * p[j]!;
      g[j]! += 2 * MOONS_ALPHA * p[j]!;
    }
    return dataLoss * invN + reg * MOONS_ALPHA;
  }
}

// ---------------------------------------------------------------------------------------------

export function compileMoons(s: Setup): CompiledFunction {
  setParameters(s.model, s.initial);
  return compile(() => moonsLoss(s.model, s.data).loss, s.model.parameters());
}

interface Round {
  /** The engine's steps, ordinary or in scopes (see `runMode`). */
  engineMs: number[];
  /** Whether the young generation was collected during each engine step. */
  engineCollected: boolean[];
  engineFinal: Float64Array;
  compiledMs: number[];
  compiledFinal: Float64Array;
  handMs: number[];
  handFinal: Float64Array;
}

/** The engine's training of 100 steps from `s.initial`, every step timed; each step in a scope if `inScope`. */
function trainTimed(s: Setup, inScope: boolean): { ms: number[]; collected: boolean[]; final: Float64Array } {
  setParameters(s.model, s.initial);
  const ms: number[] = [], collected: boolean[] = [];
  for (let k = 0; k < STEPS; k++) {
    const young = youngGenerationBytes(); // outside the timed span, as below
    const t0 = process.hrtime.bigint();
    if (inScope) scope(() => moonsStep(s.model, s.data, k, STEPS));
    else moonsStep(s.model, s.data, k, STEPS);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    collected.push(youngGenerationBytes() < young);
  }
  return { ms, collected, final: Float64Array.from(s.model.parameters(), (p) => p.data) };
}

/** One training of 100 steps by each variant from `s.initial`, every step timed (no compiled one when `f` is null). */
function round(s: Setup, f: CompiledFunction | null, hand: HandWritten, inScope: boolean): Round {
  const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
  const engine = trainTimed(s, inScope);

  const x = s.initial.slice(), gc = new Float64Array(x.length);
  const compiledMs: number[] = [];
  for (let k = 0; f !== null && k < STEPS; k++) {
    const t0 = process.hrtime.bigint();
    f.run(x, gc);
    const lr = moonsLearningRate(k, STEPS);
    for (let j = 0; j < x.length; j++) x[j]! -= lr * gc[j]!;
    compiledMs.push(ms(t0));
  }

  const p = s.initial.slice(), gh = new Float64Array(p.length);
  const handMs: number[] = [];
  for (let k = 0; k < STEPS; k++) {
    const t0 = process.hrtime.bigint();
    hand.lossAndGradient(p, gh);
    const lr = moonsLearningRate(k, STEPS);
    for (let j = 0; j < p.length; j++) p[j]! -= lr * gh[j]!;
    handMs.push(ms(t0));
  }
  return { engineMs: engine.ms, engineCollected: engine.collected, engineFinal: engine.final, compiledMs, compiledFinal: x, handMs, handFinal: p };
}

/** max |a − b| over max |b|: relative to the largest entry (an entry near 0 is rounding noise). */
function normwiseDifference(a: Float64Array, b: Float64Array): number {
  let diff = 0, size = 0;
  for (let j = 0; j < a.length; j++) {
    diff = Math.max(diff, Math.abs(a[j]! - b[j]!));
    size = Math.max(size, Math.abs(b[j]!));
  }
  return diff / size;
}

/** Median time of `fn` over `reps` calls, in ms. */
function medianOf(fn: () => void, reps: number): number {
  const t: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(t);
}

/**
 * The ordinary engine, compiled and hand-written steps, or (`inScope`) the engine in scopes against the
 * hand-written one: each in a process of its own (w2-moons.ts and w2-moons-scope.ts), since V8 inlines
 * for the paths a process has run; a process running both measured the scope slower than it runs alone.
 */
function runMode(options: RunOptions, inScope: boolean): Row[] {
  const rounds = options.repetitions ?? (options.quick ? 2 : 5);
  const s = setup();
  const hand = new HandWritten(s.data);
  if (inScope) {
    round(s, null, hand, true); // warm-up
    const all: Round[] = [];
    for (let r = 0; r < rounds; r++) all.push(round(s, null, hand, true));
    const scopedMs = median(all.flatMap((r) => r.engineMs)), handMs = median(all.flatMap((r) => r.handMs));
    const byCollection = splitByCollection(all.flatMap((r) => r.engineMs), all.flatMap((r) => r.engineCollected));
    // After the timing: an ordinary training now cannot change what V8 did with the timed code.
    const last = all[all.length - 1]!, ordinary = trainTimed(s, false).final;
    const identical = last.engineFinal.every((v, j) => Object.is(v, ordinary[j]));
    const nodes = topologicalOrder(moonsLoss(s.model, s.data).loss).length;
    options.log(`W2 moons in scopes: ${STEPS} steps × ${rounds} timed rounds; final parameters identical to the ordinary engine's: ${identical}`);
    return [{
      workload: WORKLOAD, variant: 'engine in scope', medianMsPerStep: scopedMs, nodesPerSecond: nodes / (scopedMs / 1000),
      ratioToHandWritten: scopedMs / handMs, runs: rounds * STEPS, handMsThisRun: handMs, identicalToEngine: identical, ...byCollection,
    }];
  }
  const t0 = performance.now();
  const f = compileMoons(s);
  const compileMs = performance.now() - t0;

  setParameters(s.model, s.initial);
  const nodes = topologicalOrder(moonsLoss(s.model, s.data).loss).length;

  // The gradient at the start, three ways.
  const engineGradient = ((): Float64Array => {
    setParameters(s.model, s.initial);
    const loss = moonsLoss(s.model, s.data).loss;
    const params = s.model.parameters();
    for (const q of params) q.grad = 0;
    loss.backward();
    return Float64Array.from(params, (q) => q.grad);
  })();
  const handGradient = new Float64Array(PARAMETERS);
  hand.lossAndGradient(s.initial, handGradient);

  // Warm-up, then timed rounds.
  round(s, f, hand, false);
  const all: Round[] = [];
  for (let r = 0; r < rounds; r++) all.push(round(s, f, hand, false));
  const engineMs = median(all.flatMap((r) => r.engineMs));
  // backward() skips what lies below a zero gradient (hinge terms met, relus off), which grows as
  // training goes on: the steps differ, so the mean and the two halves are shown beside the median.
  const engineAll = all.flatMap((r) => r.engineMs);
  const engineMeanMs = engineAll.reduce((a, b) => a + b, 0) / engineAll.length;
  const engineFirstHalfMs = median(all.flatMap((r) => r.engineMs.slice(0, STEPS / 2)));
  const engineSecondHalfMs = median(all.flatMap((r) => r.engineMs.slice(STEPS / 2)));
  const compiledMs = median(all.flatMap((r) => r.compiledMs));
  const handMs = median(all.flatMap((r) => r.handMs));
  const last = all[all.length - 1]!;
  const identical = last.engineFinal.every((v, j) => Object.is(v, last.compiledFinal[j]));

  // The compiled step split into forward and backward, at the start (where most relus are on).
  const x0 = s.initial.slice(), g0 = new Float64Array(x0.length);
  const forwardMs = medianOf(() => f.value(x0), 200);
  const fullMs = medianOf(() => f.run(x0, g0), 200);

  options.log(`W2 moons: ${nodes} nodes per step in the engine's graph; compiled to ${f.opCount} ops (${f.strategy}) in ${compileMs.toFixed(0)} ms`);
  options.log(`  ${STEPS} steps × ${rounds} timed rounds (after one warm-up), median per step`);
  options.log(`  engine and compiled end at the same parameters, bit for bit: ${identical}`);
  options.log(`  hand-written vs engine, max difference relative to the largest entry: gradient at the start ` +
    `${normwiseDifference(handGradient, engineGradient).toExponential(2)}, final parameters ${normwiseDifference(last.handFinal, last.engineFinal).toExponential(2)}`);
  options.log(`  compiled at the start: forward ${(forwardMs * 1e3).toFixed(0)} µs, forward + backward ${(fullMs * 1e3).toFixed(0)} µs`);
  const row = (variant: string, msPerStep: number, extra: Partial<Row>): Row => ({
    workload: WORKLOAD, variant, medianMsPerStep: msPerStep,
    nodesPerSecond: variant === 'hand-written' ? null : nodes / (msPerStep / 1000),
    ratioToHandWritten: msPerStep / handMs, runs: rounds * STEPS, ...extra,
  });
  return [
    row('hand-written', handMs, {}),
    row('engine', engineMs, {
      nodesPerStep: nodes, nsPerNode: (engineMs * 1e6) / nodes, meanMsPerStep: engineMeanMs,
      medianMsSteps1to50: engineFirstHalfMs, medianMsSteps51to100: engineSecondHalfMs,
      ...splitByCollection(engineAll, all.flatMap((r) => r.engineCollected)),
    }),
    row('compiled', compiledMs, {
      ops: f.opCount, compileMs, identicalToEngine: identical,
      forwardMsAtStart: forwardMs, backwardMsAtStart: fullMs - forwardMs,
    }),
  ];
}

export const workload: Workload = { id: 'w2', title: "moons (micrograd's demo): 2-16-16-1 MLP, 100 points, full batch", run: (options) => runMode(options, false) };

/** The same steps, each in a `scope` (bench/w2-moons-scope.ts). */
export const scopeWorkload: Workload = { id: 'w2', title: 'moons, each step in a scope', run: (options) => runMode(options, true) };
