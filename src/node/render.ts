/**
 * DOT text to SVG with graphviz-cli (Graphviz compiled to WebAssembly: no system Graphviz needed),
 * and graph files on disk. Node-only: graphviz-cli pulls in `canvas` and Node's worker threads.
 */
import { renderGraphFromSource } from 'graphviz-cli';
import { Value } from '../engine/value.js';
import { describeUnknown } from '../engine/describe.js';
import { toDot, type DotOptions } from '../tools/dot.js';
import { writeFileAtomic } from './files.js';

const FONT_WIDTH_WARNING = /^Warning: no value for width of non-ASCII character \d+\. Falling back to width of space character\r?\n?/gm;
let muted = false;

/**
 * The bundled Graphviz estimates text widths from a table of ASCII widths and prints a warning
 * for every other character (σ, ×, −, ∂ …) from its worker thread, whose output reaches this
 * process's stderr. Those lines alone are dropped; everything else on stderr passes through.
 */
function muteFontWidthWarnings(): void {
  if (muted) return;
  muted = true;
  const write = process.stderr.write.bind(process.stderr) as (chunk: unknown, ...rest: unknown[]) => boolean;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : null;
    if (text === null || !text.includes('Warning: no value for width')) return write(chunk, ...rest);
    const kept = text.replace(FONT_WIDTH_WARNING, '');
    if (kept === '') {
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }
    return write(kept, ...rest);
  }) as typeof process.stderr.write;
}

/** Renders DOT text to SVG with the bundled Graphviz; a DOT error becomes an Error saying so. */
export async function renderSvg(dot: string): Promise<string> {
  if (typeof dot !== 'string') throw new TypeError(`renderSvg: dot must be a string, got ${describeUnknown(dot)}`);
  // graphviz-cli reads standard input when given no text, which would hang.
  if (dot.trim() === '') throw new Error('renderSvg: the DOT text is empty');
  muteFontWidthWarnings();
  try {
    return await renderGraphFromSource({ input: dot }, { format: 'svg' });
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).replace(/^(Error:\s*)+/, '').trim();
    throw new Error(`Graphviz could not render the DOT text: ${reason}`, { cause: e });
  }
}

/** Where `writeGraph` put its files. */
export interface GraphFiles {
  readonly dotPath: string;
  readonly svgPath: string;
}

/**
 * Writes `<base>.dot` and `<base>.svg` side by side (a trailing `.dot` or `.svg` on `basePath` is
 * dropped; missing folders are made, one level at a time). Each file is written atomically; a failure is an
 * `OutputError` naming the path. `source` is a Value to draw with `options`, or DOT text.
 * Nothing is written if rendering fails.
 */
export async function writeGraph(source: Value | string, basePath: string, options?: DotOptions): Promise<GraphFiles> {
  if (typeof basePath !== 'string' || basePath === '') {
    throw new TypeError(`writeGraph: basePath must be a non-empty string, got ${describeUnknown(basePath)}`);
  }
  let dot: string;
  if (typeof source === 'string') {
    if (options !== undefined) throw new TypeError('writeGraph: options apply only when drawing a Value, not DOT text');
    dot = source;
  } else if (source instanceof Value) {
    dot = toDot(source, options);
  } else {
    throw new TypeError(`writeGraph: source must be a Value or DOT text, got ${describeUnknown(source)}`);
  }
  const svg = await renderSvg(dot);
  const base = basePath.replace(/\.(dot|svg)$/, '');
  const files = { dotPath: `${base}.dot`, svgPath: `${base}.svg` };
  await writeFileAtomic(files.dotPath, dot);
  await writeFileAtomic(files.svgPath, svg);
  return files;
}
