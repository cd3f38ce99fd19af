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
export { Module, Neuron, Layer, MLP, SGD, Adam, ModelFormatError, readModel, ACTIVATIONS, MLP_FORMAT, DEFAULT_INIT_SEED } from './nn.js';
export type { Activation, NeuronOptions, LayerOptions, MLPOptions, MLPJson, Optimizer, SGDOptions, AdamOptions } from './nn.js';
export { makeMoons, moonsModel, moonsLoss, moonsStep, moonsLearningRate, trainMoons, decisionGrid, runMoons, MOONS_SEED, MOONS_ALPHA } from './moons.js';
export type { MoonLabel, MoonPoint, MoonsDataOptions, MoonsTrainOptions, MoonsStepRecord, MoonsTraining, DecisionGrid, MoonsRunOptions, MoonsResult } from './moons.js';
export { fitParity, PARITY_DEFAULTS } from './parity.js';
export type { ParityOptions, ParityResult } from './parity.js';
export {
  PARAM_NAMES, TARGETS, RULES, LEARNER_MISTAKES, trainingSet, initialParams, buildNet111, net111Graph, predict, meanLoss,
  autodiffGradients, manualGradients, learnerDeltas, train, checkMonotone,
} from './net111.js';
export type { ParamName, Params, Target, Sample, Net111Graph, Rules, TrainOptions, TrainResult } from './net111.js';
export { isotonicIncreasing, bestMonotoneFit } from './isotonic.js';
export type { MonotoneFit } from './isotonic.js';
export { runDemo, formatDemoReport } from './demo.js';
export type { DemoOptions, DemoReport, GradientRow, ParamSummary } from './demo.js';
export {
  agrees, gradcheck, assertGradcheck, formatGradcheckReport, centralDifference, numericGradient, evaluateAt,
  GradcheckError, EXACT_TOLERANCE, FINITE_DIFFERENCE_TOLERANCE, DEFAULT_EPS,
} from './gradcheck.js';
export type {
  Tolerance, Comparison, GradcheckOptions, GradcheckReport, GradcheckRow, Verdict,
  NumberFunction, ValueFunction, NamedValueFunction,
} from './gradcheck.js';
export { Dual, forwardGradient, forwardDerivative, directionalDerivative } from './dual.js';
export type { DualOperand } from './dual.js';
export { compile, CODE_LINE_LIMIT } from './compile.js';
export type { CompiledFunction, CompiledResult, CompileOptions, Strategy } from './compile.js';
