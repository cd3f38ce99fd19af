/**
 * hessian() and hvp(): their input forms (gradcheck's), against hand formulas, and their errors;
 * toDot's `background` option, which draws a gradient's forward pass apart.
 */
import { describe, expect, it } from 'vitest';
import { Value, grad, hessian, hvp, toDot, topologicalOrder } from '../../src/index.js';

// f(a, b) = a³·b + e^b: H = [[6ab, 3a²], [3a², e^b]].
const fList = ([a, b]: readonly Value[]): Value => a!.pow(3).mul(b!).add(b!.exp());
const fNamed = ({ a, b }: Readonly<Record<'a' | 'b', Value>>): Value => a.pow(3).mul(b).add(b.exp());

describe('hessian and hvp', () => {
  it('take a list (names x0, x1, …) or named numbers, and give the hand formula', () => {
    const byList = hessian(fList, [2, -0.5]);
    expect(byList.names).toEqual(['x0', 'x1']);
    const expected = [[6 * 2 * -0.5, 12], [12, Math.exp(-0.5)]];
    byList.matrix.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i]![j]!, 14)));
    expect(byList.value).toBeCloseTo(8 * -0.5 + Math.exp(-0.5), 14);
    expect(byList.gradient[0]).toBeCloseTo(3 * 4 * -0.5, 14);
    const byName = hessian(fNamed, { b: -0.5, a: 2 });
    expect(byName.names).toEqual(['b', 'a']);
    expect(byName.matrix[0]![0]).toBeCloseTo(Math.exp(-0.5), 14);
    expect(byName.matrix[1]![0]).toBeCloseTo(12, 14);
    const product = hvp(fNamed, { a: 2, b: -0.5 }, { a: 1, b: 2 }).product;
    expect(product[0]).toBeCloseTo(-6 + 24, 13);
    expect(product[1]).toBeCloseTo(12 + 2 * Math.exp(-0.5), 13);
    expect(hvp(fList, [2, -0.5], [1, 2]).product).toEqual(product);
  });

  it('refuses bad arguments with messages that name the problem', () => {
    expect(() => hessian('f' as unknown as typeof fList, [1])).toThrow(/hessian needs a function of Values/);
    expect(() => hessian(fList, [])).toThrow(/at least one input/);
    expect(() => hessian(fList, [1, NaN])).toThrow(/input x1 must be a finite number, got number NaN/);
    expect(() => hessian((() => 3) as unknown as typeof fList, [1])).toThrow(/f must return a Value, got number 3/);
    expect(() => hvp(fList, [1, 2], [1])).toThrow(/v has 1 entries for 2 inputs/);
    expect(() => hvp(fNamed, { a: 1, b: 2 }, { a: 1 } as Record<'a' | 'b', number>)).toThrow(/no entry for input "b"/);
    expect(() => hvp(fNamed, { a: 1, b: 2 }, { a: 1, b: 2, c: 3 } as Record<'a' | 'b', number>)).toThrow(/v names "c", which is not an input/);
    expect(() => hvp(fList, [1, 2], [1, Infinity])).toThrow(/v's entry for x1 must be a finite number/);
  });
});

describe('toDot: background', () => {
  it('draws the given Values and their operations grey and dashed, the rest as usual', () => {
    const w = new Value(0.5, 'w'), x = new Value(2, 'x');
    const f = w.mul(x).tanh();
    f.label = 'f';
    const forward = topologicalOrder(f);
    const g = grad(f, w, { createGraph: true });
    const dot = toDot(g, { background: forward });
    expect(dot).toMatch(/\{ w \| data 0\.5 \| grad 0 \}/);
    const dashed = dot.split('\n').filter((l) => l.includes('style="filled,dashed"'));
    // w, x, and w·x with its ×: the forward nodes the gradient's graph uses.
    expect(dashed).toHaveLength(4);
    expect(dashed.filter((l) => /label="\{ [wx] \|/.test(l))).toHaveLength(2);
    expect(dot).toContain('grey dashed: the forward pass');
    expect(toDot(g)).not.toContain('dashed');
    expect(() => toDot(g, { background: 3 as unknown as Value[] })).toThrow(/background must be an iterable of Values, got number 3/);
    expect(() => toDot(g, { background: [w, 'x' as unknown as Value] })).toThrow(/background holds string "x", not a Value/);
  });
});
