/**
 * The compiler: a compiled function must give the engine's value and gradients bit for bit (the
 * engine is the oracle here: an independent implementation, through its public API), on random
 * expressions over every op, on the learner's network and on MLPs; and again after new inputs,
 * as a fresh trace would. Gradients are also checked against hand formulas and central differences.
 */
import { describe, expect, it } from 'vitest';
import { catchError } from '../catch-error.js';
import {
  NonFiniteError, OP_NAMES, Value, createRng, topologicalOrder,
  add, div, mul, pow, sub, sum, max, min,
} from '../../src/index.js';
import type { Rng } from '../../src/index.js';
import { compile, CODE_LINE_LIMIT, type CompiledFunction, type Strategy } from '../../src/tools/compile.js';
import { setNextSerial } from '../../src/engine/storage.js';
import { buildNet111, manualGradients } from '../../src/learner/net111.js';
import { MLP } from '../../src/tools/nn.js';
import { makeMoons, moonsLoss, moonsModel } from '../../src/learner/moons.js';

const STRATEGIES: readonly Strategy[] = ['code', 'tape'];

// ---------------------------------------------------------------------------------------------
// The oracle: the engine's value and gradients for a graph built afresh.

type Outcome = { value: number; gradient: number[] } | { error: unknown };

/** Builds the graph on fresh leaves holding `x`, runs backward(), returns value and input grads. */
function engine(build: (inputs: readonly Value[]) => Value, x: readonly number[]): Outcome {
  try {
    const inputs = x.map((v) => new Value(v));
    const root = build(inputs);
    root.backward();
    return { value: root.data, gradient: inputs.map((v) => v.grad) };
  } catch (error) {
    return { error };
  }
}

function compiled(f: CompiledFunction, x: readonly number[]): Outcome {
  try {
    const { value, gradient } = f(x);
    return { value, gradient: Array.from(gradient) };
  } catch (error) {
    return { error };
  }
}

/** Both threw NonFiniteError, or both gave the same numbers to the last bit (−0 ≠ 0). */
function expectSameOutcome(actual: Outcome, expected: Outcome, context: string): void {
  if ('error' in expected || 'error' in actual) {
    const e = 'error' in expected ? expected.error : undefined;
    const a = 'error' in actual ? actual.error : undefined;
    if (!(e instanceof NonFiniteError && a instanceof NonFiniteError)) {
      throw new Error(`${context}: engine ${e instanceof Error ? `threw ${e.message}` : 'returned'}; compiled ${a instanceof Error ? `threw ${a.message}` : 'returned'}`);
    }
    return;
  }
  if (!Object.is(actual.value, expected.value)) throw new Error(`${context}: value ${actual.value} ≠ engine's ${expected.value}`);
  expected.gradient.forEach((g, j) => {
    if (!Object.is(actual.gradient[j], g)) throw new Error(`${context}: gradient[${j}] ${actual.gradient[j]} ≠ engine's ${g}`);
  });
}


// ---------------------------------------------------------------------------------------------
// Random expressions over the whole op set.
//
// A recipe is a list of steps, each making one node from earlier ones (so shared subexpressions
// make a DAG). It is generated while evaluating at the example inputs, so that operands are
// usually in their op's domain there (log of a positive node, ...); at other inputs they may leave
// it, and then the engine and the compiled function must both throw NonFiniteError.

type Ref = { readonly node: number } | { readonly number: number };
type Step =
  | { readonly kind: 'unary'; readonly op: string; readonly a: number }
  | { readonly kind: 'binary'; readonly op: BinaryName; readonly a: Ref; readonly b: Ref }
  | { readonly kind: 'sum'; readonly terms: readonly Ref[] }
  /** Value.sum of fresh products (and maybe plain terms): what the compiler fuses. */
  | { readonly kind: 'dot'; readonly terms: readonly (readonly [number, Ref] | readonly [number])[] };

interface Recipe {
  readonly inputs: number;
  /** Leaves that are not inputs: frozen by the compiler. */
  readonly frozen: readonly number[];
  /** Value.constant leaves. */
  readonly constants: readonly number[];
  readonly steps: readonly Step[];
  /** The root sums these nodes (or is the one node). */
  readonly roots: readonly number[];
}

const UNARY_OPS = [
  'neg', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'sqrt', 'abs', 'softplus', 'logsigmoid', 'sin', 'cos', 'tan', 'atan',
] as const;
const BINARY_NAMES = ['+', '-', '*', '/', 'pow', 'max', 'min'] as const;
type BinaryName = (typeof BINARY_NAMES)[number];

function operand(nodes: readonly Value[], r: Ref): Value | number {
  return 'node' in r ? nodes[r.node]! : r.number;
}

function buildRecipe(recipe: Recipe, inputs: readonly Value[]): Value {
  const nodes: Value[] = [
    ...inputs,
    ...recipe.frozen.map((c, i) => new Value(c, `f${i}`)),
    ...recipe.constants.map((c) => Value.constant(c)),
  ];
  for (const s of recipe.steps) nodes.push(applyStep(nodes, s));
  return recipe.roots.length === 1 ? nodes[recipe.roots[0]!]! : sum(recipe.roots.map((k) => nodes[k]!));
}

function applyStep(nodes: readonly Value[], s: Step): Value {
  switch (s.kind) {
    case 'unary': return (nodes[s.a]! as unknown as Record<string, () => Value>)[s.op]!.call(nodes[s.a]!);
    case 'binary': {
      const fn = { '+': add, '-': sub, '*': mul, '/': div, pow, max, min }[s.op];
      return fn(operand(nodes, s.a), operand(nodes, s.b));
    }
    case 'sum': return sum(s.terms.map((t) => operand(nodes, t)));
    case 'dot': return Value.sum(s.terms.map((t) => (t.length === 2 ? mul(nodes[t[0]]!, operand(nodes, t[1])) : nodes[t[0]]!)));
  }
}

function randomNumber(rng: Rng): number {
  const special = [0, 1, 2, -1, 0.5, 3];
  return rng.next() < 0.3 ? special[rng.int(special.length)]! : Math.round(rng.uniform(-3, 3) * 100) / 100;
}

function randomRecipe(rng: Rng, example: readonly number[]): Recipe {
  const inputs = example.length;
  const frozen = Array.from({ length: rng.int(3) }, () => randomNumber(rng));
  const constants = Array.from({ length: rng.int(2) }, () => randomNumber(rng));
  const nodes: Value[] = [
    ...example.map((x) => new Value(x)),
    ...frozen.map((c) => new Value(c)),
    ...constants.map((c) => Value.constant(c)),
  ];
  const steps: Step[] = [];
  const pick = (where: (v: Value) => boolean = () => true): number | undefined => {
    // Prefer recent nodes, so that graphs grow deep as well as wide.
    for (let tries = 0; tries < 20; tries++) {
      const k = rng.next() < 0.6 ? nodes.length - 1 - rng.int(Math.min(4, nodes.length)) : rng.int(nodes.length);
      if (where(nodes[k]!)) return k;
    }
    return undefined;
  };
  const ref = (where?: (x: number) => boolean): Ref => {
    if (rng.next() < 0.25) {
      const x = randomNumber(rng);
      if (!where || where(x)) return { number: x };
    }
    const k = pick(where ? (v) => where(v.data) : undefined);
    return k === undefined ? { number: 1 } : { node: k };
  };
  const bounded = (x: number): boolean => Math.abs(x) < 30;
  const length = 3 + rng.int(25);
  while (steps.length < length) {
    const choice = rng.int(10);
    let step: Step | undefined;
    if (choice < 4) {
      const op = UNARY_OPS[rng.int(UNARY_OPS.length)]!;
      const domain = op === 'log' || op === 'sqrt' ? (v: Value) => v.data > 0 : op === 'exp' ? (v: Value) => v.data < 30 : undefined;
      const a = pick(domain);
      if (a !== undefined) step = { kind: 'unary', op, a };
    } else if (choice < 7) {
      const op = BINARY_NAMES[rng.int(BINARY_NAMES.length)]!;
      const a = op === 'pow' ? ref((x) => x > 0.1 && x < 5) : ref(bounded);
      const b = op === 'pow' ? ref((x) => Math.abs(x) < 3) : op === '/' ? ref((x) => Math.abs(x) > 0.1) : ref(bounded);
      if ('node' in a || 'node' in b) step = { kind: 'binary', op, a, b };
    } else if (choice < 8) {
      step = { kind: 'sum', terms: Array.from({ length: 1 + rng.int(4) }, () => ref(bounded)) };
    } else {
      const terms = Array.from({ length: 1 + rng.int(5) }, (): readonly [number, Ref] | readonly [number] => {
        const a = pick((v) => bounded(v.data)) ?? 0;
        return rng.next() < 0.8 ? [a, ref(bounded)] : [a];
      });
      step = { kind: 'dot', terms };
    }
    if (step === undefined) continue;
    try {
      nodes.push(applyStep(nodes, step));
      steps.push(step);
    } catch {
      // Out of its domain after all (overflow, ...): try another step.
    }
  }
  // The root sums every node that nothing else uses: a node left out of the graph would not be
  // recomputed, so it could not throw where the engine, building it, does.
  const first = inputs + frozen.length + constants.length;
  const used = new Set<number>();
  const use = (r: Ref | number): void => { used.add(typeof r === 'number' ? r : 'node' in r ? r.node : -1); };
  for (const s of steps) {
    if (s.kind === 'unary') use(s.a);
    else if (s.kind === 'binary') { use(s.a); use(s.b); }
    else if (s.kind === 'sum') s.terms.forEach(use);
    else s.terms.forEach((t) => { use(t[0]); if (t.length === 2) use(t[1]); });
  }
  const roots: number[] = [];
  for (let k = first; k < nodes.length; k++) if (!used.has(k)) roots.push(k);
  return { inputs, frozen, constants, steps, roots };
}

describe('random expressions over every op', () => {
  it('the generator reaches every op, fused products, and errors at other inputs', () => {
    // Guards the property test below against a generator that stopped covering what it claims.
    const rng = createRng(7);
    const seen = new Set<string>();
    let dots = 0;
    for (let r = 0; r < 60; r++) {
      const example = Array.from({ length: 1 + rng.int(3) }, () => rng.uniform(-2, 2));
      const recipe = randomRecipe(rng, example);
      const root = buildRecipe(recipe, example.map((x) => new Value(x)));
      for (const v of topologicalOrder(root)) if (v.op) seen.add(v.op);
      const f = compile((xs) => buildRecipe(recipe, xs), example, { strategy: 'tape' });
      if (f.listing().includes('= dot ')) dots++;
    }
    expect([...seen].sort()).toEqual([...OP_NAMES].sort());
    expect(dots).toBeGreaterThan(10);
  });

  for (const strategy of STRATEGIES) {
    it(`${strategy}: equal to the engine bit for bit, at the example inputs and at new ones`, () => {
      const rng = createRng(strategy === 'code' ? 11 : 12);
      let compared = 0, errors = 0;
      for (let r = 0; r < 250; r++) {
        const example = Array.from({ length: 1 + rng.int(4) }, () => rng.uniform(-2, 2));
        const recipe = randomRecipe(rng, example);
        const build = (xs: readonly Value[]): Value => buildRecipe(recipe, xs);
        const expected = engine(build, example);
        if ('error' in expected) continue; // e.g. a non-finite derivative in the traced graph
        const f = compile(build, example, { strategy });
        expectSameOutcome(compiled(f, example), expected, `recipe ${r} at the example inputs`);
        compared++;
        for (let t = 0; t < 4; t++) {
          const spread = [0.01, 0.5, 2, 6][t]!;
          const x = example.map((v) => v + spread * rng.uniform(-1, 1));
          const outcome = engine(build, x);
          if ('error' in outcome) errors++;
          expectSameOutcome(compiled(f, x), outcome, `recipe ${r} at ${JSON.stringify(x)}\n${f.listing()}`);
        }
      }
      expect(compared).toBeGreaterThan(150);
      expect(errors).toBeGreaterThan(5); // error agreement was exercised, not only values
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Exactness of fusing products into sums.

describe('fused products (dot)', () => {
  /**
   * w reaches the root through a product fused into a sum and through a longer chain that sits
   * between the product and the sum in topological order: fusing would move the product's
   * contribution to w's gradient before the chain's, changing the rounding of the sum.
   */
  function interleaved(xs: readonly Value[]): Value {
    const [w, a] = xs as [Value, Value];
    const product = w.mul(a);
    let chain = w.mul(0.7310585786300049);
    for (let k = 0; k < 6; k++) chain = chain.mul(w).add(0.1 * (k + 1)).tanh();
    return Value.sum([product, chain, w.mul(1.0000001)]);
  }

  for (const strategy of STRATEGIES) {
    it(`${strategy}: keeps the engine's order of gradient contributions`, () => {
      const rng = createRng(3);
      for (let t = 0; t < 200; t++) {
        const x = [rng.uniform(-1.5, 1.5), rng.uniform(-1e3, 1e3)];
        const f = compile(interleaved, x, { strategy });
        expectSameOutcome(compiled(f, x), engine(interleaved, x), `at ${x}`);
      }
    });
  }

  it('fuses the products of an MLP layer into one op per neuron', () => {
    const mlp = new MLP(3, [4, 1], { seed: 5 });
    const f = compile((xs) => mlp.forward(xs)[0]!, [0.1, -0.2, 0.3]);
    const dots = f.listing().split('\n').filter((line) => line.includes('= dot '));
    expect(dots).toHaveLength(5);
    expect(dots[0]).toMatch(/= dot c\d+·x0 \+ c\d+·x1 \+ c\d+·x2 \+ c\d+$/);
  });
});

// ---------------------------------------------------------------------------------------------
// The learner's network and MLPs.

describe("the learner's 1-1-1 network", () => {
  const samples = [
    { p: { w1: 0.3, b1: 0, w2: -0.2, b2: 0 }, x: 1 / 9, a: 0 },
    { p: { w1: -0.83, b1: 0.4, w2: 1.7, b2: -0.25 }, x: 5 / 9, a: 1 },
    { p: { w1: 12, b1: -3, w2: -9, b2: 4 }, x: 1, a: 1 },
  ];
  const net = (xs: readonly Value[]): Value => {
    const [w1, b1, w2, b2, x, a] = xs as [Value, Value, Value, Value, Value, Value];
    const h = w1.mul(x).add(b1).sigmoid();
    const y = w2.mul(h).add(b2).sigmoid();
    return y.sub(a).pow(2);
  };

  for (const strategy of STRATEGIES) {
    it(`${strategy}: equals buildNet111's loss and gradients bit for bit, and the hand formulas to 1e-12`, () => {
      const { p, x, a } = samples[0]!;
      const f = compile(net, [p.w1, p.b1, p.w2, p.b2, x, a], { gradients: 4, strategy });
      expect(f.gradientCount).toBe(4);
      for (const s of samples) {
        const g = buildNet111(s.p, s.x, s.a);
        g.loss.backward();
        const { value, gradient } = f([s.p.w1, s.p.b1, s.p.w2, s.p.b2, s.x, s.a]);
        expect(value).toBe(g.loss.data);
        expect(Array.from(gradient)).toEqual([g.w1.grad, g.b1.grad, g.w2.grad, g.b2.grad]);
        const hand = manualGradients(s.p, s.x, s.a);
        [hand.w1, hand.b1, hand.w2, hand.b2].forEach((h, j) => {
          expect(Math.abs(gradient[j]! - h)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(h)));
        });
      }
    });
  }

  it('SGD with the compiled function ends where SGD with the engine ends, bit for bit', () => {
    const data = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => ({ x: k / 9, a: k % 2 === 0 ? 1 : 0 }));
    const f = compile(net, [0.3, 0, -0.2, 0, 0, 0], { gradients: 4 });
    const rng = createRng(1);
    const params = new Float64Array([0.3, 0, -0.2, 0, 0, 0]);
    const grad = new Float64Array(4);
    const w = [0.3, 0, -0.2, 0].map((v) => new Value(v));
    for (let step = 0; step < 500; step++) {
      const s = data[rng.int(data.length)]!;
      params[4] = s.x;
      params[5] = s.a;
      f.run(params, grad);
      for (let j = 0; j < 4; j++) params[j]! -= 0.1 * grad[j]!;
      const loss = net([...w, new Value(s.x), new Value(s.a)]);
      loss.backward();
      for (const v of w) {
        v.data -= 0.1 * v.grad;
        v.grad = 0;
      }
    }
    expect(Array.from(params.subarray(0, 4))).toEqual(w.map((v) => v.data));
  });
});

// The engine orders its backward pass by the serial numbers nodes get when made, or, when those
// do not order the graph, by a depth-first post-order; the compiler must follow whichever it used.
describe('graphs whose serial numbers do not order them', () => {
  const cases: [string, number, number][] = [
    ['in serial order', 1000, 2000],
    ['across the wrap-around at 2³⁰', 2 ** 30 - 6, 2 ** 30 - 2],
    ['made out of serial order', 5000, 100],
  ];
  /** The same graph whichever the serials: its first part made from `start` on, the rest from `middle`. */
  const model = (start: number, middle: number) => ([a, b, c]: readonly Value[]): Value => {
    setNextSerial(start);
    const u = [a!.mul(b!), b!.mul(c!), c!.mul(a!), a!.tanh()].map((t) => t.add(0.25));
    setNextSerial(middle);
    const h = u.map((t, j) => Value.sum([t.mul(u[(j + 1) % 4]!), t.sigmoid(), b!.mul(j)]).relu());
    return Value.sum(h.map((t, j) => t.mul(h[3 - j]!).mul(j + 1)));
  };
  const at = [0.9, -0.4, 1.3];
  const ops = compile(model(1000, 2000), at).opCount;

  for (const [name, start, middle] of cases) {
    it(`${name}: the compiled gradient equals the engine's bit for bit`, () => {
      const fn = model(start, middle);
      for (const strategy of STRATEGIES) {
        const f = compile(fn, at, { strategy });
        expect(f.opCount).toBe(ops); // each op once, whichever order the engine used
        const xs = at.map((v) => new Value(v));
        const out = fn(xs);
        out.backward();
        const { value, gradient } = f(at);
        expect(value).toBe(out.data);
        expect(Array.from(gradient)).toEqual(xs.map((x) => x.grad));
      }
    });
  }
});

describe('MLPs', () => {
  it("moons: micrograd's loss over 100 points, compiled once, equals the engine at every step of training", () => {
    const rng = createRng(1);
    const data = makeMoons({ n: 100, rng });
    const model = moonsModel(rng);
    const params = model.parameters();
    const f = compile(() => moonsLoss(model, data).loss, params);
    expect(f.strategy).toBe('tape');
    expect(f.inputCount).toBe(337);
    const x = Float64Array.from(params, (p) => p.data);
    const gradient = new Float64Array(337);
    for (let step = 0; step < 5; step++) {
      const loss = moonsLoss(model, data).loss;
      for (const p of params) p.grad = 0;
      loss.backward();
      const value = f.run(x, gradient);
      expect(value).toBe(loss.data);
      expect(Array.from(gradient)).toEqual(params.map((p) => p.grad));
      // The same SGD update on both sides.
      params.forEach((p, j) => {
        p.data -= 0.5 * p.grad;
        x[j]! -= 0.5 * gradient[j]!;
      });
    }
  });

  for (const strategy of STRATEGIES) {
    it(`${strategy}: a tanh/sigmoid MLP with its parameters and its inputs as inputs, at new values`, () => {
      const mlp = new MLP(3, [5, 4, 2], { activation: 'tanh', outputActivation: 'sigmoid', seed: 9 });
      const count = mlp.parameters().length;
      const build = (xs: readonly Value[]): Value => {
        const out = forwardWith(mlp, xs.slice(0, count), xs.slice(count));
        return out[0]!.sub(0.25).pow(2).add(out[1]!.mul(out[1]!));
      };
      const example = [...mlp.parameters().map((p) => p.data), 0.5, -1, 2];
      const f = compile(build, example, { strategy });
      expect(f.listing()).toContain('= dot ');
      const rng = createRng(4);
      for (let t = 0; t < 10; t++) {
        const x = example.map((v) => v + rng.uniform(-0.5, 0.5));
        expectSameOutcome(compiled(f, x), engine(build, x), `trial ${t}`);
      }
    });
  }
});

/** An MLP's forward pass with the given Values as its parameters (in `parameters()` order). */
function forwardWith(mlp: MLP, params: readonly Value[], x: readonly Value[]): Value[] {
  let k = 0;
  let h: readonly Value[] = x;
  for (const layer of mlp.layers) {
    h = layer.neurons.map((n) => {
      const terms = n.w.map((_, i) => params[k++]!.mul(h[i]!));
      terms.push(params[k++]!);
      const z = Value.sum(terms);
      return n.activation === 'tanh' ? z.tanh() : n.activation === 'sigmoid' ? z.sigmoid() : n.activation === 'relu' ? z.relu() : z;
    });
  }
  return [...h];
}

// ---------------------------------------------------------------------------------------------
// Behaviour at the edges.

describe('inputs, outputs and what is frozen', () => {
  for (const strategy of STRATEGIES) {
    it(`${strategy}: reuse gives what a fresh trace gives, and the gradient buffer is reused`, () => {
      const build = (xs: readonly Value[]): Value => xs[0]!.mul(xs[1]!).add(xs[0]!.exp()).div(xs[1]!.abs().add(1));
      const f = compile(build, [0.5, -2], { strategy });
      const buffer = new Float64Array(2);
      for (const x of [[0.5, -2], [3, 0.25], [-1, 7]]) {
        const result = f(x, buffer);
        expect(result.gradient).toBe(buffer);
        expectSameOutcome({ value: result.value, gradient: Array.from(buffer) }, engine(build, x), `at ${x}`);
        expect(f.value(x)).toBe(result.value);
        expect(f.run(Float64Array.from(x), buffer)).toBe(result.value);
      }
    });

    it(`${strategy}: a leaf that is not an input is frozen at its value when compiled`, () => {
      const bias = new Value(2, 'bias');
      const f = compile((xs) => xs[0]!.mul(bias).add(bias.mul(bias)), [3], { strategy });
      bias.data = 100;
      expect(f([3]).value).toBe(3 * 2 + 4);
      expect(Array.from(f([3]).gradient)).toEqual([2]);
      expect(f.listing()).toContain('c0 = 2  frozen leaf  "bias"');
    });

    it(`${strategy}: a JavaScript if on .data is decided at trace time; relu is re-decided each call`, () => {
      const f = compile((xs) => (xs[0]!.data > 0 ? xs[0]!.mul(2) : xs[0]!.mul(3)), [1], { strategy });
      expect(f([-1]).value).toBe(-2); // traced through the x > 0 branch
      const g = compile((xs) => xs[0]!.relu().mul(5), [1], { strategy });
      expect(g([-1]).value).toBe(0);
      expect(Array.from(g([-1]).gradient)).toEqual([0]);
      expect(Array.from(g([2]).gradient)).toEqual([5]);
    });

    it(`${strategy}: unused inputs get 0; an input as the output gets 1; a constant output gets 0s`, () => {
      const tanh2 = new Value(2);
      tanh2.tanh().backward();
      expect(Array.from(compile((xs) => xs[1]!.tanh(), [1, 2, 3], { strategy })([1, 2, 3]).gradient)).toEqual([0, tanh2.grad, 0]);
      const identity = compile((xs) => xs[1]!, [1, 2], { strategy });
      expect(identity([4, 5])).toEqual({ value: 5, gradient: new Float64Array([0, 1]) });
      const constant = compile(() => Value.constant(2).mul(3).exp(), [1], { strategy });
      expect(constant([4])).toEqual({ value: Math.exp(6), gradient: new Float64Array([0]) });
    });

    it(`${strategy}: x², which straight-line code writes x·x, at every magnitude`, () => {
      const build = (xs: readonly Value[]): Value => xs[0]!.pow(2).add(xs[1]!.pow(2).mul(xs[0]!));
      const f = compile(build, [1, 1], { strategy });
      if (strategy === 'code') expect(f.source).not.toContain('Math.pow');
      const rng = createRng(21);
      const values = [0, -0, 5e-324, -2.5e-320, 1e-160, 1.3e154, -1.3e154, 1e155, 1 / 3, -7.25];
      for (let t = 0; t < 300; t++) values.push(rng.uniform(-1, 1) * 10 ** rng.uniform(-150, 150));
      for (let t = 0; t + 1 < values.length; t++) {
        const x = [values[t]!, values[t + 1]!];
        expectSameOutcome(compiled(f, x), engine(build, x), `at ${x}`);
      }
    });

    it(`${strategy}: signed zeros come out as the engine's (0 + (−0) is +0 in a sum)`, () => {
      const build = (xs: readonly Value[]): Value => Value.sum([xs[0]!]);
      const f = compile(build, [-0], { strategy });
      expectSameOutcome(compiled(f, [-0]), engine(build, [-0]), 'at −0');
      expect(Object.is(f([-0]).value, 0)).toBe(true);
      const g = compile((xs) => xs[0]!.mul(-1), [0], { strategy });
      expect(Object.is(g([0]).value, -0)).toBe(true);
    });
  }

  it('picks straight-line code for small graphs and the tape for large ones', () => {
    const chain = (n: number) => (xs: readonly Value[]): Value => {
      let v = xs[0]!;
      for (let k = 0; k < n; k++) v = v.mul(1.0001).tanh();
      return v;
    };
    const small = compile(chain(10), [0.3]);
    expect(small.strategy).toBe('code');
    expect(small.source).toContain('tanh_value(');
    expect(small.source!.split('\n').length).toBeLessThanOrEqual(CODE_LINE_LIMIT);
    const large = compile(chain(CODE_LINE_LIMIT / 2), [0.3]);
    expect(large.strategy).toBe('tape');
    expect(large.source).toBeNull();
    expect(large.opCount).toBe(CODE_LINE_LIMIT);
    expect(large.nodeCount).toBe(CODE_LINE_LIMIT + 1);
    // Forced, code is generated at any size.
    const forced = compile(chain(CODE_LINE_LIMIT / 2), [0.3], { strategy: 'code' });
    expect(forced.strategy).toBe('code');
    expect(forced.source!.split('\n').length).toBeGreaterThan(CODE_LINE_LIMIT);
  });
});

describe('gradients against central differences', () => {
  it('on a mixed expression, to 1e-6', () => {
    const build = (xs: readonly Value[]): Value => {
      const [a, b, c] = xs as [Value, Value, Value];
      return a.mul(b).sigmoid().add(c.softplus().log()).mul(b.tanh()).sub(a.pow(3).div(c.abs().add(2)).sqrt());
    };
    const x = [0.7, -1.3, 0.4];
    const f = compile(build, x);
    const { gradient } = f(x);
    x.forEach((xj, j) => {
      const h = 1e-5;
      const at = (t: number): number => build(x.map((v, i) => new Value(i === j ? t : v))).data;
      const fd = (at(xj + h) - at(xj - h)) / (2 * h);
      expect(Math.abs(gradient[j]! - fd)).toBeLessThan(1e-6);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Errors.

describe('errors', () => {
  const f = compile((xs) => xs[0]!.mul(xs[1]!).log(), [1, 2]);

  it('wrong number of inputs, non-numbers, non-finite inputs, a wrong gradient buffer', () => {
    expect(() => f([1])).toThrow(new RangeError('this compiled function takes 2 inputs, got 1'));
    expect(() => f([1, '2' as unknown as number])).toThrow(new TypeError('input 1 must be a number, got string "2"'));
    expect(() => f([1, NaN])).toThrow(new RangeError('input 1 must be finite, got NaN'));
    expect(() => f(3 as unknown as number[])).toThrow(TypeError);
    expect(() => f.run([1, 2], new Float64Array(3))).toThrow(/Float64Array of length 2, got an instance of Float64Array of length 3/);
    expect(() => f([1, 2], [0, 0] as unknown as Float64Array)).toThrow(TypeError);
  });

  for (const strategy of STRATEGIES) {
    it(`${strategy}: a non-finite value throws NonFiniteError naming the op and its operands`, () => {
      const g = compile((xs) => xs[0]!.mul(xs[1]!).log(), [1, 2], { strategy });
      const e = catchError(() => g([0, 2]));
      expect(e).toBeInstanceOf(NonFiniteError);
      expect((e as NonFiniteError).op).toBe('log');
      expect((e as NonFiniteError).message).toMatch(/^log\(x=0\) is -Infinity, not a finite number/);
      expect((e as NonFiniteError).operands).toEqual([{ value: 0, label: '' }]);
    });

    it(`${strategy}: an overflowing product inside a fused sum is blamed on the product`, () => {
      const g = compile((xs) => Value.sum([xs[0]!.mul(xs[1]!), 1]), [1, 2], { strategy });
      expect(g.listing()).toMatch(/= dot x0·x1 \+ c0$/m);
      const e = catchError(() => g([1e200, 1e200])) as NonFiniteError;
      expect(e).toBeInstanceOf(NonFiniteError);
      expect(e.op).toBe('*');
      expect(e.message).toMatch(/^\*\(a=1e\+200 \("x0"\), b=1e\+200 \("x1"\)\) is Infinity/);
    });

    it(`${strategy}: a non-finite derivative, a negative base with a Value exponent, an overflowing gradient`, () => {
      const root = compile((xs) => xs[0]!.sqrt(), [4], { strategy });
      const d = catchError(() => root([0])) as NonFiniteError;
      expect(d).toBeInstanceOf(NonFiniteError);
      expect(d.message).toMatch(/^backward\(\): the local derivative of sqrt\(x=0 \("x0"\)\) with respect to x is Infinity/);
      expect(root.value([0])).toBe(0); // the value alone is fine

      const p = compile((xs) => xs[0]!.pow(xs[1]!), [2, 0.5], { strategy });
      expect(() => p([-2, 2])).toThrow(/negative base with a Value exponent/);

      const steep = compile((xs) => xs[0]!.mul(1e200).tanh().mul(1e200).tanh(), [0.5], { strategy });
      const buffer = new Float64Array([42]);
      const o = catchError(() => steep([0], buffer)) as NonFiniteError;
      expect(o).toBeInstanceOf(NonFiniteError);
      expect(o.message).toMatch(/^backward\(\): the gradient of input 0=0 \("x0"\) overflowed to Infinity/);
      expect(buffer[0]).toBe(42); // left as it was
      expect(() => new Value(0).mul(1e200).tanh().mul(1e200).tanh().backward()).toThrow(NonFiniteError); // as the engine
    });
  }

  it('bad arguments to compile', () => {
    const x = new Value(1);
    expect(() => compile(() => 3 as unknown as Value, [1])).toThrow(/must return a Value, got number 3/);
    expect(() => compile((xs) => xs[0]!, [1, x] as unknown as number[])).toThrow(/give all Values \(leaves\) or all numbers/);
    expect(() => compile((xs) => xs[0]!, [x.mul(2)])).toThrow(/example input 0 is the result of a \* op; inputs must be leaves/);
    expect(() => compile((xs) => xs[0]!, [x, x])).toThrow(/example input 1 appears twice/);
    expect(() => compile((xs) => xs[0]!, [Value.constant(1)])).toThrow(/constant leaf/);
    expect(() => compile((xs) => xs[0]!, [NaN])).toThrow(/example input 0 must be a finite number/);
    expect(() => compile((xs) => xs[0]!, [1], { gradients: 2 })).toThrow(/options.gradients must be a whole number from 0 to 1/);
    expect(() => compile((xs) => xs[0]!, [1], { strategy: 'jit' as Strategy })).toThrow(/options.strategy/);
    expect(() => compile('x' as unknown as () => Value, [1])).toThrow(/compile needs a function/);
  });
});

// ---------------------------------------------------------------------------------------------
// Inspection.

describe('the listing', () => {
  it('shows inputs, frozen numbers and one line per op, with labels', () => {
    const w = new Value(0.5, 'w'), x = new Value(2, 'x');
    const f = compile(([a]) => {
      const h = a!.mul(w).add(1).tanh();
      h.label = 'h';
      return h.pow(2);
    }, [x]);
    expect(f.listing()).toBe([
      'compiled graph (code): 1 input (1 with gradients), 4 ops, 6 traced nodes; output %3',
      '  x0 = input 0  "x"',
      '  c0 = 0.5  frozen leaf  "w"',
      '  %0 = * x0 c0',
      '  %1 = + %0 1',
      '  %2 = tanh %1  "h"',
      '  %3 = pow %2 2',
    ].join('\n'));
    // The op table's own functions, bound once at the top, then one line per number.
    expect(f.source).toContain('const tanh_value = OPS["tanh"].value;\n');
    expect(f.source).toMatch(/\nreturn function compiled\(x, G\) \{\n {2}const v0 = x\[0\];\n/);
    expect(f.source).toContain('\n  const v1 = mul_value(v0, 0.5);\n');
    expect(f.source).toContain('const v3 = tanh_value(v2, t3); // "h"');
  });

  it('escapes labels: a label cannot break the listing or the generated code', () => {
    const f = compile(([a]) => {
      const h = a!.mul(2);
      h.label = 'h\u2028throw 1\n"*/';
      return h.tanh();
    }, [0.5]);
    expect(f.strategy).toBe('code');
    expect(f([0.5]).value).toBe(Math.tanh(1));
    expect(f.listing().split('\n')).toHaveLength(4);
    expect(f.listing()).toContain('%0 = * x0 2  "h\\u2028throw 1\\n\\"*/"');
    expect(f.source).toContain('const v1 = mul_value(v0, 2); // "h\\u2028throw 1\\n\\"*/"\n');
  });

  it('marks data inputs and the ops off the backward pass', () => {
    const f = compile(([w, x]) => x!.exp().mul(w!), [1, 2], { gradients: 1, strategy: 'tape' });
    expect(f.listing()).toContain('  x0 = input 0\n  x1 = input 1 (no gradient)\n');
    expect(f.listing()).toContain('%0 = exp x1  (no gradient)');
    expect(f.source).toBeNull();
  });
});

describe('negative zero', () => {
  // Every share that reaches x is −0 (relu is off, and its user's gradient is negative); x's
  // gradient is their sum from +0, so +0, in the engine and in both back ends alike.
  const build = ([x, y]: readonly Value[]): Value => x!.mul(-1).relu().mul(-5).add(y!);
  for (const strategy of STRATEGIES) {
    it(`${strategy}: a gradient made of −0 shares is +0, as in the engine`, () => {
      const f = compile(build, [2, 3], { strategy });
      const xs = [new Value(2), new Value(3)];
      const root = build(xs);
      root.backward();
      root.backward(); // a second pass visits what the first skipped
      const { gradient } = f([2, 3]);
      expect(Object.is(gradient[0], 0)).toBe(true);
      expect(Object.is(xs[0]!.grad, 0)).toBe(true);
      expect(Object.is(root.inputs[0]!.inputs[0]!.inputs[0]!.grad, 0)).toBe(true); // x·(−1), interior
    });
  }
});
