// reloadService(): what --reload chose at start (kept in the state file): a signal to the
// daemon (SIGHUP by default; a supervisor forwards it to the program), or a restart.
import { readState } from '../supervisor/state-file';
import { restart } from './restart';
import { reloadAction, type ServiceOptions } from './service-options';
import type { StartResult } from './start';
import { serviceStatus } from './status';
import type { StopResult } from './stop';

export type ReloadResult =
  | { how: 'signal'; name: string; signal: NodeJS.Signals; pid: number }
  | { how: 'restart'; stopped: StopResult; started: StartResult }
  | { how: 'not running'; name: string; code: 1 | 2; message: string };

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
