// The daemonkit command: start, stop and status of any program as a service, on the same
// launcher as daemonize() (docs/design.md). Exit codes: start 0 started, 1 failed, 2 bad
// input, 3 already running; stop 0 stopped or not running, 1 could not, 2 bad input; status
// LSB's 0 running, 1 dead with a PID file, 3 not running, 4 unknown.
import { readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OptionError, describeError } from '../errors';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { restart, start, serviceStatus, stop, defaultLogDir, defaultRunDir, follow, lastLines, listServices, type ServiceOptions, type ServiceStatus } from '../index';
import { duration, SELECT_OPTIONS, START_OPTIONS } from './args';

const USAGE = `Usage: daemonkit <command> [options]

  daemonkit start  [options] -- <program> [args...]
  daemonkit stop   (--name N | --pid-file F) [--timeout S] [--signal SIG]
  daemonkit status (--name N | --pid-file F) [--json]
  daemonkit restart (--name N | --pid-file F)
  daemonkit reload (--name N | --pid-file F)       SIGHUP to the service (forwarded by a supervisor)
  daemonkit list   [--json]
  daemonkit logs   (--name N | --log-file F) [-n LINES] [-f]

Start options: --name, --pid-file, --log-file, --cwd, --umask, --user, --group,
  --rlimit NAME=SOFT[:HARD], --env KEY=VALUE, --env-file FILE, --listen [HOST:]PORT|PATH,
  --ready exec|notify|tcp:[HOST:]PORT, --ready-timeout S, --restart never|on-failure|always,
  --restart-delay MS, --backoff FACTOR, --max-restarts N --restart-window S,
  --success-exit-codes LIST, --stop-signal SIG, --stop-timeout S
daemonkit <command> --help, daemonkit --version`;

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, positionals: boolean) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (err) {
    // One line, as every other refusal: parseArgs adds a hint about positionals.
    throw new OptionError((err as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, ''));
  }
}

const say = (fd: 1 | 2, text: string) => {
  try {
    writeSync(fd, text.endsWith('\n') ? text : `${text}\n`);
  } catch {
    // nobody is reading
  }
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--version' || command === '-v') {
      say(1, JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
      return 0;
    }
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      say(command === undefined ? 2 : 1, USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === 'start') return await startCommand(rest);
    if (command === 'stop') return await stopCommand(rest);
    if (command === 'status') return statusCommand(rest);
    if (command === 'list') return listCommand(rest);
    if (command === 'restart') return await restartCommand(rest);
    if (command === 'reload') return reloadCommand(rest);
    if (command === 'logs') return await logsCommand(rest);
    throw new OptionError(`unknown command '${command}'; see daemonkit --help`);
  } catch (err) {
    say(2, `daemonkit: ${describeError(err)}`);
    // By its code, not its class: the library (./index.js) has its own copy of the classes.
    const code = (err as { exitCode?: unknown }).exitCode;
    return typeof code === 'number' ? code : 1;
  }
}

async function startCommand(args: string[]): Promise<number> {
  const dash = args.indexOf('--');
  const { values, positionals } = parse(dash < 0 ? args : args.slice(0, dash), START_OPTIONS, true);
  if (values.help) return say(1, USAGE), 0;
  if (positionals.length > 0) throw new OptionError(`'${positionals[0]}' before --: give the program after --, e.g. daemonkit start -- ${positionals.join(' ')}`);
  if (dash < 0) throw new OptionError('no program to run: give it after --, e.g. daemonkit start -- node server.js');
  const options: ServiceOptions = {
    command: args.slice(dash + 1),
    name: values.name,
    pidFile: values['pid-file'],
    logFile: values['log-file'],
    cwd: values.cwd,
    umask: values.umask,
    user: values.user,
    group: values.group,
    rlimits: values.rlimit,
    env: values.env,
    envFile: values['env-file'],
    listen: values.listen,
    ready: values.ready,
    readyTimeout: values['ready-timeout'] === undefined ? undefined : duration(values['ready-timeout'], '--ready-timeout'),
    restart: values.restart as ServiceOptions['restart'],
    restartDelay: values['restart-delay'] === undefined ? undefined : milliseconds(values['restart-delay'], '--restart-delay'),
    backoff: values.backoff === undefined ? undefined : number(values.backoff, '--backoff'),
    maxRestarts: values['max-restarts'] === undefined ? undefined : number(values['max-restarts'], '--max-restarts'),
    restartWindow: values['restart-window'] === undefined ? undefined : duration(values['restart-window'], '--restart-window'),
    successExitCodes: values['success-exit-codes']?.split(/[ ,]+/).filter(Boolean).map((c) => number(c, '--success-exit-codes')),
    stopSignal: values['stop-signal'],
    stopTimeout: values['stop-timeout'] === undefined ? undefined : duration(values['stop-timeout'], '--stop-timeout'),
  };
  const r = await start(options);
  if (r.ok) return say(1, `${r.name} started (pid ${r.pid})`), 0;
  say(2, `${r.message}\n${r.tail}`.trimEnd());
  return r.code;
}

/** --restart-delay is in milliseconds (a plain number), or with a unit. */
function milliseconds(text: string, flag: string): number {
  return /^\d+$/.test(text) ? Number(text) : duration(text, flag);
}

function number(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new OptionError(`${flag} must be a number, got '${text}'`);
  return n;
}

function selected(values: { name?: string; 'pid-file'?: string }): { name?: string; pidFile: string } {
  if (values.name === undefined && values['pid-file'] === undefined) throw new OptionError('give --name or --pid-file');
  return { name: values.name, pidFile: values['pid-file'] ?? join(defaultRunDir(), `${values.name}.pid`) };
}

async function stopCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { ...SELECT_OPTIONS, timeout: { type: 'string' }, signal: { type: 'string' } }, false);
  if (values.help) return say(1, USAGE), 0;
  const { name, pidFile } = selected(values);
  const signal = values.signal === undefined ? undefined : ((values.signal.startsWith('SIG') ? values.signal : `SIG${values.signal}`).toUpperCase() as NodeJS.Signals);
  const r = await stop({ name, pidFile, signal, timeout: values.timeout === undefined ? undefined : duration(values.timeout, '--timeout') });
  say(r.code === 0 ? 1 : 2, r.message);
  return r.code;
}

function statusCommand(args: string[]): number {
  const { values } = parse(args, { ...SELECT_OPTIONS, json: { type: 'boolean' } }, false);
  if (values.help) return say(1, USAGE), 0;
  const { name, pidFile } = selected(values);
  const s = serviceStatus(pidFile, name);
  if (values.json) {
    say(1, JSON.stringify(s));
    return s.code;
  }
  say(s.code === 4 ? 2 : 1, describeStatus(s));
  return s.code;
}

function describeStatus(s: ServiceStatus): string {
  const detail = [
    s.pid === null ? null : `pid ${s.pid}`,
    s.programPid === undefined || s.programPid === null ? null : `program pid ${s.programPid}`,
    s.restarts === undefined ? null : `${s.restarts} restart${s.restarts === 1 ? '' : 's'}`,
    s.uptimeSeconds === null ? null : `up ${s.uptimeSeconds} s`,
    s.rssBytes === null ? null : `RSS ${(s.rssBytes / 2 ** 20).toFixed(1)} MiB`,
    s.logFile === null ? null : `log ${s.logFile}`,
  ].filter(Boolean);
  const text = {
    running: 'is running',
    dead: `is dead, but its PID file ${s.pidFile} remains`,
    failed: `failed (${s.reason})`,
    stopped: 'is not running',
    unknown: `: status unknown: ${s.reason}`,
  }[s.state];
  return `${s.name} ${text}${detail.length > 0 ? ` (${detail.join(', ')})` : ''}`.replace(' : ', ': ');
}

async function restartCommand(args: string[]): Promise<number> {
  const { values } = parse(args, SELECT_OPTIONS, false);
  if (values.help) return say(1, USAGE), 0;
  const { name, pidFile } = selected(values);
  const { stopped, started } = await restart(pidFile, name);
  say(stopped.code === 0 ? 1 : 2, stopped.message);
  if (started.ok) return say(1, `${started.name} started (pid ${started.pid})`), 0;
  say(2, `${started.message}\n${started.tail}`.trimEnd());
  return started.code;
}

function reloadCommand(args: string[]): number {
  const { values } = parse(args, SELECT_OPTIONS, false);
  if (values.help) return say(1, USAGE), 0;
  const { name, pidFile } = selected(values);
  const s = serviceStatus(pidFile, name);
  if (s.state !== 'running' || s.pid === null) {
    say(2, `${s.name} is not running: nothing to reload (${s.state}); start it with daemonkit start`);
    return s.code === 4 ? 2 : 1;
  }
  process.kill(s.pid, 'SIGHUP');
  say(1, `${s.name} reloaded (SIGHUP to pid ${s.pid})`);
  return 0;
}

function listCommand(args: string[]): number {
  const { values } = parse(args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, false);
  if (values.help) return say(1, USAGE), 0;
  const all = listServices(defaultRunDir());
  if (values.json) return say(1, JSON.stringify(all)), 0;
  const rows = [['NAME', 'STATE', 'PID', 'UPTIME', 'RSS', 'LOG']];
  for (const s of all) {
    rows.push([s.name, s.state, String(s.pid ?? '-'), s.uptimeSeconds === null ? '-' : `${s.uptimeSeconds}s`, s.rssBytes === null ? '-' : `${(s.rssBytes / 2 ** 20).toFixed(1)}M`, s.logFile ?? '-']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  say(1, rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n'));
  return 0;
}

async function logsCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { name: { type: 'string' }, 'log-file': { type: 'string' }, lines: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' }, help: { type: 'boolean', short: 'h' } }, false);
  if (values.help) return say(1, USAGE), 0;
  if (values.name === undefined && values['log-file'] === undefined) throw new OptionError('give --name or --log-file');
  const path = values['log-file'] ?? serviceStatus(join(defaultRunDir(), `${values.name}.pid`), values.name).logFile ?? join(defaultLogDir(), `${values.name}.log`);
  const lines = values.lines === undefined ? 10 : Number(values.lines);
  if (!Number.isSafeInteger(lines) || lines < 0) throw new OptionError(`-n must be a number of lines, got '${values.lines}'`);
  let end: number;
  try {
    const last = lastLines(path, lines);
    process.stdout.write(last.text);
    end = last.size;
  } catch (err) {
    throw new OptionError(`cannot read the log file ${path}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}; check --name or --log-file`);
  }
  if (!values.follow) return 0;
  const stop = follow(path, (text) => process.stdout.write(text), end);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve());
  });
  stop();
  return 0;
}
