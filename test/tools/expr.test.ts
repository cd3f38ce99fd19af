import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NonFiniteError, OP_NAMES, Value, topologicalOrder } from '../../src/engine/value.js';
import {
  ExpressionError, FUNCTION_ARITY, FUNCTION_NAMES, MAX_NESTING, OPERATOR_OPS,
  buildGraph, formatExpression, freeVariables, parseExpression,
} from '../../src/tools/expr.js';
import type { Bindings, Expression, ExpressionErrorCode, FunctionName, Program, SourceSpan } from '../../src/tools/expr.js';

// ---------------------------------------------------------------------------------------------
// Helpers written independently of the code under test.

/** Fully parenthesised prefix form of an expression: the tree shape, nothing else. */
function shape(e: Expression): string {
  switch (e.kind) {
    case 'number': return String(e.value);
    case 'identifier': return e.name;
    case 'unary': return `(neg ${shape(e.operand)})`;
    case 'binary': return `(${e.operator} ${shape(e.left)} ${shape(e.right)})`;
    case 'call': return `(${e.callee}${e.args.map((a) => ' ' + shape(a)).join('')})`;
  }
}

const shapeOf = (src: string): string => shape(parseExpression(src).output);
const valueOf = (src: string, bindings: Bindings = {}): number => buildGraph(src, bindings).output.data;

/** The AST without source positions, for comparing two parses of different texts. */
function strip(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(strip);
  if (x !== null && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      if (k === 'span' || k === 'operatorSpan' || k === 'calleeSpan' || k === 'nameSpan' || k === 'source') continue;
      out[k] = strip(v);
    }
    return out;
  }
  return x;
}

function errorOf(run: () => unknown): ExpressionError {
  try {
    run();
  } catch (e) {
    if (e instanceof ExpressionError) return e;
    throw e;
  }
  throw new Error('expected an ExpressionError, but nothing was thrown');
}

const sigma = (t: number): number => 1 / (1 + Math.exp(-t));

// ---------------------------------------------------------------------------------------------

describe('the function table follows the engine', () => {
  it('every engine op is reachable as a function or an operator, and nothing else is', () => {
    const reachable = new Set<string>([...FUNCTION_NAMES, ...Object.values(OPERATOR_OPS)]);
    expect([...reachable].sort()).toEqual([...OP_NAMES].sort());
  });

  it('each function call builds a node with that op, taking its declared number of arguments', () => {
    for (const name of FUNCTION_NAMES) {
      const { min } = FUNCTION_ARITY[name];
      const args = ['x', 'y', 'z'].slice(0, min);
      const g = buildGraph(`${name}(${args.join(', ')})`, { x: 0.7, y: 1.3, z: 2 });
      expect(g.output.op, name).toBe(name);
      expect(g.output.inputs, name).toEqual(args.map((a) => g.variables.get(a)));
    }
  });

  it('each operator builds its op', () => {
    const cases: [string, string][] = [['x + y', '+'], ['x - y', '-'], ['x * y', '*'], ['x / y', '/'], ['x ^ y', 'pow'], ['-x', 'neg']];
    for (const [src, op] of cases) expect(buildGraph(src, { x: 0.7, y: 1.3 }).output.op, src).toBe(op);
    expect(OPERATOR_OPS['^']).toBe('pow');
    expect(OPERATOR_OPS['unary -']).toBe('neg');
  });
});

describe('precedence and associativity', () => {
  it('* binds tighter than +', () => {
    expect(shapeOf('1+2*3')).toBe('(+ 1 (* 2 3))');
    expect(valueOf('1+2*3')).toBe(7);
    expect(shapeOf('(1+2)*3')).toBe('(* (+ 1 2) 3)');
  });

  it('^ binds tighter than unary minus: -x^2 is -(x^2)', () => {
    expect(shapeOf('-x^2')).toBe('(neg (^ x 2))');
    const g = buildGraph('-x^2', { x: 3 });
    expect(g.output.data).toBe(-9);
    expect(g.output.op).toBe('neg');
    // x^2 is x.pow(2): the exponent is a constant operand, not a leaf of the graph.
    const power = g.output.inputs[0]!;
    expect(power.op).toBe('pow');
    expect(power.inputs[0]).toBe(g.variables.get('x'));
    expect(power.inputs[1]!.isConstant).toBe(true);
    expect(power.inputs[1]!.data).toBe(2);
    expect(power.localGradients[1]).toBeNull();
  });

  it('^ is right-associative: 2^3^2 = 512', () => {
    expect(shapeOf('2^3^2')).toBe('(^ 2 (^ 3 2))');
    expect(valueOf('2^3^2')).toBe(512);
    expect(valueOf('(2^3)^2')).toBe(64);
  });

  it('-2^2 = -4, and (-x)^2 squares a negative base with gradient 2x', () => {
    expect(valueOf('-2^2')).toBe(-4);
    expect(valueOf('(-2)^2')).toBe(4);
    const g = buildGraph('(-x)^2', { x: -2 });
    expect(g.output.data).toBe(4);
    g.output.backward();
    expect(g.variables.get('x')!.grad).toBeCloseTo(-4, 12);
    // a negative base with a literal exponent works directly too
    const h = buildGraph('x^2', { x: -2 });
    h.output.backward();
    expect(h.output.data).toBe(4);
    expect(h.variables.get('x')!.grad).toBeCloseTo(-4, 12);
  });

  it('an exponent may be negated: 2^-x is 2^(-x)', () => {
    expect(shapeOf('2^-x')).toBe('(^ 2 (neg x))');
    expect(valueOf('2^-x', { x: 3 })).toBeCloseTo(0.125, 15);
    expect(shapeOf('2^-x^2')).toBe('(^ 2 (neg (^ x 2)))');
  });

  it('- and / are left-associative', () => {
    expect(shapeOf('a-b-c')).toBe('(- (- a b) c)');
    expect(valueOf('a-b-c', { a: 10, b: 3, c: 2 })).toBe(5);
    expect(shapeOf('a/b/c')).toBe('(/ (/ a b) c)');
    expect(valueOf('a/b/c', { a: 12, b: 3, c: 2 })).toBe(2);
    expect(shapeOf('a-b+c')).toBe('(+ (- a b) c)');
    expect(shapeOf('a/b*c')).toBe('(* (/ a b) c)');
  });

  it('unary minus chains', () => {
    expect(shapeOf('--x')).toBe('(neg (neg x))');
    expect(shapeOf('- - -x')).toBe('(neg (neg (neg x)))');
    expect(valueOf('--x', { x: 5 })).toBe(5);
    expect(valueOf('---x', { x: 5 })).toBe(-5);
    expect(shapeOf('a - -b')).toBe('(- a (neg b))');
    expect(shapeOf('-a * -b')).toBe('(* (neg a) (neg b))');
    const g = buildGraph('-x * -y', { x: 2, y: 3 });
    expect(g.output.data).toBe(6);
    g.output.backward();
    expect(g.variables.get('x')!.grad).toBe(3);
    expect(g.variables.get('y')!.grad).toBe(2);
  });

  it('function calls take full expressions as arguments', () => {
    expect(shapeOf('pow(x + 1, 2) * exp(-y)')).toBe('(* (pow (+ x 1) 2) (exp (neg y)))');
  });
});

describe('numbers', () => {
  it('reads the usual forms', () => {
    const cases: [string, number][] = [['3', 3], ['.5', 0.5], ['1e-3', 0.001], ['2.5E+2', 250], ['3.', 3], ['0.125e1', 1.25], ['007', 7]];
    for (const [src, x] of cases) {
      const p = parseExpression(src);
      expect(p.output, src).toMatchObject({ kind: 'number', value: x });
    }
  });

  it('a number is never a variable leaf: number-only parts fold, the rest use constant operands', () => {
    const g = buildGraph('2*3*x + (3 - x) + sum(x, 1)', { x: 4 });
    expect(g.output.data).toBe(24 - 1 + 5);
    for (const v of topologicalOrder(g.output)) {
      if (v.isLeaf) expect(v.isConstant || v === g.variables.get('x')).toBe(true);
    }
    // 2*3 folds to 6, which enters as the constant first operand of *
    const times = buildGraph('2*3*x', { x: 4 }).output;
    expect(times.op).toBe('*');
    expect(times.inputs[0]!.isConstant).toBe(true);
    expect(times.inputs[0]!.data).toBe(6);
    // 3 - x is the engine's constant-first form sub(3, x)
    const minus = buildGraph('3 - x', { x: 4 }).output;
    expect(minus.op).toBe('-');
    expect(minus.inputs[0]!.isConstant).toBe(true);
    expect(minus.localGradients).toEqual([null, -1]);
  });

  it('a number-only program gives a constant leaf', () => {
    const g = buildGraph('-2^2 + log(1) + sum(1, 2, 3)');
    expect(g.output.data).toBe(2);
    expect(g.output.isConstant).toBe(true);
    expect(g.variables.size).toBe(0);
  });

  it('a named number is a constant leaf carrying its name', () => {
    const g = buildGraph('c = 2*3; c*x', { x: 2 });
    const c = g.intermediates.get('c')!;
    expect(c.isConstant).toBe(true);
    expect(c.label).toBe('c');
    expect(c.data).toBe(6);
    expect(g.output.inputs).toEqual([c, g.variables.get('x')]);
    expect(g.output.data).toBe(12);
  });
});

describe('statements and names', () => {
  const model = 'h = sigmoid(w1*x + b1); y = sigmoid(w2*h + b2); (y - a)^2';
  const at = { w1: 0.7, x: 1.3, b1: -0.4, w2: -1.1, b2: 0.25, a: 0.9 };

  it("builds the learner's model with the hand-derived gradients", () => {
    const g = buildGraph(model, at);
    const h = sigma(at.w1 * at.x + at.b1);
    const y = sigma(at.w2 * h + at.b2);
    expect(g.output.data).toBeCloseTo((y - at.a) ** 2, 14);
    g.output.backward();
    const d2 = 2 * (y - at.a) * y * (1 - y);
    const grad = (n: string): number => g.variables.get(n)!.grad;
    expect(grad('w2')).toBeCloseTo(d2 * h, 14);
    expect(grad('b2')).toBeCloseTo(d2, 14);
    expect(grad('w1')).toBeCloseTo(d2 * at.w2 * h * (1 - h) * at.x, 14);
    expect(grad('b1')).toBeCloseTo(d2 * at.w2 * h * (1 - h), 14);
    expect(grad('x')).toBeCloseTo(d2 * at.w2 * h * (1 - h) * at.w1, 14);
    expect(grad('a')).toBeCloseTo(-2 * (y - at.a), 14);
  });

  it('labels intermediates and variables with their names', () => {
    const g = buildGraph(model, at);
    expect([...g.variables.keys()]).toEqual(['w1', 'x', 'b1', 'w2', 'b2', 'a']);
    expect([...g.intermediates.keys()]).toEqual(['h', 'y']);
    for (const [name, v] of g.names) expect(v.label, name).toBe(name);
    expect(g.intermediates.get('h')!.op).toBe('sigmoid');
    expect(g.intermediates.get('y')!.data).toBeCloseTo(sigma(at.w2 * g.intermediates.get('h')!.data + at.b2), 15);
    // The output is made from the named nodes themselves.
    expect(topologicalOrder(g.output)).toContain(g.intermediates.get('h'));
    expect(g.output.label).toBe('');
  });

  it('lists the free variables in order of first use', () => {
    expect(freeVariables(parseExpression(model))).toEqual(['w1', 'x', 'b1', 'w2', 'b2', 'a']);
    expect(freeVariables(parseExpression('t = q*q; t + p + q'))).toEqual(['q', 'p']);
    expect(freeVariables(parseExpression('2 + 3'))).toEqual([]);
  });

  it('newlines separate statements; inside parentheses and after an operator they do not', () => {
    const src = '# a two-layer model\r\nh = sigmoid(w1*x +\n  b1)\n\ny = sigmoid(\n  w2*h + b2\n)  # output layer\n(y - a)^2\n';
    expect(strip(parseExpression(src))).toEqual(strip(parseExpression(model)));
    expect(valueOf('x +\n y', { x: 1, y: 2 })).toBe(3);
    expect(valueOf(';; x = 2;; x * 3 ;\n', {})).toBe(6);
  });

  it('an alias shares the Value and keeps its label', () => {
    const g = buildGraph('h = x; h * 2', { x: 3 });
    expect(g.intermediates.get('h')).toBe(g.variables.get('x'));
    expect(g.variables.get('x')!.label).toBe('x');
    expect(g.output.data).toBe(6);
  });

  it('sum(a, b, c) is one n-ary node', () => {
    const g = buildGraph('sum(a, b, c)', { a: 1, b: 2, c: 4 });
    expect(g.output.op).toBe('sum');
    expect(g.output.inputs).toEqual(['a', 'b', 'c'].map((n) => g.variables.get(n)));
    expect(g.output.data).toBe(7);
    expect(topologicalOrder(g.output)).toHaveLength(4);
  });
});

describe('bindings', () => {
  it('a Value binding is used as is, so gradients land on it', () => {
    const w = new Value(2, 'weight');
    const g = buildGraph('w*w + x', { w, x: 1 });
    expect(g.variables.get('w')).toBe(w);
    expect(w.label).toBe('weight');
    g.output.backward();
    expect(w.grad).toBe(4);
  });

  it('a number binding becomes a new leaf labelled with its name', () => {
    const g = buildGraph('x + 1', new Map([['x', 5]]));
    const x = g.variables.get('x')!;
    expect(x.isLeaf && !x.isConstant).toBe(true);
    expect(x.label).toBe('x');
    expect(x.data).toBe(5);
  });

  it('reports unused bindings and accepts a parsed program', () => {
    const p = parseExpression('x * 2');
    const g = buildGraph(p, { x: 1, y: 2, exp: 3 });
    expect(g.unusedBindings).toEqual(['y', 'exp']);
    expect(buildGraph(p, { x: 4 }).output.data).toBe(8);
  });

  it('rejects bindings that are not finite numbers or Values', () => {
    expect(() => buildGraph('x', { x: Number.NaN })).toThrow(RangeError);
    expect(() => buildGraph('x', { x: Number.POSITIVE_INFINITY })).toThrow(/'x'.*finite/);
    expect(() => buildGraph('x', { x: '3' } as unknown as Bindings)).toThrow(TypeError);
  });
});

describe('errors', () => {
  const cases: { src: string; bindings?: Bindings; code: ExpressionErrorCode; line: number; column: number; text?: RegExp }[] = [
    { src: 'a = 1\nb = a $ 2\nb', code: 'unexpected-character', line: 2, column: 7, text: /'\$'/ },
    { src: 'x + ☃', code: 'unexpected-character', line: 1, column: 5, text: /U\+2603/ },
    { src: 'x + 2y', code: 'malformed-number', line: 1, column: 5, text: /2\*y/ },
    { src: 'x * 1e', code: 'malformed-number', line: 1, column: 5 },
    { src: '1e999 * x', code: 'number-out-of-range', line: 1, column: 1 },
    { src: 'x = 1\nh = (x + 1\n', code: 'unclosed-parenthesis', line: 2, column: 5 },
    { src: 'h = exp(x;\nh', code: 'unclosed-parenthesis', line: 1, column: 8 },
    { src: 'x + 1)', code: 'unmatched-parenthesis', line: 1, column: 6 },
    { src: 'y = 2\n  (y))', code: 'unmatched-parenthesis', line: 2, column: 6 },
    { src: 'x + )', code: 'unmatched-parenthesis', line: 1, column: 5 },
    { src: 'y = 2\nsigmod(y)', code: 'unknown-function', line: 2, column: 1, text: /did you mean 'sigmoid'/ },
    { src: 'x * ln(x)', code: 'unknown-function', line: 1, column: 5, text: /did you mean 'log'/ },
    { src: 'tahn(x)', code: 'unknown-function', line: 1, column: 1, text: /did you mean 'tanh'/ },
    { src: 'ReLU(x)', code: 'unknown-function', line: 1, column: 1, text: /did you mean 'relu'/ },
    { src: 'foo(x)', code: 'unknown-function', line: 1, column: 1, text: /exp, log/ },
    { src: 'pow(x)', code: 'wrong-arity', line: 1, column: 1, text: /pow takes 2 arguments, got 1/ },
    { src: 'x + tanh(x, x)', code: 'wrong-arity', line: 1, column: 5, text: /tanh takes 1 argument, got 2/ },
    { src: 'sum()', code: 'wrong-arity', line: 1, column: 1, text: /at least 1 argument, got 0/ },
    { src: 'a*x + b*y', bindings: { x: 1 }, code: 'unbound-variable', line: 1, column: 1, text: /'a', 'b', 'y'/ },
    { src: 'h = 2*x\nh + q', code: 'unbound-variable', line: 1, column: 7, text: /variables 'x', 'q'/ },
    { src: 'w1 * 2', bindings: { w_1: 1 }, code: 'unbound-variable', line: 1, column: 1, text: /did you mean 'w_1'/ },
    { src: 'h = x\nh = 2\nh', bindings: { x: 1 }, code: 'duplicate-assignment', line: 2, column: 1, text: /line 1, column 1/ },
    { src: 'h = x; h', bindings: { x: 1, h: 2 }, code: 'assigned-and-bound', line: 1, column: 1 },
    { src: 'y = h * 2\nh = x\ny', code: 'used-before-assignment', line: 1, column: 5, text: /line 2, column 1/ },
    { src: 'h = h + 1; h', code: 'used-before-assignment', line: 1, column: 5, text: /its own definition/ },
    { src: '', code: 'empty-input', line: 1, column: 1 },
    { src: '  \n # nothing\n;', code: 'empty-input', line: 1, column: 1 },
    { src: 'x y', code: 'trailing-input', line: 1, column: 3 },
    { src: 'a = 1\nexp(a) 2', code: 'trailing-input', line: 2, column: 8 },
    { src: 'h = x; y = h', code: 'missing-output', line: 1, column: 8 },
    { src: 'x + 1; y', code: 'unused-expression', line: 1, column: 1 },
    { src: 'a\n- b', code: 'unused-expression', line: 1, column: 1, text: /next line/ },
    { src: 'exp = 2; exp', code: 'reserved-name', line: 1, column: 1 },
    { src: 'x * relu', code: 'reserved-name', line: 1, column: 5, text: /relu\(\.\.\.\)/ },
    { src: 'x + 1 = 2', code: 'invalid-assignment', line: 1, column: 7 },
    { src: 'x + * y', code: 'unexpected-token', line: 1, column: 5 },
    { src: 'x ** 2', code: 'unexpected-token', line: 1, column: 4, text: /x\^2/ },
    { src: 'x +', code: 'unexpected-token', line: 1, column: 4, text: /end of the input/ },
    { src: 'pow(x 2)', code: 'unexpected-token', line: 1, column: 7, text: /',' or '\)'/ },
    { src: '(h = 2)', code: 'unexpected-token', line: 1, column: 4 },
    { src: 'h = x - 1\nlog(h)', bindings: { x: 1 }, code: 'numeric', line: 2, column: 1, text: /log/ },
    { src: '2 * (1/0)', code: 'numeric', line: 1, column: 7 },
    { src: 'x^y', bindings: { x: -1, y: 0.5 }, code: 'numeric', line: 1, column: 2, text: /negative base/ },
  ];

  for (const c of cases) {
    it(`${c.code}: ${JSON.stringify(c.src)}`, () => {
      const e = errorOf(() => buildGraph(c.src, c.bindings ?? {}));
      expect(e).toBeInstanceOf(Error);
      expect({ code: e.code, line: e.line, column: e.column }).toEqual({ code: c.code, line: c.line, column: c.column });
      if (c.text) expect(e.reason).toMatch(c.text);
      // The message carries the position and the caret excerpt.
      expect(e.message.startsWith(`line ${c.line}, column ${c.column}: ${e.reason}\n`)).toBe(true);
      expect(e.message.endsWith(e.excerpt)).toBe(true);
    });
  }

  it('formats the excerpt with the source line and a caret under the position', () => {
    const e = errorOf(() => parseExpression('y = 2\nsigmod(y)'));
    expect(e.message).toBe("line 2, column 1: unknown function 'sigmod'; did you mean 'sigmoid'?\n  2 | sigmod(y)\n    | ^");
    const f = errorOf(() => parseExpression('x +\t$'));
    expect(f.excerpt).toBe('  1 | x + $\n    |     ^');
  });

  it('keeps the excerpt of a long line short, with the caret still under the culprit', () => {
    const src = Array.from({ length: 200 }, (_, k) => `x${k}`).join(' + ') + ' $ ' + ' + y'.repeat(100);
    const e = errorOf(() => parseExpression(src));
    expect(e.code).toBe('unexpected-character');
    const [text, caret] = e.excerpt.split('\n') as [string, string];
    expect(text.length).toBeLessThan(120);
    expect(text[caret.indexOf('^')]).toBe('$');
  });

  it('names every unbound variable at once and none that is bound', () => {
    const e = errorOf(() => buildGraph('h = sigmoid(w1*x + b1); y = sigmoid(w2*h + b2); (y - a)^2', { x: 1, a: 0 }));
    expect(e.code).toBe('unbound-variable');
    for (const n of ['w1', 'b1', 'w2', 'b2']) expect(e.reason).toContain(`'${n}'`);
    expect(e.reason).not.toMatch(/'x'|'a'|'h'|'y'/);
  });

  it("a numeric error carries the engine's error and message", () => {
    const e = errorOf(() => buildGraph('1 + log(x)', { x: 0 }));
    expect(e.code).toBe('numeric');
    expect(e.column).toBe(5);
    expect(e.cause).toBeInstanceOf(NonFiniteError);
    expect(e.reason).toBe((e.cause as NonFiniteError).message);
  });

  it('bounds the nesting depth instead of overflowing the stack', () => {
    const nested = (n: number): Record<string, string> => ({
      parens: '('.repeat(n - 1) + 'x' + ')'.repeat(n - 1),
      negations: '-'.repeat(n - 1) + 'x',
      powers: Array(n).fill('x').join('^'),
      calls: 'tanh('.repeat(n - 1) + 'x' + ')'.repeat(n - 1),
    });
    for (const [kind, src] of Object.entries(nested(MAX_NESTING))) {
      const g = buildGraph(src, { x: 1 });
      expect(Number.isFinite(g.output.data), kind).toBe(true);
      expect(strip(parseExpression(formatExpression(parseExpression(src)))), kind).toEqual(strip(parseExpression(src)));
    }
    for (const [kind, src] of Object.entries(nested(MAX_NESTING + 1))) {
      expect(errorOf(() => parseExpression(src)).code, kind).toBe('too-deep');
    }
    expect(errorOf(() => parseExpression('('.repeat(100_000))).code).toBe('too-deep');
  });

  it('parses, builds, differentiates and prints a flat sum of 10⁵ terms (chains do not nest)', () => {
    // 10⁵ rather than 10⁴: a recursive walk may survive 10⁴ frames on Node's default stack.
    const n = 100_000;
    const src = Array.from({ length: n }, (_, k) => `x*${k + 1}`).join(' + ');
    const program = parseExpression(src);
    // Still a left-deep chain of binary '+', not a sum node: the AST shape is unchanged.
    expect(program.output.kind).toBe('binary');
    expect((program.output as { operator: string }).operator).toBe('+');
    const g = buildGraph(program, { x: 2 });
    g.output.backward();
    // Oracle: Σ k·x = x·n(n+1)/2, so d/dx = n(n+1)/2 exactly (integers well below 2^53).
    expect(g.output.data).toBe(2 * (n * (n + 1)) / 2);
    expect(g.variables.get('x')!.grad).toBe((n * (n + 1)) / 2);
    const printed = formatExpression(program);
    expect(printed).toBe(Array.from({ length: n }, (_, k) => `x * ${k + 1}`).join(' + '));
    expect(formatExpression(parseExpression(printed))).toBe(printed);
    // Mixed chains, products and differences, also past the old limit of 1,000.
    const mixed = Array.from({ length: 3000 }, (_, k) => (k % 2 ? `- x/${k}` : `+ ${k}*x*x`)).join(' ').slice(2);
    expect(freeVariables(parseExpression(mixed))).toEqual(['x']);
    expect(Number.isFinite(buildGraph(mixed, { x: 0.5 }).output.data)).toBe(true);
  }, 60_000);

  it('reads the minus sign U+2212 as a minus, in exponents too', () => {
    expect(buildGraph('\u22123 * x', { x: 2 }).output.data).toBe(-6);
    expect(buildGraph('x \u2212 4.3e\u221219', { x: 1 }).output.data).toBe(1 - 4.3e-19);
    expect(buildGraph('2^\u2212x', { x: 1 }).output.data).toBe(0.5);
    expect(strip(parseExpression('a \u2212 b'))).toEqual(strip(parseExpression('a - b')));
    // The column counts the minus sign as one character: the caret is under the ')'.
    expect(errorOf(() => parseExpression('\u2212x + )')).column).toBe(6);
  });
});

// ---------------------------------------------------------------------------------------------
// Printing.

const NOWHERE: SourceSpan = { start: 0, end: 0, line: 1, column: 1 };
const VARIABLES = ['x', 'y', 'w1', '_b', 'Abc'];

function exprArbitrary(names: readonly string[]): fc.Arbitrary<Expression> {
  const number = fc.oneof(
    fc.nat({ max: 20 }),
    fc.double({ min: 0, max: 1e300, noNaN: true }).map(Math.abs),
    fc.constantFrom(0.5, 1e-7, 1e21, 5e-324, 123.456),
  ).map((value): Expression => ({ kind: 'number', value, span: NOWHERE }));
  const name = fc.constantFrom(...names).map((n): Expression => ({ kind: 'identifier', name: n, span: NOWHERE }));
  const { expr } = fc.letrec<{ expr: Expression }>((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      number,
      name,
      tie('expr').map((operand): Expression => ({ kind: 'unary', operator: '-', operand, span: NOWHERE })),
      fc.tuple(fc.constantFrom('+', '-', '*', '/', '^' as const), tie('expr'), tie('expr')).map(([operator, left, right]): Expression =>
        ({ kind: 'binary', operator, left, right, span: NOWHERE, operatorSpan: NOWHERE })),
      fc.constantFrom(...FUNCTION_NAMES).chain((callee: FunctionName) => {
        const { min, max } = FUNCTION_ARITY[callee];
        return fc.array(tie('expr'), { minLength: min, maxLength: Math.min(max, min + 3) })
          .map((args): Expression => ({ kind: 'call', callee, args, span: NOWHERE, calleeSpan: NOWHERE }));
      }),
    ),
  }));
  return expr;
}

const programArbitrary: fc.Arbitrary<Program> = fc.integer({ min: 0, max: 3 }).chain((k) => {
  const temps = Array.from({ length: k }, (_, j) => `t${j}`);
  // Each assignment may use the variables and the names assigned before it.
  const values = temps.map((_, j) => exprArbitrary([...VARIABLES, ...temps.slice(0, j)]));
  return fc.tuple(fc.tuple(...values), exprArbitrary([...VARIABLES, ...temps])).map(([vals, output]): Program => ({
    kind: 'program',
    assignments: vals.map((value, j) => ({ kind: 'assignment', name: temps[j]!, nameSpan: NOWHERE, value, span: NOWHERE })),
    output,
    source: '',
  }));
});

/** An independent evaluator of the AST (plain Math), to check that printing keeps the meaning. */
function evaluate(e: Expression, env: Readonly<Record<string, number>>): number {
  const f = (x: Expression): number => evaluate(x, env);
  switch (e.kind) {
    case 'number': return e.value;
    case 'identifier': return env[e.name]!;
    case 'unary': return -f(e.operand);
    case 'binary': {
      const a = f(e.left), b = f(e.right);
      return e.operator === '+' ? a + b : e.operator === '-' ? a - b : e.operator === '*' ? a * b : e.operator === '/' ? a / b : a ** b;
    }
    case 'call': {
      const [a = 0, b = 0] = e.args.map(f);
      switch (e.callee) {
        case 'pow': return a ** b;
        case 'exp': return Math.exp(a);
        case 'log': return Math.log(a);
        case 'tanh': return Math.tanh(a);
        case 'sigmoid': return 1 / (1 + Math.exp(-a));
        case 'relu': return Math.max(a, 0);
        case 'sum': return e.args.map(f).reduce((s, t) => s + t, 0);
        case 'sqrt': return Math.sqrt(a);
        case 'abs': return Math.abs(a);
        case 'softplus': return Math.log(1 + Math.exp(a));
        case 'logsigmoid': return -Math.log(1 + Math.exp(-a));
        case 'sin': return Math.sin(a);
        case 'cos': return Math.cos(a);
        case 'tan': return Math.tan(a);
        case 'atan': return Math.atan(a);
        case 'max': return Math.max(a, b);
        case 'min': return Math.min(a, b);
      }
    }
  }
}

describe('formatExpression', () => {
  it('prints with the fewest parentheses', () => {
    const cases: [string, string][] = [
      ['((1)+(2*3))', '1 + 2 * 3'],
      ['(1+2)*3', '(1 + 2) * 3'],
      ['a-(b-c)', 'a - (b - c)'],
      ['(a-b)-c', 'a - b - c'],
      ['a/(b*c)', 'a / (b * c)'],
      ['-(x^2)', '-x^2'],
      ['(-x)^2', '(-x)^2'],
      ['2^(3^2)', '2^3^2'],
      ['(2^3)^2', '(2^3)^2'],
      ['2^(-x)', '2^-x'],
      ['(a*b)^c', '(a * b)^c'],
      ['-(-x)', '--x'],
      ['a - (-b)', 'a - -b'],
      ['exp((x + 1)) * sum(a, (b), c)', 'exp(x + 1) * sum(a, b, c)'],
      ['h = sigmoid(w1*x + b1)\ny = sigmoid(w2*h + b2)\n(y - a)^2', 'h = sigmoid(w1 * x + b1); y = sigmoid(w2 * h + b2); (y - a)^2'],
      ['.5 + 1e-7 + 2.5E+2 + 1e21', '0.5 + 1e-7 + 250 + 1e+21'],
    ];
    for (const [src, printed] of cases) {
      const p = parseExpression(src);
      expect(formatExpression(p), src).toBe(printed);
      expect(strip(parseExpression(printed)), src).toEqual(strip(p));
    }
    expect(formatExpression(parseExpression('a = 1; a')!, { separator: '\n' })).toBe('a = 1\na');
  });

  it('prints a hand-made negative literal so that it keeps its value', () => {
    const three: Expression = { kind: 'number', value: -3, span: NOWHERE };
    const x: Expression = { kind: 'identifier', name: 'x', span: NOWHERE };
    const base: Expression = { kind: 'binary', operator: '^', left: three, right: x, span: NOWHERE, operatorSpan: NOWHERE };
    expect(formatExpression(base)).toBe('(-3)^x');
    expect(() => formatExpression({ kind: 'number', value: Number.NaN, span: NOWHERE })).toThrow(RangeError);
    expect(() => formatExpression({ kind: 'identifier', name: 'exp', span: NOWHERE })).toThrow(RangeError);
  });

  it('round-trips any program the parser can produce (property)', () => {
    fc.assert(fc.property(programArbitrary, (program) => {
      const text = formatExpression(program);
      expect(strip(parseExpression(text))).toEqual(strip(program));
      // printing is idempotent too
      expect(formatExpression(parseExpression(text))).toBe(text);
    }), { numRuns: 400, seed: 20240601 });
  });

  it('printed expressions build to the value an independent evaluator gives (property)', () => {
    const env = { x: 0.8, y: -1.7, w1: 2.5, _b: 0.3, Abc: 1.1 };
    let compared = 0;
    fc.assert(fc.property(exprArbitrary(VARIABLES), (expr) => {
      const expected = evaluate(expr, env);
      let built: number;
      try {
        built = buildGraph(formatExpression(expr), env).output.data;
      } catch (e) {
        if (e instanceof ExpressionError && e.code === 'numeric') return; // the engine rejected a non-finite step
        throw e;
      }
      compared++;
      const scale = Math.max(1, Math.abs(expected));
      expect(Math.abs(built - expected)).toBeLessThanOrEqual(1e-9 * scale);
    }), { numRuns: 400, seed: 7 });
    expect(compared).toBeGreaterThan(200);
  });
});
