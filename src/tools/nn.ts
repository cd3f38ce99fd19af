/**
 * Neural networks from Values: `Neuron`, `Layer` and `MLP` (micrograd's, with a choice of activation
 * per layer), their parameters as JSON, and the optimisers `SGD` and `Adam`.
 *
 * The graph is dynamic, as in micrograd: every forward call builds a fresh graph from the inputs to
 * the outputs, and `backward()` on a loss built from it fills the parameters' gradients.
 */
import { Value, sumOf, zeroGrad, type Operand } from '../engine/value.js';
import { OPS, type UnaryOp } from '../engine/ops.js';
import { createRng, type Rng } from './random.js';

export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'linear';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'linear'];

/** The seed used when neither `rng` nor `seed` is given, so that a model never depends on Math.random. */
export const DEFAULT_INIT_SEED = 1;

function checkActivation(a: unknown, what: string): Activation {
  if (!ACTIVATIONS.includes(a as Activation)) {
    throw new RangeError(`${what} must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(a) ?? String(a)}`);
  }
  return a as Activation;
}

function checkCount(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new RangeError(`${what} must be a whole number ≥ 1, got ${JSON.stringify(n) ?? String(n)}`);
  }
  return n;
}

function activate(v: Value, a: Activation): Value {
  switch (a) {
    case 'relu': return v.relu();
    case 'tanh': return v.tanh();
    case 'sigmoid': return v.sigmoid();
    case 'linear': return v;
  }
}

const RELU: UnaryOp = OPS.relu, TANH: UnaryOp = OPS.tanh, SIGMOID: UnaryOp = OPS.sigmoid;

/** The same activations on plain numbers, by the op table's own functions (so, as the engine computes them). */
function activateNumber(z: number, a: Activation): number {
  switch (a) {
    case 'relu': return RELU.value(z, 0);
    case 'tanh': return TANH.value(z, TANH.temp!(z));
    case 'sigmoid': return SIGMOID.value(z, SIGMOID.temp!(z));
    case 'linear': return z;
  }
}

function pickRng(options: { readonly rng?: Rng; readonly seed?: number }): Rng {
  if (options.rng !== undefined && options.seed !== undefined) throw new TypeError('give either rng or seed, not both');
  return options.rng ?? createRng(options.seed ?? DEFAULT_INIT_SEED);
}

function checkInputs(x: readonly Operand[], nin: number, who: string): void {
  if (!Array.isArray(x)) throw new TypeError(`${who} takes an array of ${nin} inputs`);
  if (x.length !== nin) throw new RangeError(`${who} takes ${nin} input${nin === 1 ? '' : 's'}, got ${x.length}`);
}

// ---------------------------------------------------------------------------------------------

/** Anything with parameters. */
export abstract class Module {
  /** Every parameter, in a fixed order (the order of `toJSON` and of the optimisers' state). */
  abstract parameters(): Value[];

  /** Sets every parameter's gradient to 0 (leaf gradients accumulate across `backward()` calls). */
  zeroGrad(): void {
    zeroGrad(this.parameters());
  }
}

export interface NeuronOptions {
  /** Default `relu`, micrograd's. */
  readonly activation?: Activation;
  /** Draws the initial weights (uniform in [−1, 1]; the bias starts at 0). */
  readonly rng?: Rng;
  /** Seeds a fresh generator instead of `rng` (default 1). */
  readonly seed?: number;
}

/** act(w·x + b). */
export class Neuron extends Module {
  readonly w: readonly Value[];
  readonly b: Value;
  readonly activation: Activation;

  constructor(nin: number, options: NeuronOptions = {}) {
    super();
    checkCount(nin, 'a neuron\'s number of inputs');
    this.activation = checkActivation(options.activation ?? 'relu', 'activation');
    const rng = pickRng(options);
    this.w = Array.from({ length: nin }, () => new Value(rng.uniform(-1, 1)));
    this.b = new Value(0);
  }

  get nin(): number {
    return this.w.length;
  }

  /** One graph node for the weighted sum (an n-ary sum), then the activation. */
  forward(x: readonly Operand[]): Value {
    checkInputs(x, this.w.length, 'this neuron');
    const terms: Value[] = new Array(this.w.length + 1);
    for (let i = 0; i < this.w.length; i++) terms[i] = this.w[i]!.mul(x[i]!);
    terms[this.w.length] = this.b;
    return activate(sumOf(terms), this.activation);
  }

  /** The same output on plain numbers, from the parameters' current data (no graph). */
  evaluate(x: readonly number[]): number {
    checkInputs(x, this.w.length, 'this neuron');
    // Summed in the order Value.sum adds, so the result is the forward pass's to the last bit.
    let z = 0;
    for (let i = 0; i < this.w.length; i++) z += this.w[i]!.data * x[i]!;
    z += this.b.data;
    // As forward() would: a non-finite sum is an error, not a NaN that relu turns into 0.
    if (!Number.isFinite(z)) throw new RangeError(`the neuron's weighted sum is ${z}, not a finite number (inputs ${x.join(', ')})`);
    return activateNumber(z, this.activation);
  }

  parameters(): Value[] {
    return [...this.w, this.b];
  }
}

export type LayerOptions = NeuronOptions;

/** `nout` neurons on the same inputs. Always returns an array, even of one output. */
export class Layer extends Module {
  readonly neurons: readonly Neuron[];

  constructor(nin: number, nout: number, options: LayerOptions = {}) {
    super();
    checkCount(nin, 'a layer\'s number of inputs');
    checkCount(nout, 'a layer\'s number of outputs');
    const rng = pickRng(options);
    const activation = options.activation ?? 'relu';
    this.neurons = Array.from({ length: nout }, () => new Neuron(nin, { activation, rng }));
  }

  get nin(): number {
    return this.neurons[0]!.nin;
  }
  get nout(): number {
    return this.neurons.length;
  }
  get activation(): Activation {
    return this.neurons[0]!.activation;
  }

  forward(x: readonly Operand[]): Value[] {
    return this.neurons.map((n) => n.forward(x));
  }

  evaluate(x: readonly number[]): number[] {
    return this.neurons.map((n) => n.evaluate(x));
  }

  parameters(): Value[] {
    return this.neurons.flatMap((n) => n.parameters());
  }
}

export interface MLPOptions {
  /** The hidden layers' activation (default `relu`). */
  readonly activation?: Activation;
  /** The last layer's activation (default `linear`). */
  readonly outputActivation?: Activation;
  /** One activation per layer, overriding both of the above (give one or the other). */
  readonly activations?: readonly Activation[];
  readonly rng?: Rng;
  /** Seeds a fresh generator instead of `rng` (default 1). */
  readonly seed?: number;
}

/** Parameters and architecture as plain JSON: what `MLP.toJSON()` writes and the loaders read. */
export interface MLPJson {
  readonly format: typeof MLP_FORMAT;
  readonly version: 1;
  readonly nin: number;
  readonly layers: readonly {
    readonly activation: Activation;
    readonly neurons: readonly { readonly w: readonly number[]; readonly b: number }[];
  }[];
}

export const MLP_FORMAT = 'micrograd-ts/mlp';

/** A model file or object that cannot be loaded; `path` says where (e.g. `layers[1].neurons[0].w[2]`). */
export class ModelFormatError extends Error {
  override readonly name = 'ModelFormatError';
  constructor(readonly path: string, problem: string) {
    super(`model JSON${path ? ` at ${path}` : ''}: ${problem}`);
  }
}

/** A multi-layer perceptron: `sizes[k]` neurons in layer k; the last layer's outputs are the result. */
export class MLP extends Module {
  readonly layers: readonly Layer[];

  constructor(nin: number, sizes: readonly number[], options: MLPOptions = {}) {
    super();
    checkCount(nin, 'the number of inputs');
    if (!Array.isArray(sizes) || sizes.length === 0) throw new RangeError('sizes must be a non-empty array of layer sizes');
    sizes.forEach((s, k) => checkCount(s, `sizes[${k}]`));
    const activations = layerActivations(sizes.length, options);
    const rng = pickRng(options);
    const widths = [nin, ...sizes];
    this.layers = sizes.map((nout, k) => new Layer(widths[k]!, nout, { activation: activations[k]!, rng }));
    this.params = this.layers.flatMap((l) => l.parameters());
  }

  // The parameters never change identity (optimisers and loaders update their data), so the list is
  // made once: a training step asks for it several times.
  private readonly params: readonly Value[];

  get nin(): number {
    return this.layers[0]!.nin;
  }
  get sizes(): number[] {
    return this.layers.map((l) => l.nout);
  }
  get activations(): Activation[] {
    return this.layers.map((l) => l.activation);
  }

  /** Builds the graph from the inputs (numbers or Values) to the outputs. */
  forward(x: readonly Operand[]): Value[] {
    checkInputs(x, this.nin, 'this MLP');
    let h: readonly Operand[] = x;
    for (const layer of this.layers) h = layer.forward(h);
    return h as Value[];
  }

  /** The same outputs on plain numbers from the parameters' current data: fast, for plots and grids. */
  evaluate(x: readonly number[]): number[] {
    checkInputs(x, this.nin, 'this MLP');
    let h: readonly number[] = x;
    for (const layer of this.layers) h = layer.evaluate(h);
    return h as number[];
  }

  parameters(): Value[] {
    return this.params.slice();
  }

  toJSON(): MLPJson {
    return {
      format: MLP_FORMAT,
      version: 1,
      nin: this.nin,
      layers: this.layers.map((l) => ({
        activation: l.activation,
        neurons: l.neurons.map((n) => ({ w: n.w.map((w) => w.data), b: n.b.data })),
      })),
    };
  }

  /** A model with the architecture and parameters of `json` (an object or JSON text), validated. */
  static fromJSON(json: unknown): MLP {
    const data = readModel(json);
    const model = new MLP(data.nin, data.layers.map((l) => l.neurons.length), { activations: data.layers.map((l) => l.activation) });
    model.setParameters(data);
    return model;
  }

  /**
   * Overwrites this model's parameters with those of `json` (an object or JSON text). The
   * architecture must be this model's: same inputs, layer sizes and activations.
   */
  load(json: unknown): void {
    const data = readModel(json);
    if (data.nin !== this.nin) throw new ModelFormatError('nin', `the model has ${this.nin} inputs, the JSON ${data.nin}`);
    if (data.layers.length !== this.layers.length) {
      throw new ModelFormatError('layers', `the model has ${this.layers.length} layers, the JSON ${data.layers.length}`);
    }
    data.layers.forEach((l, k) => {
      const mine = this.layers[k]!;
      if (l.neurons.length !== mine.nout) {
        throw new ModelFormatError(`layers[${k}].neurons`, `the model's layer ${k} has ${mine.nout} neurons, the JSON ${l.neurons.length}`);
      }
      if (l.activation !== mine.activation) {
        throw new ModelFormatError(`layers[${k}].activation`, `the model's layer ${k} uses ${mine.activation}, the JSON ${l.activation}`);
      }
    });
    this.setParameters(data);
  }

  private setParameters(data: MLPJson): void {
    data.layers.forEach((l, k) => l.neurons.forEach((n, j) => {
      const neuron = this.layers[k]!.neurons[j]!;
      n.w.forEach((w, i) => { neuron.w[i]!.data = w; });
      neuron.b.data = n.b;
    }));
  }
}

function layerActivations(layers: number, options: MLPOptions): Activation[] {
  if (options.activations !== undefined) {
    if (options.activation !== undefined || options.outputActivation !== undefined) {
      throw new TypeError('give either activations (one per layer) or activation/outputActivation, not both');
    }
    if (!Array.isArray(options.activations) || options.activations.length !== layers) {
      throw new RangeError(`activations must list one activation per layer (${layers}), got ${JSON.stringify(options.activations)}`);
    }
    return options.activations.map((a, k) => checkActivation(a, `activations[${k}]`));
  }
  const hidden = checkActivation(options.activation ?? 'relu', 'activation');
  const output = checkActivation(options.outputActivation ?? 'linear', 'outputActivation');
  return Array.from({ length: layers }, (_, k) => (k === layers - 1 ? output : hidden));
}

// ---------------------------------------------------------------------------------------------
// Reading model JSON: every field checked, and the first problem reported with where it is.

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function describe(x: unknown): string {
  if (x === undefined) return 'nothing';
  if (Array.isArray(x)) return 'an array';
  if (x === null) return 'null';
  if (typeof x === 'object') return 'an object';
  if (typeof x === 'number') return `number ${x}`;
  return `${typeof x} ${JSON.stringify(x) ?? String(x)}`;
}

function finite(x: unknown, path: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new ModelFormatError(path, `expected a finite number, got ${describe(x)}`);
  return x;
}

function array(x: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(x)) throw new ModelFormatError(path, `expected an array, got ${describe(x)}`);
  return x;
}

/** Parses (if text) and validates model JSON, including that consecutive layers fit together. */
export function readModel(json: unknown): MLPJson {
  let root = json;
  if (typeof json === 'string') {
    try {
      root = JSON.parse(json);
    } catch (e) {
      throw new ModelFormatError('', `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (!isRecord(root)) throw new ModelFormatError('', `expected an object, got ${describe(root)}`);
  if (root.format !== MLP_FORMAT) throw new ModelFormatError('format', `expected "${MLP_FORMAT}", got ${describe(root.format)}`);
  if (root.version !== 1) throw new ModelFormatError('version', `expected 1, got ${describe(root.version)}`);
  const nin = root.nin;
  if (typeof nin !== 'number' || !Number.isInteger(nin) || nin < 1) {
    throw new ModelFormatError('nin', `expected a whole number ≥ 1, got ${describe(nin)}`);
  }
  const layersIn = array(root.layers, 'layers');
  if (layersIn.length === 0) throw new ModelFormatError('layers', 'expected at least one layer');
  let width = nin;
  const layers = layersIn.map((l, k) => {
    const at = `layers[${k}]`;
    if (!isRecord(l)) throw new ModelFormatError(at, `expected an object, got ${describe(l)}`);
    if (!ACTIVATIONS.includes(l.activation as Activation)) {
      throw new ModelFormatError(`${at}.activation`, `expected one of ${ACTIVATIONS.join(', ')}, got ${describe(l.activation)}`);
    }
    const neuronsIn = array(l.neurons, `${at}.neurons`);
    if (neuronsIn.length === 0) throw new ModelFormatError(`${at}.neurons`, 'expected at least one neuron');
    const neurons = neuronsIn.map((n, j) => {
      const nat = `${at}.neurons[${j}]`;
      if (!isRecord(n)) throw new ModelFormatError(nat, `expected an object, got ${describe(n)}`);
      const w = array(n.w, `${nat}.w`);
      if (w.length !== width) {
        throw new ModelFormatError(`${nat}.w`, `expected ${width} weight${width === 1 ? '' : 's'} (the layer's inputs), got ${w.length}`);
      }
      return { w: w.map((x, i) => finite(x, `${nat}.w[${i}]`)), b: finite(n.b, `${nat}.b`) };
    });
    width = neurons.length;
    return { activation: l.activation as Activation, neurons };
  });
  return { format: MLP_FORMAT, version: 1, nin, layers };
}

// ---------------------------------------------------------------------------------------------
// Optimisers. Each updates `data` of the parameters it was given, from their `grad`.

export interface Optimizer {
  readonly parameters: readonly Value[];
  /** The learning rate; may be changed between steps (schedules). */
  lr: number;
  /** One update from the parameters' current gradients. */
  step(): void;
  /** Sets the parameters' gradients to 0. */
  zeroGrad(): void;
}

function checkParameters(parameters: readonly Value[]): readonly Value[] {
  if (!Array.isArray(parameters)) throw new TypeError('an optimiser takes an array of parameters (e.g. model.parameters())');
  parameters.forEach((p, k) => {
    if (!(p instanceof Value)) throw new TypeError(`parameters[${k}] is not a Value`);
  });
  return parameters.slice();
}

function checkRate(x: number, what: string, lo: number, hi: number, hiOpen = true): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < lo || (hiOpen ? x >= hi : x > hi)) {
    throw new RangeError(`${what} must be a number in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${String(x)}`);
  }
  return x;
}

function checkLr(lr: number): number {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw new RangeError(`lr must be a finite number ≥ 0, got ${String(lr)}`);
  return lr;
}

/** Writes the new values, or none of them if any is not finite (so a diverging step leaves the model as it was). */
function commit(who: string, parameters: readonly Value[], next: Float64Array): void {
  for (let k = 0; k < next.length; k++) {
    if (!Number.isFinite(next[k]!)) {
      const p = parameters[k]!;
      throw new RangeError(`${who} step: parameter ${k} (data ${p.data}, grad ${p.grad}) would become ${next[k]}; try a smaller lr`);
    }
  }
  for (let k = 0; k < next.length; k++) parameters[k]!.data = next[k]!;
}

export interface SGDOptions {
  readonly lr: number;
  /** Momentum μ in [0, 1) (default 0: plain gradient descent). */
  readonly momentum?: number;
}

/**
 * Stochastic gradient descent. With momentum μ (PyTorch's form): v ← μ·v + g, p ← p − lr·v, with
 * v = 0 before the first step; μ = 0 is p ← p − lr·g.
 */
export class SGD implements Optimizer {
  readonly parameters: readonly Value[];
  readonly momentum: number;
  private lrValue: number;
  private readonly velocity: Float64Array;

  constructor(parameters: readonly Value[], options: SGDOptions) {
    this.parameters = checkParameters(parameters);
    if (typeof options !== 'object' || options === null) throw new TypeError('SGD needs options with a learning rate, e.g. { lr: 0.1 }');
    this.lrValue = checkLr(options.lr);
    this.momentum = checkRate(options.momentum ?? 0, 'momentum', 0, 1);
    this.velocity = new Float64Array(this.parameters.length);
  }

  get lr(): number { return this.lrValue; }
  set lr(x: number) { this.lrValue = checkLr(x); }

  step(): void {
    const { parameters: ps, velocity: v, momentum: mu, lrValue: lr } = this;
    const next = new Float64Array(ps.length);
    const nextV = new Float64Array(ps.length);
    for (let k = 0; k < ps.length; k++) {
      nextV[k] = mu * v[k]! + ps[k]!.grad;
      next[k] = ps[k]!.data - lr * nextV[k]!;
    }
    commit('SGD', ps, next);
    v.set(nextV);
  }

  zeroGrad(): void {
    zeroGrad(this.parameters);
  }
}

export interface AdamOptions {
  /** Default 0.001. */
  readonly lr?: number;
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Default 1e-8. */
  readonly eps?: number;
}

/**
 * Adam (Kingma & Ba): m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², t ← t + 1,
 * p ← p − lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ).
 */
export class Adam implements Optimizer {
  readonly parameters: readonly Value[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private lrValue: number;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;

  constructor(parameters: readonly Value[], options: AdamOptions = {}) {
    this.parameters = checkParameters(parameters);
    this.lrValue = checkLr(options.lr ?? 0.001);
    this.beta1 = checkRate(options.beta1 ?? 0.9, 'beta1', 0, 1);
    this.beta2 = checkRate(options.beta2 ?? 0.999, 'beta2', 0, 1);
    const eps = options.eps ?? 1e-8;
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0) throw new RangeError(`eps must be a finite number > 0, got ${String(eps)}`);
    this.eps = eps;
    this.m = new Float64Array(this.parameters.length);
    this.v = new Float64Array(this.parameters.length);
  }

  get lr(): number { return this.lrValue; }
  set lr(x: number) { this.lrValue = checkLr(x); }

  /** Steps taken so far. */
  get steps(): number { return this.t; }

  step(): void {
    const { parameters: ps, beta1: b1, beta2: b2, eps, lrValue: lr } = this;
    const t = this.t + 1;
    const c1 = 1 - Math.pow(b1, t), c2 = 1 - Math.pow(b2, t);
    const next = new Float64Array(ps.length);
    const m = new Float64Array(ps.length), v = new Float64Array(ps.length);
    for (let k = 0; k < ps.length; k++) {
      const g = ps[k]!.grad;
      m[k] = b1 * this.m[k]! + (1 - b1) * g;
      v[k] = b2 * this.v[k]! + (1 - b2) * g * g;
      // g² can overflow where g does not; an infinite v would freeze the parameter for good.
      if (!Number.isFinite(v[k]!)) {
        throw new RangeError(`Adam step: parameter ${k} (data ${ps[k]!.data}, grad ${g}) has a squared gradient that overflows; scale the loss down`);
      }
      next[k] = ps[k]!.data - lr * (m[k]! / c1) / (Math.sqrt(v[k]! / c2) + eps);
    }
    commit('Adam', ps, next);
    this.m.set(m);
    this.v.set(v);
    this.t = t;
  }

  zeroGrad(): void {
    zeroGrad(this.parameters);
  }
}
