/** The committed example pictures are what the current code makes: regenerated and compared byte for byte. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { microgradExpression, writeExampleGraphs } from '../../src/cli/graphs.js';
import { ROOT } from '../cli-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'micrograd-graphs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('graphs/', () => {
  it('holds exactly what `npm run graphs` makes now', async () => {
    const written = await writeExampleGraphs(tmp);
    const committed = readdirSync(join(ROOT, 'graphs')).filter((f) => /\.(svg|dot)$/.test(f)).sort();
    expect(written.map((p) => p.slice(tmp.length + 1)).sort()).toEqual(committed);
    for (const f of committed) {
      const fresh = readFileSync(join(tmp, f), 'utf8');
      // A difference means the committed example is stale: run `npm run graphs` and commit.
      expect(fresh === readFileSync(join(ROOT, 'graphs', f), 'utf8'), `graphs/${f} is stale: run npm run graphs`).toBe(true);
    }
  }, 120_000);

  it('draws micrograd\'s expression with micrograd\'s gradients', () => {
    const { a, b, g } = microgradExpression();
    g.backward();
    // Independent check: central differences of the same expression on plain numbers.
    const f = (a: number, b: number): number => {
      let c = a + b, d = a * b + b ** 3;
      c += c + 1; c += 1 + c - a;
      d += d * 2 + Math.max(b + a, 0); d += 3 * d + Math.max(b - a, 0);
      const e = c - d, ff = e ** 2;
      return ff / 2 + 10 / ff;
    };
    const h = 1e-6;
    expect(g.data).toBeCloseTo(f(-4, 2), 10);
    expect(a.grad).toBeCloseTo((f(-4 + h, 2) - f(-4 - h, 2)) / (2 * h), 3);
    expect(b.grad).toBeCloseTo((f(-4, 2 + h) - f(-4, 2 - h)) / (2 * h), 3);
  });
});
