/** micrograd-ts: the public API. */
export {
  Value, NonFiniteError, OP_NAMES, topologicalOrder, zeroGrad,
  add, sub, mul, div, pow, neg, exp, log, tanh, sigmoid, relu, sqrt, abs, softplus, logsigmoid, sum,
} from './value.js';
export type { Operand, OpName } from './value.js';
export { createRng } from './random.js';
export type { Rng } from './random.js';
export {
  parseExpression, buildGraph, freeVariables, formatExpression, ExpressionError,
  FUNCTION_NAMES, FUNCTION_ARITY, OPERATOR_OPS, MAX_NESTING,
} from './expr.js';
export type {
  Program, Assignment, Expression, NumberLiteral, Identifier, UnaryExpression, BinaryExpression,
  CallExpression, SourceSpan, BinaryOperator, FunctionName, Binding, Bindings, ExpressionGraph,
  ExpressionErrorCode, FormatOptions,
} from './expr.js';
export { toDot, renderSvg, writeGraph, formatNumber, mismatchNote, OP_SYMBOLS, DEFAULT_MAX_NODES } from './dot.js';
export type { DotOptions, DotMark, GraphFiles } from './dot.js';
