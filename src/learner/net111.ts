/**
 * The learner's 1-1-1 sigmoid network:
 *
 *   h = σ(w1·x + b1),   y = σ(w2·h + b2),   L = (y − a)²
 *
 * built from Values, with its gradients three ways: by the engine (autodiff), by the correct hand
 * formulas, and by the learner's own update rules as posted. Everything here is plain computation;
 * the report that compares them lives in demo.ts.
 */
import { Value } from '../engine/value.js';
import { scope } from '../engine/scope.js';
import { createRng, type Rng } from '../tools/random.js';

export const PARAM_NAMES = ['w1', 'b1', 'w2', 'b2'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];
/** The four parameters (or anything indexed like them: gradients, deltas). */
export type Params = Record<ParamName, number>;

/**
 * `parity`: the learner's labels, a = 1 for even x. `threshold`: a = 1 for raw x ≥ 5 (x/9 > 0.5), a
 * target a monotone network can learn.
 */
export type Target = 'parity' | 'threshold';
export const TARGETS: readonly Target[] = ['parity', 'threshold'];

export interface Sample {
  /** The learner's raw input, 1..9. */
  readonly raw: number;
  /** The input the network sees: raw / 9, as the learner normalised it. */
  readonly x: number;
  /** The label. */
  readonly a: number;
}

/** The largest raw input, by which the learner normalised (`set_q[i] /= max(set_q)`). */
export const RAW_MAX = 9;

export function trainingSet(target: Target = 'parity'): Sample[] {
  const samples: Sample[] = [];
  for (let raw = 1; raw <= RAW_MAX; raw++) {
    const a = target === 'parity' ? (raw % 2 === 0 ? 1 : 0) : raw >= 5 ? 1 : 0;
    samples.push({ raw, x: raw / RAW_MAX, a });
  }
  return samples;
}

/** The learner's initialisation: weights uniform in [−1, 1], biases 0. */
export function initialParams(rng: Rng): Params {
  const w1 = rng.uniform(-1, 1);
  const w2 = rng.uniform(-1, 1);
  return { w1, b1: 0, w2, b2: 0 };
}

/** One sample's graph, every node labelled as in the formulas. */
export interface Net111Graph {
  readonly w1: Value;
  readonly b1: Value;
  readonly w2: Value;
  readonly b2: Value;
  readonly x: Value;
  readonly a: Value;
  readonly h: Value;
  readonly y: Value;
  readonly loss: Value;
}

/** Builds h, y and the loss from Values for input x and label a. */
export function buildNet111(p: Params, x: number, a: number): Net111Graph {
  return net111Graph({
    w1: new Value(p.w1, 'w1'), b1: new Value(p.b1, 'b1'), w2: new Value(p.w2, 'w2'), b2: new Value(p.b2, 'b2'),
  }, x, a);
}

/** The same network over the caller's parameter Values (so that gradients land on them). */
export function net111Graph(p: Readonly<Record<ParamName, Value>>, x: number, a: number): Net111Graph {
  const { w1, b1, w2, b2 } = p;
  const xv = new Value(x, 'x'), av = new Value(a, 'a');
  const h = w1.mul(xv).add(b1).sigmoid();
  h.label = 'h';
  const y = w2.mul(h).add(b2).sigmoid();
  y.label = 'y';
  const loss = y.sub(av).pow(2);
  loss.label = 'L';
  return { w1, b1, w2, b2, x: xv, a: av, h, y, loss };
}

/** The network's output y for input x (the input as given: the caller normalises, or not). */
export function predict(p: Params, x: number): { h: number; y: number } {
  const g = buildNet111(p, x, 0);
  return { h: g.h.data, y: g.y.data };
}

/** Mean of (y − a)² over the samples. */
export function meanLoss(p: Params, samples: readonly Sample[]): number {
  let s = 0;
  for (const { x, a } of samples) s += (predict(p, x).y - a) ** 2;
  return s / samples.length;
}

/** The loss and ∂L/∂parameter by the engine's backward pass. */
export function autodiffGradients(p: Params, x: number, a: number): { loss: number; grads: Params } {
  return scope(() => {
    const g = buildNet111(p, x, a);
    g.loss.backward();
    return { loss: g.loss.data, grads: { w1: g.w1.grad, b1: g.b1.grad, w2: g.w2.grad, b2: g.b2.grad } };
  });
}

/** Plain-number forward pass, shared by the two hand-written gradient functions below. */
function forwardNumbers(p: Params, x: number): { h: number; y: number } {
  const s = (z: number): number => 1 / (1 + Math.exp(-z));
  const h = s(p.w1 * x + p.b1);
  return { h, y: s(p.w2 * h + p.b2) };
}

/**
 * The correct hand-derived gradients:
 * δ2 = 2(y−a)·y(1−y); ∂L/∂w2 = δ2·h; ∂L/∂b2 = δ2; ∂L/∂w1 = δ2·w2·h(1−h)·x; ∂L/∂b1 = δ2·w2·h(1−h).
 */
export function manualGradients(p: Params, x: number, a: number): Params {
  const { h, y } = forwardNumbers(p, x);
  const delta2 = 2 * (y - a) * y * (1 - y);
  const delta1 = delta2 * p.w2 * h * (1 - h);
  return { w1: delta1 * x, b1: delta1, w2: delta2 * h, b2: delta2 };
}

/**
 * The learner's update deltas, transcribed as posted (σ′ written on the activated value, s·(1 − s)):
 *   Δw2 = 2E·σ′(y)·w2·lr        Δb2 = 2E·σ′(y)·lr
 *   Δw1 = gradient_h·σ′(h)·w1·lr  Δb1 = gradient_h·σ′(h)·lr
 * `gradient_h` is never defined in the posted script (it stops with a NameError); it is read here
 * as the backpropagated 2E·σ′(y)·w2, the reading under which the bias rules are right.
 * The parameters are then updated by `p -= Δp`.
 */
export function learnerDeltas(p: Params, x: number, a: number, lr: number): Params {
  const { h, y } = forwardNumbers(p, x);
  const derSigmoid = (s: number): number => s * (1 - s);
  const gradientY = 2 * (y - a);
  const gradientH = gradientY * derSigmoid(y) * p.w2;
  return {
    w2: gradientY * derSigmoid(y) * p.w2 * lr,
    b2: gradientY * derSigmoid(y) * lr,
    w1: gradientH * derSigmoid(h) * p.w1 * lr,
    b1: gradientH * derSigmoid(h) * lr,
  };
}

/** The network in the expression language: the model `micrograd check` and the diagnosis read. */
export const NET111_MODEL = 'h = sigmoid(w1*x + b1); y = sigmoid(w2*h + b2); (y - a)^2';

/** The correct hand formulas of `manualGradients`, in the expression language over NET111_MODEL's names. */
export const MANUAL_FORMULAS: Readonly<Record<ParamName, string>> = Object.freeze({
  w1: '2*(y - a)*y*(1 - y)*w2*h*(1 - h)*x',
  b1: '2*(y - a)*y*(1 - y)*w2*h*(1 - h)',
  w2: '2*(y - a)*y*(1 - y)*h',
  b2: '2*(y - a)*y*(1 - y)',
});

/**
 * The learner's rules as the gradients they claim (their Δ divided by the learning rate), written
 * with the script's own names: gradient_y = der_cost(E) = 2E, der_sigmoid(s) = s·(1 − s), and the
 * undefined gradient_h read as in `learnerDeltas`. The report diagnoses these; it stores no
 * explanation of its own.
 */
export const LEARNER_FORMULAS: Readonly<Record<ParamName, string>> = Object.freeze({
  w2: 'gradient_y = 2*(y - a); gradient_y*y*(1 - y)*w2',
  b2: 'gradient_y = 2*(y - a); gradient_y*y*(1 - y)',
  w1: 'gradient_h = 2*(y - a)*y*(1 - y)*w2; gradient_h*h*(1 - h)*w1',
  b1: 'gradient_h = 2*(y - a)*y*(1 - y)*w2; gradient_h*h*(1 - h)',
});

/** How the parameters are updated in training: the engine's gradients, the hand formulas, or the learner's rules. */
export type Rules = 'autodiff' | 'manual' | 'learner';
export const RULES: readonly Rules[] = ['autodiff', 'manual', 'learner'];

export interface TrainOptions {
  readonly rules: Rules;
  readonly target?: Target;
  /** SGD steps, one randomly picked sample each (default 10,000, the learner's). */
  readonly steps?: number;
  /** Learning rate (default 0.1, the learner's). */
  readonly lr?: number;
  /** Seeds the initial weights and the sample picks (default 1). */
  readonly seed?: number;
  /** Starting parameters; by default the learner's initialisation from the seed. */
  readonly init?: Params;
  /** Record the mean loss over the training set every this many steps (default steps / 100). */
  readonly recordEvery?: number;
  /** Called after each step with the number of steps done. */
  readonly onStep?: (done: number) => void;
}

export interface TrainResult {
  readonly rules: Rules;
  readonly target: Target;
  readonly steps: number;
  readonly lr: number;
  readonly seed: number;
  readonly initial: Params;
  readonly final: Params;
  /** Mean loss over the training set, at step 0 and every `recordEvery` steps. */
  readonly curve: readonly { readonly step: number; readonly loss: number }[];
  /** The trained network's output for each training input. */
  readonly outputs: readonly { readonly raw: number; readonly x: number; readonly a: number; readonly y: number }[];
  /** Mean loss over the training set after training. */
  readonly loss: number;
}

export const DEFAULT_SEED = 1;

function positiveInteger(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what} must be a whole number ≥ 0, got ${n}`);
  return n;
}

/** The learner's training loop: SGD on one randomly picked sample per step. Deterministic under the seed. */
export function train(options: TrainOptions): TrainResult {
  const { rules, target = 'parity', lr = 0.1, seed = DEFAULT_SEED } = options;
  const steps = positiveInteger(options.steps ?? 10_000, 'steps');
  if (!RULES.includes(rules)) throw new RangeError(`rules must be one of ${RULES.join(', ')}, got ${String(rules)}`);
  if (!TARGETS.includes(target)) throw new RangeError(`target must be one of ${TARGETS.join(', ')}, got ${String(target)}`);
  if (!(Number.isFinite(lr) && lr > 0)) throw new RangeError(`lr must be a positive number, got ${lr}`);
  const recordEvery = positiveInteger(options.recordEvery ?? Math.max(1, Math.round(steps / 100)), 'recordEvery') || 1;
  const rng = createRng(seed);
  const initial = options.init ?? initialParams(rng);
  const samples = trainingSet(target);
  const p: Params = { ...initial };
  const curve = [{ step: 0, loss: meanLoss(p, samples) }];
  for (let step = 1; step <= steps; step++) {
    const { x, a } = samples[rng.int(samples.length)]!;
    if (rules === 'learner') {
      const d = learnerDeltas(p, x, a, lr);
      for (const k of PARAM_NAMES) p[k] -= d[k];
    } else {
      const g = rules === 'autodiff' ? autodiffGradients(p, x, a).grads : manualGradients(p, x, a);
      for (const k of PARAM_NAMES) p[k] -= lr * g[k];
    }
    for (const k of PARAM_NAMES) {
      if (!Number.isFinite(p[k])) throw new RangeError(`training diverged at step ${step}: ${k} = ${p[k]} (try a smaller lr)`);
    }
    if (step % recordEvery === 0 || step === steps) curve.push({ step, loss: meanLoss(p, samples) });
    options.onStep?.(step);
  }
  const outputs = samples.map(({ raw, x, a }) => ({ raw, x, a, y: predict(p, x).y }));
  return { rules, target, steps, lr, seed, initial, final: { ...p }, curve, outputs, loss: meanLoss(p, samples) };
}

/**
 * Draws `settings` random parameter sets (weights and biases uniform in [−scale, scale]) and checks
 * that y is monotone in x over a grid of `points` inputs in [0, 1]: dy/dx = y(1−y)·w2·h(1−h)·w1 has
 * the sign of w1·w2 everywhere. Returns how many were monotone and the largest violation seen.
 */
export function checkMonotone(options: {
  settings?: number; points?: number; scale?: number; seed?: number;
  /** The function whose monotonicity is checked (default: the network's output y); a test can hand it one that is not monotone. */
  model?: (p: Params, x: number) => number;
} = {}): {
  settings: number;
  monotone: number;
  largestViolation: number;
} {
  const { settings = 5000, points = 41, scale = 10, seed = DEFAULT_SEED, model = (p: Params, x: number) => predict(p, x).y } = options;
  const rng = createRng(seed);
  let monotone = 0, largestViolation = 0;
  for (let s = 0; s < settings; s++) {
    const p: Params = {
      w1: rng.uniform(-scale, scale), b1: rng.uniform(-scale, scale),
      w2: rng.uniform(-scale, scale), b2: rng.uniform(-scale, scale),
    };
    const ys: number[] = [];
    for (let k = 0; k < points; k++) ys.push(model(p, k / (points - 1)));
    // The direction is the sign of w1·w2; a step against it is a violation.
    const direction = Math.sign(p.w1 * p.w2);
    let worst = 0;
    for (let k = 1; k < points; k++) worst = Math.max(worst, -direction * (ys[k]! - ys[k - 1]!));
    if (worst <= 0) monotone++;
    largestViolation = Math.max(largestViolation, worst);
  }
  return { settings, monotone, largestViolation };
}
