/**
 * The expression language: a model written as math, parsed into a typed AST and built into a graph
 * of engine `Value`s.
 *
 *     h = sigmoid(w1*x + b1)     # named intermediates; `;` or a line break ends a statement
 *     y = sigmoid(w2*h + b2)
 *     (y - a)^2                  # the last statement is the output
 *
 * Grammar (lowest precedence first; `^` is right-associative and binds tighter than unary minus,
 * so `-x^2` is `-(x^2)` and `2^3^2` is `2^(3^2)`; an exponent may itself be negated: `2^-x`):
 *
 *     program    = statement { (";" | line break) statement }
 *     statement  = name "=" expression | expression
 *     expression = term { ("+" | "-") term }
 *     term       = unary { ("*" | "/") unary }
 *     unary      = "-" unary | power
 *     power      = primary [ "^" unary ]
 *     primary    = number | name | function "(" expression { "," expression } ")" | "(" expression ")"
 *
 * Numbers are `3`, `3.`, `.5`, `1e-3`, `2.5E+2` (never signed: `-3` is a negation). The minus sign
 * U+2212 (−, as this library prints numbers) reads as `-`, in exponents too (`4.3e−19`). Names are ASCII
 * letters, digits and `_`, not starting with a digit; function names are reserved. `#` starts a
 * comment that runs to the end of the line. Inside parentheses, and after an operator, `=` or `,`,
 * a line break does not end the statement, so a long formula can be split across lines.
 *
 * Size: chains of `+ -` and of `* /` (`x*1 + x*2 + …`, 10⁴ terms and more) are parsed and walked
 * without recursion. What nests (parentheses, calls, unary minus, the exponent of `^`) is parsed by
 * recursion and bounded at `MAX_NESTING` levels; every walk over the AST after parsing is iterative.
 *
 * Building (`buildGraph`):
 * - A free name (one never assigned) is a variable: a leaf `Value` labelled with its name (from a
 *   number binding), or the caller's own `Value` (from a Value binding; used as is, label untouched,
 *   so gradients land on it).
 * - Number-only subexpressions are folded to a number while building (`2*3` is 6, `-2^2` is −4,
 *   `log(1)` is 0), with the engine's own arithmetic and finiteness checks; a number then enters
 *   the graph as the engine's inline constant operand (`3 - x` is `sub(3, x)`, `x^2` is
 *   `x.pow(2)`), so the graph never holds a variable leaf for a literal. There is no algebraic
 *   reassociation: `x*2*3` is `(x*2)*3`.
 * - An assignment labels the `Value` it makes with its name (so DOT pictures read like the math).
 *   A named number (`c = 2*3`) becomes a constant leaf (`Value.constant`) labelled `c`, and uses of
 *   `c` refer to that leaf; an alias (`h = x`) shares `x`'s Value and does not relabel it.
 * - A number-only output is returned as a constant leaf.
 */
import { Value, NonFiniteError, OP_FUNCTIONS, sum } from '../engine/value.js';
import { neg } from '../engine/functions.js';
import { OPS, OP_NAMES } from '../engine/ops.js';
import type { OpName, Operand } from '../engine/value.js';

// ---------------------------------------------------------------------------------------------
// The AST.

/** Where a node came from in the source text. */
export interface SourceSpan {
  /** Offset of the first character, 0-based, in UTF-16 code units (as `String.prototype.slice`). */
  readonly start: number;
  /** Offset just past the last character. */
  readonly end: number;
  /** Line of `start`, 1-based. */
  readonly line: number;
  /** Column of `start`, 1-based. */
  readonly column: number;
}

export type BinaryOperator = '+' | '-' | '*' | '/' | '^';

/** The engine ops that are written as function calls (those with a `call` name in the op table). */
export type FunctionName = { [K in keyof typeof OPS]: (typeof OPS)[K]['call'] extends string ? K : never }[keyof typeof OPS];

/** A literal number; the parser only makes finite, non-negative ones (`-3` is a negation). */
export interface NumberLiteral {
  readonly kind: 'number';
  readonly value: number;
  readonly span: SourceSpan;
}

/** A use of a name: a free variable, or an intermediate assigned earlier. */
export interface Identifier {
  readonly kind: 'identifier';
  readonly name: string;
  readonly span: SourceSpan;
}

export interface UnaryExpression {
  readonly kind: 'unary';
  readonly operator: '-';
  readonly operand: Expression;
  readonly span: SourceSpan;
}

export interface BinaryExpression {
  readonly kind: 'binary';
  readonly operator: BinaryOperator;
  readonly left: Expression;
  readonly right: Expression;
  readonly span: SourceSpan;
  /** The operator symbol itself (where a numeric error in this operation is reported). */
  readonly operatorSpan: SourceSpan;
}

export interface CallExpression {
  readonly kind: 'call';
  readonly callee: FunctionName;
  readonly args: readonly Expression[];
  readonly span: SourceSpan;
  /** The function name (where an error in this call is reported). */
  readonly calleeSpan: SourceSpan;
}

export type Expression = NumberLiteral | Identifier | UnaryExpression | BinaryExpression | CallExpression;

/** `name = value`. */
export interface Assignment {
  readonly kind: 'assignment';
  readonly name: string;
  readonly nameSpan: SourceSpan;
  readonly value: Expression;
  readonly span: SourceSpan;
}

/** A parsed program: named intermediates in order, then the output expression. */
export interface Program {
  readonly kind: 'program';
  readonly assignments: readonly Assignment[];
  readonly output: Expression;
  /** The text it was parsed from (error messages quote it). */
  readonly source: string;
}

// ---------------------------------------------------------------------------------------------
// The functions and operators: read from the op table, so a new op is callable by its `call` name.

interface FunctionSpec {
  readonly min: number;
  readonly max: number;
  /** Makes the node; at least one argument is a Value. */
  readonly apply: (args: readonly Operand[]) => Value;
}

type OpFunction = (x: Operand, y?: Operand) => Value;

function functionSpec(name: FunctionName): FunctionSpec {
  const op = OPS[name];
  if (op.arity === 'n') return { min: 1, max: Infinity, apply: (args) => sum(args) };
  const f = OP_FUNCTIONS[op.method as keyof typeof OP_FUNCTIONS] as OpFunction;
  return op.arity === 1
    ? { min: 1, max: 1, apply: (args) => f(args[0] as Value) }
    : { min: 2, max: 2, apply: (args) => f(args[0]!, args[1]!) };
}

const FUNCTIONS = Object.fromEntries(
  OP_NAMES.filter((name) => OPS[name].call !== null).map((name) => [OPS[name].call, functionSpec(name as FunctionName)]),
) as { readonly [N in FunctionName]: FunctionSpec };

/** The names callable in expressions. */
export const FUNCTION_NAMES: readonly FunctionName[] = Object.freeze(Object.keys(FUNCTIONS) as FunctionName[]);

/** How many arguments each function takes (`max` is `Infinity` for `sum`). */
export const FUNCTION_ARITY: { readonly [N in FunctionName]: { readonly min: number; readonly max: number } } =
  Object.freeze(Object.fromEntries(FUNCTION_NAMES.map((n) => [n, Object.freeze({ min: FUNCTIONS[n].min, max: FUNCTIONS[n].max })]))) as
    { readonly [N in FunctionName]: { readonly min: number; readonly max: number } };

const OPERATOR_NAMES = OP_NAMES.filter((name) => OPS[name].arity === 2 && (OPS[name] as { operator: string | null }).operator !== null);

/** The engine op each operator builds (`'unary -'` is negation). */
export const OPERATOR_OPS: { readonly [O in BinaryOperator | 'unary -']: Exclude<OpName, ''> } = Object.freeze({
  ...Object.fromEntries(OPERATOR_NAMES.map((name) => [(OPS[name] as { operator: string }).operator, name])),
  'unary -': 'neg',
}) as { readonly [O in BinaryOperator | 'unary -']: Exclude<OpName, ''> };

const BINARY = Object.fromEntries(OPERATOR_NAMES.map((name) => [
  (OPS[name] as { operator: string }).operator, OP_FUNCTIONS[OPS[name].method as keyof typeof OP_FUNCTIONS],
])) as { readonly [O in BinaryOperator]: (a: Operand, b: Operand) => Value };

function isFunctionName(name: string): name is FunctionName {
  return Object.hasOwn(FUNCTIONS, name);
}

// ---------------------------------------------------------------------------------------------
// Errors.

export type ExpressionErrorCode =
  | 'unexpected-character'
  | 'malformed-number'
  | 'number-out-of-range'
  | 'unexpected-token'       // something other than an operand where one is needed, or in a call's list
  | 'trailing-input'         // more after a complete expression, e.g. `x y`
  | 'unclosed-parenthesis'   // points at the `(`
  | 'unmatched-parenthesis'  // a stray `)`
  | 'unknown-function'
  | 'wrong-arity'
  | 'reserved-name'          // a function name used as a variable or assigned
  | 'invalid-assignment'     // `x + 1 = 2`, `a = b = 1`
  | 'duplicate-assignment'
  | 'used-before-assignment'
  | 'unused-expression'      // an expression statement that is not the last
  | 'missing-output'         // the last statement is an assignment
  | 'empty-input'
  | 'too-deep'
  | 'unbound-variable'
  | 'assigned-and-bound'
  | 'numeric';               // the engine rejected a value (e.g. log(0)); `cause` is its NonFiniteError

/**
 * Deeper nesting than this (parentheses, calls, unary minus, `^` exponents: what the parser reads by
 * recursion) is rejected, so that parsing cannot overflow the stack. Chains of `+ - * /` do not nest.
 */
export const MAX_NESTING = 1000;

/**
 * A problem with an expression's text (or with building it), with its position: `line` and
 * `column` are 1-based; `excerpt` is the source line with a `^` under the position; `message` is
 * `line L, column C: reason` followed by the excerpt.
 */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
  /** The position's line, 1-based. */
  readonly line: number;
  /** The position's column, 1-based, counted in characters. */
  readonly column: number;
  /** The position as an offset into the source (UTF-16 code units, 0-based). */
  readonly offset: number;
  /** The source line and a caret under the position. */
  readonly excerpt: string;

  constructor(
    /** Which kind of problem. */
    readonly code: ExpressionErrorCode,
    /** What is wrong, without the position. */
    readonly reason: string,
    source: string,
    offset: number,
    options?: { cause?: unknown },
  ) {
    const at = locate(source, offset);
    const excerpt = makeExcerpt(at.lineText, at.column, at.line);
    super(`line ${at.line}, column ${at.column}: ${reason}\n${excerpt}`, options);
    this.line = at.line;
    this.column = at.column;
    this.offset = offset;
    this.excerpt = excerpt;
  }
}

/** The source line holding `offset`, with a caret under it (as in an `ExpressionError`'s excerpt). */
export function sourceExcerpt(source: string, offset: number): string {
  const at = locate(source, offset);
  return makeExcerpt(at.lineText, at.column, at.line);
}

function locate(source: string, offset: number): { line: number; column: number; lineText: string } {
  const at = Math.max(0, Math.min(offset, source.length));
  let line = 1, lineStart = 0;
  for (let k = source.indexOf('\n'); k !== -1 && k < at; k = source.indexOf('\n', k + 1)) {
    line++;
    lineStart = k + 1;
  }
  let lineEnd = source.indexOf('\n', lineStart);
  if (lineEnd === -1) lineEnd = source.length;
  const before = source.slice(lineStart, at);
  return { line, column: Array.from(before).length + 1, lineText: source.slice(lineStart, lineEnd) };
}

const EXCERPT_WIDTH = 100;

function makeExcerpt(lineText: string, column: number, line: number): string {
  // Control characters (tabs, a CR before the LF, escape sequences) are shown as one space or `?`
  // each, so the caret lines up and a terminal never interprets them.
  let chars = Array.from(lineText.replace(/\r$/, '')).map((c) => (c === '\t' ? ' ' : /[\p{Cc}]/u.test(c) ? '?' : c));
  let caret = column - 1;
  if (chars.length > EXCERPT_WIDTH) {
    const from = Math.max(0, Math.min(caret - EXCERPT_WIDTH / 2, chars.length - EXCERPT_WIDTH));
    const to = from + EXCERPT_WIDTH;
    chars = [...(from > 0 ? ['…'] : []), ...chars.slice(from, to), ...(to < chars.length ? ['…'] : [])];
    caret = caret - from + (from > 0 ? 1 : 0);
  }
  const gutter = String(line);
  const pad = ' '.repeat(gutter.length);
  return `  ${gutter} | ${chars.join('')}\n  ${pad} | ${' '.repeat(caret)}^`;
}

// ---------------------------------------------------------------------------------------------
// Tokens.

type TokenKind = 'number' | 'name' | 'symbol' | 'newline' | 'eof';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly value: number; // numbers only
  readonly span: SourceSpan;
}

const SYMBOLS = new Set(['+', '-', '*', '/', '^', '(', ')', ',', '=', ';']);
const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+\-\u2212]?\d+)?/y;
/** U+2212 MINUS SIGN, read as `-`. */
const MINUS_SIGN = '\u2212';
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER_TAIL = /[A-Za-z0-9_.]*/y;
const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1, lineStart = 0, i = 0;
  // Every character before a token on its line is ASCII (anything else outside a comment is an
  // error), so a token's column is its distance from the line start.
  const span = (start: number, end: number): SourceSpan => ({ start, end, line, column: start - lineStart + 1 });
  const fail = (code: ExpressionErrorCode, reason: string, at: number): never => {
    throw new ExpressionError(code, reason, source, at);
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\uFEFF') {
      i++;
    } else if (c === '\n') {
      tokens.push({ kind: 'newline', text: '\n', value: 0, span: span(i, i + 1) });
      i++;
      line++;
      lineStart = i;
    } else if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if ((c >= '0' && c <= '9') || (c === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const text = NUMBER.exec(source)![0];
      NUMBER_TAIL.lastIndex = i + text.length;
      const tail = NUMBER_TAIL.exec(source)![0];
      if (tail !== '') {
        const hint = /^[A-Za-z_]\w*$/.test(tail) && !/^[eE]\d*$/.test(tail) ? `; for a product write ${text}*${tail}` : '';
        fail('malformed-number', `malformed number '${text}${tail}'${hint}`, i);
      }
      const value = Number(text.replace(MINUS_SIGN, '-'));
      if (!Number.isFinite(value)) fail('number-out-of-range', `the number ${text} is too large`, i);
      tokens.push({ kind: 'number', text, value, span: span(i, i + text.length) });
      i += text.length;
    } else if (/[A-Za-z_]/.test(c)) {
      NAME.lastIndex = i;
      const text = NAME.exec(source)![0];
      tokens.push({ kind: 'name', text, value: 0, span: span(i, i + text.length) });
      i += text.length;
    } else if (SYMBOLS.has(c) || c === MINUS_SIGN) {
      tokens.push({ kind: 'symbol', text: c === MINUS_SIGN ? '-' : c, value: 0, span: span(i, i + 1) });
      i++;
    } else {
      const ch = String.fromCodePoint(source.codePointAt(i)!);
      const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      const shown = /^[\x21-\x7e]$/.test(ch) ? `'${ch}'` : /[\p{L}\p{N}\p{P}\p{S}]/u.test(ch) ? `'${ch}' (${code})` : code;
      fail('unexpected-character', `unexpected character ${shown}`, i);
    }
  }
  // The end is placed just after the last token, so "found end of input" points where more was expected.
  let last = tokens.length - 1;
  while (last >= 0 && tokens[last]!.kind === 'newline') last--;
  const endAt = last >= 0 ? tokens[last]!.span.end : 0;
  const endLoc = locate(source, endAt);
  tokens.push({ kind: 'eof', text: '', value: 0, span: { start: endAt, end: endAt, line: endLoc.line, column: endLoc.column } });
  return tokens;
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'number': return `the number ${t.text}`;
    case 'name': return `the name '${t.text}'`;
    case 'symbol': return `'${t.text}'`;
    case 'newline': return 'a line break';
    case 'eof': return 'the end of the input';
  }
}

function isSeparator(t: Token): boolean {
  return t.kind === 'newline' || (t.kind === 'symbol' && t.text === ';');
}

function isSymbol(t: Token, text: string): boolean {
  return t.kind === 'symbol' && t.text === text;
}

// ---------------------------------------------------------------------------------------------
// Parsing.

type Statement = Assignment | Expression;

class Parser {
  private pos = 0;
  /** The open `(` tokens, innermost last: line breaks inside them do not end a statement. */
  private readonly open: Token[] = [];
  /** How deep the parser's recursion is (parentheses, calls, negations, exponents). */
  private depth = 0;

  constructor(private readonly source: string, private readonly tokens: readonly Token[]) {}

  private fail(code: ExpressionErrorCode, reason: string, at: number): never {
    throw new ExpressionError(code, reason, this.source, at);
  }

  /** The next token; inside parentheses, line breaks are skipped. */
  private peek(): Token {
    if (this.open.length > 0) this.skipNewlines();
    return this.tokens[this.pos]!;
  }

  private skipNewlines(): void {
    while (this.tokens[this.pos]!.kind === 'newline') this.pos++;
  }

  private advance(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  /** Where an operand is expected a line break cannot end the statement, so it is skipped. */
  private peekOperand(): Token {
    this.skipNewlines();
    return this.tokens[this.pos]!;
  }

  private spanFrom(start: SourceSpan, end: number): SourceSpan {
    return { start: start.start, end, line: start.line, column: start.column };
  }

  parseProgram(): Statement[] {
    const statements: Statement[] = [];
    for (;;) {
      while (isSeparator(this.tokens[this.pos]!)) this.pos++;
      if (this.tokens[this.pos]!.kind === 'eof') break;
      const statement = this.parseStatement();
      statements.push(statement);
      const t = this.tokens[this.pos]!;
      if (isSeparator(t) || t.kind === 'eof') continue;
      if (isSymbol(t, ')')) this.fail('unmatched-parenthesis', `unmatched ')'`, t.span.start);
      if (isSymbol(t, '=')) {
        this.fail('invalid-assignment', statement.kind === 'assignment'
          ? `unexpected '='; assign one name per statement`
          : `unexpected '='; only a name can be assigned`, t.span.start);
      }
      this.fail('trailing-input', `expected an operator, ';' or a line break after a complete expression, but found ${describe(t)}`, t.span.start);
    }
    return statements;
  }

  private parseStatement(): Statement {
    const t = this.tokens[this.pos]!;
    const after = this.tokens[this.pos + 1]!;
    if (t.kind === 'name' && isSymbol(after, '=')) {
      if (isFunctionName(t.text)) this.fail('reserved-name', `'${t.text}' is a function name and cannot be assigned`, t.span.start);
      this.pos += 2;
      const value = this.parseExpression();
      return { kind: 'assignment', name: t.text, nameSpan: t.span, value, span: this.spanFrom(t.span, value.span.end) };
    }
    return this.parseExpression();
  }

  private parseExpression(): Expression {
    let left = this.parseTerm();
    for (let t = this.peek(); isSymbol(t, '+') || isSymbol(t, '-'); t = this.peek()) {
      this.advance();
      const right = this.parseTerm();
      left = this.binary(t, left, right);
    }
    return left;
  }

  private parseTerm(): Expression {
    let left = this.parseUnary();
    for (let t = this.peek(); isSymbol(t, '*') || isSymbol(t, '/'); t = this.peek()) {
      this.advance();
      const right = this.parseUnary();
      left = this.binary(t, left, right);
    }
    return left;
  }

  private binary(op: Token, left: Expression, right: Expression): BinaryExpression {
    return {
      kind: 'binary', operator: op.text as BinaryOperator, left, right,
      span: this.spanFrom(left.span, right.span.end), operatorSpan: op.span,
    };
  }

  // Every nested parse (parentheses, arguments, negations, exponents) passes through here, so this
  // is where the parser's own recursion is bounded.
  private parseUnary(): Expression {
    const t = this.peekOperand();
    if (++this.depth > MAX_NESTING) {
      this.fail('too-deep', `the expression is nested more than ${MAX_NESTING} levels deep (parentheses, calls, negations and powers); split it into named steps`, t.span.start);
    }
    try {
      if (isSymbol(t, '-')) {
        this.advance();
        const operand = this.parseUnary();
        return { kind: 'unary', operator: '-', operand, span: this.spanFrom(t.span, operand.span.end) };
      }
      const base = this.parsePrimary();
      const caret = this.peek();
      if (!isSymbol(caret, '^')) return base;
      this.advance();
      const exponent = this.parseUnary();
      return this.binary(caret, base, exponent);
    } finally {
      this.depth--;
    }
  }

  private parsePrimary(): Expression {
    const t = this.peekOperand();
    if (t.kind === 'number') {
      this.advance();
      return { kind: 'number', value: t.value, span: t.span };
    }
    if (t.kind === 'name') {
      this.advance();
      if (isSymbol(this.peek(), '(')) return this.parseCall(t);
      if (isFunctionName(t.text)) {
        this.fail('reserved-name', `'${t.text}' is a function; call it as ${t.text}(...)`, t.span.start);
      }
      return { kind: 'identifier', name: t.text, span: t.span };
    }
    if (isSymbol(t, '(')) {
      this.advance();
      this.open.push(t);
      const inner = this.parseExpression();
      this.close(t, 'the expression');
      return inner;
    }
    this.fail(...this.operandError(t));
  }

  private operandError(t: Token): [ExpressionErrorCode, string, number] {
    if (isSymbol(t, ')') && this.open.length === 0) return ['unmatched-parenthesis', `unmatched ')'`, t.span.start];
    let k = this.pos - 1;
    while (k >= 0 && this.tokens[k]!.kind === 'newline') k--;
    const prev = k >= 0 ? this.tokens[k]! : undefined;
    const after = prev && prev.kind === 'symbol' && prev.text !== '(' && prev.text !== ';' ? ` after '${prev.text}'` : '';
    const hint = prev && isSymbol(prev, '*') && isSymbol(t, '*') ? ' (for a power write x^2, not x**2)' : '';
    return ['unexpected-token', `expected a number, a name, '-' or '('${after} but found ${describe(t)}${hint}`, t.span.start];
  }

  /** Consumes the `)` matching `open`, or reports why it is missing. */
  private close(open: Token, what: string): Token {
    const t = this.peek();
    if (isSymbol(t, ')')) {
      this.advance();
      this.open.pop();
      return t;
    }
    if (t.kind === 'eof' || isSymbol(t, ';')) this.fail('unclosed-parenthesis', `'(' is never closed`, open.span.start);
    this.fail('unexpected-token',
      `expected ')' to close the '(' at line ${open.span.line}, column ${open.span.column} after ${what}, but found ${describe(t)}`,
      t.span.start);
  }

  private parseCall(name: Token): CallExpression {
    if (!isFunctionName(name.text)) {
      this.fail('unknown-function', `unknown function '${name.text}'${suggestFunction(name.text)}`, name.span.start);
    }
    const callee = name.text;
    const open = this.advance();
    this.open.push(open);
    const args: Expression[] = [];
    let end: Token;
    if (isSymbol(this.peek(), ')')) {
      end = this.close(open, `${callee}(`);
    } else {
      for (;;) {
        args.push(this.parseExpression());
        const t = this.peek();
        if (isSymbol(t, ',')) {
          this.advance();
          continue;
        }
        if (isSymbol(t, ')') || t.kind === 'eof' || isSymbol(t, ';')) {
          end = this.close(open, `the arguments of ${callee}`);
          break;
        }
        this.fail('unexpected-token',
          `expected ',' or ')' after an argument of ${callee} (opened at line ${open.span.line}, column ${open.span.column}) but found ${describe(t)}`,
          t.span.start);
      }
    }
    const { min, max } = FUNCTIONS[callee];
    if (args.length < min || args.length > max) {
      const expected = max === Infinity ? `at least ${plural(min, 'argument')}` : min === max ? plural(min, 'argument') : `${min} to ${max} arguments`;
      this.fail('wrong-arity', `${callee} takes ${expected}, got ${args.length}`, name.span.start);
    }
    return { kind: 'call', callee, args, span: this.spanFrom(name.span, end.span.end), calleeSpan: name.span };
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest of `candidates` to `name`, if close enough to be a likely typo. */
function nearest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined, bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, c);
    if (d < bestDistance) { best = c; bestDistance = d; }
  }
  // One slip in a short name, two in a longer one; beyond that a guess is more noise than help.
  return bestDistance <= (name.length <= 4 ? 1 : 2) ? best : undefined;
}

const FUNCTION_ALIASES: Readonly<Record<string, FunctionName>> = { ln: 'log', sigma: 'sigmoid', power: 'pow', total: 'sum' };

function suggestFunction(name: string): string {
  const guess = FUNCTION_ALIASES[name.toLowerCase()] ?? nearest(name, FUNCTION_NAMES);
  return guess ? `; did you mean '${guess}'?` : `; the functions are ${FUNCTION_NAMES.join(', ')}`;
}

/** An expression's operands, left to right. */
function children(e: Expression): readonly Expression[] {
  switch (e.kind) {
    case 'unary': return [e.operand];
    case 'binary': return [e.left, e.right];
    case 'call': return e.args;
    default: return [];
  }
}

/**
 * Folds an expression bottom-up without recursion (a chain of 10⁴ `+` is 10⁴ levels deep):
 * `combine` gets each node with its operands' results, operands visited left to right.
 */
function foldExpression<T>(root: Expression, combine: (e: Expression, parts: readonly T[]) => T): T {
  const results: T[] = [];
  const stack: { readonly e: Expression; expanded: boolean }[] = [{ e: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const operands = children(top.e);
    if (!top.expanded && operands.length > 0) {
      top.expanded = true;
      for (let k = operands.length - 1; k >= 0; k--) stack.push({ e: operands[k]!, expanded: false });
      continue;
    }
    stack.pop();
    const parts = operands.length > 0 ? results.splice(results.length - operands.length) : [];
    results.push(combine(top.e, parts));
  }
  return results[0]!;
}

/** Identifier uses in source order. */
function identifiers(root: Expression, out: Identifier[] = []): Identifier[] {
  const stack: Expression[] = [root];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (e.kind === 'identifier') out.push(e);
    const operands = children(e);
    for (let k = operands.length - 1; k >= 0; k--) stack.push(operands[k]!);
  }
  return out;
}

/**
 * Parses a program: statements separated by `;` or line breaks, each `name = expression` except
 * the last, which is the output expression. Checks everything that does not depend on bindings
 * (syntax, function names and argument counts, names assigned twice or used before assignment).
 * @throws ExpressionError
 */
export function parseExpression(source: string): Program {
  if (typeof source !== 'string') throw new TypeError(`the expression must be a string, got ${typeof source}`);
  const statements = new Parser(source, tokenize(source)).parseProgram();
  if (statements.length === 0) throw new ExpressionError('empty-input', 'empty input: there is no expression', source, 0);
  const fail = (code: ExpressionErrorCode, reason: string, at: number): never => {
    throw new ExpressionError(code, reason, source, at);
  };
  const assignedAnywhere = new Map<string, Assignment>();
  for (const s of statements) if (s.kind === 'assignment' && !assignedAnywhere.has(s.name)) assignedAnywhere.set(s.name, s);
  const assigned = new Map<string, Assignment>();
  const last = statements.length - 1;
  statements.forEach((s, k) => {
    const expr = s.kind === 'assignment' ? s.value : s;
    if (s.kind !== 'assignment' && k < last) {
      const next = statements[k + 1]!;
      const hint = next.kind === 'unary' && k + 1 === last
        ? ` (to continue an expression on the next line, end this line with the operator or wrap it in parentheses)` : '';
      fail('unused-expression', `this expression's value is unused: only the last statement is the output; give it a name (z = ...) or remove it${hint}`, s.span.start);
    }
    for (const use of identifiers(expr)) {
      if (assigned.has(use.name) || !assignedAnywhere.has(use.name)) continue;
      const target = s.kind === 'assignment' && s.name === use.name ? s : undefined;
      const where = statements.slice(k).find((t): t is Assignment => t.kind === 'assignment' && t.name === use.name)!;
      fail('used-before-assignment', target
        ? `'${use.name}' is used in its own definition`
        : `'${use.name}' is used before it is assigned (at line ${where.nameSpan.line}, column ${where.nameSpan.column})`, use.span.start);
    }
    if (s.kind === 'assignment') {
      const first = assigned.get(s.name);
      if (first) {
        fail('duplicate-assignment', `'${s.name}' is already assigned at line ${first.nameSpan.line}, column ${first.nameSpan.column}`, s.nameSpan.start);
      }
      assigned.set(s.name, s);
      if (k === last) {
        fail('missing-output', `the last statement assigns '${s.name}' but the program needs an output expression after it (for example '${s.name}' on its own)`, s.span.start);
      }
    }
  });
  return {
    kind: 'program',
    assignments: statements.slice(0, last) as Assignment[],
    output: statements[last] as Expression,
    source,
  };
}

/** The free variables of a program (names used but never assigned), in order of first use. */
export function freeVariables(program: Program): readonly string[] {
  const assigned = new Set(program.assignments.map((a) => a.name));
  const names = new Set<string>();
  for (const e of [...program.assignments.map((a) => a.value), program.output]) {
    for (const use of identifiers(e)) if (!assigned.has(use.name)) names.add(use.name);
  }
  return [...names];
}

// ---------------------------------------------------------------------------------------------
// Building.

/** A value for a free variable: a number (a new leaf is made) or a Value (used as is). */
export type Binding = number | Value;
export type Bindings = Readonly<Record<string, Binding>> | ReadonlyMap<string, Binding>;

/** A built program. */
export interface ExpressionGraph {
  /** The value of the last statement (a constant leaf if it involves no variable). */
  readonly output: Value;
  /** Each free variable's leaf, in order of first use: where gradients land. */
  readonly variables: ReadonlyMap<string, Value>;
  /** Each assigned name's Value, in program order. */
  readonly intermediates: ReadonlyMap<string, Value>;
  /** Every name of the program (variables, then intermediates) to its Value. */
  readonly names: ReadonlyMap<string, Value>;
  /** Names given in the bindings that the program does not use. */
  readonly unusedBindings: readonly string[];
}

function bindingEntries(bindings: Bindings): [string, unknown][] {
  if (bindings instanceof Map) return [...(bindings as ReadonlyMap<string, unknown>)];
  if (typeof bindings !== 'object' || bindings === null) {
    throw new TypeError(`bindings must be an object or a Map, got ${bindings === null ? 'null' : typeof bindings}`);
  }
  return Object.entries(bindings);
}

/**
 * Builds the graph of a program (source text or a parsed `Program`), with the given values for its
 * free variables. Bindings the program does not use are ignored (and listed in `unusedBindings`).
 * @throws ExpressionError for a problem in the program: a variable without a binding (all of them
 *   are named), a name both assigned and bound, a numeric error from the engine.
 * @throws TypeError / RangeError for a binding that is neither a finite number nor a Value.
 */
export function buildGraph(program: string | Program, bindings: Bindings = {}): ExpressionGraph {
  const parsed = typeof program === 'string' ? parseExpression(program) : program;
  const source = parsed.source;
  const given = new Map<string, Binding>();
  for (const [name, b] of bindingEntries(bindings)) {
    if (b instanceof Value) {
      given.set(name, b);
    } else if (typeof b === 'number') {
      if (!Number.isFinite(b)) throw new RangeError(`the binding of '${name}' must be a finite number, got ${b}`);
      given.set(name, b);
    } else {
      throw new TypeError(`the binding of '${name}' must be a number or a Value, got ${b === null ? 'null' : typeof b}`);
    }
  }
  for (const a of parsed.assignments) {
    if (given.has(a.name)) {
      throw new ExpressionError('assigned-and-bound',
        `'${a.name}' is assigned here but also given a value from outside; rename one of them`, source, a.nameSpan.start);
    }
  }

  const free = freeVariables(parsed);
  const missing = free.filter((n) => !given.has(n));
  if (missing.length > 0) {
    const unused = [...given.keys()].filter((n) => !free.includes(n));
    const list = missing.map((n) => {
      const guess = nearest(n, unused);
      return guess ? `'${n}' (did you mean '${guess}'?)` : `'${n}'`;
    });
    const firstUse = [...parsed.assignments.map((a) => a.value), parsed.output]
      .flatMap((e) => identifiers(e)).find((u) => u.name === missing[0])!;
    throw new ExpressionError('unbound-variable',
      `${missing.length === 1 ? 'unbound variable' : 'unbound variables'} ${list.join(', ')}: give ${missing.length === 1 ? 'it a value' : 'each a value'}`,
      source, firstUse.span.start);
  }

  const variables = new Map<string, Value>();
  for (const name of free) {
    const b = given.get(name)!;
    variables.set(name, b instanceof Value ? b : new Value(b, name));
  }
  const scope = new Map<string, Value>(variables);
  const evaluate = (e: Expression): Operand => evaluateExpression(e, scope, source);
  const intermediates = new Map<string, Value>();
  for (const a of parsed.assignments) {
    const x = evaluate(a.value);
    let v: Value;
    if (typeof x === 'number') {
      v = Value.constant(x);
      v.label = a.name;
    } else {
      v = x;
      // An alias (`h = x`) is the same Value: its own label stays.
      if (a.value.kind !== 'identifier') v.label = a.name;
    }
    intermediates.set(a.name, v);
    scope.set(a.name, v);
  }
  const out = evaluate(parsed.output);
  return {
    output: typeof out === 'number' ? Value.constant(out) : out,
    variables,
    intermediates,
    names: new Map([...variables, ...intermediates]),
    unusedBindings: [...given.keys()].filter((n) => !variables.has(n)),
  };
}

/** Runs one engine operation, reporting a numeric failure at `span` in the source. */
function engine(span: SourceSpan, source: string, run: () => Value): Value {
  try {
    return run();
  } catch (err) {
    if (err instanceof NonFiniteError) throw new ExpressionError('numeric', err.message, source, span.start, { cause: err });
    throw err;
  }
}

// Numbers fold: an operation whose operands are all numbers is run on a throwaway leaf and only its
// number is kept, so folding shares the engine's arithmetic and its finiteness checks.
function evaluateExpression(root: Expression, scope: ReadonlyMap<string, Value>, source: string): Operand {
  return foldExpression<Operand>(root, (e, parts) => {
    switch (e.kind) {
      case 'number':
        return e.value;
      case 'identifier':
        return scope.get(e.name)!;
      case 'unary': {
        const x = parts[0]!;
        return typeof x === 'number' ? -x : neg(x);
      }
      case 'binary': {
        const [a, b] = parts as [Operand, Operand];
        const f = BINARY[e.operator];
        if (typeof a === 'number' && typeof b === 'number') return engine(e.operatorSpan, source, () => f(new Value(a), b)).data;
        return engine(e.operatorSpan, source, () => f(a, b));
      }
      case 'call': {
        const spec = FUNCTIONS[e.callee];
        if (parts.every((a) => typeof a === 'number')) {
          return engine(e.calleeSpan, source, () => spec.apply([new Value(parts[0] as number), ...parts.slice(1)])).data;
        }
        return engine(e.calleeSpan, source, () => spec.apply(parts));
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Printing.

export interface FormatOptions {
  /** Between statements; `"; "` unless given (use `"\n"` for one statement per line). */
  readonly separator?: string;
}

// Binding strength: + - → 1, * / → 2, unary minus → 3, ^ → 4, atoms → 5.
function strength(e: Expression): number {
  switch (e.kind) {
    case 'binary': return e.operator === '^' ? 4 : e.operator === '*' || e.operator === '/' ? 2 : 1;
    case 'unary': return 3;
    case 'number': return e.value < 0 || Object.is(e.value, -0) ? 3 : 5;
    default: return 5;
  }
}

function formatNumber(x: number): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new RangeError(`cannot print the non-finite number ${x}`);
  return Object.is(x, -0) ? '-0' : String(x);
}

function formatName(name: string): string {
  if (!VALID_NAME.test(name) || isFunctionName(name)) throw new RangeError(`cannot print ${JSON.stringify(name)} as a variable name`);
  return name;
}

/** Source text for one expression, built bottom-up without recursion. */
function formatNode(root: Expression): string {
  return foldExpression<string>(root, (e, parts) => {
    // An operand weaker than `min` is parenthesized.
    const at = (k: number, min: number): string => (strength(children(e)[k]!) < min ? `(${parts[k]!})` : parts[k]!);
    switch (e.kind) {
      case 'number': return formatNumber(e.value);
      case 'identifier': return formatName(e.name);
      case 'unary': return `-${at(0, 3)}`;
      case 'call': return `${e.callee}(${parts.join(', ')})`;
      case 'binary':
        switch (e.operator) {
          // Left-associative: the right operand of equal strength needs parentheses.
          case '+': case '-': return `${at(0, 1)} ${e.operator} ${at(1, 2)}`;
          case '*': case '/': return `${at(0, 2)} ${e.operator} ${at(1, 3)}`;
          // The base is an atom; the exponent may be anything from unary minus up (right-associative).
          case '^': return `${at(0, 5)}^${at(1, 3)}`;
        }
    }
  });
}

/**
 * Source text for an AST, with the fewest parentheses: parsing it gives back the same AST (up to
 * source positions) for any AST the parser can produce.
 */
export function formatExpression(ast: Program | Assignment | Expression, options: FormatOptions = {}): string {
  switch (ast.kind) {
    case 'program':
      return [...ast.assignments.map((a) => formatExpression(a)), formatNode(ast.output)].join(options.separator ?? '; ');
    case 'assignment':
      return `${formatName(ast.name)} = ${formatNode(ast.value)}`;
    default:
      return formatNode(ast);
  }
}
