// backward.ts's machinery, beyond what value.test.ts checks through the API: the ring of places
// that must grow while holding nodes met but not yet visited, and stay exact.
import { describe, expect, it } from 'vitest';
import { Value } from '../../src/index.js';
import { backwardOrder } from '../../src/engine/backward.js';
import { centralDifference, expectClose } from '../oracles.js';

/**
 * e_k = k·x made first; then unrelated nodes, so the e_k sit thousands of places beyond the adds that
 * use them; the adds then reach them one by one, and the ring must grow past 1,024 while the
 * not-yet-visited e_k and their gradients move with it.
 */
function farAhead(): { x: Value; root: Value } {
  const x = new Value(1, 'x');
  const terms: Value[] = [];
  for (let k = 1; k <= 3000; k++) terms.push(x.mul(k));
  let noise = new Value(0.5);
  for (let k = 0; k < 5000; k++) noise = noise.mul(0.5).add(0.25);
  let root = terms[0]!.mul(noise.mul(0).add(1)); // noise enters with derivative 0
  for (let k = 1; k < terms.length; k++) root = root.add(terms[k]!);
  return { x, root };
}

/**
 * As `farAhead`, with 80,000 noise nodes between: the terms lie beyond the window (65,536 places), so
 * the pass lists them and later jumps to them, placing 20,000 of them at once in a ring that must grow.
 */
function beyondWindow(): { x: Value; root: Value } {
  const x = new Value(1, 'x');
  const terms: Value[] = [];
  for (let k = 0; k < 20_000; k++) terms.push(x.mul((k % 5) + 1));
  let noise = new Value(0.5);
  for (let k = 0; k < 40_000; k++) noise = noise.mul(0.5).add(0.25);
  let root = terms[0]!.mul(noise.mul(0).add(1));
  for (let k = 1; k < terms.length; k++) root = root.add(terms[k]!);
  return { x, root };
}

describe('backward over a ring of places', () => {
  it('stays in serial order while the ring grows, without falling back to depth-first order', () => {
    // First in this file: the ring starts at 1,024 entries here, and a pass keeps what it grew to.
    // The gradients would be right either way (the fall-back is exact); the order shows which ran.
    // In serial order every node comes after all the nodes made before it: serials rise along the
    // list. The depth-first fall-back puts e_2 (made second) after the noise nodes (made later).
    const { root } = farAhead();
    const order = backwardOrder(root);
    expect(order.length).toBeGreaterThan(13_000);
    const firstOutOfOrder = order.findIndex((v, k) => k > 0 && v._s <= order[k - 1]!._s);
    expect(firstOutOfOrder).toBe(-1);
  });

  it('stays in serial order when it jumps to nodes beyond its window and the ring grows there', () => {
    // After the test above the ring holds 16,384 places; this jump needs 20,000.
    const { x, root } = beyondWindow();
    const order = backwardOrder(root);
    const firstOutOfOrder = order.findIndex((v, k) => k > 0 && v._s <= order[k - 1]!._s);
    expect(firstOutOfOrder).toBe(-1);
    root.backward();
    expect(x.grad).toBe(60_000); // 20,000 terms, k % 5 + 1 averaging 3
  });

  it('keeps nodes met far ahead when the ring grows (exact integer gradient)', () => {
    const { x, root } = farAhead();
    root.backward();
    expect(x.grad).toBe((3000 * 3001) / 2); // Σk, exact in doubles
  });

  it('gives the same gradients pass after pass as the ring is reused and given back', () => {
    const x = new Value(2, 'x');
    let v = x;
    for (let k = 0; k < 200_000; k++) v = v.mul(1).add(0); // a chain: 4×10⁵ nodes, a ring of a few entries
    v.backward();
    expect(x.grad).toBe(1);
    // A wide graph next (every term met at once): the ring must grow to hold them all.
    const y = new Value(3, 'y');
    const wide = Array.from({ length: 70_000 }, (_, k) => y.mul(k % 7));
    let sum = wide[0]!;
    for (let k = 1; k < wide.length; k++) sum = sum.add(wide[k]!);
    sum.backward();
    expect(y.grad).toBe(wide.reduce((s, _w, k) => s + (k % 7), 0));
    v.backward(); // this pass needed little of the ring: it is given back afterwards
    expect(x.grad).toBe(2);
    v.backward(); // on the small ring
    expect(x.grad).toBe(3);
  });
});

describe('the path at the top of a pass', () => {
  // q = tanh(c·exp(sin(u)·u))·z, u = x·y: a path q → r → m → e (with leaf operands z, second, and c,
  // first), then v, which has two operands to follow (w and u), where the ring takes over. Checked
  // against the chain rule written out by hand.
  function pathThenBranch(): Record<'x' | 'y' | 'c' | 'z' | 'u' | 'w' | 'v' | 'e' | 'm' | 'r' | 'q', Value> {
    const x = new Value(0.7, 'x'), y = new Value(-1.3, 'y'), c = new Value(3, 'c'), z = new Value(1.5, 'z');
    const u = x.mul(y), w = u.sin(), v = w.mul(u), e = v.exp(), m = c.mul(e), r = m.tanh(), q = r.mul(z);
    return { x, y, c, z, u, w, v, e, m, r, q };
  }

  it('hands over to the ring where a node has two operands to follow, with the chain rule\'s gradients', () => {
    const g = pathThenBranch();
    g.q.backward();
    const u = 0.7 * -1.3, e = Math.exp(Math.sin(u) * u), r = Math.tanh(3 * e);
    const dm = 1.5 * (1 - r * r), de = dm * 3, dv = de * e, dw = dv * u, du = dv * (u * Math.cos(u) + Math.sin(u));
    expectClose(g.r.grad, 1.5, 1e-14);
    expectClose(g.z.grad, r, 1e-14); // a leaf second operand on the path
    expectClose(g.m.grad, dm, 1e-14);
    expectClose(g.e.grad, de, 1e-14);
    expectClose(g.c.grad, dm * e, 1e-14); // a leaf first operand on the path
    expectClose(g.v.grad, dv, 1e-14);
    expectClose(g.w.grad, dw, 1e-14);
    expectClose(g.u.grad, du, 1e-14);
    expectClose(g.x.grad, du * -1.3, 1e-14);
    expectClose(g.y.grad, du * 0.7, 1e-14);
    // And against finite differences of the same function, independently of the formulas above.
    const f = (x: number): number => Math.tanh(3 * Math.exp(Math.sin(x * -1.3) * x * -1.3)) * 1.5;
    expectClose(g.x.grad, centralDifference(f, 0.7), 1e-8);
  });

  it('visits the nodes in the order the ring alone would: serial order', () => {
    const g = pathThenBranch();
    // backwardOrder lists them as the pass finishes them, last first.
    const expected = [g.u, g.w, g.v, g.e, g.m, g.r, g.q];
    expect(backwardOrder(g.q).map((v) => expected.indexOf(v))).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reports a non-finite local derivative of a second operand, leaving the leaves as they were', () => {
    const a = new Value(1, 'a'), b = new Value(1e-200, 'b');
    const q = a.div(b).mul(2); // ∂(a/b)/∂b = −(a/b)/b = −1e400: −Infinity
    expect(() => q.backward()).toThrow(/local derivative of \/\(a=1 \("a"\), b=1e-200 \("b"\)\) with respect to b is -Infinity/);
    expect(a.grad).toBe(0);
    expect(b.grad).toBe(0);
  });
});
