/**
 * Text the command line reads from an argument, a file (`@path`) or standard input (`-`): long
 * models (10⁴ named steps exceed the argument-length limit) and files of hand-derived gradients.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './exit-codes.js';

/** Text and where it came from. */
export interface SourceText {
  readonly text: string;
  /** The file's name or 'standard input'; undefined for text given on the command line. */
  readonly origin?: string;
}

let stdinTakenBy: string | undefined;

/** Reads standard input once: two options cannot both take it. */
function readStdin(what: string): string {
  if (stdinTakenBy !== undefined) throw new UsageError(`${what} and ${stdinTakenBy} cannot both read standard input (-)`);
  stdinTakenBy = what;
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} from standard input: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

function readNamedFile(path: string, what: string): string {
  if (path === '') throw new UsageError(`${what}: '@' must be followed by a file name, e.g. @model.txt`);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : code ?? String(e);
    throw new UsageError(`cannot read ${what} from ${path}: ${reason}`);
  }
}

/** `-` reads standard input, `@path` the file, anything else is the text itself. */
export function readSource(argument: string, what: string): SourceText {
  if (argument === '-') return { text: readStdin(what), origin: 'standard input' };
  if (argument.startsWith('@')) {
    const path = argument.slice(1);
    return { text: readNamedFile(path, what), origin: path };
  }
  return { text: argument };
}

/** One `--manual` formula and where its text sits in the text it was read from. */
export interface ManualEntry {
  readonly name: string;
  readonly formula: string;
  /** The whole text the formula was read from (a file's, or the argument's own). */
  readonly source: string;
  /** Where the formula starts in `source`. */
  readonly offset: number;
  readonly origin?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Splits `name=<expression>` pairs out of `text`: one pair for an argument, one per line for a
 * file or standard input (blank lines and `#` comments skipped). Errors name the file and line.
 */
export function parseManual(input: SourceText): ManualEntry[] {
  const entries: ManualEntry[] = [];
  const lines = input.origin === undefined ? [input.text] : input.text.split('\n');
  let start = 0;
  lines.forEach((raw, k) => {
    const lineStart = start;
    start += raw.length + 1;
    const line = raw.replace(/\r$/, '');
    if (input.origin !== undefined && /^\s*(#.*)?$/.test(line)) return;
    const eq = line.indexOf('=');
    const name = line.slice(0, Math.max(eq, 0)).trim();
    if (eq < 0 || !NAME.test(name) || line.slice(eq + 1).trim() === '') {
      const where = input.origin === undefined ? '' : `${input.origin}, line ${k + 1}: `;
      throw new UsageError(`${where}--manual takes name=<expression>, e.g. --manual 'w2=2*(y-a)*y*(1-y)*h', got "${line.trim()}"`);
    }
    entries.push({ name, formula: line.slice(eq + 1), source: input.text, offset: lineStart + eq + 1, origin: input.origin });
  });
  if (entries.length === 0) throw new UsageError(`${input.origin ?? '--manual'} holds no name=<expression> line`);
  return entries;
}
