/**
 * Charts as SVG text, rendered headless by vega-lite and vega (no canvas, no browser).
 */
import type { TopLevelSpec } from 'vega-lite';

/** Renders a vega-lite specification to an SVG document. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use: vega takes a fifth of a second to import, and most users never plot.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface Series {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

export interface LineChartOptions {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly series: readonly Series[];
  /** Horizontal reference lines, drawn dashed and named in the legend. */
  readonly rules?: readonly { readonly name: string; readonly y: number }[];
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** A line chart of one or more named series, as SVG. */
export function lineChartSvg(options: LineChartOptions): Promise<string> {
  const { title, xTitle, yTitle, series, rules = [], logY = false, width = 560, height = 320 } = options;
  const values = series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y })));
  const names = [...series.map((s) => s.name), ...rules.map((r) => r.name)];
  const color = {
    field: 'series', type: 'nominal' as const, title: null, scale: { domain: names },
    legend: { orient: 'bottom' as const, columns: 2, labelLimit: 400 },
  };
  const y = { field: 'y', type: 'quantitative' as const, title: yTitle, ...(logY ? { scale: { type: 'log' as const } } : {}) };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width,
    height,
    layer: [
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x: { field: 'x', type: 'quantitative', title: xTitle }, y, color },
      },
      ...(rules.length
        ? [{
            data: { values: rules.map((r) => ({ series: r.name, y: r.y })) },
            mark: { type: 'rule' as const, strokeDash: [6, 4] },
            encoding: { y, color },
          }]
        : []),
    ],
  };
  return renderVegaLite(spec);
}

export interface DecisionRegionOptions {
  readonly title: string;
  readonly subtitle?: string;
  /** Model scores at the centres of a size×size grid, row by row from the lowest x2, each row from the lowest x1. */
  readonly grid: {
    readonly x1: { readonly min: number; readonly max: number };
    readonly x2: { readonly min: number; readonly max: number };
    readonly size: number;
    readonly scores: readonly number[];
  };
  /** The data; `positive` is the true class. */
  readonly points: readonly { readonly x1: number; readonly x2: number; readonly positive: boolean }[];
  /** Names of the negative and the positive class (score ≤ 0 and score > 0). */
  readonly classNames: readonly [string, string];
  readonly xTitle?: string;
  readonly yTitle?: string;
  readonly width?: number;
  /** Default: whatever makes one unit as long on both axes. */
  readonly height?: number;
}

/**
 * The decision regions of a two-class model (where its score is > 0) as pale cells, with the data
 * points on top coloured by their true class, as SVG. Each grid row's cells are merged into runs
 * of one class, so the picture stays small whatever the grid size.
 */
export function decisionRegionSvg(options: DecisionRegionOptions): Promise<string> {
  const { title, subtitle, grid, points, classNames, xTitle = 'x₁', yTitle = 'x₂', width = 480 } = options;
  const height = options.height ?? Math.round((width * (grid.x2.max - grid.x2.min)) / (grid.x1.max - grid.x1.min));
  const { size, scores } = grid;
  if (!Number.isInteger(size) || size < 1 || scores.length !== size * size) {
    throw new RangeError(`the grid needs size × size scores (size ${size}), got ${scores.length}`);
  }
  const [negative, positive] = classNames;
  const regionName = (pos: boolean): string => `region: ${pos ? positive : negative}`;
  const pointName = (pos: boolean): string => `points: ${pos ? positive : negative}`;
  const dx = (grid.x1.max - grid.x1.min) / size, dy = (grid.x2.max - grid.x2.min) / size;
  const cells: { x: number; x2: number; y: number; y2: number; series: string }[] = [];
  for (let r = 0; r < size; r++) {
    let c = 0;
    while (c < size) {
      const pos = scores[r * size + c]! > 0;
      let end = c + 1;
      while (end < size && scores[r * size + end]! > 0 === pos) end++;
      cells.push({
        x: grid.x1.min + c * dx, x2: grid.x1.min + end * dx,
        // Each row reaches half a row into the next, which is drawn over it: no hairline seams
        // where anti-aliased edges of same-coloured rows meet.
        y: grid.x2.min + r * dy, y2: grid.x2.min + (r + (r === size - 1 ? 1 : 1.5)) * dy,
        series: regionName(pos),
      });
      c = end;
    }
  }
  const domain = [regionName(false), regionName(true), pointName(false), pointName(true)];
  const color = {
    field: 'series', type: 'nominal' as const, title: null,
    scale: { domain, range: ['#c6dbef', '#fdd0a2', '#2171b5', '#d94801'] },
  };
  const axis = (min: number, max: number) => ({ domain: [min, max], nice: false, zero: false });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: subtitle === undefined ? title : { text: title, subtitle },
    width,
    height,
    layer: [
      {
        data: { values: cells },
        mark: { type: 'rect', strokeWidth: 0 },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: xTitle, scale: axis(grid.x1.min, grid.x1.max) },
          x2: { field: 'x2' },
          y: { field: 'y', type: 'quantitative', title: yTitle, scale: axis(grid.x2.min, grid.x2.max) },
          y2: { field: 'y2' },
          color,
        },
      },
      {
        data: { values: points.map((p) => ({ x: p.x1, y: p.x2, series: pointName(p.positive) })) },
        mark: { type: 'point', filled: true, size: 45, opacity: 1, stroke: 'white', strokeWidth: 0.8 },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          color,
          shape: { field: 'series', type: 'nominal', title: null, scale: { domain, range: ['square', 'square', 'circle', 'triangle-up'] } },
        },
      },
    ],
  };
  return renderVegaLite(spec);
}

export interface PanelChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly xTitle: string;
  /** Stacked top to bottom, sharing the x axis. */
  readonly panels: readonly {
    readonly yTitle: string;
    readonly series: readonly Series[];
    readonly yDomain?: readonly [number, number];
    readonly logY?: boolean;
  }[];
  readonly width?: number;
  /** Each panel's height. */
  readonly height?: number;
}

/** Line charts stacked vertically on one x axis (quantities with different units), as SVG. */
export function panelChartSvg(options: PanelChartOptions): Promise<string> {
  const { title, subtitle, xTitle, panels, width = 560, height = 180 } = options;
  const names = panels.flatMap((p) => p.series.map((s) => s.name));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: subtitle === undefined ? title : { text: title, subtitle },
    vconcat: panels.map((panel, k) => ({
      width,
      height,
      data: { values: panel.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y }))) },
      mark: { type: 'line' as const, strokeWidth: 2 },
      encoding: {
        x: { field: 'x', type: 'quantitative' as const, title: k === panels.length - 1 ? xTitle : null },
        y: {
          field: 'y', type: 'quantitative' as const, title: panel.yTitle,
          scale: {
            ...(panel.logY ? { type: 'log' as const } : {}),
            ...(panel.yDomain ? { domain: [...panel.yDomain] } : {}),
          },
        },
        color: { field: 'series', type: 'nominal' as const, title: null, scale: { domain: names } },
      },
    })),
    resolve: { scale: { x: 'shared' } },
  };
  return renderVegaLite(spec);
}
