// The supervised start (docs/design.md, "The supervised start"): one native spawn starts the
// supervisor and the first run of its program, so that their two Node boots run side by side
// instead of one after the other. The daemon (the supervisor to be) forks the program before
// its own steps: the program is its child from its first instruction, in a session of its
// own, with its own pre-exec steps. The supervisor learns the program's pid from
// DAEMONKIT_PROGRAM_PID (written by the daemon after that fork, as LISTEN_PID is) and the
// first run's NOTIFY_SOCKET from DAEMONKIT_FIRST_RUN: the launcher binds that socket before the
// fork, so a READY=1 sent at once is not lost, and hands its descriptor over after the lock.
import type { Rlimit } from '../os/rlimit';
import { setCloseOnExec } from '../os/fd';
import { reap, type ChildSpawnOptions } from '../os/spawn';
import { activationEnv } from './activation';
import { NotifySocket } from './notify-socket';

export const PROGRAM_PID_ENV = 'DAEMONKIT_PROGRAM_PID';
export const FIRST_RUN_ENV = 'DAEMONKIT_FIRST_RUN';

/** A supervisor's program: what each of its runs is started with. */
export interface ProgramCommand {
  file: string;
  args: readonly string[];
  /** Its whole environment, without the protocol's variables. */
  env: Readonly<Record<string, string>>;
  cwd: string;
  umask: number;
  credentials?: { uid: number; gid: number; groups: readonly number[] };
  rlimits: Readonly<Record<string, Rlimit>>;
  noNewPrivileges: boolean;
  ready: 'notify' | 'exec' | { host: string; port: number };
}

/** The first run, as the supervisor adopts it. */
export interface FirstRun {
  pid: number;
  /** The NOTIFY_SOCKET it was given (ready notify), bound by the launcher. */
  notify: NotifySocket | null;
}

interface FirstRunHandoff {
  notifyFd: number | null;
  notifyAddress: string | null;
  notifyDir: string | null;
}

/**
 * The options of one run of the program, the same for the launcher's first run and the
 * supervisor's later ones: the sockets from fd 3 then the lock (`fds`), LISTEN_PID its own,
 * stdout and stderr the log, and a session of its own (stop kills its process group).
 */
export function programSpawnOptions(program: ProgramCommand, io: { sockets: number; fds: readonly number[]; stdout?: number; stderr?: number; notifyAddress: string | null }): ChildSpawnOptions {
  const env: Record<string, string> = { ...program.env, ...(io.sockets > 0 ? activationEnv(io.sockets) : {}) };
  if (io.notifyAddress !== null) env.NOTIFY_SOCKET = io.notifyAddress;
  return {
    args: program.args,
    env,
    cwd: program.cwd,
    umask: program.umask,
    stdout: io.stdout,
    stderr: io.stderr,
    fds: io.fds,
    rlimits: program.rlimits,
    credentials: program.credentials,
    noNewPrivileges: program.noNewPrivileges,
    listenPid: io.sockets > 0,
    setsid: true,
  };
}

/** The supervisor's variable that says where the first run's notify socket is (fd `fd`). */
export function firstRunEnv(notify: NotifySocket | null, fd: number | null): Record<string, string> {
  const handoff: FirstRunHandoff = { notifyFd: notify === null ? null : fd, notifyAddress: notify?.address ?? null, notifyDir: notify?.dir ?? null };
  return { [FIRST_RUN_ENV]: JSON.stringify(handoff) };
}

/**
 * In the supervisor: the first run the launcher started with it, or undefined when it did
 * not (`daemonkit run`, which starts every run itself). The variables are removed either way.
 */
export function takeFirstRun(env: NodeJS.ProcessEnv = process.env): FirstRun | undefined {
  const pid = Number(env[PROGRAM_PID_ENV]);
  const text = env[FIRST_RUN_ENV];
  delete env[PROGRAM_PID_ENV];
  delete env[FIRST_RUN_ENV];
  if (text === undefined || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const handoff = JSON.parse(text) as FirstRunHandoff;
  if (handoff.notifyFd === null || handoff.notifyAddress === null) return { pid, notify: null };
  // Ours only: later runs get sockets of their own.
  setCloseOnExec(handoff.notifyFd);
  return { pid, notify: NotifySocket.adopt(handoff.notifyFd, handoff.notifyAddress, handoff.notifyDir) };
}

/**
 * After a failed start, once the supervisor is gone: its program, if it outlived it, is ours
 * now (the launcher is the subreaper); its process group is killed and it is reaped. One the
 * supervisor reaped is not our child (ECHILD), and is never signalled.
 */
export async function killOrphanedProgram(pid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let killed = false;
  for (;;) {
    try {
      if (reap(pid) !== null) return;
    } catch {
      return; // not ours: reaped by the supervisor, or we are no subreaper
    }
    if (!killed) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        process.kill(pid, 'SIGKILL');
      }
      killed = true;
    }
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}
