// daemonize() as a user sees it: the launcher's exit code and text, and the daemon in /proc.
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bindDatagram, getsid, listenTcp, openLockFile, receiveDatagram, tryLock } from '../src/index';
import { fdTarget, fixture, fixtureAsNobody, idGroups, ourChildren, procStat, procStatus, rootIt, useProcessControl, useTmpDir, waitFor, httpGet, toolIt } from './helpers';
import { launch } from './launch';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;
const fresh = (name: string) => join(tmp(), `${name}-${++n}`);


function locked(path: string): boolean {
  const fd = openLockFile(path, { create: false });
  try {
    return !tryLock(fd);
  } finally {
    closeSync(fd);
  }
}

async function started(options: object, behavior = 'serve', spawnOptions = {}) {
  const r = await launch(options, behavior, spawnOptions);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.pid).not.toBeNull();
  pc.track(r.pid!);
  return r;
}

describe('the daemon daemonize() starts', () => {
  it('meets every invariant of docs/design.md (What is checked from outside) and serves', async () => {
    const pidFile = fresh('app.pid');
    const logFile = fresh('app.log');
    const cwd = tmp();
    const leak = fresh('leak');
    const out = openSync(fresh('launcher.out'), 'w');
    let r;
    try {
      r = await started({ name: 'app', pidFile, logFile, cwd, umask: 0o027, listen: [{ host: '127.0.0.1', port: 0 }] }, 'serve', {
        stdio: ['ignore', 'pipe', out],
        env: { ...process.env, LEAK_FILE: leak },
      });
    } finally {
      closeSync(out);
    }
    const pid = r.pid!;
    expect(r.stdout).toBe(`app started (pid ${pid})\n`);
    // The launcher exits as soon as it reads "ready"; the daemon closes its end of that pipe
    // just after writing it, and logs "ready" after that.
    await waitFor('the ready line', () => readFileSync(logFile, 'utf8').includes(`app[${pid}]: ready\n`));
    const stat = procStat(pid);
    expect(stat.ppid).toBe(process.pid); // our subreaper worker, after the launcher exited
    expect(stat.session).not.toBe(pid);
    expect(stat.session).not.toBe(getsid());
    expect(stat.ttyNr).toBe(0);
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe(cwd);
    expect(procStatus(pid).Umask).toBe('0027');
    expect(readlinkSync(`/proc/${pid}/fd/0`)).toBe('/dev/null');
    expect(readlinkSync(`/proc/${pid}/fd/1`)).toBe(logFile);
    expect(readlinkSync(`/proc/${pid}/fd/2`)).toBe(logFile);
    // Only what was declared, and Node's own: nothing the launcher had open.
    const targets = readdirSync(`/proc/${pid}/fd`)
      .map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`))
      // Node >= 24 reads NODE_EXTRA_CA_CERTS on a thread of its own after start-up.
      .filter((t) => t !== process.env.NODE_EXTRA_CA_CERTS);
    for (const t of targets) expect(t).toMatch(new RegExp(`^(/dev/null|${logFile}|${pidFile}|socket:\\[\\d+\\]|anon_inode:.*|pipe:\\[\\d+\\])$`));
    expect(targets).not.toContain(leak);
    // Node's own pipes are self-pipes (both ends in the daemon); a pipe inherited from the
    // launcher (its stdout, the readiness channel) would have an end elsewhere.
    const pipes = new Map<string, number>();
    for (const t of targets.filter((x) => x.startsWith('pipe:'))) pipes.set(t, (pipes.get(t) ?? 0) + 1);
    for (const [pipe, count] of pipes) expect([pipe, count]).toEqual([pipe, 2]);
    // One socket: the listener.
    expect(targets.filter((x) => x.startsWith('socket:'))).toHaveLength(1);
    expect(targets).toContain(pidFile);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${pid}\n`);
    expect(locked(pidFile)).toBe(true);
    expect(readFileSync(logFile, 'utf8')).toMatch(/^serving on 127\.0\.0\.1:\d+$/m);
  });

  it('serves on the socket it was handed, and the PID file holds its pid and is locked', async () => {
    const pidFile = fresh('serve.pid');
    const l = listenTcp({ host: '127.0.0.1', port: 0 });
    closeSync(l.fd); // a free port
    const r = await started({ pidFile, listen: [{ host: '127.0.0.1', port: l.port }] });
    expect(await httpGet(l.port)).toBe(`${r.pid} ${process.getuid!()}\n`);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${r.pid}\n`);
    expect(locked(pidFile)).toBe(true);
  });

  // systemd's protocol, and nothing else, between launcher and service (docs/design.md).
  it('starts with LISTEN_FDS, LISTEN_PID (its own pid), LISTEN_FDNAMES and NOTIFY_SOCKET, not the old marker', async () => {
    const pidFile = fresh('env.pid');
    const r = await started({ pidFile, listen: [{ host: '127.0.0.1', port: 0 }, { path: fresh('env.sock') }] });
    // /proc/PID/environ is the environment execve(2) gave it, whatever it deleted since.
    const initial = Object.fromEntries(
      readFileSync(`/proc/${r.pid}/environ`, 'utf8').split('\0').filter(Boolean).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
    );
    expect(initial).toMatchObject({ LISTEN_FDS: '2', LISTEN_PID: String(r.pid), LISTEN_FDNAMES: 'listen0:listen1' });
    expect(initial.NOTIFY_SOCKET).toMatch(/^@daemonkit\/notify\//);
    // Nothing of daemonkit's own beside the plan: no marker under any name.
    expect(Object.keys(initial).filter((k) => k.startsWith('DAEMONKIT_'))).toEqual(['DAEMONKIT_SERVICE']);
    expect(JSON.parse(initial.DAEMONKIT_SERVICE)).toMatchObject({ name: 'daemon', pidFile, lockFd: 5 });
    // Sockets at 3 and 4, the lock at 5: inherited, then made close-on-exec by the service.
    expect(fdTarget(r.pid!, 3)).toMatch(/^socket:/);
    expect(fdTarget(r.pid!, 4)).toMatch(/^socket:/);
    expect(fdTarget(r.pid!, 5)).toBe(pidFile);
  });

  it('removes the PID file when it exits cleanly (SIGTERM)', async () => {
    const pidFile = fresh('clean.pid');
    const r = await started({ pidFile });
    process.kill(r.pid!, 'SIGTERM');
    expect(await pc.exitOf(r.pid!)).toEqual({ code: 0, signal: null });
    expect(() => readFileSync(pidFile)).toThrow(/ENOENT/);
  });

  it('has no controlling terminal when launched from a real pseudo-terminal', async () => {
    const pidFile = fresh('tty.pid');
    const cmd = `${process.execPath} ${fixture('daemon.mjs')} '${JSON.stringify({ pidFile, name: 'tty' })}'; echo "launcher tty $(ps -o tty= -p $$)"`;
    const out = execFileSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
    expect(out).toMatch(/tty started \(pid \d+\)/);
    expect(out).toMatch(/launcher tty pts\//);
    const pid = Number(/pid (\d+)/.exec(out)![1]);
    pc.track(pid);
    expect(procStat(pid).ttyNr).toBe(0);
    expect(procStat(pid).session).not.toBe(pid);
  });

  rootIt('binds a privileged port as root, then runs as nobody with nobody\'s groups and no capabilities', async () => {
    // A sticky, world-writable run directory (like /tmp): with pidFileOwner the dropped
    // daemon may remove its own PID file.
    chmodSync(tmp(), 0o755);
    const run = fresh('run');
    mkdirSync(run);
    chmodSync(run, 0o1777);
    const pidFile = join(run, 'priv.pid');
    const logFile = fresh('priv.log');
    const l = listenTcp({ host: '127.0.0.1', port: 0 });
    closeSync(l.fd);
    const r = await started({ pidFile, logFile, user: 'nobody', pidFileOwner: 'nobody', listen: [{ host: '127.0.0.1', port: 81 }, { host: '127.0.0.1', port: l.port }] });
    const status = procStatus(r.pid!);
    expect(status.Uid.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
    expect(status.Gid.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
    expect(status.Groups.split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b)).toEqual(idGroups('nobody'));
    expect(status.CapEff).toBe('0000000000000000');
    expect(status.NoNewPrivs).toBe('0');
    expect(await httpGet(81)).toBe(`${r.pid} 65534\n`);
    // The log was chowned before the drop, so the daemon can reopen it.
    expect(execFileSync('stat', ['-c', '%U', logFile], { encoding: 'utf8' }).trim()).toBe('nobody');
    process.kill(r.pid!, 'SIGTERM');
    await pc.exitOf(r.pid!);
    expect(() => readFileSync(pidFile)).toThrow(/ENOENT/);
  });

  rootIt('chroot with user: runs inside the new root as nobody, every thread verified, nothing open outside it', async () => {
    const jail = fresh('jail');
    mkdirSync(join(jail, 'run'), { recursive: true });
    chmodSync(join(jail, 'run'), 0o1777);
    const pidFile = join(jail, 'run', 'jailed.pid');
    const r = await started({ name: 'jailed', chroot: jail, user: 'nobody', pidFileOwner: 'nobody', pidFile });
    const pid = r.pid!;
    expect(readlinkSync(`/proc/${pid}/root`)).toBe(jail);
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe(jail);
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const status = procStatus(Number(tid));
      expect([tid, status.Uid]).toEqual([tid, '65534\t65534\t65534\t65534']);
    }
    // The /proc/self descriptor the drop was verified through is closed: it leads out.
    const targets = readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
    expect(targets.filter((t) => t.startsWith('/proc'))).toEqual([]);
    // Seen from inside, the PID file is /run/jailed.pid; it is removed on a clean exit.
    process.kill(pid, 'SIGTERM');
    expect(await pc.exitOf(pid)).toEqual({ code: 0, signal: null });
    expect(existsSync(pidFile)).toBe(false);
  });

  rootIt('sets no_new_privs when asked', async () => {
    const r = await started({ pidFile: fresh('nnp.pid'), user: 'nobody', noNewPrivileges: true });
    expect(procStatus(r.pid!).NoNewPrivs).toBe('1');
  });

  it('applies rlimits', async () => {
    const r = await started({ rlimits: { nofile: { soft: 1000 }, core: 0 } });
    const limits = readFileSync(`/proc/${r.pid}/limits`, 'utf8');
    expect(limits).toMatch(/^Max open files\s+1000\s/m);
    expect(limits).toMatch(/^Max core file size\s+0\s+0\s/m);
  });

  it('passes env additions and keeps execArgv', async () => {
    const logFile = fresh('env.log');
    const r = await launch({ logFile, env: { APP_MODE: 'test' } }, 'serve', {}, ['--max-old-space-size=123']);
    expect(r.code).toBe(0);
    pc.track(r.pid!);
    expect(readFileSync(logFile, 'utf8')).toMatch(/^\S+Z daemon\[\d+\]: started\numask 22 APP_MODE=test\n/);
    expect(readFileSync(`/proc/${r.pid}/cmdline`, 'utf8').split('\0')).toContain('--max-old-space-size=123');
  });
});

describe('one instance', () => {
  it('20 concurrent launches: one daemon, 19 exit 3 naming its pid, nothing orphaned', async () => {
    const pidFile = fresh('race.pid');
    const results = await Promise.all(Array.from({ length: 20 }, () => launch({ name: 'race', pidFile })));
    const winners = results.filter((r) => r.code === 0);
    expect(winners).toHaveLength(1);
    const pid = winners[0].pid!;
    pc.track(pid);
    const losers = results.filter((r) => r.code !== 0);
    for (const r of losers) {
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(`race already running (pid ${pid})\n`);
    }
    expect(ourChildren()).toEqual([pid]);
  });

  it('20 concurrent launches over a stale PID file: the losers name the new pid, never the dead one', async () => {
    const pidFile = fresh('race-stale.pid');
    writeFileSync(pidFile, '424242\n');
    const results = await Promise.all(Array.from({ length: 20 }, () => launch({ name: 'race', pidFile })));
    const winners = results.filter((r) => r.code === 0);
    expect(winners).toHaveLength(1);
    const pid = pc.track(winners[0].pid!);
    for (const r of results.filter((x) => x.code !== 0)) expect([r.code, r.stderr]).toEqual([3, `race already running (pid ${pid})\n`]);
  });

  it('SIGKILL then launch again: starts, replacing the stale PID file, 10 times', async () => {
    const pidFile = fresh('stale.pid');
    let previous = (await started({ name: 'stale', pidFile })).pid!;
    for (let i = 0; i < 10; i++) {
      process.kill(previous, 'SIGKILL');
      await pc.exitOf(previous);
      const r = await launch({ name: 'stale', pidFile });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`stale: replacing stale PID file '${pidFile}': it was not locked (it held pid ${previous})\n`);
      pc.track(r.pid!);
      expect(readFileSync(pidFile, 'utf8')).toBe(`${r.pid}\n`);
      previous = r.pid!;
    }
  });
});

describe('without forking', () => {
  it('foreground: true keeps the pid, holds the lock, and applies umask, logs and env alike', async () => {
    const pidFile = fresh('fg.pid');
    const logFile = fresh('fg.log');
    const child = pc.start(process.execPath, [
      fixture('daemon.mjs'),
      JSON.stringify({ name: 'fg', pidFile, logFile, foreground: true, umask: 0o077, env: { APP_MODE: 'fg' } }),
    ]);
    await waitFor('ready', () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('ready'));
    // stdout and stderr both go to the log file, with the lifecycle events among them.
    expect(readFileSync(logFile, 'utf8')).toMatch(
      new RegExp(`^\\S+Z fg\\[${child.pid}\\]: started\\numask 77 APP_MODE=fg\\nfg started \\(pid ${child.pid}\\)\\n\\S+Z fg\\[${child.pid}\\]: ready\\n$`),
    );
    expect(readFileSync(pidFile, 'utf8')).toBe(`${child.pid}\n`);
    expect(locked(pidFile)).toBe(true);
    expect(procStat(child.pid!).ppid).toBe(process.pid);
    expect(procStatus(child.pid!).Umask).toBe('0077');
  });

  toolIt(['systemd-socket-activate'], 'under systemd-socket-activate: serves on the activated socket, in the same process', async () => {
    const free = listenTcp({ host: '127.0.0.1', port: 0 });
    closeSync(free.fd);
    const child = pc.start('systemd-socket-activate', [
      '-l', `127.0.0.1:${free.port}`, '--fdname=web',
      process.execPath, fixture('daemon.mjs'), JSON.stringify({ name: 'act', pidFile: fresh('act.pid') }),
    ]);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await waitFor('the activation socket', () => err.includes('Listening on'));
    // The first connection starts the program (exec, same pid); it answers on fd 3.
    expect(await httpGet(free.port)).toBe(`${child.pid} ${process.getuid!()}\n`);
    expect(procStat(child.pid!).ppid).toBe(process.pid);
    expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).toContain('daemon.mjs');
  });

  it('INVOCATION_ID inherited from a unit (the parent is not PID 1): forks like anywhere else', async () => {
    // A CI runner's job, or a shell inside a service, inherits the unit's INVOCATION_ID: it is
    // not the service, and staying in the foreground would never return.
    const pidFile = fresh('inv.pid');
    const r = await started({ name: 'svc', pidFile }, 'serve', { env: { ...process.env, INVOCATION_ID: '0123456789abcdef0123456789abcdef' } });
    expect(r.stdout).toBe(`svc started (pid ${r.pid})\n`);
    expect(procStat(r.pid!).session).not.toBe(getsid());
    expect(readFileSync(pidFile, 'utf8')).toBe(`${r.pid}\n`);
  });

  rootIt('a unit\'s main process (INVOCATION_ID, parent PID 1): does not fork, says started', async () => {
    // A new PID namespace makes sh its PID 1, as systemd is for a unit's main process.
    // --kill-child: when the test kills unshare, the namespace's PID 1 dies, and with it
    // everything in the namespace.
    const pidFile = fresh('inv1.pid');
    const child = pc.start('unshare', ['--pid', '--fork', '--kill-child', '--', 'sh', '-c', `"$0" "$@"; echo "exit $?"`, process.execPath, fixture('daemon.mjs'), JSON.stringify({ name: 'svc', pidFile })], {
      env: { ...process.env, INVOCATION_ID: '0123456789abcdef0123456789abcdef' },
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitFor('started', () => out.includes('started'));
    // The pid as the namespace sees it: node is sh's first child, pid 2, and still running.
    expect(out).toBe('svc started (pid 2)\n');
    expect(readFileSync(pidFile, 'utf8')).toBe('2\n');
    expect(locked(pidFile)).toBe(true);
  });

  rootIt('started as the user already (systemd User=): user names it, nothing to drop, it serves', async () => {
    const pidFile = fresh('as-user.pid');
    chmodSync(tmp(), 0o1777); // like /run/myapp owned by the service: nobody may write here
    const child = pc.start('setpriv', ['--reuid=65534', '--regid=65534', '--init-groups', '--',
      process.execPath, fixtureAsNobody('daemon.mjs'), JSON.stringify({ name: 'asuser', pidFile, user: 'nobody', noNewPrivileges: true, foreground: true })]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitFor('started', () => out.includes('started'));
    expect(out).toBe(`asuser started (pid ${child.pid})\n`);
    const status = procStatus(child.pid!);
    expect(status.Uid).toBe('65534\t65534\t65534\t65534');
    expect(status.NoNewPrivs).toBe('1');
    expect(readFileSync(pidFile, 'utf8')).toBe(`${child.pid}\n`);
  });

  rootIt('launched as the user it names (not root): nothing to drop, it forks and serves', async () => {
    const pidFile = fresh('launch-as-user.pid');
    chmodSync(tmp(), 0o1777);
    const child = pc.start('setpriv', ['--reuid=65534', '--regid=65534', '--init-groups', '--',
      process.execPath, fixtureAsNobody('daemon.mjs'), JSON.stringify({ name: 'asuser', pidFile, user: 'nobody' })]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.once('exit', r));
    expect(err).toBe('');
    expect(code).toBe(0);
    const pid = Number(/^asuser started \(pid (\d+)\)\n$/.exec(out)![1]);
    pc.track(pid);
    expect(procStatus(pid).Uid).toBe('65534\t65534\t65534\t65534');
  });

  it('under systemd (NOTIFY_SOCKET): does not fork and sends READY=1 with MAINPID', async () => {
    const notifySocket = fresh('notify.sock');
    const fd = bindDatagram(notifySocket);
    try {
      const child = pc.start(process.execPath, [fixture('daemon.mjs'), JSON.stringify({ name: 'unit' })], {
        env: { ...process.env, NOTIFY_SOCKET: notifySocket },
      });
      const msg = await waitFor('READY=1', () => receiveDatagram(fd) ?? undefined);
      expect(msg.toString()).toBe(`READY=1\nMAINPID=${child.pid}`);
      expect(procStat(child.pid!).ppid).toBe(process.pid);
    } finally {
      closeSync(fd);
    }
  });
});
