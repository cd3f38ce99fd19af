/**
 * The learner's network: `npm start`'s report as a page (its six sections, computed in a worker by
 * the same code, so the numbers are the same), with the 1-1-1 net trained live by the learner's
 * rules and by correct gradients side by side.
 */
import {
  autodiffGradients, DEFAULT_SEED, initialParams, learnerDeltas, meanLoss, PARAM_NAMES, predict, trainingSet,
  type Params, type Sample, type Target,
} from '../../src/learner/index.js';
import { createRng, formatNumber, type Rng } from '../../src/index.js';
import { drawChart } from './chart.js';
import { h } from './dom.js';
import type { ReportMessage } from './report-worker.js';

const STEPS = 10_000;
const LR = 0.1;
const RECORD_EVERY = 100;
const SLICE_MS = 30;

/** One live run of the learner's training loop, step by step: the same steps as `train()` at the same seed. */
class LiveRun {
  readonly rng: Rng;
  readonly p: Params;
  readonly samples: Sample[];
  readonly curve: { x: number; y: number }[];
  step = 0;
  error: string | null = null;

  constructor(readonly rules: 'learner' | 'autodiff', readonly target: Target, seed: number) {
    this.rng = createRng(seed);
    this.p = { ...initialParams(this.rng) };
    this.samples = trainingSet(target);
    this.curve = [{ x: 0, y: meanLoss(this.p, this.samples) }];
  }

  advance(): void {
    if (this.error !== null) return;
    const { x, a } = this.samples[this.rng.int(this.samples.length)]!;
    if (this.rules === 'learner') {
      const d = learnerDeltas(this.p, x, a, LR);
      for (const k of PARAM_NAMES) this.p[k] -= d[k];
    } else {
      const g = autodiffGradients(this.p, x, a).grads;
      for (const k of PARAM_NAMES) this.p[k] -= LR * g[k];
    }
    this.step++;
    for (const k of PARAM_NAMES) if (!Number.isFinite(this.p[k])) this.error = `diverged at step ${this.step}: ${k} = ${this.p[k]}`;
    if (this.step % RECORD_EVERY === 0 || this.step === STEPS) this.curve.push({ x: this.step, y: this.loss() });
  }

  loss(): number {
    return meanLoss(this.p, this.samples);
  }
}

export class LearnerView {
  readonly root: HTMLElement;
  private readonly sections: HTMLElement;
  private readonly trainButton: HTMLButtonElement;
  private readonly targetSelect: HTMLSelectElement;
  private readonly stepCount: HTMLElement;
  private readonly lossOut: HTMLElement;
  private readonly learnerLossOut: HTMLElement;
  private readonly chart: SVGSVGElement;
  private readonly outputs: HTMLElement;
  private runs: LiveRun[] = [];
  private running = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private worker: Worker | null = null;

  constructor() {
    this.sections = h('div', { class: 'report', 'data-testid': 'report', 'data-state': 'computing' },
      h('p', { class: 'hint' }, 'Computing the report (the same code as npm start, in a worker)…'));
    this.trainButton = h('button', { type: 'button', 'data-testid': 'train' }, 'Train');
    this.targetSelect = h('select', { 'aria-label': 'labels', 'data-testid': 'target' },
      h('option', { value: 'parity' }, 'parity (a = 1 for even x)'),
      h('option', { value: 'threshold' }, 'threshold (a = 1 for x ≥ 5)'));
    this.stepCount = h('output', { 'data-testid': 'step-count' }, '0');
    this.lossOut = h('output', { 'data-testid': 'loss' });
    this.learnerLossOut = h('output', { 'data-testid': 'loss-learner' });
    this.chart = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    this.chart.setAttribute('data-testid', 'loss-chart');
    this.chart.classList.add('chart');
    this.outputs = h('table', { class: 'outputs', 'data-testid': 'outputs' });
    this.trainButton.addEventListener('click', () => (this.running ? this.pause() : this.start()));
    this.targetSelect.addEventListener('change', () => { this.pause(); this.init(); });

    const live = h('div', { class: 'live' },
      h('h3', {}, 'Train it live'),
      h('p', { class: 'hint' }, `SGD at lr ${LR}, one random sample per step, seed ${DEFAULT_SEED}: the same ${STEPS.toLocaleString('en-US')} steps as the report's runs.`),
      h('div', { class: 'row controls' }, this.trainButton, this.targetSelect,
        h('span', {}, 'step ', this.stepCount, ` / ${STEPS.toLocaleString('en-US')}`),
        h('span', {}, 'loss (correct gradients) ', this.lossOut),
        h('span', {}, 'loss (learner\'s rules) ', this.learnerLossOut)),
      h('div', { class: 'row wrap' }, this.chart, this.outputs));

    this.root = h('div', { class: 'learner-view' },
      h('p', {}, 'A learner wrote a 1-1-1 sigmoid network by hand, h = σ(w1·x + b1), y = σ(w2·h + b2), L = (y − a)², and it "always gives the same result". This is ',
        h('code', {}, 'npm start'), '\'s answer, section by section, with the training run live.'),
      live,
      this.sections);
    this.init();
    this.computeReport();
  }

  destroy(): void {
    this.pause();
    this.worker?.terminate();
  }

  private computeReport(): void {
    this.worker = new Worker(new URL('./report-worker.ts', import.meta.url), { type: 'module' });
    this.worker.addEventListener('message', (e: MessageEvent<ReportMessage>) => {
      this.renderReport(e.data.text);
      this.sections.dataset.ms = e.data.ms.toFixed(0);
      this.worker?.terminate();
      this.worker = null;
    });
    this.worker.addEventListener('error', (e) => {
      this.sections.dataset.state = 'error';
      this.sections.replaceChildren(h('p', { class: 'error' }, `The report failed: ${e.message}`));
    });
    this.worker.postMessage({ seed: DEFAULT_SEED });
  }

  /** The console report's text, cut into its numbered sections. */
  private renderReport(text: string): void {
    const lines = text.split('\n');
    const parts: { title: string; body: string[] }[] = [{ title: '', body: [] }];
    for (const line of lines) {
      const m = /^(\d)\. (.*)$/.exec(line);
      if (m) parts.push({ title: line, body: [] });
      else parts.at(-1)!.body.push(line);
    }
    const [intro, ...numbered] = parts;
    this.sections.replaceChildren(
      h('pre', { class: 'intro' }, intro!.body.join('\n').trim()),
      ...numbered.map((p, k) => h('section', { 'data-testid': `report-section-${k + 1}` },
        h('h3', {}, p.title), h('pre', {}, p.body.join('\n').replace(/\s+$/, '')))),
    );
    this.sections.dataset.state = 'ready';
  }

  private init(): void {
    const target = this.targetSelect.value as Target;
    this.runs = [new LiveRun('learner', target, DEFAULT_SEED), new LiveRun('autodiff', target, DEFAULT_SEED)];
    this.show();
    this.trainButton.textContent = 'Train';
  }

  private start(): void {
    if (this.runs[0]!.step >= STEPS) this.init();
    this.running = true;
    this.trainButton.textContent = 'Pause';
    this.trainButton.setAttribute('aria-pressed', 'true');
    this.slice();
  }

  private pause(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.trainButton.textContent = this.runs[0] && this.runs[0].step >= STEPS ? 'Train again' : 'Train';
    this.trainButton.setAttribute('aria-pressed', 'false');
  }

  private slice(): void {
    const t0 = performance.now();
    while (this.runs[0]!.step < STEPS && performance.now() - t0 < SLICE_MS) {
      for (let k = 0; k < 50 && this.runs[0]!.step < STEPS; k++) for (const r of this.runs) r.advance();
    }
    this.show();
    if (this.runs[0]!.step >= STEPS) { this.pause(); return; }
    if (this.running) this.timer = setTimeout(() => this.slice(), 0);
  }

  private show(): void {
    const [learner, correct] = this.runs as [LiveRun, LiveRun];
    this.stepCount.textContent = String(correct.step);
    const out = (o: HTMLElement, r: LiveRun): void => {
      const loss = r.loss();
      o.textContent = r.error ?? formatNumber(loss, 4);
      o.dataset.value = String(loss);
    };
    out(this.lossOut, correct);
    out(this.learnerLossOut, learner);
    drawChart(this.chart, [
      { name: 'learner\'s rules', color: '#dc2626', points: learner.curve },
      { name: 'correct gradients', color: '#1d4ed8', points: correct.curve },
    ], { xMax: STEPS, yLabel: 'mean loss' });
    this.outputs.replaceChildren(
      h('tr', {}, h('th', {}, 'x'), ...correct.samples.map((s) => h('th', {}, `${s.raw}/9`))),
      h('tr', {}, h('th', {}, 'a'), ...correct.samples.map((s) => h('td', {}, String(s.a)))),
      h('tr', { class: 'learner' }, h('th', {}, 'y, learner'), ...learner.samples.map((s) => h('td', {}, predict(learner.p, s.x).y.toFixed(3)))),
      h('tr', { class: 'correct' }, h('th', {}, 'y, correct'), ...correct.samples.map((s) => h('td', {}, predict(correct.p, s.x).y.toFixed(3)))),
    );
  }
}
