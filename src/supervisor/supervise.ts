// The supervisor: the daemon of a service started with a restart policy. It holds the PID
// file's lock and the listening sockets across restarts (the port never closes between two
// runs), starts the program as its own child in a session of its own, restarts it per
// policy with a growing delay, gives up on a crash loop, forwards signals, and on stop
// sends the stop signal, then SIGKILL to the program's process group after the timeout.
import { describeError } from '../errors';
import { logEvent, setEventLogName } from '../lifecycle/event-log';
import { spawnChild } from '../os/spawn';
import { programSpawnOptions, type FirstRun } from '../start/supervised-start';
import { ChildWatch } from '../start/child-watch';
import { NotifySocket } from '../start/notify-socket';
import type { Plan } from '../start/options';
import { waitForPort, waitForReady } from '../start/wait-ready';
import type { SupervisorPlan } from './plan';
import { writeState, type ServiceState } from './state-file';
import { getpgid } from '../os/session';
import { endGroup, groupAlive, signalGroup } from './group';
import { constants as osConstants } from 'node:os';

/** What the supervisor holds and whom it tells: from the launcher, or from `daemonkit run`. */
export interface SupervisorIo {
  /** Listening sockets, handed to each run of the program as LISTEN_FDS from fd 3. */
  listeners: number[];
  /** The PID file's locked descriptor, handed to the program after the sockets. */
  lockFd: number | null;
  /**
   * Told READY=1 once the program is first ready, STATUS= on each event and when it never
   * becomes ready, STOPPING=1 on stop: the launcher that waits, or systemd.
   */
  tell(fields: Record<string, string>): void;
  /** Told the program's pid at each start. */
  onProgram?(pid: number): void;
  /**
   * The first run, started with the supervisor by the launcher (docs/design.md, "The
   * supervised start"): adopted instead of started. Without it the supervisor starts it.
   */
  firstProgram?: FirstRun;
}

/**
 * Runs the program until it is stopped, or ends for good: 0 when stopped or ended with a
 * success exit code; 1 on a crash loop or a failed first start; with restart never, the
 * program's own exit code (128 + the signal's number when a signal ended it, as a shell says).
 */
export async function supervise(p: SupervisorPlan, io: SupervisorIo): Promise<number> {
  setEventLogName(p.name);
  const { listeners, lockFd } = io;
  const state: ServiceState = {
    name: p.name,
    pidFile: p.pidFile,
    logFile: p.logFile,
    options: p.options,
    command: [p.file, ...p.args],
    startedAt: Date.now(),
    pid: process.pid,
    pgid: getpgid(),
    programPid: null,
    restarts: 0,
    lastExit: null,
    failed: null,
  };
  const save = () => {
    try {
      writeState(state);
    } catch (err) {
      logEvent(`cannot write the state file: ${describeError(err)}`);
    }
  };
  let current: ChildWatch | null = null;
  let stopSignal: NodeJS.Signals | null = null;
  // A promise per run of the program that settles on stop: a reaction added to a promise
  // that never settles is kept as long as that promise, so one for the supervisor's life
  // kept every run's reactions (about 500 bytes a restart). The last one is dropped here.
  let stopRequested: (signal: NodeJS.Signals) => void = () => {};
  const untilStop = () => new Promise<NodeJS.Signals>((resolve) => (stopSignal !== null ? resolve(stopSignal) : (stopRequested = resolve)));
  for (const signal of new Set(['SIGHUP', 'SIGUSR1', 'SIGUSR2', ...(p.reloadSignal ? [p.reloadSignal] : [])] as NodeJS.Signals[])) {
    process.on(signal, () => {
      if (current !== null && !current.exited) process.kill(current.pid, signal);
    });
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopSignal === null) {
        // The program first, from the handler itself: its stop is what the operator waits for.
        if (current !== null) signalStop(p, current);
        io.tell({ STOPPING: '1', STATUS: `stopping (${signal})` });
      }
      stopSignal ??= signal;
      stopRequested(stopSignal);
    });
  }

  const crashes: number[] = [];
  let consecutive = 0;
  let waiting = true;
  let first = io.firstProgram;
  let leftover: number | null = null;
  // The supervisor's last act: what an ended run left behind gets its stop timeout, then SIGKILL.
  const finish = async (code: number) => {
    if (leftover !== null && (await endGroup(leftover, Date.now() + p.stopTimeout))) logEvent('what the program started did not stop; SIGKILL to its process group');
    return code;
  };
  for (;;) {
    const startedAt = Date.now();
    const stopping = untilStop();
    let notifySocket: NotifySocket | null;
    let child: ChildWatch;
    if (first !== undefined) {
      // Our child already, exec'd: it may even have ended (ChildWatch reaps it at once).
      notifySocket = p.ready === 'notify' ? first.notify : null;
      child = new ChildWatch(first.pid);
      first = undefined;
    } else {
      if (leftover !== null) signalGroup(leftover, 'SIGKILL');
      leftover = null;
      notifySocket = p.ready === 'notify' ? NotifySocket.open(p.credentials) : null;
      try {
        child = start(p, listeners, lockFd, notifySocket);
      } catch (err) {
        notifySocket?.close();
        return giveUp(`cannot start the program: ${describeError(err)}`);
      }
    }
    current = child;
    io.onProgram?.(child.pid);
    state.programPid = child.pid;
    save();
    const error = await readiness(p, child, notifySocket, stopping);
    if (error === null) {
      // The launcher (or systemd) waits for this: READY=1 once the program is ready by its mode.
      io.tell(waiting ? { READY: '1', STATUS: `running (pid ${child.pid})` } : { STATUS: `running (pid ${child.pid}, restart ${state.restarts})` });
      waiting = false;
      logEvent(`program ready (pid ${child.pid})`);
    } else if (waiting && stopSignal === null) {
      await child.kill();
      return giveUp(error);
    } else if (stopSignal === null) {
      // Restarted, and not ready by its mode: a crash like any other.
      logEvent(`program not ready: ${error}`);
      await child.kill();
    }
    const outcome = await Promise.race([child.ended.then(() => 'exited' as const), stopping.then(() => 'stop' as const)]);
    if (outcome === 'stop' || stopSignal !== null) {
      await stopProgram(p, child);
      state.programPid = null;
      save();
      logEvent(`stopped by ${stopSignal}`);
      return 0;
    }
    const status = child.status;
    const how = status === null ? 'ended' : status.signal !== null ? `killed by ${status.signal}` : `exited with code ${status.code}`;
    // What the ended run started gets the stop signal now, and SIGKILL before anything else.
    if (groupAlive(child.pid)) {
      signalGroup(child.pid, p.stopSignal);
      leftover = child.pid;
    }
    state.lastExit = how;
    state.programPid = null;
    const success = status !== null && status.signal === null && p.successExitCodes.includes(status.code ?? -1);
    if (p.restart === 'never' || (success && p.restart === 'on-failure')) {
      logEvent(`program ${how}; not restarted (restart ${p.restart})`);
      save();
      if (p.restart === 'on-failure' || status === null) return finish(0);
      return finish(status.signal !== null ? 128 + (osConstants.signals[status.signal] ?? 0) : (status.code ?? 0));
    }
    const now = Date.now();
    // A run longer than the window was stable: the delay starts over.
    if (now - startedAt >= p.restartWindow) consecutive = 0;
    crashes.push(now);
    while (crashes.length > 0 && now - crashes[0] > p.restartWindow) crashes.shift();
    if (p.maxRestarts !== null && crashes.length > p.maxRestarts) {
      state.failed = `crash loop: ${crashes.length} crashes in ${((now - crashes[0]) / 1000).toFixed(1)} s`;
      save();
      logEvent(`program ${how}; giving up (${state.failed})`);
      return finish(1);
    }
    const delay = Math.min(p.restartDelay * p.backoff ** consecutive, 30_000);
    consecutive++;
    state.restarts = (state.restarts ?? 0) + 1;
    // What a crash loop leaves in the old generation waits for a full collection that a heap
    // this small rarely triggers: one every 64 restarts, about a millisecond (--expose-gc).
    if (state.restarts % 64 === 0) (globalThis as { gc?: () => void }).gc?.();
    logEvent(`program ${how}; restarting${delay > 0 ? ` in ${Math.round(delay)} ms` : ''} (restart ${state.restarts})`);
    io.tell({ STATUS: `program ${how}; restarting (restart ${state.restarts})` });
    save();
    if (delay > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => (timer = setTimeout(r, delay))), stopping]);
      clearTimeout(timer);
      if (stopSignal !== null) {
        logEvent(`stopped by ${stopSignal}`);
        return finish(0);
      }
    }
  }

  function giveUp(reason: string): number {
    state.failed = reason;
    state.programPid = null;
    save();
    logEvent(`program failed to start: ${reason}`);
    if (waiting) io.tell({ STATUS: reason });
    return 1;
  }
}

function start(p: SupervisorPlan, listeners: number[], lockFd: number | null, notifySocket: NotifySocket | null): ChildWatch {
  // stdout and stderr: ours, the log file. The lock after the sockets, as from the launcher.
  // A session of its own: stop kills its process group, with whatever it started.
  const options = programSpawnOptions(p, { sockets: listeners.length, fds: lockFd === null ? listeners : [...listeners, lockFd], stdout: 1, stderr: 2, notifyAddress: notifySocket?.address ?? null });
  return new ChildWatch(spawnChild(p.file, options));
}

/** null once the program is ready by its mode; else why not (it ended, or took too long). */
async function readiness(p: SupervisorPlan, child: ChildWatch, notifySocket: NotifySocket | null, stopping: Promise<NodeJS.Signals>): Promise<string | null> {
  const plan = { readyTimeout: p.readyTimeout, rlimits: [] } as unknown as Plan;
  try {
    if (typeof p.ready === 'object') await waitForPort(plan, child, p.ready, stopping);
    else if (notifySocket !== null) await waitForReady(plan, child, notifySocket, stopping);
    return null;
  } catch (err) {
    return describeError(err);
  }
}

const signalled = new WeakSet<ChildWatch>();

/** The stop signal to the program's whole process group, once per run. */
function signalStop(p: SupervisorPlan, child: ChildWatch): void {
  if (child.exited || signalled.has(child)) return;
  signalled.add(child);
  try {
    // Its whole process group (a session of its own: its pid), as systemd's default
    // KillMode=control-group: what it started may hold the lock too. Once: a second TERM
    // means "now" to many programs (daemonkit's own shutdown among them).
    process.kill(-child.pid, p.stopSignal);
  } catch {
    // gone
  }
}

async function stopProgram(p: SupervisorPlan, child: ChildWatch): Promise<void> {
  const deadline = Date.now() + p.stopTimeout;
  if (!child.exited) {
    signalStop(p, child);
    if (!(await child.wait(p.stopTimeout))) {
      logEvent(`program did not stop within ${p.stopTimeout} ms; SIGKILL to its process group`);
      signalGroup(child.pid, 'SIGKILL');
      await child.wait(5000);
    }
  }
  // The program has ended; what it started gets the rest of the timeout, then SIGKILL.
  if (await endGroup(child.pid, deadline)) logEvent(`what the program started did not stop within ${p.stopTimeout} ms; SIGKILL to its process group`);
}
