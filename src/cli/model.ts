/** The model a command is given, parsed and checked against its `--at` values. */
import { buildGraph, ExpressionError, freeVariables, parseExpression, type Program } from '../tools/expr.js';
import { UsageError } from './exit-codes.js';
import type { SourceText } from './input.js';

export interface ModelAt {
  readonly program: Program;
  readonly variables: readonly string[];
  readonly at: Readonly<Record<string, number>>;
}

/** An expression error in text read from a file or standard input, its message led by where. */
export function fromOrigin<T>(origin: string | undefined, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (origin !== undefined && e instanceof ExpressionError) throw new UsageError(`${origin}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Parses the model and checks that `--at` gives every variable (the expression error names all that are missing). */
export function modelAt(model: SourceText, at: Map<string, number> | undefined): ModelAt {
  return fromOrigin(model.origin, () => {
    const program = parseExpression(model.text);
    const variables = freeVariables(program);
    const given = at ?? new Map<string, number>();
    const extra = [...given.keys()].filter((k) => !variables.includes(k));
    if (extra.length) {
      throw new UsageError(`--at gives ${extra.join(', ')}, which the expression does not use (its variables: ${variables.join(', ') || 'none'})`);
    }
    buildGraph(program, Object.fromEntries(given)); // throws the unbound-variable error with its caret
    return { program, variables, at: Object.fromEntries(given) };
  });
}
