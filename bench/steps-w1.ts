/**
 * W1's training loop for a given number of steps and nothing else, to profile one step:
 *
 *   npm run profile -- bench/steps-w1.ts [steps] [--scope]
 *
 * (default 100,000 steps: enough that the steps, not start-up, are most of the run).
 */
import { SEED, trainEngine } from './w1-net111.js';

const args = process.argv.slice(2);
const steps = Number(args.find((a) => !a.startsWith('--')) ?? 100_000);
if (!Number.isInteger(steps) || steps < 1) {
  console.error(`steps-w1: the number of steps must be a whole number ≥ 1, got ${JSON.stringify(args[0])}`);
  process.exit(2);
}
const params = trainEngine(steps, SEED, args.includes('--scope'));
console.log(`W1: ${steps} steps, w1 = ${params.w1}`);
