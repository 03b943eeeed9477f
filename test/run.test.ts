// daemonkit run, the supervisor in the foreground: systemd's Type=notify protocol seen from a
// notify socket like systemd's (READY=1 only once the program is, STOPPING=1 on stop), socket
// activation passed through with the program's own LISTEN_PID, orphans reaped as a subreaper,
// the program's exit code with --restart never, restarts with the port kept open.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bindDatagram, receiveDatagram } from '../src/index';
import { fixture, freePort, isAlive, procStat, received, root, useProcessControl, useTmpDir, waitFor, toolIt } from './helpers';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;
const fresh = (name: string) => join(tmp(), `${++n}-${name}`);
const cliPath = join(root, 'dist', 'cli.js');
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
});

/** `daemonkit run ...` as a child of this test, its output collected. */
function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = pc.start(process.execPath, ['--', cliPath, 'run', ...args], { env: { ...process.env, ...env } });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === null ? null : -1))));
  return { child, out, exited };
}

/** A datagram socket like systemd's NOTIFY_SOCKET, and every message it got, in order. */
function notifySocket() {
  const address = `@daemonkit-run-test-${process.pid}-${++n}`;
  const fd = bindDatagram(address);
  fds.push(fd);
  const messages: string[] = [];
  const drain = () => {
    for (let d = receiveDatagram(fd); d !== null; d = receiveDatagram(fd)) messages.push(d.toString());
    return messages;
  };
  return { address, messages: drain, until: (what: string, test: (m: string) => boolean) => waitFor(what, () => drain().some(test)) };
}

describe('daemonkit run', () => {
  it('under systemd Type=notify: READY=1 once the program is ready, STOPPING=1 on stop, exit 0', async () => {
    const sd = notifySocket();
    const pidFile = fresh('web.pid');
    const r = run(['--name', 'web', '--pid-file', pidFile, '--listen', '127.0.0.1:0', '--', 'python3', fixture('notify-ready.py'), '-'], { NOTIFY_SOCKET: sd.address });
    await sd.until('READY=1 from run', (m) => m.includes('READY=1'));
    // The program said READY=1 to run's own socket first: its report is out, it answers.
    const report = JSON.parse(r.out.stdout.split('\n')[0]);
    expect(report.listen_pid).toBe(String(report.pid));
    expect(report.notify_socket).not.toBe(sd.address);
    expect(procStat(report.pid).ppid).toBe(r.child.pid);
    expect(await received(report.port)).toBe(`hello from ${report.pid}\n`);
    // run is the service: its pid in the PID file, locked.
    expect(readFileSync(pidFile, 'utf8')).toBe(`${r.child.pid}\n`);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    const messages = sd.messages();
    const ready = messages.findIndex((m) => m.includes('READY=1'));
    const stopping = messages.findIndex((m) => m.includes('STOPPING=1'));
    expect(ready).toBeGreaterThanOrEqual(0);
    expect(stopping).toBeGreaterThan(ready);
    expect(isAlive(report.pid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('never says READY=1 for a program that ends before it is ready: exit 1 with its last output', async () => {
    const sd = notifySocket();
    const r = run(['--name', 'early', '--pid-file', fresh('early.pid'), '--', 'sh', '-c', 'echo about to fail; exit 4'], { NOTIFY_SOCKET: sd.address });
    expect(await r.exited).toBe(1);
    expect(r.out.stdout).toContain('about to fail');
    expect(r.out.stderr).toMatch(/exited with code 4/);
    expect(sd.messages().some((m) => m.includes('READY=1'))).toBe(false);
  });

  toolIt(['systemd-socket-activate'], 'passes socket activation through: systemd-socket-activate -> run -> the program, with its own LISTEN_PID', async () => {
    const port = freePort();
    const pidFile = fresh('act.pid');
    const child = pc.start('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, process.execPath, '--', cliPath, 'run', '--name', 'act', '--pid-file', pidFile, '--', 'python3', fixture('notify-ready.py'), '-']);
    let err = '';
    let out = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => (out += d));
    await waitFor('the activation socket', () => err.includes('Listening on'));
    // The first connection starts run (exec: systemd-socket-activate's pid), which hands the
    // socket on; the program answers it.
    const answer = await received(port);
    const report = JSON.parse(out.split('\n')[0]);
    expect(answer).toBe(`hello from ${report.pid}\n`);
    expect(report).toMatchObject({ port, listen_fds: '1', listen_pid: String(report.pid) });
    expect(procStat(report.pid).ppid).toBe(child.pid);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${child.pid}\n`);
  });

  it('reaps an orphan that becomes its child, as a subreaper (and as PID 1)', async () => {
    const marker = fresh('orphan');
    // The program's child starts a grandchild and exits: the grandchild, orphaned, becomes
    // run's child; it writes its parent's pid, then exits, and must not stay a zombie.
    const script = `(sh -c 'sleep 0.2; grep PPid /proc/$$/status > ${marker}.ppid; echo $$ > ${marker}.pid' &) ; exec sleep 1000`;
    const r = run(['--name', 'orphans', '--pid-file', fresh('orphans.pid'), '--ready', 'exec', '--', 'sh', '-c', script]);
    const orphan = await waitFor('the orphan to write its pid', () => existsSync(`${marker}.pid`) && Number(readFileSync(`${marker}.pid`, 'utf8')));
    expect(readFileSync(`${marker}.ppid`, 'utf8')).toMatch(new RegExp(`^PPid:\\s+${r.child.pid}$`, 'm'));
    await waitFor('the orphan to be reaped', () => !existsSync(`/proc/${orphan}`));
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });

  it('with --restart never, exits with the program\'s exit code', async () => {
    const r = run(['--name', 'once', '--pid-file', fresh('once.pid'), '--restart', 'never', '--ready', 'exec', '--', 'sh', '-c', 'exit 7']);
    expect(await r.exited).toBe(7);
  });

  it('restarts a crashed program with a new pid while the port stays open, and refuses a second instance', async () => {
    const pidFile = fresh('crashy.pid');
    const port = freePort();
    const r = run(['--name', 'crashy', '--pid-file', pidFile, '--listen', `127.0.0.1:${port}`, '--restart-delay', '0', '--', 'python3', fixture('notify-ready.py'), '-']);
    await waitFor('the first run to answer', () => r.out.stderr.includes('program ready'));
    const first = JSON.parse(r.out.stdout.split('\n')[0]);
    process.kill(first.pid, 'SIGKILL');
    await waitFor('the second run', () => r.out.stdout.split('\n').filter(Boolean).length === 2 && r.out.stderr.split('program ready').length === 3);
    const second = JSON.parse(r.out.stdout.split('\n')[1]);
    expect(second.pid).not.toBe(first.pid);
    expect(second.port).toBe(port);
    expect(await received(port)).toBe(`hello from ${second.pid}\n`);
    expect(r.out.stderr).toMatch(/program killed by SIGKILL; restarting \(restart 1\)/);

    const again = spawnSync(process.execPath, ['--', cliPath, 'start', '--name', 'crashy', '--pid-file', pidFile, '--', 'sleep', '1'], { encoding: 'utf8' });
    expect([again.status, again.stderr]).toEqual([3, `crashy already running (pid ${r.child.pid})\n`]);
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  });

  it('bad input: one line, exit 2, nothing started', async () => {
    const pidFile = fresh('bad.pid');
    const r = run(['--pid-file', pidFile, '--restart', 'sometimes', '--', 'sleep', '1']);
    expect(await r.exited).toBe(2);
    expect(r.out.stderr).toBe(`daemonkit: --restart must be never, on-failure or always, got "sometimes"\n`);
    expect(existsSync(pidFile)).toBe(false);
    const config = fresh('two.json');
    writeFileSync(config, JSON.stringify({ services: [{ command: ['sleep', '1'] }, { command: ['sleep', '2'], name: 'b' }] }));
    const two = run(['--config', config]);
    expect(await two.exited).toBe(2);
    expect(two.out.stderr).toMatch(/^daemonkit: --config .* has 2 services and run runs one/);
  });
});
