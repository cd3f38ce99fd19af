/**
 * The ops as module functions (`mul(a, b)`, `exp(x)`), the same functions the `Value` methods call,
 * built from the op table in value.ts. ES modules export names, not a table, so each op's name is
 * listed here once; a test checks that every op of the table is exported from the main entry.
 */
import { FUNCTIONS } from './value.js';

export { sum } from './value.js';

export const {
  add, sub, mul, div, pow, neg, exp, log, tanh, sigmoid, relu, sqrt, abs, softplus, logsigmoid,
  sin, cos, tan, atan, max, min,
} = FUNCTIONS;
