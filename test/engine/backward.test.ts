// backward.ts's machinery, beyond what value.test.ts checks through the API: the ring of places
// that must grow while holding nodes met but not yet visited, and stay exact.
import { describe, expect, it } from 'vitest';
import { Value } from '../../src/index.js';

describe('backward over a ring of places', () => {
  it('keeps nodes met far ahead when the ring grows (exact integer gradient)', () => {
    // e_k = k·x made first; then unrelated nodes, so the e_k sit thousands of places beyond the
    // adds that use them; the adds then reach them one by one, and the ring must grow past 1,024
    // while the not-yet-visited e_k and their gradients move with it.
    const x = new Value(1, 'x');
    const terms: Value[] = [];
    for (let k = 1; k <= 3000; k++) terms.push(x.mul(k));
    let noise = new Value(0.5);
    for (let k = 0; k < 5000; k++) noise = noise.mul(0.5).add(0.25);
    let root = terms[0]!.mul(noise.mul(0).add(1)); // noise enters with derivative 0
    for (let k = 1; k < terms.length; k++) root = root.add(terms[k]!);
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
