/**
 * `npm run fuzz [count] [--seed N]`: the fuzz tests' four properties over many more random graphs
 * (a million by default; compile() on every tenth) than CI runs. Cases come straight from a seeded generator (fast-check's
 * generation is the slow part); a failing case is then handed to fast-check to shrink, and printed
 * as the `micrograd grad` command that reproduces it.
 *
 * Exit code: 0 when every property held, 1 on a failure, 2 on bad arguments.
 */
import fc from 'fast-check';
import { createRng } from '../src/tools/random.js';
import {
  checkBackwardTwice, checkCompiled, checkFiniteDifferences, checkReverseAgainstForward, fuzzCaseArbitrary, randomCase,
} from '../test/tools/fuzz-graphs.js';
import type { FuzzCase, Outcome } from '../test/tools/fuzz-graphs.js';

interface Property {
  readonly name: string;
  readonly check: (c: FuzzCase) => Outcome;
  /** Checked on every this-many-th graph: compiling costs ten times the other properties together. */
  readonly every: number;
  /** Why a case is discarded, for the summary. */
  readonly discards?: string;
}

const PROPERTIES: readonly Property[] = [
  { name: 'reverse mode = forward mode (Dual numbers)', check: (c) => checkReverseAgainstForward(c), every: 1 },
  { name: 'backward() twice = exactly 2 × leaf gradients, same interior ones', check: (c) => checkBackwardTwice(c), every: 1 },
  { name: 'compile() = the engine bit for bit (code and tape), every 10th graph', check: (c) => checkCompiled(c), every: 10 },
  {
    name: 'reverse mode ≈ central differences', check: (c) => checkFiniteDifferences(c), every: 1,
    discards: 'a relu or abs argument, or max\'s or min\'s a − b, changes sign within x ± eps',
  },
];

function parseArguments(argv: readonly string[]): { count: number; seed: number } {
  let count = 1_000_000, seed = 1;
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k]!;
    if (arg === '--seed') {
      seed = wholeNumber(argv[++k], '--seed');
    } else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run fuzz -- [count] [--seed N]   (count defaults to 1000000, seed to 1)');
      process.exit(0);
    } else {
      count = wholeNumber(arg, 'count');
    }
  }
  return { count, seed };
}

function wholeNumber(text: string | undefined, what: string): number {
  const n = Number(text?.replaceAll('_', ''));
  if (text === undefined || !Number.isSafeInteger(n) || n < 0) {
    console.error(`fuzz: ${what} must be a whole number ≥ 0, got ${text === undefined ? 'nothing' : JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

/** Shrinks a failing case with fast-check and returns the smallest failure's message. */
function shrink(failing: FuzzCase, check: (c: FuzzCase) => Outcome): string {
  const run = fc.check(
    fc.property(fuzzCaseArbitrary(), (c) => {
      const outcome = check(c);
      if (outcome !== null && outcome !== 'discard') throw new Error(outcome);
    }),
    { examples: [[failing]], numRuns: 1 },
  );
  const error = run.errorInstance;
  return error instanceof Error ? error.message : String(error);
}

function main(): void {
  const { count, seed } = parseArguments(process.argv.slice(2));
  const rng = createRng(seed);
  const failed = PROPERTIES.map(() => 0);
  const checked = PROPERTIES.map(() => 0);
  const discarded = PROPERTIES.map(() => 0);
  const firstFailure: (FuzzCase | null)[] = PROPERTIES.map(() => null);
  const step = Math.max(1, Math.round(count / 10));
  const start = performance.now();
  for (let n = 1; n <= count; n++) {
    const c = randomCase(rng);
    PROPERTIES.forEach((p, k) => {
      if (n % p.every !== 0) return;
      let outcome: Outcome;
      try {
        outcome = p.check(c);
      } catch (e) {
        outcome = `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n  reproduce: ${c.command}`;
      }
      if (outcome === 'discard') {
        discarded[k]!++;
        return;
      }
      checked[k]!++;
      if (outcome !== null && failed[k]!++ === 0) firstFailure[k] = c;
    });
    if (n % step === 0 && n < count) {
      process.stderr.write(`  ${n.toLocaleString('en-US')} graphs, ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
    }
  }
  const seconds = (performance.now() - start) / 1000;

  console.log(`fuzz: ${count.toLocaleString('en-US')} random graphs (seed ${seed}) in ${seconds.toFixed(1)} s`
    + ` (${Math.round(count / seconds).toLocaleString('en-US')} graphs/s)`);
  PROPERTIES.forEach((p, k) => {
    const seen = checked[k]! + discarded[k]!;
    const discards = p.discards === undefined ? ''
      : `, ${discarded[k]!.toLocaleString('en-US')} discarded (${(seen === 0 ? 0 : (100 * discarded[k]!) / seen).toFixed(2)}%: ${p.discards})`;
    console.log(`  ${p.name}: ${checked[k]!.toLocaleString('en-US')} checked${discards}, ${failed[k]} failed`);
  });
  let ok = true;
  PROPERTIES.forEach((p, k) => {
    const c = firstFailure[k];
    if (c === null || c === undefined) return;
    ok = false;
    console.log(`\nFAILED: ${p.name}\n  first failing case: ${c.command}\n  shrunk: ${shrink(c, p.check)}`);
  });
  process.exitCode = ok ? 0 : 1;
}

main();
