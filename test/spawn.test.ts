// spawnDaemon() and spawnChild(): what the started program looks like from /proc.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getrlimit, getsid, reap, spawnChild, spawnDaemon } from '../src/index';
import { pipe, setCloseOnExec } from '../src/os/fd';
import {
  fdTarget,
  fixture,
  isAlive,
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
  straceUnavailable,
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
    // Only new descriptors count: Node may close one of its own meanwhile (seen on Node 26).
    expect(openFds('self').filter((fd) => !before.includes(fd))).toEqual([]);
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

/** One line of /proc/PID/limits, as the kernel prints it ('unlimited' for RLIM_INFINITY). */
function procLimit(pid: number | 'self', label: 'Max open files' | 'Max core file size'): { soft: string; hard: string } {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(label))!;
  const [soft, hard] = line.slice(label.length).trim().split(/\s+/);
  return { soft, hard };
}

const shown = (v: number) => (v === Infinity ? 'unlimited' : String(v));

/** The error a start threw; a start that succeeded (old code ignoring a field) is tracked and yields undefined. */
function refusal(start: () => number): unknown {
  try {
    pc.track(start());
  } catch (err) {
    return err;
  }
  return undefined;
}

const noStrace = straceUnavailable();

/** rootIt() that also needs strace; skipped with the reason otherwise. */
function straceRootIt(name: string, fn: () => unknown | Promise<unknown>) {
  if (noStrace === undefined) rootIt(name, fn);
  else it.skip(`${name} [skipped: ${noStrace}]`, fn);
}

const starters = [
  ['spawnDaemon', spawnDaemon],
  ['spawnChild', spawnChild],
] as const;

describe('rlimits of the new program', () => {
  // Values the caller is unlikely to have (soft 1024 is a common default): the child's
  // /proc/PID/limits then shows they came from `rlimits`. Without root the hard value cannot
  // exceed ours.
  const asked = () => {
    const hard = Math.min(2000, getrlimit('nofile').hard);
    return { soft: Math.min(1000, hard), hard };
  };

  it.each(starters)('%s sets the limits asked in the new program (nofile 1000/2000, core 0)', (_, start) => {
    const nofile = asked();
    expect(getrlimit('nofile')).not.toEqual(nofile); // else the check below proves nothing
    const pid = pc.track(start('/bin/sleep', { args: ['30'], rlimits: { nofile, core: 0 } }));
    expect(procLimit(pid, 'Max open files')).toEqual({ soft: String(nofile.soft), hard: String(nofile.hard) });
    expect(procLimit(pid, 'Max core file size')).toEqual({ soft: '0', hard: '0' });
  });

  it.each(starters)("%s leaves the caller's own limits as they were", (_, start) => {
    const before = { nofile: getrlimit('nofile'), core: getrlimit('core'), proc: readFileSync('/proc/self/limits', 'utf8') };
    const pid = pc.track(start('/bin/sleep', { args: ['30'], rlimits: { nofile: asked(), core: 0 } }));
    expect(procLimit(pid, 'Max core file size').hard).toBe('0'); // the child did get them
    expect({ nofile: getrlimit('nofile'), core: getrlimit('core'), proc: readFileSync('/proc/self/limits', 'utf8') }).toEqual(before);
  });

  it.each(starters)("%s keeps the caller's hard limit for a partial { soft }", (_, start) => {
    const mine = { nofile: getrlimit('nofile'), core: getrlimit('core') };
    const soft = asked().soft;
    expect(mine.nofile.soft).not.toBe(soft);
    const pid = pc.track(start('/bin/sleep', { args: ['30'], rlimits: { nofile: { soft }, core: { soft: 0 } } }));
    expect(procLimit(pid, 'Max open files')).toEqual({ soft: String(soft), hard: shown(mine.nofile.hard) });
    expect(procLimit(pid, 'Max core file size')).toEqual({ soft: '0', hard: shown(mine.core.hard) });
  });

  it.each(starters)("%s reports a limit the kernel refuses as EPERM from setrlimit naming it, and leaves no process", (_, start) => {
    // A nofile hard limit above fs.nr_open is EPERM even for root (and raising the hard
    // limit at all is EPERM without root). core comes first so the error must name the
    // entry that failed, not the first one.
    const nrOpen = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8'));
    const err = refusal(() => start('/bin/sleep', { args: ['30'], rlimits: { core: 0, nofile: { soft: 1024, hard: nrOpen + 1 } } }));
    expect(err).toMatchObject({
      code: 'EPERM',
      syscall: 'setrlimit',
      resource: 'nofile',
      message: "EPERM: operation not permitted, setrlimit 'nofile'",
    });
    expect(ourChildren()).toEqual([]); // neither a zombie nor a program started anyway
  });

  it.each(starters)('%s rejects an unknown resource name before forking, naming options.rlimits and the name', (_, start) => {
    const err = refusal(() => start('/bin/true', { rlimits: { files: 100 } }));
    expect(err).toBeInstanceOf(RangeError);
    expect(err).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/'options\.rlimits' names no resource limit .*nofile.*Received 'files'/) });
    expect(ourChildren()).toEqual([]);
  });

  it.each(starters)('%s rejects a soft limit above the hard one before forking, naming options.rlimits.nofile.soft', (_, start) => {
    const err = refusal(() => start('/bin/true', { rlimits: { nofile: { soft: 200, hard: 100 } } }));
    expect(err).toBeInstanceOf(RangeError);
    expect(err).toMatchObject({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('"options.rlimits.nofile.soft"') });
    expect(ourChildren()).toEqual([]);
  });

  straceRootIt('sets the limits in the child after the descriptor sweep and before the ids (strace)', () => {
    // Before setresuid: a hard limit raised for a program that runs as another user must be
    // set while the child is still root. After the sweep: its bound was read with our limits.
    // strace -f shows the child's real system calls in order; the fixture waits for the child,
    // so nothing outlives it.
    const trace = join(tmp(), 'limits.trace');
    const options = { rlimits: { nofile: { soft: 1000, hard: 2000 }, core: 0 }, credentials: { uid: 65534, gid: 65534, groups: [] } };
    const run = spawnSync(
      'strace',
      ['-f', '-qq', '-s', '256', '-o', trace, '-e', 'trace=/^(close_range|setrlimit|prlimit64|setgroups|setresgid|setresuid|execve)$',
        process.execPath, fixture('spawn-child-wait.js'), JSON.stringify(['/bin/true', options])],
      { encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    const { pid, status } = JSON.parse(run.stdout);
    expect(status).toEqual({ code: 0, signal: null });

    const steps: string[] = [];
    for (const line of readFileSync(trace, 'utf8').split('\n')) {
      const m = /^(\d+) +(\w+)\((.*)\) += (-?\d+)/.exec(line);
      if (m === null || +m[1] !== pid) continue;
      const [, , call, args] = m;
      if (call === 'prlimit64' || call === 'setrlimit') {
        // Only calls that set a limit: prlimit64(0, RES, NEW, OLD) with NEW not NULL.
        const set = /^(?:0, )?(RLIMIT_\w+), (\{[^}]*\})/.exec(args);
        if (set) steps.push(`setrlimit ${set[1]} ${set[2]}`);
      } else {
        steps.push(call);
      }
      if (call === 'execve') break;
    }
    expect(steps).toEqual([
      'close_range',
      'setrlimit RLIMIT_NOFILE {rlim_cur=1000, rlim_max=2000}',
      'setrlimit RLIMIT_CORE {rlim_cur=0, rlim_max=0}',
      'setgroups',
      'setresgid',
      'setresuid',
      'execve',
    ]);
  });
});

describe('reap', () => {
  it('takes one pid of ours only: 0, -1, 2**31 and 1.5 are RangeErrors naming "pid", and nothing is reaped', async () => {
    // waitpid(0) or waitpid(-1) would reap any child of the group, and 2**31 wraps to a
    // process group as pid_t. A child that already exited (a zombie) must still be there
    // for its owner after every refused call.
    const pid = pc.track(spawnChild('sh', { args: ['-c', 'exit 3'] }));
    await waitFor(`pid ${pid} to be a zombie`, () => procStat(pid).state === 'Z');
    for (const bad of [0, -1, 2 ** 31, 1.5]) {
      let thrown: unknown;
      try {
        reap(bad);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, `reap(${bad})`).toBeInstanceOf(RangeError);
      expect(thrown, `reap(${bad})`).toMatchObject({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('"pid"') });
      expect(procStat(pid).state, `after reap(${bad})`).toBe('Z');
    }
    expect(await pc.exitOf(pid)).toEqual({ code: 3, signal: null });
  });

  it("leaves a child_process child to child_process: its 'exit' still fires after reap(0) was attempted", async () => {
    // The child ends while this code runs synchronously (libuv reaps children from the event
    // loop, so it cannot have yet): a reap(0) that called waitpid(0) would take its status
    // and child_process would never see it exit. The child blocks on a pipe we hold, and
    // exits when we close our end.
    const [readEnd, writeEnd] = pipe();
    // Not pc.start(): its cleanup waits for 'exit', which the bug this test catches never
    // sends; this test kills what it started itself.
    const child = spawn('sh', ['-c', 'read x'], { stdio: [readEnd, 'ignore', 'ignore'] });
    closeSync(readEnd);
    let exit: unknown;
    child.once('exit', (code, signal) => (exit = { code, signal }));
    try {
      // spawn() returns once sh has exec'd: it holds its copy of the read end.
      const pid = child.pid!;
      closeSync(writeEnd); // EOF: `read` fails, sh exits 1
      const deadline = Date.now() + 10_000;
      while (procStat(pid).state !== 'Z') {
        if (Date.now() > deadline) throw new Error(`sh (pid ${pid}) did not exit after EOF`);
      }
      try {
        reap(0);
      } catch {
        // refused: what we want; the event below is what this test is about
      }
      expect(await waitFor("child_process's 'exit' event", () => exit, 5000)).toEqual({ code: 1, signal: null });
    } finally {
      if (exit === undefined && child.pid !== undefined && isAlive(child.pid)) child.kill('SIGKILL');
    }
  });
});
