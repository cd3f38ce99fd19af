/**
 * The op table: every operation of the engine, defined once.
 *
 * An entry gives the op's arity, the symbol pictures draw, how the expression language writes it,
 * its forward value and its local derivatives (as numbers, and as printable templates), and any
 * domain rule. Everything else reads these entries: the engine's `Value` methods and module
 * functions, `compile()` (which hands the same functions to the code it generates, so its results
 * equal the engine's bit for bit), the expression language's function names, the DOT symbols and
 * the diagnosis of hand-derived gradients. Only `dual.ts` and `hyper-dual.ts` keep formulas of
 * their own: they are the independent oracles the engine is tested against.
 *
 * The numbers: a unary op computes `t = temp(x)` (a temporary shared by the value and the
 * derivative, such as e^(−|x|); 0 where there is none), then `y = value(x, t)` and
 * ∂y/∂x = `d(x, y, t)`. A binary op computes `y = value(a, b)`, ∂y/∂a = `da(a, b, y)` and
 * ∂y/∂b = `db(a, b, y)`. `sum` is n-ary, with every ∂y/∂operand = 1.
 *
 * Value-level rules (`dValue`, `daValue`, `dbValue`) build the same local derivatives out of Values,
 * for gradients that are themselves differentiable (`grad(…, { createGraph: true })`): they receive
 * the operands and the result as the engine's nodes (a constant operand as its number) and the op
 * functions in `f`, so that this file needs no `Value`. They use the stable forms of the numbers
 * (σ′ = σ(x)·σ(−x), softplus′ = σ(x), tanh′ = 4·σ(2x)·σ(−2x)) and give the same numbers as `d`,
 * `da`, `db` to rounding (mostly exactly). Piecewise ops (relu, abs, max, min) return plain numbers:
 * zero curvature away from their kinks, and at a kink the one-sided value the numbers use (relu′(0)
 * = abs′(0) = 0, a tie of max or min gives each side ½), as a constant — the curvature at the kink
 * itself (a Dirac spike) is taken as 0.
 *
 * Templates are the local derivatives in the expression language, with the operand named `x`
 * (unary) or `a` and `b` (binary) and the result `y`; `null` where the derivative is piecewise
 * (relu, abs, max, min) and the language has no way to write it.
 *
 * To add an op: one entry here (with its Value-level rules), one rule in `src/tools/dual.ts` and its
 * first and second derivatives in `src/tools/hyper-dual.ts`, with its tests and its row in the
 * README's table.
 */

/**
 * The op functions a Value-level rule builds with, over the engine's node type `V` (passed in by the
 * engine, so that the table does not import it), and `data` to read an operand's number.
 */
export interface RuleFunctions<V> {
  readonly add: (a: V | number, b: V | number) => V;
  readonly sub: (a: V | number, b: V | number) => V;
  readonly mul: (a: V | number, b: V | number) => V;
  readonly div: (a: V | number, b: V | number) => V;
  readonly pow: (a: V | number, b: V | number) => V;
  readonly neg: (x: V) => V;
  readonly log: (x: V) => V;
  readonly sigmoid: (x: V) => V;
  readonly sin: (x: V) => V;
  readonly cos: (x: V) => V;
  readonly data: (x: V | number) => number;
}

/** ∂y/∂x as a Value built from the operand `x` and the result `y` (or a number where it is constant). */
export type UnaryRule = <V>(x: V, y: V, f: RuleFunctions<V>) => V | number;

/**
 * ∂y/∂(one operand) as a Value built from the operands and the result (or a number where it is
 * constant). A constant operand arrives as its number; the rule is only asked for a Value operand.
 */
export type BinaryRule = <V>(a: V | number, b: V | number, y: V, f: RuleFunctions<V>) => V | number;

/** A unary op's definition. */
export interface UnaryOp {
  readonly arity: 1;
  /** The `Value` method and module function that make it (`x.exp()`, `exp(x)`). */
  readonly method: string;
  /** Drawn in the op's node of a picture. */
  readonly symbol: string;
  /** Its name in the expression language, or null where an operator writes it (`-x`). */
  readonly call: string | null;
  /** A temporary shared by value and derivative (computed once); absent: 0. */
  readonly temp?: (x: number) => number;
  readonly value: (x: number, t: number) => number;
  /** ∂y/∂x from the operand, the result and the temporary. */
  readonly d: (x: number, y: number, t: number) => number;
  /** ∂y/∂x built from Values, for differentiable gradients. */
  readonly dValue: UnaryRule;
  readonly templates: readonly [string | null];
  /** Whether a finite operand can give a non-finite value (overflow, log 0, √−1). */
  readonly mayFail: boolean;
  /** Whether the derivative can be non-finite where the value is finite (log′(0), √′(0)). */
  readonly derivativeMayFail: boolean;
  /** One line for the README and `--help`. */
  readonly doc: string;
}

/** A binary op's definition. Either operand may be a plain number in the engine. */
export interface BinaryOp {
  readonly arity: 2;
  /** The `Value` method and module function that make it (`a.mul(b)`, `mul(a, b)`). */
  readonly method: string;
  readonly symbol: string;
  /** Its name in the expression language as a function (`pow`, `max`), or null for an operator only. */
  readonly call: string | null;
  /** Its operator in the expression language, if it has one. */
  readonly operator: '+' | '-' | '*' | '/' | '^' | null;
  /** Whether the operands play different parts (a − b, a ÷ b, aᵇ): pictures name them. */
  readonly ordered: boolean;
  readonly value: (a: number, b: number) => number;
  readonly da: (a: number, b: number, y: number) => number;
  readonly db: (a: number, b: number, y: number) => number;
  /** ∂y/∂a and ∂y/∂b built from Values, for differentiable gradients. */
  readonly daValue: BinaryRule;
  readonly dbValue: BinaryRule;
  readonly templates: readonly [string | null, string | null];
  readonly mayFail: boolean;
  readonly derivativeMayFail: boolean;
  /**
   * A rule the numbers alone do not catch: the message for operands the op refuses (with
   * `bIsValue` telling whether the second operand is differentiated), or null.
   */
  readonly domain?: (a: number, b: number, bIsValue: boolean) => string | null;
  readonly doc: string;
}

/** The n-ary sum. */
export interface NaryOp {
  readonly arity: 'n';
  readonly method: string;
  readonly symbol: string;
  readonly call: string;
  readonly templates: readonly [];
  readonly mayFail: true;
  readonly derivativeMayFail: false;
  readonly doc: string;
}

export type OpDefinition = UnaryOp | BinaryOp | NaryOp;

// Helpers for the stable forms below, shared by several entries.
const expNegAbs = (x: number): number => Math.exp(-Math.abs(x));
/** σ(x) from e = e^(−|x|) ≤ 1: never overflows. */
const sigmoidOf = (x: number, e: number): number => (x >= 0 ? 1 / (1 + e) : e / (1 + e));

/**
 * The table. Order matters only for op codes (a node stores its op's index here), and the README
 * lists the ops in this order.
 */
export const OPS = {
  '+': {
    arity: 2, method: 'add', symbol: '+', call: null, operator: '+', ordered: false,
    value: (a, b) => a + b, da: () => 1, db: () => 1, daValue: () => 1, dbValue: () => 1, templates: ['1', '1'],
    mayFail: true, derivativeMayFail: false, doc: 'a + b',
  },
  '-': {
    arity: 2, method: 'sub', symbol: '−', call: null, operator: '-', ordered: true,
    value: (a, b) => a - b, da: () => 1, db: () => -1, daValue: () => 1, dbValue: () => -1, templates: ['1', '-1'],
    mayFail: true, derivativeMayFail: false, doc: 'a − b',
  },
  '*': {
    arity: 2, method: 'mul', symbol: '×', call: null, operator: '*', ordered: false,
    value: (a, b) => a * b, da: (a, b) => b, db: (a) => a, daValue: (a, b) => b, dbValue: (a) => a,
    templates: ['b', 'a'],
    mayFail: true, derivativeMayFail: false, doc: 'a · b',
  },
  '/': {
    arity: 2, method: 'div', symbol: '÷', call: null, operator: '/', ordered: true,
    value: (a, b) => a / b,
    da: (a, b) => 1 / b,
    // −a/b² as −(a/b)/b: b·b would underflow for |b| < 1.5e-154 where the derivative is still finite.
    db: (a, b) => -(a / b) / b,
    daValue: (a, b, y, f) => (typeof b === 'number' ? 1 / b : f.div(1, b)),
    // y is a/b: −(y/b) is the number path's −(a/b)/b exactly.
    dbValue: (a, b, y, f) => f.neg(f.div(y, b)),
    templates: ['1/b', '-a/b^2'],
    mayFail: true, derivativeMayFail: true, doc: 'a ÷ b',
  },
  pow: {
    arity: 2, method: 'pow', symbol: 'pow', call: 'pow', operator: '^', ordered: true,
    // A square, the commonest power (squared errors), as a·a with derivative 2·a: the numbers
    // Math.pow gives, bit for bit (see SQUARE in compile.ts), without its two calls.
    value: (a, b) => (b === 2 ? a * a : Math.pow(a, b)),
    // b·aᵇ⁻¹, and 0 for b = 0 (so that 0⁰ has a finite derivative); aᵇ·ln a, and 0 at a = 0 with b > 0.
    da: (a, b) => (b === 0 ? 0 : b === 2 ? 2 * a : b * Math.pow(a, b - 1)),
    db: (a, b, y) => (a === 0 && b > 0 ? 0 : y * Math.log(a)),
    // The same special cases: with a number exponent, 0 for b = 0; with a Value exponent, b·aᵇ⁻¹
    // is finite at b = 0 unless a = 0 (and then its derivatives are not), so only 0⁰ gets the
    // constant 0. ∂/∂b is the constant 0 at a = 0 with b > 0, the limit of aᵇ·ln a (and of its
    // derivatives) as a → 0⁺.
    daValue: (a, b, y, f) => {
      if (typeof b === 'number') return b === 0 ? 0 : f.mul(f.pow(a, b - 1), b);
      if (f.data(b) === 0 && f.data(a) === 0) return 0;
      return f.mul(b, f.pow(a, f.sub(b, 1)));
    },
    dbValue: (a, b, y, f) => {
      if (f.data(a) === 0 && f.data(b) > 0) return 0;
      return typeof a === 'number' ? f.mul(y, Math.log(a)) : f.mul(y, f.log(a));
    },
    templates: ['b*a^(b - 1)', 'y*log(a)'],
    mayFail: true, derivativeMayFail: true,
    domain: (a, b, bIsValue) =>
      bIsValue && a < 0 ? 'a negative base with a Value exponent has no real derivative ∂/∂b = aᵇ·ln a' : null,
    doc: 'aᵇ (a number exponent allows a negative base)',
  },
  neg: {
    arity: 1, method: 'neg', symbol: 'neg', call: null,
    value: (x) => -x, d: () => -1, dValue: () => -1, templates: ['-1'],
    mayFail: false, derivativeMayFail: false, doc: '−x',
  },
  exp: {
    arity: 1, method: 'exp', symbol: 'exp', call: 'exp',
    value: (x) => Math.exp(x), d: (x, y) => y, dValue: (x, y) => y, templates: ['y'],
    mayFail: true, derivativeMayFail: false, doc: 'eˣ',
  },
  log: {
    arity: 1, method: 'log', symbol: 'log', call: 'log',
    value: (x) => Math.log(x), d: (x) => 1 / x, dValue: (x, y, f) => f.div(1, x), templates: ['1/x'],
    mayFail: true, derivativeMayFail: true, doc: 'ln x',
  },
  tanh: {
    arity: 1, method: 'tanh', symbol: 'tanh', call: 'tanh',
    // 1/cosh²x as 4e/(1 + e)² from e = e^(−2|x|) ≤ 1: accurate in the tails, where 1 − tanh²x
    // rounds to 0 early, and free of the overflow of cosh² past |x| ≈ 355.
    temp: (x) => Math.exp(-2 * Math.abs(x)),
    value: (x) => Math.tanh(x),
    d: (x, y, e) => (4 * e) / ((1 + e) * (1 + e)),
    // 4·σ(2x)·σ(−2x): the same tails, with no branch on the sign.
    dValue: (x, y, f) => f.mul(f.mul(f.sigmoid(f.mul(x, 2)), f.sigmoid(f.mul(x, -2))), 4),
    templates: ['1 - y^2'],
    mayFail: false, derivativeMayFail: false, doc: 'tanh x',
  },
  sigmoid: {
    arity: 1, method: 'sigmoid', symbol: 'σ', call: 'sigmoid',
    // σ(x)·σ(−x) = e/(1 + e)² keeps its precision in the tails, where y·(1 − y) loses it.
    temp: expNegAbs,
    value: sigmoidOf,
    d: (x, y, e) => e / ((1 + e) * (1 + e)),
    dValue: (x, y, f) => f.mul(y, f.sigmoid(f.neg(x))),
    templates: ['y*(1 - y)'],
    mayFail: false, derivativeMayFail: false, doc: 'σ(x) = 1/(1 + e⁻ˣ)',
  },
  relu: {
    arity: 1, method: 'relu', symbol: 'relu', call: 'relu',
    value: (x) => (x > 0 ? x : 0), d: (x) => (x > 0 ? 1 : 0), dValue: (x, y, f) => (f.data(x) > 0 ? 1 : 0),
    templates: [null],
    mayFail: false, derivativeMayFail: false, doc: 'max(0, x), with relu′(0) = 0',
  },
  sum: {
    arity: 'n', method: 'sum', symbol: 'Σ', call: 'sum', templates: [],
    mayFail: true, derivativeMayFail: false, doc: 'Σ xᵢ, one node for any number of operands',
  },
  sqrt: {
    arity: 1, method: 'sqrt', symbol: '√', call: 'sqrt',
    value: (x) => Math.sqrt(x), d: (x, y) => 0.5 / y, dValue: (x, y, f) => f.div(0.5, y), templates: ['1/(2*y)'],
    mayFail: true, derivativeMayFail: true, doc: '√x (its derivative is infinite at 0)',
  },
  abs: {
    arity: 1, method: 'abs', symbol: '|x|', call: 'abs',
    value: (x) => Math.abs(x), d: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
    dValue: (x, y, f) => { const v = f.data(x); return v > 0 ? 1 : v < 0 ? -1 : 0; },
    templates: [null],
    mayFail: false, derivativeMayFail: false, doc: '|x|, with abs′(0) = 0',
  },
  softplus: {
    arity: 1, method: 'softplus', symbol: 'softplus', call: 'softplus',
    // max(x, 0) + ln(1 + e^(−|x|)): no overflow; its derivative is σ(x).
    temp: expNegAbs,
    value: (x, e) => Math.max(x, 0) + Math.log1p(e),
    d: (x, y, e) => sigmoidOf(x, e),
    dValue: (x, y, f) => f.sigmoid(x),
    templates: ['sigmoid(x)'],
    mayFail: false, derivativeMayFail: false, doc: 'ln(1 + eˣ)',
  },
  logsigmoid: {
    arity: 1, method: 'logsigmoid', symbol: 'logσ', call: 'logsigmoid',
    // min(x, 0) − ln(1 + e^(−|x|)); its derivative is σ(−x).
    temp: expNegAbs,
    value: (x, e) => Math.min(x, 0) - Math.log1p(e),
    d: (x, y, e) => (x >= 0 ? e / (1 + e) : 1 / (1 + e)),
    dValue: (x, y, f) => f.sigmoid(f.neg(x)),
    templates: ['1 - exp(y)'],
    mayFail: false, derivativeMayFail: false, doc: 'ln σ(x)',
  },
  sin: {
    arity: 1, method: 'sin', symbol: 'sin', call: 'sin',
    value: (x) => Math.sin(x), d: (x) => Math.cos(x), dValue: (x, y, f) => f.cos(x), templates: ['cos(x)'],
    mayFail: false, derivativeMayFail: false, doc: 'sin x',
  },
  cos: {
    arity: 1, method: 'cos', symbol: 'cos', call: 'cos',
    value: (x) => Math.cos(x), d: (x) => -Math.sin(x), dValue: (x, y, f) => f.neg(f.sin(x)), templates: ['-sin(x)'],
    mayFail: false, derivativeMayFail: false, doc: 'cos x',
  },
  tan: {
    arity: 1, method: 'tan', symbol: 'tan', call: 'tan',
    // 1 + tan²x rather than 1/cos²x: cos x rounds to a few ulps near the poles, tan x keeps its digits.
    value: (x) => Math.tan(x), d: (x, y) => 1 + y * y, dValue: (x, y, f) => f.add(f.mul(y, y), 1), templates: ['1 + y^2'],
    mayFail: false, derivativeMayFail: true, doc: 'tan x',
  },
  atan: {
    arity: 1, method: 'atan', symbol: 'atan', call: 'atan',
    // 1/(1 + x²), written with r = 1/x past |x| = 1 (r²/(1 + r²)) so that x² cannot overflow to ∞
    // and give 0 where the derivative is still a normal number.
    value: (x) => Math.atan(x),
    d: (x) => {
      if (x > 1 || x < -1) {
        const r = 1 / x;
        return (r * r) / (1 + r * r);
      }
      return 1 / (1 + x * x);
    },
    // The same two forms (one smooth function, so the branch changes no derivative).
    dValue: (x, y, f) => {
      const v = f.data(x);
      if (v > 1 || v < -1) {
        const r = f.div(1, x), rr = f.mul(r, r);
        return f.div(rr, f.add(rr, 1));
      }
      return f.div(1, f.add(f.mul(x, x), 1));
    },
    templates: ['1/(1 + x^2)'],
    mayFail: false, derivativeMayFail: false, doc: 'arctan x',
  },
  max: {
    arity: 2, method: 'max', symbol: 'max', call: 'max', operator: null, ordered: false,
    // At a tie each operand gets half, so that max(x, x) has ∂/∂x = 1.
    value: (a, b) => Math.max(a, b),
    da: (a, b) => (a > b ? 1 : a < b ? 0 : 0.5),
    db: (a, b) => (b > a ? 1 : b < a ? 0 : 0.5),
    daValue: (a, b, y, f) => { const u = f.data(a), v = f.data(b); return u > v ? 1 : u < v ? 0 : 0.5; },
    dbValue: (a, b, y, f) => { const u = f.data(a), v = f.data(b); return v > u ? 1 : v < u ? 0 : 0.5; },
    templates: [null, null],
    mayFail: false, derivativeMayFail: false, doc: 'the larger of a and b (at a tie, each gets half the gradient)',
  },
  min: {
    arity: 2, method: 'min', symbol: 'min', call: 'min', operator: null, ordered: false,
    value: (a, b) => Math.min(a, b),
    da: (a, b) => (a < b ? 1 : a > b ? 0 : 0.5),
    db: (a, b) => (b < a ? 1 : b > a ? 0 : 0.5),
    daValue: (a, b, y, f) => { const u = f.data(a), v = f.data(b); return u < v ? 1 : u > v ? 0 : 0.5; },
    dbValue: (a, b, y, f) => { const u = f.data(a), v = f.data(b); return v < u ? 1 : v > u ? 0 : 0.5; },
    templates: [null, null],
    mayFail: false, derivativeMayFail: false, doc: 'the smaller of a and b (at a tie, each gets half the gradient)',
  },
} as const satisfies Record<string, OpDefinition>;

/** The `op` names a node can carry (`""` for a leaf). */
export type OpName = '' | keyof typeof OPS;
export type UnaryOpName = { [K in keyof typeof OPS]: (typeof OPS)[K]['arity'] extends 1 ? K : never }[keyof typeof OPS];
export type BinaryOpName = { [K in keyof typeof OPS]: (typeof OPS)[K]['arity'] extends 2 ? K : never }[keyof typeof OPS];

/** Every op name except the leaf's, in table order (op codes index this list, from 1). */
export const OP_NAMES = Object.freeze(Object.keys(OPS)) as readonly Exclude<OpName, ''>[];

/** The ops of one arity, in table order. */
export const UNARY_OPS = Object.freeze(OP_NAMES.filter((n) => OPS[n].arity === 1)) as readonly UnaryOpName[];
export const BINARY_OPS = Object.freeze(OP_NAMES.filter((n) => OPS[n].arity === 2)) as readonly BinaryOpName[];

/** The definition of op `name`. */
export function opDefinition(name: Exclude<OpName, ''>): OpDefinition {
  return OPS[name];
}

/** Op codes by name: an op's place in the table, from 1 (a node stores it; 0 is a leaf). */
export function opCodes(): Readonly<Record<Exclude<OpName, ''>, number>> {
  return Object.freeze(Object.fromEntries(OP_NAMES.map((name, k) => [name, k + 1]))) as Readonly<Record<Exclude<OpName, ''>, number>>;
}
