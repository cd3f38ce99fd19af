/**
 * DOT pictures of a computation graph and its backward pass, as text (browser-safe; the Node-only
 * `renderSvg`/`writeGraph` in `src/node/render.ts` turn it into SVG with graphviz-cli).
 *
 * Every Value is a box showing its label, data and grad; every operation is a small node of its
 * own; each input → operation edge carries the local derivative ∂out/∂input, so the chain rule
 * grad(input) = Σ grad(out) · local derivative can be checked on the picture.
 *
 * User text is escaped for DOT, for Graphviz's record labels and for its label escapes, so no label
 * can break the DOT or put live markup into the SVG. (Record labels rather than HTML-like ones: the
 * Graphviz build inside graphviz-cli draws HTML-like labels as the node's id.)
 */
import { topologicalOrder, Value, type OpName } from '../engine/value.js';
import { OPS, OP_NAMES } from '../engine/ops.js';
import { describeUnknown } from '../engine/describe.js';

/** A node to draw as wrong (red), with a note saying why. */
export interface DotMark {
  readonly value: Value;
  /** Shown under the node, e.g. `mismatchNote(manual, autodiff)`. */
  readonly note: string;
}

export interface DotOptions {
  /** Significant digits of data, grad and local derivatives (1 to 17). Default 4. */
  readonly precision?: number;
  /** Layout direction: `'LR'` (default) left to right, `'TB'` top to bottom. */
  readonly rankdir?: 'LR' | 'TB';
  /** Label each input → operation edge with its local derivative ∂out/∂input. Default true. */
  readonly edgeLabels?: boolean;
  /**
   * Nodes to draw red with a note, as a Map from Value to note or a list of `{ value, note }`
   * (a Value listed twice shows both notes). Each must be in the graph.
   */
  readonly marks?: ReadonlyMap<Value, string> | readonly DotMark[];
  /**
   * The most Values the picture may hold (default `DEFAULT_MAX_NODES`). Past it `toDot` throws
   * rather than hand Graphviz a graph it would take minutes to lay out.
   */
  readonly maxNodes?: number;
  /** A caption saying how to read the picture. Default true. */
  readonly legend?: boolean;
}

/**
 * Default limit on the Values drawn. Measured with the bundled Graphviz (dot layout) on an MLP-like
 * graph: ~1,000 Values lay out in ~1 s, ~1,600 in ~2.5 s, ~3,900 in ~30 s and ~7,100 in ~2.5 min.
 * At 2,000 the wait stays a few seconds, and a picture stops being readable well before that.
 */
export const DEFAULT_MAX_NODES = 2000;

/** The symbol drawn in the node of each operation (from the op table). */
export const OP_SYMBOLS: Readonly<Record<Exclude<OpName, ''>, string>> =
  Object.freeze(Object.fromEntries(OP_NAMES.map((name) => [name, OPS[name].symbol]))) as Readonly<Record<Exclude<OpName, ''>, string>>;

// Operations whose two operands play different parts: their edges name the operand (a or b, as in
// the engine's messages: a − b, a ÷ b, aᵇ).
const ORDERED_OPS: ReadonlySet<OpName> = new Set<OpName>(
  OP_NAMES.filter((name) => OPS[name].arity === 2 && (OPS[name] as { ordered: boolean }).ordered));

const STYLE = {
  leaf: '#dbeafe',
  interior: '#ffffff',
  root: '#fde68a',
  op: '#f3f4f6',
  derivative: '#1d4ed8',
  wrong: '#fee2e2',
  wrongLine: '#dc2626',
  constant: '#555555',
} as const;

/** `"manual −0.012 ≠ autodiff 0.045"`: the note for a gradient computed by hand that disagrees. */
export function mismatchNote(manual: number, autodiff: number, precision = 4): string {
  checkPrecision(precision);
  return `manual ${formatNumber(manual, precision)} ≠ autodiff ${formatNumber(autodiff, precision)}`;
}

/**
 * `x` to `precision` significant digits, trailing zeros dropped, with a true minus sign
 * (`-0.0120` → `−0.012`, `123456` → `1.235e5` at 4 digits).
 */
export function formatNumber(x: number, precision = 4): string {
  if (x === 0) return '0'; // also −0, which would read as a sign error
  if (!Number.isFinite(x)) return String(x).replace('-', '−');
  const [mantissa, exponent] = x.toPrecision(precision).split('e') as [string, string | undefined];
  const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  const s = exponent === undefined ? m : `${m}e${exponent.replace('+', '')}`;
  return s.replaceAll('-', '−');
}

/**
 * The DOT text of the graph that computes `root`: deterministic (node ids follow
 * `topologicalOrder(root)`), so the same graph always gives the same bytes.
 *
 * Edge labels are the local derivatives the engine stored when each node was made; if `data` was
 * changed since, rebuild the graph (as a forward pass does) before drawing.
 */
export function toDot(root: Value, options: DotOptions = {}): string {
  if (!(root instanceof Value)) throw new TypeError(`toDot: root must be a Value, got ${describeUnknown(root)}`);
  const precision = options.precision ?? 4;
  checkPrecision(precision);
  const rankdir = options.rankdir ?? 'LR';
  if (rankdir !== 'LR' && rankdir !== 'TB') {
    throw new RangeError(`toDot: rankdir must be 'LR' or 'TB', got ${describeUnknown(rankdir)}`);
  }
  const maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
  if (!(Number.isInteger(maxNodes) && maxNodes >= 1)) {
    throw new RangeError(`toDot: maxNodes must be a whole number ≥ 1, got ${describeUnknown(maxNodes)}`);
  }
  const edgeLabels = options.edgeLabels ?? true;
  const legend = options.legend ?? true;

  const order = topologicalOrder(root);
  if (order.length > maxNodes) throw tooLarge(order, maxNodes);
  const index = new Map<Value, number>();
  for (let k = 0; k < order.length; k++) index.set(order[k]!, k);
  const notes = collectMarks(options.marks ?? [], index);

  const fmt = (x: number): string => formatNumber(x, precision);
  const lines: string[] = [
    'digraph backward {',
    `  rankdir=${rankdir};`,
    '  node [fontname="Helvetica", fontsize=12];',
    `  edge [fontname="Helvetica", fontsize=10, fontcolor="${STYLE.derivative}", arrowsize=0.7];`,
  ];
  if (legend) {
    const text = edgeLabels
      ? 'blue box: leaf;  amber box: root;  blue edge label: local derivative ∂out/∂in\\nchain rule: grad(in) = Σ over its out-edges of grad(out) × edge label'
      : 'blue box: leaf;  amber box: root';
    lines.push(`  labelloc=b; fontname="Helvetica"; fontsize=10; label="${text}";`);
  }

  for (let k = 0; k < order.length; k++) {
    const v = order[k]!;
    const id = `v${k}`;
    const mark = notes.get(v);
    if (v.isConstant) {
      lines.push(`  ${id} [${constantAttributes(v.data, fmt, mark)}];`);
      continue;
    }
    const kind = mark ? 'wrong' : v === root ? 'root' : v.isLeaf ? 'leaf' : 'interior';
    lines.push(`  ${id} [${valueAttributes(v, kind, rankdir, fmt, mark)}];`);
    if (v.isLeaf) continue;

    const op = v.op as Exclude<OpName, ''>;
    const opId = `o${k}`;
    lines.push(`  ${opId} [shape=ellipse, style=filled, fillcolor="${STYLE.op}", fontsize=11, width=0.3, height=0.3, margin="0.04,0.02", label="${OP_SYMBOLS[op]}"];`);
    const inputs = v.inputs;
    const derivatives = v.localGradients;
    const named = ORDERED_OPS.has(op);
    for (let slot = 0; slot < inputs.length; slot++) {
      const input = inputs[slot]!;
      const d = derivatives[slot] ?? null;
      let from: string;
      if (d === null) {
        // A number operand: it lives inline in the node, so it gets a small leaf per slot.
        from = `k${k}_${slot}`;
        lines.push(`  ${from} [${constantAttributes(input.data, fmt, undefined)}];`);
      } else {
        from = `v${index.get(input)!}`;
      }
      const parts: string[] = [];
      if (named) parts.push(slot === 0 ? 'a' : 'b');
      if (edgeLabels && d !== null) parts.push(fmt(d));
      const label = parts.length > 0 ? ` [label="${parts.join(': ')}"]` : '';
      lines.push(`  ${from} -> ${opId}${label};`);
    }
    lines.push(`  ${opId} -> ${id};`);
  }
  lines.push('}', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

// Record fields are laid out across the rank direction at the top level, and each { } turns the
// layout by 90°: so LR needs one more level of braces than TB for the same picture.
function valueAttributes(
  v: Value,
  kind: 'leaf' | 'interior' | 'root' | 'wrong',
  rankdir: 'LR' | 'TB',
  fmt: (x: number) => string,
  notes: readonly string[] | undefined,
): string {
  const fields: string[] = [];
  if (v.label !== '') fields.push(recordText(v.label));
  fields.push(`data ${fmt(v.data)}`, `grad ${fmt(v.grad)}`);
  const row = fields.join(' | ');
  let label: string;
  if (notes === undefined) label = rankdir === 'LR' ? `{ ${row} }` : row;
  else {
    const note = notes.map(recordText).join('\\n');
    label = rankdir === 'LR' ? `{ ${row} } | ${note}` : `{ { ${row} } | ${note} }`;
  }
  const style = [`shape=record`, `style=filled`, `fillcolor="${STYLE[kind]}"`];
  if (kind === 'root') style.push('penwidth=2');
  if (kind === 'wrong') style.push(`color="${STYLE.wrongLine}"`, `fontcolor="${STYLE.wrongLine}"`, 'penwidth=2');
  return `${style.join(', ')}, label="${label}"`;
}

function constantAttributes(x: number, fmt: (x: number) => string, notes: readonly string[] | undefined): string {
  const text = [fmt(x), ...(notes ?? []).map(plainText)].join('\\n');
  const color = notes ? STYLE.wrongLine : STYLE.constant;
  return `shape=plaintext, fontsize=10, width=0, height=0, margin="0.04,0.02", fontcolor="${color}", label="${text}"`;
}

function collectMarks(
  marks: ReadonlyMap<Value, string> | readonly DotMark[],
  index: ReadonlyMap<Value, number>,
): Map<Value, string[]> {
  let list: readonly DotMark[];
  if (marks instanceof Map) list = [...marks].map(([value, note]) => ({ value, note }));
  else if (Array.isArray(marks)) list = marks;
  else throw new TypeError(`toDot: marks must be a Map<Value, string> or an array of { value, note }, got ${describeUnknown(marks)}`);
  const notes = new Map<Value, string[]>();
  list.forEach((mark: DotMark, k) => {
    if (!(mark?.value instanceof Value) || typeof mark.note !== 'string') {
      throw new TypeError(`toDot: mark #${k + 1} must be { value: Value, note: string }`);
    }
    if (!index.has(mark.value)) {
      throw new Error(`toDot: mark #${k + 1} (${JSON.stringify(mark.note)}) points at a Value that is not in the graph of root: ${mark.value}`);
    }
    const existing = notes.get(mark.value);
    if (existing) existing.push(mark.note);
    else notes.set(mark.value, [mark.note]);
  });
  return notes;
}

function tooLarge(order: readonly Value[], maxNodes: number): Error {
  let ops = 0, inlineConstants = 0;
  for (const v of order) {
    if (v.isLeaf) continue;
    ops++;
    for (const d of v.localGradients) if (d === null) inlineConstants++;
  }
  const total = order.length + ops + inlineConstants;
  return new RangeError(
    `toDot: the graph has ${order.length} Values (${total} nodes to draw with its operations and constants), ` +
      `over the limit of ${maxNodes}: Graphviz could take minutes to lay it out, and the picture would be unreadable. ` +
      `Draw a part of it (toDot(v) for an intermediate Value v draws only what v depends on), ` +
      `or raise the limit with { maxNodes: ${order.length} }.`,
  );
}

function checkPrecision(precision: number): void {
  if (!(Number.isInteger(precision) && precision >= 1 && precision <= 17)) {
    throw new RangeError(`precision must be a whole number from 1 to 17, got ${describeUnknown(precision)}`);
  }
}

/**
 * User text as the inside of a quoted DOT label. Backslashes are doubled (else `\N`, `\n`... are
 * Graphviz escapes), quotes escaped for the DOT parser, `&` written `&amp;` (Graphviz reads entities
 * in labels), line breaks become `\n`; tabs become spaces and other control characters, which the
 * SVG (XML) cannot carry, become U+FFFD. Graphviz itself writes `<`, `>`, `&`, `"` as entities in
 * the SVG.
 */
function plainText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, ' ')
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '\ufffd')
    .replace(/[\\"&\n]/g, (c) => PLAIN_ESCAPES[c]!);
}

/**
 * User text as one field of a record label: also escapes the record syntax `{ } | < >`, and keeps
 * runs of spaces and end spaces (which records collapse or trim) as no-break spaces.
 */
function recordText(text: string): string {
  return plainText(text)
    .replace(/[{}|<>]/g, (c) => `\\${c}`)
    .replace(/ /g, (space, i: number, all: string) =>
      i > 0 && all[i - 1] !== ' ' && i < all.length - 1 && all[i + 1] !== ' ' ? space : '\u00a0');
}

const PLAIN_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '"': '\\"',
  '&': '&amp;',
  '\n': '\\n',
};

