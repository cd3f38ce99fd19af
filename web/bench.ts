/**
 * `npm run bench:web`: the playground's speed in headless Chromium, measured and printed, never
 * asserted: time from opening the page to the first drawn graph, from a keystroke to the redrawn
 * graph for a 50-Value model (the editor's 120 ms debounce included), and moons training steps per
 * second in the page. Serves web/dist (built by the npm script first).
 */
import { chromium, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { buildGraph, topologicalOrder } from '../src/index.js';
import { serveFolder } from './test/static-server.js';
import { CHROMIUM, CHROMIUM_ARGS } from './playwright.config.js';

const RUNS = 5;
const KEYSTROKES = 12;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A model of about 50 Values: six tanh units on one input, summed with weights, plus a constant. */
function model50(): { expr: string; at: string; values: number } {
  const lines: string[] = [];
  const at: string[] = ['x=0.5'];
  for (let k = 1; k <= 6; k++) {
    lines.push(`h${k} = tanh(a${k}*x + b${k})`);
    at.push(`a${k}=${(k / 7).toFixed(3)}`, `b${k}=${(-k / 11).toFixed(3)}`);
  }
  lines.push(`${[1, 2, 3, 4, 5, 6].map((k) => `c${k}*h${k}`).join(' + ')} + 0.5`);
  for (let k = 1; k <= 6; k++) at.push(`c${k}=${((k % 3) - 1 + 0.25).toFixed(2)}`);
  const expr = lines.join('\n');
  const bindings = Object.fromEntries(at.map((p) => p.split('=')).map(([n, v]) => [n!, Number(v)]));
  return { expr, at: at.join(','), values: topologicalOrder(buildGraph(expr, bindings).output).length };
}

async function graphReady(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid=graph]')?.dataset.state === 'ready', null, { polling: 'raf', timeout: 120_000 });
}

const server = await serveFolder(fileURLToPath(new URL('./dist/', import.meta.url)));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
try {
  const m = model50();
  const hash = `#view=model&expr=${encodeURIComponent(m.expr)}&at=${encodeURIComponent(m.at)}`;

  // 1. Opening the page to the first drawn graph (a fresh page each time: Graphviz's WebAssembly is loaded anew).
  const first: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}${hash}`);
    await graphReady(page);
    first.push(await page.evaluate(() => performance.now()));
    await context.close();
  }

  // 2. A keystroke (that changes the graph: a digit of the last constant) to the redrawn graph.
  const page = await browser.newPage();
  await page.goto(`${server.url}${hash}`);
  await graphReady(page);
  const editor = page.getByTestId('expression');
  await editor.focus();
  await page.keyboard.press('ControlOrMeta+End');
  const keystroke: number[] = [];
  for (let k = 0; k < KEYSTROKES; k++) {
    // The listener is installed before the key is pressed; the second evaluate awaits what it saw.
    await page.evaluate(() => {
      const graph = document.querySelector<HTMLElement>('[data-testid=graph]')!;
      const svgBefore = graph.querySelector('svg');
      let t0 = 0;
      document.addEventListener('keydown', () => { t0 = performance.now(); }, { once: true, capture: true });
      (window as unknown as { redrawn: Promise<number> }).redrawn = new Promise<number>((resolve) => {
        const observer = new MutationObserver(() => {
          if (t0 > 0 && graph.dataset.state === 'ready' && graph.querySelector('svg') !== svgBefore) {
            observer.disconnect();
            requestAnimationFrame(() => resolve(performance.now() - t0)); // until the frame that shows it
          }
        });
        observer.observe(graph, { attributes: true, childList: true });
      });
    });
    await page.keyboard.press(k % 2 === 0 ? '1' : 'Backspace');
    keystroke.push(await page.evaluate(() => (window as unknown as { redrawn: Promise<number> }).redrawn));
  }
  await page.close();

  // 3. Moons: 100 training steps in the page.
  const moons = await browser.newPage();
  await moons.goto(`${server.url}#view=moons`);
  const t0 = Date.now();
  await moons.getByTestId('train').click();
  await moons.waitForFunction(() => document.querySelector('[data-testid=step-count]')?.textContent === '100', null, { timeout: 600_000 });
  const wall = (Date.now() - t0) / 1000;
  const rate = await moons.getByTestId('steps-per-second').textContent();

  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  console.log(`playground benchmark (headless Chromium ${browser.version()}, ${RUNS} page loads, ${KEYSTROKES} keystrokes)`);
  console.log(`  open → first graph (${m.values}-Value model):   median ${ms(median(first))}  (min ${ms(Math.min(...first))}, max ${ms(Math.max(...first))})`);
  console.log(`  keystroke → redrawn graph (${m.values} Values):  median ${ms(median(keystroke))}  (min ${ms(Math.min(...keystroke))}, max ${ms(Math.max(...keystroke))}; 120 ms of it is the typing debounce)`);
  console.log(`  moons training:                       ${rate} steps/s while training (100 steps in ${wall.toFixed(2)} s wall time, redraws included)`);
} finally {
  await browser.close();
  await server.close();
}
