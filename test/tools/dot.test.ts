import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { div, min, pow, sub, Value } from '../../src/index.js';
import {
  DEFAULT_MAX_NODES, formatNumber, mismatchNote, OP_SYMBOLS, toDot,
} from '../../src/tools/dot.js';
import { renderSvg, writeGraph } from '../../src/node/render.js';
import { OP_NAMES } from '../../src/engine/value.js';

// ---------------------------------------------------------------------------------------------
// Reading the DOT back. toDot writes one statement per line: `  id [attrs];` or `  a -> b [attrs];`.

interface DotNode { id: string; attrs: string; label: string }
interface DotEdge { from: string; to: string; label: string | undefined }

function labelOf(attrs: string): string | undefined {
  const m = /label="((?:[^"\\]|\\.)*)"/.exec(attrs);
  return m ? m[1]!.replace(/\\"/g, '"') : undefined;
}

function parseDot(dot: string): { nodes: Map<string, DotNode>; edges: DotEdge[] } {
  const nodes = new Map<string, DotNode>();
  const edges: DotEdge[] = [];
  for (const line of dot.split('\n')) {
    const e = /^ {2}(\w+) -> (\w+)(?: \[(.*)\])?;$/.exec(line);
    if (e) {
      edges.push({ from: e[1]!, to: e[2]!, label: e[3] === undefined ? undefined : labelOf(e[3]) });
      continue;
    }
    const n = /^ {2}(\w+) \[(.*)\];$/.exec(line);
    if (n && n[1] !== 'node' && n[1] !== 'edge') nodes.set(n[1]!, { id: n[1]!, attrs: n[2]!, label: labelOf(n[2]!) ?? '' });
  }
  return { nodes, edges };
}

/** A number as drawn (true minus sign) back to a number. */
function num(text: string): number {
  const x = Number(text.replace(/−/g, '-'));
  if (Number.isNaN(x)) throw new Error(`not a number: ${text}`);
  return x;
}

function field(label: string, name: 'data' | 'grad'): number {
  const m = new RegExp(`${name} (\\S+)`).exec(label);
  if (!m) throw new Error(`no ${name} in ${label}`);
  return num(m[1]!);
}

/** The derivative part of an edge label ("0.5", "a: 0.5"), or undefined for a bare role. */
function derivative(label: string | undefined): number | undefined {
  if (label === undefined) return undefined;
  const part = label.includes(': ') ? label.split(': ')[1]! : label;
  return part === 'a' || part === 'b' ? undefined : num(part);
}

/**
 * Counts what the picture must hold by walking the engine's own structure through `inputs` (not
 * topologicalOrder): a number operand comes back as a fresh object on each read, a real node as
 * the same one.
 */
function countByInputs(root: Value): { values: number; ops: number; inlineConstants: number; edges: number } {
  const seen = new Set<Value>();
  const stack = [root];
  let ops = 0, inlineConstants = 0, edges = 0;
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (v.op === '') continue;
    ops++;
    const first = v.inputs, second = v.inputs;
    edges += first.length + 1;
    first.forEach((u, k) => {
      if (u === second[k]) stack.push(u);
      else inlineConstants++;
    });
  }
  return { values: seen.size, ops, inlineConstants, edges };
}

// ---------------------------------------------------------------------------------------------
// Reading the SVG back.

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_, e: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (e[0] !== '#') return named[e.toLowerCase()]!;
    return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

interface SvgText { x: number; y: number; text: string }
interface SvgGroup { kind: 'node' | 'edge'; title: string; body: string; texts: SvgText[] }

function svgGroups(svg: string): SvgGroup[] {
  const groups: SvgGroup[] = [];
  for (const m of svg.matchAll(/<g id="(?:node|edge)\d+" class="(node|edge)">\s*<title>([^<]*)<\/title>([\s\S]*?)<\/g>/g)) {
    const texts = [...m[3]!.matchAll(/<text[^>]* x="([-\d.]+)" y="([-\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((t) => ({
      x: Number(t[1]), y: Number(t[2]), text: decodeXml(t[3]!),
    }));
    groups.push({ kind: m[1] as 'node' | 'edge', title: decodeXml(m[2]!), body: m[3]!, texts });
  }
  return groups;
}

// ---------------------------------------------------------------------------------------------

/** L = (σ(w·x + b) − a)², backpropagated. */
function sample(): { L: Value; w: Value; x: Value; b: Value; a: Value } {
  const w = new Value(0.8, 'w'), x = new Value(-1.5, 'x'), b = new Value(0.3, 'b'), a = new Value(1, 'a');
  const L = w.mul(x).add(b).sigmoid().sub(a).pow(2);
  L.label = 'L';
  L.backward();
  return { L, w, x, b, a };
}

/** A graph using every operation, number operands in both slots, a shared constant and a reused node. */
function everyOp(): Value {
  const a = new Value(1.3, 'a'), b = new Value(-0.7, 'b'), c = Value.constant(2);
  const terms = [
    a.add(b), a.sub(2), sub(3, a), a.mul(b), a.div(b), div(1, b), a.pow(2), pow(2, a), a.pow(b),
    b.neg(), a.exp(), a.log(), b.tanh(), b.sigmoid(), b.relu(), a.sqrt(), b.abs(), b.softplus(),
    b.logsigmoid(), a.mul(a), c.mul(a), c.add(b), Value.sum([a, b, 4, c]), a.sin(), b.cos(), b.tan(), a.atan(),
    a.max(b), min(2, b),
  ];
  const root = Value.sum(terms);
  root.backward();
  return root;
}

describe('formatNumber', () => {
  it('gives 4 significant digits by default, without trailing zeros, with a true minus sign', () => {
    expect(formatNumber(2)).toBe('2');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(-0.0120004)).toBe('−0.012');
    expect(formatNumber(3.14159)).toBe('3.142');
    expect(formatNumber(123456)).toBe('1.235e5');
    expect(formatNumber(-1.5e-9)).toBe('−1.5e−9');
    expect(formatNumber(-0)).toBe('0');
    expect(formatNumber(3.14159, 2)).toBe('3.1');
  });

  it('rejects a precision out of range', () => {
    expect(() => formatNumber(1, 0)).toThrow(RangeError);
    expect(() => toDot(new Value(1), { precision: 18 })).toThrow(/precision must be a whole number from 1 to 17/);
    expect(() => toDot(new Value(1), { precision: 2.5 })).toThrow(RangeError);
  });
});

describe('toDot: structure', () => {
  it('draws one node per Value, one per operation and one per number operand, and an edge per operand slot', () => {
    const root = everyOp();
    const expected = countByInputs(root);
    const { nodes, edges } = parseDot(toDot(root));
    const ids = [...nodes.keys()];
    expect(ids.filter((id) => id.startsWith('v'))).toHaveLength(expected.values);
    expect(ids.filter((id) => id.startsWith('o'))).toHaveLength(expected.ops);
    expect(ids.filter((id) => id.startsWith('k'))).toHaveLength(expected.inlineConstants);
    expect(nodes.size).toBe(expected.values + expected.ops + expected.inlineConstants);
    expect(edges).toHaveLength(expected.edges);
    for (const e of edges) {
      expect(nodes.has(e.from)).toBe(true);
      expect(nodes.has(e.to)).toBe(true);
    }
  });

  it('gives every op name a symbol, drawn in its operation node', () => {
    for (const op of OP_NAMES) expect(OP_SYMBOLS[op]).toBeTruthy();
    expect(OP_SYMBOLS).toMatchObject({ '*': '×', '/': '÷', sigmoid: 'σ', sum: 'Σ', sqrt: '√', abs: '|x|', logsigmoid: 'logσ' });
    const { nodes } = parseDot(toDot(everyOp()));
    const drawn = new Set([...nodes.values()].filter((n) => n.id.startsWith('o')).map((n) => n.label));
    expect(drawn).toEqual(new Set(OP_NAMES.map((op) => OP_SYMBOLS[op])));
  });

  it('shows label, data and grad of each Value to the given precision', () => {
    const { L, w } = sample();
    const { nodes } = parseDot(toDot(L, { precision: 12 }));
    const wNode = [...nodes.values()].find((n) => n.label.includes('w |'))!;
    expect(field(wNode.label, 'data')).toBe(0.8);
    expect(field(wNode.label, 'grad')).toBeCloseTo(w.grad, 10);
    const root = [...nodes.values()].find((n) => n.label.includes('L |'))!;
    expect(field(root.label, 'grad')).toBe(1);
    // Default: 4 significant digits.
    const short = parseDot(toDot(L)).nodes;
    const wShort = [...short.values()].find((n) => n.label.includes('w |'))!;
    expect(/grad (\S+)/.exec(wShort.label)![1]).toBe(w.grad.toPrecision(4).replace(/0+$/, ''));
  });

  it('tells leaves, interior nodes and the root apart', () => {
    const { L } = sample();
    const { nodes } = parseDot(toDot(L));
    const fill = (n: DotNode): string => /fillcolor="([^"]+)"/.exec(n.attrs)![1]!;
    const values = [...nodes.values()].filter((n) => n.id.startsWith('v'));
    const leaves = values.filter((n) => ['w |', 'x |', 'b |', 'a |'].some((s) => n.label.includes(s)));
    const root = values.find((n) => n.label.includes('L |'))!;
    const interior = values.filter((n) => !leaves.includes(n) && n !== root);
    expect(leaves).toHaveLength(4);
    expect(interior).toHaveLength(4);
    const leafFill = fill(leaves[0]!), interiorFill = fill(interior[0]!), rootFill = fill(root);
    expect(new Set([leafFill, interiorFill, rootFill]).size).toBe(3);
    for (const n of leaves) expect(fill(n)).toBe(leafFill);
    for (const n of interior) expect(fill(n)).toBe(interiorFill);
  });

  it('draws number operands as a small leaf per slot and a Value.constant once', () => {
    const x = new Value(1.5, 'x');
    const c = Value.constant(7);
    const root = x.add(3).mul(3).add(c).mul(c);
    const { nodes, edges } = parseDot(toDot(root));
    const inline = [...nodes.values()].filter((n) => n.id.startsWith('k'));
    expect(inline.map((n) => n.label)).toEqual(['3', '3']);
    for (const n of inline) expect(n.attrs).toContain('shape=plaintext');
    const sevens = [...nodes.values()].filter((n) => n.label === '7');
    expect(sevens).toHaveLength(1);
    expect(sevens[0]!.attrs).toContain('shape=plaintext');
    expect(edges.filter((e) => e.from === sevens[0]!.id)).toHaveLength(2);
  });

  it('names the operands of −, ÷ and pow, constant or not', () => {
    const x = new Value(2, 'x');
    const { edges } = parseDot(toDot(sub(3, x)));
    expect(edges.map((e) => e.label)).toEqual(['a', 'b: −1', undefined]);
    const y = new Value(4, 'y');
    const { edges: e2 } = parseDot(toDot(x.div(y)));
    expect(e2.map((e) => e.label)).toEqual(['a: 0.25', 'b: −0.125', undefined]);
  });
});

describe('toDot: the backward pass on the picture', () => {
  it('labels each edge with the local derivative (hand formulas)', () => {
    const a = 1.3, b = -0.7;
    const sig = (t: number): number => 1 / (1 + Math.exp(-t));
    const cases: [string, (x: Value, y: Value) => Value, number[]][] = [
      ['+', (x, y) => x.add(y), [1, 1]],
      ['-', (x, y) => x.sub(y), [1, -1]],
      ['*', (x, y) => x.mul(y), [b, a]],
      ['/', (x, y) => x.div(y), [1 / b, -a / (b * b)]],
      ['pow', (x, y) => x.pow(y), [b * a ** (b - 1), a ** b * Math.log(a)]],
      ['neg', (_, y) => y.neg(), [-1]],
      ['exp', (x) => x.exp(), [Math.exp(a)]],
      ['log', (x) => x.log(), [1 / a]],
      ['tanh', (_, y) => y.tanh(), [1 - Math.tanh(b) ** 2]],
      ['sigmoid', (_, y) => y.sigmoid(), [sig(b) * (1 - sig(b))]],
      ['relu', (_, y) => y.relu(), [0]],
      ['relu', (x) => x.relu(), [1]],
      ['sqrt', (x) => x.sqrt(), [1 / (2 * Math.sqrt(a))]],
      ['abs', (_, y) => y.abs(), [-1]],
      ['softplus', (_, y) => y.softplus(), [sig(b)]],
      ['logsigmoid', (_, y) => y.logsigmoid(), [1 - sig(b)]],
      ['sum', (x, y) => Value.sum([x, y, x]), [1, 1, 1]],
    ];
    for (const [op, make, expected] of cases) {
      const out = make(new Value(a, 'a'), new Value(b, 'b'));
      expect(out.op).toBe(op);
      const { edges } = parseDot(toDot(out, { precision: 15 }));
      const into = edges.filter((e) => e.to.startsWith('o')).map((e) => derivative(e.label)!);
      expect(into).toHaveLength(expected.length);
      into.forEach((d, k) => expect(d, `${op} slot ${k}`).toBeCloseTo(expected[k]!, 12));
    }
  });

  it('labels x·y with y on the edge from x and x on the edge from y', () => {
    const x = new Value(3, 'x'), y = new Value(-2.5, 'y');
    const { nodes, edges } = parseDot(toDot(x.mul(y)));
    const idOf = (name: string): string => [...nodes.values()].find((n) => n.label.startsWith(`{ ${name} |`))!.id;
    expect(edges.find((e) => e.from === idOf('x'))!.label).toBe('−2.5');
    expect(edges.find((e) => e.from === idOf('y'))!.label).toBe('3');
  });

  it('draws x·x as one x with two edges, and x.grad is the sum over them', () => {
    const x = new Value(-1.75, 'x');
    const out = x.mul(x);
    out.backward();
    const { nodes, edges } = parseDot(toDot(out, { precision: 15 }));
    const xs = [...nodes.values()].filter((n) => n.label.startsWith('{ x |'));
    expect(xs).toHaveLength(1);
    const fromX = edges.filter((e) => e.from === xs[0]!.id);
    expect(fromX).toHaveLength(2);
    for (const e of fromX) expect(derivative(e.label)).toBe(-1.75);
    const sumOfPaths = fromX.reduce((s, e) => s + 1 * derivative(e.label)!, 0);
    expect(sumOfPaths).toBeCloseTo(2 * -1.75, 12);
    expect(field(xs[0]!.label, 'grad')).toBeCloseTo(sumOfPaths, 12);
  });

  it('satisfies the chain rule on the picture: grad(in) = Σ grad(out) × edge label', () => {
    const root = everyOp();
    const { nodes, edges } = parseDot(toDot(root, { precision: 15 }));
    const opOutput = new Map(edges.filter((e) => e.from.startsWith('o')).map((e) => [e.from, e.to]));
    const total = new Map<string, number>();
    for (const e of edges) {
      const d = derivative(e.label);
      if (d === undefined || !e.to.startsWith('o')) continue;
      const gradOut = field(nodes.get(opOutput.get(e.to)!)!.label, 'grad');
      total.set(e.from, (total.get(e.from) ?? 0) + gradOut * d);
    }
    let checked = 0;
    for (const [id, sum] of total) {
      const node = nodes.get(id)!;
      if (!node.attrs.includes('shape=record')) continue; // a Value.constant shows no grad
      expect(field(node.label, 'grad'), node.label).toBeCloseTo(sum, 9);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('leaves the derivatives off on request, keeping the operand names', () => {
    const x = new Value(2, 'x');
    const { edges } = parseDot(toDot(x.mul(3).sub(x), { edgeLabels: false }));
    expect(edges.map((e) => e.label)).toEqual([undefined, undefined, undefined, 'a', 'b', undefined]);
  });
});

describe('toDot: determinism and options', () => {
  it('gives byte-identical DOT for the same graph, and for the same graph built twice', () => {
    const first = sample().L;
    expect(toDot(first)).toBe(toDot(first));
    expect(toDot(sample().L)).toBe(toDot(first));
  });

  it('keeps distinct Values with equal data distinct', () => {
    const p = new Value(2), q = new Value(2);
    const { nodes, edges } = parseDot(toDot(p.add(q)));
    const leaves = [...nodes.values()].filter((n) => n.label === '{ data 2 | grad 0 }');
    expect(leaves).toHaveLength(2);
    expect(new Set(edges.filter((e) => e.to.startsWith('o')).map((e) => e.from))).toEqual(new Set(leaves.map((n) => n.id)));
  });

  it('lays out left to right by default and top to bottom on request', () => {
    const { L } = sample();
    expect(toDot(L)).toContain('  rankdir=LR;');
    expect(toDot(L, { rankdir: 'TB' })).toContain('  rankdir=TB;');
    expect(() => toDot(L, { rankdir: 'RL' as 'LR' })).toThrow(/rankdir must be 'LR' or 'TB'/);
  });

  it('rejects a root that is not a Value', () => {
    expect(() => toDot(3 as unknown as Value)).toThrow(/root must be a Value, got number 3/);
  });

  it('defaults to a limit of 2,000 Values, as the README says', () => {
    // The measured layout times behind this figure are in dot.ts; the README and --help quote it.
    expect(DEFAULT_MAX_NODES).toBe(2000);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`maxNodes\` defaults to ${DEFAULT_MAX_NODES.toLocaleString('en-US')} Values`);
    expect(readme).toContain(`--max-nodes N\` (default ${DEFAULT_MAX_NODES.toLocaleString('en-US')} Values`);
  });

  it('refuses a graph past the limit, saying how many nodes and how to narrow it', () => {
    const x = new Value(0.5, 'x');
    let y = x;
    for (let k = 0; k < DEFAULT_MAX_NODES; k++) y = y.add(x);
    const err = (() => { try { toDot(y); } catch (e) { return e as Error; } throw new Error('no error'); })();
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toContain(`${DEFAULT_MAX_NODES + 1} Values`);
    expect(err.message).toContain(`${2 * DEFAULT_MAX_NODES + 1} nodes to draw`);
    expect(err.message).toContain(`limit of ${DEFAULT_MAX_NODES}`);
    expect(err.message).toMatch(/maxNodes/);
    expect(() => toDot(y.add(1), { maxNodes: 3 })).toThrow(/limit of 3/);
    expect(() => toDot(x, { maxNodes: 0 })).toThrow(/maxNodes must be a whole number/);
  });

  it('exports a 10⁴-Value graph when the limit is raised', () => {
    const x = new Value(0.5, 'x');
    let y = x;
    for (let k = 0; k < 10_000; k++) y = k % 2 ? y.mul(0.999) : y.add(x);
    y.backward();
    const { nodes, edges } = parseDot(toDot(y, { maxNodes: 20_000 }));
    const expected = countByInputs(y);
    expect(nodes.size).toBe(expected.values + expected.ops + expected.inlineConstants);
    expect(edges).toHaveLength(expected.edges);
  });
});

describe('toDot: marks', () => {
  it('draws marked nodes red with their note, from a Map or a list', () => {
    const { L, w, b } = sample();
    const note = mismatchNote(-0.012, w.grad);
    expect(note).toBe(`manual −0.012 ≠ autodiff ${formatNumber(w.grad)}`);
    const fromList = toDot(L, { marks: [{ value: w, note }, { value: b, note: 'check me' }] });
    const fromMap = toDot(L, { marks: new Map([[w, note], [b, 'check me']]) });
    expect(fromMap).toBe(fromList);
    const { nodes } = parseDot(fromList);
    const red = [...nodes.values()].filter((n) => n.attrs.includes('color="#dc2626"'));
    expect(red.map((n) => n.label)).toEqual([
      expect.stringContaining('check me'),
      expect.stringContaining(note),
    ]);
    expect(parseDot(toDot(L)).nodes.size).toBe(nodes.size);
    expect(toDot(L)).not.toContain('#dc2626');
  });

  it('rejects a mark on a Value outside the graph', () => {
    const { L } = sample();
    expect(() => toDot(L, { marks: [{ value: new Value(1, 'stray'), note: 'n' }] })).toThrow(/mark #1 .* not in the graph/);
    expect(() => toDot(L, { marks: [{ value: L, note: 3 as unknown as string }] })).toThrow(/must be \{ value: Value, note: string \}/);
  });
});

// ---------------------------------------------------------------------------------------------
// Through Graphviz (the WebAssembly build loads once per test file).

describe('renderSvg', () => {
  const hostile = [
    'quote " here', 'back\\slash \\N \\n \\l', '{braces}', 'pipe | bar', '<angle> brackets', 'two\nlines',
    '<script>alert(1)</script>', 'amp &amp; &lt;b&gt; &', 'tab\there', "it's", '  spaced  out  ',
    'ends with \\',
  ];

  it('renders hostile labels and notes as text: the DOT parses, the SVG carries no markup of theirs', async () => {
    const leaves = hostile.map((text, k) => new Value(k + 1, text));
    const seven = Value.constant(7);
    const root = Value.sum([...leaves, seven]);
    root.label = '<script>alert(2)</script>';
    root.backward();
    const marks = [{ value: leaves[0]!, note: '</text><script>x</script>"|{}' }, { value: seven, note: '<b>"\\' }];
    const svg = await renderSvg(toDot(root, { marks }));
    expect(svg).not.toMatch(/<script/i);
    const tags = new Set([...svg.matchAll(/<([a-zA-Z][\w:-]*)/g)].map((m) => m[1]!));
    for (const tag of tags) expect(['svg', 'g', 'title', 'text', 'polygon', 'polyline', 'ellipse', 'path']).toContain(tag);

    const groups = svgGroups(svg);
    const expected = countByInputs(root);
    expect(groups.filter((g) => g.kind === 'node')).toHaveLength(expected.values + expected.ops + expected.inlineConstants);
    expect(groups.filter((g) => g.kind === 'edge')).toHaveLength(expected.edges);
    const texts = groups.filter((g) => g.kind === 'node').map((g) => g.texts.map((t) => t.text));
    // Each label comes out whole as the first field of its node; a line break splits it into lines,
    // runs of spaces are kept (as no-break spaces), a tab becomes a space.
    for (const text of hostile) {
      const shown = text.replace(/\t/g, ' ');
      const found = texts.find((t) => t.slice(0, shown.split('\n').length).join('\n').replace(/\u00a0/g, ' ') === shown);
      expect(found, JSON.stringify(text)).toBeDefined();
    }
    expect(texts.flat()).toContain('<script>alert(2)</script>');
    expect(texts.flat()).toContain('</text><script>x</script>"|{}');
    expect(texts.flat()).toContain('<b>"\\');
  });

  it('lays a Value out as one row, left to right or top to bottom', async () => {
    const { L } = sample();
    for (const rankdir of ['LR', 'TB'] as const) {
      const groups = svgGroups(await renderSvg(toDot(L, { rankdir })));
      const nodeText = (s: string): SvgText[] => groups.find((g) => g.texts.some((t) => t.text === s))!.texts;
      const leaf = nodeText('w'), root = nodeText('L');
      for (const texts of [leaf, root]) {
        expect(texts.map((t) => t.text.split(' ')[0])).toEqual([texts[0]!.text, 'data', 'grad']);
        expect(new Set(texts.map((t) => t.y)).size).toBe(1);
      }
      // SVG y grows downwards.
      if (rankdir === 'LR') expect(root[0]!.x).toBeGreaterThan(leaf[0]!.x);
      else expect(root[0]!.y).toBeGreaterThan(leaf[0]!.y);
    }
  });

  it('draws marks red with their note in the SVG', async () => {
    const { L, w } = sample();
    const note = mismatchNote(-0.012, w.grad);
    const groups = svgGroups(await renderSvg(toDot(L, { marks: [{ value: w, note }] })));
    const marked = groups.filter((g) => g.body.includes('stroke="#dc2626"'));
    expect(marked).toHaveLength(1);
    expect(marked[0]!.texts.map((t) => t.text)).toEqual(['w', 'data 0.8', `grad ${formatNumber(w.grad)}`, note]);
    expect(marked[0]!.body).toContain('fill="#dc2626"');
  });

  it('turns Graphviz errors and empty input into clear Errors', async () => {
    await expect(renderSvg('digraph { a -> ')).rejects.toThrow(/^Graphviz could not render the DOT text: syntax error in line 1/);
    await expect(renderSvg('  \n')).rejects.toThrow(/DOT text is empty/);
    await expect(renderSvg(undefined as unknown as string)).rejects.toThrow(TypeError);
  });
});

describe('writeGraph', () => {
  let dir = '';
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'dot-test-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('writes .dot and .svg side by side, making the directory', async () => {
    const { L } = sample();
    const files = await writeGraph(L, join(dir, 'sub', 'sample.svg'), { rankdir: 'TB' });
    expect(files).toEqual({ dotPath: join(dir, 'sub', 'sample.dot'), svgPath: join(dir, 'sub', 'sample.svg') });
    expect(await readFile(files.dotPath, 'utf8')).toBe(toDot(L, { rankdir: 'TB' }));
    expect(await readFile(files.svgPath, 'utf8')).toMatch(/^<\?xml[\s\S]*<\/svg>\s*$/);
  });

  it('takes DOT text too, and writes nothing when Graphviz fails', async () => {
    await writeGraph('digraph { a -> b }', join(dir, 'plain'));
    await expect(writeGraph('digraph { a -> ', join(dir, 'broken'))).rejects.toThrow(/Graphviz could not render/);
    expect((await readdir(dir)).sort()).toEqual(['plain.dot', 'plain.svg', 'sub']);
    await expect(writeGraph('digraph {}', join(dir, 'x'), { rankdir: 'TB' })).rejects.toThrow(/options apply only when drawing a Value/);
  });
});
