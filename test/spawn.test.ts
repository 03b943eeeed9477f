// spawnDaemon() and spawnChild(): what the started program looks like from /proc.
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getsid, reap, setCloseOnExec, spawnChild, spawnDaemon } from '../src/index';
import {
  fdTarget,
  fixture,
  openFds,
  procStat,
  procStatus,
  rootIt,
  useProcessControl,
  useTmpDir,
  waitFor,
  zombieChildren,
  ourChildren,
  untilSleeping,
  idGroups,
} from './helpers';

const pc = useProcessControl();
const tmp = useTmpDir();

const sleeper = (options: Parameters<typeof spawnDaemon>[1] = {}) =>
  pc.track(spawnDaemon('/bin/sleep', { args: ['30'], ...options }));

describe('spawnDaemon', () => {
  it('reparents the daemon to this subreaper, outside our session, with no terminal', () => {
    const pid = sleeper();
    const stat = procStat(pid);
    expect(stat.ppid).toBe(process.pid);
    expect(stat.session).not.toBe(pid); // the middle process led the session, then exited
    expect(stat.session).not.toBe(getsid());
    expect(stat.ttyNr).toBe(0);
    expect(procStatus(pid).Name).toBe('sleep');
  });

  it('has no controlling terminal even when launched from a real pseudo-terminal', async () => {
    // script(1) runs the launcher on a new pty; the launcher prints its own tty_nr and the
    // daemon's pid.
    const out = execFileSync('script', ['-qec', `${process.execPath} ${fixture('spawn-from-tty.js')}`, '/dev/null'], {
      encoding: 'utf8',
    });
    const { launcherTty, pid } = JSON.parse(out.trim().split('\n').pop()!);
    expect(launcherTty).not.toBe(0);
    pc.track(pid);
    const stat = procStat(pid);
    expect(stat.ttyNr).toBe(0);
    expect(stat.session).not.toBe(pid);
    expect(fdTarget(pid, 0)).toBe('/dev/null');
    expect(fdTarget(pid, 1)).toBe('/dev/null');
  });

  it('sets cwd and umask as asked', () => {
    const pid = sleeper({ cwd: tmp(), umask: 0o027 });
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Umask:\s+0027$/m);
    expect(execFileSync('readlink', [`/proc/${pid}/cwd`], { encoding: 'utf8' }).trim()).toBe(tmp());
  });

  it('opens exactly 0, 1, 2 and the declared fds, even when we leak one without FD_CLOEXEC', async () => {
    const log = join(tmp(), 'out.log');
    const out = openSync(log, 'a');
    const extra = openSync(join(tmp(), 'leak'), 'w');
    setCloseOnExec(extra, false); // would survive execve without the close-on-exec sweep
    const a = openSync(join(tmp(), 'a'), 'w');
    const b = openSync(join(tmp(), 'b'), 'w');
    try {
      const pid = sleeper({ stdout: out, fds: [b, a] });
      // The new program's loader and locale setup briefly open files at fd 5: look once it
      // sleeps.
      await untilSleeping(pid);
      expect(openFds(pid)).toEqual([0, 1, 2, 3, 4]);
      expect(fdTarget(pid, 0)).toBe('/dev/null');
      expect(fdTarget(pid, 1)).toBe(log);
      expect(fdTarget(pid, 2)).toBe('/dev/null');
      expect(fdTarget(pid, 3)).toBe(join(tmp(), 'b'));
      expect(fdTarget(pid, 4)).toBe(join(tmp(), 'a'));
    } finally {
      for (const fd of [out, extra, a, b]) closeSync(fd);
    }
  });

  it('places descriptors that sit on each other\'s target numbers without losing either', () => {
    // The launcher has files at fds 3 and 4 and hands them over swapped, and fd 3 in place
    // (close-on-exec before): a naive dup2 loop loses one, a skipped dup2 keeps FD_CLOEXEC.
    const p = join(tmp(), 'p');
    const q = join(tmp(), 'q');
    writeFileSync(p, '');
    writeFileSync(q, '');
    const fdP = openSync(p, 'r');
    const fdQ = openSync(q, 'r');
    let out: string;
    try {
      out = execFileSync(process.execPath, [fixture('spawn-fd-swap.js')], { stdio: ['ignore', 'pipe', 'inherit', fdP, fdQ], encoding: 'utf8' });
    } finally {
      closeSync(fdP);
      closeSync(fdQ);
    }
    const { swapped, inPlace } = JSON.parse(out);
    pc.track(swapped);
    pc.track(inPlace);
    expect([fdTarget(swapped, 3), fdTarget(swapped, 4)]).toEqual([q, p]);
    expect(fdTarget(inPlace, 3)).toBe(p);
  });

  it('hands over a descriptor near RLIMIT_NOFILE', () => {
    // With 64 descriptors allowed, fd 63 must still be placed at 3 (no scratch copy above it).
    const script = `const fs = require('fs'); const d = require(${JSON.stringify(require.resolve('../dist'))});
      const opened = []; let fd; while ((fd = fs.openSync('/dev/null', 'r')) < 63) opened.push(fd);
      opened.forEach((f) => fs.closeSync(f));
      process.stdout.write(String(d.spawnDaemon('/bin/sleep', { args: ['30'], fds: [fd] })));`;
    const pid = pc.track(+execFileSync('sh', ['-c', 'ulimit -n 64 && exec "$0" -e "$1"', process.execPath, script], { encoding: 'utf8' }));
    expect(fdTarget(pid, 3)).toBe('/dev/null');
  });

  it('refuses a closed descriptor, naming the option, and starts nothing', () => {
    const fd = openSync(join(tmp(), 'closed'), 'w');
    closeSync(fd);
    expect(() => spawnDaemon('/bin/sleep', { args: ['30'], fds: [0, fd] })).toThrow(
      expect.objectContaining({ code: 'EBADF', fd, message: `EBADF: bad file descriptor, fcntl 'options.fds[1] (fd ${fd})'` }),
    );
    expect(() => spawnDaemon('/bin/sleep', { args: ['30'], stdout: fd })).toThrow(/'options\.stdout \(fd \d+\)'/);
    expect(ourChildren()).toEqual([]);
  });

  it('starts with no blocked and no ignored signals although we ignore SIGPIPE', () => {
    // Node sets SIGPIPE to SIG_IGN (bit 13 of SigIgn); an ignored signal survives execve.
    expect(BigInt(`0x${procStatus('self').SigIgn}`) & (1n << 12n)).not.toBe(0n);
    const pid = sleeper();
    const status = procStatus(pid);
    expect(status.SigBlk).toBe('0000000000000000');
    expect(status.SigIgn).toBe('0000000000000000');
  });

  it('passes the environment and arguments exactly', async () => {
    const out = join(tmp(), 'env.txt');
    const fd = openSync(out, 'w');
    try {
      const pid = pc.track(
        spawnDaemon('sh', { args: ['-c', 'echo "$0|$1|$DK_TEST"', 'zero', 'x y'], argv0: 'my-sh', env: { DK_TEST: 'v=1', PATH: '/usr/bin:/bin' }, stdout: fd }),
      );
      await pc.exitOf(pid);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(out, 'utf8')).toBe('zero|x y|v=1\n');
  });

  it('reports a missing executable as ENOENT from execve, naming it', () => {
    expect(() => spawnDaemon('/nonexistent/prog')).toThrow(
      expect.objectContaining({ code: 'ENOENT', errno: -2, syscall: 'execve', path: '/nonexistent/prog', message: "ENOENT: no such file or directory, execve '/nonexistent/prog'" }),
    );
  });

  it('reports a missing cwd as ENOENT from chdir, naming it', () => {
    const cwd = join(tmp(), 'missing');
    expect(() => spawnDaemon('/bin/true', { cwd })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'chdir', path: cwd }),
    );
  });

  it('reports a directory as the program as EACCES from execve', () => {
    expect(() => spawnDaemon(tmp())).toThrow(expect.objectContaining({ code: 'EACCES', syscall: 'execve' }));
  });

  it('reaps a daemon that failed before execve (we are its subreaper): no zombie', () => {
    for (let i = 0; i < 20; i++) expect(() => spawnDaemon('/nonexistent/prog')).toThrow(/ENOENT/);
    expect(zombieChildren()).toEqual([]);
  });

  it('resolves a relative program against the new cwd, like child_process.spawn', () => {
    expect(() => spawnDaemon('./missing-prog', { cwd: tmp() })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'execve', path: join(tmp(), 'missing-prog') }),
    );
  });

  it('rejects bad arguments before forking, naming them', () => {
    expect(() => spawnDaemon('')).toThrow(/"file"|'file'/);
    expect(() => spawnDaemon('/bin/true', { umask: 0o1777 })).toThrow(/options\.umask/);
    expect(() => spawnDaemon('/bin/true', { fds: [-1] })).toThrow(/options\.fds\[0\]/);
    expect(() => spawnDaemon('/bin/true', { args: [1 as never] })).toThrow(/options\.args\[0\]/);
    expect(() => spawnDaemon('/bin/true', { env: { 'A=B': 'x' } })).toThrow(/options\.env/);
  });

  it('leaves no zombie and no descriptor behind after 200 spawns', async () => {
    const before = openFds('self');
    const pids: number[] = [];
    for (let i = 0; i < 200; i++) pids.push(pc.track(spawnDaemon('/bin/true')));
    for (const pid of pids) expect(await pc.exitOf(pid)).toEqual({ code: 0, signal: null });
    expect(zombieChildren()).toEqual([]);
    expect(openFds('self')).toEqual(before);
  });
});

describe('spawnChild', () => {
  it('starts a direct child that the caller reaps, with the exit code', async () => {
    const pid = pc.track(spawnChild('sh', { args: ['-c', 'exit 7'] }));
    expect(procStat(pid).ppid).toBe(process.pid);
    expect(await pc.exitOf(pid)).toEqual({ code: 7, signal: null });
  });

  it('reports the signal that ended a child', async () => {
    const pid = pc.track(spawnChild('/bin/sleep', { args: ['30'] }));
    expect(reap(pid)).toBeNull();
    process.kill(pid, 'SIGTERM');
    expect(await pc.exitOf(pid)).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('starts a new session on request', () => {
    const pid = pc.track(spawnChild('/bin/sleep', { args: ['30'], setsid: true }));
    expect(procStat(pid).session).toBe(pid);
    const same = pc.track(spawnChild('/bin/sleep', { args: ['30'] }));
    expect(procStat(same).session).toBe(getsid());
  });

  it('reports a failed exec and leaves no zombie', () => {
    expect(() => spawnChild('/nonexistent')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'execve' }));
    expect(zombieChildren()).toEqual([]);
  });

  rootIt('runs the child as another user with that user\'s groups only', async () => {
    const groups = idGroups('nobody');
    const pid = pc.track(spawnChild('/bin/sleep', { args: ['30'], credentials: { uid: 65534, gid: 65534, groups } }));
    await waitFor('exec', () => procStatus(pid).Name === 'sleep');
    const status = procStatus(pid);
    expect(status.Uid.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
    expect(status.Gid.split(/\s+/)).toEqual(['65534', '65534', '65534', '65534']);
    expect(status.Groups.split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b)).toEqual(groups);
    expect(status.CapEff).toBe('0000000000000000');
  });
});

it('keeps our own descriptors untouched (the fds we handed over are still ours)', () => {
  const fd = openSync(join(tmp(), 'keep'), 'w');
  try {
    sleeper({ fds: [fd] });
    expect(fstatSync(fd).isFile()).toBe(true);
    expect(statSync(join(tmp(), 'keep')).isFile()).toBe(true);
  } finally {
    closeSync(fd);
  }
});
