/**
 * Charts as SVG text, rendered headless by vega-lite and vega (no canvas, no browser).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders a vega-lite specification to an SVG document. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
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
