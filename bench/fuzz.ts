/**
 * `npm run fuzz [count] [--seed N]`: the fuzz tests' four properties over many more random graphs
 * (a million by default) than CI runs. Cases come straight from a seeded generator (fast-check's
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

const PROPERTIES: readonly { readonly name: string; readonly check: (c: FuzzCase) => Outcome }[] = [
  { name: 'reverse mode = forward mode (Dual numbers)', check: (c) => checkReverseAgainstForward(c) },
  { name: 'backward() twice = exactly 2 × leaf gradients, same interior ones', check: (c) => checkBackwardTwice(c) },
  { name: 'compile() = the engine bit for bit (code and tape)', check: (c) => checkCompiled(c) },
  // Last: the summary below counts its discards.
  { name: 'reverse mode ≈ central differences', check: (c) => checkFiniteDifferences(c) },
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
  const firstFailure: (FuzzCase | null)[] = PROPERTIES.map(() => null);
  let discarded = 0;
  const step = Math.max(1, Math.round(count / 10));
  const start = performance.now();
  for (let n = 1; n <= count; n++) {
    const c = randomCase(rng);
    PROPERTIES.forEach((p, k) => {
      let outcome: Outcome;
      try {
        outcome = p.check(c);
      } catch (e) {
        outcome = `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n  reproduce: ${c.command}`;
      }
      if (outcome === 'discard') discarded++;
      else if (outcome !== null && failed[k]!++ === 0) firstFailure[k] = c;
    });
    if (n % step === 0 && n < count) {
      process.stderr.write(`  ${n.toLocaleString('en-US')} graphs, ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
    }
  }
  const seconds = (performance.now() - start) / 1000;

  console.log(`fuzz: ${count.toLocaleString('en-US')} random graphs (seed ${seed}) in ${seconds.toFixed(1)} s`
    + ` (${Math.round(count / seconds).toLocaleString('en-US')} graphs/s)`);
  PROPERTIES.forEach((p, k) => {
    const isFd = k === PROPERTIES.length - 1;
    const checked = isFd ? count - discarded : count;
    const discards = isFd
      ? `, ${discarded.toLocaleString('en-US')} discarded (${(count === 0 ? 0 : (100 * discarded) / count).toFixed(2)}%: a relu or abs argument, or max's or min's a − b, changes sign within x ± eps)`
      : '';
    console.log(`  ${p.name}: ${checked.toLocaleString('en-US')} checked${discards}, ${failed[k]} failed`);
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
