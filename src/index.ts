/**
 * micrograd-ts: the library. Browser-safe: nothing reachable from here imports a Node built-in or a
 * Node-only package. Pictures as SVG files, plots and progress bars are in `micrograd-ts/node`; the
 * learner's 1-1-1 network and micrograd's moons demo in `micrograd-ts/learner`.
 */
export { Value, NonFiniteError, OP_NAMES, topologicalOrder, zeroGrad, sum } from './engine/value.js';
export { scope, keep } from './engine/scope.js';
export { ScopeError } from './engine/errors.js';
export type { Operand, OpName } from './engine/value.js';
// The ops as module functions: one per op of the table.
export * from './engine/functions.js';
export { OPS } from './engine/ops.js';
export type { OpDefinition, UnaryOp, BinaryOp, NaryOp, UnaryOpName, BinaryOpName, RuleFunctions, UnaryRule, BinaryRule } from './engine/ops.js';
export { grad, StaleGraphError } from './engine/grad.js';
export type { GradOptions } from './engine/grad.js';
export { createRng } from './tools/random.js';
export type { Rng } from './tools/random.js';
export {
  parseExpression, buildGraph, freeVariables, formatExpression, ExpressionError,
  FUNCTION_NAMES, FUNCTION_ARITY, OPERATOR_OPS, MAX_NESTING,
} from './tools/expr.js';
export type {
  Program, Assignment, Expression, NumberLiteral, Identifier, UnaryExpression, BinaryExpression,
  CallExpression, SourceSpan, BinaryOperator, FunctionName, Binding, Bindings, ExpressionGraph,
  ExpressionErrorCode, FormatOptions,
} from './tools/expr.js';
export { toDot, formatNumber, mismatchNote, OP_SYMBOLS, DEFAULT_MAX_NODES } from './tools/dot.js';
export type { DotOptions, DotMark } from './tools/dot.js';
export { Module, Neuron, Layer, MLP, SGD, Adam, ModelFormatError, readModel, ACTIVATIONS, MLP_FORMAT, DEFAULT_INIT_SEED } from './tools/nn.js';
export type { Activation, NeuronOptions, LayerOptions, MLPOptions, MLPJson, Optimizer, SGDOptions, AdamOptions } from './tools/nn.js';
export {
  agrees, gradcheck, assertGradcheck, formatGradcheckReport, centralDifference, numericGradient, evaluateAt,
  GradcheckError, EXACT_TOLERANCE, FINITE_DIFFERENCE_TOLERANCE, DEFAULT_EPS,
} from './tools/gradcheck.js';
export type {
  Tolerance, Comparison, GradcheckOptions, GradcheckReport, GradcheckRow, Verdict,
  NumberFunction, ValueFunction, NamedValueFunction,
} from './tools/gradcheck.js';
export {
  diagnoseGradient, agreementAtPoint, FormulaError, DIAGNOSIS_KINDS, DEFAULT_POINTS, DEFAULT_DIAGNOSIS_SEED, SPREAD, MAX_REDRAWS, ROUNDING_SAFETY, ROUNDING_TOLERANCE,
} from './tools/diagnose.js';
export type {
  DiagnosisKind, DiagnoseOptions, PointAgreement, Diagnosis, GradientDiagnosis, DiagnosisReport, ToleranceRule, SourceUse, ManualFormulas,
} from './tools/diagnose.js';
export { Dual, forwardGradient, forwardDerivative, directionalDerivative } from './tools/dual.js';
export type { DualOperand } from './tools/dual.js';
export { HyperDual, forwardHessian } from './tools/hyper-dual.js';
export type { HyperDualOperand } from './tools/hyper-dual.js';
export { hessian, hvp } from './tools/hessian.js';
export type { HessianResult, HvpResult } from './tools/hessian.js';
export { compile, CODE_LINE_LIMIT } from './tools/compile.js';
export type { CompiledFunction, CompiledResult, CompileOptions, Strategy } from './tools/compile.js';
export { noProgress } from './tools/progress.js';
export type { Progress, ProgressFactory } from './tools/progress.js';
export { backwardSteps } from './tools/steps.js';
export type { BackwardStep, GradientUpdate } from './tools/steps.js';
