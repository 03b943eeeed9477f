// Running test/fixtures/daemon.mjs as a user would: a launcher process whose exit code and
// terminal text we read, and the daemon it leaves behind (a child of this subreaper worker).
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fixture, fixtureAsNobody, ourChildren } from './helpers';

export interface Launch {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From "NAME started (pid N)". */
  pid: number | null;
}

export function launch(options: object, behavior = 'serve', spawnOptions: SpawnOptions = {}, execArgv: string[] = []): Promise<Launch> {
  return launchFixture('daemon.mjs', [JSON.stringify(options), behavior], spawnOptions, execArgv);
}

/**
 * Whether the fixture's options (its JSON argument, or their `daemon` part) name a user
 * without a chroot: the service then runs as that user from its first line and must be able
 * to read its own script, wherever the checkout is.
 */
function startsAsUser(args: string[]): boolean {
  return args.some((arg) => {
    let o: unknown;
    try {
      o = JSON.parse(arg);
    } catch {
      return false;
    }
    const options = (typeof o === 'object' && o !== null && 'daemon' in o ? (o as { daemon: unknown }).daemon : o) as Record<string, unknown> | null;
    return typeof options === 'object' && options !== null && 'user' in options && !('chroot' in options);
  });
}

/** Runs a fixture the way a user starts a program, and resolves when that process exits. */
export function launchFixture(
  name: string,
  args: string[],
  spawnOptions: SpawnOptions = {},
  execArgv: string[] = [],
  { asNobody = false } = {},
): Promise<Launch> {
  return new Promise((resolve, reject) => {
    const path = asNobody || startsAsUser(args) || (spawnOptions.uid !== undefined && spawnOptions.uid !== 0) ? fixtureAsNobody(name) : fixture(name);
    const child = spawn(process.execPath, [...execArgv, path, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...spawnOptions,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const m = /started \(pid (\d+)\)/.exec(stdout);
      resolve({ code, signal, stdout, stderr, pid: m ? Number(m[1]) : null });
    });
  });
}

/** What a failed start must leave: no process of ours, no PID file. */
export function nothingLeft(pidFile?: string): { children: number[]; pidFile: boolean } {
  return { children: ourChildren(), pidFile: pidFile !== undefined && existsSync(pidFile) };
}
