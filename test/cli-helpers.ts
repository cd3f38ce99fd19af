/** Runs the built CLI (dist/src/cli/cli.js) as a user would, capturing its output and exit code. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/src/cli/cli.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI to its end or until `timeout` ms (default 60 s): a hang fails the test with a
 * timeout error instead of stalling the suite. `input` is its standard input.
 */
export function runCli(args: readonly string[], options: { cwd?: string; timeout?: number; input?: string } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    timeout: options.timeout ?? 60_000,
    env: { ...process.env, NO_COLOR: '1' },
    ...(options.input !== undefined ? { input: options.input } : { stdio: ['ignore', 'pipe', 'pipe'] }),
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
