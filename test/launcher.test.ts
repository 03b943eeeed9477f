// The launcher started from its API, in this process, with programs that are not daemonkit:
// systemd's protocol is all a service needs, and a start that fails at any step leaves
// nothing behind (no process, no PID file, no socket file, no descriptor of ours).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { listenTcp, PidFile } from '../src/index';
import { resolveOptions, type DaemonizeOptions } from '../src/start/options';
import { launch, type Command, type LaunchResult } from '../src/start/launcher';
import { sendDatagram } from '../src/os/datagram';
import { fixture, fixtureAsNobody, isAlive, isRoot, openFds, root, ourChildren, procStatus, rootIt, useProcessControl, useTmpDir, waitFor, received } from './helpers';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;
const fresh = (name: string) => join(tmp(), `${++n}-${name}`);

const start = (options: DaemonizeOptions, command: Partial<Command> & { file: string }): Promise<LaunchResult> =>
  launch(resolveOptions(options, options.name ?? 'svc'), { args: [], env: process.env, ready: 'notify', ...command });

const answer = received;

// A shell service that says READY=1 through a helper process, as systemd-notify would.
const NOTIFY_READY =
  "python3 -c \"import os,socket; a=os.environ['NOTIFY_SOCKET']; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', chr(0)+a[1:])\"; exec sleep 1000";

describe('a program that speaks only systemd\'s protocol', () => {
  it('gets its socket as fd 3 with LISTEN_PID its own pid, says READY=1, and is reported ready', async () => {
    const report = fresh('report.json');
    const pidFile = fresh('py.pid');
    // libuv opens its signal pipe with the first signal watcher of the loop, once.
    const once = () => {};
    process.on('SIGCHLD', once).removeListener('SIGCHLD', once);
    const before = openFds('self');
    const r = await start(
      { name: 'py', pidFile, listen: [{ host: '127.0.0.1', port: 0 }] },
      { file: 'python3', args: [fixture('notify-ready.py'), report] },
    );
    expect(r).toMatchObject({ ok: true });
    const pid = pc.track((r as { pid: number }).pid);
    const seen = JSON.parse(readFileSync(report, 'utf8'));
    expect(seen).toMatchObject({ pid, listen_pid: String(pid), listen_fds: '1', listen_fdnames: 'listen0' });
    expect(seen.notify_socket).toMatch(/^@daemonkit\/notify\//);
    // The launcher kept none of its copies (Node's own may close one meanwhile: only new
    // descriptors count), and none of them is the PID file; the service holds the lock.
    expect(openFds('self').filter((fd) => !before.includes(fd))).toEqual([]);
    const targets = openFds('self').map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return ''; // closed meanwhile
      }
    });
    expect(targets).not.toContain(pidFile);
    expect(PidFile.acquire(pidFile)).toMatchObject({ acquired: false, pid });
    expect(readFileSync(pidFile, 'utf8')).toBe(`${pid}\n`);
    expect(await answer(seen.port)).toBe(`hello from ${pid}\n`);
  });

  rootIt('runs as the service user from its first instruction: the child dropped before exec', async () => {
    // The report goes to the log file the launcher opened as root; the program, the
    // interpreter and the fixture must be reachable by nobody (not a pyenv shim under /root).
    const logFile = fresh('nobody.log');
    const r = await start(
      { name: 'py', user: 'nobody', logFile, listen: [{ host: '127.0.0.1', port: 0 }] },
      { file: '/usr/bin/python3', args: [fixtureAsNobody('notify-ready.py'), '-'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } },
    );
    expect(r).toMatchObject({ ok: true });
    const pid = pc.track((r as { pid: number }).pid);
    const nobody = String(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    expect(procStatus(pid).Uid.split(/\s+/)).toEqual([nobody, nobody, nobody, nobody]);
    const seen = JSON.parse(readFileSync(logFile, 'utf8'));
    expect(seen).toMatchObject({ pid, uid: Number(nobody), listen_pid: String(pid) });
    expect(await answer(seen.port)).toBe(`hello from ${pid}\n`);
  });
});

describe('the launcher as a library', () => {
  // A long-lived caller (the daemonkit command, a supervisor) goes on after a start: nothing
  // of the start may keep its event loop alive (a timer, a watcher, a signal handler), and
  // it is a subreaper only if it was one. Run in a process of its own, which must end by
  // itself once the start is over.
  it('leaves nothing running in the caller: its process ends by itself after the start', async () => {
    const entry = fresh('caller.ts');
    writeFileSync(
      entry,
      `import { launch } from ${JSON.stringify(join(root, 'src/start/launcher'))};
import { resolveOptions } from ${JSON.stringify(join(root, 'src/start/options'))};
import { isChildSubreaper } from ${JSON.stringify(join(root, 'src/os/prctl'))};
const r = await launch(resolveOptions({}, 'svc'), { file: 'sh', args: ['-c', ${JSON.stringify(NOTIFY_READY)}], env: process.env, ready: 'notify' });
console.log(JSON.stringify({ ...r, subreaper: isChildSubreaper() }));`,
    );
    const bundle = fresh('caller.mjs');
    await build({ entryPoints: [entry], outfile: bundle, bundle: true, platform: 'node', format: 'esm', logLevel: 'error', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); const __dirname = " + JSON.stringify(join(root, 'src', 'native')) + ';' } });
    const caller = pc.start(process.execPath, [bundle]);
    let out = '';
    caller.stdout!.on('data', (d) => (out += d));
    const code = await new Promise((r) => caller.once('exit', r));
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result).toMatchObject({ ok: true, subreaper: false });
    // Its service is the caller's no longer (the caller is gone): it runs on, ours to stop.
    expect(isAlive(result.pid)).toBe(true);
    process.kill(result.pid, 'SIGKILL');
  });
});

describe('the user and the working directory', () => {
  rootIt('enters cwd as the service user, after the drop: a directory only root may enter is refused', async () => {
    const r = await start({ user: 'nobody', cwd: tmp() }, { file: '/bin/true', ready: 'exec' });
    expect(r).toMatchObject({ ok: false, step: 'spawn' });
    expect(String((r as { error: Error }).error.message)).toBe(`cannot start the daemon: EACCES: permission denied, chdir '${tmp()}'`);
  });
});

describe('a failure at each step undoes every step before it', () => {
  // Every case also has a PID file, a log file and a Unix socket where the step comes after
  // them, so each undo is seen.
  const cases: [step: string, setup: () => { options: DaemonizeOptions; command: Partial<Command> & { file: string }; message: RegExp; code?: number }][] = [
    ['lock', () => ({ options: { pidFile: join(tmp(), 'missing', 'x.pid') }, command: { file: 'true' }, message: /cannot open PID file/ }) ],
    ['check', () => ({ options: { pidFile: fresh('c.pid'), cwd: fresh('nowhere') }, command: { file: 'true' }, message: /is not an existing directory/ })],
    ['logs', () => ({ options: { pidFile: fresh('l.pid'), logFile: join(tmp(), 'missing', 'x.log') }, command: { file: 'true' }, message: /cannot open log file/ })],
    [
      'bind',
      () => {
        const busy = listenTcp({ host: '127.0.0.1', port: 0 });
        return {
          options: { pidFile: fresh('b.pid'), logFile: fresh('b.log'), listen: [{ path: fresh('b.sock') }, { host: '127.0.0.1', port: busy.port }] },
          command: { file: 'true' },
          message: /EADDRINUSE/,
        };
      },
    ],
    ['spawn', () => ({ options: { pidFile: fresh('s.pid'), logFile: fresh('s.log'), listen: [{ path: fresh('s.sock') }] }, command: { file: join(tmp(), 'no-such-program') }, message: /cannot start the daemon: ENOENT/ })],
    [
      'wait',
      () => ({
        options: { pidFile: fresh('w.pid'), logFile: fresh('w.log'), listen: [{ path: fresh('w.sock') }] },
        command: { file: 'sh', args: ['-c', 'echo the last words; exit 3'] },
        message: /exited with code 3 before it was ready/,
      }),
    ],
    [
      'wait',
      () => ({
        options: { pidFile: fresh('t.pid'), logFile: fresh('t.log'), listen: [{ path: fresh('t.sock') }], readyTimeout: 300 },
        command: { file: 'sleep', args: ['1000'] },
        message: /did not report ready within 300 ms/,
      }),
    ],
  ];

  for (const [step, setup] of cases) {
    it(`fails at "${step}": no process, no PID file, no socket file, no descriptor left`, async () => {
      const { options, command, message } = setup();
      const before = openFds('self');
      const r = await start(options, command);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.step).toBe(step);
      expect(String((r.error as Error).message)).toMatch(message);
      expect(ourChildren()).toEqual([]);
      if (options.pidFile !== undefined) expect(existsSync(options.pidFile)).toBe(false);
      for (const l of options.listen ?? []) if (l.path !== undefined) expect(existsSync(l.path)).toBe(false);
      expect(openFds('self').filter((fd) => !before.includes(fd))).toEqual([]);
      if (step === 'wait' && command.file === 'sh') expect(r.tail).toContain('  | the last words');
    });
  }

  it('fails at "lock" when another instance holds it: exit 3, and that instance\'s file untouched', async () => {
    const pidFile = fresh('held.pid');
    const held = PidFile.acquire(pidFile);
    if (!held.acquired) throw new Error('could not take the lock');
    held.pidFile.write(4242);
    const r = await start({ pidFile }, { file: 'true' });
    expect(r).toMatchObject({ ok: false, step: 'lock' });
    expect((r as { error: { exitCode: number } }).error.exitCode).toBe(3);
    expect(readFileSync(pidFile, 'utf8')).toBe('4242\n');
    held.pidFile.remove();
  });
});

describe('readiness by what the program says', () => {
  const py = (code: string) => ({ file: '/usr/bin/python3', args: ['-c', `import os, socket, sys, time\na = os.environ['NOTIFY_SOCKET']\nsay = lambda b: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b, chr(0) + a[1:])\n${code}`] });

  it('takes MAINPID= for a process of its session, and writes it into the PID file', async () => {
    const pidFile = fresh('main.pid');
    // The program forks its main process, names it, and its first process exits.
    const r = await start({ pidFile }, py("pid = os.fork()\nif pid == 0:\n    time.sleep(1000)\nsay(b'MAINPID=%d\\nREADY=1' % pid)"));
    expect(r).toMatchObject({ ok: true });
    const main = pc.track((r as { pid: number }).pid);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${main}\n`);
    expect(procStatus(main).Name).toMatch(/python/);
  });

  it('ignores MAINPID= naming a process outside its session: it could name any process', async () => {
    const pidFile = fresh('outside.pid');
    const r = await start({ pidFile }, py("say(b'MAINPID=1\\nREADY=1')\ntime.sleep(1000)"));
    expect(r).toMatchObject({ ok: true });
    const pid = pc.track((r as { pid: number }).pid);
    expect(pid).not.toBe(1);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${pid}\n`);
  });

  it('EXTEND_TIMEOUT_USEC beyond what a timer can hold waits without spinning or warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      // readyTimeout passes while it waits: the extended deadline is then years away.
      const r = await start({ readyTimeout: 200 }, py("say(b'EXTEND_TIMEOUT_USEC=3000000000000')\ntime.sleep(0.5)\nsay(b'READY=1')\ntime.sleep(1000)"));
      expect(r).toMatchObject({ ok: true });
      pc.track((r as { pid: number }).pid);
    } finally {
      process.removeListener('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('waits for READY=1 sent by a helper process of the service (as systemd-notify from a script would)', async () => {
    const script = fresh('notify.sh');
    writeFileSync(script, 'python3 -c "import os,socket; a=os.environ[\'NOTIFY_SOCKET\']; a=chr(0)+a[1:] if a[0]==\'@\' else a; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b\'READY=1\', a)"\nexec sleep 1000\n');
    const r = await start({}, { file: 'sh', args: [script] });
    expect(r).toMatchObject({ ok: true });
    pc.track((r as { pid: number }).pid);
  });

  it('is not fooled by READY=1 from a process outside the service', async () => {
    const r = start({ readyTimeout: 1500 }, { file: 'sleep', args: ['1000'] });
    // Whoever can see the abstract name (it is in /proc/net/unix) may send to it.
    const address = await waitFor('the notify socket', () => readFileSync('/proc/net/unix', 'utf8').match(/@daemonkit\/notify\/\S+/)?.[0]);
    sendDatagram(address, 'READY=1');
    const result = await r;
    expect(result).toMatchObject({ ok: false, step: 'wait' });
    expect(String((result as { error: Error }).error.message)).toMatch(/did not report ready/);
  });

  it('shows the program\'s last STATUS= when it exits before ready', async () => {
    const r = await start({}, { file: 'python3', args: ['-c', "import os,socket; a=os.environ['NOTIFY_SOCKET']; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'STATUS=cannot reach the database', chr(0)+a[1:]); raise SystemExit(4)"] });
    expect(r).toMatchObject({ ok: false, step: 'wait' });
    expect(String((r as { error: Error }).error.message)).toBe('failed to start: cannot reach the database');
  });
  void isRoot;
});
