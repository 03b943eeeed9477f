// The daemonkit command with real programs: start (the program itself is the daemon), stop
// (waits for the lock, SIGKILL after the timeout), status (LSB exit codes), and bad input:
// one line naming it, the exit code, nothing left behind.
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, isAlive, ourChildren, useProcessControl, useTmpDir, waitFor, received } from './helpers';
import { cli, cliIn, cliPath, pidOf } from './cli-run';

const answer = received;

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;
const fresh = (name: string) => join(tmp(), `${++n}-${name}`);
const paths = (name: string) => ['--pid-file', fresh(`${name}.pid`), '--log-file', fresh(`${name}.log`)];

it('prints the version and usage', async () => {
  expect((await cli('--version')).stdout).toBe(`${require('../package.json').version}\n`);
  const help = await cli('--help');
  expect([help.code, help.stdout.split('\n')[0]]).toEqual([0, 'Usage: daemonkit <command> [options]']);
});

describe('start, status, stop', () => {
  it('starts a program that says READY=1, answers on the port it was handed, and stops it', async () => {
    const [, pidFile, , logFile] = paths('web');
    const r = await cli('start', '--name', 'web', '--pid-file', pidFile, '--log-file', logFile, '--listen', '127.0.0.1:0', '--', 'python3', fixture('notify-ready.py'), '-');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const pid = pc.track(pidOf(r.stdout));
    expect(r.stdout).toBe(`web started (pid ${pid})\n`);
    // The program itself is the daemon: its parent is not the command (gone), no wrapper.
    expect(readFileSync(pidFile, 'utf8')).toBe(`${pid}\n`);
    const seen = JSON.parse(readFileSync(logFile, 'utf8'));
    expect(seen).toMatchObject({ pid, listen_pid: String(pid) });
    expect(await answer(seen.port)).toBe(`hello from ${pid}\n`);

    const again = await cli('start', '--name', 'web', '--pid-file', pidFile, '--log-file', logFile, '--', 'python3', fixture('notify-ready.py'), '-');
    expect([again.code, again.stderr]).toEqual([3, `web already running (pid ${pid})\n`]);

    const st = await cli('status', '--pid-file', pidFile, '--json');
    expect(st.code).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ name: 'web', state: 'running', pid, logFile });

    const stopped = await cli('stop', '--pid-file', pidFile);
    expect([stopped.code, stopped.stdout]).toEqual([0, `web stopped (pid ${pid})\n`]);
    expect(existsSync(pidFile)).toBe(false);
    expect(isAlive(pid)).toBe(false);
    expect((await cli('status', '--pid-file', pidFile)).code).toBe(3);
    expect(await cli('stop', '--pid-file', pidFile)).toMatchObject({ code: 0, stdout: 'web was not running\n' });
  });

  it('stop: a program that ignores SIGTERM is killed with its process group after --timeout', async () => {
    const [, pidFile, , logFile] = paths('stubborn');
    const script = fresh('stubborn.sh');
    // It ignores TERM and leaves a grandchild (which inherits the ignored TERM) running.
    writeFileSync(script, "trap '' TERM\nsleep 1000 &\necho $! > \"$1\"\nexec sleep 1000\n");
    const child = fresh('child.pid');
    const r = await cli('start', '--ready', 'exec', '--pid-file', pidFile, '--log-file', logFile, '--', 'sh', script, child);
    expect(r.code).toBe(0);
    const pid = pc.track(pidOf(r.stdout));
    const grandchild = pc.track(await waitFor('the grandchild', () => existsSync(child) && Number(readFileSync(child, 'utf8')) > 0 && Number(readFileSync(child, 'utf8'))));
    const stopped = await cli('stop', '--pid-file', pidFile, '--timeout', '300ms');
    expect([stopped.code, stopped.stdout]).toEqual([0, `sh stopped (pid ${pid}): killed with SIGKILL after 300 ms\n`]);
    expect([isAlive(pid), isAlive(grandchild)]).toEqual([false, false]);
  });

  it('status: LSB exit codes for dead (stale PID file) and unknown (never existed)', async () => {
    const pidFile = fresh('dead.pid');
    writeFileSync(pidFile, '999999\n');
    writeFileSync(pidFile.replace(/\.pid$/, '.json'), JSON.stringify({ name: 'dead', pidFile, command: ['x'], pid: 999999, startedAt: 0 }));
    expect(await cli('status', '--pid-file', pidFile)).toMatchObject({ code: 1, stdout: `dead is dead, but its PID file ${pidFile} remains (pid 999999)\n` });
    expect(JSON.parse((await cli('status', '--pid-file', pidFile, '--json')).stdout)).toMatchObject({ name: 'dead', state: 'dead', pid: 999999 });
    // Looking changed nothing.
    expect(readFileSync(pidFile, 'utf8')).toBe('999999\n');
    const never = fresh('never.pid');
    expect(await cli('status', '--pid-file', never)).toMatchObject({ code: 4 });
  });
});

describe('the supervisor (--restart)', () => {
  const supervised = (dirs: NodeJS.ProcessEnv, name: string, ...extra: string[]) =>
    cliIn(dirs, 'start', '--name', name, '--restart', 'always', '--restart-delay', '0', '--listen', '127.0.0.1:0', ...extra, '--', 'python3', fixture('crashy.py'));
  const stateOf = (dirs: NodeJS.ProcessEnv, name: string) => JSON.parse(readFileSync(join(dirs.DAEMONKIT_RUN_DIR!, `${name}.json`), 'utf8'));
  const portOf = (pid: number) => {
    // The listening socket the supervisor holds (fd 3 of the program): its port.
    const inode = /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/fd/3`))![1];
    const line = readFileSync('/proc/net/tcp', 'utf8').split('\n').find((l) => l.includes(` ${inode} `))!;
    return parseInt(line.trim().split(/\s+/)[1].split(':')[1], 16);
  };

  it('restarts a killed program with a new pid on the same listening socket', async () => {
    const dirs = { DAEMONKIT_RUN_DIR: fresh('run'), DAEMONKIT_LOG_DIR: fresh('log') };
    const r = await supervised(dirs, 'sv');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const supervisor = pc.track(pidOf(r.stdout));
    const first = pc.track(stateOf(dirs, 'sv').programPid);
    const port = portOf(first);
    expect(await answer(port)).toBe(`pid ${first}\n`);
    process.kill(first, 'SIGKILL');
    // Between two runs the state file says programPid null: a pid, and another one.
    const second = pc.track(
      await waitFor('the restart', () => {
        const pid = stateOf(dirs, 'sv').programPid;
        return typeof pid === 'number' && pid !== first ? pid : undefined;
      }),
    );
    expect(await waitFor('an answer from the new program', async () => (await answer(port)) === `pid ${second}\n`)).toBe(true);
    const st = JSON.parse((await cliIn(dirs, 'status', '--name', 'sv', '--json')).stdout);
    expect(st).toMatchObject({ state: 'running', pid: supervisor, programPid: second, restarts: 1, lastExit: 'killed by SIGKILL' });
    expect(await cliIn(dirs, 'stop', '--name', 'sv')).toMatchObject({ code: 0, stdout: `sv stopped (pid ${supervisor})\n` });
    expect([isAlive(supervisor), isAlive(second)]).toEqual([false, false]);
  });

  it('gives up on a crash loop: exits 1, and status says failed (crash loop: N crashes in S s)', async () => {
    const dirs = { DAEMONKIT_RUN_DIR: fresh('run'), DAEMONKIT_LOG_DIR: fresh('log') };
    const r = await cliIn(dirs, 'start', '--name', 'loop', '--restart', 'always', '--restart-delay', '0', '--max-restarts', '3', '--restart-window', '60', '--listen', '127.0.0.1:0', '--', 'python3', fixture('crashy.py'), 'crash');
    expect(r.code).toBe(0);
    const supervisor = pc.track(pidOf(r.stdout));
    const status = await pc.exitOf(supervisor);
    expect(status).toEqual({ code: 1, signal: null });
    const st = await cliIn(dirs, 'status', '--name', 'loop');
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(/^loop failed \(crash loop: 4 crashes in \d+(\.\d)? s\)/);
    const log = readFileSync(join(dirs.DAEMONKIT_LOG_DIR, 'loop.log'), 'utf8');
    expect(log).toMatch(/loop\[\d+\]: program exited with code 1; giving up \(crash loop: 4 crashes/);
    // The supervisor's own lines are its events only (no warning of Node's about its flags).
    expect(log.split('\n').filter((l) => l !== '' && !/^\S+ loop\[\d+\]: /.test(l) && !l.includes('crashy'))).toEqual([]);
  });

  it('SIGKILL of the supervisor: the program runs on, start refuses a second instance, stop stops the program', async () => {
    const dirs = { DAEMONKIT_RUN_DIR: fresh('run'), DAEMONKIT_LOG_DIR: fresh('log') };
    const r = await supervised(dirs, 'orphan');
    const supervisor = pc.track(pidOf(r.stdout));
    const program = pc.track(stateOf(dirs, 'orphan').programPid);
    process.kill(supervisor, 'SIGKILL');
    await pc.exitOf(supervisor);
    expect(isAlive(program)).toBe(true);
    const again = await supervised(dirs, 'orphan');
    expect([again.code, again.stderr]).toEqual([3, `orphan already running (pid ${supervisor})\n`]);
    expect((await cliIn(dirs, 'stop', '--name', 'orphan')).code).toBe(0);
    await waitFor('the program to go', () => !isAlive(program));
  });
});

describe('restart and reload', () => {
  it('restart: stopped, then started again the way it was started; reload: SIGHUP, forwarded by a supervisor', async () => {
    const dirs = { DAEMONKIT_RUN_DIR: fresh('run'), DAEMONKIT_LOG_DIR: fresh('log') };
    const script = fresh('hup.sh');
    // It says so on SIGHUP, in its log. (A trap runs once sleep ends: sleep in the background.)
    writeFileSync(script, "trap 'echo reloaded $$' HUP\necho started $$\nwhile :; do sleep 1000 & wait $!; done\n");
    for (const restartPolicy of ['never', 'always']) {
      const name = `hup-${restartPolicy}`;
      const r = await cliIn(dirs, 'start', '--name', name, '--ready', 'exec', '--restart', restartPolicy, '--', 'sh', script);
      expect(r.code).toBe(0);
      const pid = pc.track(pidOf(r.stdout));
      const log = join(dirs.DAEMONKIT_LOG_DIR, `${name}.log`);
      await waitFor('its start', () => readFileSync(log, 'utf8').includes('started'));
      const program = Number(/started (\d+)/.exec(readFileSync(log, 'utf8'))![1]);
      pc.track(program);
      expect(await cliIn(dirs, 'reload', '--name', name)).toMatchObject({ code: 0, stdout: `${name} reloaded (SIGHUP to pid ${pid})\n` });
      await waitFor('the reload', () => readFileSync(log, 'utf8').includes(`reloaded ${program}`));
      const again = await cliIn(dirs, 'restart', '--name', name);
      expect(again.code).toBe(0);
      const lines = again.stdout.split('\n');
      expect(lines[0]).toBe(`${name} stopped (pid ${pid})`);
      const second = pc.track(pidOf(lines[1]));
      expect(second).not.toBe(pid);
      expect((await cliIn(dirs, 'stop', '--name', name)).code).toBe(0);
    }
  });

  it('restart and reload of a name that was never started: one line, exit 2', async () => {
    const dirs = { DAEMONKIT_RUN_DIR: fresh('run'), DAEMONKIT_LOG_DIR: fresh('log') };
    const r = await cliIn(dirs, 'restart', '--name', 'ghost');
    expect([r.code, r.stderr]).toEqual([2, `daemonkit: no service named 'ghost' that daemonkit started (no state file beside ${join(dirs.DAEMONKIT_RUN_DIR, 'ghost.pid')}); start it with daemonkit start\n`]);
    const h = await cliIn(dirs, 'reload', '--name', 'ghost');
    expect(h.code).toBe(2);
    expect(h.stderr).toBe('ghost is not running: nothing to reload (unknown); start it with daemonkit start\n');
  });
});

describe('list and logs', () => {
  it('list shows every service of the run directory; start and logs use its defaults', async () => {
    const dirs = { DAEMONKIT_RUN_DIR: fresh('run'), DAEMONKIT_LOG_DIR: fresh('log') };
    const r = await cliIn(dirs, 'start', '--name', 'one', '--ready', 'exec', '--', 'sh', '-c', 'echo first line; echo second line; exec sleep 1000');
    expect(r.code).toBe(0);
    const pid = pc.track(pidOf(r.stdout));
    const logFile = join(dirs.DAEMONKIT_LOG_DIR, 'one.log');
    await waitFor('its output', () => readFileSync(logFile, 'utf8').includes('second line'));
    const list = JSON.parse((await cliIn(dirs, 'list', '--json')).stdout);
    expect(list).toMatchObject([{ name: 'one', state: 'running', pid, logFile }]);
    const table = (await cliIn(dirs, 'list')).stdout.split('\n');
    expect(table[0]).toMatch(/^NAME\s+STATE\s+PID\s+UPTIME\s+RSS\s+LOG$/);
    expect(table[1]).toMatch(new RegExp(`^one\\s+running\\s+${pid}\\s`));
    expect(await cliIn(dirs, 'logs', '--name', 'one', '-n', '1')).toMatchObject({ code: 0, stdout: 'second line\n' });
    expect((await cliIn(dirs, 'stop', '--name', 'one')).code).toBe(0);
    expect(JSON.parse((await cliIn(dirs, 'list', '--json')).stdout)).toMatchObject([{ name: 'one', state: 'stopped' }]);
  });

  it('logs -f follows across a rotation by rename and by copytruncate', async () => {
    const log = fresh('follow.log');
    writeFileSync(log, 'old\n');
    const follower = pc.start(process.execPath, ['--', cliPath, 'logs', '--log-file', log, '-n', '1', '-f']);
    let out = '';
    follower.stdout!.on('data', (d) => (out += d));
    await waitFor('the last line', () => out === 'old\n');
    const { appendFileSync, renameSync, truncateSync } = await import('node:fs');
    appendFileSync(log, 'before rotation\n');
    await waitFor('the appended line', () => out.includes('before rotation\n') || undefined).catch((e) => { throw new Error(`${e.message}; printed so far: ${JSON.stringify(out)}`); });
    renameSync(log, `${log}.1`);
    writeFileSync(log, 'after rename\n');
    await waitFor('the new file', () => out.includes('after rename\n') || undefined).catch((e) => { throw new Error(`${e.message}; printed so far: ${JSON.stringify(out)}`); });
    truncateSync(log, 0);
    appendFileSync(log, 'after truncate\n');
    await waitFor('the truncated file', () => out.includes('after truncate\n') || undefined).catch((e) => { throw new Error(`${e.message}; printed so far: ${JSON.stringify(out)}`); });
    expect(out).toBe('old\nbefore rotation\nafter rename\nafter truncate\n');
    follower.kill('SIGTERM');
    expect(await new Promise((r) => follower.once('exit', r))).toBe(0);
  });
});

describe('bad input: one line naming it, exit 2 (or 1), nothing left', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['unknown command', ['frobnicate'], 2, /^daemonkit: unknown command 'frobnicate'; see daemonkit --help$/],
    ['unknown flag', ['start', '--frob', '--', 'true'], 2, /^daemonkit: Unknown option '--frob'; see daemonkit start --help$/],
    ['missing --', ['start', 'true'], 2, /before --: give the program after --/],
    ['no program', ['start', '--'], 2, /no program to run/],
    ['command not found', ['start', '--', 'no-such-program-dk'], 2, /no-such-program-dk: command not found in PATH/],
    ['unknown user', ['start', '--user', 'no-such-user-dk', '--', 'true'], 2, /unknown user 'no-such-user-dk'/],
    ['bad umask', ['start', '--umask', '999', '--', 'true'], 2, /umask must be an octal mode/],
    ['bad rlimit', ['start', '--rlimit', 'nofile', '--', 'true'], 2, /--rlimit must be NAME=SOFT\[:HARD\]/],
    ['unknown rlimit', ['start', '--rlimit', 'bogus=1', '--', 'true'], 2, /rlimits\.bogus is not a resource limit/],
    ['bad duration', ['start', '--ready-timeout', 'soon', '--', 'true'], 2, /--ready-timeout must be a duration/],
    ['bad ready', ['start', '--ready', 'tcp:x', '--', 'true'], 2, /--ready must be exec, notify or tcp:\[HOST:\]PORT/],
    ['bad listen', ['start', '--listen', 'localhost:80', '--', 'true'], 2, /--listen must be \[HOST:\]PORT/],
    ['bad env', ['start', '--env', 'NOEQUALS', '--', 'true'], 2, /--env must be KEY=VALUE/],
    ['unreadable env file', ['start', '--env-file', '/nonexistent/env', '--', 'true'], 2, /cannot read --env-file \/nonexistent\/env: ENOENT/],
    ['bad name', ['start', '--name', '../x', '--', 'true'], 2, /--name must be letters/],
    ['stop without a service', ['stop'], 2, /give --name or --pid-file/],
    ['stop of a name that never existed', ['stop', '--name', 'never-existed-dk'], 2, /no service named 'never-existed-dk'/],
    ['logs without a file', ['logs'], 2, /give --name or --log-file/],
    ['logs of a missing file', ['logs', '--log-file', '/nonexistent/x.log'], 2, /cannot read the log file \/nonexistent\/x\.log: ENOENT/],
    ['bad line count', ['logs', '--log-file', '/etc/passwd', '-n', 'many'], 2, /-n must be a number of lines/],
    ['bad signal', ['stop', '--pid-file', '/nonexistent/x.pid', '--signal', 'FROB'], 2, /--signal must be a signal name/],
  ];
  for (const [what, args, code, message] of cases) {
    it(what, async () => {
      const r = await cli(...args);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.code).toBe(code);
      expect(ourChildren()).toEqual([]);
    });
  }

  it('not executable', async () => {
    const file = fresh('plain.txt');
    writeFileSync(file, 'not a program\n', { mode: 0o644 });
    const r = await cli('start', '--', file);
    expect([r.code, r.stderr]).toEqual([2, `${basename(file)}: ${file} is not an executable file (the program); check the path and its mode\n`]);
  });

  it('a PID file that is a symbolic link is refused, and nothing is started', async () => {
    const link = fresh('link.pid');
    require('node:fs').symlinkSync('/etc/passwd', link);
    const r = await cli('start', '--pid-file', link, '--log-file', fresh('l.log'), '--', 'sleep', '100');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/PID file '.*' is a symbolic link \(pidFile\)/);
    expect(ourChildren()).toEqual([]);
  });

  it('a program that exits before ready: exit 1, its last output, nothing left', async () => {
    const [, pidFile, , logFile] = paths('quits');
    const r = await cli('start', '--pid-file', pidFile, '--log-file', logFile, '--', 'sh', '-c', 'echo cannot open the database; exit 4');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sh: exited with code 4 before it was ready (pid ${/pid (\d+)/.exec(r.stderr)![1]})\nlast lines of ${logFile}:\n  | cannot open the database\n`);
    expect(existsSync(pidFile)).toBe(false);
    expect(ourChildren()).toEqual([]);
  });
});
