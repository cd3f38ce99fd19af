/**
 * Progress bars for long runs, drawn by cli-progress on stderr, and only when stdout is a terminal
 * (so piped or JSON output stays clean).
 *
 * The bar changes no terminal mode: the cursor stays visible and line wrap stays on. The runs it
 * shows are synchronous loops, during which Node cannot run a SIGINT handler, so Ctrl-C ends the
 * process at once (exit 130) with nothing left to restore; instead of relying on line wrap being
 * off, the bar is sized to fit the terminal's width.
 */
import cliProgress from 'cli-progress';
import { noProgress, type ProgressFactory } from '../tools/progress.js';

const LABEL_WIDTH = 34;
/** The widest the text after the bar gets: ` 100% | 10000000/10000000 | 1h23m45s`. */
const TAIL_WIDTH = 42;

/** Bars on `stream` (stderr) when stdout is a terminal, else nothing. */
export function terminalProgress(enabled = Boolean(process.stdout.isTTY), stream: NodeJS.WriteStream = process.stderr): ProgressFactory {
  if (!enabled) return noProgress;
  return (label, total) => {
    const columns = stream.columns || 80;
    const barsize = Math.max(5, Math.min(40, columns - LABEL_WIDTH - TAIL_WIDTH - 2));
    const bar = new cliProgress.SingleBar(
      {
        format: `${label.slice(0, LABEL_WIDTH).padEnd(LABEL_WIDTH)} {bar} {percentage}% | {value}/{total} | {duration_formatted}`,
        stream, barsize, hideCursor: false, linewrap: true, gracefulExit: false, clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    // Redrawing on every step would cost more than the step; cli-progress throttles, but skip the calls too.
    const every = Math.max(1, Math.floor(total / 200));
    return {
      update(done) { if (done % every === 0 || done === total) bar.update(done); },
      stop() { bar.stop(); },
    };
  };
}
