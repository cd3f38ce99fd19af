/**
 * The example pictures committed under graphs/, made by the same code as `npm start` and
 * `micrograd moons`, so that `npm run graphs` (and a test) can regenerate and compare them.
 */
import { join } from 'node:path';
import { writeGraph } from '../node/render.js';
import { runDemo, runMoons } from '../learner/node.js';
import { Value } from '../engine/value.js';

/** micrograd's sanity-check expression, each node labelled as in micrograd's test. */
export function microgradExpression(): { a: Value; b: Value; g: Value } {
  const a = new Value(-4, 'a'), b = new Value(2, 'b');
  let c = a.add(b);
  let d = a.mul(b).add(b.pow(3));
  c = c.add(c.add(1));
  c = c.add(new Value(1).add(c).sub(a));
  d = d.add(d.mul(2).add(b.add(a).relu()));
  d = d.add(d.mul(3).add(b.sub(a).relu()));
  c.label = 'c';
  d.label = 'd';
  const e = c.sub(d);
  e.label = 'e';
  const f = e.pow(2);
  f.label = 'f';
  let g = f.div(2);
  g = g.add(new Value(10).div(f));
  g.label = 'g';
  return { a, b, g };
}

/** Writes every example picture into `outDir` and returns the paths written. */
export async function writeExampleGraphs(outDir = 'graphs'): Promise<string[]> {
  const demo = await runDemo({ outDir });
  const { g } = microgradExpression();
  g.backward();
  const classic = await writeGraph(g, join(outDir, 'micrograd-expression'));
  const moons = await runMoons({ outDir });
  return [...demo.files, classic.dotPath, classic.svgPath, ...moons.files];
}
