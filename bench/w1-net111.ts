/**
 * W1, net-111: the learner's 1-1-1 network trained by SGD, one sample per step.
 *
 *   h = σ(w1·x + b1),  y = σ(w2·h + b2),  L = (y − a)²
 *
 * on x = 1..9 (divided by 9), a = 1 for even x; 10,000 steps at lr 0.1, each on a sample picked by
 * a seeded PRNG. The engine builds the graph anew each step (as a learner's code would); the
 * hand-written baseline applies the chain rule by hand to plain numbers; the minimal engine
 * (bench/minimal-engine.ts) is the least a dynamic engine does, for scale.
 */
import { Value, createRng, scope, topologicalOrder, zeroGrad } from '../src/index.js';
import { timeInterleaved } from './harness.js';
import { MinimalNode } from './minimal-engine.js';
import type { Row, RunOptions, Workload } from './harness.js';

export const STEPS = 10_000;
export const LEARNING_RATE = 0.1;
export const SEED = 20261125;

export interface Sample {
  x: number;
  a: number;
}

/** x = 1..9 divided by 9; the target a is 1 for even x, else 0. */
export const SAMPLES: readonly Sample[] = Array.from({ length: 9 }, (_, k) => ({
  x: (k + 1) / 9,
  a: (k + 1) % 2 === 0 ? 1 : 0,
}));

export interface Params {
  w1: number;
  b1: number;
  w2: number;
  b2: number;
}

export const INITIAL: Readonly<Params> = { w1: 0.3, b1: 0, w2: -0.2, b2: 0 };

/** The baseline: forward and backward written out by hand, no graph. */
export function trainHandWritten(steps: number, seed: number): Params {
  const rng = createRng(seed);
  let { w1, b1, w2, b2 } = INITIAL;
  for (let step = 0; step < steps; step++) {
    const { x, a } = SAMPLES[rng.int(SAMPLES.length)]!;
    const h = 1 / (1 + Math.exp(-(w1 * x + b1)));
    const y = 1 / (1 + Math.exp(-(w2 * h + b2)));
    // dL/dy = 2(y − a); σ′ = σ(1 − σ).
    const dz2 = 2 * (y - a) * y * (1 - y);
    const dz1 = dz2 * w2 * h * (1 - h);
    w1 -= LEARNING_RATE * dz1 * x;
    b1 -= LEARNING_RATE * dz1;
    w2 -= LEARNING_RATE * dz2 * h;
    b2 -= LEARNING_RATE * dz2;
  }
  return { w1, b1, w2, b2 };
}

/** One step's loss as an engine graph (x and a are plain numbers: inline constants). */
export function lossGraph(w1: Value, b1: Value, w2: Value, b2: Value, sample: Sample): Value {
  const h = w1.mul(sample.x).add(b1).sigmoid();
  const y = w2.mul(h).add(b2).sigmoid();
  return y.sub(sample.a).pow(2);
}

/**
 * The engine: build the graph, backward(), update each parameter in place, zero the leaf grads.
 * With `inScope`, each step's graph is made inside `scope` (the opt-in tape).
 */
export function trainEngine(steps: number, seed: number, inScope = false): Params {
  const rng = createRng(seed);
  const w1 = new Value(INITIAL.w1, 'w1'), b1 = new Value(INITIAL.b1, 'b1');
  const w2 = new Value(INITIAL.w2, 'w2'), b2 = new Value(INITIAL.b2, 'b2');
  const params = [w1, b1, w2, b2];
  const step = (sample: Sample): void => {
    lossGraph(w1, b1, w2, b2, sample).backward();
    for (const p of params) p.data -= LEARNING_RATE * p.grad;
    zeroGrad(params);
  };
  for (let k = 0; k < steps; k++) {
    const sample = SAMPLES[rng.int(SAMPLES.length)]!;
    if (inScope) scope(() => step(sample));
    else step(sample);
  }
  return { w1: w1.data, b1: b1.data, w2: w2.data, b2: b2.data };
}

/** The same loop on the least a dynamic engine does (bench/minimal-engine.ts), for scale. */
export function trainMinimal(steps: number, seed: number): Params {
  const rng = createRng(seed);
  const w1 = new MinimalNode(INITIAL.w1), b1 = new MinimalNode(INITIAL.b1);
  const w2 = new MinimalNode(INITIAL.w2), b2 = new MinimalNode(INITIAL.b2);
  const params = [w1, b1, w2, b2];
  for (let k = 0; k < steps; k++) {
    const { x, a } = SAMPLES[rng.int(SAMPLES.length)]!;
    const h = w1.mul(x).add(b1).sigmoid();
    const y = w2.mul(h).add(b2).sigmoid();
    y.sub(a).square().backward(); // sets the leaves' gradients afresh: no zeroing
    for (const p of params) p.data -= LEARNING_RATE * p.grad;
  }
  return { w1: w1.data, b1: b1.data, w2: w2.data, b2: b2.data };
}

/** Operation nodes (not leaves) in one step's graph. */
export function operationNodesPerStep(): number {
  const p = [0.3, 0, -0.2, 0].map((x) => new Value(x));
  return topologicalOrder(lossGraph(p[0]!, p[1]!, p[2]!, p[3]!, SAMPLES[0]!)).filter((v) => !v.isLeaf).length;
}

export function maxDifference(p: Params, q: Params): number {
  return Math.max(Math.abs(p.w1 - q.w1), Math.abs(p.b1 - q.b1), Math.abs(p.w2 - q.w2), Math.abs(p.b2 - q.b2));
}

function formatParams(p: Params): string {
  return `w1=${p.w1} b1=${p.b1} w2=${p.w2} b2=${p.b2}`;
}

/**
 * The ordinary engine against the hand-written baseline, or (`inScope`) the engine in scopes against it:
 * each in a process of its own (the files w1-net111.ts and w1-net111-scope.ts), since V8 inlines for the
 * paths a process has run, and a process running both measured the scope slower than it runs alone.
 */
function runMode(options: RunOptions, inScope: boolean): Row[] {
  const repetitions = options.repetitions ?? (options.quick ? 7 : 21);
  let engineParams = INITIAL, handParams = INITIAL, minimalParams = INITIAL;
  const engine = (): void => { engineParams = trainEngine(STEPS, SEED, inScope); };
  const hand = (): void => { handParams = trainHandWritten(STEPS, SEED); };
  const minimal = (): void => { minimalParams = trainMinimal(STEPS, SEED); };
  const nodes = operationNodesPerStep();
  if (inScope) {
    const t = timeInterleaved({ engine, hand }, 3, repetitions);
    const engineMs = t.engine.medianMs / STEPS, handMs = t.hand.medianMs / STEPS;
    // After the timing: an ordinary run now cannot change what V8 did with the timed code.
    const identical = maxDifference(engineParams, trainEngine(STEPS, SEED)) === 0;
    options.log(`W1 net-111 in scopes: ${STEPS} SGD steps, ${repetitions} timed runs; final parameters identical to the ordinary engine's: ${identical}`);
    return [{
      workload: 'W1 net-111', variant: 'engine in scope', medianMsPerStep: engineMs,
      nodesPerSecond: nodes / (engineMs / 1000), ratioToHandWritten: engineMs / handMs,
      runs: repetitions, handMsThisRun: handMs, identicalToEngine: identical,
    }];
  }
  const t = timeInterleaved({ engine, hand, minimal }, 3, repetitions);
  const engineMs = t.engine.medianMs / STEPS, handMs = t.hand.medianMs / STEPS, minimalMs = t.minimal.medianMs / STEPS;
  const diff = maxDifference(engineParams, handParams), minimalDiff = maxDifference(minimalParams, handParams);
  options.log(`W1 net-111: ${STEPS} SGD steps, lr ${LEARNING_RATE}, seed ${SEED}, ${repetitions} timed runs each`);
  options.log(`  engine       final ${formatParams(engineParams)}`);
  options.log(`  hand-written final ${formatParams(handParams)}`);
  options.log(`  max |engine − hand-written| over the parameters: ${diff.toExponential(2)}`);
  options.log(`  max |minimal engine − hand-written| over the parameters: ${minimalDiff.toExponential(2)}`);
  return [
    {
      workload: 'W1 net-111', variant: 'hand-written', medianMsPerStep: handMs, nodesPerSecond: null,
      ratioToHandWritten: 1, runs: repetitions, ...handParams,
    },
    {
      workload: 'W1 net-111', variant: 'engine', medianMsPerStep: engineMs,
      nodesPerSecond: nodes / (engineMs / 1000), ratioToHandWritten: engineMs / handMs,
      runs: repetitions, nodesPerStep: nodes, maxParamDiff: diff, overMinimal: engineMs / minimalMs, ...engineParams,
    },
    {
      workload: 'W1 net-111', variant: 'minimal engine', medianMsPerStep: minimalMs,
      nodesPerSecond: nodes / (minimalMs / 1000), ratioToHandWritten: minimalMs / handMs,
      runs: repetitions, maxParamDiff: minimalDiff,
    },
  ];
}

export const workload: Workload = { id: 'w1', title: 'net-111 (1-1-1 network, SGD)', run: (options) => runMode(options, false) };

/** The same, each step in a `scope` (bench/w1-net111-scope.ts). */
export const scopeWorkload: Workload = { id: 'w1', title: 'net-111, each step in a scope', run: (options) => runMode(options, true) };
