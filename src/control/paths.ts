// Where services live by default: their PID files (and state) in the run directory, their
// logs in the log directory. As root /run/daemonkit and /var/log/daemonkit; otherwise
// $XDG_RUNTIME_DIR/daemonkit (or ~/.local/state/daemonkit/run without one) and
// ~/.local/state/daemonkit. DAEMONKIT_RUN_DIR and DAEMONKIT_LOG_DIR choose others. Never a
// directory anyone may write: another user could put a
// link where a PID file or log is about to be opened.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StartError } from '../errors';

/**
 * Where services keep their PID and state files unless told: $DAEMONKIT_RUN_DIR, else as root
 * /run/daemonkit, else $XDG_RUNTIME_DIR/daemonkit or ~/.local/state/daemonkit/run.
 */
export function defaultRunDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DAEMONKIT_RUN_DIR) return env.DAEMONKIT_RUN_DIR;
  if (process.geteuid?.() === 0) return '/run/daemonkit';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'daemonkit');
  return join(homedir(), '.local', 'state', 'daemonkit', 'run');
}

/** Where services log unless told: $DAEMONKIT_LOG_DIR, else /var/log/daemonkit as root, else ~/.local/state/daemonkit. */
export function defaultLogDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DAEMONKIT_LOG_DIR) return env.DAEMONKIT_LOG_DIR;
  if (process.geteuid?.() === 0) return '/var/log/daemonkit';
  return join(homedir(), '.local', 'state', 'daemonkit');
}

/** Makes `dir` (and its parents) if missing, and refuses one that anybody may write. */
export function ensureDirectory(dir: string, option: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new StartError(`cannot create ${dir} (${option}): ${(err as Error).message}; create it, or give ${option}`);
  }
  const st = statSync(dir);
  if (!st.isDirectory()) throw new StartError(`${dir} is not a directory (${option}); give another ${option}`);
  if ((st.mode & 0o002) !== 0) {
    throw new StartError(`${dir} may be written by anybody (mode ${(st.mode & 0o7777).toString(8)}) (${option}); use a directory only the service's owner may write`);
  }
}

/**
 * Where the service NAME keeps its PID file: NAME.pid in the run directory, or
 * NAME/NAME.pid for a unit that runs as its user (`daemonkit unit --user`: a
 * RuntimeDirectory= of its own, the only place that user may write under /run/daemonkit).
 */
export function pidFileOf(name: string, runDir: string = defaultRunDir()): string {
  const flat = join(runDir, `${name}.pid`);
  if (existsSync(flat) || existsSync(join(runDir, `${name}.json`))) return flat;
  const own = join(runDir, name, `${name}.pid`);
  return existsSync(own) || existsSync(join(runDir, name, `${name}.json`)) ? own : flat;
}
