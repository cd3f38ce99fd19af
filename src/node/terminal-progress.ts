/**
 * Progress bars for long runs, drawn by cli-progress on stderr, and only when stdout is a terminal
 * (so piped or JSON output stays clean).
 */
import cliProgress from 'cli-progress';
import { noProgress, type ProgressFactory } from '../tools/progress.js';

/** Bars on stderr when stdout is a terminal, else nothing. */
export function terminalProgress(enabled = Boolean(process.stdout.isTTY)): ProgressFactory {
  if (!enabled) return noProgress;
  return (label, total) => {
    const bar = new cliProgress.SingleBar(
      { format: `${label.padEnd(34)} {bar} {percentage}% | {value}/{total} | {duration_formatted}`, hideCursor: true, clearOnComplete: false },
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
