/**
 * `scope(fn)`, the opt-in tape (src/engine/scope.ts), through the public API, rule by rule of its spec.
 * Every result is checked against an oracle that does not go through a scope: the same computation
 * built by the ordinary engine (compared bit for bit: `toBe` and `toEqual` compare numbers with
 * Object.is, so even 0 and −0 differ), hand formulas, or central differences (tolerances stated).
 * No test measures time.
 */
import { describe, expect, it } from 'vitest';
import { catchError } from '../catch-error.js';
import { centralDifference, expectClose } from '../oracles.js';
import { sanity, sanityPlain } from './micrograd-sanity.js';
import { setNextSerial } from '../../src/engine/storage.js';
import * as engine from '../../src/index.js';
import {
  MLP, Neuron, NonFiniteError, OPS, OP_NAMES, Value, createRng, max, min, compile, grad, toDot, topologicalOrder, backwardSteps,
  add, div, exp, log, mul, pow, relu, sigmoid, sqrt, sub, sum, tanh,
  scope, keep, ScopeError,
} from '../../src/index.js';

// ---------------------------------------------------------------------------------------------
// Oracles and helpers.

/** Expects `f` to throw a ScopeError (an Error). */
function expectScopeError(f: () => unknown): void {
  const err = catchError(f);
  expect(err).toBeInstanceOf(ScopeError);
  expect(err).toBeInstanceOf(Error);
}

/** One node of a graph as plain data: structure by ids, numbers bit for bit. */
interface NodeInfo {
  op: string;
  data: number;
  grad: number;
  isLeaf: boolean;
  isConstant: boolean;
  local: (number | null)[];
  inputs: number[];
}

/**
 * The graph under `root` as plain data, through `inputs` and `localGradients` only (not
 * topologicalOrder): post-order by input order, iterative, nodes numbered on completion, shared
 * nodes once. Constant leaves for number operands are fresh on each read of `inputs`, so each node's
 * inputs are read once.
 */
function describeGraph(root: Value): NodeInfo[] {
  const ids = new Map<Value, number>();
  const out: NodeInfo[] = [];
  const stack: { v: Value; ins: readonly Value[]; k: number }[] = [{ v: root, ins: root.inputs, k: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.k < top.ins.length) {
      const next = top.ins[top.k++]!;
      if (!ids.has(next)) stack.push({ v: next, ins: next.inputs, k: 0 });
      continue;
    }
    stack.pop();
    if (ids.has(top.v)) continue;
    ids.set(top.v, out.length);
    out.push({
      op: top.v.op, data: top.v.data, grad: top.v.grad, isLeaf: top.v.isLeaf, isConstant: top.v.isConstant,
      local: [...top.v.localGradients], inputs: top.ins.map((x) => ids.get(x)!),
    });
  }
  return out;
}

/**
 * An expression that uses every kind of operand the spec names: n-ary sums (Value.sum, and sum with
 * numbers), module functions with a number first, unary ops (relu both on and off), pow with a number
 * and with a Value exponent. Returns the root and some interior nodes.
 */
function mixed(x: Value, y: Value, z: Value): { root: Value; interior: Value[] } {
  const s1 = Value.sum([x, y.mul(z), 0.5]);
  const s2 = sum([1.25, x.mul(x), -2, y]);
  const m1 = sub(2, x); //                 number first
  const m2 = div(1, y); //                 number first
  const m3 = pow(2, z); //                 number first, Value exponent
  const yo = y.mul(2), off = sub(-1, x); //  below relus that are off (x > 0, y < 0)
  const u1 = x.exp(), u2 = y.tanh(), u3 = z.sigmoid(), u4 = x.relu(), u5 = yo.relu();
  const u6 = sqrt(z.mul(z).add(1)), u7 = log(x.add(3));
  const p1 = x.pow(3), p2 = z.add(2).pow(x); // number exponent; Value exponent (positive base)
  const t = tanh(mul(s1, s2)).add(sigmoid(m1)).mul(exp(m2.mul(0.1)));
  const root = Value.sum([t, m3, u1.mul(u2), u3, u4, u5.mul(7), u6, u7, p1.mul(0.01), p2, relu(off)]);
  return { root, interior: [s1, s2, m1, m2, m3, u1, u2, u3, u4, u5, u6, u7, p1, p2, t, yo, off] };
}
const mixedPlain = (x: number, y: number, z: number): number => {
  const sg = (v: number): number => 1 / (1 + Math.exp(-v));
  const s1 = x + y * z + 0.5, s2 = 1.25 + x * x - 2 + y;
  const t = Math.tanh(s1 * s2) + sg(2 - x);
  return t * Math.exp((1 / y) * 0.1) + 2 ** z + Math.exp(x) * Math.tanh(y) + sg(z) + Math.max(x, 0) +
    7 * Math.max(2 * y, 0) + Math.sqrt(z * z + 1) + Math.log(x + 3) + 0.01 * x ** 3 + (z + 2) ** x + Math.max(-1 - x, 0);
};
const MIXED_AT = [0.7, -1.3, 0.4] as const;

/** The mixed expression built and differentiated by the ordinary engine: the oracle. */
function mixedOutside(): { data: number; leaves: number[]; interior: number[]; interiorData: number[] } {
  const [x, y, z] = MIXED_AT.map((t) => new Value(t));
  const { root, interior } = mixed(x!, y!, z!);
  root.backward();
  return { data: root.data, leaves: [x!.grad, y!.grad, z!.grad], interior: interior.map((v) => v.grad), interiorData: interior.map((v) => v.data) };
}

/** A chain of n steps: y ← tanh-ish mixing of y and x, so every step depends on x. */
function chain(x: Value, n: number): Value {
  let y = x;
  for (let k = 0; k < n; k++) {
    y = k % 3 === 0 ? y.mul(0.99999).add(x.mul(1e-5)) : k % 3 === 1 ? y.sub(x.mul(1e-6)) : y.add(1e-7).mul(1.000001);
  }
  return y;
}

const MLP_INPUT = [0.5, -1] as const;

/** MLP loss (y − 0.25)² on one input, with backward, by the ordinary engine. */
function mlpOutside(seed: number): { loss: number; grads: number[]; model: MLP } {
  const model = new MLP(2, [4, 4, 1], { seed });
  const y = model.forward([new Value(MLP_INPUT[0]), new Value(MLP_INPUT[1])])[0]!;
  const loss = y.sub(0.25).pow(2);
  loss.backward();
  return { loss: loss.data, grads: model.parameters().map((p) => p.grad), model };
}

// ---------------------------------------------------------------------------------------------
// Rules 1 and 7: inside a scope, the same numbers as the ordinary engine.

describe('rules 1 and 7: a scope computes what the ordinary engine computes, bit for bit', () => {
  it("micrograd's sanity expression: data, leaf grads and interior grads read inside the scope", () => {
    const a0 = new Value(-4), b0 = new Value(2);
    const o = sanity(a0, b0);
    o.g.backward();
    const expected = {
      data: [o.c.data, o.d.data, o.e.data, o.f.data, o.g.data],
      grads: [a0.grad, b0.grad, o.c.grad, o.d.grad, o.e.grad, o.f.grad, o.g.grad],
    };
    const a = new Value(-4), b = new Value(2);
    const got = scope(() => {
      const s = sanity(a, b);
      s.g.backward();
      return {
        data: [s.c.data, s.d.data, s.e.data, s.f.data, s.g.data],
        grads: [a.grad, b.grad, s.c.grad, s.d.grad, s.e.grad, s.f.grad, s.g.grad],
      };
    });
    expect(got).toEqual(expected);
    // The leaves are ordinary and keep their gradients after the scope.
    expect(a.grad).toBe(a0.grad);
    expect(b.grad).toBe(b0.grad);
  });

  it('the sanity expression also matches central differences (rel 1e-7) and the hand values (1e-6)', () => {
    const a = new Value(-4), b = new Value(2);
    const g = scope(() => {
      const s = sanity(a, b);
      s.g.backward();
      return s.g.data;
    });
    expectClose(g, 24.5 + 10 / 49, 1e-14);
    expectClose(a.grad, centralDifference((t) => sanityPlain(t, 2), -4), 1e-7);
    expectClose(b.grad, centralDifference((t) => sanityPlain(-4, t), 2), 1e-7);
    expectClose(a.grad, 138.8338, 1e-6);
    expectClose(b.grad, 645.5773, 1e-6);
  });

  it('n-ary sums, number-first module functions, unary ops (relu on and off), pow: equal to outside bit for bit', () => {
    const expected = mixedOutside();
    const [x, y, z] = MIXED_AT.map((t) => new Value(t));
    const got = scope(() => {
      const { root, interior } = mixed(x!, y!, z!);
      root.backward();
      return { data: root.data, leaves: [x!.grad, y!.grad, z!.grad], interior: interior.map((v) => v.grad), interiorData: interior.map((v) => v.data) };
    });
    expect(got).toEqual(expected);
    expect(expected.interior.slice(-2)).toEqual([0, 0]); // below relus that are off: the pass may skip them
  });

  it('the mixed expression matches central differences (rel 1e-6) and its plain value (1e-13)', () => {
    const [x, y, z] = MIXED_AT.map((t) => new Value(t));
    const data = scope(() => {
      const { root } = mixed(x!, y!, z!);
      root.backward();
      return root.data;
    });
    const [x0, y0, z0] = MIXED_AT;
    expectClose(data, mixedPlain(x0, y0, z0), 1e-13);
    expectClose(x!.grad, centralDifference((t) => mixedPlain(t, y0, z0), x0), 1e-6);
    expectClose(y!.grad, centralDifference((t) => mixedPlain(x0, t, z0), y0), 1e-6);
    expectClose(z!.grad, centralDifference((t) => mixedPlain(x0, y0, t), z0), 1e-6);
  });

  it('hand formulas: d/dx of x·sigmoid(x) and of tanh(w·x) (rel 1e-14)', () => {
    const x = new Value(0.3), w = new Value(-1.7), u = new Value(0.9);
    scope(() => {
      x.mul(x.sigmoid()).backward();
      mul(w, u).tanh().backward();
    });
    const s = 1 / (1 + Math.exp(-0.3));
    expectClose(x.grad, s + 0.3 * s * (1 - s), 1e-14);
    const c = Math.cosh(-1.7 * 0.9);
    expectClose(w.grad, 0.9 / (c * c), 1e-14);
    expectClose(u.grad, -1.7 / (c * c), 1e-14);
  });

  it('a chain of 10⁵ steps differentiates exactly as outside, interior grads included', () => {
    const n = 100_000;
    const x0 = new Value(0.37);
    const r0 = chain(x0, n);
    r0.backward();
    const expected = { data: r0.data, x: x0.grad, root: r0.grad };
    const x = new Value(0.37);
    const got = scope(() => {
      const r = chain(x, n);
      r.backward();
      return { data: r.data, x: x.grad, root: r.grad };
    });
    expect(got).toEqual(expected);
    expect(got.root).toBe(1);
  });

  it('interior grads deep in a chain read inside the scope equal the ordinary ones', () => {
    const build = (x: Value): { root: Value; marks: Value[] } => {
      const marks: Value[] = [];
      let y = x;
      for (let k = 0; k < 5000; k++) {
        y = y.mul(0.999).add(x.mul(0.001).sin());
        if (k % 500 === 0) marks.push(y);
      }
      return { root: y.tanh(), marks };
    };
    const x0 = new Value(1.1);
    const o = build(x0);
    o.root.backward();
    const expected = [x0.grad, ...o.marks.map((m) => m.grad), ...o.marks.map((m) => m.data)];
    const x = new Value(1.1);
    const got = scope(() => {
      const s = build(x);
      s.root.backward();
      return [x.grad, ...s.marks.map((m) => m.grad), ...s.marks.map((m) => m.data)];
    });
    expect(got).toEqual(expected);
  });

  it('a hinge loss with terms on and off: leaf and interior grads equal outside', () => {
    const xs = [0.5, 3, -2, 2], ys = [1, 1, 1, -1];
    const build = (w: Value): { loss: Value; margins: Value[] } => {
      const margins = xs.map((xi, i) => mul(w, xi).mul(-ys[i]!).add(1));
      return { loss: sum(margins.map((m) => m.relu())), margins };
    };
    const w0 = new Value(0.8);
    const o = build(w0);
    o.loss.backward();
    const expected = [w0.grad, ...o.margins.map((m) => m.grad)];
    const w = new Value(0.8);
    const got = scope(() => {
      const s = build(w);
      s.loss.backward();
      return [w.grad, ...s.margins.map((m) => m.grad)];
    });
    expect(got).toEqual(expected);
    expect(got.slice(1)).toContain(0); // some terms were off
  });

  it('an MLP: loss and every parameter gradient equal the ordinary engine bit for bit', () => {
    const expected = mlpOutside(3);
    const model = new MLP(2, [4, 4, 1], { seed: 3 });
    const loss = scope(() => {
      const y = model.forward([new Value(MLP_INPUT[0]), new Value(MLP_INPUT[1])])[0]!;
      const l = y.sub(0.25).pow(2);
      l.backward();
      return l.data;
    });
    expect(loss).toBe(expected.loss);
    expect(model.parameters().map((p) => p.grad)).toEqual(expected.grads);
    expect(expected.grads.some((g) => g !== 0)).toBe(true);
  });

  it('an MLP trained 30 SGD steps in scopes ends with the same parameters as one trained without', () => {
    const samples: [number, number, number][] = [[0.5, -1, 0.25], [-0.3, 0.8, -0.5], [1.2, 0.1, 0.9]];
    const step = (model: MLP): number => {
      const params = model.parameters();
      for (const p of params) p.grad = 0;
      const losses = samples.map(([a, b, t]) => model.forward([new Value(a), new Value(b)])[0]!.sub(t).pow(2));
      const loss = Value.sum(losses).div(samples.length);
      loss.backward();
      for (const p of params) p.data -= 0.1 * p.grad;
      return loss.data;
    };
    const m0 = new MLP(2, [4, 4, 1], { seed: 3 }), m1 = new MLP(2, [4, 4, 1], { seed: 3 });
    const l0: number[] = [], l1: number[] = [];
    for (let k = 0; k < 30; k++) {
      l0.push(step(m0));
      l1.push(scope(() => step(m1)));
    }
    expect(l1).toEqual(l0);
    expect(m1.parameters().map((p) => p.data)).toEqual(m0.parameters().map((p) => p.data));
    expect(l0[29]).toBeLessThan(l0[0]!);
  });

  it('new Value and Value.constant inside a scope make ordinary leaves, usable after it', () => {
    let leaf: Value | undefined, k: Value | undefined;
    scope(() => {
      leaf = new Value(1.5);
      k = Value.constant(2);
      leaf.mul(k).backward();
    });
    expect(leaf!.data).toBe(1.5);
    expect(leaf!.grad).toBe(2);
    expect(k!.isConstant).toBe(true);
    expect(k!.data).toBe(2);
    expect(leaf!.isLeaf).toBe(true);
    const y = leaf!.mul(3); // still an ordinary operand
    y.backward();
    expect(leaf!.grad).toBe(5);
  });

  it('leaf gradients accumulate onto earlier values exactly as outside', () => {
    const run = (x: Value, y: Value): void => x.mul(y).add(x.exp()).backward();
    const x0 = new Value(0.3), y0 = new Value(-2);
    x0.grad = 0.1; y0.grad = -7.25;
    run(x0, y0);
    const x = new Value(0.3), y = new Value(-2);
    x.grad = 0.1; y.grad = -7.25;
    scope(() => run(x, y));
    expect(x.grad).toBe(x0.grad);
    expect(y.grad).toBe(y0.grad);
  });

  it('backward() twice gives exactly twice on leaves; interior grads show the latest pass', () => {
    const a = new Value(-4), b = new Value(2);
    const got = scope(() => {
      const s = sanity(a, b);
      s.g.backward();
      const first = [a.grad, b.grad, s.c.grad, s.d.grad, s.f.grad];
      s.g.backward();
      const second = [a.grad, b.grad, s.c.grad, s.d.grad, s.f.grad, s.g.grad];
      return { first, second };
    });
    const [fa, fb, fc, fd, ff] = got.first;
    expect(got.second).toEqual([2 * fa!, 2 * fb!, fc, fd, ff, 1]);
    // And the first pass agrees with the ordinary engine.
    const a0 = new Value(-4), b0 = new Value(2);
    const o = sanity(a0, b0);
    o.g.backward();
    expect(got.first).toEqual([a0.grad, b0.grad, o.c.grad, o.d.grad, o.f.grad]);
  });

  it('a failed pass (sqrt(0) in the graph) leaves leaf gradients as they were; the scope still works', () => {
    const w = new Value(3), x = new Value(0);
    w.grad = 1.5; x.grad = -0.25;
    const err = catchError(() => scope(() => {
      const loss = w.mul(2).add(x.sqrt()).add(w);
      expect(() => loss.backward()).toThrow(NonFiniteError);
      expect(w.grad).toBe(1.5);
      expect(x.grad).toBe(-0.25);
      w.mul(5).backward(); // the scope still works after the failed pass
      expect(w.grad).toBe(6.5);
      loss.backward(); //     and the error propagates out of the scope unchanged
    }));
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(w.grad).toBe(6.5);
    expect(x.grad).toBe(-0.25);
  });

  it('a non-finite local derivative below a zero gradient is still reported, on the first pass and the second', () => {
    const x = new Value(0);
    x.grad = 2;
    scope(() => {
      const r = x.sqrt().add(-1).relu().add(x); // relu(−1) is off; ∂sqrt/∂x is infinite at 0
      expect(() => r.backward()).toThrow(NonFiniteError);
      expect(() => r.backward()).toThrow(NonFiniteError);
      expect(x.grad).toBe(2);
    });
    expect(x.grad).toBe(2);
  });

  it('the error for a non-finite local derivative names its operands as outside, labels included', () => {
    const x = new Value(0, 'x');
    const build = (): Value => {
      const z = x.mul(3);
      z.label = 'z';
      return z.sqrt().add(x); // ∂sqrt(z)/∂z is infinite at z = 0
    };
    const outside = catchError(() => build().backward());
    const inside = scope(() => catchError(() => build().backward()));
    expect(outside).toBeInstanceOf(NonFiniteError);
    expect(inside).toBeInstanceOf(NonFiniteError);
    expect((outside as Error).message).toMatch(/z/);
    expect((inside as Error).message).toBe((outside as Error).message);
  });

  it('a failed pass (a leaf gradient overflowing) leaves leaf gradients as they were', () => {
    const x = new Value(1e-300), w = new Value(2);
    x.grad = 3; w.grad = 4;
    scope(() => {
      const y = x.mul(1e300).mul(1e300).add(w);
      expect(Number.isFinite(y.data)).toBe(true);
      expect(() => y.backward()).toThrow(NonFiniteError);
    });
    expect(x.grad).toBe(3);
    expect(w.grad).toBe(4);
  });
});

describe('rule 1: every operation inside a scope makes a scope node', () => {
  // A scope node is recognisable without the implementation's internals: graph tools refuse it
  // inside the scope, and it is dead after. An ordinary node made by mistake would pass neither.
  it('every op of the op table, as a method and as a module function', () => {
    const x = new Value(0.4), y = new Value(1.7);
    const made: [string, Value][] = [];
    scope(() => {
      for (const name of OP_NAMES) {
        const def = OPS[name];
        const fn = (engine as unknown as Record<string, (...a: unknown[]) => Value>)[def.method]!;
        const method = (v: Value, ...a: unknown[]): Value => (v as unknown as Record<string, (...b: unknown[]) => Value>)[def.method]!(...a);
        if (def.arity === 1) made.push([`${name} method`, method(x)], [`${name} function`, fn(x)]);
        else if (def.arity === 2) {
          made.push([`${name} method`, method(x, y)], [`${name} method, number`, method(x, 2)]);
          made.push([`${name} function`, fn(x, y)], [`${name} function, number first`, fn(2, x)]);
        } else made.push([`${name} Value.sum`, Value.sum([x, y, 1])], [`${name} sum`, sum([1, x])]);
      }
      for (const [what, v] of made) {
        const err = catchError(() => v.inputs);
        if (!(err instanceof ScopeError)) throw new Error(`${what}: inputs inside the scope should throw ScopeError`);
      }
    });
    expect(made.length).toBeGreaterThan(2 * OP_NAMES.length - 1);
    for (const [what, v] of made) {
      const err = catchError(() => v.data);
      if (!(err instanceof ScopeError)) throw new Error(`${what}: data after the scope should throw ScopeError`);
    }
  });

  it('a scope node is a Value to its user: instanceof, constructor and its name', () => {
    const x = new Value(0.5);
    scope(() => {
      const v = x.mul(2).tanh();
      expect(v).toBeInstanceOf(Value);
      expect(v.constructor).toBe(Value);
      expect(v.constructor.name).toBe('Value');
      expect(Object.keys(v)).toEqual(Object.keys(x));
    });
  });

  it("nn's MLP and Neuron forward make scope nodes", () => {
    const model = new MLP(2, [3, 1], { seed: 2 }), neuron = new Neuron(2, { seed: 5 });
    let outs: Value[] = [];
    scope(() => {
      outs = [...model.forward([new Value(0.1), 0.2]), neuron.forward([0.3, new Value(-0.4)])];
      for (const o of outs) expectScopeError(() => o.inputs);
    });
    expect(outs.length).toBe(2);
    for (const o of outs) expectScopeError(() => o.data);
  });

  it('ties of max and min, and Value.sum([]), equal the ordinary engine', () => {
    const build = (x: Value, y: Value): Value => Value.sum([max(x, x), min(x, y), max(y, 2.5), min(2.5, y), Value.sum([]), sum([])]).mul(x);
    const x0 = new Value(2.5), y0 = new Value(2.5);
    const r0 = build(x0, y0);
    r0.backward();
    const x = new Value(2.5), y = new Value(2.5);
    const got = scope(() => {
      const r = build(x, y);
      r.backward();
      return [r.data, x.grad, y.grad];
    });
    expect(got).toEqual([r0.data, x0.grad, y0.grad]);
  });

  it('a constant leaf used as an operand gets the same gradient as outside', () => {
    const run = (x: Value, k: Value): void => x.mul(k).add(k.mul(k)).backward();
    const x0 = new Value(1.5), k0 = Value.constant(-2);
    run(x0, k0);
    const x = new Value(1.5), k = Value.constant(-2);
    scope(() => run(x, k));
    expect([x.grad, k.grad]).toEqual([x0.grad, k0.grad]);
  });

  it('two roots sharing a graph, differentiated one after the other: every grad equals outside', () => {
    const build = (x: Value, y: Value): Value[] => {
      const s = x.mul(y), t = s.tanh(), u = s.add(x).exp(), v = t.mul(u), w = t.sub(y.mul(3));
      return [s, t, u, v, w];
    };
    const read = (x: Value, y: Value, n: Value[]): number[] => [x.grad, y.grad, ...n.map((m) => m.grad)];
    const x0 = new Value(0.6), y0 = new Value(-0.2);
    const n0 = build(x0, y0);
    n0[3]!.backward();
    const first0 = read(x0, y0, n0);
    n0[4]!.backward();
    const expected = [first0, read(x0, y0, n0)];
    const x = new Value(0.6), y = new Value(-0.2);
    const got = scope(() => {
      const n = build(x, y);
      n[3]!.backward();
      const first = read(x, y, n);
      n[4]!.backward();
      return [first, read(x, y, n)];
    });
    expect(got).toEqual(expected);
  });

  it('interior grads below a relu that is off, through negative factors, read +0 as outside', () => {
    const build = (x: Value): Value[] => {
      const a = x.mul(-2), b = a.mul(-3), c = b.mul(-1), r = c.relu(); // c = −12: off
      return [a, b, c, r.add(x)];
    };
    const x0 = new Value(2);
    const n0 = build(x0);
    n0[3]!.backward();
    const expected = [x0.grad, ...n0.map((m) => m.grad)];
    const x = new Value(2);
    const got = scope(() => {
      const n = build(x);
      n[3]!.backward();
      return [x.grad, ...n.map((m) => m.grad)];
    });
    expect(got).toEqual(expected);
    expect(Object.is(got[1], 0) && Object.is(got[2], 0) && Object.is(got[3], 0)).toBe(true);
  });

  it('a function compiled outside runs inside a scope and gives the same numbers', () => {
    const f = ([a, b]: readonly Value[]): Value => a!.mul(b!).add(a!.exp()).tanh();
    for (const strategy of ['code', 'tape'] as const) {
      const c = compile(f, [0.5, 2], { strategy });
      const outside = c([0.3, -1.1]);
      const inside = scope(() => c([0.3, -1.1]));
      expect(inside.value).toBe(outside.value);
      expect([...inside.gradient]).toEqual([...outside.gradient]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Random programs: each run by the ordinary engine and in a scope, every number compared bit for bit.

type Instr = { op: string; a: number; b: number; k: number; list: number[] };

/** A random program over `nLeaves` leaves: ops on earlier results, numbers, and n-ary sums. */
function randomProgram(seed: number): { leaves: number[]; code: Instr[]; roots: number[]; handSet: number } {
  const rng = createRng(seed);
  const nLeaves = 1 + rng.int(4);
  const leaves = Array.from({ length: nLeaves }, () => Math.round(rng.uniform(-3, 3) * 8) / 8);
  const ops = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'addK', 'subK', 'mulK', 'divK', 'powK', 'Ksub', 'Kdiv', 'Kpow',
    'tanh', 'sigmoid', 'relu', 'exp', 'log', 'sqrt', 'abs', 'neg', 'softplus', 'sin', 'sum', 'sumK'];
  const code: Instr[] = [];
  const n = 3 + rng.int(40);
  for (let i = 0; i < n; i++) {
    const size = nLeaves + i;
    const pick = (): number => (rng.next() < 0.6 ? size - 1 - rng.int(Math.min(size, 4)) : rng.int(size));
    const list = Array.from({ length: rng.int(5) }, pick);
    code.push({ op: ops[rng.int(ops.length)]!, a: pick(), b: pick(), k: [0, 0.5, -1, 2, 3, -0.25][rng.int(6)]!, list });
  }
  const total = nLeaves + n;
  const roots = [total - 1, rng.int(total), total - 1];
  return { leaves, code, roots, handSet: rng.next() < 0.3 ? nLeaves + rng.int(n) : -1 };
}

/** Runs one instruction; an op that throws leaves its first operand in its place, the same way in both runs. */
function runInstr(ins: Instr, vals: Value[]): Value | string {
  const a = vals[ins.a]!, b = vals[ins.b]!, k = ins.k;
  try {
    switch (ins.op) {
      case 'add': return a.add(b);
      case 'sub': return a.sub(b);
      case 'mul': return a.mul(b);
      case 'div': return a.div(b);
      case 'pow': return a.pow(b);
      case 'max': return max(a, b);
      case 'min': return min(a, b);
      case 'addK': return a.add(k);
      case 'subK': return a.sub(k);
      case 'mulK': return a.mul(k);
      case 'divK': return a.div(k);
      case 'powK': return a.pow(k);
      case 'Ksub': return sub(k, a);
      case 'Kdiv': return div(k, a);
      case 'Kpow': return pow(k === 0 ? 2 : Math.abs(k), a);
      case 'sum': return Value.sum(ins.list.map((j) => vals[j]!));
      case 'sumK': return sum([k, ...ins.list.map((j) => vals[j]!), 1]);
      default: return (a as unknown as Record<string, () => Value>)[ins.op]!();
    }
  } catch (e) {
    if (e instanceof ScopeError) throw e;
    return (e as Error).name;
  }
}

/** Everything observable about a run of the program, as numbers and error names. */
function runProgram(prog: ReturnType<typeof randomProgram>): (number | string)[] {
  const leaves = prog.leaves.map((x) => new Value(x));
  const vals: Value[] = [...leaves];
  const log: (number | string)[] = [];
  for (const ins of prog.code) {
    const r = runInstr(ins, vals);
    if (typeof r === 'string') {
      log.push(r);
      vals.push(vals[ins.a]!);
    } else vals.push(r);
  }
  // After a failed pass, interior grads are compared no more (see the test on failed passes below):
  // the rest still is, leaves' grads included.
  let failed = false;
  const read = (): void => { for (const v of vals) log.push(v.data, failed && !v.isLeaf ? 'skipped' : v.grad); };
  for (const [step, root] of prog.roots.entries()) {
    if (step === 1 && prog.handSet >= 0 && !vals[prog.handSet]!.isLeaf) vals[prog.handSet]!.grad = 0.5;
    try {
      vals[root]!.backward();
      log.push('ok');
    } catch (e) {
      if (e instanceof ScopeError) throw e;
      log.push((e as Error).name);
      failed = true;
    }
    read();
  }
  return log;
}

describe('random programs: a scope gives what the ordinary engine gives', () => {
  it('400 random programs (all ops, numbers first, sums, reuse, three passes): every data and grad bit for bit', () => {
    let checked = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const prog = randomProgram(seed);
      const expected = runProgram(prog);
      const got = scope(() => runProgram(prog));
      if (got.length !== expected.length || got.some((g, i) => !Object.is(g, expected[i]))) {
        const i = got.findIndex((g, j) => !Object.is(g, expected[j]));
        throw new Error(`seed ${seed}: entry ${i} differs: got ${String(got[i])}, expected ${String(expected[i])}`);
      }
      checked += expected.length;
    }
    expect(checked).toBeGreaterThan(10_000);
  });

  it('the same programs returned from the scope: backward() on the copies gives the ordinary results', () => {
    let used = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const prog = randomProgram(seed);
      const build = (leaves: Value[]): Value[] => {
        const vals: Value[] = [...leaves];
        for (const ins of prog.code) {
          const r = runInstr(ins, vals);
          vals.push(typeof r === 'string' ? vals[ins.a]! : r);
        }
        return vals;
      };
      const l0 = prog.leaves.map((x) => new Value(x)), l1 = prog.leaves.map((x) => new Value(x));
      const v0 = build(l0);
      const root = prog.roots[0]!;
      const pass = (v: Value): string => {
        try {
          v.backward();
          return 'ok';
        } catch (e) {
          return (e as Error).name;
        }
      };
      if (pass(v0[root]!) !== 'ok') continue; // failed passes: see the test below; here, programs whose passes succeed
      const copy = scope(() => {
        const v1 = build(l1);
        expect(pass(v1[root]!)).toBe('ok');
        return v1[root]!;
      });
      used++;
      const e0 = describeGraph(v0[root]!), e1 = describeGraph(copy);
      expect(e1, `seed ${seed}, after the pass in the scope`).toEqual(e0);
      expect(pass(copy), `seed ${seed}`).toBe(pass(v0[root]!));
      expect(describeGraph(copy), `seed ${seed}, after a pass on the copy`).toEqual(describeGraph(v0[root]!));
      expect(l1.map((l) => l.grad), `seed ${seed}`).toEqual(l0.map((l) => l.grad));
    }
    expect(used).toBeGreaterThan(100);
  });

  it('after a failed pass (NonFiniteError), interior grads equal the ordinary engine\'s', () => {
    // Rule 7: the same results as outside, bit for bit. Here the pass meets sqrt'(0) after passing
    // root's share to b but before visiting b.
    const run = (): number[] => {
      const x = new Value(0), w = new Value(2);
      const b = w.mul(5), s = x.sqrt(), a = s.mul(3), root = a.add(b);
      expect(() => root.backward()).toThrow(NonFiniteError);
      return [x.grad, w.grad, b.grad, a.grad, s.grad, root.grad];
    };
    const expected = run();
    expect(scope(run)).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Rule 2: operands.

describe('rule 2: operands inside a scope', () => {
  it('an op node made outside the scope is refused with ScopeError, in every form of operation', () => {
    const x = new Value(2), y = new Value(3);
    const outside = x.mul(y);
    const model = new MLP(2, [2, 1], { seed: 1 });
    scope(() => {
      expectScopeError(() => outside.add(1));
      expectScopeError(() => x.add(outside));
      expectScopeError(() => add(outside, x));
      expectScopeError(() => sub(2, outside));
      expectScopeError(() => div(1, outside));
      expectScopeError(() => pow(x, outside));
      expectScopeError(() => outside.tanh());
      expectScopeError(() => exp(outside));
      expectScopeError(() => Value.sum([x, outside]));
      expectScopeError(() => sum([1, outside]));
      expectScopeError(() => model.forward([outside, x]));
    });
    // The ordinary node is untouched.
    expect(outside.data).toBe(6);
    expect(outside.add(1).data).toBe(7);
  });

  it('an op node made outside is refused after a pass that fell back to depth-first order (its _mark is then ~place)', () => {
    // Serials that collide, as 2³⁰ nodes later (grad.test.ts's case), make backward() fall back.
    setNextSerial(100);
    const x = new Value(1);
    const c3 = x.mul(0.4), c2 = x.mul(0.6), c1 = x.mul(0.3), n1 = x.mul(0.6);
    setNextSerial(104);
    const t = x.mul(-1);
    const root = sum([c1, c2, c3, n1, t.mul(1).relu(), t.mul(0.7)]);
    setNextSerial(0);
    root.backward();
    expect(c1._mark).toBeLessThan(0); // the fallback's place, which a leaf's place in a scope resembles
    scope(() => {
      for (const v of [c1, c2, c3, n1, t, root]) {
        expectScopeError(() => v.add(x));
        expectScopeError(() => x.mul(v));
      }
    });
  });

  it('a copy made by keep is an op node made outside the scope: refused inside it and in later scopes', () => {
    const x = new Value(2);
    const kept = scope(() => {
      const v = x.mul(3);
      const k = keep(v);
      expectScopeError(() => k.add(1));
      expect(v.add(1).data).toBe(7); // inside, v itself is the one to use
      return k;
    });
    expect(kept.data).toBe(6);
    scope(() => {
      expectScopeError(() => kept.mul(2));
      expectScopeError(() => mul(2, kept));
    });
    expect(kept.mul(2).data).toBe(12); // outside any scope it is an ordinary Value
  });

  it('leaves made anywhere, constants and numbers are fine', () => {
    const p = new Value(1.5), c = Value.constant(-2);
    const got = scope(() => {
      const q = new Value(0.5);
      const r = Value.sum([p, c, q, 4, p.mul(q)]).mul(c).add(sub(1, p));
      r.backward();
      return [r.data, p.grad, q.grad];
    });
    // (1.5 − 2 + 0.5 + 4 + 0.75)·(−2) + (1 − 1.5) = −9.5 − 0.5; ∂/∂p = (1 + 0.5)(−2) − 1; ∂/∂q = (1 + 1.5)(−2)
    expect(got).toEqual([-10, -4, -5]);
  });

  it('a leaf used in earlier scopes, and in a pass, gets its own gradient when later scopes list leaves in another order', () => {
    const a = new Value(2), b = new Value(3), c = new Value(5);
    scope(() => a.mul(c)); // a first on this scope's list of leaves, c second
    const got = scope(() => {
      // b and c first here: a must not be taken for whatever now holds its old place
      const y = b.mul(b).add(c).add(a.mul(3));
      y.backward(); // the pass stamps a, b and c
      const z = a.mul(c).add(b); // so they are listed again
      z.backward();
      return [y.data, z.data];
    });
    // y = b² + c + 3a: ∂/∂a 3, ∂/∂b 6, ∂/∂c 1; z = a·c + b: ∂/∂a 5, ∂/∂b 1, ∂/∂c 2
    expect(got).toEqual([20, 13]);
    expect([a.grad, b.grad, c.grad]).toEqual([8, 7, 3]);
  });

  it('Values made in the open scope, including an enclosing scope, are fine', () => {
    const x = new Value(2);
    const got = scope(() => {
      const a = x.mul(x);
      const inner = scope(() => a.add(x).mul(a)); // uses the outer scope's a
      const r = inner.add(a);
      r.backward();
      return [r.data, x.grad];
    });
    // (x² + x)·x² + x² at 2 = 24 + 4 = 28; d/dx = (2x + 1)x² + (x² + x)2x + 2x = 20 + 24 + 4 = 48
    expect(got).toEqual([28, 48]);
  });
});

// ---------------------------------------------------------------------------------------------
// Rule 3: after the scope.

function deadUses(v: Value): [string, () => unknown][] {
  return [
    ['read data', () => v.data],
    ['read grad', () => v.grad],
    ['set data', () => { v.data = 1; }],
    ['set grad', () => { v.grad = 1; }],
    ['v.add(1)', () => v.add(1)],
    ['add(1, v)', () => add(1, v)],
    ['new Value(1).mul(v)', () => new Value(1).mul(v)],
    ['Value.sum([v])', () => Value.sum([v])],
    ['v.tanh()', () => v.tanh()],
    ['v.backward()', () => v.backward()],
  ];
}

describe('rule 3: a scope Value is dead once the scope ends', () => {
  it('after a normal end, every use throws ScopeError', () => {
    const x = new Value(2);
    let v: Value | undefined, w: Value | undefined;
    const r = scope(() => {
      v = x.mul(3);
      w = v.add(1);
      w.backward();
      return 'done';
    });
    expect(r).toBe('done');
    for (const [name, use] of [...deadUses(v!), ...deadUses(w!)]) {
      const err = catchError(use);
      if (!(err instanceof ScopeError)) throw new Error(`${name}: expected ScopeError, got ${String(err)}`);
    }
    expect(x.grad).toBe(3); // the leaf is ordinary and untouched by those attempts
    expect(x.data).toBe(2);
  });

  it('after an end by a throw, the throw propagates unchanged and every use throws ScopeError', () => {
    const x = new Value(2);
    let v: Value | undefined;
    const thrown = new Error('from fn');
    const err = catchError(() => scope(() => {
      v = x.mul(3).exp();
      throw thrown;
    }));
    expect(err).toBe(thrown);
    for (const [name, use] of deadUses(v!)) {
      const e = catchError(use);
      if (!(e instanceof ScopeError)) throw new Error(`${name}: expected ScopeError, got ${String(e)}`);
    }
    // A non-Error thrown value also propagates as is.
    expect(catchError(() => scope(() => { throw 42; }))).toBe(42);
  });

  it('a dead Value stays dead while later scopes reuse the memory, and is refused inside them', () => {
    const x = new Value(0.5);
    let dead: Value | undefined;
    scope(() => { dead = x.mul(2).add(1); });
    for (let k = 0; k < 200; k++) {
      const got = scope(() => {
        const fresh = x.mul(2).add(k); // likely in the place dead had
        expectScopeError(() => dead!.data);
        expectScopeError(() => dead!.grad);
        expectScopeError(() => { dead!.data = 5; });
        expectScopeError(() => dead!.add(fresh));
        expectScopeError(() => fresh.add(dead!));
        expectScopeError(() => dead!.backward());
        return fresh.data;
      });
      expect(got).toBe(1 + k);
    }
    expectScopeError(() => dead!.data);
  });

  it('a new scope after one that ended by a throw computes as before', () => {
    const expected = mixedOutside();
    expect(() => scope(() => {
      mixed(new Value(1), new Value(-1), new Value(2)).root.backward();
      throw new RangeError('stop');
    })).toThrow(RangeError);
    const [x, y, z] = MIXED_AT.map((t) => new Value(t));
    const got = scope(() => {
      const { root, interior } = mixed(x!, y!, z!);
      root.backward();
      return { data: root.data, leaves: [x!.grad, y!.grad, z!.grad], interior: interior.map((v) => v.grad), interiorData: interior.map((v) => v.data) };
    });
    expect(got).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Rule 4: escapes.

describe('rule 4: what escapes a scope', () => {
  it('a returned Value is an ordinary copy: same data, grads and local derivatives as the ordinary graph', () => {
    const a0 = new Value(-4), b0 = new Value(2);
    const o = sanity(a0, b0);
    o.g.backward();
    const expected = describeGraph(o.g);
    const a = new Value(-4), b = new Value(2);
    const g = scope(() => {
      const s = sanity(a, b);
      s.g.backward();
      return s.g;
    });
    expect(g).toBeInstanceOf(Value);
    expect(describeGraph(g)).toEqual(expected);
    // Graph tools work on it.
    expect(topologicalOrder(g).length).toBe(topologicalOrder(o.g).length);
    expect(toDot(g)).toBe(toDot(o.g));
    expect(() => grad(g, [a, b])).not.toThrow();
  });

  it('labels set in the scope come out on the copies, interior nodes included; toDot shows them', () => {
    const x = new Value(2, 'x'), w = new Value(3, 'w');
    // The same graph outside, labelled the same way: the oracle for toDot.
    const hOut = x.mul(w);
    hOut.label = 'h';
    const outOut = hOut.tanh().add(1);
    outOut.label = 'out';
    const [out, kept] = scope(() => {
      const h = x.mul(w);
      h.label = 'h';
      const o = h.tanh().add(1);
      o.label = 'out';
      const k = keep(h.mul(2));
      return [o, k] as const;
    });
    expect(out.label).toBe('out');
    const h = out.inputs[0]!.inputs[0]!;
    expect(h.op).toBe('*');
    expect(h.label).toBe('h');
    expect(out.inputs[0]!.label).toBe(''); // the tanh, never labelled
    expect(h.inputs).toEqual([x, w]); // leaves keep theirs, being the same objects
    expect(kept.inputs[0]!.label).toBe('h'); // keep copies the rows below with their labels too
    expect(toDot(out)).toBe(toDot(outOut));
  });

  it('a label reaches only its own row\'s copy: not a later scope\'s, even when set on a dead handle', () => {
    const x = new Value(2);
    let dead: Value | null = null;
    scope(() => {
      dead = x.mul(3);
      dead.label = 'first scope';
    });
    dead!.label = 'set after its scope ended';
    const out = scope(() => x.mul(3).add(x.mul(4))); // rows 0 and 1 again, as in the first scope
    expect(out.label).toBe('');
    expect(out.inputs.map((v) => v.label)).toEqual(['', '']);
    expect(dead!.label).toBe('set after its scope ended'); // the handle's own label is still its own
  });

  it('labels through nested scopes and throws: kept from a nested scope, gone after an outermost throw', () => {
    const x = new Value(1);
    const out = scope(() => {
      const inner = scope(() => {
        const h = x.mul(2);
        h.label = 'inner h';
        return h; // a nested scope returns its Value as it is
      });
      expect(() => scope(() => { inner.add(1).label = 'in a nested scope that throws'; throw new Error('nested'); })).toThrow('nested');
      const k = keep(inner.mul(3));
      expect(k.inputs[0]!.label).toBe('inner h');
      return inner.tanh();
    });
    expect(out.inputs[0]!.label).toBe('inner h');
    expect(() => scope(() => { x.mul(2).label = 'lost'; throw new Error('outer'); })).toThrow('outer');
    expect(scope(() => x.mul(2)).label).toBe(''); // the same row, in the next scope
  });

  it('the copy refers to the ordinary leaves made outside the scope', () => {
    const x = new Value(2), y = new Value(5);
    const r = scope(() => x.mul(y).add(1));
    expect(r.op).toBe('+');
    const [m] = r.inputs;
    expect(m!.op).toBe('*');
    expect(m!.inputs[0]).toBe(x);
    expect(m!.inputs[1]).toBe(y);
    expect(r.localGradients).toEqual([1, null]);
    expect(m!.localGradients).toEqual([5, 2]);
  });

  it('backward() on the copy after the scope gives the ordinary engine\'s leaf gradients', () => {
    const expected = mixedOutside();
    const [x, y, z] = MIXED_AT.map((t) => new Value(t));
    const root = scope(() => mixed(x!, y!, z!).root);
    expect(root.data).toBe(expected.data);
    expect(root.grad).toBe(0); // no pass yet
    root.backward();
    expect([x!.grad, y!.grad, z!.grad]).toEqual(expected.leaves);
    root.backward();
    expect([x!.grad, y!.grad, z!.grad]).toEqual(expected.leaves.map((g) => 2 * g));
  });

  it('backward() on a copy of a 10⁵-step chain gives the ordinary result', () => {
    const n = 100_000;
    const x0 = new Value(0.37);
    const r0 = chain(x0, n);
    r0.backward();
    const x = new Value(0.37);
    const r = scope(() => chain(x, n));
    expect(r.data).toBe(r0.data);
    r.backward();
    expect(x.grad).toBe(x0.grad);
  });

  it('nested arrays and plain objects are walked into new ones; numbers and strings are returned as is', () => {
    const x = new Value(3), y = new Value(-2);
    let inner: { list: unknown[] } | undefined;
    const out = scope(() => {
      const p = x.mul(y), q = p.add(x), r = q.tanh();
      r.backward();
      inner = { list: [p, [q, { r, n: 7, s: 'text' }], 1.5] };
      return { a: inner, b: [r, [[p]]], c: 'str', d: 4 };
    });
    expect(out.c).toBe('str');
    expect(out.d).toBe(4);
    expect(out.a).not.toBe(inner);
    expect(out.a.list).not.toBe(inner!.list);
    const [p, [q, o], n] = out.a.list as [Value, [Value, { r: Value; n: number; s: string }], number];
    expect(n).toBe(1.5);
    expect(o.n).toBe(7);
    expect(o.s).toBe('text');
    // Oracle: the same graph outside.
    const x0 = new Value(3), y0 = new Value(-2);
    const p0 = x0.mul(y0), q0 = p0.add(x0), r0 = q0.tanh();
    r0.backward();
    for (const [copy, orig] of [[p, p0], [q, q0], [o.r, r0], [out.b[0] as Value, r0], [(out.b[1] as Value[][])[0]![0]!, p0]] as [Value, Value][]) {
      expect(copy).toBeInstanceOf(Value);
      expect(copy.data).toBe(orig.data);
      expect(copy.grad).toBe(orig.grad);
      expect(copy.op).toBe(orig.op);
      expect(describeGraph(copy)).toEqual(describeGraph(orig));
    }
  });

  it('anything that is not an array, plain object or Value is returned as is', () => {
    const m = new Map<string, number>([['a', 1]]);
    const d = new Date(0);
    const f = (): number => 1;
    const x = new Value(1);
    expect(scope(() => m)).toBe(m);
    expect(scope(() => d)).toBe(d);
    expect(scope(() => f)).toBe(f);
    expect(scope(() => undefined)).toBe(undefined);
    expect(scope(() => null)).toBe(null);
    expect(scope(() => -0)).toBe(-0);
    expect(scope(() => 'text')).toBe('text');
    expect(scope(() => x)).toBe(x); // an ordinary leaf is no scope Value
  });

  it('keep(v) inside a scope returns an ordinary copy at once, usable after the scope', () => {
    const x = new Value(1.5), y = new Value(-0.5);
    const kept = scope(() => {
      const v = x.mul(y).sigmoid();
      const before = keep(v); //       no pass yet: grads 0
      v.backward();
      const after = keep(v); //        after the pass
      expect(after).not.toBe(v);
      expect(after.data).toBe(v.data);
      expect(v.grad).toBe(1); //       v itself is still usable inside
      return { before, after, n: v.data };
    });
    const x0 = new Value(1.5), y0 = new Value(-0.5);
    const v0 = x0.mul(y0).sigmoid();
    const fresh = describeGraph(v0);
    v0.backward();
    expect(describeGraph(kept.before).map((node) => node.isLeaf ? { ...node, grad: 0 } : node)).toEqual(fresh);
    expect(describeGraph(kept.after)).toEqual(describeGraph(v0));
    expect(kept.n).toBe(v0.data);
    // The copy works as an ordinary Value: a pass through it reaches the original leaves.
    const gx = x.grad;
    kept.after.backward();
    expect(x.grad).toBe(2 * gx);
    expect(x.grad).toBe(2 * x0.grad);
  });

  it('keep of an ordinary Value returns it unchanged, inside a scope and outside', () => {
    const x = new Value(2), c = Value.constant(3), node = x.mul(c);
    expect(keep(x)).toBe(x);
    expect(keep(node)).toBe(node);
    scope(() => {
      expect(keep(x)).toBe(x);
      expect(keep(c)).toBe(c);
      expect(keep(node)).toBe(node);
      const leaf = new Value(1);
      expect(keep(leaf)).toBe(leaf);
    });
  });

  it('backward() on a copy after a pass in the scope: interior grads below a relu that is off read 0, as outside', () => {
    // value.test.ts's case: a pass writes w's grad; a later graph reaches w only through a relu that
    // is off. Here the first pass runs in the scope, the second on the copy after it.
    const script = (x: Value): { w: Value; r: Value } => {
      const w = x.mul(3);
      w.mul(2).backward(); //           w.grad = 2, x.grad = 6
      const u = w.mul(1);
      const r = u.relu().add(x); //     relu(−3) is off
      return { w, r };
    };
    const x0 = new Value(-1);
    const o = script(x0);
    const x = new Value(-1);
    const got = scope(() => script(x));
    expect(got.w.grad).toBe(2); //      copied as it was
    expect(describeGraph(got.r)).toEqual(describeGraph(o.r));
    o.r.backward();
    got.r.backward();
    expect(describeGraph(got.r)).toEqual(describeGraph(o.r));
    expect(x.grad).toBe(x0.grad);
    expect(x.grad).toBe(7);
  });

  it('an interior grad set by hand in the scope is copied, and cleared by a pass on the copy as outside', () => {
    const script = (x: Value): Value => {
      const w = x.mul(3), u = w.mul(1);
      w.grad = 5;
      return u.relu().add(x);
    };
    const x0 = new Value(-1);
    const r0 = script(x0);
    const x = new Value(-1);
    const r = scope(() => script(x));
    expect(describeGraph(r)).toEqual(describeGraph(r0));
    r0.backward();
    r.backward();
    expect(describeGraph(r)).toEqual(describeGraph(r0));
  });

  it('a pass in the scope, then another on the returned copy: leaves get exactly twice, interior the latest', () => {
    const a = new Value(-4), b = new Value(2);
    const g = scope(() => {
      const s = sanity(a, b);
      s.g.backward();
      return s.g;
    });
    const a0 = new Value(-4), b0 = new Value(2);
    const o = sanity(a0, b0);
    o.g.backward();
    o.g.backward();
    g.backward();
    expect(describeGraph(g)).toEqual(describeGraph(o.g));
    expect(a.grad).toBe(2 * (a0.grad / 2));
  });

  it('a returned number escapes as it is', () => {
    const x = new Value(0.1);
    const got = scope(() => {
      const y = x.mul(3).add(0.2);
      return y.data;
    });
    expect(got).toBe(0.1 * 3 + 0.2);
  });
});

// ---------------------------------------------------------------------------------------------
// Rule 5: nesting.

describe('rule 5: a nested scope joins the outer one', () => {
  it('returns its value as is, and its Values stay usable until the outer scope ends', () => {
    const x = new Value(2);
    let v: Value | undefined, obj: { v: Value } | undefined;
    const outerResult = scope(() => {
      const innerObj = { v: x.mul(x) };
      const got = scope(() => innerObj);
      expect(got).toBe(innerObj); // the same object, not a copy
      const w = scope(() => x.add(1));
      expect(scope(() => w)).toBe(w);
      v = w;
      obj = got;
      const r = w.mul(got.v); // (x + 1)·x²
      r.backward();
      expect(w.data).toBe(3);
      expect(w.grad).toBe(4);
      expect(x.grad).toBe(4 + 3 * 4); // x² + (x + 1)·2x at 2
      return r.data;
    });
    expect(outerResult).toBe(12);
    expectScopeError(() => v!.data);
    expectScopeError(() => obj!.v.data);
    expectScopeError(() => v!.add(1));
  });

  it('a nested scope that ends by a throw leaves its Values usable in the outer scope', () => {
    const x = new Value(3);
    let w: Value | undefined;
    const got = scope(() => {
      const thrown = new Error('inner');
      expect(catchError(() => scope(() => {
        w = x.mul(x);
        throw thrown;
      }))).toBe(thrown);
      expect(w!.data).toBe(9);
      const r = w!.add(x);
      r.backward();
      return [r.data, x.grad];
    });
    expect(got).toEqual([12, 7]);
    expectScopeError(() => w!.data);
  });

  it('keep inside a nested scope gives an ordinary copy that outlives the outer scope', () => {
    const x = new Value(2);
    const k = scope(() => scope(() => keep(x.mul(5).add(1))));
    expect(k.data).toBe(11);
    k.backward();
    expect(x.grad).toBe(5);
  });
});

// ---------------------------------------------------------------------------------------------
// Rule 6: synchronous only.

describe('rule 6: synchronous only', () => {
  it('an async fn makes scope throw a TypeError; its Values are dead, and new scopes work', async () => {
    const x = new Value(2);
    let v: Value | undefined;
    let promise: unknown;
    const err = catchError(() => scope(() => {
      promise = (async () => {
        v = x.mul(3); // runs synchronously, before the first await
        return 1;
      })();
      return promise;
    }));
    expect(err).toBeInstanceOf(TypeError);
    expectScopeError(() => v!.data);
    expectScopeError(() => v!.add(1));
    await promise; // settles quietly
    const got = scope(() => {
      const y = x.mul(x);
      y.backward();
      return [y.data, x.grad];
    });
    expect(got).toEqual([4, 4]);
  });

  it('an async function itself, and any thenable, are refused the same way', async () => {
    const x = new Value(1);
    let v: Value | undefined;
    const asyncFn = async (): Promise<number> => {
      v = x.add(1);
      return 0;
    };
    expect(() => scope(asyncFn as unknown as () => number)).toThrow(TypeError);
    if (v !== undefined) expectScopeError(() => v!.data); // (made only if scope called fn, as the spec implies)
    const thenable = { then(resolve: (n: number) => void): void { resolve(1); } };
    expect(() => scope(() => thenable)).toThrow(TypeError);
    expect(scope(() => x.add(2).data)).toBe(3);
  });
});

// ---------------------------------------------------------------------------------------------
// Rule 8: graph tools.

describe('rule 8: graph tools need ordinary Values', () => {
  it('inputs, localGradients, topologicalOrder, toDot, grad, backwardSteps throw ScopeError on scope Values', () => {
    const x = new Value(2), y = new Value(3);
    scope(() => {
      const v = x.mul(y).add(1);
      expectScopeError(() => v.inputs);
      expectScopeError(() => v.localGradients);
      expectScopeError(() => topologicalOrder(v));
      expectScopeError(() => toDot(v));
      expectScopeError(() => grad(v, x));
      expectScopeError(() => grad(v, [x, y]));
      expectScopeError(() => [...backwardSteps(v)]);
    });
  });

  it('after the scope the same calls also throw ScopeError (the Value is dead)', () => {
    const x = new Value(2);
    const v = scope(() => {
      const w = x.mul(4);
      return [w]; // a copy escapes; w itself dies
    });
    let dead: Value | undefined;
    scope(() => { dead = x.mul(4); });
    expectScopeError(() => dead!.inputs);
    expectScopeError(() => dead!.localGradients);
    expectScopeError(() => topologicalOrder(dead!));
    expectScopeError(() => toDot(dead!));
    expect(v[0]!.inputs[0]).toBe(x);
    expect(v[0]!.localGradients).toEqual([4, null]);
  });

  it('compile inside a scope throws ScopeError, even on ordinary inputs; outside it works', () => {
    const f = ([a, b]: readonly Value[]): Value => a!.mul(b!).add(a!.exp());
    const inputs = [new Value(0.5), new Value(2)];
    scope(() => {
      expectScopeError(() => compile(f, inputs));
      expectScopeError(() => compile(f, [0.5, 2]));
    });
    expect(() => compile(f, inputs)).not.toThrow();
  });

  it('data, grad, op, label, isLeaf, isConstant, toString and toJSON work inside, as on the ordinary node', () => {
    const x0 = new Value(2, 'x'), y0 = new Value(-3);
    const o = x0.mul(y0).tanh();
    o.label = 'out';
    o.backward();
    const x = new Value(2, 'x'), y = new Value(-3);
    const got = scope(() => {
      const v = x.mul(y).tanh();
      expect(v).toBeInstanceOf(Value);
      expect(v.label).toBe('');
      v.label = 'out';
      v.backward();
      return { data: v.data, grad: v.grad, op: v.op, label: v.label, isLeaf: v.isLeaf, isConstant: v.isConstant, str: String(v), json: JSON.stringify(v) };
    });
    expect(got).toEqual({
      data: o.data, grad: o.grad, op: 'tanh', label: 'out', isLeaf: false, isConstant: false, str: String(o), json: JSON.stringify(o),
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Many scopes in a row (a memory-style property, no timing).

describe('many scopes in a row', () => {
  it('10⁴ scopes of a 50-node graph keep working and give the same numbers each time', () => {
    const build = (x: Value, y: Value): Value => {
      let s = x;
      for (let k = 0; k < 24; k++) s = s.mul(y).add(k % 2 === 0 ? x : 0.1); // 48 nodes
      return s.tanh().add(x.relu()); //                                       50
    };
    const x0 = new Value(0.3), y0 = new Value(0.9);
    const r0 = build(x0, y0);
    r0.backward();
    const expected = [r0.data, x0.grad, y0.grad];
    const x = new Value(0.3), y = new Value(0.9);
    let mismatches = 0, first = '';
    for (let k = 0; k < 10_000; k++) {
      x.grad = 0; y.grad = 0;
      const got = scope(() => {
        const r = build(x, y);
        r.backward();
        return [r.data, x.grad, y.grad];
      });
      if (!(Object.is(got[0], expected[0]) && Object.is(got[1], expected[1]) && Object.is(got[2], expected[2]))) {
        if (mismatches++ === 0) first = `scope ${k}: got ${got.join(', ')}, expected ${expected.join(', ')}`;
      }
    }
    expect(first).toBe('');
    expect(mismatches).toBe(0);
  });

  it('copies kept from many scopes stay intact while later scopes run', () => {
    const x = new Value(0.5);
    const kept: Value[] = [];
    for (let k = 0; k < 2000; k++) {
      const r = scope(() => {
        const v = x.mul(k).add(1).sigmoid();
        const junk = x.mul(2).exp().add(k); // overwritten memory, if any is reused
        junk.backward();
        return k % 100 === 0 ? v : null;
      });
      if (r !== null) kept.push(r);
    }
    expect(kept.length).toBe(20);
    kept.forEach((v, i) => {
      const k = i * 100;
      expect(v.data).toBe(new Value(0.5).mul(k).add(1).sigmoid().data);
      expect(v.grad).toBe(0);
      expect(v.inputs[0]!.op).toBe('+');
    });
  });
});

// Last in the file: a failure here could leave the tape unusable for the tests after it.
describe('the tape kept from one scope to the next', () => {
  it('a large scope, then a medium one, then a small one: all work', () => {
    // The tape is kept from one scope to the next and trimmed after a smaller one.
    const x = new Value(0.5);
    const run = (n: number): number[] => {
      const r = chain(x, n);
      r.backward();
      const out = [r.data, x.grad];
      x.grad = 0;
      return out;
    };
    const expected = [130_000, 20_011, 100].map((n) => run(n));
    // About 303,000, 46,700 and 230 rows. Each scope is tried on its own, so that a failure of one
    // shows whether the next still works.
    const got = [130_000, 20_011, 100].map((n) => {
      try {
        return scope(() => run(n));
      } catch (e) {
        return String(e);
      }
    });
    expect(got).toEqual(expected);
  });
});
