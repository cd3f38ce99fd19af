/**
 * W3, deep chain: x ← x·1.000001 + 0.000001 repeated N times (2N operation nodes), then backward().
 * Measures time per node and memory per node as the graph grows to 2×10⁷ nodes.
 *
 * Memory is measured with the graph alive after a full collection. The engine keeps node numbers
 * in typed-array chunks, whose storage is outside the JS heap (`arrayBuffers`), so the honest
 * figure per node is heap + arrayBuffers.
 */
import v8 from 'node:v8';
import { Value, scope } from '../src/index.js';
import { hasGc, liveMemory, median, nowMs } from './harness.js';
import type { Row, RunOptions, Workload } from './harness.js';

export const FACTOR = 1.000001;
export const OFFSET = 0.000001;

/** The chain as an engine graph: returns the input leaf and the root. */
export function buildChain(n: number): { x: Value; root: Value } {
  const x = new Value(1, 'x');
  let v = x;
  for (let k = 0; k < n; k++) v = v.mul(FACTOR).add(OFFSET);
  return { x, root: v };
}

/** The baseline: the same recurrence forward, then the chain rule backward, on plain numbers. */
export function handWritten(n: number): { value: number; grad: number } {
  let x = 1;
  for (let k = 0; k < n; k++) x = x * FACTOR + OFFSET;
  // ∂(x·c + d)/∂x = c at every step, applied from the root down.
  let grad = 1;
  for (let k = n - 1; k >= 0; k--) grad = grad * 1 * FACTOR;
  return { value: x, grad };
}

interface Plan {
  n: number;
  warmup: number;
  repetitions: number;
}

function plans(options: RunOptions): Plan[] {
  const all: Plan[] = [
    { n: 1e4, warmup: 5, repetitions: 31 },
    { n: 1e5, warmup: 3, repetitions: 11 },
    { n: 1e6, warmup: 1, repetitions: 5 },
    { n: 1e7, warmup: 0, repetitions: 3 },
  ];
  const chosen = options.quick ? all.filter((p) => p.n <= 1e6) : all;
  return chosen.map((p) => ({
    ...p,
    repetitions: options.repetitions ?? (options.quick ? Math.max(3, Math.ceil(p.repetitions / 2)) : p.repetitions),
  }));
}

/**
 * The heap limit the 10⁷ run needs: the graph takes about 64 B of heap per node (1.3 GB), and
 * backward() about 16 B more for its traversal arrays. Node's default limit is 4 GiB on a machine
 * with 16 GB or more of memory, but less on smaller ones.
 */
const HEAP_NEEDED_FOR_1E7 = 2.5 * 2 ** 30;

interface EngineRun {
  forwardMs: number;
  backwardMs: number;
  grad: number;
  value: number;
}

/** One timed forward + backward. A function of its own, so that no caller's frame keeps the graph alive. */
function engineOnce(n: number): EngineRun {
  const t0 = nowMs();
  const { x, root } = buildChain(n);
  const t1 = nowMs();
  root.backward();
  const t2 = nowMs();
  return { forwardMs: t1 - t0, backwardMs: t2 - t1, grad: x.grad, value: root.data };
}

/** The same, with the chain made and differentiated inside `scope` (the opt-in tape). */
function scopedOnce(n: number): EngineRun {
  return scope(() => engineOnce(n));
}

interface MemoryFigures {
  heapBytesPerNode: number;
  arrayBufferBytesPerNode: number;
  bytesPerNode: number;
  /** After backward(): also counts the traversal arrays the engine keeps for reuse. */
  bytesPerNodeAfterBackward: number;
  /** The whole live heap after backward(), graph alive (what the heap limit must allow). */
  heapUsedAfterBackwardMB: number;
}

/** Memory per operation node with the graph alive (one build, outside the timed runs). */
function measureMemory(n: number): MemoryFigures {
  const nodes = 2 * n;
  const before = liveMemory();
  const { x, root } = buildChain(n);
  const built = liveMemory();
  root.backward();
  const after = liveMemory();
  // Keep the graph alive through the last measurement.
  if (!(x.grad > 0 && root.data > 0)) throw new Error('W3: unexpected chain result');
  const heap = (built.heapUsed - before.heapUsed) / nodes;
  const buffers = (built.arrayBuffers - before.arrayBuffers) / nodes;
  return {
    heapBytesPerNode: heap,
    arrayBufferBytesPerNode: buffers,
    bytesPerNode: heap + buffers,
    bytesPerNodeAfterBackward:
      (after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / nodes,
    heapUsedAfterBackwardMB: after.heapUsed / 2 ** 20,
  };
}

/** Memory per node of the chain inside a scope: heap + typed arrays while it is alive. */
function measureScopedMemory(n: number): number {
  scope(() => 0); // a small scope first: the tape gives back what earlier runs took
  const before = liveMemory();
  return scope(() => {
    const { x, root } = buildChain(n);
    root.backward();
    const after = liveMemory();
    if (!(x.grad > 0)) throw new Error('W3: unexpected chain result');
    return (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / (2 * n);
  });
}

/**
 * The ordinary engine against the hand-written chain, or (`inScope`) the engine in a scope against it:
 * each in a process of its own (w3-deep-chain.ts and w3-deep-chain-scope.ts), since V8 inlines for the
 * paths a process has run; a process running both measured the scope at 10⁷ in 2.9 s, against 1.55 s alone.
 */
function runMode(options: RunOptions, inScope: boolean): Row[] {
  const rows: Row[] = [];
  const heapLimit = v8.getHeapStatistics().heap_size_limit;
  for (const plan of plans(options)) {
    const { n } = plan;
    const nodes = 2 * n;
    const label = `W3 deep-chain N=${n.toExponential().replace('+', '')}`;
    if (n >= 1e7 && heapLimit < HEAP_NEEDED_FOR_1E7) {
      options.log(
        `${label}: skipped, the heap limit is ${(heapLimit / 2 ** 30).toFixed(1)} GiB; run with ` +
        '`node --max-old-space-size=8192 ...` (or pass --quick to stop at N=1e6)',
      );
      continue;
    }
    const memory = hasGc() ? (inScope ? { bytesPerNode: measureScopedMemory(n) } : measureMemory(n)) : {};

    // Engine and hand-written alternate, after their warm-ups, so that noise hits both alike. No
    // forced collection between runs: it makes the next runs erratic (measured: 1e4 went from 1.7 ms
    // to 0.6–27 ms), and collecting the previous graph is part of an engine's real cost.
    const forward: number[] = [], backward: number[] = [], total: number[] = [], hand: number[] = [];
    let engine: EngineRun | null = null, handResult = { value: 0, grad: 0 };
    for (let k = 0; k < plan.warmup + plan.repetitions; k++) {
      engine = inScope ? scopedOnce(n) : engineOnce(n);
      const t0 = nowMs();
      handResult = handWritten(n);
      const handMs = nowMs() - t0;
      if (k >= plan.warmup) {
        forward.push(engine.forwardMs);
        backward.push(engine.backwardMs);
        total.push(engine.forwardMs + engine.backwardMs);
        hand.push(handMs);
      }
    }
    const engineMs = median(total), handMs = median(hand);
    const gradError = Math.abs(engine!.grad - handResult.grad) / Math.abs(handResult.grad);
    const valueError = Math.abs(engine!.value - handResult.value) / Math.abs(handResult.value);
    options.log(
      `${label}${inScope ? ' in a scope' : ''}: ${nodes} nodes, ${plan.repetitions} timed runs; ∂root/∂x engine ` +
      `${engine!.grad} vs hand-written ${handResult.grad} (relative difference ${gradError.toExponential(2)}; values ${valueError.toExponential(2)})`,
    );
    const figures = {
      medianMsPerStep: engineMs, nodesPerSecond: nodes / (engineMs / 1000), ratioToHandWritten: engineMs / handMs,
      runs: plan.repetitions, forwardMs: median(forward), backwardMs: median(backward), nsPerNode: (engineMs * 1e6) / nodes,
    };
    if (inScope) {
      // The ordinary engine equals the hand-written chain rule bit for bit (its own rows say so).
      const identical = Object.is(engine!.grad, handResult.grad) && Object.is(engine!.value, handResult.value);
      rows.push({ workload: label, variant: 'engine in scope', ...figures, handMsThisRun: handMs, identicalToHandWritten: identical, ...memory });
      continue;
    }
    rows.push({
      workload: label, variant: 'hand-written', medianMsPerStep: handMs, nodesPerSecond: null,
      ratioToHandWritten: 1, runs: plan.repetitions,
    });
    rows.push({ workload: label, variant: 'engine', ...figures, ...memory });
  }
  return rows;
}

export const workload: Workload = { id: 'w3', title: 'deep chain (x ← x·1.000001 + 0.000001)', run: (options) => runMode(options, false) };

/** The same chain made and differentiated inside a `scope` (bench/w3-deep-chain-scope.ts). */
export const scopeWorkload: Workload = { id: 'w3', title: 'deep chain in a scope', run: (options) => runMode(options, true) };
