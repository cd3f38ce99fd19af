/** micrograd-ts: the public API. */
export {
  Value, NonFiniteError, OP_NAMES, topologicalOrder, zeroGrad,
  add, sub, mul, div, pow, neg, exp, log, tanh, sigmoid, relu, sqrt, abs, softplus, logsigmoid, sum,
} from './value.js';
export type { Operand, OpName } from './value.js';
export { createRng } from './random.js';
export type { Rng } from './random.js';
