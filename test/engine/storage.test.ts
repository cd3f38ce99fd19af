import { describe, expect, it } from 'vitest';
import { Value } from '../../src/engine/value.js';
import { LAYOUT } from '../../src/engine/storage.js';

// The paths every node takes write the layout's numbers out as literals (V8 budgets inlining by
// bytecode): these tests read nodes back through LAYOUT's names, so a layout changed without them fails.
describe('the node layout', () => {
  const word = (v: Value, w: number): number => v._n[(v._s & LAYOUT.SLOT) * LAYOUT.WORDS + w]!;

  it('has the numbers the constructor, the accessors and `at` write out', () => {
    expect({ SLOT: LAYOUT.SLOT, WORDS: LAYOUT.WORDS, DATA: LAYOUT.DATA, GRAD: LAYOUT.GRAD, SINCE: LAYOUT.SINCE, LEAF: LAYOUT.LEAF })
      .toEqual({ SLOT: 1023, WORDS: 5, DATA: 0, GRAD: 1, SINCE: 4, LEAF: 0 });
  });

  it('data and grad read and write the words LAYOUT names', () => {
    const x = new Value(0.25);
    x._n[(x._s & LAYOUT.SLOT) * LAYOUT.WORDS + LAYOUT.GRAD] = 7;
    expect([x.data, x.grad]).toEqual([0.25, 7]);
    x.data = -3;
    x.grad = 0.5;
    expect([word(x, LAYOUT.DATA), word(x, LAYOUT.GRAD)]).toEqual([-3, 0.5]);
  });

  it('a leaf, a node on two Values and one on a number sit where LAYOUT says, in a chunk of CHUNK nodes', () => {
    const x = new Value(1.5), y = new Value(-2);
    const p = x.mul(y), q = x.add(3);
    expect([word(x, LAYOUT.DATA), word(x, LAYOUT.SINCE)]).toEqual([1.5, Infinity]);
    expect([word(p, LAYOUT.DATA), word(p, LAYOUT.D0), word(p, LAYOUT.D1)]).toEqual([-3, -2, 1.5]);
    expect([word(q, LAYOUT.DATA), word(q, LAYOUT.D0), word(q, LAYOUT.D1)]).toEqual([4.5, 1, 3]);
    expect(p._n.length).toBe(LAYOUT.CHUNK * LAYOUT.WORDS);
    p.backward();
    expect([word(x, LAYOUT.GRAD), word(y, LAYOUT.GRAD)]).toEqual([-2, 1.5]);
  });
});
