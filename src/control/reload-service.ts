// reloadService(): what --reload chose at start (kept in the state file): a signal to the
// daemon (SIGHUP by default; a supervisor forwards it to the program), or a restart.
import { readState } from '../supervisor/state-file';
import { restart } from './restart';
import { reloadAction, type ServiceOptions } from './service-options';
import type { StartResult } from './start';
import { serviceStatus } from './status';
import type { StopResult } from './stop';

/** What reloadService() did: sent a signal, restarted the service, or nothing. */
export type ReloadResult =
  | {
      /** A signal was sent. */
      how: 'signal';
      /** The service's name. */
      name: string;
      /** The signal sent (SIGHUP unless the service was started with another). */
      signal: NodeJS.Signals;
      /** The pid it was sent to. */
      pid: number;
    }
  | {
      /** The service was started with reload 'restart', and was restarted. */
      how: 'restart';
      /** How the stop went. */
      stopped: StopResult;
      /** How the new start went. */
      started: StartResult;
    }
  | {
      /** Nothing was done. */
      how: 'not running';
      /** The service's name. */
      name: string;
      /** 1: it is not running; 2: no such service. */
      code: 1 | 2;
      /** One line for a person. */
      message: string;
    };

/**
 * Reloads a running service as `daemonkit reload` does, the way it was started to be reloaded:
 * a signal (SIGHUP by default; a supervisor forwards it to the program) or a restart.
 */
export async function reloadService(pidFile: string, name?: string): Promise<ReloadResult> {
  const s = serviceStatus(pidFile, name);
  if (s.state !== 'running' || s.pid === null) {
    return { how: 'not running', name: s.name, code: s.code === 4 ? 2 : 1, message: `${s.name} is not running: nothing to reload (${s.state}); start it with daemonkit start` };
  }
  const action = reloadAction((readState(pidFile)?.options as ServiceOptions | undefined)?.reload);
  if (action === 'restart') return { how: 'restart', ...(await restart(pidFile, name)) };
  process.kill(s.pid, action);
  return { how: 'signal', name: s.name, signal: action, pid: s.pid };
}
