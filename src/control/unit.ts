// `daemonkit unit`: a systemd service that runs the service under `daemonkit run`, the
// supervisor in the foreground. systemd starts, stops and limits run (Type=notify: run says
// READY=1 once the program is ready); run starts, restarts and stops the program as a
// started service's supervisor would. Options are checked by resolveService(), as start
// checks them: what start refuses, unit refuses. The directives are those of
// systemd.service(5), systemd.exec(5) and systemd.kill(5).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { OptionError } from '../errors';
import { lookupGroup } from '../os/identity';
import { resolveRlimit } from '../os/rlimit';
import { shown } from '../start/options';
import { reloadAction, resolveService, type ServiceOptions } from './service-options';

/** The programs a unit's ExecStart= names, for systemdUnit(). */
export interface UnitPaths {
  /** The Node.js binary ExecStart= runs (default: process.execPath). */
  node?: string;
  /** The daemonkit command, dist/cli.js (default: the one beside this library). */
  cli?: string;
}

// A system unit: run's run directory as root, whoever writes the unit.
const RUN_DIR = '/run/daemonkit';
// systemd waits this much longer than run itself, so that run's own timeout (and its
// SIGKILL of the program's group) comes first and systemd's is only the backstop.
const MARGIN_MS = 5000;

// rlimit names (src/os/rlimit.ts) to systemd.exec(5)'s "Process Properties" table. A plain
// number means the rlimit's own unit in each: seconds for CPU, microseconds for RTTIME, the
// raw 0..40 value for NICE.
const LIMITS: Record<string, string> = {
  as: 'LimitAS', core: 'LimitCORE', cpu: 'LimitCPU', data: 'LimitDATA', fsize: 'LimitFSIZE', locks: 'LimitLOCKS',
  memlock: 'LimitMEMLOCK', msgqueue: 'LimitMSGQUEUE', nice: 'LimitNICE', nofile: 'LimitNOFILE', nproc: 'LimitNPROC',
  rss: 'LimitRSS', rtprio: 'LimitRTPRIO', rttime: 'LimitRTTIME', sigpending: 'LimitSIGPENDING', stack: 'LimitSTACK',
};

/**
 * The text of a systemd service unit (Type=notify) that runs `options` under `daemonkit run`,
 * as `daemonkit unit` prints it. Throws DaemonizeError for options start() would refuse.
 */
export function systemdUnit(options: ServiceOptions, how: UnitPaths = {}): string {
  // run supervises unless told --restart never: its options are checked as a supervised
  // start's are. Limits are not compared with this process's own: systemd sets them.
  const restart = options.restart ?? 'on-failure';
  resolveService({ ...options, restart: restart === 'never' ? 'on-failure' : restart, rlimits: undefined });
  const { plan, command } = resolveService({ ...options, restart: 'never' });
  const name = plan.name;
  const user = plan.credentials;
  // With User=, run cannot write in root's run directory: systemd makes one for the service
  // and gives its innermost directory to the user (RuntimeDirectory=, systemd.exec(5)).
  const pidFile = options.pidFile !== undefined ? plan.pidFile! : user ? `${RUN_DIR}/${name}/${name}.pid` : `${RUN_DIR}/${name}.pid`;
  const logFile = options.logFile === undefined ? undefined : plan.stdoutPath!;
  const stopTimeout = options.stopTimeout ?? 10_000;
  const reload = reloadAction(options.reload);
  const listen = (options.listen ?? []).map((spec) => (spec.startsWith('.') ? resolve(spec) : spec));
  const socketPaths = plan.listen.flatMap((l) => (l.kind === 'unix' && !l.path.startsWith('@') ? [l.path] : []));
  const envFile = options.envFile === undefined ? undefined : resolve(options.envFile);
  const umask = options.umask === undefined ? undefined : plan.umask.toString(8).padStart(4, '0');

  const run = [
    how.node ?? process.execPath, '--', how.cli ?? cliEntry(), 'run', '--name', name, '--pid-file', pidFile,
    ...flag('--log-file', logFile),
    // Also given to run, which would otherwise use start's defaults ('/' and 022) for the program.
    ...flag('--cwd', options.cwd === undefined ? undefined : plan.cwd),
    ...flag('--umask', umask),
    ...listen.flatMap((spec) => ['--listen', spec]),
    ...flag('--ready', options.ready),
    ...flag('--ready-timeout', options.readyTimeout === undefined ? undefined : seconds(options.readyTimeout)),
    '--restart', restart,
    ...flag('--restart-delay', options.restartDelay === undefined ? undefined : Number.isInteger(options.restartDelay) ? String(options.restartDelay) : `${options.restartDelay}ms`),
    ...flag('--backoff', options.backoff === undefined ? undefined : String(options.backoff)),
    ...flag('--max-restarts', options.maxRestarts === undefined ? undefined : String(options.maxRestarts)),
    ...flag('--restart-window', options.restartWindow === undefined ? undefined : seconds(options.restartWindow)),
    ...flag('--success-exit-codes', options.successExitCodes?.join(',')),
    '--stop-signal', signalName(options.stopSignal ?? 'TERM'),
    '--stop-timeout', seconds(stopTimeout),
    ...flag('--reload', options.reload),
    '--', command.file, ...command.args,
  ];

  const writable = [
    // The run directory exists once RuntimeDirectory= made it; a directory given by path may
    // not, and "-" lets the service start and run say which one it could not create.
    options.pidFile !== undefined ? `-${dirname(pidFile)}` : user ? `${RUN_DIR}/${name}` : RUN_DIR,
    ...(logFile === undefined ? [] : [`-${dirname(logFile)}`]),
    ...socketPaths.map((p) => `-${dirname(p)}`),
  ];
  const used = [run[0], run[2], command.file, plan.cwd, envFile, pidFile, logFile, ...socketPaths];
  const privilegedPort = plan.listen.some((l) => l.kind === 'tcp' && l.port > 0 && l.port < 1024);

  const lines = [
    `# ${name}.service, written by daemonkit unit: install it as /etc/systemd/system/${name}.service`,
    '[Unit]',
    `Description=${raw(`daemonkit: ${name}`)}`,
    'After=network.target',
    '',
    '[Service]',
    'Type=notify',
    `ExecStart=${run.map((w) => word(w, true)).join(' ')}`,
    ...(reload === 'restart' ? [] : [`ExecReload=/bin/kill -${reload.replace(/^SIG/, '')} $MAINPID`]),
    `Restart=${restart === 'never' ? 'no' : 'on-failure'}`,
    // systemd signals run alone; run stops the program's group in its own time (above).
    'KillMode=mixed',
    `TimeoutStopSec=${timeSpan(stopTimeout + MARGIN_MS)}`,
    ...(options.readyTimeout === undefined ? [] : [`TimeoutStartSec=${timeSpan(options.readyTimeout + MARGIN_MS)}`]),
    `SyslogIdentifier=${name}`,
    ...(user ? [`User=${raw(user.user)}`, `Group=${raw(groupName(options.group, user.gid))}`] : []),
    // run binds the sockets before the program starts, as the unit's user when it has one.
    ...(user && privilegedPort ? ['AmbientCapabilities=CAP_NET_BIND_SERVICE', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE'] : []),
    ...(options.pidFile === undefined ? [`RuntimeDirectory=daemonkit${user ? `/${name}` : ''}`] : []),
    // Shared with every other root service's PID file: systemd must not remove it at stop.
    ...(options.pidFile === undefined && !user ? ['RuntimeDirectoryPreserve=yes'] : []),
    ...(options.cwd === undefined ? [] : [`WorkingDirectory=${raw(plan.cwd)}`]),
    ...(umask === undefined ? [] : [`UMask=${umask}`]),
    ...(envFile === undefined ? [] : [`EnvironmentFile=${raw(envFile)}`]),
    ...environment(options.env).map(([k, v]) => `Environment=${word(`${k}=${v}`, false)}`),
    ...limits(plan.rlimits),
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    // yes hides /home, /root and /run/user; read-only when the service needs a file there.
    `ProtectHome=${used.some((p) => p !== undefined && /^\/(home|root|run\/user)(\/|$)/.test(p)) ? 'read-only' : 'yes'}`,
    // A private /tmp would hide the service's own files there (its directory, say).
    ...(used.some((p) => p !== undefined && /^\/(var\/)?tmp(\/|$)/.test(p))
      ? ['# PrivateTmp= is off: the service uses files under /tmp, which a private /tmp would hide.', 'PrivateTmp=no']
      : ['PrivateTmp=yes']),
    `ReadWritePaths=${[...new Set(writable)].map((p) => word(p, false)).join(' ')}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}

function cliEntry(): string {
  // dist/cli.js beside dist/index.js; from the sources (tests), the built one.
  const beside = join(__dirname, 'cli.js');
  return existsSync(beside) ? beside : join(__dirname, '..', '..', 'dist', 'cli.js');
}

function flag(name: string, value: string | undefined): string[] {
  return value === undefined ? [] : [name, value];
}

function signalName(signal: string): string {
  return signal.toUpperCase().replace(/^SIG/, '');
}

/** Milliseconds as a duration run's flags read back exactly (src/cli/args.ts). */
function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** A time span as systemd.time(7) writes one. */
function timeSpan(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.ceil(ms)}ms`;
}

function groupName(given: string | number | undefined, gid: number): string {
  if (given !== undefined && !/^\d+$/.test(String(given))) return String(given);
  try {
    return lookupGroup(gid).name;
  } catch {
    return String(gid);
  }
}

function environment(env: ServiceOptions['env']): [string, string][] {
  const pairs: [string, string][] = Array.isArray(env) ? env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]) : Object.entries(env ?? {});
  for (const [k] of pairs) {
    // systemd ignores, with a warning, any other name (env_name_is_valid() in its sources).
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new OptionError(`--env ${shown(k)}: systemd's Environment= takes only names of letters, digits and _, not starting with a digit; rename the variable`);
  }
  return pairs;
}

function limits(list: [string, { soft?: number; hard?: number }][]): string[] {
  return list.map(([resource, limit]) => {
    // A value left out is this process's own, as start would leave it for the service.
    const { soft, hard } = resolveRlimit(resource, limit, `rlimits.${resource}`);
    const text = (v: number) => (v === Infinity ? 'infinity' : String(v));
    return `${LIMITS[resource]}=${soft === hard ? text(soft) : `${text(soft)}:${text(hard)}`}`;
  });
}

/**
 * A setting that takes the rest of its line (Description=, User=, WorkingDirectory=...):
 * only % is special there, a specifier (systemd.unit(5), "Specifiers"). A backslash at the
 * end would join the next line to it.
 */
function raw(text: string): string {
  if (text.endsWith('\\') || text !== text.trim()) throw new OptionError(`${shown(text)} cannot be written in a unit file (a trailing backslash or blank); rename it`);
  return text.replaceAll('%', '%%');
}

/**
 * One word as systemd.syntax(7), "Quoting", reads it back: double quotes and C escapes when
 * needed, % doubled (a specifier) and, in a command line, $ doubled (systemd.service(5),
 * "Command lines": $$ is a literal $).
 */
function word(text: string, command: boolean): string {
  const doubled = text.replace(command ? /[%$]/g : /%/g, (c) => c + c);
  if (/^[A-Za-z0-9_@%$+=:,./-]+$/.test(doubled)) return doubled;
  const escaped = doubled.replace(/[\\"\x00-\x1f\x7f]/g, (c) => {
    const named: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r' };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return `"${escaped}"`;
}
