/**
 * micrograd-ts/node: the Node-only parts. SVG from DOT text and graph files (graphviz-cli), SVG
 * charts (vega), progress bars on a terminal (cli-progress).
 */
export { renderSvg, writeGraph } from './render.js';
export type { GraphFiles } from './render.js';
export { OutputError } from './files.js';
export { terminalProgress } from './terminal-progress.js';
export { renderVegaLite, lineChartSvg, decisionRegionSvg, panelChartSvg } from './plot.js';
export type { Series, LineChartOptions, DecisionRegionOptions, PanelChartOptions } from './plot.js';
