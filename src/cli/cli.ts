#!/usr/bin/env node
/**
 * The `micrograd` command line. Exit codes: 0 success, 1 a check found a wrong gradient (or a run
 * failed), 2 a usage error or bad input. No stack trace reaches the user.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { toDot, mismatchNote, formatNumber } from '../tools/dot.js';
import { renderSvg } from '../node/render.js';
import { buildGraph, ExpressionError, freeVariables, parseExpression, type Program } from '../tools/expr.js';
import { diagnoseGradient, DEFAULT_DIAGNOSIS_SEED, DEFAULT_POINTS, FormulaError, type DiagnosisReport } from '../tools/diagnose.js';
import { checkJson, checkMarks, formatCheck } from './check.js';
import { DEFAULT_SEED, RULES, TARGETS, train, type Rules, type Target } from '../learner/net111.js';
import { terminalProgress } from '../node/terminal-progress.js';
import { NonFiniteError, type Value } from '../engine/value.js';

/** A mistake in how the command was called: one line on stderr, exit code 2. */
class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Option parsing.

function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\s*[+-]?\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
    }
    return n;
  };
}

function positiveNumber(name: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!DECIMAL.test(text.trim()) || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${text}"`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!DECIMAL.test(text.trim()) || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0, got "${text}"`);
    return n;
  };
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

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Seeds are reduced to 32 bits by the generator: larger ones would repeat smaller ones' runs. */
const SEED_MAX = 2 ** 32 - 1;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** `--at x=0.5,w1=0.3` (repeatable): the variables' values. */
function collectAt(text: string, previous: Map<string, number> = new Map()): Map<string, number> {
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
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

/** `--manual 'w2=<expr>'` (repeatable): a hand-derived gradient per variable. */
function collectManual(text: string, previous: Map<string, string> = new Map()): Map<string, string> {
  const eq = text.indexOf('=');
  const name = text.slice(0, eq).trim();
  if (eq < 0 || !NAME.test(name) || text.slice(eq + 1).trim() === '') {
    throw new InvalidArgumentError(`--manual takes name=<expression>, e.g. --manual 'w2=2*(y-a)*y*(1-y)*h', got "${text}"`);
  }
  if (previous.has(name)) throw new InvalidArgumentError(`--manual gives ${name} twice`);
  previous.set(name, text.slice(eq + 1));
  return previous;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Rows of text in aligned columns (numbers right-aligned). */
function table(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((s, c) => (right.has(c) ? s.padStart(widths[c]!) : s.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Expressions on the command line.

interface ModelAt {
  readonly program: Program;
  readonly variables: readonly string[];
  readonly at: Readonly<Record<string, number>>;
}

/** Parses the model and checks that `--at` gives every variable (the expression error names all that are missing). */
function modelAt(source: string, at: Map<string, number> | undefined): ModelAt {
  const program = parseExpression(source);
  const variables = freeVariables(program);
  const given = at ?? new Map<string, number>();
  const extra = [...given.keys()].filter((k) => !variables.includes(k));
  if (extra.length) {
    throw new UsageError(`--at gives ${extra.join(', ')}, which the expression does not use (its variables: ${variables.join(', ') || 'none'})`);
  }
  buildGraph(program, Object.fromEntries(given)); // throws the unbound-variable error with its caret
  return { program, variables, at: Object.fromEntries(given) };
}

async function writePicture(path: string, root: Value, marks?: ReadonlyMap<Value, string>, only?: '.svg' | '.dot'): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (only !== undefined && ext !== only) throw new UsageError(`this file must end in ${only}, got "${path}"`);
  if (ext !== '.svg' && ext !== '.dot') throw new UsageError(`the output file must end in .svg or .dot, got "${path}"`);
  const dot = toDot(root, marks ? { marks } : {});
  const text = ext === '.dot' ? dot : await renderSvg(dot);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

// ---------------------------------------------------------------------------------------------
// Commands.

const LEARNER_MODEL = 'h = sigmoid(w1*x + b1); y = sigmoid(w2*h + b2); (y - a)^2';

function buildProgram(): Command {
  const program = new Command('micrograd')
    .description('A scalar autodiff engine: the learner\'s 1-1-1 network, gradient checks and DOT graphs of the backward pass.')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride()
    // A usage error is one line; the details are in --help.
    .configureOutput({ outputError: (text, write) => write(`${text.split('\n')[0]!}\n`) });

  const command = (name: string, opts?: { isDefault?: boolean }): Command =>
    program.command(name, opts).exitOverride().configureOutput({ outputError: (text, write) => write(`${text.split('\n')[0]!}\n`) });

  command('demo', { isDefault: true })
    .description('the learner\'s 1-1-1 sigmoid network: manual vs autodiff gradients, and why it never learns parity (what `npm start` runs)')
    .option('--seed <n>', 'seed for the initial weights and the sample picks', integer('--seed', 0, SEED_MAX), DEFAULT_SEED)
    .option('--steps <n>', 'SGD steps per training run', integer('--steps', 1), 10_000)
    .option('--out <dir>', 'folder for the graph files', 'graphs')
    .option('--no-files', 'write no files')
    .option('--json', 'print the whole report (with the full gradient table) as one JSON document')
    .addHelpText('after', '\nExamples:\n  micrograd demo\n  micrograd demo --seed 7 --json > report.json\n  micrograd demo --out /tmp/graphs')
    .action(async (o: { seed: number; steps: number; out: string; files: boolean; json?: boolean }) => {
      // Loaded on demand: the charts' renderer (vega) takes a while to import.
      const { runDemo } = await import('../learner/node.js');
      const { formatDemoReport } = await import('../learner/report.js');
      const report = await runDemo({
        seed: o.seed, steps: o.steps, outDir: o.files ? o.out : null,
        progress: terminalProgress(!o.json && Boolean(process.stdout.isTTY)),
      });
      if (o.json) printJson(report);
      else process.stdout.write(`${formatDemoReport(report)}\n`);
    });

  command('grad')
    .description('the value of an expression and its gradient with respect to every variable')
    .argument('<expr>', 'the model, e.g. "h = sigmoid(w*x + b); (h - a)^2"')
    .option('--at <name=value,...>', 'the variables\' values (repeatable)', collectAt)
    .option('--json', 'print {"value": …, "gradients": {…}}')
    .option('--dot <file>', 'write the backward pass as DOT')
    .option('--svg <file>', 'write the backward pass as SVG')
    .addHelpText('after', `\nExample:\n  micrograd grad "${LEARNER_MODEL}" --at x=0.2222,a=1,w1=0.3,b1=0,w2=-0.2,b2=0`)
    .action(async (source: string, o: { at?: Map<string, number>; json?: boolean; dot?: string; svg?: string }) => {
      const m = modelAt(source, o.at);
      const g = buildGraph(m.program, m.at);
      g.output.backward();
      const gradients = Object.fromEntries([...g.variables].map(([name, v]) => [name, v.grad]));
      if (o.dot) await writePicture(o.dot, g.output, undefined, '.dot');
      if (o.svg) await writePicture(o.svg, g.output, undefined, '.svg');
      if (o.json) return printJson({ value: g.output.data, gradients });
      const rows = [['value', String(g.output.data)], ...Object.entries(gradients).map(([n, d]) => [`∂/∂${n}`, String(d)])];
      process.stdout.write(`${table(['', ''], rows, new Set()).split('\n').slice(1).join('\n')}\n`);
    });

  command('check')
    .description('check hand-derived gradients against autodiff as identities, and say what is wrong with each (exit 1 if any is not ok)')
    .argument('<expr>', 'the model; its named intermediates may be used in the manual formulas')
    .option('--at <name=value,...>', 'the variables\' values (repeatable)', collectAt)
    .requiredOption('--manual <name=expr>', 'a hand-derived ∂output/∂name, for a variable or a named intermediate (repeatable)', collectManual)
    .option('--points <n>', 'random points checked besides the given one', integer('--points', 1, 1000), DEFAULT_POINTS)
    .option('--seed <n>', 'seed for the random points', integer('--seed', 0, SEED_MAX), DEFAULT_DIAGNOSIS_SEED)
    .option('--fixed <names>', 'variables held at their given values, e.g. data and labels: --fixed x,a', collectNames('--fixed'))
    .option('--rtol <x>', 'a fixed tolerance atol + rtol·|autodiff| in place of the rounding bound', nonNegativeNumber('--rtol'))
    .option('--atol <x>', 'with or without --rtol (the other is then 0)', nonNegativeNumber('--atol'))
    .option('--json', 'print {"ok", "points", "seed", "fixed", "tolerance", "rows": [{"name", "manual", "autodiff", "numeric", "absError", "relError", "allowed", "ok", "agreesAtPoint", "diagnosis"}]}')
    .option('--svg <file>', 'write the backward pass as SVG, the nodes each diagnosis names marked red')
    .addHelpText('after', [
      '',
      'A formula is ok when it matches autodiff at the given point and at --points random points around it',
      '(each variable moved by 0.5·max(|x|, 1)·u, u uniform in [−1, 1]), within 4× the first-order rounding',
      'bounds of both evaluations. Otherwise the diagnosis is the first of: scaled, substitution, missing-factor,',
      'extra-factor, missing-path, point-only, unexplained; unchecked when too few points carry information.',
      'autodiff is also compared with central differences (eps 1e-6, atol 1e-5, rtol 1e-3).',
      '',
      'Example (the learner\'s Δw2 rule, which multiplies by w2 where h belongs):',
      `  micrograd check "${LEARNER_MODEL}" \\`,
      '    --at x=0.2222,a=1,w1=0.3,b1=0,w2=-0.2,b2=0 --fixed x,a \\',
      '    --manual \'w2=2*(y-a)*y*(1-y)*w2\' --manual \'b2=2*(y-a)*y*(1-y)\'',
    ].join('\n'))
    .action(async (source: string, o: {
      at?: Map<string, number>; manual: Map<string, string>; points: number; seed: number; fixed?: string[];
      rtol?: number; atol?: number; json?: boolean; svg?: string;
    }) => {
      const m = modelAt(source, o.at);
      const names = [...m.variables, ...m.program.assignments.map((a) => a.name)];
      const unknown = [...o.manual.keys()].filter((n) => !names.includes(n));
      if (unknown.length) {
        throw new UsageError(`--manual names ${unknown.join(', ')}, which ${unknown.length === 1 ? 'is not a variable or named intermediate' : 'are not variables or named intermediates'} of the expression (its names: ${names.join(', ') || 'none'})`);
      }
      const notVariables = (o.fixed ?? []).filter((n) => !m.variables.includes(n));
      if (notVariables.length) {
        throw new UsageError(`--fixed names ${notVariables.join(', ')}, which ${notVariables.length === 1 ? 'is not a variable' : 'are not variables'} of the expression (its variables: ${m.variables.join(', ') || 'none'})`);
      }
      let report: DiagnosisReport;
      try {
        report = diagnoseGradient(m.program, m.at, o.manual, {
          points: o.points, seed: o.seed, fixed: o.fixed ?? [],
          ...(o.rtol !== undefined ? { rtol: o.rtol } : {}), ...(o.atol !== undefined ? { atol: o.atol } : {}),
        });
      } catch (e) {
        if (e instanceof FormulaError) throw new ExpressionError(e.code, `in --manual ${e.target}: ${e.formulaReason}`, e.formula, e.offset);
        throw e;
      }
      if (o.svg) await writePicture(o.svg, report.graph.output, checkMarks(report), '.svg');
      if (o.json) printJson(checkJson(report));
      else process.stdout.write(`${formatCheck(report)}\n`);
      if (!report.ok) process.exitCode = 1;
    });

  command('dot')
    .description('draw an expression\'s backward pass: DOT text or an SVG picture, by the file\'s extension')
    .argument('<expr>', 'the model')
    .option('--at <name=value,...>', 'the variables\' values (repeatable)', collectAt)
    .requiredOption('-o, --output <file>', 'FILE.svg or FILE.dot')
    .addHelpText('after', '\nExample:\n  micrograd dot "(x*w + b)^2" --at x=2,w=-1,b=0.5 -o graph.svg')
    .action(async (source: string, o: { at?: Map<string, number>; output: string }) => {
      const m = modelAt(source, o.at);
      const g = buildGraph(m.program, m.at);
      g.output.backward();
      await writePicture(o.output, g.output);
      process.stdout.write(`wrote ${o.output}\n`);
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
    .option('--out <dir>', 'folder for moons-boundary.svg and moons-loss.svg', 'graphs')
    .option('--no-files', 'write no files')
    .option('--json', 'print the run (loss and accuracy per step, trained parameters) as JSON')
    .addHelpText('after', '\nExamples:\n  micrograd moons\n  micrograd moons --seed 3 --out /tmp/moons')
    .action(async (o: { seed: number; steps: number; out: string; files: boolean; json?: boolean }) => {
      const { runMoons } = await import('../learner/node.js');
      const r = await runMoons({
        seed: o.seed, steps: o.steps, outDir: o.files ? o.out : null,
        progress: terminalProgress(!o.json && Boolean(process.stdout.isTTY)),
      });
      if (o.json) return printJson(r);
      const pct = (x: number): string => `${(100 * x).toFixed(0)} %`;
      process.stdout.write([
        `moons: ${r.points} points, noise ${r.noise}, seed ${r.seed}; MLP ${r.architecture}, ${r.parameters} parameters`,
        `${r.steps} full-batch SGD steps in ${r.trainSeconds.toFixed(2)} s: loss ${formatNumber(r.final.loss, 4)}, training accuracy ${pct(r.final.accuracy)}`,
        r.firstPerfectStep === null ? 'never reached 100 % accuracy' : `first at 100 % accuracy at step ${r.firstPerfectStep}`,
        ...(r.files.length ? [`Files: ${r.files.join(', ')}`] : []),
      ].join('\n') + '\n');
    });

  command('graphs')
    .description('regenerate the example pictures committed under graphs/ (the learner\'s network, micrograd\'s expression, moons)')
    .option('--out <dir>', 'folder to write them to', 'graphs')
    .addHelpText('after', '\nExample:\n  micrograd graphs --out /tmp/graphs')
    .action(async (o: { out: string }) => {
      const { writeExampleGraphs } = await import('./graphs.js');
      const files = await writeExampleGraphs(o.out);
      process.stdout.write(`${files.map((f) => `wrote ${f}`).join('\n')}\n`);
    });

  return program;
}

/** Runs the command line; resolves to the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; otherwise commander has printed its one-line message.
      return ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(e.code) ? 0 : 2;
    }
    if (e instanceof ExpressionError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof UsageError || e instanceof NonFiniteError || e instanceof RangeError || e instanceof TypeError) {
      process.stderr.write(`error: ${e.message.split('\n')[0]}\n`);
      return 2;
    }
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/**
 * An expression that starts with a minus (`micrograd grad "-x^2" …`) would be read as an option:
 * for the commands that take one, a leading space keeps it an argument (the parser ignores it).
 */
function protectExpression(argv: readonly string[]): string[] {
  const args = [...argv];
  const k = args.findIndex((a, i) => i >= 2 && !a.startsWith('-'));
  const next = args[k + 1];
  if (k >= 0 && ['grad', 'check', 'dot'].includes(args[k]!) && next !== undefined
    && /^-[^-]/.test(next) && !['-h', '-o'].includes(next)) {
    args[k + 1] = ` ${next}`;
  }
  return args;
}

process.exitCode = await main(protectExpression(process.argv));
