// systemd's watchdog (WatchdogSec=, sd_watchdog_enabled(3)): while WATCHDOG_USEC is set for
// this process, send WATCHDOG=1 at half the interval. The keep-alive comes from a plain
// event-loop timer on purpose: if the loop stalls (a busy loop, a deadlock in a native call),
// the pings stop and systemd restarts the service, which is the point of a watchdog.
import { processState } from './state';
import { tellSystemd } from './notify';

// Process-wide: it outlives a module reset (see state.ts).
const state = processState.watchdog;

// Half the interval, as sd_watchdog_enabled(3) advises. setInterval takes at most 2^31-1 ms
// (~24.8 days); beyond, Node would silently use 1 ms.
const pingEveryMs = (usec: number) => Math.min(2 ** 31 - 1, Math.max(1, usec / 2000));

/**
 * Starts the keep-alive if systemd asked for one (WATCHDOG_USEC set, and WATCHDOG_PID unset
 * or this process). Removes both variables so children do not ping on our behalf. Returns the
 * ping interval in ms, or null when there is no watchdog. Idempotent.
 */
export function startWatchdog(): number | null {
  if (state.timer !== null) return pingEveryMs(state.intervalUsec!);
  const env = process.env;
  if (state.intervalUsec === null) {
    const usec = Number(env.WATCHDOG_USEC);
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0 || !forUs) return null;
    state.intervalUsec = usec;
    delete env.WATCHDOG_USEC;
    delete env.WATCHDOG_PID;
  }
  const everyMs = pingEveryMs(state.intervalUsec);
  const ping = () => tellSystemd({ WATCHDOG: '1' });
  ping();
  // unref: the watchdog alone must not keep a finished program alive.
  state.timer = setInterval(ping, everyMs).unref();
  return everyMs;
}

/** Stops the keep-alive (systemd will restart the service if the watchdog is still armed). */
export function stopWatchdog(): void {
  if (state.timer !== null) clearInterval(state.timer);
  state.timer = null;
}
