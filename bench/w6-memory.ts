/**
 * W6, memory: does a training loop hold its memory flat, and what does one surviving node keep alive?
 *
 * - The W1 loop (the learner's 1-1-1 net, a new graph every step) for 10⁶ steps, with serial numbers
 *   forced to wrap around 2³⁰ every 10⁴ steps (the test hook `setNextSerial`), so that the passes after
 *   each wrap take the depth-first fallback. Live memory (heap + typed-array storage, after a full
 *   collection) before and after; the final parameters against the hand-written loop's.
 * - 1,000 leaves kept, one made after every 4,096 nodes that are dropped: the live memory they hold.
 *   A node keeps its chunk of numbers alive (storage.ts), so this measures that bound.
 */
import { Value, createRng, zeroGrad } from '../src/index.js';
import { setNextSerial } from '../src/engine/storage.js';
import { INITIAL, LEARNING_RATE, SAMPLES, SEED, lossGraph, maxDifference, trainHandWritten, type Params } from './w1-net111.js';
import { hasGc, liveMemory, nowMs } from './harness.js';
import type { Row, RunOptions, Workload } from './harness.js';

const SERIAL_LIMIT = 2 ** 30;
const MB = 2 ** 20;

/** The W1 loop, with serials set to wrap within the next step every `wrapEvery` steps. */
function trainWithWraps(steps: number, wrapEvery: number): { params: Params; wraps: number } {
  const rng = createRng(SEED);
  const w1 = new Value(INITIAL.w1), b1 = new Value(INITIAL.b1), w2 = new Value(INITIAL.w2), b2 = new Value(INITIAL.b2);
  const params = [w1, b1, w2, b2];
  let wraps = 0;
  for (let step = 0; step < steps; step++) {
    if (step % wrapEvery === wrapEvery - 1) {
      setNextSerial(SERIAL_LIMIT - 3); // the step's 8 nodes straddle the wrap
      wraps++;
    }
    const loss = lossGraph(w1, b1, w2, b2, SAMPLES[rng.int(SAMPLES.length)]!);
    loss.backward();
    for (const p of params) p.data -= LEARNING_RATE * p.grad;
    zeroGrad(params);
  }
  return { params: { w1: w1.data, b1: b1.data, w2: w2.data, b2: b2.data }, wraps };
}

/** Live memory held by `kept` leaves, each made after `between` nodes that are dropped. */
function retention(kept: number, between: number): { bytes: number; keptNodes: Value[] } {
  const before = liveMemory();
  const keptNodes: Value[] = [];
  for (let k = 0; k < kept; k++) {
    let v = new Value(k);
    for (let j = 1; j < between; j += 2) v = v.mul(0.5).add(1);
    keptNodes.push(new Value(k));
  }
  const after = liveMemory();
  return { bytes: after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers, keptNodes };
}

function run(options: RunOptions): Row[] {
  if (!hasGc()) {
    options.log('W6 needs `node --expose-gc` (as `npm run bench` runs it): skipped');
    return [];
  }
  const steps = options.quick ? 100_000 : 1_000_000;
  const before = liveMemory();
  const t0 = nowMs();
  const { params, wraps } = trainWithWraps(steps, 10_000);
  const ms = nowMs() - t0;
  const after = liveMemory();
  const diff = maxDifference(params, trainHandWritten(steps, SEED));
  options.log(`W6 W1 loop: ${steps} steps, ${wraps} forced wrap-arounds; live heap ${(before.heapUsed / MB).toFixed(2)} → ` +
    `${(after.heapUsed / MB).toFixed(2)} MB, typed arrays ${(before.arrayBuffers / MB).toFixed(2)} → ${(after.arrayBuffers / MB).toFixed(2)} MB; ` +
    `max |engine − hand-written| ${diff.toExponential(2)}`);

  const kept = 1000, between = 4096;
  const r = retention(kept, between);
  options.log(`W6 retention: ${kept} leaves kept, one per ${between} nodes made, hold ${(r.bytes / MB).toFixed(1)} MB ` +
    `(${(r.bytes / kept / 1024).toFixed(1)} KB each; ${r.keptNodes.length} alive)`);
  return [
    {
      workload: `W6 W1 loop ×${steps}, serials wrapped every 10⁴ steps`, variant: 'engine',
      medianMsPerStep: ms / steps, nodesPerSecond: null, ratioToHandWritten: null, runs: 1, wraps,
      heapBeforeMB: before.heapUsed / MB, heapAfterMB: after.heapUsed / MB,
      arrayBuffersBeforeMB: before.arrayBuffers / MB, arrayBuffersAfterMB: after.arrayBuffers / MB,
      maxParamDiffToHand: diff,
    },
    {
      workload: `W6 ${kept} leaves kept, one per ${between} nodes`, variant: 'engine',
      medianMsPerStep: 0, nodesPerSecond: null, ratioToHandWritten: null, runs: 1,
      keptMB: r.bytes / MB, keptKBPerLeaf: r.bytes / kept / 1024,
    },
  ];
}

export const workload: Workload = { id: 'w6', title: 'memory: a training loop over 10⁶ steps with wrap-arounds; what kept nodes hold', run };
