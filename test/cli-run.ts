// Running the daemonkit command from a test: to its end, without blocking the event loop (its
// daemons become ours: the worker is their subreaper), its output collected.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { root } from './helpers';

export const cliPath = join(root, 'dist', 'cli.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(...args: string[]): Promise<CliResult> {
  return cliIn({}, ...args);
}

export function cliIn(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return cliAt(process.cwd(), env, ...args);
}

/** The command typed in directory `cwd`. */
export function cliAt(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    // `--` as the shebang has it: Node would otherwise take --env-file for itself.
    const child = spawn(process.execPath, ['--', cliPath, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The daemon's pid in "NAME started (pid N)". */
export const pidOf = (stdout: string) => Number(/started \(pid (\d+)\)/.exec(stdout)![1]);
