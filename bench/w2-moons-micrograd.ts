/**
 * W2 in micrograd's own form: the same model, data, loss and 100 SGD steps as `w2-moons.ts`, but the
 * graph built as micrograd's demo builds it, op by op:
 * - the inputs are Values (`list(map(Value, xrow))`), not numbers;
 * - a neuron's sum is Python's `sum(w·x, b)`: b + w₀x₀ + w₁x₁ + …, a chain of two-operand adds, no n-ary sum;
 * - the data loss is `sum(losses) · (1/n)` (Python's sum starts at 0) and the penalty α·Σp² likewise.
 * So a step makes about twice the nodes of `npm run bench`'s form, most of them in long add chains. The
 * hand-written baseline of `w2-moons.ts` runs beside it, and both end at the same parameters up to rounding.
 */
import { Value, scope, topologicalOrder, zeroGrad } from '../src/index.js';
import { MOONS_ALPHA, moonsLearningRate, type MoonPoint } from '../src/learner/moons.js';
import type { MLP } from '../src/tools/nn.js';
import { HandWritten, PARAMETERS, STEPS, setup } from './w2-moons.js';
import { median, splitByCollection, youngGenerationBytes } from './harness.js';
import type { Row, RunOptions, Workload } from './harness.js';

const WORKLOAD = "W2 moons, micrograd's form";

/** `sum(items, start)` as Python computes it: start + items[0] + items[1] + … */
function chainSum(items: readonly Value[], start: Value | number): Value {
  let total = typeof start === 'number' ? items[0]!.add(start) : start.add(items[0]!);
  for (let k = 1; k < items.length; k++) total = total.add(items[k]!);
  return total;
}

/** The model applied to Value inputs, neuron by neuron, as micrograd's `MLP.__call__`. */
function forward(model: MLP, x: Value[]): Value {
  let inputs = x;
  for (const layer of model.layers) {
    inputs = layer.neurons.map((n) => {
      const act = chainSum(n.w.map((w, i) => w.mul(inputs[i]!)), n.b);
      if (n.activation === 'relu') return act.relu();
      if (n.activation === 'linear') return act;
      throw new Error(`micrograd's MLP has relu and linear units, not ${n.activation}`);
    });
  }
  return inputs[0]!;
}

/** micrograd's `loss()`: the max-margin data loss plus α·Σp², built term by term. */
export function microgradLoss(model: MLP, data: readonly MoonPoint[]): Value {
  const losses = data.map((p) => forward(model, [new Value(p.x1), new Value(p.x2)]).mul(-p.label).add(1).relu());
  const dataLoss = chainSum(losses, 0).mul(1 / data.length);
  const regLoss = chainSum(model.parameters().map((w) => w.mul(w)), 0).mul(MOONS_ALPHA);
  return dataLoss.add(regLoss);
}

/** One SGD step k of 100 on micrograd's graph, as its demo's loop body: zero, backward, update. */
export function microgradStep(model: MLP, data: readonly MoonPoint[], k: number): void {
  const params = model.parameters();
  const loss = microgradLoss(model, data);
  zeroGrad(params);
  loss.backward();
  const lr = moonsLearningRate(k, STEPS);
  for (const p of params) p.data -= lr * p.grad;
}

/**
 * The ordinary engine against the hand-written baseline, or (`inScope`) the engine in scopes: each in a
 * process of its own (w2-moons-micrograd.ts and w2-moons-micrograd-scope.ts), as in w2-moons.ts.
 */
function runMode(options: RunOptions, inScope: boolean): Row[] {
  const rounds = options.repetitions ?? (options.quick ? 2 : 5);
  const s = setup();
  const hand = new HandWritten(s.data);
  const params = s.model.parameters();
  const reset = (): void => params.forEach((p, j) => { p.data = s.initial[j]!; });
  const train = (scoped: boolean, collected: boolean[]): number[] => {
    reset();
    const times: number[] = [];
    for (let k = 0; k < STEPS; k++) {
      const young = youngGenerationBytes(); // outside the timed span, as below
      const t0 = process.hrtime.bigint();
      if (scoped) scope(() => microgradStep(s.model, s.data, k));
      else microgradStep(s.model, s.data, k);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      collected.push(youngGenerationBytes() < young);
    }
    return times;
  };

  const engineMs: number[] = [], handMs: number[] = [], engineCollected: boolean[] = [];
  let engineFinal = new Float64Array(0), handFinal = new Float64Array(0);
  for (let r = 0; r <= rounds; r++) { // round 0 is the warm-up
    const collected: boolean[] = [];
    const times = train(inScope, collected);
    engineFinal = Float64Array.from(params, (p) => p.data);
    const p = s.initial.slice(), g = new Float64Array(PARAMETERS), handTimes: number[] = [];
    for (let k = 0; k < STEPS; k++) {
      const t0 = process.hrtime.bigint();
      hand.lossAndGradient(p, g);
      const lr = moonsLearningRate(k, STEPS);
      for (let j = 0; j < p.length; j++) p[j]! -= lr * g[j]!;
      handTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    handFinal = p;
    if (r > 0) { engineMs.push(...times); handMs.push(...handTimes); engineCollected.push(...collected); }
  }
  // After the timing, so that it cannot change what V8 did with the timed code.
  reset();
  const nodes = topologicalOrder(microgradLoss(s.model, s.data)).length;
  const engine = median(engineMs), handWritten = median(handMs);
  const byCollection = splitByCollection(engineMs, engineCollected);
  if (inScope) {
    train(false, []);
    const identical = engineFinal.every((v, j) => Object.is(v, params[j]!.data));
    options.log(`W2 in micrograd's form, in scopes: ${STEPS} steps × ${rounds} timed rounds; final parameters identical to the ordinary engine's: ${identical}`);
    return [{
      workload: WORKLOAD, variant: 'engine in scope', medianMsPerStep: engine, nodesPerSecond: nodes / (engine / 1000),
      ratioToHandWritten: engine / handWritten, runs: engineMs.length, nsPerNode: (engine * 1e6) / nodes,
      handMsThisRun: handWritten, identicalToEngine: identical, ...byCollection,
    }];
  }
  let diff = 0, size = 0;
  for (let j = 0; j < PARAMETERS; j++) {
    diff = Math.max(diff, Math.abs(engineFinal[j]! - handFinal[j]!));
    size = Math.max(size, Math.abs(handFinal[j]!));
  }
  options.log(`W2 in micrograd's form: ${nodes} nodes per step; ${STEPS} steps × ${rounds} timed rounds, median per step`);
  options.log(`  final parameters, engine vs hand-written, max difference relative to the largest: ${(diff / size).toExponential(2)}`);
  return [
    { workload: WORKLOAD, variant: 'hand-written', medianMsPerStep: handWritten, nodesPerSecond: null, ratioToHandWritten: 1, runs: handMs.length },
    {
      workload: WORKLOAD, variant: 'engine', medianMsPerStep: engine, nodesPerSecond: nodes / (engine / 1000),
      ratioToHandWritten: engine / handWritten, runs: engineMs.length, nodesPerStep: nodes, nsPerNode: (engine * 1e6) / nodes,
      meanMsPerStep: engineMs.reduce((a, b) => a + b, 0) / engineMs.length, ...byCollection,
    },
  ];
}

export const workload: Workload = { id: 'w2', title: "moons in micrograd's form: Value inputs, two-operand add chains", run: (options) => runMode(options, false) };

/** The same steps, each in a `scope` (bench/w2-moons-micrograd-scope.ts). */
export const scopeWorkload: Workload = { id: 'w2', title: "moons in micrograd's form, each step in a scope", run: (options) => runMode(options, true) };
