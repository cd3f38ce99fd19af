/**
 * micrograd-ts/learner: the learner's 1-1-1 sigmoid network and micrograd's moons demo, as
 * applications of the library. Browser-safe; `micrograd-ts/learner/node` adds their picture files.
 */
export {
  PARAM_NAMES, TARGETS, RULES, NET111_MODEL, MANUAL_FORMULAS, LEARNER_FORMULAS, RAW_MAX, DEFAULT_SEED, trainingSet, initialParams, buildNet111,
  net111Graph, predict, meanLoss, autodiffGradients, manualGradients, learnerDeltas, train, checkMonotone,
} from './net111.js';
export type { ParamName, Params, Target, Sample, Net111Graph, Rules, TrainOptions, TrainResult } from './net111.js';
export { isotonicIncreasing, bestMonotoneFit } from './isotonic.js';
export type { MonotoneFit } from './isotonic.js';
export { fitParity, PARITY_DEFAULTS } from './parity.js';
export type { ParityOptions, ParityResult } from './parity.js';
export { makeMoons, moonsModel, moonsLoss, moonsStep, moonsLearningRate, trainMoons, decisionGrid, MOONS_SEED, MOONS_ALPHA } from './moons.js';
export type { MoonLabel, MoonPoint, MoonsDataOptions, MoonsTrainOptions, MoonsStepRecord, MoonsTraining, DecisionGrid } from './moons.js';
export { demoReport, formatDemoReport, diagnoseLearnerRules } from './report.js';
export type { DemoOptions, DemoReport, GradientRow, ParamSummary } from './report.js';
