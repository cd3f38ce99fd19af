/**
 * The command line under faults and bad input, spawned as a user runs it. Every run has a timeout
 * (runCli's), so a hang fails its test instead of stalling the suite.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli } from '../cli-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'micrograd-faults-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PROC = process.platform === 'linux' && existsSync('/proc/self');
const MODEL = 'h = sigmoid(w1*x + b1); y = sigmoid(w2*h + b2); (y - a)^2';
const AT = 'x=0.2222,a=1,w1=0.3,b1=0,w2=-0.2,b2=0';
const WRONG_W2 = 'w2=2*(y-a)*y*(1-y)*w2';
const oneLine = (text: string): string[] => text.trim().split('\n');

/** A fresh empty folder to run a command in. */
function emptyFolder(name: string): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe.runIf(PROC)('output paths that cannot be made end in an error, not a hang', () => {
  it('demo, moons, graphs and dot under /proc: exit 3, one line naming the path', () => {
    for (const args of [
      ['demo', '--steps', '10', '--out', '/proc/micrograd-x'],
      ['moons', '--steps', '1', '--out', '/proc/micrograd-x'],
      ['graphs', '--out', '/proc/micrograd-x/deeper'],
      ['dot', 'x*2', '--at', 'x=1', '-o', '/proc/micrograd-sub/x.svg'],
    ]) {
      const r = runCli(args, { timeout: 60_000 });
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr, args.join(' ')).toMatch(/^error: cannot write \/proc\/micrograd-(x|sub): cannot create the folder: the file system at \/proc does not allow new folders/);
      expect(oneLine(r.stderr), args.join(' ')).toHaveLength(1);
    }
  }, 180_000);

  it('prints the results first, then reports the failed write (3 outranks check\'s 1)', () => {
    const check = runCli(['check', MODEL, '--at', AT, '--manual', WRONG_W2, '--svg', '/proc/x.svg']);
    expect(check.stdout).toMatch(/w2 .* WRONG/);
    expect(check.stdout).toMatch(/1 of 1 manual gradients disagree/);
    expect(check.stderr).toBe('error: cannot write /proc/x.svg: the file system at /proc does not allow new files (ENOENT)\n');
    expect(check.code).toBe(3);
    const grad = runCli(['grad', 'x^2', '--at', 'x=3', '--json', '--svg', '/proc/x.svg']);
    expect(JSON.parse(grad.stdout)).toEqual({ value: 9, gradients: { x: 6 } });
    expect(grad.code).toBe(3);
    // The demo's report too, with no files listed.
    const demo = runCli(['demo', '--steps', '10', '--json', '--out', '/proc/micrograd-x']);
    expect(demo.code).toBe(3);
    expect((JSON.parse(demo.stdout) as { files: string[] }).files).toEqual([]);
  }, 60_000);
});

describe('results before output errors', () => {
  it('prints grad and check results over the picture-size limit, then names --max-nodes (exit 2)', () => {
    const svg = join(tmp, 'big.svg');
    const grad = runCli(['grad', MODEL, '--at', AT, '--svg', svg, '--max-nodes', '5']);
    expect(grad.stdout).toMatch(/^value\s+0\.\d+/);
    expect(grad.stderr).toMatch(/^error: the picture would hold \d+ Values, over the limit of 5: .*--max-nodes \d+/);
    expect(oneLine(grad.stderr)).toHaveLength(1);
    expect(grad.code).toBe(2);
    expect(existsSync(svg)).toBe(false);
    const check = runCli(['check', MODEL, '--at', AT, '--manual', WRONG_W2, '--svg', svg, '--max-nodes', '5']);
    expect(check.stdout).toMatch(/WRONG/);
    expect(check.code).toBe(2);
    expect(existsSync(svg)).toBe(false);
  });

  it('refuses a bad file name before doing any work', () => {
    const r = runCli(['grad', 'x', '--at', 'x=1', '--svg', join(tmp, 'g.png')]);
    expect([r.code, r.stdout]).toEqual([2, '']);
    for (const args of [['demo', '--out', ''], ['moons', '--out', ''], ['graphs', '--out', ''], ['dot', 'x', '--at', 'x=1', '-o', '']]) {
      const e = runCli(args);
      expect(e.code, args.join(' ')).toBe(2);
      expect(e.stderr, args.join(' ')).toMatch(/needs a (folder|file) name, got an empty one/);
      expect(e.stderr).not.toMatch(/ENOENT/);
    }
  });
});

describe('the picture options', () => {
  it('dot, grad --dot and check --svg take --max-nodes, --rankdir and --precision', () => {
    const dot = join(tmp, 'p.dot');
    expect(runCli(['dot', 'x*0.123456789', '--at', 'x=1', '-o', dot, '--rankdir', 'TB', '--precision', '3']).code).toBe(0);
    const text = readFileSync(dot, 'utf8');
    expect(text).toMatch(/rankdir=TB/);
    expect(text).toMatch(/0\.123(?!4)/);
    const g = join(tmp, 'g.dot');
    expect(runCli(['grad', 'x*0.123456789', '--at', 'x=1', '--dot', g, '--precision', '6']).code).toBe(0);
    expect(readFileSync(g, 'utf8')).toMatch(/0\.123457/);
    expect(readFileSync(g, 'utf8')).toMatch(/rankdir=LR/);
    // x*y holds three Values: x, y and the product.
    const small = runCli(['dot', 'x*y', '--at', 'x=1,y=2', '-o', dot, '--max-nodes', '2']);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/would hold 3 Values, over the limit of 2.*--max-nodes 3/);
    expect(runCli(['dot', 'x*y', '--at', 'x=1,y=2', '-o', dot, '--max-nodes', '3']).code).toBe(0);
    const svg = join(tmp, 'c.svg');
    const check = runCli(['check', 'x*y', '--at', 'x=1,y=2', '--manual', 'x=y', '--svg', svg, '--rankdir', 'TB', '--max-nodes', '3']);
    expect(check.code).toBe(0);
    expect(readFileSync(svg, 'utf8')).toMatch(/<svg/);
    for (const bad of [['--rankdir', 'RL'], ['--precision', '18'], ['--max-nodes', '0']]) {
      expect(runCli(['dot', 'x', '--at', 'x=1', '-o', dot, ...bad]).code, bad.join(' ')).toBe(2);
    }
  });
});

describe('exit codes and stdout', () => {
  it('ends quietly when the reader closes the pipe (EPIPE)', () => {
    // The report is about 80 kB, more than a pipe holds, so the write meets the closed pipe.
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" demo --json --steps 10 | head -1; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toBe('{\n');
    expect(r.stderr).toBe('status 0\n');
  });

  it.runIf(process.platform !== 'win32')('is ended by Ctrl-C at once, even inside a synchronous training loop (130)', async () => {
    const child = spawn(process.execPath, [CLI, 'train', '--steps', '100000000'], { stdio: 'ignore' });
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // The run takes minutes; the signal arrives while it trains (or while Node starts: the same outcome).
    setTimeout(() => child.kill('SIGINT'), 1500);
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const r = await ended;
    clearTimeout(watchdog);
    // The shell reports a death by SIGINT as 130.
    expect(r.signal === 'SIGINT' || r.code === 130, JSON.stringify(r)).toBe(true);
  }, 40_000);

  it('lists the exit codes in --help', () => {
    const r = runCli(['--help']);
    for (const line of ['0    success', '1    check: a manual gradient disagrees', '2    bad input', '3    an output failure', '4    an internal error', '130  interrupted']) {
      expect(r.stdout).toContain(line);
    }
  });

  it('takes its version from package.json', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) expect(runCli([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    // A copy of the package with another version says that one (a hard-coded version would not).
    const copy = emptyFolder('version-copy');
    cpSync(join(ROOT, 'dist', 'src'), join(copy, 'dist', 'src'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    writeFileSync(join(copy, 'package.json'), JSON.stringify({ name: 'micrograd-ts', version: '9.8.7-test', type: 'module' }));
    const r = spawnSync(process.execPath, [join(copy, 'dist', 'src', 'cli', 'cli.js'), '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toBe('9.8.7-test\n');
  });
});

describe('mistyped commands and options', () => {
  it('says which command is unknown and suggests the nearest (demo is not a catch-all)', () => {
    for (const [typed, meant] of [['gard', 'grad'], ['chek', 'check'], ['dmeo', 'demo'], ['moon', 'moons']]) {
      const r = runCli([typed!, 'x*2', '--at', 'x=1']);
      expect(r.code, typed).toBe(2);
      expect(r.stderr, typed).toBe(`error: unknown command '${typed}' (Did you mean ${meant}?)\n`);
    }
    expect(runCli(['frobnicate']).stderr).toBe('error: unknown command \'frobnicate\'\n');
  });

  it('suggests the nearest option', () => {
    const r = runCli(['grad', 'x', '--att', 'x=1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: unknown option \'--att\' (Did you mean --at?)\n');
    expect(runCli(['train', '--step', '5']).stderr).toMatch(/Did you mean --steps\?/);
  });

  it('names a mistyped required option, not the one it stands in for, and still asks for a missing one', () => {
    const typo = runCli(['check', 'x*x', '--at', 'x=2', '--manul', 'x=2*x']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('error: unknown option \'--manul\' (Did you mean --manual?)\n');
    const dot = runCli(['dot', 'x*x', '--at', 'x=2', '--ouptut', 'g.svg']);
    expect(dot.code).toBe(2);
    expect(dot.stderr).toBe('error: unknown option \'--ouptut\' (Did you mean --output?)\n');
    const none = runCli(['check', 'x*x', '--at', 'x=2']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('error: required option \'--manual <name=expr>\' not specified\n');
    expect(runCli(['dot', 'x*x', '--at', 'x=2']).stderr).toBe('error: required option \'-o, --output <file>\' not specified\n');
  });
});

describe('writing only where asked', () => {
  it('demo, moons, train, grad and check write nothing into the folder they run in', () => {
    const dir = emptyFolder('quiet');
    for (const args of [
      [], ['--steps', '10'], ['demo', '--steps', '10', '--json'], ['moons', '--steps', '2'], ['moons', '--steps', '2', '--json'],
      ['train', '--steps', '10'], ['grad', 'x^2', '--at', 'x=1'], ['check', 'x^2', '--at', 'x=1', '--manual', 'x=2*x'],
    ]) {
      const r = runCli(args, { cwd: dir, timeout: 120_000 });
      expect(r.code, args.join(' ')).toBe(0);
      expect(readdirSync(dir), args.join(' ')).toEqual([]);
    }
  }, 240_000);

  it('writes demo\'s pictures when given --out', () => {
    const dir = emptyFolder('asked');
    const r = runCli(['demo', '--steps', '10', '--out', 'pics'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(readdirSync(join(dir, 'pics')).sort()).toEqual(['net111-backward.dot', 'net111-backward.svg', 'net111-loss.svg']);
  }, 60_000);

  it('the bench saves bench/results.json only with --save', () => {
    const file = join(ROOT, 'bench', 'results.json');
    const before = readFileSync(file, 'utf8');
    const r = spawnSync('npm', ['run', 'bench', '--silent', '--', 'w1', '--quick', '--reps', '1'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    const after = readFileSync(file, 'utf8');
    // A regression must not leave the tracked file rewritten.
    if (after !== before) writeFileSync(file, before);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/not saved: add --save/);
    expect(after === before, 'bench/results.json was rewritten without --save').toBe(true);
  }, 130_000);
});

describe('the minus sign U+2212, as this program prints it', () => {
  it('is read in --at values, exponents, expressions and numeric options', () => {
    const r = runCli(['grad', '\u2212x^2 + y', '--at', 'x=\u22123,y=4.3e\u221219', '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ value: -9 + 4.3e-19, gradients: { x: 6, y: 1 } });
    // w is held fixed: the constant formula for ∂/∂h = w is then right at every point checked (w itself
    // gets no formula: a held variable's own formula could not be checked as it moves).
    const c = runCli(['check', 'w*h', '--at', 'w=\u22120.13547,h=2', '--manual', 'h=\u22120.13547', '--fixed', 'w']);
    expect(c.code).toBe(0);
    expect(runCli(['train', '--steps', '10', '--seed', '\u22121']).stderr).toMatch(/--seed must be from 0/);
  });
});

describe('long models, from a file or standard input', () => {
  const terms = 10_000;
  const sum = Array.from({ length: terms }, (_, k) => `x*${k + 1}`).join(' + ');
  const expected = { value: (terms * (terms + 1)) / 2 * 2, gradients: { x: (terms * (terms + 1)) / 2 } };

  it('differentiates a flat sum of 10⁴ terms read from @FILE', () => {
    const file = join(tmp, 'sum.txt');
    writeFileSync(file, `${sum}\n`);
    const r = runCli(['grad', `@${file}`, '--at', 'x=2', '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it('reads 10⁴ named steps from standard input (-)', () => {
    const steps = ['s1 = x*1', ...Array.from({ length: terms - 1 }, (_, k) => `s${k + 2} = s${k + 1} + x*${k + 2}`), `s${terms}`].join('\n');
    const r = runCli(['grad', '-', '--at', 'x=2', '--json'], { input: steps });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it('reads --manual formulas from a file, one per line, and names the file and line of an error', () => {
    const model = join(tmp, 'model.txt'), manual = join(tmp, 'manual.txt');
    writeFileSync(model, `${MODEL.split('; ').join('\n')}\n`);
    writeFileSync(manual, `# the learner's rules\n${WRONG_W2}\n\nb2 = 2*(y-a)*y*(1-y)\n`);
    const r = runCli(['check', `@${model}`, '--at', AT, '--manual', `@${manual}`, '--json']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { rows: { name: string; ok: boolean }[] }).rows.map((x) => [x.name, x.ok])).toEqual([['w2', false], ['b2', true]]);
    writeFileSync(manual, 'b2 = 2*(y-a)*y*(1-y)\nw2 = 2*(y-a)*y*(1-y)*)\n');
    const bad = runCli(['check', `@${model}`, '--at', AT, '--manual', `@${manual}`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`^error: ${manual.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: line 2, column 22: in --manual w2: unmatched '\\)'`));
    writeFileSync(model, 'h = sigmoid(w1*x + b1)\ny = sigmoid(w2*h + b2))\n(y - a)^2\n');
    const badModel = runCli(['grad', `@${model}`, '--at', AT]);
    expect(badModel.code).toBe(2);
    expect(badModel.stderr).toMatch(/model\.txt: line 2, column 23: /);
    expect(runCli(['grad', `@${join(tmp, 'missing.txt')}`]).stderr).toMatch(/cannot read the model from .*missing\.txt: no such file/);
  });

  it('lets only one of the model and --manual read standard input', () => {
    const r = runCli(['check', '-', '--manual', '-'], { input: 'x = 2*x\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot both read standard input/);
  });
});

describe('numbers in options', () => {
  it('takes --steps in exponent notation and says what is wrong with the rest', () => {
    const r = runCli(['train', '--steps', '2e2', '--json']);
    expect((JSON.parse(r.stdout) as { steps: number }).steps).toBe(200);
    expect(runCli(['train', '--steps', '1.5']).stderr).toMatch(/--steps must be a whole number, got "1.5"/);
    expect(runCli(['train', '--steps', '1e99']).stderr).toMatch(/--steps must be from 0 to 9007199254740991, got "1e99"/);
  });
});
