/**
 * W4, op families: the cost per node of making and differentiating each family of ops, beside the
 * same arithmetic written by hand on plain numbers.
 *
 * Each family is a chain of N = 20,000 steps over two inputs, x and y, cycling through the
 * family's ops (one step is one node, plus a mixing `add` with y so that the chain stays in each op's
 * domain); then `backward()`. The hand-written baseline computes the same values forward and the
 * same chain rule backward from stored local derivatives. A per-op row shows whether routing an op
 * through the op table keeps its call site fast (V8 inlines a call only where it sees one target).
 */
import { Value, topologicalOrder } from '../src/index.js';
import { timeInterleaved } from './harness.js';
import type { Row, RunOptions, Workload } from './harness.js';

const N = 20_000;

interface Family {
  readonly name: string;
  /** One step on Values: a function of the running value v and the input y. */
  readonly engine: (v: Value, y: Value, k: number) => Value;
  /** The same step on numbers: the new value and ∂new/∂v, ∂new/∂y. */
  readonly hand: (v: number, y: number, k: number, out: Float64Array) => void;
}

// Steps chosen to keep the running value in a small range whatever N is.
const FAMILIES: readonly Family[] = [
  {
    name: 'arithmetic (+ − × ÷)',
    engine: (v, y, k) => (k & 1 ? v.mul(y).add(0.25) : v.div(y).sub(0.5)),
    hand: (v, y, k, o) => {
      if (k & 1) { o[0] = v * y + 0.25; o[1] = y; o[2] = v; } else { o[0] = v / y - 0.5; o[1] = 1 / y; o[2] = -(v / y) / y; }
    },
  },
  {
    name: 'exp/log',
    engine: (v, y, k) => (k & 1 ? v.mul(0.5).exp() : v.add(y).log()),
    hand: (v, y, k, o) => {
      if (k & 1) { const e = Math.exp(v * 0.5); o[0] = e; o[1] = 0.5 * e; o[2] = 0; } else { o[0] = Math.log(v + y); o[1] = 1 / (v + y); o[2] = o[1]; }
    },
  },
  {
    name: 'tanh/σ family',
    engine: (v, y, k) => (k & 1 ? v.add(y).tanh() : v.sub(y).sigmoid()),
    hand: (v, y, k, o) => {
      if (k & 1) { const t = Math.tanh(v + y); o[0] = t; o[1] = 1 - t * t; o[2] = o[1]; } else {
        const s = 1 / (1 + Math.exp(-(v - y))); o[0] = s; o[1] = s * (1 - s); o[2] = -o[1];
      }
    },
  },
  {
    name: 'sin/cos/atan/max',
    engine: (v, y, k) => {
      const w = v as unknown as Record<string, (o?: unknown) => Value>;
      switch (k & 3) {
        case 0: return w.sin!.call(v.add(y));
        case 1: return w.cos!.call(v);
        case 2: return w.atan!.call(v.mul(y));
        default: return w.max!.call(v, y);
      }
    },
    hand: (v, y, k, o) => {
      switch (k & 3) {
        case 0: o[0] = Math.sin(v + y); o[1] = Math.cos(v + y); o[2] = o[1]; break;
        case 1: o[0] = Math.cos(v); o[1] = -Math.sin(v); o[2] = 0; break;
        case 2: o[0] = Math.atan(v * y); o[1] = y / (1 + v * v * y * y); o[2] = v / (1 + v * v * y * y); break;
        default: o[0] = Math.max(v, y); o[1] = v > y ? 1 : 0; o[2] = v > y ? 0 : 1;
      }
    },
  },
];

function engineRun(f: Family): number {
  const x = new Value(0.7), y = new Value(1.3);
  let v = x;
  for (let k = 0; k < N; k++) v = f.engine(v, y, k);
  v.backward();
  return x.grad + y.grad;
}

const local = new Float64Array(2 * N);
function handRun(f: Family): number {
  const o = new Float64Array(3);
  let v = 0.7;
  const y = 1.3;
  for (let k = 0; k < N; k++) {
    f.hand(v, y, k, o);
    v = o[0]!;
    local[2 * k] = o[1]!;
    local[2 * k + 1] = o[2]!;
  }
  let g = 1, gy = 0;
  for (let k = N - 1; k >= 0; k--) {
    gy += g * local[2 * k + 1]!;
    g *= local[2 * k]!;
  }
  return g + gy;
}

function run(options: RunOptions): Row[] {
  const repetitions = options.repetitions ?? (options.quick ? 9 : 31);
  const rows: Row[] = [];
  const hasNewOps = typeof (Value.prototype as unknown as Record<string, unknown>).sin === 'function';
  for (const f of FAMILIES) {
    if (f.name.startsWith('sin') && !hasNewOps) continue;
    // Operation nodes per chain, counted once.
    const x = new Value(0.7), y = new Value(1.3);
    let v = x;
    for (let k = 0; k < N; k++) v = f.engine(v, y, k);
    const nodes = topologicalOrder(v).filter((u) => !u.isLeaf).length;
    const t = timeInterleaved({ engine: () => engineRun(f), hand: () => handRun(f) }, 5, repetitions);
    const engineMs = t.engine.medianMs, handMs = t.hand.medianMs;
    options.log(`W4 ${f.name}: ${nodes} nodes per chain, engine ${(engineMs * 1e6 / nodes).toFixed(1)} ns/node`);
    rows.push({
      workload: `W4 ops: ${f.name}`, variant: 'hand-written', medianMsPerStep: handMs, nodesPerSecond: null,
      ratioToHandWritten: 1, runs: repetitions,
    });
    rows.push({
      workload: `W4 ops: ${f.name}`, variant: 'engine', medianMsPerStep: engineMs,
      nodesPerSecond: nodes / (engineMs / 1000), ratioToHandWritten: engineMs / handMs, runs: repetitions,
      nodesPerStep: nodes, nsPerNode: (engineMs * 1e6) / nodes,
    });
  }
  return rows;
}

export const workload: Workload = { id: 'w4', title: 'op families (a chain of each, forward and backward)', run };
