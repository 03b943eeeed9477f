// restart(): stop, then start again with the options the service was started with (kept in
// its state file), the way it was started: same program, flags and environment file.
import { OptionError } from '../errors';
import { readState } from '../supervisor/state-file';
import { resolveService, type ServiceOptions } from './service-options';
import { start, type StartResult } from './start';
import { stop, type StopResult } from './stop';

/**
 * Restarts a service as `daemonkit restart` does: stop(), then start() with the options it was
 * started with. `options`, when given (a config file read again), replace those it was started
 * with; a service that is not running is then simply started.
 */
export async function restart(pidFile: string, name?: string, options?: ServiceOptions): Promise<{
  /** How the stop went: not started again unless its code is 0. */
  stopped: StopResult;
  /** How the new start went. */
  started: StartResult;
}> {
  const state = readState(pidFile);
  if (options === undefined && (state === null || typeof state.options !== 'object' || state.options === null)) {
    throw new OptionError(`no service named '${name ?? pidFile}' that daemonkit started (no state file beside ${pidFile}); start it with daemonkit start`);
  }
  options ??= state!.options as ServiceOptions;
  if (state === null) return { stopped: { code: 0, message: `${name ?? pidFile} was not running` }, started: await start(options) };
  // Checked before anything stops: an env file gone since, say, would leave it down.
  resolveService(options);
  const stopped = await stop({ pidFile, name: state.name });
  if (stopped.code !== 0) return { stopped, started: { ok: false, name: state.name, code: 1, message: `${state.name}: not started again: it did not stop`, tail: '' } };
  return { stopped, started: await start(options) };
}
