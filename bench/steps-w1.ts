/**
 * W1's training loop for a given number of steps and nothing else, to profile one step:
 *
 *   npm run profile -- bench/steps-w1.ts [steps] [--scope]
 *
 * (default 100,000 steps: enough that the steps, not start-up, are most of the run).
 */
import { SEED, trainEngine } from './w1-net111.js';

function fail(message: string): never {
  console.error(`steps-w1: ${message}\nusage: npm run profile -- bench/steps-w1.ts [steps] [--scope]`);
  process.exit(2);
}

let steps = 100_000, inScope = false;
for (const arg of process.argv.slice(2)) {
  if (arg === '--scope') inScope = true;
  else if (arg.startsWith('-')) fail(`unknown option ${arg}`);
  else if (!/^\d+$/.test(arg) || Number(arg) < 1) fail(`the number of steps must be a whole number ≥ 1, got ${JSON.stringify(arg)}`);
  else steps = Number(arg);
}
const params = trainEngine(steps, SEED, inScope);
console.log(`W1: ${steps} steps, w1 = ${params.w1}`);
