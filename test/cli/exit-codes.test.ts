/** Which exit code each kind of failure gets (the function; test/cli/faults.test.ts runs the CLI). */
import { describe, expect, it } from 'vitest';
import { CommanderError } from 'commander';
import { EXIT, EXIT_CODES_HELP, UsageError, failureOf, worst } from '../../src/cli/exit-codes.js';
import { OutputError } from '../../src/node/files.js';
import { ExpressionError } from '../../src/tools/expr.js';
import { NonFiniteError, Value } from '../../src/engine/value.js';

describe('failureOf', () => {
  it('maps bad input to 2, output failures to 3 and anything else to 4 with a request to report it', () => {
    expect(failureOf(new UsageError('--at gives q')).code).toBe(2);
    expect(failureOf(new ExpressionError('unexpected-token', 'x', 'x +', 3)).code).toBe(2);
    let nonFinite: unknown;
    try { new Value(0).log(); } catch (e) { nonFinite = e; }
    expect(nonFinite).toBeInstanceOf(NonFiniteError);
    expect(failureOf(nonFinite).code).toBe(2);
    const out = failureOf(new OutputError('/proc/x.svg', 'no'));
    expect(out).toEqual({ code: 3, message: 'error: cannot write /proc/x.svg: no' });
    // A TypeError or RangeError from the code is a bug, not bad input.
    for (const bug of [new TypeError('x.y is not a function'), new RangeError('Maximum call stack size exceeded'), new Error('boom'), 'thrown string']) {
      const f = failureOf(bug);
      expect(f.code, String(bug)).toBe(4);
      expect(f.message).toMatch(/^internal error: /);
      expect(f.message).toMatch(/bug in micrograd-ts: please report it/);
    }
  });

  it('lets help and version end with 0 and commander\'s usage errors with 2', () => {
    expect(failureOf(new CommanderError(0, 'commander.helpDisplayed', '')).code).toBe(0);
    expect(failureOf(new CommanderError(0, 'commander.version', '')).code).toBe(0);
    expect(failureOf(new CommanderError(1, 'commander.unknownCommand', '')).code).toBe(2);
  });
});

describe('worst', () => {
  it('lets an output failure outrank a disagreement, and keeps 0 only when all are 0', () => {
    expect(worst(EXIT.disagrees, EXIT.outputFailure)).toBe(3);
    expect(worst(EXIT.outputFailure, EXIT.disagrees)).toBe(3);
    expect(worst(EXIT.ok, EXIT.ok)).toBe(0);
    expect(worst(EXIT.ok, EXIT.disagrees)).toBe(1);
  });

  it('documents every code in the help text', () => {
    for (const code of Object.values(EXIT)) expect(EXIT_CODES_HELP).toMatch(new RegExp(`^  ${code} `, 'm'));
  });
});
