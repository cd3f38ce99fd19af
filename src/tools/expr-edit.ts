/**
 * Editing expression-language ASTs: making nodes, replacing names, and the light simplification
 * that makes a printed local derivative read as a person would write it (`2*x`, not
 * `2*x^(2 - 1)`). Every edit returns a new AST; `formatExpression` prints it with the right
 * parentheses.
 */
import {
  buildGraph,
  type Assignment, type BinaryOperator, type Expression, type Identifier, type Program, type SourceSpan,
} from './expr.js';

/** The span of a node made here rather than parsed (there is no source text behind it). */
const MADE: SourceSpan = Object.freeze({ start: 0, end: 0, line: 1, column: 1 });

export function numberNode(value: number): Expression {
  // The parser never makes a negative literal: a negative number is a negation.
  if (value < 0 || Object.is(value, -0)) return negate({ kind: 'number', value: -value, span: MADE });
  return { kind: 'number', value, span: MADE };
}

export function identifierNode(name: string): Identifier {
  return { kind: 'identifier', name, span: MADE };
}

export function negate(operand: Expression): Expression {
  return { kind: 'unary', operator: '-', operand, span: MADE };
}

export function binaryNode(operator: BinaryOperator, left: Expression, right: Expression): Expression {
  return { kind: 'binary', operator, left, right, span: MADE, operatorSpan: MADE };
}

/** The direct subexpressions of `e`, in source order. */
export function childrenOf(e: Expression): readonly Expression[] {
  switch (e.kind) {
    case 'unary': return [e.operand];
    case 'binary': return [e.left, e.right];
    case 'call': return e.args;
    default: return [];
  }
}

/**
 * Every subexpression of `e`, `e` first, each before its parts, in source order. Iterative, as
 * every walk here: a flat chain of 10⁵ `+` terms is as deep as it is long.
 */
export function* subexpressions(e: Expression): Generator<Expression> {
  const stack: Expression[] = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    yield x;
    const cs = childrenOf(x);
    for (let k = cs.length - 1; k >= 0; k--) stack.push(cs[k]!);
  }
}

/** The identifiers of `e`, in source order. */
export function identifierUses(e: Expression, out: Identifier[] = []): Identifier[] {
  for (const x of subexpressions(e)) if (x.kind === 'identifier') out.push(x);
  return out;
}

/** Whether `e` has at most `limit` AST nodes (the walk stops as soon as it knows). */
export function sizeAtMost(e: Expression, limit: number): boolean {
  let n = 0;
  const stack: Expression[] = [e];
  while (stack.length > 0) {
    if (++n > limit) return false;
    for (const c of childrenOf(stack.pop()!)) stack.push(c);
  }
  return true;
}

/** Every identifier use of a program (assignments, then the output), in source order. */
export function programUses(p: Program): Identifier[] {
  const out: Identifier[] = [];
  for (const a of p.assignments) identifierUses(a.value, out);
  identifierUses(p.output, out);
  return out;
}

/** `e` with each identifier for which `replace` returns an expression replaced by it (unchanged parts shared). */
export function replaceIdentifiers(e: Expression, replace: (id: Identifier) => Expression | undefined): Expression {
  // Post-order over an explicit stack: each node is rebuilt from its rebuilt parts.
  const done = new Map<Expression, Expression>();
  const stack: { x: Expression; expanded: boolean }[] = [{ x: e, expanded: false }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const x = top.x;
    if (!top.expanded) {
      top.expanded = true;
      for (const c of childrenOf(x)) stack.push({ x: c, expanded: false });
      continue;
    }
    stack.pop();
    let made: Expression;
    switch (x.kind) {
      case 'identifier': made = replace(x) ?? x; break;
      case 'number': made = x; break;
      case 'unary': {
        const operand = done.get(x.operand)!;
        made = operand === x.operand ? x : { ...x, operand };
        break;
      }
      case 'binary': {
        const left = done.get(x.left)!, right = done.get(x.right)!;
        made = left === x.left && right === x.right ? x : { ...x, left, right };
        break;
      }
      case 'call': {
        const args = x.args.map((a) => done.get(a)!);
        made = args.every((a, k) => a === x.args[k]) ? x : { ...x, args };
        break;
      }
    }
    done.set(x, made);
  }
  return done.get(e)!;
}

/** The program with the same replacement made in every statement. */
export function replaceInProgram(p: Program, replace: (id: Identifier) => Expression | undefined): Program {
  const assignments = p.assignments.map((a): Assignment => {
    const value = replaceIdentifiers(a.value, replace);
    return value === a.value ? a : { ...a, value };
  });
  return { ...p, assignments, output: replaceIdentifiers(p.output, replace) };
}

/** The program with its output replaced (its assignments kept). */
export function withOutput(p: Program, output: Expression): Program {
  return { ...p, output };
}

/** A program of one expression. */
export function expressionProgram(e: Expression, source = ''): Program {
  return { kind: 'program', assignments: [], output: e, source };
}

/** A number, or the negation of one: its value; otherwise undefined. */
function numberValue(e: Expression): number | undefined {
  if (e.kind === 'number') return e.value;
  if (e.kind === 'unary' && e.operand.kind === 'number') return -e.operand.value;
  return undefined;
}

/** Folds a number-only expression with the engine's own arithmetic; undefined if it fails. */
function fold(e: Expression): number | undefined {
  try {
    return buildGraph(expressionProgram(e)).output.data;
  } catch {
    return undefined;
  }
}

/**
 * Folds number-only parts and drops the neutral ones: `1*e`, `e*1`, `e/1`, `e^1`, `e + 0`,
 * `0 + e`, `e - 0`, `0*e` (to 0), `--e`, `(-1)*e` (to `-e`). Nothing else is rearranged.
 */
export function simplify(e: Expression): Expression {
  switch (e.kind) {
    case 'number': case 'identifier': return e;
    case 'unary': {
      const operand = simplify(e.operand);
      return cancelNegation(operand) ?? negate(operand);
    }
    case 'call': {
      const args = e.args.map(simplify);
      const made: Expression = { ...e, args };
      if (args.every((a) => numberValue(a) !== undefined)) {
        const v = fold(made);
        if (v !== undefined) return numberNode(v);
      }
      return made;
    }
    case 'binary': {
      const left = simplify(e.left), right = simplify(e.right);
      const l = numberValue(left), r = numberValue(right);
      if (l !== undefined && r !== undefined) {
        const v = fold(binaryNode(e.operator, left, right));
        if (v !== undefined) return numberNode(v);
      }
      switch (e.operator) {
        case '*':
          if (l === 0 || r === 0) return numberNode(0);
          if (l === 1) return right;
          if (r === 1) return left;
          if (l === -1) return simplify(negate(right));
          if (r === -1) return simplify(negate(left));
          break;
        case '/':
          if (r === 1) return left;
          if (r === -1) return simplify(negate(left));
          break;
        case '^':
          if (r === 1) return left;
          if (r === 0) return numberNode(1);
          break;
        case '+':
          if (l === 0) return right;
          if (r === 0) return left;
          break;
        case '-':
          if (r === 0) return left;
          if (l === 0) return simplify(negate(right));
          break;
      }
      return binaryNode(e.operator, left, right);
    }
  }
}

/** −e without a new minus sign, where e's leading factor carries one (`-2*x` → `2*x`); else undefined. */
function cancelNegation(e: Expression): Expression | undefined {
  if (e.kind === 'unary') return e.operand;
  const v = numberValue(e);
  if (v !== undefined) return numberNode(-v);
  if (e.kind === 'binary' && (e.operator === '*' || e.operator === '/')) {
    const left = cancelNegation(e.left);
    if (left !== undefined) return numberValue(left) === 1 && e.operator === '*' ? e.right : binaryNode(e.operator, left, e.right);
  }
  return undefined;
}

/** The factors of a product written left to right (`a*b*c` → a, b, c). */
export function productFactors(e: Expression): Expression[] {
  const out: Expression[] = [];
  let x = e;
  while (x.kind === 'binary' && x.operator === '*') { out.push(x.right); x = x.left; }
  out.push(x);
  return out.reverse();
}

/** True when `e` holds no name (a constant). */
export function isConstantExpression(e: Expression): boolean {
  return identifierUses(e).length === 0;
}

