/**
 * W1, net-111, compiled: the same SGD training as bench/w1-net111.ts (10,000 steps, the same seed
 * and sample picks), with the loss compiled once by `compile` instead of built every step.
 *
 * The sample's x and label are inputs too (data: `gradients: 4` asks for the four parameters'
 * gradients only), so that one compiled function serves every sample. The hand-written baseline
 * is timed again here, interleaved, for the ratio.
 */
import { Value, createRng } from '../src/index.js';
import { compile, type CompiledFunction } from '../src/tools/compile.js';
import { timeInterleaved } from './harness.js';
import type { Row, RunOptions, Workload } from './harness.js';
import {
  INITIAL, LEARNING_RATE, SAMPLES, SEED, STEPS, maxDifference, operationNodesPerStep, trainEngine, trainHandWritten,
  type Params,
} from './w1-net111.js';

/** The loss of bench/w1-net111.ts's `lossGraph`, with the sample as two more inputs. */
export function compileNet111(): CompiledFunction {
  return compile((xs: readonly Value[]) => {
    const [w1, b1, w2, b2, x, a] = xs as [Value, Value, Value, Value, Value, Value];
    const h = w1.mul(x).add(b1).sigmoid();
    const y = w2.mul(h).add(b2).sigmoid();
    return y.sub(a).pow(2);
  }, [INITIAL.w1, INITIAL.b1, INITIAL.w2, INITIAL.b2, SAMPLES[0]!.x, SAMPLES[0]!.a], { gradients: 4 });
}

/** SGD with the compiled function: the parameters and the sample live in one Float64Array. */
export function trainCompiled(f: CompiledFunction, steps: number, seed: number): Params {
  const rng = createRng(seed);
  const x = new Float64Array([INITIAL.w1, INITIAL.b1, INITIAL.w2, INITIAL.b2, 0, 0]);
  const gradient = new Float64Array(4);
  for (let step = 0; step < steps; step++) {
    const sample = SAMPLES[rng.int(SAMPLES.length)]!;
    x[4] = sample.x;
    x[5] = sample.a;
    f.run(x, gradient);
    for (let j = 0; j < 4; j++) x[j]! -= LEARNING_RATE * gradient[j]!;
  }
  return { w1: x[0]!, b1: x[1]!, w2: x[2]!, b2: x[3]! };
}

function run(options: RunOptions): Row[] {
  const repetitions = options.repetitions ?? (options.quick ? 7 : 21);
  const t0 = performance.now();
  const f = compileNet111();
  const compileMs = performance.now() - t0;
  let compiledParams = INITIAL, handParams = INITIAL;
  const t = timeInterleaved(
    {
      compiled: () => { compiledParams = trainCompiled(f, STEPS, SEED); },
      hand: () => { handParams = trainHandWritten(STEPS, SEED); },
    },
    3, repetitions,
  );
  const engineParams = trainEngine(STEPS, SEED);
  const identical = maxDifference(compiledParams, engineParams) === 0;
  const compiledMs = t.compiled.medianMs / STEPS, handMs = t.hand.medianMs / STEPS;
  const nodes = operationNodesPerStep();
  options.log(`W1 net-111 compiled (${f.strategy}, ${f.opCount} ops, compiled in ${compileMs.toFixed(1)} ms): ${STEPS} SGD steps, ${repetitions} timed runs`);
  options.log(`  final parameters identical to the engine's, bit for bit: ${identical}`);
  options.log(`  compiled ${(compiledMs * 1e3).toFixed(3)} µs/step, hand-written ${(handMs * 1e3).toFixed(3)} µs/step (this run)`);
  return [{
    workload: 'W1 net-111', variant: 'compiled', medianMsPerStep: compiledMs,
    nodesPerSecond: nodes / (compiledMs / 1000), ratioToHandWritten: compiledMs / handMs,
    runs: repetitions, strategy: f.strategy, ops: f.opCount, compileMs, handMsThisRun: handMs,
    identicalToEngine: identical, maxParamDiffToHand: maxDifference(compiledParams, handParams),
  }];
}

export const workload: Workload = { id: 'w1', title: 'net-111, compiled once (straight-line code)', run };
