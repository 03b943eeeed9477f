// Graceful shutdown: SIGTERM or SIGINT (or requestShutdown(), or an uncaught error after
// ready) runs the shutdown hooks, last registered first, each awaited, under one deadline.
// A hook that hangs past the deadline, or a second signal, ends the process at once with a
// non-zero code. The PID file is released last, just before exit.
import { errorText, logEvent } from './event-log';
import { addHook, type ShutdownHook } from './hooks';
import { processState } from './state';
import { monotonicMs } from './clock';
import { tellSystemd } from './notify';
import { validateInteger, validateString } from '../os/validate';

/** The deadline and error exit code of the shutdown path, for configureShutdown(). */
export interface ShutdownOptions {
  /** Milliseconds for all hooks together (default 10 000). */
  timeout?: number;
  /** Exit code after an uncaught exception or unhandled rejection (default 1). */
  errorExitCode?: number;
}

// Process-wide: it outlives a module reset (see state.ts).
const state = processState.shutdown;

/** Sets the deadline and the exit code for uncaught errors (daemonize() passes its options). */
export function configureShutdown(options: ShutdownOptions): void {
  if (options.timeout !== undefined) state.timeoutMs = validateInteger(options.timeout, 'timeout', 1, 2 ** 31 - 1);
  if (options.errorExitCode !== undefined) state.errorExitCode = validateInteger(options.errorExitCode, 'errorExitCode', 1, 255);
}

/**
 * Registers a hook for the shutdown path and starts handling SIGTERM and SIGINT. Hooks run
 * last-registered first; a returned promise is awaited. Returns a function that unregisters it.
 */
export function onShutdown(fn: ShutdownHook, name?: string): () => void {
  const remove = addHook(state.hooks, fn, name);
  handleShutdownSignals();
  return remove;
}

/**
 * Starts the shutdown path from code (an admin endpoint, a fatal condition). `reason` is
 * logged; the process exits with `code` when the hooks are done. Later calls while
 * stopping are ignored.
 */
export function requestShutdown(reason = 'requested', code = 0): void {
  validateString(reason, 'reason');
  validateInteger(code, 'exitCode', 0, 255);
  if (state.stopping) return;
  void runShutdown(reason, code);
}

/** True once the shutdown path has started. */
export function isStopping(): boolean {
  return state.stopping;
}

/** Internal: a step after the hooks and the "stopped" line, right before exit. */
export function atFinalExit(step: () => void): void {
  state.finalSteps.push(step);
}

/** SIGTERM and SIGINT start the shutdown path; a second one during it exits at once. */
export function handleShutdownSignals(): void {
  if (state.signalsHandled) return;
  state.signalsHandled = true;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (!state.stopping) return void runShutdown(signal, 0);
      logEvent(`${signal} again during shutdown: exiting now`);
      exitNow(1);
    });
  }
}

/**
 * After ready: an uncaught exception or unhandled rejection is logged with its stack and
 * starts the shutdown path with errorExitCode. Only an 'uncaughtException' listener is
 * installed: in Node's default mode an unhandled rejection arrives there too (origin
 * 'unhandledRejection'), and everything a program can do about either keeps working as in
 * plain Node: its own 'unhandledRejection' listener handles rejections, its own
 * 'uncaughtException' listener (ours is the other one) keeps it running, and
 * --unhandled-rejections=warn keeps rejections from being fatal.
 */
export function handleFatalErrors(): void {
  state.errorsHandled = true;
  listenForErrors();
}

/**
 * Before ready: the same errors end the process with exit code 1 at once, as Node's default
 * does, but logged as one event (the stack prefixed line by line) rather than printed raw,
 * so that the log keeps one format; the launcher then shows its last lines.
 */
export function handleErrorsBeforeReady(): void {
  listenForErrors();
}

function listenForErrors(): void {
  if (state.errorListener) return;
  state.errorListener = true;
  process.on('uncaughtException', (err, origin) => {
    if (process.listenerCount('uncaughtException') > 1) return;
    const kind = origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception';
    if (!state.errorsHandled) {
      logEvent(`${kind} before ready: ${errorText(err)}`);
      exitNow(1);
    }
    logEvent(`${kind}: ${errorText(err)}`);
    // During the shutdown, the error is one more reason for a non-zero code, not a reason to
    // cut the other hooks (and the requests they drain) short: the deadline still bounds it.
    if (state.stopping) state.exitCode = state.errorExitCode;
    else void runShutdown(kind, state.errorExitCode);
  });
}

/** Internal: reload.ts reports a reload in progress, which the shutdown lets finish first. */
export function setReloadInProgress(reload: Promise<unknown> | null): void {
  state.reloading = reload;
}

/**
 * During a shutdown, the milliseconds left before the forced exit (closeServer() uses it for
 * its own default, so that it forces connections before the whole process is forced out).
 * Null when not stopping.
 */
export function shutdownTimeLeft(): number | null {
  return state.stopping ? Math.max(0, state.deadlineAt - nowMs()) : null;
}

// CLOCK_MONOTONIC, like the timers: a wall-clock step must not move the deadline. (Not
// performance.now(): its first use loads perf_hooks, ~1.5 ms on the way out.)
const nowMs = monotonicMs;
const since = (t0: number) => Math.round(nowMs() - t0);

async function runShutdown(reason: string, code: number): Promise<void> {
  state.stopping = true;
  state.exitCode = code;
  const started = nowMs();
  state.deadlineAt = started + state.timeoutMs;
  logEvent(`stopping (${reason})`);
  tellSystemd({ STOPPING: '1', STATUS: `stopping (${reason})` });
  let current: string | null = null;
  // Referenced: a hook awaiting something that can never happen must not let the event loop
  // run dry and exit 0 as if the shutdown had worked.
  const deadline = setTimeout(() => {
    const forced = state.exitCode || 1;
    const what = current === null ? 'the reload in progress' : `shutdown hook '${current}'`;
    logEvent(`${what} did not finish within ${state.timeoutMs} ms (shutdownTimeout); exiting with code ${forced}`);
    exitNow(forced);
  }, state.timeoutMs);
  if (state.reloading !== null) {
    logEvent('waiting for the reload in progress');
    await state.reloading.catch(() => undefined);
  }
  for (const hook of [...state.hooks].reverse()) {
    current = hook.name;
    const t0 = nowMs();
    try {
      await hook.fn(reason);
      logEvent(`shutdown hook '${hook.name}' done in ${since(t0)} ms`);
    } catch (err) {
      logEvent(`shutdown hook '${hook.name}' failed after ${since(t0)} ms: ${errorText(err)}`);
      state.exitCode ||= 1;
    }
  }
  clearTimeout(deadline);
  logEvent(`stopped in ${since(started)} ms (exit code ${state.exitCode})`);
  exitNow(state.exitCode);
}

function exitNow(code: number): never {
  for (const step of state.finalSteps.splice(0)) {
    try {
      step();
    } catch (err) {
      logEvent(`while exiting: ${errorText(err)}`);
    }
  }
  process.exit(code);
}
