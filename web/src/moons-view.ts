/**
 * Moons: micrograd's demo (a 2-16-16-1 relu MLP on 100 points, hinge loss, 100 SGD steps) trained
 * live, with the decision regions redrawn as it learns. The same data, model and steps as
 * `micrograd moons` at the same seed.
 */
import {
  decisionGrid, makeMoons, moonsLoss, moonsModel, moonsStep, MOONS_SEED, type MoonPoint,
} from '../../src/learner/index.js';
import { createRng, formatNumber, type MLP } from '../../src/index.js';
import { drawChart } from './chart.js';
import { h } from './dom.js';

const STEPS = 100;
/** Milliseconds of training per slice before the page redraws and handles input. */
const SLICE_MS = 30;

export class MoonsView {
  readonly root: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly chart: SVGSVGElement;
  private readonly trainButton: HTMLButtonElement;
  private readonly stepCount: HTMLElement;
  private readonly lossOut: HTMLElement;
  private readonly accuracyOut: HTMLElement;
  private readonly rateOut: HTMLElement;
  private data: MoonPoint[] = [];
  private model!: MLP;
  private step = 0;
  private curve: { x: number; y: number }[] = [];
  private running = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private trainedMs = 0;

  constructor() {
    this.canvas = h('canvas', { width: '360', height: '360', 'data-testid': 'moons-regions', 'aria-label': 'decision regions and data' });
    this.chart = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    this.chart.setAttribute('data-testid', 'loss-chart');
    this.chart.classList.add('chart');
    this.trainButton = h('button', { type: 'button', 'data-testid': 'train' }, 'Train');
    this.stepCount = h('output', { 'data-testid': 'step-count' }, '0');
    this.lossOut = h('output', { 'data-testid': 'loss' });
    this.accuracyOut = h('output', { 'data-testid': 'accuracy' });
    this.rateOut = h('output', { 'data-testid': 'steps-per-second' }, '–');
    const resetButton = h('button', { type: 'button', 'data-testid': 'moons-reset' }, 'Reset');
    this.trainButton.addEventListener('click', () => (this.running ? this.pause() : this.start()));
    resetButton.addEventListener('click', () => { this.pause(); this.init(); });
    this.root = h('div', { class: 'moons-view' },
      h('p', {}, `micrograd's demo: a 2-16-16-1 relu MLP learns to separate two moons (100 points, seed ${MOONS_SEED}), full-batch SGD with the hinge loss and an L2 penalty, the learning rate falling from 1.0 to 0.1 over ${STEPS} steps.`),
      h('div', { class: 'row controls' }, this.trainButton, resetButton,
        h('span', {}, 'step ', this.stepCount, ` / ${STEPS}`),
        h('span', {}, 'loss ', this.lossOut),
        h('span', {}, 'accuracy ', this.accuracyOut, ' %'),
        h('span', { class: 'small' }, this.rateOut, ' steps/s')),
      h('div', { class: 'row wrap' }, this.canvas, this.chart),
    );
    this.init();
  }

  destroy(): void {
    this.pause();
  }

  private init(): void {
    const rng = createRng(MOONS_SEED);
    this.data = makeMoons({ n: 100, noise: 0.1, rng });
    this.model = moonsModel(rng);
    this.step = 0;
    this.trainedMs = 0;
    const start = moonsLoss(this.model, this.data);
    this.curve = [{ x: 0, y: start.loss.data }];
    this.show(start.loss.data, start.accuracy);
    this.trainButton.textContent = 'Train';
  }

  private start(): void {
    if (this.step >= STEPS) this.init();
    this.running = true;
    this.trainButton.textContent = 'Pause';
    this.trainButton.setAttribute('aria-pressed', 'true');
    this.slice();
  }

  private pause(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.trainButton.textContent = this.step >= STEPS ? 'Train again' : 'Train';
    this.trainButton.setAttribute('aria-pressed', 'false');
  }

  private slice(): void {
    const t0 = performance.now();
    let last: { loss: number; accuracy: number } | null = null;
    while (this.step < STEPS && performance.now() - t0 < SLICE_MS) {
      moonsStep(this.model, this.data, this.step, STEPS);
      this.step++;
      // moonsStep reports the loss before its update; the page shows the loss after it.
      const now = moonsLoss(this.model, this.data);
      last = { loss: now.loss.data, accuracy: now.accuracy };
      this.curve.push({ x: this.step, y: last.loss });
    }
    this.trainedMs += performance.now() - t0;
    if (last) this.show(last.loss, last.accuracy);
    if (this.step >= STEPS) { this.pause(); return; }
    if (this.running) this.timer = setTimeout(() => this.slice(), 0);
  }

  private show(loss: number, accuracy: number): void {
    this.stepCount.textContent = String(this.step);
    this.lossOut.textContent = formatNumber(loss, 4).replace('−', '-');
    this.lossOut.dataset.value = String(loss);
    this.accuracyOut.textContent = String(Math.round(accuracy * 100));
    this.accuracyOut.dataset.value = String(accuracy);
    if (this.step > 0 && this.trainedMs > 0) this.rateOut.textContent = (this.step / (this.trainedMs / 1000)).toFixed(1);
    drawChart(this.chart, [{ name: 'loss', color: '#1d4ed8', points: this.curve }], { xMax: STEPS, yLabel: 'loss', log: true });
    this.drawRegions();
  }

  private drawRegions(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const W = this.canvas.width, H = this.canvas.height;
    const grid = decisionGrid(this.model, this.data, 60);
    const cw = W / grid.size, ch = H / grid.size;
    for (let r = 0; r < grid.size; r++) {
      for (let c = 0; c < grid.size; c++) {
        const s = grid.scores[r * grid.size + c]!;
        ctx.fillStyle = s > 0 ? '#fde68a' : '#bfdbfe';
        // Row 0 is the lowest x2: drawn at the bottom.
        ctx.fillRect(c * cw, H - (r + 1) * ch, cw + 0.5, ch + 0.5);
      }
    }
    const px = (x: number): number => ((x - grid.x1.min) / (grid.x1.max - grid.x1.min)) * W;
    const py = (y: number): number => H - ((y - grid.x2.min) / (grid.x2.max - grid.x2.min)) * H;
    for (const p of this.data) {
      ctx.beginPath();
      ctx.arc(px(p.x1), py(p.x2), 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = p.label > 0 ? '#b45309' : '#1d4ed8';
      ctx.fill();
      ctx.strokeStyle = '#fff';
      ctx.stroke();
    }
  }
}
