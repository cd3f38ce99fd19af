// Merging the rows of several bench processes (`npm run bench -- --procs N`), on rows written here
// with medians worked out by hand; and splitting steps by whether V8 collected its young generation.
import { describe, expect, it } from 'vitest';
import { mergeProcesses, splitByCollection, youngGenerationBytes, type Row } from '../../bench/harness.js';

const row = (variant: string, ms: number, extra: Partial<Row> = {}): Row => ({
  workload: 'W1 net-111', variant, medianMsPerStep: ms, nodesPerSecond: 8 / (ms / 1000), ratioToHandWritten: null, ...extra,
});

describe('mergeProcesses', () => {
  it('gives each figure its median over the processes, and the time per step its range', () => {
    const merged = mergeProcesses([
      [row('engine', 0.9, { ratioToHandWritten: 12, identical: true, strategy: 'code' })],
      [row('engine', 0.5, { ratioToHandWritten: 9, identical: true, strategy: 'code' })],
      [row('engine', 0.6, { ratioToHandWritten: 10, identical: true, strategy: 'code' })],
    ]);
    expect(merged).toHaveLength(1);
    const r = merged[0]!;
    expect(r.workload).toBe('W1 net-111');
    expect(r.variant).toBe('engine');
    expect(r.medianMsPerStep).toBe(0.6); // of 0.5, 0.6, 0.9
    expect(r.ratioToHandWritten).toBe(10); // of 9, 10, 12: each process's own ratio, not a ratio of medians
    expect(r.nodesPerSecond).toBeCloseTo(8 / 0.0006, 6);
    expect(r.procs).toBe(3);
    expect(r.processMsMin).toBe(0.5);
    expect(r.processMsMax).toBe(0.9);
    expect(r.identical).toBe(true);
    expect(r.strategy).toBe('code');
  });

  it('takes the mean of the middle two for an even number of processes', () => {
    const [r] = mergeProcesses([[row('engine', 1)], [row('engine', 4)], [row('engine', 2)], [row('engine', 3)]]);
    expect(r!.medianMsPerStep).toBe(2.5);
  });

  it('keeps each variant apart and in the order first seen', () => {
    const merged = mergeProcesses([
      [row('hand-written', 0.06), row('engine', 0.6)],
      [row('engine', 0.8), row('hand-written', 0.07)],
    ]);
    expect(merged.map((r) => [r.variant, r.medianMsPerStep])).toEqual([['hand-written', 0.065], ['engine', 0.7]]);
  });

  it('lets a check hold only if it held in every process, and lists text the processes disagree on', () => {
    const [r] = mergeProcesses([
      [row('compiled', 0.08, { identicalToEngine: true, strategy: 'code' })],
      [row('compiled', 0.09, { identicalToEngine: false, strategy: 'tape' })],
    ]);
    expect(r!.identicalToEngine).toBe(false);
    expect(r!.strategy).toBe('code | tape');
  });

  it('refuses rows that not every process gave, and no processes at all', () => {
    expect(() => mergeProcesses([[row('engine', 0.6)], [row('engine', 0.7), row('minimal engine', 0.5)]]))
      .toThrow('W1 net-111 / minimal engine: a row in 1 of 2 processes');
    expect(() => mergeProcesses([])).toThrow('no processes to merge');
  });
});

describe('splitByCollection', () => {
  it('gives the share of steps that held a collection and the median of each kind', () => {
    const ms = [2.0, 3.1, 1.9, 2.2, 3.5, 2.1, 3.3];
    const collected = [false, true, false, false, true, false, true];
    expect(splitByCollection(ms, collected)).toEqual({ stepsWithGc: 3 / 7, medianWithGc: 3.3, medianWithoutGc: 2.05 });
  });

  it('gives null for a kind with no steps, and refuses flags that do not match the times', () => {
    expect(splitByCollection([1, 2, 4], [false, false, false])).toEqual({ stepsWithGc: 0, medianWithGc: null, medianWithoutGc: 2 });
    expect(() => splitByCollection([1, 2], [true])).toThrow('2 times but 1 collection flags');
    expect(() => splitByCollection([], [])).toThrow('no steps to split');
  });
});

describe('youngGenerationBytes', () => {
  it('grows as short-lived objects are made, and drops when the young generation is collected', () => {
    let keep: number[][] = [];
    const growth = (): number => {
      const start = youngGenerationBytes();
      keep = [];
      for (let k = 0; k < 100; k++) keep.push([k, k + 1, k + 2]);
      return youngGenerationBytes() - start;
    };
    // A collection could fall within these few KB, if rarely: the best of three tries.
    expect(Math.max(growth(), growth(), growth())).toBeGreaterThan(0);
    // Garbage until a collection runs: V8's young generation holds at most a few tens of MB, so
    // 1 GB of 1 KB arrays must fill it many times over.
    let previous = youngGenerationBytes(), dropped = false;
    for (let k = 0; k < 1_000_000 && !dropped; k++) {
      keep = [new Array<number>(128).fill(k)];
      const now = youngGenerationBytes();
      dropped = now < previous;
      previous = now;
    }
    expect(keep).toHaveLength(1);
    expect(dropped).toBe(true);
  });
});
