/**
 * The progress bar changes no terminal mode: a Ctrl-C during a synchronous run (which ends the
 * process before any handler could run) leaves the cursor visible and line wrap on.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { terminalProgress } from '../../src/node/terminal-progress.js';

/** A stand-in terminal: records what is written. */
function fakeTerminal(columns: number): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { chunks.push(String(chunk)); done(); } }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns, rows: 24, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, clearScreenDown: () => true });
  return { stream, text: () => chunks.join('') };
}

const HIDE_CURSOR = '\x1b[?25l';
const WRAP_OFF = '\x1b[?7l';

describe('terminalProgress', () => {
  it('draws a bar without hiding the cursor or turning line wrap off, interrupted or not', () => {
    const t = fakeTerminal(80);
    const bar = terminalProgress(true, t.stream)('train (autodiff, parity)', 1000);
    for (let k = 1; k <= 500; k++) bar.update(k);
    // Interrupted here (no stop): nothing on the terminal needs restoring.
    const midway = t.text();
    expect(midway).toMatch(/train \(autodiff, parity\)/);
    expect(midway).not.toContain(HIDE_CURSOR);
    expect(midway).not.toContain(WRAP_OFF);
    bar.stop();
    expect(t.text()).toMatch(/100%|50%/);
  });

  it('fits the bar on a narrow terminal, since wrapping stays on', () => {
    for (const columns of [60, 100]) {
      const t = fakeTerminal(columns);
      const bar = terminalProgress(true, t.stream)('moons, 2-16-16-1 relu, SGD', 10_000_000);
      bar.update(10_000_000);
      bar.stop();
      // eslint-disable-next-line no-control-regex
      const lines = t.text().split(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]|[\r\n]/);
      for (const line of lines) expect(Array.from(line).length, JSON.stringify(line)).toBeLessThanOrEqual(columns);
    }
  });

  it('draws nothing when disabled', () => {
    const t = fakeTerminal(80);
    const bar = terminalProgress(false, t.stream)('x', 10);
    bar.update(10);
    bar.stop();
    expect(t.text()).toBe('');
  });
});
