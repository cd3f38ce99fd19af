/**
 * The command line's exit codes, and which one an error ends a run with. Kept apart from cli.ts
 * (which runs on import) so that the mapping can be tested as a function.
 */
import { CommanderError } from 'commander';
import { NonFiniteError } from '../engine/value.js';
import { ExpressionError } from '../tools/expr.js';
import { OutputError } from '../node/files.js';

export const EXIT = Object.freeze({
  /** Everything asked for was done. */
  ok: 0,
  /** `check`: a manual gradient disagrees with autodiff. */
  disagrees: 1,
  /** Bad input: a usage mistake, a malformed expression or option value, a model the engine rejects. */
  badInput: 2,
  /** An output or environment failure: a file or folder that cannot be written. */
  outputFailure: 3,
  /** A bug in micrograd-ts. */
  internal: 4,
  /** Interrupted by Ctrl-C (SIGINT): 128 + 2, as the shell reports it. */
  interrupted: 130,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A mistake in how the command was called or in what it was given: exit 2, the message as is. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** What a failed run prints on stderr and the code it exits with. */
export interface Failure {
  readonly code: ExitCode;
  /** The text for stderr, without a trailing line break ('' when commander has printed it already). */
  readonly message: string;
}

const REPORT_HINT = 'This is a bug in micrograd-ts: please report it with the command you ran ' +
  '(set MICROGRAD_DEBUG=1 to see the stack trace).';

/** Classifies an error thrown by a command. Anything not known to be the user's or the system's is a bug. */
export function failureOf(e: unknown): Failure {
  if (e instanceof CommanderError) {
    // Help and version end with the code commander gives them (0); its errors are usage errors.
    const quiet = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(e.code);
    return { code: quiet ? EXIT.ok : EXIT.badInput, message: '' };
  }
  if (e instanceof ExpressionError || e instanceof UsageError) return { code: EXIT.badInput, message: `error: ${e.message}` };
  if (e instanceof NonFiniteError) return { code: EXIT.badInput, message: `error: ${e.message.split('\n')[0]}` };
  if (e instanceof OutputError) return { code: EXIT.outputFailure, message: `error: ${e.message}` };
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const stack = process.env.MICROGRAD_DEBUG && e instanceof Error && e.stack ? `\n${e.stack}` : '';
  return { code: EXIT.internal, message: `internal error: ${text.split('\n')[0]}\n${REPORT_HINT}${stack}` };
}

/** The exit code when several outcomes apply: the most serious (a failed write outranks a disagreement). */
export function worst(...codes: readonly ExitCode[]): ExitCode {
  return codes.reduce<ExitCode>((a, b) => (b > a ? b : a), EXIT.ok);
}

/** The exit codes as `--help` and the README list them. */
export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0    success',
  '  1    check: a manual gradient disagrees with autodiff',
  '  2    bad input: a usage mistake, a malformed expression or value',
  '  3    an output failure: a file or folder could not be written (outranks 1)',
  '  4    an internal error (a bug: please report it)',
  '  130  interrupted (Ctrl-C)',
].join('\n');
