/**
 * The committed notebooks, checked without Jupyter: each was run by `npm run notebooks` after its
 * code was last edited, no cell failed or wrote to stderr, every table is escaped HTML, and the
 * numbers they print are the ones the current code computes (so a change to the engine or the
 * models that moves a result makes this fail until the notebooks are run again).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildGraph, createRng, formatNumber, topologicalOrder } from '../src/index.js';
import {
  bestMonotoneFit, buildNet111, checkMonotone, fitParity, initialParams,
  learnerDeltas, makeMoons, moonsLoss, moonsModel, train, trainingSet, trainMoons,
} from '../src/learner/index.js';
import { escapeHtml, htmlTable } from '../notebooks/html.js';

const DIR = fileURLToPath(new URL('../notebooks/', import.meta.url));
const NOTEBOOKS = ['01-why-my-network-does-not-learn.ipynb', '02-expressions-and-graphs.ipynb', '03-moons.ipynb'];
const RERUN = 'run `npm run notebooks` (after `bash scripts/notebooks-setup.sh`) and commit the notebooks';

type Text = string | string[];
interface Output {
  readonly output_type: string;
  readonly name?: string;
  readonly text?: Text;
  readonly data?: Readonly<Record<string, Text>>;
}
interface Cell {
  readonly cell_type: string;
  readonly source: Text;
  readonly outputs?: readonly Output[];
}
interface Notebook {
  readonly nbformat: number;
  readonly metadata: {
    readonly kernelspec?: { readonly name?: string };
    readonly micrograd_ts?: { readonly executed_code_sha256?: string };
  };
  readonly cells: readonly Cell[];
}

const join_ = (t: Text | undefined): string => (Array.isArray(t) ? t.join('') : t ?? '');

function load(name: string): Notebook {
  return JSON.parse(readFileSync(join(DIR, name), 'utf8')) as Notebook;
}

const codeCells = (nb: Notebook): Cell[] => nb.cells.filter((c) => c.cell_type === 'code');

/** The same digest scripts/run-notebooks.mjs stamps after a clean run. */
function codeHash(nb: Notebook): string {
  const hash = createHash('sha256');
  for (const cell of codeCells(nb)) hash.update(`${join_(cell.source)}\u0000`);
  return hash.digest('hex');
}

function outputs(nb: Notebook): Output[] {
  return codeCells(nb).flatMap((c) => c.outputs ?? []);
}

function stdout(nb: Notebook): string {
  return outputs(nb).filter((o) => o.output_type === 'stream' && o.name === 'stdout').map((o) => join_(o.text)).join('');
}

function data(nb: Notebook, mime: string): string[] {
  return outputs(nb).flatMap((o) => (o.data?.[mime] === undefined ? [] : [join_(o.data[mime])]));
}

/** A cell of nothing but imports (and comments) has nothing to show. */
function importsOnly(cell: Cell): boolean {
  const code = join_(cell.source).replace(/\/\/.*$/gm, '').trim();
  return /^import\b/.test(code) && code.split(/;\s*/).filter((s) => s.trim() !== '').every((s) => /^import\b/.test(s.trim()));
}

const TABLE_TAG = /<\/?(?:table|caption|thead|tbody|tr)>|<(?:th|td) style="text-align:(?:left|right)">|<\/(?:th|td)>/g;

describe('the notebooks folder', () => {
  it('holds exactly the three notebooks checked here', () => {
    expect(readdirSync(DIR).filter((f) => f.endsWith('.ipynb')).sort()).toEqual(NOTEBOOKS);
  });
});

describe.each(NOTEBOOKS)('%s', (name) => {
  const nb = load(name);

  it('is an nbformat 4 notebook for the tslab kernel', () => {
    expect(nb.nbformat).toBe(4);
    expect(nb.metadata.kernelspec?.name).toBe('tslab');
    expect(codeCells(nb).length).toBeGreaterThan(3);
  });

  it('was run by `npm run notebooks` after its code was last edited', () => {
    expect(nb.metadata.micrograd_ts?.executed_code_sha256, `the code cells changed since the last run: ${RERUN}`).toBe(codeHash(nb));
  });

  it('has no failed cell and nothing on stderr', () => {
    const bad = outputs(nb).filter((o) => o.output_type === 'error' || (o.output_type === 'stream' && o.name === 'stderr'));
    expect(bad.map((o) => join_(o.text))).toEqual([]);
  });

  it('shows something for every code cell but the import cells', () => {
    const silent = codeCells(nb).filter((c) => !importsOnly(c) && (c.outputs ?? []).length === 0);
    expect(silent.map((c) => join_(c.source).split('\n')[0])).toEqual([]);
  });

  it('shows tables as escaped HTML: no markup but the table\'s own', () => {
    for (const html of data(nb, 'text/html')) {
      const rest = html.replace(TABLE_TAG, '');
      expect(rest, html.slice(0, 200)).not.toMatch(/[<>]/);
      expect(rest.replace(/&(?:amp|lt|gt|quot|#39);/g, ''), html.slice(0, 200)).not.toMatch(/&/);
    }
  });

  it('shows SVG pictures without scripts or event handlers', () => {
    for (const svg of data(nb, 'image/svg+xml')) {
      expect(svg).toMatch(/<svg[\s>][\s\S]*<\/svg>\s*$/);
      expect(svg).not.toMatch(/<script|\son[a-z]+\s*=/i);
    }
  });
});

const num = (x: number, digits = 4): string => formatNumber(x, digits);

describe('the numbers in 01-why-my-network-does-not-learn match the current code', () => {
  const nb = load(NOTEBOOKS[0]!);
  const out = stdout(nb);
  const html = data(nb, 'text/html').join('\n');

  it('the initial weights and the gradient table', () => {
    const p0 = initialParams(createRng(1));
    expect(out).toContain(`initial parameters (seed 1): w1 = ${num(p0.w1)}, b1 = ${num(p0.b1)}, w2 = ${num(p0.w2)}, b2 = ${num(p0.b2)}`);
    // Sample x = 2/9: the engine's gradients and the learner's wrong w2 rule, at 6 digits.
    const s = trainingSet('parity')[1]!;
    const g = buildNet111(p0, s.x, s.a);
    g.loss.backward();
    for (const k of ['w1', 'b1', 'w2', 'b2'] as const) expect(html).toContain(`>${num(g[k].grad, 6)}<`);
    expect(html).toContain(`>${num(learnerDeltas(p0, s.x, s.a, 0.1).w2 / 0.1, 6)}<`);
  });

  it('the diagnosis of the learner\'s rules: w2 written where h belongs, w1 where x belongs, the biases right', () => {
    // Expected from the hand derivation (∂(w·u + b)/∂w = u), not from diagnoseGradient.
    expect(out).toContain('✗ w2, substitution: it uses w2 where h belongs');
    expect(out).toContain('✗ w1, substitution: it uses w1 where x belongs');
    expect(out).toMatch(/corrected: gradient_y = 2 \* \(y - a\); gradient_y \* y \* \(1 - y\) \* h\n/);
    expect(out).toMatch(/corrected: gradient_h = [^\n]*; gradient_h \* h \* \(1 - h\) \* x\n/);
    expect(out).toContain('✓ b2, ok');
    expect(out).toContain('✓ b1, ok');
  });

  it('the training runs, the monotone floor and the 1-16-1 network', () => {
    const learner = train({ rules: 'learner', seed: 1 });
    const correct = train({ rules: 'autodiff', seed: 1 });
    expect(out).toContain(`mean loss after 10000 steps: learner's rules ${num(learner.loss)}, correct gradients ${num(correct.loss)}`);
    expect(out).toContain(`trained, correct gradients: loss ${num(correct.loss)}`);
    const floor = bestMonotoneFit(trainingSet('parity').map((s) => s.a));
    expect(out).toContain(`best monotone fit:          loss ${num(floor.mse)}`);
    const check = checkMonotone({ settings: 5000, seed: 1 });
    expect(out).toContain(`${check.settings} random weight settings (all four in [−10, 10]), y on 41 inputs in [0, 1]: monotone in ${check.monotone}`);
    expect(out).toContain(`threshold target, correct gradients, lr 1: loss ${num(train({ rules: 'autodiff', target: 'threshold', lr: 1, seed: 1 }).loss)}`);
    expect(out).toContain(`threshold target, learner's rules, lr 0.1: loss ${num(train({ rules: 'learner', target: 'threshold', seed: 1 }).loss)}`);
    const parity = fitParity({ seed: 1 });
    expect(out).toContain(`1-16-1 network: loss ${num(parity.loss)}, ${parity.outputs.filter((o) => o.correct).length} of 9 on the right side of 0.5`);
  }, 60_000); // trains three networks: slow on a loaded machine
});

describe('the numbers in 02-expressions-and-graphs match the current code', () => {
  const nb = load(NOTEBOOKS[1]!);
  const out = stdout(nb);

  it('the learner\'s model at the CLI\'s example point, and the logistic model', () => {
    const g = buildGraph('h = sigmoid(w1*x + b1); y = sigmoid(w2*h + b2); (y - a)^2', { x: 2 / 9, a: 1, w1: 0.3, b1: 0, w2: -0.2, b2: 0 });
    g.output.backward();
    expect(out).toContain(`loss = ${num(g.output.data, 6)}\n`);
    expect(out).toContain(`grad(h) in the graph:      ${num(g.names.get('h')!.grad, 8)}`);
    expect(out).toContain('variables:      w1, x, b1, w2, b2, a\n');
    expect(out).toContain('w2: it uses w2 where h belongs');
    expect(out).toContain('w1: it uses w1 where x belongs');
    const logistic = buildGraph('z = w*x + b; -(a*logsigmoid(z) + (1 - a)*logsigmoid(-z))', { w: -2, x: 2, b: 0, a: 1 });
    expect(out).toContain(`loss = ${num(logistic.output.data, 6)}\n`);
  });

  it('the error messages, as the expression parser words them now', () => {
    let message = '';
    try {
      buildGraph('h = sigmod(w*x + b)\n(h - a)^2', { w: 1, x: 2, b: 0 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toBe('');
    expect(out).toContain(message);
  });
});

describe('the numbers in 03-moons match the current code', () => {
  const nb = load(NOTEBOOKS[2]!);
  const out = stdout(nb);

  it('the untrained model, the training and its end', () => {
    const rng = createRng(1);
    const points = makeMoons({ n: 100, noise: 0.1, rng });
    const untrained = moonsLoss(moonsModel(rng), points);
    expect(out).toContain(`337 parameters; before training: loss ${num(untrained.loss.data)}`);
    expect(out).toContain(`the loss graph holds ${topologicalOrder(untrained.loss).length.toLocaleString('en-US')} Values`);
    const t = trainMoons({ seed: 1, steps: 100 });
    expect(out).toContain(`after 100 steps: loss ${num(t.final.loss)}, accuracy ${(100 * t.final.accuracy).toFixed(0)} %`);
    const first = t.curve.find((r) => r.accuracy === 1);
    expect(out).toContain(first ? `for the first time at step ${first.step}` : 'never every point right');
    expect(out).toContain('same final loss as the loop above, to the last bit: yes');
  });
});

describe('the notebooks\' HTML tables (notebooks/html.ts)', () => {
  it('escapes every character that could start markup or end an attribute', () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')"> & done`)).toBe('&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; done');
  });

  it('escapes captions, headers and cells, and aligns number cells right', () => {
    const html = htmlTable(['<b>name</b>', 'value'], [['a & b', { text: '−0.5', align: 'right' }]], '"quoted" <caption>');
    expect(html).toContain('<caption>&quot;quoted&quot; &lt;caption&gt;</caption>');
    expect(html).toContain('<th style="text-align:left">&lt;b&gt;name&lt;/b&gt;</th>');
    expect(html).toContain('<td style="text-align:left">a &amp; b</td><td style="text-align:right">−0.5</td>');
    expect(html.replace(TABLE_TAG, '')).not.toMatch(/[<>]/);
  });

  it('refuses a row with the wrong number of cells', () => {
    expect(() => htmlTable(['a', 'b'], [['1']])).toThrow('table row 1 has 1 cells for 2 columns');
  });
});
