// The daemonkit command, continued: --config files (one service, several started and stopped
// together, flags win), --reload signal|SIG|restart, readiness by systemd's own
// systemd-notify, and bad input beyond the flags: config files, PID files that are hard links
// or directories, a port in use, a program never ready, and as an unprivileged user a port
// below 1024 and a run directory it cannot write.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listenTcp } from '../src/index';
import { fixture, freePort, httpGet, isAlive, ourChildren, packageAsNobody, rootIt, useProcessControl, useTmpDir, waitFor, toolIt } from './helpers';
import { cli, cliIn, pidOf } from './cli-run';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;
const fresh = (name: string) => join(tmp(), `${++n}-${name}`);
const dirs = () => ({ DAEMONKIT_RUN_DIR: fresh('run'), DAEMONKIT_LOG_DIR: fresh('log') });

describe('--config', () => {
  it('starts the services of a file together, relative paths from the file, and stops them together', async () => {
    const d = dirs();
    const dir = fresh('conf');
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.env'), 'GREETING=from the env file\n');
    const config = join(dir, 'services.json');
    writeFileSync(config, JSON.stringify({
      services: [
        { name: 'one', command: ['sh', '-c', 'echo "$GREETING"; exec sleep 1000'], envFile: 'app.env', logFile: 'one.log', ready: 'exec' },
        { name: 'two', command: ['sleep', '1000'], ready: 'exec', restart: 'on-failure' },
      ],
    }));
    const r = await cliIn(d, 'start', '--config', config);
    expect(r.code).toBe(0);
    const [one, two] = r.stdout.trim().split('\n').map((l) => pc.track(pidOf(l)));
    expect(r.stdout).toBe(`one started (pid ${one})\ntwo started (pid ${two})\n`);
    await waitFor('the greeting', () => existsSync(join(dir, 'one.log')) && readFileSync(join(dir, 'one.log'), 'utf8') === 'from the env file\n');
    expect((await cliIn(d, 'status', '--name', 'two')).code).toBe(0);

    const stopped = await cliIn(d, 'stop', '--config', config);
    // Last started, first stopped.
    expect([stopped.code, stopped.stdout]).toEqual([0, `two stopped (pid ${two})\none stopped (pid ${one})\n`]);
    expect([isAlive(one), isAlive(two)]).toEqual([false, false]);
  });

  it('flags win over the file', async () => {
    const d = dirs();
    const config = fresh('one.json');
    const log = fresh('greet.log');
    writeFileSync(config, JSON.stringify({ name: 'greet', command: ['sh', '-c', 'echo "$GREETING"; exec sleep 1000'], env: { GREETING: 'from the file' }, ready: 'exec', logFile: log }));
    const r = await cliIn(d, 'start', '--config', config, '--env', 'GREETING=from the flag');
    expect(r.code).toBe(0);
    pc.track(pidOf(r.stdout));
    await waitFor('the greeting', () => readFileSync(log, 'utf8') === 'from the flag\n');
    expect((await cliIn(d, 'stop', '--name', 'greet')).code).toBe(0);
  });

  it('restart --config applies the file as it is now', async () => {
    const d = dirs();
    const config = fresh('edit.json');
    const log = fresh('edit.log');
    const service = (greeting: string) => JSON.stringify({ name: 'edit', command: ['sh', '-c', 'echo "$GREETING"; exec sleep 1000'], env: { GREETING: greeting }, ready: 'exec', logFile: log });
    writeFileSync(config, service('before'));
    pc.track(pidOf((await cliIn(d, 'start', '--config', config)).stdout));
    await waitFor('the first greeting', () => readFileSync(log, 'utf8') === 'before\n');
    writeFileSync(config, service('after'));
    const r = await cliIn(d, 'restart', '--config', config);
    expect(r.code).toBe(0);
    pc.track(pidOf(r.stdout.split('\n')[1]));
    await waitFor('the edited greeting', () => readFileSync(log, 'utf8') === 'before\nafter\n');
    expect((await cliIn(d, 'stop', '--config', config)).code).toBe(0);
  });

  it('when one service of the file cannot start, those it started are stopped: all or nothing', async () => {
    const d = dirs();
    const config = fresh('half.json');
    writeFileSync(config, JSON.stringify({ services: [{ name: 'fine', command: ['sleep', '1000'], ready: 'exec' }, { name: 'broken', command: ['sh', '-c', 'echo no config; exit 3'] }] }));
    const r = await cliIn(d, 'start', '--config', config);
    expect(r.code).toBe(1);
    const fine = pc.track(pidOf(r.stdout));
    expect(r.stderr).toMatch(/^broken: exited with code 3 before it was ready/);
    expect(r.stderr).toMatch(new RegExp(`fine stopped \\(pid ${fine}\\) \\(the services of .* start together\\)`));
    // Stopped: its lock is released and it ended (reaped by us, its subreaper, here).
    expect(await pc.exitOf(fine)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(ourChildren()).toEqual([]);
  });
});

it('a service whose PID file is in a directory of its own (a unit with User=) is found by name and listed', async () => {
  const d = dirs();
  mkdirSync(join(d.DAEMONKIT_RUN_DIR, 'own'), { recursive: true });
  const pidFile = join(d.DAEMONKIT_RUN_DIR, 'own', 'own.pid');
  const r = await cliIn(d, 'start', '--name', 'own', '--pid-file', pidFile, '--ready', 'exec', '--', 'sleep', '1000');
  const pid = pc.track(pidOf(r.stdout));
  expect(JSON.parse((await cliIn(d, 'status', '--name', 'own', '--json')).stdout)).toMatchObject({ state: 'running', pid, pidFile });
  expect(JSON.parse((await cliIn(d, 'list', '--json')).stdout)).toMatchObject([{ name: 'own', pid, pidFile }]);
  expect((await cliIn(d, 'stop', '--name', 'own')).stdout).toBe(`own stopped (pid ${pid})\n`);
});

it('a program that calls daemonize() itself, started by the command: it does not fork again, it serves on the socket it was handed', async () => {
  const d = dirs();
  const port = freePort();
  const r = await cliIn(d, 'start', '--name', 'dz', '--listen', `127.0.0.1:${port}`, '--', process.execPath, fixture('lifecycle.mjs'), JSON.stringify({ daemon: { name: 'dz' } }));
  expect([r.code, r.stderr]).toEqual([0, '']);
  const pid = pc.track(pidOf(r.stdout));
  // The process the command started is the one that answers: daemonize() saw NOTIFY_SOCKET
  // and LISTEN_FDS, as under systemd, and served in place.
  expect(await httpGet(port)).toBe(`gen 0 pid ${pid}\n`);
  expect((await cliIn(d, 'stop', '--name', 'dz')).stdout).toBe(`dz stopped (pid ${pid})\n`);
});

describe('--reload and readiness by systemd-notify', () => {
  it('--reload restart: reload starts it again; --reload USR2: reload sends SIGUSR2', async () => {
    const d = dirs();
    const r = await cliIn(d, 'start', '--name', 'rr', '--reload', 'restart', '--ready', 'exec', '--', 'sleep', '1000');
    const first = pc.track(pidOf(r.stdout));
    const reloaded = await cliIn(d, 'reload', '--name', 'rr');
    expect(reloaded.code).toBe(0);
    const second = pc.track(Number(/reloaded by a restart \(pid (\d+)\)/.exec(reloaded.stdout)![1]));
    expect(second).not.toBe(first);
    expect(isAlive(first)).toBe(false);
    await cliIn(d, 'stop', '--name', 'rr');

    const log = fresh('usr2.log');
    // The trap runs once the foreground command ends: sleep in short steps.
    const script = "trap 'echo got USR2' USR2; while :; do sleep 0.05; done";
    const s = await cliIn(d, 'start', '--name', 'u2', '--reload', 'USR2', '--ready', 'exec', '--log-file', log, '--', 'sh', '-c', script);
    const pid = pc.track(pidOf(s.stdout));
    const sent = await cliIn(d, 'reload', '--name', 'u2');
    expect([sent.code, sent.stdout]).toEqual([0, `u2 reloaded (SIGUSR2 to pid ${pid})\n`]);
    await waitFor('the program to see SIGUSR2', () => readFileSync(log, 'utf8').includes('got USR2'));
    expect(isAlive(pid)).toBe(true);
    await cliIn(d, 'stop', '--name', 'u2');
  });

  toolIt(['systemd-notify'], '--ready notify with systemd-notify --ready as the program\'s messenger', async () => {
    const d = dirs();
    const log = fresh('sdn.log');
    // It is ready only once it has written its file: started means the file is there.
    const marker = fresh('ready');
    const r = await cliIn(d, 'start', '--name', 'sdn', '--log-file', log, '--', 'sh', '-c', `sleep 0.2; touch ${marker}; systemd-notify --ready --status=serving; exec sleep 1000`);
    expect([r.code, r.stderr]).toEqual([0, '']);
    pc.track(pidOf(r.stdout));
    expect(existsSync(marker)).toBe(true);
    await cliIn(d, 'stop', '--name', 'sdn');
  });
});

describe('bad input, continued: one line, the exit code, nothing left', () => {
  const config = (name: string, text: string) => {
    const path = fresh(name);
    writeFileSync(path, text);
    return path;
  };
  const cases: [string, () => string[], number, RegExp][] = [
    ['invalid JSON config', () => ['start', '--config', config('bad.json', '{ "name": ')], 2, /^daemonkit: --config .*bad\.json is not valid JSON: /],
    ['unreadable config', () => ['start', '--config', '/nonexistent/dk.json'], 2, /^daemonkit: cannot read --config \/nonexistent\/dk\.json: ENOENT/],
    ['unknown key in a config', () => ['start', '--config', config('key.json', '{"command":["true"],"pid_file":"x"}')], 2, /unknown key "pid_file"; the keys are the start options in camelCase/],
    ['a config env that is a string', () => ['start', '--config', config('env.json', '{"command":["true"],"env":"X=1"}')], 2, /--env must be KEY=VALUE strings, or an object of strings, got "X=1"/],
    ['a config listen that is a string', () => ['start', '--config', config('listen.json', '{"command":["true"],"listen":"80"}')], 2, /--listen must be a list of \[HOST:\]PORT or a socket path, got "80"/],
    ['a config command that is a string', () => ['start', '--config', config('str.json', '{"command":"node server.js"}')], 2, /"command" must be an array of strings/],
    ['--name with a config of several', () => ['start', '--name', 'x', '--config', config('two.json', '{"services":[{"command":["true"]},{"command":["true"],"name":"b"}]}')], 2, /--name names one service and --config has 2/],
    ['--max-restarts without a window', () => ['start', '--restart', 'always', '--max-restarts', '3', '--', 'true'], 2, /--max-restarts needs --restart-window/],
    ['bad --reload', () => ['start', '--reload', 'TERM', '--', 'true'], 2, /--reload must be signal, restart or a signal name/],
    ['bad --stop-signal', () => ['start', '--restart', 'always', '--stop-signal', 'FROB', '--', 'true'], 2, /--stop-signal must be a signal name/],
    ['bad --restart', () => ['start', '--restart', 'sometimes', '--', 'true'], 2, /--restart must be never, on-failure or always/],
    ['--ready tcp on a port --listen binds', () => ['start', '--listen', '127.0.0.1:8399', '--ready', 'tcp:8399', '--', 'true'], 2, /--ready tcp:8399 waits for a port that --listen binds before the program starts/],
    ['unknown group', () => ['start', '--user', 'nobody', '--group', 'no-such-group-dk', '--', 'true'], 2, /unknown group 'no-such-group-dk'/],
    ['status of a name that never existed', () => ['status', '--name', 'never-existed-dk'], 4, /no service named 'never-existed-dk'/],
    ['run with an unknown flag', () => ['run', '--frob', '--', 'true'], 2, /^daemonkit: Unknown option '--frob'; see daemonkit run --help$/],
    ['stop with both --config and --name', () => ['stop', '--name', 'x', '--config', '/nonexistent/dk.json'], 2, /give --config, or --name or --pid-file, not both/],
  ];
  for (const [what, args, code, message] of cases) {
    it(what, async () => {
      const d = dirs();
      const r = await cliIn(d, ...args());
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.code).toBe(code);
      expect(ourChildren()).toEqual([]);
      expect(existsSync(d.DAEMONKIT_RUN_DIR) ? readdirSync(d.DAEMONKIT_RUN_DIR) : []).toEqual([]);
    });
  }

  const refused = async (args: string[], pidFile: string, message: RegExp, code = 1) => {
    const r = await cli('start', '--pid-file', pidFile, '--log-file', fresh('x.log'), '--ready', 'exec', ...args, '--', 'sleep', '1000');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.code).toBe(code);
    expect(ourChildren()).toEqual([]);
  };

  it('a PID file that is a hard link, or a directory', async () => {
    const target = fresh('target');
    writeFileSync(target, '1\n');
    const link = fresh('hard.pid');
    linkSync(target, link);
    await refused([], link, /PID file '.*hard\.pid' is a regular file with 2 links .*hard links are never written through/);
    expect(readFileSync(target, 'utf8')).toBe('1\n');
    const dir = fresh('dir.pid');
    mkdirSync(dir);
    await refused([], dir, /PID file '.*dir\.pid' is a directory/);
  });

  it('a port in use', async () => {
    const busy = listenTcp({ host: '127.0.0.1', port: 0 });
    try {
      const pidFile = fresh('busy.pid');
      await refused(['--listen', `127.0.0.1:${busy.port}`], pidFile, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busy.port} .*EADDRINUSE.*; another process is listening there`));
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      closeSync(busy.fd);
    }
  });

  it('a program that never becomes ready: stopped after --ready-timeout, exit 1', async () => {
    const pidFile = fresh('slow.pid');
    const r = await cli('start', '--pid-file', pidFile, '--log-file', fresh('slow.log'), '--ready-timeout', '500ms', '--', 'sleep', '1000');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^sleep: did not report ready within 500 ms .*; stopped it \(pid \d+\)$/);
    expect(existsSync(pidFile)).toBe(false);
    expect(ourChildren()).toEqual([]);
  });

  // As nobody (the command run by an unprivileged user), from a copy nobody can read.
  // Typed in `open` (0755): the program runs where the command was typed, and a checkout
  // may be 0700, out of user nobody's reach.
  const asNobody = (args: string[], env: NodeJS.ProcessEnv, cwd: string) =>
    spawnSync(process.execPath, ['--', join(packageAsNobody(), 'dist', 'cli.js'), ...args], { uid: 65534, gid: 65534, cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  rootIt('as an unprivileged user: a port below 1024, and a run directory it cannot write', () => {
    // Outside our temporary directory, which only root may enter.
    const open = mkdtempSync(join(tmpdir(), 'daemonkit-nobody-run-'));
    chmodSync(open, 0o755);
    try {
      asUnprivileged(open);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });
  function asUnprivileged(open: string) {
    const run = join(open, 'run');
    mkdirSync(run);
    chownSync(run, 65534, 65534);
    const low = asNobody(['start', '--name', 'low', '--listen', '127.0.0.1:80', '--ready', 'exec', '--', 'sleep', '1000'], { DAEMONKIT_RUN_DIR: run, DAEMONKIT_LOG_DIR: run }, open);
    expect(low.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(low.stderr).toMatch(/^low: cannot listen on 127\.0\.0\.1:80 .*EACCES.*; /);
    expect(low.status).toBe(1);
    expect(readdirSync(run)).toEqual([]);

    const rootOwned = join(open, 'root-run');
    mkdirSync(rootOwned, { mode: 0o755 });
    const denied = asNobody(['start', '--name', 'den', '--ready', 'exec', '--', 'sleep', '1000'], { DAEMONKIT_RUN_DIR: rootOwned, DAEMONKIT_LOG_DIR: run }, open);
    expect(denied.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(denied.stderr).toMatch(/^den: cannot open PID file .*EACCES.*den\.pid'; its directory is not writable by this user/);
    expect(denied.status).toBe(1);
    expect(readdirSync(rootOwned)).toEqual([]);
    expect(ourChildren()).toEqual([]);
  }
});
