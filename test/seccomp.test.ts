// spawnDaemon() and spawnChild() under seccomp filters that real machines have, on the real
// kernel: test/fixtures/seccomp-run.c (built here with cc) installs the filter and execs a
// Node launcher (test/fixtures/seccomp-spawn.js) that calls the library from this checkout
// and reports what it got as JSON. The filter is inherited by everything the launcher starts.
//
//   close_range-eperm  close_range(2) fails with EPERM, as under older container profiles.
//   exit0-sigsys       exit_group(0) dies by SIGSYS: spawnDaemon()'s middle process, which
//                      does _exit(0) right after sending the daemon's pid, dies there.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture, isAlive, openFds, ourChildren, procStat, untilSleeping, useProcessControl, useTmpDir } from './helpers';

const pc = useProcessControl();
const tmp = useTmpDir();

type Mode = 'close_range-eperm' | 'exit0-sigsys';

/** Why these tests cannot run here, or undefined. */
function unsupported(): string | undefined {
  if (process.platform !== 'linux') return `seccomp is Linux-only, running on ${process.platform}`;
  if (process.arch !== 'x64' && process.arch !== 'arm64') return `seccomp-run.c filters x86_64 and aarch64 only, running on ${process.arch}`;
  if (!/^Seccomp:/m.test(readFileSync('/proc/self/status', 'utf8'))) return 'the kernel has no seccomp (no Seccomp: line in /proc/self/status)';
  if (spawnSync('cc', ['--version'], { stdio: 'ignore' }).error) return 'no C compiler (cc) to build test/fixtures/seccomp-run.c';
  return undefined;
}
const skipReason = unsupported();
if (skipReason !== undefined) console.log(`seccomp.test.ts: skipping every test: ${skipReason}`);

/** it() that runs only where seccomp-run can be built and filters this architecture. */
function seccompIt(name: string, fn: () => unknown | Promise<unknown>) {
  if (skipReason === undefined) it(name, fn);
  else it.skip(`${name} [skipped: ${skipReason}]`, fn);
}

let runner = '';
beforeAll(() => {
  if (skipReason !== undefined) return;
  runner = join(tmp(), 'seccomp-run');
  const cc = spawnSync('cc', ['-O2', '-Wall', '-o', runner, fixture('seccomp-run.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cc failed to build seccomp-run.c (${cc.status ?? cc.signal}):\n${cc.stderr}`);
});

interface Report {
  seccomp: string | null;
  pid?: number;
  error?: { code: string; syscall: string; path?: string; message: string };
  leakedFd?: number;
  leakedFdCloseOnExec?: boolean;
  zombies: number[];
}

interface Spec {
  call: 'spawnDaemon' | 'spawnChild';
  file: string;
  options: object;
  subreaper?: boolean;
  leak?: string;
}

const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();

function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (procStat(+entry).ppid === parent) out.push(+entry);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * The launcher's children, when it is blocked in wait4 on a program that already exec'd
 * (named `name`) with nothing else left to wait for: spawnDaemon() waiting for a running
 * daemon to end. A correct spawnDaemon() waits only for its middle process, a fork of node
 * that never execs.
 */
function blockedOn(launcher: number, name: string): number[] {
  try {
    if (readFileSync(`/proc/${launcher}/wchan`, 'utf8') !== 'do_wait') return [];
    const children = childrenOf(launcher);
    const running = children.filter((pid) => procStat(pid).state !== 'Z' && comm(pid) === name);
    return running.length > 0 && running.length === children.length ? running : [];
  } catch {
    return []; // the launcher or a child is gone meanwhile
  }
}

/**
 * Runs the launcher under `mode` and waits for it to report and exit. If it blocks on the
 * daemon it started (the defect of item 13 when it is a subreaper), the daemon is killed so it
 * returns and reports what spawnDaemon() did then; `killedToUnblock` lists those pids.
 */
async function launch(mode: Mode, spec: Spec) {
  const name = basename(spec.file);
  const child = pc.start(runner, [mode, process.execPath, fixture('seccomp-spawn.js'), JSON.stringify(spec)]);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  let closed = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      closed = true;
      resolve({ code, signal });
    }),
  );
  const killedToUnblock: number[] = [];
  while (!closed) {
    for (const pid of childrenOf(child.pid!)) {
      try {
        if (comm(pid) === name) pc.track(pid); // killed after the test whatever happens
      } catch {
        // gone meanwhile
      }
    }
    const blocked = blockedOn(child.pid!, name);
    for (const pid of blocked) process.kill(pid, 'SIGKILL');
    killedToUnblock.push(...blocked);
    await Promise.race([exit, new Promise((r) => setTimeout(r, 10))]);
  }
  const { code, signal } = await exit;
  // A daemon the launcher did not report (it threw although the daemon runs) is an orphan
  // reparented to us, the nearest subreaper: it goes with the test too.
  for (const pid of ourChildren()) {
    try {
      if (comm(pid) === name) pc.track(pid);
    } catch {
      // gone meanwhile
    }
  }
  let report: Report;
  try {
    report = JSON.parse(stdout);
  } catch {
    throw new Error(`the launcher reported nothing (exit ${code ?? signal}): ${stderr}`);
  }
  return { report, code, signal, stderr, killedToUnblock };
}

describe('seccomp-run, the fixture: its filters are in force', () => {
  seccompIt('close_range-eperm: close_range(2) fails with EPERM', () => {
    const r = spawnSync(runner, ['close_range-eperm'], { encoding: 'utf8' });
    expect([r.stdout, r.stderr, r.status]).toEqual(['close_range: EPERM\n', '', 3]);
  });

  seccompIt('exit0-sigsys: exit status 0 is death by SIGSYS, any other status goes through', () => {
    expect(spawnSync(runner, ['exit0-sigsys', '/bin/true']).signal).toBe('SIGSYS');
    expect(spawnSync(runner, ['exit0-sigsys', '/bin/sh', '-c', 'exit 5']).status).toBe(5);
  });
});

describe('close_range(2) refused with EPERM (issue 10, item 10)', () => {
  seccompIt('spawnDaemon falls back to marking each descriptor: the daemon starts with only 0, 1, 2', async () => {
    const r = await launch('close_range-eperm', {
      call: 'spawnDaemon',
      file: '/bin/sleep',
      options: { args: ['30'] },
      leak: join(tmp(), 'leak-daemon'),
    });
    expect(r.report).toMatchObject({ seccomp: '2', leakedFdCloseOnExec: false });
    expect(r.report.error ?? null).toBeNull();
    const pid = pc.track(r.report.pid!);
    await untilSleeping(pid); // exec'd, and done with the loader's files
    expect(openFds(pid)).toEqual([0, 1, 2]);
  });

  seccompIt('spawnChild falls back too: the child starts with only 0, 1, 2', async () => {
    const r = await launch('close_range-eperm', {
      call: 'spawnChild',
      file: '/bin/sleep',
      options: { args: ['30'] },
      leak: join(tmp(), 'leak-child'),
    });
    expect(r.report).toMatchObject({ seccomp: '2', leakedFdCloseOnExec: false });
    expect(r.report.error ?? null).toBeNull();
    const pid = pc.track(r.report.pid!); // reparented to us when the launcher exited
    await untilSleeping(pid);
    expect(openFds(pid)).toEqual([0, 1, 2]);
  });
});

describe('the middle process dies after sending the pid (issue 10, item 13)', () => {
  seccompIt('a subreaper launcher gets the running daemon\'s pid, without waiting for the daemon to end', async () => {
    const r = await launch('exit0-sigsys', { call: 'spawnDaemon', file: '/bin/sleep', options: { args: ['30'] }, subreaper: true });
    expect(r.report.seccomp).toBe('2');
    expect({ threw: r.report.error ?? null, daemonsKilledToUnblockIt: r.killedToUnblock }).toEqual({ threw: null, daemonsKilledToUnblockIt: [] });
    const pid = r.report.pid!;
    expect(isAlive(pid)).toBe(true);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('/bin/sleep\x0030\x00');
    expect(r.report.zombies).toEqual([]); // the middle process was reaped
    expect([r.code, r.signal]).toEqual([3, null]);
  });

  seccompIt('a launcher that is not a subreaper gets the pid, not ECHILD, while the daemon runs', async () => {
    const r = await launch('exit0-sigsys', { call: 'spawnDaemon', file: '/bin/sleep', options: { args: ['30'] } });
    expect(r.report.seccomp).toBe('2');
    expect(r.report.error ?? null).toBeNull();
    const pid = r.report.pid!;
    expect(isAlive(pid)).toBe(true);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('/bin/sleep\x0030\x00');
    expect([r.code, r.signal]).toEqual([3, null]);
  });

  seccompIt('a daemon that fails before execve is reported as its own step (chdir ENOENT), reaped, with nothing left waiting', async () => {
    const cwd = join(tmp(), 'missing');
    const r = await launch('exit0-sigsys', { call: 'spawnDaemon', file: '/bin/sleep', options: { args: ['30'], cwd }, subreaper: true });
    expect(r.report.seccomp).toBe('2');
    expect(r.report.error).toMatchObject({ code: 'ENOENT', syscall: 'chdir', path: cwd });
    expect(r.report.zombies).toEqual([]); // the middle and the failed grandchild were reaped
    expect(r.killedToUnblock).toEqual([]);
    expect([r.code, r.signal]).toEqual([3, null]);
  });
});
