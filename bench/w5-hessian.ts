/**
 * W5, hessian: the 4×4 Hessian of the learner's loss L = (σ(w2·σ(w1·x + b1) + b2) − a)² with respect
 * to (w1, b1, w2, b2), one evaluation per sample x = 1/9..9/9 in turn, at the initial parameters.
 *
 * - engine: build the loss, `grad(…, { createGraph: true })`, then one reverse pass per row
 *   (`hessianOf`, what `hessian()` and `micrograd hessian` run).
 * - hyper-dual: forward mode, one hyper-dual pass per entry (16).
 * - hand-written: the second derivatives written out by hand for this network.
 */
import { Value, topologicalOrder, grad } from '../src/index.js';
import { hessianOf } from '../src/tools/hessian.js';
import { HyperDual, forwardHessian } from '../src/tools/hyper-dual.js';
import { timeInterleaved } from './harness.js';
import type { Row, RunOptions, Workload } from './harness.js';
import { INITIAL, SAMPLES, lossGraph, type Sample } from './w1-net111.js';

/** Evaluations per timed repetition (each sample several times). */
const EVALUATIONS = 900;
const P = [INITIAL.w1, INITIAL.b1, INITIAL.w2, INITIAL.b2];

/**
 * By hand. With z2 = w2·h + b2, L = ℓ(z2): H = ℓ″·∇z2·∇z2ᵀ + ℓ′·∇²z2, where ℓ′ = 2(y − a)·y(1 − y),
 * ℓ″ = 2(y(1 − y))² + 2(y − a)·y(1 − y)(1 − 2y), and ∇²z2 is non-zero only in its (w1, b1) block
 * (w2·σ″(z1)·[x², x; x, 1]) and its w2 row and column (σ′(z1)·[x, 1]).
 */
export function handHessian(w1: number, b1: number, w2: number, b2: number, { x, a }: Sample): number[][] {
  const h = 1 / (1 + Math.exp(-(w1 * x + b1)));
  const y = 1 / (1 + Math.exp(-(w2 * h + b2)));
  const s1 = h * (1 - h), s1p = s1 * (1 - 2 * h), s2 = y * (1 - y), s2p = s2 * (1 - 2 * y);
  const l1 = 2 * (y - a) * s2, l2 = 2 * s2 * s2 + 2 * (y - a) * s2p;
  const dz = [w2 * s1 * x, w2 * s1, h, 1];
  const d2 = [
    [w2 * s1p * x * x, w2 * s1p * x, s1 * x, 0],
    [w2 * s1p * x, w2 * s1p, s1, 0],
    [s1 * x, s1, 0, 0],
    [0, 0, 0, 0],
  ];
  return dz.map((di, i) => dz.map((dj, j) => l2 * di * dj + l1 * d2[i]![j]!));
}

function engineHessian(sample: Sample): number[][] {
  const p = P.map((v) => new Value(v));
  return hessianOf(lossGraph(p[0]!, p[1]!, p[2]!, p[3]!, sample), p).matrix as number[][];
}

function hyperDualHessian({ x, a }: Sample): number[][] {
  return forwardHessian(([w1, b1, w2, b2]) => {
    const h = w1!.mul(x).add(b1!).sigmoid();
    return w2!.mul(h).add(b2!).sigmoid().sub(a).pow(2);
  }, P);
}

/** Operation nodes in the gradient's graph (the forward nodes it uses, and the new ones). */
function gradientGraphNodes(): number {
  const p = P.map((v) => new Value(v));
  const gs = grad(lossGraph(p[0]!, p[1]!, p[2]!, p[3]!, SAMPLES[0]!), p, { createGraph: true });
  return topologicalOrder(Value.sum(gs)).filter((v) => !v.isLeaf).length - 1;
}

function maxDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  return Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i]![j]!))));
}

function run(options: RunOptions): Row[] {
  const repetitions = options.repetitions ?? (options.quick ? 7 : 21);
  const each = (f: (s: Sample) => number[][]) => () => {
    for (let k = 0; k < EVALUATIONS; k++) f(SAMPLES[k % SAMPLES.length]!);
  };
  const t = timeInterleaved(
    {
      hand: each((s) => handHessian(P[0]!, P[1]!, P[2]!, P[3]!, s)),
      engine: each(engineHessian),
      hyper: each(hyperDualHessian),
    },
    3, repetitions,
  );
  let diffEngine = 0, diffHyper = 0;
  for (const s of SAMPLES) {
    const hand = handHessian(P[0]!, P[1]!, P[2]!, P[3]!, s);
    diffEngine = Math.max(diffEngine, maxDiff(engineHessian(s), hand));
    diffHyper = Math.max(diffHyper, maxDiff(hyperDualHessian(s), hand));
  }
  const nodes = gradientGraphNodes();
  options.log(`W5 hessian: 4×4 Hessian of the learner's loss at the initial parameters, ${EVALUATIONS} evaluations per run over the 9 samples, ${repetitions} timed runs each`);
  options.log(`  max |engine − hand-written| ${diffEngine.toExponential(2)}, max |hyper-dual − hand-written| ${diffHyper.toExponential(2)}`);
  options.log(`  the gradient's graph: ${nodes} operation nodes (the forward nodes it uses included), from the 8-node loss`);
  const ms = (k: 'hand' | 'engine' | 'hyper'): number => t[k].medianMs / EVALUATIONS;
  return [
    { workload: 'W5 hessian', variant: 'hand-written', medianMsPerStep: ms('hand'), nodesPerSecond: null, ratioToHandWritten: 1, runs: repetitions },
    {
      workload: 'W5 hessian', variant: 'engine', medianMsPerStep: ms('engine'), nodesPerSecond: null,
      ratioToHandWritten: ms('engine') / ms('hand'), runs: repetitions, gradientGraphNodes: nodes, maxDiffToHand: diffEngine,
    },
    {
      workload: 'W5 hessian', variant: 'hyper-dual', medianMsPerStep: ms('hyper'), nodesPerSecond: null,
      ratioToHandWritten: ms('hyper') / ms('hand'), runs: repetitions, maxDiffToHand: diffHyper,
    },
  ];
}

export const workload: Workload = {
  id: 'w5',
  title: "W5 hessian: the learner's loss, 4×4 Hessian per evaluation",
  run,
};
