import { describe, expect, it } from 'vitest';
import {
  ACTIVATIONS, Adam, Layer, MLP, ModelFormatError, Neuron, SGD, readModel, type Activation, type MLPJson,
} from '../../src/tools/nn.js';
import { createRng } from '../../src/tools/random.js';
import { Value } from '../../src/engine/value.js';

// An independent oracle: the MLP on plain numbers, written from the formulas and the JSON parameters.
const act: Record<Activation, (z: number) => number> = {
  relu: (z) => Math.max(0, z),
  tanh: (z) => Math.tanh(z),
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
  linear: (z) => z,
};

function handForward(json: MLPJson, x: readonly number[]): number[] {
  let h = [...x];
  for (const layer of json.layers) {
    h = layer.neurons.map((n) => act[layer.activation](n.w.reduce((s, w, i) => s + w * h[i]!, 0) + n.b));
  }
  return h;
}

/** The parameters as one vector, in `parameters()` order (per neuron: weights, then bias). */
const flatten = (json: MLPJson): number[] => json.layers.flatMap((l) => l.neurons.flatMap((n) => [...n.w, n.b]));

function unflatten(json: MLPJson, v: readonly number[]): MLPJson {
  let k = 0;
  return {
    ...json,
    layers: json.layers.map((l) => ({
      activation: l.activation,
      neurons: l.neurons.map((n) => ({ w: n.w.map(() => v[k++]!), b: v[k++]! })),
    })),
  };
}

const close = (a: number, b: number, atol: number, rtol: number): boolean => Math.abs(a - b) <= atol + rtol * Math.abs(b);

describe('Neuron, Layer, MLP: shapes', () => {
  it('counts parameters: MLP(2, [16, 16, 1]) has 2·16+16 + 16·16+16 + 16+1 = 337', () => {
    expect(new MLP(2, [16, 16, 1]).parameters()).toHaveLength(337);
    expect(new Neuron(3).parameters()).toHaveLength(4);
    expect(new Layer(3, 4).parameters()).toHaveLength(16);
    const m = new MLP(3, [4, 5, 2]);
    expect(m.sizes).toEqual([4, 5, 2]);
    expect(m.layers.map((l) => [l.nin, l.nout])).toEqual([[3, 4], [4, 5], [5, 2]]);
    expect(m.forward([1, 2, 3])).toHaveLength(2);
    // The parameters are distinct Values.
    expect(new Set(m.parameters()).size).toBe(m.parameters().length);
  });

  it('a layer always returns an array, and a one-neuron hidden layer works (micrograd #13)', () => {
    const layer = new Layer(2, 1);
    const out = layer.forward([0.5, -0.5]);
    expect(Array.isArray(out)).toBe(true);
    expect(out).toHaveLength(1);
    // A one-neuron hidden layer feeding three neurons, then one output.
    const m = new MLP(2, [1, 3, 1], { activation: 'tanh', seed: 3 });
    const y = m.forward([0.3, -0.7]);
    expect(y).toHaveLength(1);
    expect(y[0]!.data).toBeCloseTo(handForward(m.toJSON(), [0.3, -0.7])[0]!, 14);
    y[0]!.backward();
    // The gradient flows through the single hidden neuron into the first layer.
    expect(m.layers[0]!.neurons[0]!.w.some((w) => w.grad !== 0)).toBe(true);
  });

  it('honours the activation chosen per layer, with relu hidden and linear output by default', () => {
    const opsOf = (m: MLP): string[] => {
      let h: readonly (Value | number)[] = [0.4];
      return m.layers.map((l) => {
        const out = l.forward(h);
        h = out;
        return out[0]!.op;
      });
    };
    // A linear layer's output is its weighted sum: one n-ary sum node.
    expect(opsOf(new MLP(1, [2, 2, 1]))).toEqual(['relu', 'relu', 'sum']);
    expect(opsOf(new MLP(1, [2, 2, 1], { activation: 'tanh', outputActivation: 'sigmoid' }))).toEqual(['tanh', 'tanh', 'sigmoid']);
    const all = new MLP(1, [2, 2, 2, 1], { activations: ['sigmoid', 'linear', 'tanh', 'relu'] });
    expect(all.activations).toEqual(['sigmoid', 'linear', 'tanh', 'relu']);
    expect(opsOf(all)).toEqual(['sigmoid', 'sum', 'tanh', 'relu']);
    expect(new Neuron(2).activation).toBe('relu');
  });

  it('computes the forward pass the hand formulas give from the parameters', () => {
    const m = new MLP(2, [3, 2], { activations: ['tanh', 'sigmoid'] });
    const params = [0.5, -1.2, 0.3, /* */ 0.8, 0.1, -0.4, /* */ -0.6, 0.9, 0.05, /* */ 1.1, -0.7, 0.2, 0.3, /* */ -0.5, 0.4, 0.6, -0.1];
    m.parameters().forEach((p, k) => { p.data = params[k]!; });
    const x = [0.7, -1.3];
    const h = [
      Math.tanh(0.5 * 0.7 - 1.2 * -1.3 + 0.3),
      Math.tanh(0.8 * 0.7 + 0.1 * -1.3 - 0.4),
      Math.tanh(-0.6 * 0.7 + 0.9 * -1.3 + 0.05),
    ];
    const s = (z: number): number => 1 / (1 + Math.exp(-z));
    const y = [s(1.1 * h[0]! - 0.7 * h[1]! + 0.2 * h[2]! + 0.3), s(-0.5 * h[0]! + 0.4 * h[1]! + 0.6 * h[2]! - 0.1)];
    const out = m.forward(x).map((v) => v.data);
    expect(out[0]).toBeCloseTo(y[0]!, 14);
    expect(out[1]).toBeCloseTo(y[1]!, 14);
    // The plain-number evaluation is the Value forward pass to the last bit.
    expect(m.evaluate(x)).toEqual(out);
  });

  it('evaluate on plain numbers agrees with the Value forward pass, for every activation', () => {
    const rng = createRng(21);
    for (const a of ACTIVATIONS) {
      const m = new MLP(3, [5, 4, 2], { activation: a, outputActivation: a, rng });
      for (let t = 0; t < 20; t++) {
        const x = [rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(-3, 3)];
        const viaValues = m.forward(x).map((v) => v.data);
        const plain = m.evaluate(x);
        const hand = handForward(m.toJSON(), x);
        for (let k = 0; k < 2; k++) {
          expect(plain[k]).toBe(viaValues[k]);
          expect(close(viaValues[k]!, hand[k]!, 1e-12, 1e-12)).toBe(true);
        }
      }
    }
  });

  it('accepts Values as inputs, and their gradients come out too', () => {
    const m = new MLP(2, [3, 1], { activation: 'tanh', seed: 4 });
    const x = [new Value(0.2), new Value(-0.9)];
    const y = m.forward(x)[0]!;
    y.backward();
    const eps = 1e-6;
    const f = (a: number, b: number): number => handForward(m.toJSON(), [a, b])[0]!;
    expect(close(x[0]!.grad, (f(0.2 + eps, -0.9) - f(0.2 - eps, -0.9)) / (2 * eps), 1e-7, 1e-5)).toBe(true);
    expect(close(x[1]!.grad, (f(0.2, -0.9 + eps) - f(0.2, -0.9 - eps)) / (2 * eps), 1e-7, 1e-5)).toBe(true);
  });

  it('rejects bad shapes, activations and inputs with clear errors', () => {
    expect(() => new MLP(2, [])).toThrow(/sizes must be a non-empty array/);
    expect(() => new MLP(2, [3, 0])).toThrow(/sizes\[1\] must be a whole number ≥ 1, got 0/);
    expect(() => new MLP(0, [3])).toThrow(/number of inputs must be a whole number ≥ 1/);
    expect(() => new MLP(2, [3], { activation: 'softmax' as Activation })).toThrow(/activation must be one of relu, tanh, sigmoid, linear, got "softmax"/);
    expect(() => new MLP(2, [3, 1], { activations: ['relu'] })).toThrow(/one activation per layer \(2\)/);
    expect(() => new MLP(2, [3, 1], { activations: ['relu', 'linear'], activation: 'tanh' })).toThrow(/either activations/);
    expect(() => new MLP(2, [3], { seed: 1, rng: createRng(1) })).toThrow(/either rng or seed/);
    expect(() => new MLP(2, [3]).forward([1])).toThrow(/takes 2 inputs, got 1/);
    expect(() => new Neuron(3).evaluate([1, 2])).toThrow(/takes 3 inputs, got 2/);
  });
});

describe('gradients of a small MLP\'s loss', () => {
  // Loss = Σ over a few samples and both outputs of (out − target)²; checked against central
  // differences of the hand forward pass, parameter by parameter.
  const samples = [
    { x: [0.5, -1.0], t: [0.3, -0.2] },
    { x: [-0.8, 0.4], t: [-0.5, 0.9] },
    { x: [1.5, 1.2], t: [0.1, 0.4] },
  ];
  const plainLoss = (json: MLPJson): number =>
    samples.reduce((s, { x, t }) => s + handForward(json, x).reduce((u, y, k) => u + (y - t[k]!) ** 2, 0), 0);

  function check(m: MLP): number {
    const loss = Value.sum(samples.flatMap(({ x, t }) => m.forward(x).map((y, k) => y.sub(t[k]!).pow(2))));
    expect(loss.data).toBeCloseTo(plainLoss(m.toJSON()), 12);
    m.zeroGrad();
    loss.backward();
    const json = m.toJSON();
    const v = flatten(json);
    const eps = 1e-6;
    let checked = 0;
    m.parameters().forEach((p, k) => {
      const plus = v.slice(), minus = v.slice();
      plus[k]! += eps;
      minus[k]! -= eps;
      const numeric = (plainLoss(unflatten(json, plus)) - plainLoss(unflatten(json, minus))) / (2 * eps);
      // Central differences: atol 1e-6, rtol 1e-4.
      expect(Math.abs(p.grad - numeric)).toBeLessThanOrEqual(1e-6 + 1e-4 * Math.abs(numeric));
      checked++;
    });
    return checked;
  }

  it('match central differences with tanh, sigmoid and linear layers', () => {
    for (const seed of [1, 2, 3]) {
      expect(check(new MLP(2, [4, 3, 2], { activations: ['tanh', 'sigmoid', 'linear'], seed }))).toBe(4 * 3 + 3 * 5 + 2 * 4);
    }
  });

  it('match central differences with relu layers (no pre-activation within the step of a kink)', () => {
    const m = new MLP(2, [5, 4, 2], { activation: 'relu', seed: 8 });
    m.parameters().forEach((p, k) => { if (k % 3 === 2) p.data = 0.1 * (k % 7) - 0.3; }); // biases and some weights off 0
    // Every hidden pre-activation is far from 0 compared with the step 1e-6.
    const json = m.toJSON();
    for (const { x } of samples) {
      let h = [...x];
      for (const layer of json.layers) {
        const z = layer.neurons.map((n) => n.w.reduce((s, w, i) => s + w * h[i]!, 0) + n.b);
        for (const zi of z) expect(Math.abs(zi)).toBeGreaterThan(1e-3);
        h = z.map(act[layer.activation]);
      }
    }
    expect(check(m)).toBe(m.parameters().length);
  });
});

describe('seeded initialisation', () => {
  it('is deterministic under the seed, and weights are uniform in [−1, 1] with biases 0', () => {
    const a = new MLP(2, [16, 16, 1], { seed: 42 }).toJSON();
    const b = new MLP(2, [16, 16, 1], { seed: 42 }).toJSON();
    const c = new MLP(2, [16, 16, 1], { rng: createRng(42) }).toJSON();
    const d = new MLP(2, [16, 16, 1], { seed: 43 }).toJSON();
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(flatten(d)).not.toEqual(flatten(a));
    // No seed: the default seed, still deterministic.
    expect(new MLP(2, [3, 1]).toJSON()).toEqual(new MLP(2, [3, 1]).toJSON());
    const weights = a.layers.flatMap((l) => l.neurons.flatMap((n) => n.w));
    expect(weights.every((w) => w >= -1 && w <= 1)).toBe(true);
    expect(Math.min(...weights)).toBeLessThan(-0.9);
    expect(Math.max(...weights)).toBeGreaterThan(0.9);
    expect(a.layers.flatMap((l) => l.neurons.map((n) => n.b)).every((b0) => b0 === 0)).toBe(true);
  });
});

describe('saving and loading parameters as JSON', () => {
  it('round-trips through JSON text: same architecture, same parameters, same outputs', () => {
    const m = new MLP(2, [4, 3, 1], { activations: ['tanh', 'relu', 'sigmoid'], seed: 5 });
    m.parameters().forEach((p, k) => { p.data += 0.01 * k; }); // not just the initial values
    const text = JSON.stringify(m);
    const back = MLP.fromJSON(text);
    expect(back.toJSON()).toEqual(m.toJSON());
    expect(back.activations).toEqual(['tanh', 'relu', 'sigmoid']);
    expect(back.evaluate([0.3, -0.4])).toEqual(m.evaluate([0.3, -0.4]));
    // From the object too, and into an existing model of the same architecture.
    expect(MLP.fromJSON(JSON.parse(text)).toJSON()).toEqual(m.toJSON());
    const other = new MLP(2, [4, 3, 1], { activations: ['tanh', 'relu', 'sigmoid'], seed: 99 });
    other.load(text);
    expect(other.parameters().map((p) => p.data)).toEqual(m.parameters().map((p) => p.data));
  });

  it('rejects bad model JSON, naming where the problem is', () => {
    const good = (): MLPJson => new MLP(2, [2, 1], { seed: 1 }).toJSON();
    const mutate = (f: (j: { layers: { activation: string; neurons: { w: unknown[]; b: unknown }[] }[] } & Record<string, unknown>) => void): unknown => {
      const j = JSON.parse(JSON.stringify(good()));
      f(j);
      return j;
    };
    const cases: [unknown, RegExp][] = [
      ['{"format": ', /not valid JSON/],
      [[1, 2], /expected an object, got an array/],
      [mutate((j) => { j.format = 'other'; }), /at format: expected "micrograd-ts\/mlp"/],
      [mutate((j) => { j.version = 2; }), /at version: expected 1, got number 2/],
      [mutate((j) => { j.nin = 1.5; }), /at nin: expected a whole number ≥ 1/],
      [mutate((j) => { j.layers = []; }), /at layers: expected at least one layer/],
      [mutate((j) => { j.layers[1]!.activation = 'gelu'; }), /at layers\[1\]\.activation: expected one of relu, tanh, sigmoid, linear, got string "gelu"/],
      [mutate((j) => { j.layers[0]!.neurons[1]!.w.push(0.5); }), /at layers\[0\]\.neurons\[1\]\.w: expected 2 weights \(the layer's inputs\), got 3/],
      // The next layer must take as many inputs as this one has neurons.
      [mutate((j) => { j.layers[0]!.neurons.pop(); }), /at layers\[1\]\.neurons\[0\]\.w: expected 1 weight \(the layer's inputs\), got 2/],
      // NaN and Infinity become null in JSON text.
      [mutate((j) => { j.layers[0]!.neurons[0]!.w[1] = null; }), /at layers\[0\]\.neurons\[0\]\.w\[1\]: expected a finite number, got null/],
      [mutate((j) => { j.layers[1]!.neurons[0]!.b = '0.5'; }), /at layers\[1\]\.neurons\[0\]\.b: expected a finite number, got string "0.5"/],
    ];
    for (const [input, message] of cases) {
      expect(() => MLP.fromJSON(input)).toThrow(ModelFormatError);
      expect(() => MLP.fromJSON(input)).toThrow(message);
    }
    // A non-finite number given as an object (not through JSON text).
    const inf = mutate(() => {}) as MLPJson;
    (inf.layers[0]!.neurons[0]!.w as number[])[0] = Infinity;
    expect(() => readModel(inf)).toThrow(/at layers\[0\]\.neurons\[0\]\.w\[0\]: expected a finite number, got number Infinity/);
  });

  it('loads into an existing model only when the architecture matches, and leaves it unchanged otherwise', () => {
    const m = new MLP(2, [3, 1], { seed: 1 });
    const before = m.toJSON();
    expect(() => m.load(new MLP(3, [3, 1]).toJSON())).toThrow(/at nin: the model has 2 inputs, the JSON 3/);
    expect(() => m.load(new MLP(2, [4, 1]).toJSON())).toThrow(/layers\[0\]\.neurons: the model's layer 0 has 3 neurons, the JSON 4/);
    expect(() => m.load(new MLP(2, [3, 1, 1]).toJSON())).toThrow(/the model has 2 layers, the JSON 3/);
    expect(() => m.load(new MLP(2, [3, 1], { activation: 'tanh' }).toJSON())).toThrow(/layers\[0\]\.activation: the model's layer 0 uses relu, the JSON tanh/);
    expect(m.toJSON()).toEqual(before);
  });
});

describe('optimisers', () => {
  /** Two parameters with the gradients given. */
  function params(data: [number, number]): Value[] {
    return data.map((d) => new Value(d));
  }
  const setGrads = (ps: Value[], g: [number, number]): void => { ps.forEach((p, k) => { p.grad = g[k]!; }); };

  it('SGD: p ← p − lr·g', () => {
    const ps = params([1.0, -2.0]);
    const opt = new SGD(ps, { lr: 0.1 });
    setGrads(ps, [0.5, -3.0]);
    opt.step();
    expect(ps[0]!.data).toBeCloseTo(0.95, 15);
    expect(ps[1]!.data).toBeCloseTo(-1.7, 15);
    // The learning rate can change between steps.
    opt.lr = 0.01;
    setGrads(ps, [1.0, 1.0]);
    opt.step();
    expect(ps[0]!.data).toBeCloseTo(0.94, 15);
    expect(ps[1]!.data).toBeCloseTo(-1.71, 15);
    opt.zeroGrad();
    expect(ps.map((p) => p.grad)).toEqual([0, 0]);
  });

  it('SGD with momentum 0.9: v ← 0.9·v + g, p ← p − lr·v', () => {
    const ps = params([1.0, -2.0]);
    const opt = new SGD(ps, { lr: 0.1, momentum: 0.9 });
    setGrads(ps, [0.5, -3.0]);
    opt.step(); // v = (0.5, −3), p = (0.95, −1.7)
    expect(ps[0]!.data).toBeCloseTo(0.95, 15);
    expect(ps[1]!.data).toBeCloseTo(-1.7, 15);
    setGrads(ps, [0.2, 1.0]);
    opt.step(); // v = (0.45 + 0.2, −2.7 + 1) = (0.65, −1.7), p = (0.95 − 0.065, −1.7 + 0.17)
    expect(ps[0]!.data).toBeCloseTo(0.885, 14);
    expect(ps[1]!.data).toBeCloseTo(-1.53, 14);
  });

  it('Adam: two steps against the update computed by hand', () => {
    const ps = params([1.0, -2.0]);
    const opt = new Adam(ps, { lr: 0.01 });
    expect([opt.beta1, opt.beta2, opt.eps]).toEqual([0.9, 0.999, 1e-8]);
    setGrads(ps, [0.5, -3.0]);
    opt.step();
    // Step 1: m̂ = g and v̂ = g², so each parameter moves by lr·g/(|g| + ε) ≈ lr against the gradient's sign.
    const after1 = [1.0 - 0.01 * 0.5 / (0.5 + 1e-8), -2.0 + 0.01 * 3.0 / (3.0 + 1e-8)];
    expect(ps[0]!.data).toBeCloseTo(after1[0]!, 15);
    expect(ps[1]!.data).toBeCloseTo(after1[1]!, 15);
    setGrads(ps, [-0.25, 1.0]);
    opt.step();
    // Step 2, parameter 0: m = 0.9·0.05 + 0.1·(−0.25) = 0.02, v = 0.999·0.00025 + 0.001·0.0625 = 0.00031225;
    // m̂ = 0.02/0.19, v̂ = 0.00031225/0.001999.
    const p0 = after1[0]! - 0.01 * (0.02 / 0.19) / (Math.sqrt(0.00031225 / 0.001999) + 1e-8);
    // Parameter 1: m = 0.9·(−0.3) + 0.1·1 = −0.17, v = 0.999·0.009 + 0.001·1 = 0.009991.
    const p1 = after1[1]! - 0.01 * (-0.17 / 0.19) / (Math.sqrt(0.009991 / 0.001999) + 1e-8);
    expect(ps[0]!.data).toBeCloseTo(p0, 14);
    expect(ps[1]!.data).toBeCloseTo(p1, 14);
    expect(opt.steps).toBe(2);
  });

  it('train a model: SGD with momentum and Adam both lower a regression loss', () => {
    for (const make of [(ps: Value[]) => new SGD(ps, { lr: 0.05, momentum: 0.9 }), (ps: Value[]) => new Adam(ps, { lr: 0.02 })]) {
      const m = new MLP(1, [8, 1], { activation: 'tanh', seed: 2 });
      const opt = make(m.parameters());
      const xs = [-1, -0.5, 0, 0.5, 1];
      const lossOf = (): Value => Value.sum(xs.map((x) => m.forward([x])[0]!.sub(x * x).pow(2)));
      const first = lossOf().data;
      for (let s = 0; s < 200; s++) {
        const l = lossOf();
        opt.zeroGrad();
        l.backward();
        opt.step();
      }
      expect(lossOf().data).toBeLessThan(0.1 * first);
    }
  });

  it('rejects bad settings, and a step that would overflow leaves every parameter as it was', () => {
    const ps = params([1, 2]);
    expect(() => new SGD(ps, { lr: -1 })).toThrow(/lr must be a finite number ≥ 0, got -1/);
    expect(() => new SGD(ps, { lr: NaN })).toThrow(/lr must be a finite number ≥ 0, got NaN/);
    expect(() => new SGD(ps, { lr: 0.1, momentum: 1 })).toThrow(/momentum must be a number in \[0, 1\), got 1/);
    expect(() => new Adam(ps, { beta2: 1.5 })).toThrow(/beta2 must be a number in \[0, 1\)/);
    expect(() => new Adam(ps, { eps: 0 })).toThrow(/eps must be a finite number > 0/);
    expect(() => new SGD([ps[0]!, 3 as unknown as Value], { lr: 0.1 })).toThrow(/parameters\[1\] is not a Value/);
    const opt = new SGD(ps, { lr: 1e300 });
    expect(() => { opt.lr = -0.5; }).toThrow(/lr must be/);
    setGrads(ps, [1, 1e10]);
    expect(() => opt.step()).toThrow(/SGD step: parameter 1 .* would become -Infinity; try a smaller lr/);
    expect(ps.map((p) => p.data)).toEqual([1, 2]);
  });
});

describe('bad numbers in evaluate and Adam', () => {
  it('evaluate refuses NaN or non-number inputs instead of returning 0', () => {
    const model = new MLP(2, [3, 1], { seed: 1 });
    expect(() => model.evaluate([Number.NaN, 1])).toThrow(/not a finite number/);
    expect(() => model.evaluate(['a' as unknown as number, 1])).toThrow(/not a finite number/);
  });

  it('Adam refuses a gradient whose square overflows, leaving the parameter as it was', () => {
    const p = new Value(1);
    const opt = new Adam([p], { lr: 0.1 });
    p.grad = 1e200;
    expect(() => opt.step()).toThrow(/overflows/);
    expect(p.data).toBe(1);
    p.grad = 1;
    opt.step();
    expect(p.data).not.toBe(1);
  });
});
