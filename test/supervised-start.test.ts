// The supervised start (docs/design.md, "The supervised start"): `daemonkit start --restart`
// starts the supervisor and the first run of its program with one spawn, so the two boot side
// by side. The program is the supervisor's child from its start, with its own pre-exec steps;
// its failures are the start's, and readiness by each mode still decides when start returns.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, freePort, httpGet, isAlive, openFds, procStat, root, useProcessControl, useTmpDir, waitFor } from './helpers';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;
const fresh = (name: string) => join(tmp(), `${++n}-${name}`);
const cliPath = join(root, 'dist', 'cli.js');

function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--', cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const dirs = () => ({ DAEMONKIT_RUN_DIR: fresh('run'), DAEMONKIT_LOG_DIR: fresh('log') });
const stateOf = (d: NodeJS.ProcessEnv, name: string) => JSON.parse(readFileSync(join(d.DAEMONKIT_RUN_DIR!, `${name}.json`), 'utf8'));
const pidOf = (stdout: string) => Number(/started \(pid (\d+)\)/.exec(stdout)![1]);
const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

describe('the supervised start', () => {
  it('starts the program with the supervisor: its child from the start, in a session of its own, with only its fds', async () => {
    const d = dirs();
    const r = await cli(d, 'start', '--name', 'sv', '--restart', 'always', '--listen', '127.0.0.1:0', '--', 'python3', fixture('crashy.py'));
    expect([r.code, r.stderr]).toEqual([0, '']);
    const supervisor = pc.track(pidOf(r.stdout));
    const program = pc.track(stateOf(d, 'sv').programPid);
    // The daemon wrote its program's pid into its own environment before it exec'd Node:
    // the program was forked by the same spawn, not started by the supervisor once booted.
    expect(environ(supervisor)).toContain(`DAEMONKIT_PROGRAM_PID=${program}`);
    expect(procStat(program).ppid).toBe(supervisor);
    expect(procStat(program).session).toBe(program);
    // The sockets from fd 3, the lock after them; the first run's notify socket stays the
    // supervisor's (close-on-exec for later runs), nothing of the launcher's is left.
    expect(openFds(program)).toEqual([0, 1, 2, 3, 4]);
    expect(environ(program).find((v) => v.startsWith('LISTEN_PID='))).toBe(`LISTEN_PID=${program}`);
    expect(environ(program).filter((v) => /^DAEMONKIT_(PROGRAM_PID|FIRST_RUN|SUPERVISE)=/.test(v))).toEqual([]);
    // It runs as any run does: restarted when killed, stopped with the supervisor.
    process.kill(program, 'SIGKILL');
    const second = pc.track(await waitFor('the restart', () => {
      const pid = stateOf(d, 'sv').programPid;
      return typeof pid === 'number' && pid !== program && pid;
    }));
    expect(procStat(second).ppid).toBe(supervisor);
    expect(await cli(d, 'stop', '--name', 'sv')).toMatchObject({ code: 0, stdout: `sv stopped (pid ${supervisor})\n` });
    expect([isAlive(supervisor), isAlive(second)]).toEqual([false, false]);
  });

  it('a program that cannot be executed: exit 1 with the reason, and nothing left behind', async () => {
    const d = dirs();
    const bad = fresh('not-a-program');
    writeFileSync(bad, '\x7fELF garbage\n');
    chmodSync(bad, 0o755);
    const r = await cli(d, 'start', '--name', 'bad', '--restart', 'always', '--', bad);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^bad: failed to start: cannot start the program: .*execve.*${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(existsSync(join(d.DAEMONKIT_RUN_DIR, 'bad.pid'))).toBe(false);
    // No supervisor, no program: the test runner (their subreaper) has no child left.
    await waitFor('nothing left running', () => readdirSync('/proc').every((p) => !/^\d+$/.test(p) || !readProcCmd(p).includes(bad)));
  });

  it('is ready by each mode: notify (READY=1 at once, before the supervisor booted), exec, tcp', async () => {
    const d = dirs();
    // READY=1 sent by a program faster than a Node boot (a helper process of the service, as
    // systemd-notify would be): the socket was bound before it ran.
    const ready = fresh('ready.sh');
    writeFileSync(ready, `python3 -c "import os,socket; a=os.environ['NOTIFY_SOCKET']; a=chr(0)+a[1:] if a[0]=='@' else a; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', a)"\nexec sleep 1000\n`);
    const notify = await cli(d, 'start', '--name', 'n', '--restart', 'always', '--', 'sh', ready);
    expect([notify.code, notify.stderr]).toEqual([0, '']);
    pc.track(pidOf(notify.stdout));
    pc.track(stateOf(d, 'n').programPid);
    const fast = await cli(d, 'start', '--name', 'fast', '--restart', 'on-failure', '--listen', '127.0.0.1:0', '--', 'python3', fixture('notify-ready.py'), fresh('report.json'));
    expect([fast.code, fast.stderr]).toEqual([0, '']);
    const fastSupervisor = pc.track(pidOf(fast.stdout));
    pc.track(stateOf(d, 'fast').programPid);
    expect(stateOf(d, 'fast').failed).toBe(null);

    const script = fresh('sleeper.sh');
    writeFileSync(script, 'exec sleep 1000\n');
    const exec = await cli(d, 'start', '--name', 'e', '--ready', 'exec', '--restart', 'always', '--', 'sh', script);
    expect([exec.code, exec.stderr]).toEqual([0, '']);
    pc.track(pidOf(exec.stdout));
    pc.track(stateOf(d, 'e').programPid);

    const port = freePort();
    // The program binds the port itself: ready once it accepts there.
    const tcp = await cli(d, 'start', '--name', 't', '--ready', `tcp:127.0.0.1:${port}`, '--restart', 'always', '--', process.execPath, join(root, 'bench', 'tiny-server.mjs'), String(port));
    expect([tcp.code, tcp.stderr]).toEqual([0, '']);
    pc.track(pidOf(tcp.stdout));
    pc.track(stateOf(d, 't').programPid);
    expect(await httpGet(port)).toBe('ok');
    for (const name of ['n', 'fast', 'e', 't']) expect((await cli(d, 'stop', '--name', name)).code).toBe(0);
    expect(isAlive(fastSupervisor)).toBe(false);
  });

  it('a program that crashes before it is ready fails the start, with its output', async () => {
    const d = dirs();
    const script = fresh('crash.sh');
    writeFileSync(script, 'echo "cannot open the database" >&2\nexit 3\n');
    const r = await cli(d, 'start', '--name', 'crash', '--restart', 'always', '--', 'sh', script);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^crash: failed to start: exited with code 3 before it was ready \(pid \d+\)/);
    expect(r.stderr).toContain('cannot open the database');
    expect(existsSync(join(d.DAEMONKIT_RUN_DIR, 'crash.pid'))).toBe(false);
  });
});

function readProcCmd(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
