// Reload without a restart: SIGHUP (or reload()) runs the reload hooks in registration order,
// in the same process, keeping the pid and the listening sockets. systemd is told RELOADING=1
// with MONOTONIC_USEC= before the hooks and READY=1 after, which Type=notify-reload needs.
// A hook that fails is logged and ends this reload: the daemon keeps serving with what it
// had (a hook should only swap in new state once it has fully built it).
import { errorText, logEvent } from './event-log';
import { processState } from './state';
import { addHook, type ReloadHook } from './hooks';
import { isStopping, setReloadInProgress } from './shutdown';
import { monotonicMs, monotonicUsec } from './clock';
import { tellSystemd } from './notify';

// Process-wide: it outlives a module reset (see state.ts).
const state = processState.reload;

/** Registers a reload hook and starts handling SIGHUP. Returns a function that unregisters it. */
export function onReload(fn: ReloadHook, name?: string): () => void {
  const remove = addHook(state.hooks, fn, name);
  handleReloadSignal();
  return remove;
}

/**
 * Runs the reload hooks; resolves true when all succeeded. A request during a reload runs
 * once more after it (requests in the meantime share that run). Ignored while stopping.
 */
export function reload(): Promise<boolean> {
  if (isStopping()) {
    logEvent('reload ignored: stopping');
    return Promise.resolve(false);
  }
  if (state.running === null) {
    state.running = runReload().finally(() => {
      state.running = null;
      setReloadInProgress(state.queued);
    });
    setReloadInProgress(state.running);
    return state.running;
  }
  state.queued ??= state.running.then(() => {
    state.queued = null;
    return reload();
  });
  setReloadInProgress(state.queued);
  return state.queued;
}

/** SIGHUP runs reload(); without this, Node's default for SIGHUP is to exit. */
export function handleReloadSignal(): void {
  if (state.signalHandled) return;
  state.signalHandled = true;
  process.on('SIGHUP', () => void reload());
}

async function runReload(): Promise<boolean> {
  // One tick first, so reload() has registered this run before any hook can start a
  // shutdown (which must then wait for it).
  await undefined;
  const started = monotonicMs();
  logEvent('reloading');
  tellSystemd({ RELOADING: '1', MONOTONIC_USEC: String(monotonicUsec()) });
  for (const hook of state.hooks) {
    // A shutdown that began meanwhile waits for this reload: finish it quickly, and do not
    // tell systemd READY=1 after STOPPING=1.
    if (isStopping()) {
      logEvent('reload cut short: stopping');
      return false;
    }
    const t0 = monotonicMs();
    try {
      await hook.fn();
      logEvent(`reload hook '${hook.name}' done in ${Math.round(monotonicMs() - t0)} ms`);
    } catch (err) {
      logEvent(`reload hook '${hook.name}' failed, still running with the previous state: ${errorText(err)}`);
      const first = err instanceof Error ? err.message.split('\n')[0] : String(err);
      if (!isStopping()) tellSystemd({ READY: '1', STATUS: `reload failed: ${first}` });
      return false;
    }
  }
  if (isStopping()) {
    logEvent('reload cut short: stopping');
    return false;
  }
  logEvent(`reloaded in ${Math.round(monotonicMs() - started)} ms`);
  tellSystemd({ READY: '1' });
  return true;
}
