/**
 * The model view: type a model, set its variables, see its computation graph with every gradient,
 * step through the backward pass one node at a time, and check hand-derived gradients.
 */
import {
  backwardSteps, buildGraph, ExpressionError, formatNumber, freeVariables, NonFiniteError, parseExpression,
  FUNCTION_NAMES, OP_SYMBOLS, toDot, topologicalOrder, zeroGrad,
  type BackwardStep, type ExpressionGraph, type Program, type Value,
} from '../../src/index.js';
import { checkDerivation } from './derivation.js';
import { fitSvg, mountSvg, refreshNumbers, renderDot, type DrawnValue } from './graph.js';
import { parseNumber } from './hash.js';
import { h } from './dom.js';

/** Past this many Values the page says the graph is too large instead of drawing it. */
export const PAGE_MAX_NODES = 400;
const DEBOUNCE_MS = 120;

export const EXAMPLES: readonly { readonly name: string; readonly expr: string; readonly at: Readonly<Record<string, number>> }[] = [
  {
    name: 'The learner\'s 1-1-1 network',
    expr: 'h = sigmoid(w1*x + b1)\ny = sigmoid(w2*h + b2)\n(y - a)^2',
    at: { w1: 0.3, x: 0.2222, b1: 0, w2: -0.2, b2: 0, a: 1 },
  },
  {
    name: 'micrograd\'s README expression',
    expr: [
      'c1 = a + b', 'd1 = a*b + b^3', 'c2 = c1 + c1 + 1', 'c3 = c2 + 1 + c2 - a',
      'd2 = d1 + d1*2 + relu(b + a)', 'd3 = d2 + 3*d2 + relu(b - a)', 'e = c3 - d3', 'f = e^2', 'f/2 + 10/f',
    ].join('\n'),
    at: { a: -4, b: 2 },
  },
  { name: 'A value used three times', expr: 'x*x + x', at: { x: 3 } },
  { name: 'A neuron', expr: 'tanh(x1*w1 + x2*w2 + b)', at: { x1: 2, w1: -3, x2: 0, w2: 1, b: 6.8814 } },
  { name: 'relu off: zero gradients below', expr: 'relu(x*w - 5) * y', at: { x: 1, w: 2, y: 3 } },
];

export interface ModelState {
  readonly expr: string;
  readonly at: ReadonlyMap<string, number>;
  readonly manual: ReadonlyMap<string, string>;
}

export interface ModelViewOptions {
  readonly initial: ModelState;
  /** Problems found in the link that opened the page. */
  readonly linkErrors: readonly string[];
  /** Called whenever the state worth keeping in the link changes. */
  readonly onState: (state: ModelState) => void;
}

interface Built {
  readonly program: Program;
  readonly graph: ExpressionGraph;
  readonly order: readonly Value[];
}

export class ModelView {
  readonly root: HTMLElement;
  private readonly editor: HTMLTextAreaElement;
  private readonly errorBox: HTMLElement;
  private readonly noteBox: HTMLElement;
  private readonly varBody: HTMLElement;
  private readonly manualBody: HTMLElement;
  private readonly graphHost: HTMLElement;
  private readonly stepLog: HTMLOListElement;
  private readonly stepStatus: HTMLElement;
  private readonly stepButton: HTMLButtonElement;
  private readonly allButton: HTMLButtonElement;
  private readonly resetButton: HTMLButtonElement;
  private readonly svgLink: HTMLAnchorElement;

  private at = new Map<string, number>();
  private manual = new Map<string, string>();
  private built: Built | null = null;
  private drawn = new Map<Value, DrawnValue>();
  private drawnFor: Built | null = null;
  private lastDot = '';
  private renderSerial = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stepper: Generator<BackwardStep, void, undefined> | null = null;
  private stepsDone = 0;
  private finished = true;
  private shares = new Map<Value, number[]>();
  private svgUrl: string | null = null;

  constructor(private readonly options: ModelViewOptions) {
    this.at = new Map(options.initial.at);
    this.manual = new Map(options.initial.manual);
    this.editor = h('textarea', {
      'data-testid': 'expression', spellcheck: 'false', rows: '7', 'aria-label': 'Model (expression language)',
      autocapitalize: 'off', autocomplete: 'off',
    }) as HTMLTextAreaElement;
    this.editor.value = options.initial.expr;
    this.errorBox = h('div', { 'data-testid': 'expression-error', class: 'error', role: 'alert', hidden: '' });
    this.noteBox = h('div', { class: 'note', 'data-testid': 'graph-note', hidden: '' });
    this.varBody = h('tbody');
    this.manualBody = h('tbody');
    this.graphHost = h('div', { 'data-testid': 'graph', 'data-state': 'empty', class: 'graph' });
    this.stepLog = h('ol', { 'data-testid': 'step-log', class: 'step-log', 'aria-live': 'polite' }) as HTMLOListElement;
    this.stepStatus = h('span', { class: 'step-status', 'data-testid': 'step-status' });
    this.stepButton = h('button', { 'data-testid': 'backward-step', type: 'button', title: 'Process the next node (n)' }, 'Step') as HTMLButtonElement;
    this.allButton = h('button', { 'data-testid': 'backward-all', type: 'button', title: 'Run to the end (e)' }, 'Run to end') as HTMLButtonElement;
    this.resetButton = h('button', { 'data-testid': 'backward-reset', type: 'button', title: 'Zero every gradient, leaves too (r)' }, 'Reset') as HTMLButtonElement;
    this.svgLink = h('a', { 'data-testid': 'graph-svg', download: 'graph.svg', class: 'small' }, 'Download SVG') as HTMLAnchorElement;

    const examples = h('select', { 'aria-label': 'Examples', 'data-testid': 'examples' },
      h('option', { value: '' }, 'Examples…'),
      ...EXAMPLES.map((e, k) => h('option', { value: String(k) }, e.name))) as HTMLSelectElement;
    examples.addEventListener('change', () => {
      const e = EXAMPLES[Number(examples.value)];
      examples.value = '';
      if (!e) return;
      this.editor.value = e.expr;
      this.at = new Map(Object.entries(e.at));
      this.manual.clear();
      this.changed(true);
    });

    this.editor.addEventListener('input', () => this.changed(false));
    this.stepButton.addEventListener('click', () => this.step());
    this.allButton.addEventListener('click', () => this.runToEnd());
    this.resetButton.addEventListener('click', () => this.reset());

    this.root = h('div', { class: 'model-view' },
      h('div', { class: 'side' },
        h('div', { class: 'row' }, h('label', { for: 'model-editor' }, h('strong', {}, 'Model')), examples),
        this.editor,
        this.errorBox,
        h('p', { class: 'hint' }, `One statement a line (or ;), the last is the output. + − × ÷ ^, ${FUNCTION_NAMES.join(' ')}; # comments.`),
        ...options.linkErrors.map((m) => h('div', { class: 'error', 'data-testid': 'link-error' }, m)),
        h('h3', {}, 'Variables'),
        h('table', { class: 'vars' }, h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'value'), h('th', {}, ''), h('th', {}, 'grad'))), this.varBody),
      ),
      h('div', { class: 'main' },
        h('div', { class: 'row controls', role: 'toolbar', 'aria-label': 'Backward pass' },
          h('strong', {}, 'Backward pass'), this.stepButton, this.allButton, this.resetButton, this.stepStatus, this.svgLink),
        this.noteBox,
        this.graphHost,
        h('div', { class: 'below' },
          h('div', {}, h('h3', {}, 'Step log'), this.stepLog),
          h('div', {},
            h('h3', {}, 'Check my derivation'),
            h('p', { class: 'hint' }, 'Your ∂output/∂name, in the expression language; it may use the variables and named intermediates.'),
            h('table', { class: 'manual' }, this.manualBody))),
      ),
    );
    this.editor.id = 'model-editor';
    document.addEventListener('keydown', this.onKey);
    this.rebuild();
  }

  /** n: step, e: run to the end, r: reset, when no text field has the keyboard. */
  private readonly onKey = (e: KeyboardEvent): void => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target as HTMLElement | null;
    if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
    const action = { n: () => this.step(), e: () => this.runToEnd(), r: () => this.reset() }[e.key];
    if (action) {
      e.preventDefault();
      action();
    }
  };

  /** Stops timers and frees what the view holds. */
  destroy(): void {
    document.removeEventListener('keydown', this.onKey);
    if (this.timer !== null) clearTimeout(this.timer);
    this.renderSerial++;
    if (this.svgUrl) URL.revokeObjectURL(this.svgUrl);
  }

  /** The model's text changed (or an example was picked): rebuild soon, or now. */
  private changed(now: boolean): void {
    this.graphHost.dataset.state = 'pending';
    if (this.timer !== null) clearTimeout(this.timer);
    if (now) this.rebuild();
    else this.timer = setTimeout(() => this.rebuild(), DEBOUNCE_MS);
  }

  private state(): ModelState {
    return { expr: this.editor.value, at: this.at, manual: this.manual };
  }

  private showError(e: { message: string; line?: number; column?: number } | null): void {
    const box = this.errorBox;
    if (e === null) {
      box.hidden = true;
      box.textContent = '';
      delete box.dataset.line;
      delete box.dataset.column;
      return;
    }
    box.hidden = false;
    if (e.line !== undefined && e.column !== undefined) {
      box.dataset.line = String(e.line);
      box.dataset.column = String(e.column);
      box.textContent = `line ${e.line}, column ${e.column}: ${e.message}`;
    } else {
      delete box.dataset.line;
      delete box.dataset.column;
      box.textContent = e.message;
    }
  }

  private note(text: string | null): void {
    this.noteBox.hidden = text === null;
    this.noteBox.textContent = text ?? '';
  }

  /** Parses, builds, differentiates and draws the model; an error keeps the last good graph. */
  private rebuild(): void {
    this.timer = null;
    const source = this.editor.value;
    this.options.onState(this.state());
    let program: Program;
    try {
      program = parseExpression(source);
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      this.showError({ message: e.reason, line: e.line, column: e.column });
      this.keepLastGraph();
      return;
    }
    const variables = freeVariables(program);
    for (const name of variables) if (!this.at.has(name)) this.at.set(name, 1);
    this.renderVariables(variables);
    let graph: ExpressionGraph;
    try {
      const bindings = Object.fromEntries(variables.map((n) => [n, this.at.get(n)!]));
      graph = buildGraph(program, bindings);
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      this.showError({ message: e.reason, line: e.line, column: e.column });
      this.keepLastGraph();
      return;
    }
    this.showError(null);
    try {
      graph.output.backward();
      this.note(null);
    } catch (e) {
      if (!(e instanceof NonFiniteError)) throw e;
      this.note(`The backward pass stops: ${e.message}`);
    }
    this.built = { program, graph, order: topologicalOrder(graph.output) };
    this.stepper = null;
    this.finished = true;
    this.shares.clear();
    this.stepLog.replaceChildren();
    this.renderManual();
    this.updateVariableGrads();
    this.updateStepStatus();
    this.options.onState(this.state());
    this.draw();
  }

  private keepLastGraph(): void {
    this.graphHost.dataset.state = this.drawnFor ? 'ready' : 'empty';
    this.graphHost.dataset.stale = 'true';
  }

  /** Lays the graph out in the worker unless its DOT text is what is already drawn. */
  private draw(): void {
    const built = this.built!;
    let dot: string;
    try {
      dot = toDot(built.graph.output, { maxNodes: PAGE_MAX_NODES });
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      this.graphHost.replaceChildren(h('p', { class: 'too-large' },
        `This graph has ${built.order.length} Values: more than the ${PAGE_MAX_NODES} the page draws (Graphviz would take long to lay it out, and the picture would be unreadable). Gradients are in the table; make the model smaller to see its graph.`));
      this.graphHost.dataset.state = 'too-large';
      this.drawn.clear();
      this.drawnFor = null;
      this.lastDot = '';
      return;
    }
    delete this.graphHost.dataset.stale;
    if (dot === this.lastDot && this.drawnFor !== null) {
      // Same picture: keep the layout, relink it to the new Values.
      this.relink(built);
      this.graphHost.dataset.state = 'ready';
      return;
    }
    const serial = ++this.renderSerial;
    this.graphHost.dataset.state = 'drawing';
    renderDot(dot).then((svg) => {
      if (serial !== this.renderSerial) return; // a newer model is being drawn
      this.lastDot = dot;
      this.drawn = mountSvg(this.graphHost, svg, built.order);
      fitSvg(this.graphHost);
      this.drawnFor = built;
      this.setSvgLink(svg);
      this.relink(built);
      this.graphHost.dataset.state = 'ready';
    }, (e: unknown) => {
      if (serial !== this.renderSerial) return;
      this.graphHost.dataset.state = 'error';
      this.graphHost.replaceChildren(h('p', { class: 'error' }, `Graphviz could not draw the graph: ${e instanceof Error ? e.message : String(e)}`));
    });
  }

  private setSvgLink(svg: string): void {
    if (this.svgUrl) URL.revokeObjectURL(this.svgUrl);
    this.svgUrl = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
    this.svgLink.href = this.svgUrl;
  }

  /** Points the drawn nodes at the current Values (the same picture can outlive a rebuild) and refreshes them. */
  private relink(built: Built): void {
    if (this.drawnFor !== built) {
      const next = new Map<Value, DrawnValue>();
      const old = this.drawnFor!.order;
      built.order.forEach((v, k) => {
        const d = this.drawn.get(old[k]!);
        if (d) next.set(v, { ...d, value: v });
      });
      this.drawn = next;
      this.drawnFor = built;
    }
    for (const d of this.drawn.values()) d.group.classList.remove('current', 'done', 'updated', 'marked');
    refreshNumbers(this.drawn);
    this.markNodes();
  }

  // -------------------------------------------------------------------------------------------
  // Variables.

  private renderVariables(names: readonly string[]): void {
    const existing = new Map([...this.varBody.querySelectorAll<HTMLTableRowElement>('tr')].map((r) => [r.dataset.name!, r]));
    const rows = names.map((name) => existing.get(name) ?? this.variableRow(name));
    for (const row of rows) {
      const name = row.dataset.name!;
      const input = row.querySelector<HTMLInputElement>('input[type=text]')!;
      if (document.activeElement !== input && parseNumber(input.value) !== this.at.get(name)) input.value = String(this.at.get(name));
      this.syncSlider(row, this.at.get(name)!);
    }
    // Only when the rows changed: taking a focused input out of the page and back blurs it, and a rebuild
    // (debounced after one input) would then drop what is being typed into the next.
    const current = this.varBody.children;
    if (rows.length !== current.length || rows.some((row, k) => current[k] !== row)) this.varBody.replaceChildren(...rows);
  }

  private variableRow(name: string): HTMLTableRowElement {
    const input = h('input', {
      type: 'text', inputmode: 'decimal', 'data-testid': `var-${name}`, 'aria-label': `value of ${name}`, size: '8',
    }) as HTMLInputElement;
    input.value = String(this.at.get(name) ?? 1);
    const slider = h('input', { type: 'range', 'aria-label': `slider for ${name}`, step: 'any' }) as HTMLInputElement;
    const grad = h('td', { class: 'grad', 'data-testid': `grad-${name}` });
    const row = h('tr', { 'data-name': name }, h('th', {}, name), h('td', {}, input), h('td', {}, slider), grad) as HTMLTableRowElement;
    input.addEventListener('input', () => {
      const n = parseNumber(input.value);
      input.setAttribute('aria-invalid', String(n === null));
      if (n === null) return;
      this.at.set(name, n);
      this.syncSlider(row, n);
      this.changed(false);
    });
    slider.addEventListener('input', () => {
      const n = Number(slider.value);
      this.at.set(name, n);
      input.value = String(n);
      input.setAttribute('aria-invalid', 'false');
      this.changed(false);
    });
    return row;
  }

  private syncSlider(row: HTMLTableRowElement, x: number): void {
    const slider = row.querySelector<HTMLInputElement>('input[type=range]')!;
    const span = Math.max(5, Math.ceil(2 * Math.abs(x)));
    slider.min = String(-span);
    slider.max = String(span);
    if (document.activeElement !== slider) slider.value = String(x);
  }

  /** Each variable's gradient; while stepping, the shares summed so far. */
  private updateVariableGrads(): void {
    if (!this.built) return;
    for (const [name, v] of this.built.graph.variables) {
      const cell = this.varBody.querySelector<HTMLElement>(`tr[data-name="${name}"] td.grad`);
      if (!cell) continue;
      cell.dataset.value = String(v.grad);
      const parts = this.shares.get(v);
      cell.textContent = parts && parts.length > 1
        ? `${parts.map((x) => formatNumber(x)).join(' + ')} = ${formatNumber(v.grad)}`
        : formatNumber(v.grad);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Check my derivation.

  private renderManual(): void {
    const built = this.built!;
    const names = [...built.graph.variables.keys(), ...built.graph.intermediates.keys()];
    const rows = names.map((name) => {
      let row = this.manualBody.querySelector<HTMLTableRowElement>(`tr[data-name="${name}"]`);
      if (!row) {
        const input = h('input', {
          type: 'text', 'data-testid': `manual-${name}`, 'aria-label': `your ∂output/∂${name}`, placeholder: `∂out/∂${name}`,
          spellcheck: 'false', autocapitalize: 'off',
        }) as HTMLInputElement;
        input.value = this.manual.get(name) ?? '';
        input.addEventListener('input', () => {
          this.manual.set(name, input.value);
          if (input.value.trim() === '') this.manual.delete(name);
          this.options.onState(this.state());
          this.renderVerdicts();
          this.markNodes();
        });
        row = h('tr', { 'data-name': name },
          h('th', {}, `∂/∂${name}`), h('td', {}, input),
          h('td', { class: 'verdict', 'data-testid': `verdict-${name}` })) as HTMLTableRowElement;
      }
      return row;
    });
    this.manualBody.replaceChildren(...rows);
    this.renderVerdicts();
  }

  private verdicts = new Map<string, ReturnType<typeof checkDerivation>>();

  private renderVerdicts(): void {
    const built = this.built;
    if (!built) return;
    this.verdicts.clear();
    for (const row of this.manualBody.querySelectorAll<HTMLTableRowElement>('tr')) {
      const name = row.dataset.name!;
      const cell = row.querySelector<HTMLElement>('td.verdict')!;
      const formula = this.manual.get(name) ?? '';
      if (formula.trim() === '') {
        cell.replaceChildren();
        delete cell.dataset.ok;
        continue;
      }
      const r = checkDerivation(built.program, this.bindings(built), built.graph, name, formula);
      this.verdicts.set(name, r);
      cell.dataset.ok = String(r.ok);
      cell.replaceChildren(
        h('span', { class: r.ok ? 'ok' : 'wrong' }, r.ok ? '✓ ' : '✗ ', r.verdict),
        ...(r.diagnosis ? [h('div', { class: 'diagnosis' }, r.diagnosis)] : []),
        ...(r.corrected ? [h('div', { class: 'corrected' }, 'corrected: ', h('code', {}, r.corrected))] : []),
      );
    }
  }

  /** The variables' values the model was built with. */
  private bindings(built: Built): Record<string, number> {
    return Object.fromEntries([...built.graph.variables.keys()].map((n) => [n, this.at.get(n)!]));
  }

  private markNodes(): void {
    const built = this.built;
    if (!built) return;
    const marked = new Set<Value>();
    for (const r of this.verdicts.values()) for (const v of r.marks) marked.add(v);
    for (const [v, d] of this.drawn) d.group.classList.toggle('marked', marked.has(v));
  }

  // -------------------------------------------------------------------------------------------
  // Stepping.

  /** Zeroes every gradient (leaves too) and starts the pass over. */
  private reset(): void {
    const built = this.built;
    if (!built) return;
    zeroGrad(built.order);
    this.stepper = backwardSteps(built.graph.output);
    this.stepsDone = 0;
    this.finished = false;
    this.shares.clear();
    this.stepLog.replaceChildren();
    for (const d of this.drawn.values()) d.group.classList.remove('current', 'done', 'updated');
    refreshNumbers(this.drawn);
    this.updateVariableGrads();
    this.updateStepStatus();
  }

  private step(): boolean {
    if (!this.built) return false;
    if (this.stepper === null || this.finished) this.reset();
    let next: IteratorResult<BackwardStep, void>;
    try {
      next = this.stepper!.next();
    } catch (e) {
      if (!(e instanceof NonFiniteError)) throw e;
      this.note(`The backward pass stops: ${e.message}`);
      this.finished = true;
      this.updateStepStatus();
      return false;
    }
    if (next.done) {
      this.finished = true;
      this.updateStepStatus();
      return false;
    }
    this.show(next.value);
    this.stepsDone++;
    if (this.stepsDone === next.value.total) this.finished = true;
    this.updateStepStatus();
    return true;
  }

  private runToEnd(): void {
    if (!this.built) return;
    if (this.stepper === null || this.finished) this.reset();
    while (this.step() && !this.finished) { /* each step logs itself */ }
  }

  private show(s: BackwardStep): void {
    for (const d of this.drawn.values()) {
      if (d.group.classList.contains('current')) d.group.classList.replace('current', 'done');
      d.group.classList.remove('updated');
    }
    this.drawn.get(s.node)?.group.classList.add('current');
    const symbol = (v: Value): string => OP_SYMBOLS[v.op as keyof typeof OP_SYMBOLS];
    const name = (v: Value): string => v.label || (v.isConstant ? `constant ${formatNumber(v.data)}` : v.isLeaf ? 'leaf' : symbol(v));
    const item = h('li', { 'data-node': name(s.node) },
      h('div', { class: 'head' }, `${s.index + 1}/${s.total} `, h('strong', {}, name(s.node)),
        s.node.isLeaf
          ? ' (the output itself): grad += 1'
          : `${s.node.label ? ` = ${symbol(s.node)}(…)` : ''}: grad ${formatNumber(s.grad)}${s.zero ? ' — zero: backward() may skip passing this on' : ''}`));
    for (const u of s.updates) {
      this.drawn.get(u.input)?.group.classList.add('updated');
      if (u.input.isLeaf) this.shares.set(u.input, [...(this.shares.get(u.input) ?? []), u.share]);
      const sum = u.before === null
        ? formatNumber(u.after)
        : `${formatNumber(u.before)} + ${formatNumber(u.share)} = ${formatNumber(u.after)}`;
      item.append(h('div', { class: 'update', 'data-input': name(u.input), 'data-after': String(u.after) },
        `grad(${name(u.input)}) += grad(${name(s.node)}) × ${formatNumber(u.local)} = ${formatNumber(s.grad)} × ${formatNumber(u.local)} = ${formatNumber(u.share)}  → ${sum}`,
        u.count > 1 ? h('span', { class: 'sum' }, `  (Σ of ${u.count} shares)`) : ''));
    }
    this.stepLog.append(item);
    this.stepLog.scrollTop = this.stepLog.scrollHeight; // the log scrolls, never the page
    refreshNumbers(this.drawn);
    this.updateVariableGrads();
  }

  private updateStepStatus(): void {
    const total = this.built ? Math.max(1, this.built.order.filter((v) => !v.isLeaf).length) : 0;
    this.stepStatus.textContent = this.stepper === null
      ? `${total} steps · showing backward()`
      : this.finished ? `done: ${this.stepsDone} of ${total} steps` : `step ${this.stepsDone} of ${total}`;
    this.stepButton.disabled = this.built === null;
    this.allButton.disabled = this.built === null;
  }
}
