/** A small SVG line chart of loss curves, redrawn from its series on each update. */

const SVG = 'http://www.w3.org/2000/svg';

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** Draws the series into `svg` (width × height), with the x axis running to at least `xMax`. */
export function drawChart(svg: SVGSVGElement, series: readonly Series[], options: { xMax: number; yLabel: string; log?: boolean; fromZero?: boolean }): void {
  const W = 420, H = 200, L = 48, R = 10, T = 10, B = 28;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => Number.isFinite(y) && (!options.log || y > 0));
  const tf = (y: number): number => (options.log ? Math.log10(y) : y);
  let lo = ys.length ? Math.min(...ys.map(tf)) : 0, hi = ys.length ? Math.max(...ys.map(tf)) : 1;
  if (!options.log && options.fromZero) lo = Math.min(lo, 0);
  if (hi - lo < 1e-12) { hi += 0.5; lo -= 0.5; }
  const pad = options.log ? 0 : 0.05 * (hi - lo);
  hi += pad;
  lo -= options.fromZero ? 0 : pad;
  const xMax = Math.max(1, options.xMax);
  const px = (x: number): number => L + ((W - L - R) * x) / xMax;
  const py = (y: number): number => T + (H - T - B) * (1 - (tf(y) - lo) / (hi - lo));
  const children: SVGElement[] = [
    el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#888' }),
    el('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#888' }),
  ];
  const label = (x: number, y: number, text: string, anchor = 'end'): SVGTextElement => {
    const t = el('text', { x, y, 'font-size': 10, 'text-anchor': anchor, fill: '#444' });
    t.textContent = text;
    return t;
  };
  const fmtY = (v: number): string => (options.log ? 10 ** v : v).toPrecision(3);
  children.push(label(L - 4, T + 8, fmtY(hi)), label(L - 4, H - B, fmtY(lo)));
  children.push(label(L, H - 8, '0', 'start'), label(W - R, H - 8, `${xMax.toLocaleString('en-US')} steps`));
  children.push(label(L + 4, T + 8, options.yLabel, 'start'));
  series.forEach((s, k) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y) && (!options.log || p.y > 0));
    if (pts.length > 0) {
      children.push(el('polyline', {
        points: pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' '),
        fill: 'none', stroke: s.color, 'stroke-width': 1.6,
      }));
    }
    const key = label(W - R - 4, T + 10 + 12 * k, s.name);
    key.setAttribute('fill', s.color);
    children.push(key);
  });
  svg.replaceChildren(...children);
}
