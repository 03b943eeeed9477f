// start(): a program as a service, through the same launcher as daemonize() (docs/design.md,
// "The start"). With restart never the program itself is the daemon: no wrapper process.
import { basename, dirname } from 'node:path';
import { DaemonizeError, describeError } from '../errors';
import { launch } from '../start/launcher';
import { ensureDirectory } from './paths';
import { resolveService, type ServiceOptions } from './service-options';
import { stateFileOf, writeState } from '../supervisor/state-file';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/** How start() went: the service is running, or why it is not. */
export type StartResult =
  | {
      /** It started and said it is ready. */
      ok: true;
      /** The service's name. */
      name: string;
      /** The daemon's pid (the supervisor's with `restart`). */
      pid: number;
      /** Its PID file. */
      pidFile: string;
    }
  | {
      /** It did not start (nothing of it is left running). */
      ok: false;
      /** The service's name. */
      name: string;
      /** 1: failed to start; 2: invalid options; 3: already running. */
      code: 1 | 2 | 3;
      /** One line: what went wrong and what to do. */
      message: string;
      /** The program's last output before it failed ('' when none). */
      tail: string;
    };

/**
 * Starts `options.command` as a service, as `daemonkit start` does: resolves once the program
 * is ready (or failed). Failures are results, not exceptions.
 */
export async function start(options: ServiceOptions): Promise<StartResult> {
  // Named in messages before the options are resolved: as --name, or the program's name.
  const name = options.name ?? (Array.isArray(options.command) && typeof options.command[0] === 'string' ? basename(options.command[0]) : 'daemonkit');
  let resolved;
  try {
    resolved = resolveService(options);
    if (options.pidFile === undefined) ensureDirectory(dirname(resolved.plan.pidFile!), '--pid-file');
    if (options.logFile === undefined) ensureDirectory(dirname(resolved.plan.stdoutPath!), '--log-file');
  } catch (err) {
    return failure(resolved?.plan.name ?? name, err, '');
  }
  const { plan, command } = resolved;
  const before = { state: readStateText(plan.pidFile!), log: plan.stdoutPath !== undefined && existsSync(plan.stdoutPath) };
  const result = await launch(plan, command);
  if (!result.ok) {
    // Past the lock, no other instance exists: what is there is this start's to take back.
    if (result.step !== 'lock') undoSupervisor(plan.name, plan.pidFile!, plan.stdoutPath, before);
    return failure(plan.name, result.error, result.tail);
  }
  // A supervisor keeps its own state file; a program that is the daemon has this one.
  if (options.restart === undefined || options.restart === 'never') {
    writeState({ name: plan.name, pidFile: plan.pidFile!, logFile: plan.stdoutPath, command: [command.file, ...command.args], pid: result.pid, startedAt: Date.now(), options });
  }
  return { ok: true, name: plan.name, pid: result.pid, pidFile: plan.pidFile! };
}

/**
 * A supervisor that failed to start wrote its state file, and a line into a log file the
 * start may have created: both go, as the launcher's undo takes back what it made. A log the
 * program wrote to stays, for the operator; a state file that was there is put back.
 */
function undoSupervisor(name: string, pidFile: string, logFile: string | undefined, before: { state: string | null; log: boolean }): void {
  const path = stateFileOf(pidFile);
  try {
    if (before.state === null) rmSync(path, { force: true });
    else writeFileSync(path, before.state, { mode: 0o600 });
  } catch {
    // not ours to touch
  }
  if (logFile === undefined || before.log) return;
  try {
    const text = readFileSync(logFile, 'utf8');
    const own = new RegExp(`^\\S+ ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\[\\d+\\]: `);
    if (text.split('\n').every((line) => line === '' || own.test(line))) rmSync(logFile, { force: true });
  } catch {
    // gone already
  }
}

function readStateText(pidFile: string): string | null {
  try {
    return readFileSync(stateFileOf(pidFile), 'utf8');
  } catch {
    return null;
  }
}

export function failure(name: string, err: unknown, tail: string): Extract<StartResult, { ok: false }> {
  const code = err instanceof DaemonizeError ? err.exitCode : 1;
  const bare = err instanceof DaemonizeError && err.bare;
  return { ok: false, name, code, message: `${bare || name === '' ? '' : `${name}: `}${describeError(err)}`, tail };
}
