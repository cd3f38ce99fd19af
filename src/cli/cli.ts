#!/usr/bin/env node
/**
 * The `micrograd` command line. Exit codes (src/cli/exit-codes.ts): 0 success, 1 a check found a
 * wrong gradient, 2 bad input, 3 an output failure, 4 an internal error, 130 Ctrl-C. Results reach
 * stdout before any file is written, so a failed write never loses them. No stack trace reaches
 * the user unless MICROGRAD_DEBUG is set.
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { toDot, formatNumber, DEFAULT_MAX_NODES, type DotOptions } from '../tools/dot.js';
import { renderSvg } from '../node/render.js';
import { writeFileAtomic } from '../node/files.js';
import { buildGraph } from '../tools/expr.js';
import { DEFAULT_SEED, RULES, TARGETS, train, type Rules, type Target } from '../learner/net111.js';
import { terminalProgress } from '../node/terminal-progress.js';
import { topologicalOrder, type Value } from '../engine/value.js';
import { grad } from '../engine/grad.js';
import { hessianOf } from '../tools/hessian.js';
import { EXIT, EXIT_CODES_HELP, UsageError, failureOf, worst, type ExitCode } from './exit-codes.js';
import { parseManual, readSource, type ManualEntry } from './input.js';
import { modelAt } from './model.js';
import { checkJson, checkManual, checkMarks, formatCheck, table } from './check.js';
import { DEFAULT_DIAGNOSIS_SEED, DEFAULT_POINTS, manualRtolTooLarge } from '../tools/diagnose.js';

// ---------------------------------------------------------------------------------------------
// Option parsing.

/** The minus sign U+2212, which this program prints (−0.13547, 4.3e−19), read as an ASCII minus. */
function asciiMinus(text: string): string {
  return text.replace(/\u2212/g, '-');
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    const text = asciiMinus(raw).trim();
    const n = Number(text);
    // Exponent notation is fine for a whole number (--steps 1e6); hexadecimal and the like are not.
    if (!DECIMAL.test(text) || !Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number, got "${raw}"`);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be from ${min} to ${max}, got "${raw}"`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (raw: string): number => {
    const text = asciiMinus(raw).trim();
    const n = Number(text);
    if (!DECIMAL.test(text) || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${raw}"`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (raw: string): number => {
    const text = asciiMinus(raw).trim();
    const n = Number(text);
    if (!DECIMAL.test(text) || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0, got "${raw}"`);
    return n;
  };
}

/** `--rtol x`: a number ≥ 0 and below 1 (gradcheck.ts's `rtolTooLarge` says why). */
function relativeTolerance(raw: string): number {
  const n = nonNegativeNumber('--rtol')(raw);
  if (n >= 1) throw new InvalidArgumentError(`--${manualRtolTooLarge(n)}`);
  return n;
}

/** `--fixed x,a` (repeatable): names. */
function collectNames(option: string) {
  return (text: string, previous: string[] = []): string[] => {
    for (const part of text.split(',')) {
      const name = part.trim();
      if (!NAME.test(name)) throw new InvalidArgumentError(`${option} takes names separated by commas, got "${part}"`);
      if (!previous.includes(name)) previous.push(name);
    }
    return previous;
  };
}

function oneOf<T extends string>(name: string, allowed: readonly T[]) {
  return (text: string): T => {
    if (!(allowed as readonly string[]).includes(text)) {
      throw new InvalidArgumentError(`${name} must be one of ${allowed.join(', ')}, got "${text}"`);
    }
    return text as T;
  };
}

function folder(name: string) {
  return (text: string): string => {
    if (text.trim() === '') throw new InvalidArgumentError(`${name} needs a folder name, got an empty one`);
    return text;
  };
}

function fileName(name: string) {
  return (text: string): string => {
    if (text.trim() === '') throw new InvalidArgumentError(`${name} needs a file name, got an empty one`);
    return text;
  };
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Seeds are reduced to 32 bits by the generator: larger ones would repeat smaller ones' runs. */
const SEED_MAX = 2 ** 32 - 1;

/** `--grad w`: one name. */
function oneName(option: string) {
  return (text: string): string => {
    const name = text.trim();
    if (!NAME.test(name)) throw new InvalidArgumentError(`${option} takes one variable name, got "${text}"`);
    return name;
  };
}

/** `--at x=0.5,w1=0.3` (repeatable): the variables' values. */
function collectAt(text: string, previous: Map<string, number> = new Map()): Map<string, number> {
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    const value = asciiMinus(part.slice(eq + 1)).trim();
    if (eq < 0 || !NAME.test(name) || value === '') {
      throw new InvalidArgumentError(`--at takes name=value pairs separated by commas, got "${part}"`);
    }
    const n = Number(value);
    if (!DECIMAL.test(value) || !Number.isFinite(n)) throw new InvalidArgumentError(`--at ${name} must be a finite decimal number, got "${value}"`);
    if (previous.has(name)) throw new InvalidArgumentError(`--at gives ${name} twice`);
    previous.set(name, n);
  }
  return previous;
}

/** `--wrt a,b`: names, each once. */
function nameList(option: string) {
  return (text: string): string[] => {
    const names = text.split(',').map((n) => n.trim());
    for (const n of names) {
      if (!NAME.test(n)) throw new InvalidArgumentError(`${option} takes variable names separated by commas, got "${n}"`);
    }
    const twice = names.find((n, k) => names.indexOf(n) !== k);
    if (twice !== undefined) throw new InvalidArgumentError(`${option} names ${twice} twice`);
    return names;
  };
}

/** `--manual 'w2=<expr>'`, `--manual @file`, `--manual -` (repeatable): hand-derived gradients. */
function collectManual(text: string, previous: ManualEntry[] = []): ManualEntry[] {
  let entries: ManualEntry[];
  try {
    entries = parseManual(readSource(text, '--manual'));
  } catch (e) {
    // Commander prints an option parser's InvalidArgumentError as a usage error.
    if (e instanceof UsageError) throw new InvalidArgumentError(e.message);
    throw e;
  }
  for (const entry of entries) {
    if (previous.some((p) => p.name === entry.name)) {
      throw new InvalidArgumentError(`${entry.origin ? `${entry.origin}: ` : ''}--manual gives ${entry.name} twice`);
    }
    previous.push(entry);
  }
  return previous;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Pictures.

/** The options shared by every command that draws: `--max-nodes`, `--rankdir`, `--precision`. */
interface PictureOptions {
  readonly maxNodes: number;
  readonly rankdir: 'LR' | 'TB';
  readonly precision: number;
}

function withPictureOptions(command: Command): Command {
  return command
    .option('--max-nodes <n>', 'the most Values a picture may hold (Graphviz slows down sharply past a few thousand)', integer('--max-nodes', 1), DEFAULT_MAX_NODES)
    .option('--rankdir <dir>', 'picture layout: LR (left to right) or TB (top to bottom)', oneOf('--rankdir', ['LR', 'TB'] as const), 'LR' as const)
    .option('--precision <n>', 'significant digits of the numbers drawn', integer('--precision', 1, 17), 4);
}

/** DOT text, with the picture-size limit reported in terms of the command's own flag. */
function dotText(root: Value, o: PictureOptions, marks?: ReadonlyMap<Value, string>, background?: Iterable<Value>): string {
  const options: DotOptions = {
    maxNodes: o.maxNodes, rankdir: o.rankdir, precision: o.precision, ...(marks ? { marks } : {}), ...(background ? { background } : {}),
  };
  try {
    return toDot(root, options);
  } catch (e) {
    const size = e instanceof RangeError ? /the graph has (\d+) Values/.exec(e.message) : null;
    if (!size) throw e;
    throw new UsageError(`the picture would hold ${size[1]} Values, over the limit of ${o.maxNodes}: Graphviz could take minutes to lay it out. ` +
      `Raise the limit with --max-nodes ${size[1]}, or draw a smaller part of the model.`);
  }
}

/** The picture's format, from the file's extension (checked before any work is done). */
function pictureKind(path: string, only?: '.svg' | '.dot'): '.svg' | '.dot' {
  const ext = extname(path).toLowerCase();
  if (only !== undefined && ext !== only) throw new UsageError(`this file must end in ${only}, got "${path}"`);
  if (ext !== '.svg' && ext !== '.dot') throw new UsageError(`the output file must end in .svg or .dot, got "${path}"`);
  return ext;
}

async function writePicture(
  path: string, root: Value, o: PictureOptions, marks?: ReadonlyMap<Value, string>, background?: Iterable<Value>,
): Promise<void> {
  const dot = dotText(root, o, marks, background);
  await writeFileAtomic(path, pictureKind(path) === '.dot' ? dot : await renderSvg(dot));
}

/**
 * Runs the writes after the results are printed: each is tried even if an earlier one failed; the
 * failures are thrown afterwards (each is reported, and the worst exit code wins).
 */
async function afterResults(writes: readonly (() => Promise<void>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const write of writes) {
    try {
      await write();
    } catch (e) {
      failures.push(e);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new SeveralFailures(failures);
}

/** More than one write failed: each is reported. */
class SeveralFailures extends Error {
  constructor(readonly failures: readonly unknown[]) {
    super(`${failures.length} outputs failed`);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands.

const LEARNER_MODEL = 'h = sigmoid(w1*x + b1); y = sigmoid(w2*h + b2); (y - a)^2';
const MODEL_ARGUMENT = 'the model, e.g. "h = sigmoid(w*x + b); (h - a)^2"; @FILE reads it from a file, - from standard input';

/** The version in package.json, found by walking up from this file (src/cli/ under ts-node, dist/src/cli/ when built). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'micrograd-ts' && typeof pkg.version === 'string') return pkg.version;
    } catch { /* not here: look further up */ }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/**
 * A required option's value, checked in the command's action: commander checks required options before
 * it looks for unknown ones, so a mistyped `--manul` was reported as a missing `--manual`.
 */
function required<T>(value: T | undefined, flags: string): T {
  if (value === undefined) throw new UsageError(`required option '${flags}' not specified`);
  return value;
}

/** A usage error is one line: commander's message with its suggestion (if any) on the same line. */
const oneLine = { outputError: (text: string, write: (s: string) => void) => write(`${text.trim().split('\n').join(' ')}\n`) };

/** The code the last command asked to exit with (1 when a check disagrees). */
let resultCode: ExitCode = EXIT.ok;

function buildProgram(): Command {
  const program = new Command('micrograd')
    .description('A scalar autodiff engine: the learner\'s 1-1-1 network, gradient checks and DOT graphs of the backward pass.\nWith no command, runs demo.')
    .version(packageVersion())
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput(oneLine)
    .addHelpText('afterAll', `\n${EXIT_CODES_HELP}`);

  const command = (name: string): Command =>
    program.command(name).exitOverride().configureOutput(oneLine).showSuggestionAfterError(true);

  command('demo')
    .description('the learner\'s 1-1-1 sigmoid network: manual vs autodiff gradients, and why it never learns parity (the default command; `npm start` runs it with --out graphs)')
    .option('--seed <n>', 'seed for the initial weights and the sample picks', integer('--seed', 0, SEED_MAX), DEFAULT_SEED)
    .option('--steps <n>', 'SGD steps per training run', integer('--steps', 1), 10_000)
    .option('--out <dir>', 'write the loss chart and a backward-pass graph into this folder (nothing is written without it)', folder('--out'))
    .option('--json', 'print the whole report (with the full gradient table) as one JSON document')
    .addHelpText('after', '\nExamples:\n  micrograd demo\n  micrograd demo --seed 7 --json > report.json\n  micrograd demo --out /tmp/graphs')
    .action(async (o: { seed: number; steps: number; out?: string; json?: boolean }) => {
      // Loaded on demand: the charts' renderer (vega) takes a while to import.
      const { runDemo, writeDemoFiles } = await import('../learner/node.js');
      const { formatDemoReport } = await import('../learner/report.js');
      let report = await runDemo({ seed: o.seed, steps: o.steps, progress: terminalProgress(!o.json && Boolean(process.stdout.isTTY)) });
      // The files are listed in the report, so they are written first; a failure is reported after it.
      let failure: unknown;
      if (o.out !== undefined) {
        try {
          report = { ...report, files: await writeDemoFiles(o.out, report) };
        } catch (e) {
          failure = e;
        }
      }
      if (o.json) printJson(report);
      else process.stdout.write(`${formatDemoReport(report)}\n`);
      if (failure !== undefined) throw failure;
    });

  withPictureOptions(command('grad')
    .description('the value of an expression and its gradient with respect to every variable')
    .argument('<expr>', MODEL_ARGUMENT)
    .option('--at <name=value,...>', 'the variables\' values (repeatable)', collectAt)
    .option('--json', 'print {"value": …, "gradients": {…}}')
    .option('--dot <file>', 'write the backward pass as DOT', fileName('--dot'))
    .option('--svg <file>', 'write the backward pass as SVG', fileName('--svg')))
    .addHelpText('after', `\nExamples:\n  micrograd grad "${LEARNER_MODEL}" --at x=0.2222,a=1,w1=0.3,b1=0,w2=-0.2,b2=0\n  micrograd grad @model.txt --at x=1 --svg graph.svg`)
    .action(async (expr: string, o: PictureOptions & { at?: Map<string, number>; json?: boolean; dot?: string; svg?: string }) => {
      if (o.dot !== undefined) pictureKind(o.dot, '.dot');
      if (o.svg !== undefined) pictureKind(o.svg, '.svg');
      const m = modelAt(readSource(expr, 'the model'), o.at);
      const g = buildGraph(m.program, m.at);
      g.output.backward();
      const gradients = Object.fromEntries([...g.variables].map(([name, v]) => [name, v.grad]));
      if (o.json) {
        printJson({ value: g.output.data, gradients });
      } else {
        const rows = [['value', String(g.output.data)], ...Object.entries(gradients).map(([n, d]) => [`∂/∂${n}`, String(d)])];
        process.stdout.write(`${table(['', ''], rows, new Set()).split('\n').slice(1).join('\n')}\n`);
      }
      await afterResults([
        ...(o.dot !== undefined ? [() => writePicture(o.dot!, g.output, o)] : []),
        ...(o.svg !== undefined ? [() => writePicture(o.svg!, g.output, o)] : []),
      ]);
    });

  withPictureOptions(command('check')
    .description('check hand-derived gradients against autodiff as identities, and say what is wrong with each (exit 1 if any is not ok)')
    .argument('<expr>', `${MODEL_ARGUMENT}; its named intermediates may be used in the manual formulas`)
    .option('--at <name=value,...>', 'the variables\' values (repeatable)', collectAt)
    .option('--manual <name=expr>', 'required: a hand-derived ∂output/∂name, for a variable or a named intermediate (repeatable); @FILE or - reads one name=expr per line', collectManual)
    .option('--points <n>', 'random points checked besides the given one', integer('--points', 1, 1000), DEFAULT_POINTS)
    .option('--seed <n>', 'seed for the random points', integer('--seed', 0, SEED_MAX), DEFAULT_DIAGNOSIS_SEED)
    .option('--fixed <names>', 'variables held at their given values, such as data and labels: --fixed x,a (repeatable)', collectNames('--fixed'))
    .option('--rtol <x>', 'a fixed tolerance atol + rtol·|autodiff| in place of the rounding bound (0 ≤ rtol < 1)', relativeTolerance)
    .option('--atol <x>', 'the same, with or without --rtol (the one not given is 0)', nonNegativeNumber('--atol'))
    .option('--json', 'print {"ok", "points", "seed", "fixed", "tolerance", "rows": [{"name", "manual", "autodiff", "numeric", "absError", "relError", "allowed", "ok", "agreesAtPoint", "diagnosis"}]}')
    .option('--svg <file>', 'write the backward pass as SVG, the nodes each diagnosis names marked red', fileName('--svg')))
    .addHelpText('after', [
      '',
      'A formula is ok when it matches autodiff at the given point and at --points random points around it',
      '(each variable moved by 0.5·max(|x|, 1)·u, u uniform in [−1, 1]), within 4× the first-order rounding',
      'bounds of both evaluations. Otherwise the diagnosis is the first of scaled, substitution, missing-factor,',
      'extra-factor, missing-path, point-only and unexplained that holds; unchecked when too few points carry',
      'information. autodiff is also compared with central differences (eps 1e-6, atol 1e-5, rtol 1e-3).',
      '',
      'Example (the learner\'s Δw2 rule, which multiplies by w2 where h belongs):',
      `  micrograd check "${LEARNER_MODEL}" \\`,
      '    --at x=0.2222,a=1,w1=0.3,b1=0,w2=-0.2,b2=0 --fixed x,a \\',
      '    --manual \'w2=2*(y-a)*y*(1-y)*w2\' --manual \'b2=2*(y-a)*y*(1-y)\'',
    ].join('\n'))
    .action(async (expr: string, o: PictureOptions & {
      at?: Map<string, number>; manual?: ManualEntry[]; points: number; seed: number; fixed?: string[];
      rtol?: number; atol?: number; json?: boolean; svg?: string;
    }) => {
      const manual = required(o.manual, '--manual <name=expr>');
      if (o.svg !== undefined) pictureKind(o.svg, '.svg');
      const m = modelAt(readSource(expr, 'the model'), o.at);
      const report = checkManual(m, manual, {
        points: o.points, seed: o.seed, fixed: o.fixed ?? [],
        ...(o.rtol !== undefined ? { rtol: o.rtol } : {}), ...(o.atol !== undefined ? { atol: o.atol } : {}),
      });
      if (o.json) printJson(checkJson(report));
      else process.stdout.write(formatCheck(report));
      if (!report.ok) resultCode = EXIT.disagrees;
      if (o.svg !== undefined) await afterResults([() => writePicture(o.svg!, report.graph.output, o, checkMarks(report))]);
    });

  withPictureOptions(command('dot')
    .description('draw an expression\'s backward pass: DOT text or an SVG picture, by the file\'s extension')
    .argument('<expr>', MODEL_ARGUMENT)
    .option('--at <name=value,...>', 'the variables\' values (repeatable)', collectAt)
    .option('--grad <name>', 'draw instead the graph that computes ∂output/∂name (the double-backward graph), the forward pass grey and dashed; its grads are second derivatives ∂²output/∂name∂·', oneName('--grad'))
    .option('-o, --output <file>', 'required: FILE.svg or FILE.dot', fileName('--output')))
    .addHelpText('after', '\nExamples:\n  micrograd dot "(x*w + b)^2" --at x=2,w=-1,b=0.5 -o graph.svg\n  micrograd dot "tanh(w*x)" --at w=0.5,x=2 --grad w -o dtanh.svg')
    .action(async (expr: string, o: PictureOptions & { at?: Map<string, number>; output?: string; grad?: string }) => {
      const output = required(o.output, '-o, --output <file>');
      pictureKind(output);
      const m = modelAt(readSource(expr, 'the model'), o.at);
      const g = buildGraph(m.program, m.at);
      if (o.grad === undefined) {
        g.output.backward();
        await writePicture(output, g.output, o);
      } else {
        const x = g.names.get(o.grad);
        if (x === undefined || x.isConstant) {
          throw new UsageError(`--grad names ${o.grad}, which is not a variable or named step of the expression (its names: ${[...g.names.keys()].join(', ') || 'none'})`);
        }
        if (g.output.label === '') g.output.label = 'f';
        const forward = topologicalOrder(g.output);
        const derivative = grad(g.output, x, { createGraph: true });
        derivative.backward();
        await writePicture(output, derivative, o, undefined, forward);
      }
      process.stdout.write(`wrote ${output}\n`);
    });

  command('hessian')
    .description('the Hessian of an expression: its second derivatives ∂²f/∂a∂b, by differentiating its gradient')
    .argument('<expr>', MODEL_ARGUMENT)
    .option('--at <name=value,...>', 'the variables\' values (repeatable)', collectAt)
    .option('--wrt <names>', 'the variables to differentiate with respect to, comma-separated (default: every variable, in order of first use)', nameList('--wrt'))
    .option('--json', 'print {"names": […], "matrix": [[…], …]} (matrix[i][j] = ∂²f/∂names[i]∂names[j])')
    .addHelpText('after', '\nExamples:\n  micrograd hessian "(1 - x)^2 + 100*(y - x^2)^2" --at x=-1.2,y=1\n' +
      `  micrograd hessian "${LEARNER_MODEL}" --at x=0.2222,a=1,w1=0.3,b1=0,w2=-0.2,b2=0 --wrt w1,b1,w2,b2 --json`)
    .action((expr: string, o: { at?: Map<string, number>; wrt?: string[]; json?: boolean }) => {
      const m = modelAt(readSource(expr, 'the model'), o.at);
      const g = buildGraph(m.program, m.at);
      const names = o.wrt ?? [...g.variables.keys()];
      const unknown = names.filter((n) => !g.variables.has(n));
      if (unknown.length) {
        throw new UsageError(`--wrt names ${unknown.join(', ')}, which ${unknown.length === 1 ? 'is not a variable' : 'are not variables'} of the expression (its variables: ${[...g.variables.keys()].join(', ') || 'none'})`);
      }
      if (names.length === 0) throw new UsageError('the expression has no variables: there is nothing to differentiate with respect to');
      const { matrix } = hessianOf(g.output, names.map((n) => g.variables.get(n)!));
      if (o.json) return printJson({ names, matrix });
      const rows = matrix.map((row, i) => [names[i]!, ...row.map((x) => String(x))]);
      process.stdout.write(`${table(['', ...names], rows, new Set(names.map((_, k) => k + 1)))}\n`);
    });

  command('train')
    .description('the learner\'s training run: SGD on the 1-1-1 network, one random sample per step')
    .option('--steps <n>', 'SGD steps', integer('--steps', 0), 10_000)
    .option('--lr <x>', 'learning rate', positiveNumber('--lr'), 0.1)
    .option('--seed <n>', 'seed for the initial weights and the sample picks', integer('--seed', 0, SEED_MAX), DEFAULT_SEED)
    .option('--target <t>', `labels: ${TARGETS.join(' | ')}`, oneOf('--target', TARGETS), 'parity')
    .option('--rules <r>', `how to update: ${RULES.join(' | ')}`, oneOf('--rules', RULES), 'autodiff')
    .option('--json', 'print the run as JSON (parameters, loss curve, outputs)')
    .addHelpText('after', '\nExamples:\n  micrograd train --rules learner\n  micrograd train --target threshold --lr 1 --json')
    .action((o: { steps: number; lr: number; seed: number; target: Target; rules: Rules; json?: boolean }) => {
      const bar = terminalProgress(!o.json && Boolean(process.stdout.isTTY))(`train (${o.rules}, ${o.target})`, o.steps);
      let r;
      try {
        r = train({ rules: o.rules, target: o.target, steps: o.steps, lr: o.lr, seed: o.seed, onStep: (d) => bar.update(d) });
      } finally {
        bar.stop();
      }
      if (o.json) return printJson(r);
      const p = (x: number): string => formatNumber(x, 5);
      process.stdout.write([
        `rules ${r.rules}, target ${r.target}, ${r.steps} steps at lr ${r.lr}, seed ${r.seed}`,
        `initial  w1 ${p(r.initial.w1)}  b1 ${p(r.initial.b1)}  w2 ${p(r.initial.w2)}  b2 ${p(r.initial.b2)}  loss ${p(r.curve[0]!.loss)}`,
        `final    w1 ${p(r.final.w1)}  b1 ${p(r.final.b1)}  w2 ${p(r.final.w2)}  b2 ${p(r.final.b2)}  loss ${p(r.loss)}`,
        ...r.outputs.map((x) => `  x = ${x.raw}/9  a = ${x.a}  y = ${x.y.toFixed(4)}`),
      ].join('\n') + '\n');
    });

  command('moons')
    .description('micrograd\'s demo: a 2-16-16-1 relu MLP trained on two moons, with decision-boundary and loss plots')
    .option('--seed <n>', 'seed for the data and the initial weights', integer('--seed', 0, SEED_MAX), 1)
    .option('--steps <n>', 'full-batch SGD steps', integer('--steps', 1), 100)
    .option('--out <dir>', 'write moons-boundary.svg and moons-loss.svg into this folder (nothing is written without it)', folder('--out'))
    .option('--json', 'print the run (loss and accuracy per step, trained parameters) as JSON')
    .addHelpText('after', '\nExamples:\n  micrograd moons\n  micrograd moons --seed 3 --out /tmp/moons')
    .action(async (o: { seed: number; steps: number; out?: string; json?: boolean }) => {
      const { trainMoonsRun } = await import('../learner/node.js');
      const run = trainMoonsRun({ seed: o.seed, steps: o.steps, progress: terminalProgress(!o.json && Boolean(process.stdout.isTTY)) });
      let r = run.result;
      let failure: unknown;
      if (o.out !== undefined) {
        try {
          r = { ...r, files: await run.writeFiles(o.out) };
        } catch (e) {
          failure = e;
        }
      }
      if (o.json) {
        printJson(r);
      } else {
        const pct = (x: number): string => `${(100 * x).toFixed(0)} %`;
        process.stdout.write([
          `moons: ${r.points} points, noise ${r.noise}, seed ${r.seed}; MLP ${r.architecture}, ${r.parameters} parameters`,
          `${r.steps} full-batch SGD steps in ${r.trainSeconds.toFixed(2)} s: loss ${formatNumber(r.final.loss, 4)}, training accuracy ${pct(r.final.accuracy)}`,
          r.firstPerfectStep === null ? 'never reached 100 % accuracy' : `first at 100 % accuracy at step ${r.firstPerfectStep}`,
          ...(r.files.length ? [`Files: ${r.files.join(', ')}`] : []),
        ].join('\n') + '\n');
      }
      if (failure !== undefined) throw failure;
    });

  command('graphs')
    .description('regenerate the example pictures committed under graphs/ (the learner\'s network, micrograd\'s expression, moons)')
    .option('--out <dir>', 'folder to write them to', folder('--out'), 'graphs')
    .addHelpText('after', '\nExample:\n  micrograd graphs --out /tmp/graphs')
    .action(async (o: { out: string }) => {
      const { writeExampleGraphs } = await import('./graphs.js');
      const files = await writeExampleGraphs(o.out);
      process.stdout.write(`${files.map((f) => `wrote ${f}`).join('\n')}\n`);
    });

  return program;
}

/** Prints a failure (every one, when several writes failed) and returns the exit code. */
function report(e: unknown): ExitCode {
  const all = e instanceof SeveralFailures ? e.failures : [e];
  let code: ExitCode = EXIT.ok;
  for (const one of all) {
    const f = failureOf(one);
    if (f.message) process.stderr.write(`${f.message}\n`);
    code = worst(code, f.code);
  }
  return code;
}

/** Runs the command line; resolves to the exit code. */
async function main(argv: readonly string[]): Promise<ExitCode> {
  resultCode = EXIT.ok;
  try {
    await buildProgram().parseAsync(argv as string[]);
    return resultCode;
  } catch (e) {
    // A failed write after a check's verdict: the worse of the two codes.
    return worst(resultCode, report(e));
  }
}

/**
 * Prepares the arguments: with no command (nothing, or only options such as `--seed 3`) the
 * command is `demo`; and an expression that starts with a minus (`micrograd grad "-x^2" …`) would
 * be read as an option, so for the commands that take one a leading space keeps it an argument.
 * `demo` is not commander's default command, so that a mistyped command is reported as one.
 */
function prepareArguments(argv: readonly string[]): string[] {
  const args = [...argv];
  const first = args[2];
  if (first === undefined || (first.startsWith('-') && !['-h', '--help', '-V', '--version'].includes(first))) args.splice(2, 0, 'demo');
  const k = 2;
  const next = args[k + 1];
  if (['grad', 'check', 'dot', 'hessian'].includes(args[k]!) && next !== undefined && /^-[^-]/.test(next) && !['-h', '-o'].includes(next)) {
    args[k + 1] = ` ${next}`;
  }
  return args;
}

// A reader that stops early (`micrograd demo --json | head -1`) closes the pipe: end quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(EXIT.ok);
  process.stderr.write(`error: cannot write to standard output: ${e.code ?? e.message}\n`);
  process.exit(EXIT.outputFailure);
});

process.exitCode = await main(prepareArguments(process.argv));
