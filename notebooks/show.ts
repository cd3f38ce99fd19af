/**
 * Display helpers for the notebooks (tslab kernel): tables as HTML with every cell escaped, and
 * SVG pictures shown inline.
 *
 * The notebooks import the built package ('../dist/src/index.js'): tslab compiles each cell to
 * CommonJS with the notebook's folder as its root, and Node ≥ 20.19 can `require` our ES modules
 * (they have no top-level await). vega, which does have top-level await, is never imported here:
 * the package's plot functions load it with a real `import()` from inside their own module.
 */
import * as tslab from 'tslab';
import { formatNumber } from '../dist/src/index.js';
import { htmlTable, type HtmlCell } from './html';

/** `x` to `digits` significant digits with a true minus sign (the package's `formatNumber`). */
export function num(x: number, digits = 4): string {
  return formatNumber(x, digits);
}

export interface TableOptions {
  /** Shown above the table. */
  readonly caption?: string;
  /** Significant digits for number cells (default 4). */
  readonly digits?: number;
}

/** Shows a table: number cells are formatted with `num` and right-aligned; all text is escaped. */
export function showTable(header: readonly string[], rows: readonly (readonly (string | number)[])[], options: TableOptions = {}): void {
  const { caption, digits = 4 } = options;
  const cell = (c: string | number): HtmlCell => (typeof c === 'number' ? { text: num(c, digits), align: 'right' } : c);
  tslab.display.html(htmlTable(header, rows.map((row) => row.map(cell)), caption));
}

/**
 * Shows an SVG document (from `renderSvg` or the plot functions, which escape their text) as an
 * image. A script in it is refused rather than shown.
 */
export function showSvg(svg: string): void {
  if (!/<svg[\s>]/.test(svg)) throw new TypeError('showSvg: the text is not an SVG document');
  if (/<script[\s>]/i.test(svg)) throw new Error('showSvg: refusing an SVG that contains a script');
  tslab.display.svg(svg);
}
