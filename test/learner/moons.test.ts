import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MOONS_ALPHA, MOONS_SEED, decisionGrid, makeMoons, moonsLearningRate, moonsLoss, moonsModel, moonsStep,
  type MoonPoint,
} from '../../src/learner/moons.js';
import { runMoons, type MoonsResult } from '../../src/learner/node.js';
import { MLP, type MLPJson } from '../../src/tools/nn.js';
import { createRng } from '../../src/tools/random.js';
import type { Progress } from '../../src/tools/progress.js';

// Independent oracle: the relu MLP and the loss on plain numbers, from the JSON parameters.
function score(json: MLPJson, x: readonly number[]): number {
  let h = [...x];
  for (const layer of json.layers) {
    h = layer.neurons.map((n) => {
      const z = n.w.reduce((s, w, i) => s + w * h[i]!, 0) + n.b;
      return layer.activation === 'relu' ? Math.max(0, z) : z;
    });
  }
  return h[0]!;
}

function plainLoss(json: MLPJson, data: readonly MoonPoint[]): number {
  const hinge = data.reduce((s, p) => s + Math.max(0, 1 - p.label * score(json, [p.x1, p.x2])), 0) / data.length;
  const squares = json.layers.flatMap((l) => l.neurons.flatMap((n) => [...n.w, n.b])).reduce((s, w) => s + w * w, 0);
  return hinge + MOONS_ALPHA * squares;
}

describe('the moons data', () => {
  it('has 100 points, 50 per label, deterministic under the seed', () => {
    const a = makeMoons({ seed: 3 });
    expect(a).toHaveLength(100);
    expect(a.filter((p) => p.label === 1)).toHaveLength(50);
    expect(a.filter((p) => p.label === -1)).toHaveLength(50);
    expect(makeMoons({ seed: 3 })).toEqual(a);
    expect(makeMoons({ rng: createRng(3) })).toEqual(a);
    expect(makeMoons({ seed: 4 })).not.toEqual(a);
    // Shuffled: the labels do not come in two blocks.
    const switches = a.slice(1).filter((p, k) => p.label !== a[k]!.label).length;
    expect(switches).toBeGreaterThan(10);
    // An odd count: the extra point goes to the lower moon, as in scikit-learn.
    const odd = makeMoons({ n: 7, seed: 1 });
    expect(odd.filter((p) => p.label === -1)).toHaveLength(3);
  });

  it('without noise lies on the two half circles, evenly spaced in angle', () => {
    const pts = makeMoons({ n: 40, noise: 0, seed: 2 });
    const upper = pts.filter((p) => p.label === -1), lower = pts.filter((p) => p.label === 1);
    for (const p of upper) {
      expect(Math.hypot(p.x1, p.x2)).toBeCloseTo(1, 12);
      expect(p.x2).toBeGreaterThanOrEqual(-1e-12);
    }
    for (const p of lower) {
      expect(Math.hypot(p.x1 - 1, p.x2 - 0.5)).toBeCloseTo(1, 12);
      expect(p.x2).toBeLessThanOrEqual(0.5 + 1e-12);
    }
    const angles = upper.map((p) => Math.atan2(p.x2, p.x1)).sort((s, t) => s - t);
    angles.forEach((t, k) => expect(t).toBeCloseTo((Math.PI * k) / 19, 10));
  });

  it('adds Gaussian noise of the given standard deviation', () => {
    // The radial distance from the circle's centre is 1 + (noise along the radius): std ≈ noise.
    const pts = makeMoons({ n: 4000, noise: 0.1, seed: 5 });
    const radial = pts.map((p) => (p.label === -1 ? Math.hypot(p.x1, p.x2) : Math.hypot(p.x1 - 1, p.x2 - 0.5)) - 1);
    const mean = radial.reduce((s, r) => s + r, 0) / radial.length;
    const std = Math.sqrt(radial.reduce((s, r) => s + (r - mean) ** 2, 0) / radial.length);
    expect(std).toBeGreaterThan(0.09);
    expect(std).toBeLessThan(0.11);
    expect(Math.abs(mean)).toBeLessThan(0.015);
  });

  it('rejects bad sizes and noise', () => {
    expect(() => makeMoons({ n: 1 })).toThrow(/n must be a whole number ≥ 2, got 1/);
    expect(() => makeMoons({ noise: -0.1 })).toThrow(/noise must be a finite number ≥ 0/);
    expect(() => makeMoons({ seed: 1, rng: createRng(1) })).toThrow(/either rng or seed/);
  });
});

describe('the moons loss and step', () => {
  it('the loss graph matches the plain-number hinge loss plus α·Σp², and counts accuracy', () => {
    const rng = createRng(7);
    const data = makeMoons({ rng });
    const model = moonsModel(rng);
    expect(model.parameters()).toHaveLength(337);
    const { loss, accuracy } = moonsLoss(model, data);
    expect(loss.data).toBeCloseTo(plainLoss(model.toJSON(), data), 12);
    const right = data.filter((p) => (score(model.toJSON(), [p.x1, p.x2]) > 0) === (p.label === 1)).length;
    expect(accuracy).toBe(right / 100);
  });

  it('a step is p ← p − lr(k)·∂loss/∂p, checked against central differences, and returns the loss before it', () => {
    const rng = createRng(MOONS_SEED);
    const data = makeMoons({ rng });
    const model = moonsModel(rng);
    const before = model.toJSON();
    const k = 30;
    const { loss } = moonsStep(model, data, k);
    expect(loss).toBeCloseTo(plainLoss(before, data), 12);
    const lr = moonsLearningRate(k);
    expect(lr).toBeCloseTo(1 - 0.9 * 30 / 100, 15);
    const v0 = before.layers.flatMap((l) => l.neurons.flatMap((n) => [...n.w, n.b]));
    const v1 = model.parameters().map((p) => p.data);
    const set = (v: number[]): MLPJson => {
      let i = 0;
      return { ...before, layers: before.layers.map((l) => ({ ...l, neurons: l.neurons.map((n) => ({ w: n.w.map(() => v[i++]!), b: v[i++]! })) })) };
    };
    // A spread of parameters from every layer (all 337 would be slow).
    const eps = 1e-6;
    for (let i = 0; i < v0.length; i += 7) {
      const plus = v0.slice(), minus = v0.slice();
      plus[i]! += eps;
      minus[i]! -= eps;
      const numeric = (plainLoss(set(plus), data) - plainLoss(set(minus), data)) / (2 * eps);
      const applied = (v0[i]! - v1[i]!) / lr;
      expect(Math.abs(applied - numeric)).toBeLessThanOrEqual(1e-6 + 1e-4 * Math.abs(numeric));
    }
  });

  it('the decision grid on plain numbers agrees with the Value forward pass', () => {
    const rng = createRng(2);
    const data = makeMoons({ rng });
    const model = moonsModel(rng);
    const grid = decisionGrid(model, data, 20);
    expect(grid.scores).toHaveLength(400);
    expect(grid.x1.min).toBeLessThan(Math.min(...data.map((p) => p.x1)));
    expect(grid.x2.max).toBeGreaterThan(Math.max(...data.map((p) => p.x2)));
    for (let r = 0; r < 20; r += 3) {
      for (let c = 0; c < 20; c += 3) {
        const a = grid.x1.min + ((c + 0.5) * (grid.x1.max - grid.x1.min)) / 20;
        const b = grid.x2.min + ((r + 0.5) * (grid.x2.max - grid.x2.min)) / 20;
        const viaValues = model.forward([a, b])[0]!.data;
        expect(Math.abs(grid.scores[r * 20 + c]! - viaValues)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(viaValues)));
      }
    }
  });
});

describe('the moons demo, end to end', () => {
  let dir: string;
  let result: MoonsResult;
  const progressCalls: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moons-test-'));
    const progress = (label: string, total: number): Progress => {
      progressCalls.push(`start ${label} ${total}`);
      return { update: (d) => progressCalls.push(`update ${d}`), stop: () => progressCalls.push('stop') };
    };
    result = await runMoons({ outDir: join(dir, 'out'), progress });
  }, 20_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`reaches 100 % training accuracy within 100 steps on seed ${MOONS_SEED}`, () => {
    expect(result.seed).toBe(MOONS_SEED);
    expect(result.steps).toBe(100);
    expect(result.parameters).toBe(337);
    expect(result.curve).toHaveLength(100);
    expect(result.final.accuracy).toBe(1);
    expect(result.final.loss).toBeLessThan(0.02);
    expect(result.firstPerfectStep).not.toBeNull();
    expect(result.firstPerfectStep!).toBeLessThan(100);
    // The loss fell: the start is the untrained hinge loss (about 1), the end is near 0.
    expect(result.curve[0]!.loss).toBeGreaterThan(0.5);
    expect(result.curve[0]!.lr).toBe(1);
    expect(result.curve[99]!.lr).toBeCloseTo(0.109, 12);
    // The saved model classifies every point right on its own (checked by the plain oracle).
    const data = makeMoons({ rng: createRng(MOONS_SEED) });
    expect(data.every((p) => (score(result.model, [p.x1, p.x2]) > 0) === (p.label === 1))).toBe(true);
    expect(plainLoss(result.model, data)).toBeCloseTo(result.final.loss, 12);
    expect(MLP.fromJSON(result.model).parameters()).toHaveLength(337);
  });

  it('reports progress: one bar of 100 steps, updated to 100, then stopped', () => {
    expect(progressCalls[0]).toMatch(/^start .* 100$/);
    expect(progressCalls.at(-2)).toBe('update 100');
    expect(progressCalls.at(-1)).toBe('stop');
  });

  it('writes the two SVGs into the given folder, and nothing else', async () => {
    const out = join(dir, 'out');
    expect(result.files).toEqual([join(out, 'moons-boundary.svg'), join(out, 'moons-loss.svg')]);
    expect((await readdir(out)).sort()).toEqual(['moons-boundary.svg', 'moons-loss.svg']);
    const boundary = await readFile(join(out, 'moons-boundary.svg'), 'utf8');
    expect(boundary).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(boundary).toContain('decision regions');
    expect(boundary).toContain('training accuracy 100 %');
    const loss = await readFile(join(out, 'moons-loss.svg'), 'utf8');
    expect(loss).toMatch(/^<svg/);
    expect(loss).toContain('training accuracy');
  });

  it('writes no files with outDir null, and is deterministic under the seed', async () => {
    const again = await runMoons({ outDir: null, steps: 5 });
    expect(again.files).toEqual([]);
    const twice = await runMoons({ outDir: null, steps: 5 });
    expect(twice.curve).toEqual(again.curve);
    expect(twice.model).toEqual(again.model);
    // Same data and initial weights as the long run (its learning rates differ: the schedule spans the steps).
    expect(again.curve[0]).toEqual(result.curve[0]);
  });
});
