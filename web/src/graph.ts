/**
 * The computation graph on the page: DOT text from the library's `toDot()`, laid out once by
 * Graphviz in a worker, then updated in place (text and classes) as gradients change, so that the
 * picture never jumps while stepping.
 */
import Viz from '@aduh95/viz.js';
import { formatNumber, type Value } from '../../src/index.js';

let viz: Viz | null = null;

function graphviz(): Viz {
  viz ??= new Viz({ worker: new Worker(new URL('./graph-worker.ts', import.meta.url), { type: 'module' }) });
  return viz;
}

/** DOT text to SVG text with the CLI's Graphviz build. */
export function renderDot(dot: string): Promise<string> {
  return graphviz().renderString(dot, { format: 'svg', engine: 'dot' });
}

/** One drawn Value: its SVG group and the text elements that show its numbers. */
export interface DrawnValue {
  readonly value: Value;
  readonly group: SVGGElement;
  readonly dataText: SVGTextElement | null;
  readonly gradText: SVGTextElement | null;
}

/**
 * Puts `svgText` into `host` and links each Value's node to it. toDot names nodes `v0, v1, …` in
 * `order` (the graph's topological order); Graphviz writes that name as the node's `<title>`. Each
 * node group gets the stable id `value-<k>` and `data-label`.
 */
export function mountSvg(host: HTMLElement, svgText: string, order: readonly Value[]): Map<Value, DrawnValue> {
  const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
  const svg = document.importNode(doc.documentElement, true) as unknown as SVGSVGElement;
  host.replaceChildren(svg);
  const drawn = new Map<Value, DrawnValue>();
  for (const group of svg.querySelectorAll<SVGGElement>('g.node')) {
    const name = group.querySelector('title')?.textContent ?? '';
    const m = /^v(\d+)$/.exec(name);
    if (!m) continue;
    const value = order[Number(m[1])];
    if (value === undefined) continue;
    group.id = `value-${m[1]}`;
    group.dataset.label = value.label;
    group.classList.add('value');
    const texts = [...group.querySelectorAll<SVGTextElement>('text')];
    drawn.set(value, {
      value,
      group,
      dataText: texts.find((t) => t.textContent?.startsWith('data ')) ?? null,
      gradText: texts.find((t) => t.textContent?.startsWith('grad ')) ?? null,
    });
  }
  return drawn;
}

/** Rewrites each drawn Value's data and grad text from the Values, as toDot formats them. */
export function refreshNumbers(drawn: ReadonlyMap<Value, DrawnValue>, precision = 4): void {
  for (const d of drawn.values()) {
    if (d.dataText) d.dataText.textContent = `data ${formatNumber(d.value.data, precision)}`;
    if (d.gradText) d.gradText.textContent = `grad ${formatNumber(d.value.grad, precision)}`;
  }
}

/**
 * Scales the drawn SVG down to the width of its box, but no further than `minScale` (past that the
 * box scrolls): Graphviz sizes it in points at 1:1.
 */
export function fitSvg(host: HTMLElement, minScale = 0.6): void {
  const svg = host.querySelector('svg');
  if (!svg) return;
  const width = parseFloat(svg.getAttribute('width') ?? '') * (4 / 3); // pt → CSS px
  const height = parseFloat(svg.getAttribute('height') ?? '') * (4 / 3);
  if (!(width > 0 && height > 0)) return;
  const scale = Math.min(1, Math.max(minScale, (host.clientWidth - 4) / width));
  svg.style.width = `${(width * scale).toFixed(0)}px`;
  svg.style.height = `${(height * scale).toFixed(0)}px`;
}
