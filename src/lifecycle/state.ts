// State that belongs to the process, not to one evaluation of the library. The package has
// one build (dist/index.mjs re-exports dist/index.js), but the library can still be
// evaluated twice in one process: after a test runner's module reset (vi.resetModules(),
// jest.resetModules()), or as two installed copies in one dependency tree. The signal
// handlers it guards outlive such a reset, so the hooks, log files and watchdog must too, or
// a hook registered through one copy would never run when the other handles SIGTERM. The key
// names the layout: bump it with any change to ProcessState (a field added, removed or
// changing meaning), so two versions with different layouts keep separate state instead of
// misreading each other's.
import type { ReloadHook, ShutdownHook } from './hooks';

const KEY = Symbol.for('daemonkit.process-state.v2');

export interface LogTarget {
  /** The path to reopen (inside the chroot when there is one), or null if unreachable. */
  path: string | null;
  /** The path as configured, for messages. */
  shown: string;
  fds: (1 | 2)[];
}

export interface ProcessState {
  shutdown: {
    hooks: { fn: ShutdownHook; name: string }[];
    finalSteps: (() => void)[];
    timeoutMs: number;
    errorExitCode: number;
    stopping: boolean;
    exitCode: number;
    deadlineAt: number;
    reloading: Promise<unknown> | null;
    signalsHandled: boolean;
    /** Ready: uncaught errors start the shutdown (before, they end the process). */
    errorsHandled: boolean;
    errorListener: boolean;
  };
  reload: {
    hooks: { fn: ReloadHook; name: string }[];
    running: Promise<boolean> | null;
    queued: Promise<boolean> | null;
    signalHandled: boolean;
  };
  logFiles: { targets: LogTarget[]; signalHandled: boolean };
  eventLog: { name: string | undefined };
  watchdog: { timer: NodeJS.Timeout | null; intervalUsec: number | null };
}

function fresh(): ProcessState {
  return {
    shutdown: {
      hooks: [],
      finalSteps: [],
      timeoutMs: 10_000,
      errorExitCode: 1,
      stopping: false,
      exitCode: 0,
      deadlineAt: 0,
      reloading: null,
      signalsHandled: false,
      errorsHandled: false,
      errorListener: false,
    },
    reload: { hooks: [], running: null, queued: null, signalHandled: false },
    logFiles: { targets: [], signalHandled: false },
    eventLog: { name: undefined },
    watchdog: { timer: null, intervalUsec: null },
  };
}

const holder = globalThis as typeof globalThis & { [KEY]?: ProcessState };

/** The one state of this process, created by whichever copy of the library loads first. */
export const processState: ProcessState = (holder[KEY] ??= fresh());
