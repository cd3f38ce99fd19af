/**
 * micrograd's sanity check (its test_engine.py), a test fixture shared by the engine's tests: the
 * expression built from Values, and the same expression on plain numbers as an oracle.
 */
import { Value, add, div, mul } from '../../src/index.js';

/** micrograd's sanity expression on leaves a and b (micrograd's test uses a = −4, b = 2). */
export function sanity(a: Value, b: Value): { c: Value; d: Value; e: Value; f: Value; g: Value } {
  let c = a.add(b);
  let d = a.mul(b).add(b.pow(3));
  c = c.add(c.add(1));
  c = c.add(add(1, c).add(a.neg()));
  d = d.add(d.mul(2).add(b.add(a).relu()));
  d = d.add(mul(3, d).add(b.sub(a).relu()));
  const e = c.sub(d);
  const f = e.pow(2);
  let g = f.div(2.0);
  g = g.add(div(10.0, f));
  return { c, d, e, f, g };
}

/** The same expression on plain numbers, for central differences. */
export function sanityPlain(a: number, b: number): number {
  let c = a + b;
  let d = a * b + b ** 3;
  c += c + 1;
  c += 1 + c + -a;
  d += d * 2 + Math.max(b + a, 0);
  d += 3 * d + Math.max(b - a, 0);
  const e = c - d;
  const f = e ** 2;
  let g = f / 2.0;
  g += 10.0 / f;
  return g;
}
