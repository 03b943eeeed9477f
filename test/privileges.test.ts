// What could outlive a privilege drop inside the process, as /proc shows it: io_uring rings
// set up as root (CVE-2024-22017: libuv sets them up at start-up when UV_USE_IO_URING
// enables them, and file operations submitted through them keep running as root), threads
// glibc does not know (its setxid broadcast never reaches them), and root's supplementary
// groups.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lookupUser } from '../src/index';
import { fixture, idGroups, isRoot, procStatus, rootIt, useProcessControl, useTmpDir, waitFor } from './helpers';
import { launch, launchFixture, nothingLeft } from './launch';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;
const fresh = (name: string) => join(tmp(), `${name}-${++n}`);

const withIoUring = (): NodeJS.ProcessEnv => ({ ...process.env, UV_USE_IO_URING: '1' });
const withoutIoUring = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.UV_USE_IO_URING;
  return env;
};

// mkdtemp's 0700 would keep nobody out of everything below: the only directory nobody may
// not enter is then the root-only one each test makes.
beforeAll(() => chmodSync(tmp(), 0o755));

/**
 * Whether this Node, started with UV_USE_IO_URING=1, sets up an io_uring ring with a kernel
 * submission thread (SQPOLL; /proc/self/fdinfo/FD says SqThread: PID): the kind that keeps the
 * credentials of whoever set it up. libuv 1.45 to 1.48 (Node 20) do at start-up; 1.49 made
 * SQPOLL opt-in per loop and Node does not opt in; a kernel without io_uring has none.
 */
function sqpollRingsWithIoUring(): boolean {
  const probe = `const fs = require('fs');
    console.log(fs.readdirSync('/proc/self/fd').some((fd) => {
      try { return /^SqThread:\\s*\\d+$/m.test(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8')); } catch { return false; }
    }));`;
  return spawnSync(process.execPath, ['-e', probe], { env: withIoUring(), encoding: 'utf8' }).stdout.trim() === 'true';
}
const noSqpollReason = sqpollRingsWithIoUring()
  ? undefined
  : `this Node (libuv ${process.versions.uv}) sets up no io_uring ring with a submission thread for UV_USE_IO_URING=1: no ring keeps root's credentials, nothing to refuse`;
/** rootIt() for the refusals: skipped, saying why, where UV_USE_IO_URING=1 makes no SQPOLL ring. */
function sqpollIt(name: string, fn: () => unknown | Promise<unknown>) {
  if (noSqpollReason === undefined) rootIt(name, fn);
  else it.skip(`${name} [skipped: ${noSqpollReason}]`, fn);
}

// The LD_PRELOAD libraries in test/fixtures/*.c, built here with cc.
const noCc = spawnSync('cc', ['--version'], { stdio: 'ignore' }).error !== undefined;
const libraries = { rawThread: 'preload-raw-thread', ioUring: 'preload-io-uring' } as const;
const library = (name: keyof typeof libraries) => join(tmp(), `${libraries[name]}.so`);
beforeAll(() => {
  if (noCc || !isRoot) return;
  for (const name of Object.values(libraries)) {
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-Wall', '-o', join(tmp(), `${name}.so`), fixture(`${name}.c`)], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc failed to build ${name}.c (${cc.status ?? cc.signal}):\n${cc.stderr}`);
  }
});
/** rootIt() that is also skipped, saying so, where the libraries cannot be built. */
function ccRootIt(name: string, fn: () => unknown | Promise<unknown>) {
  if (noCc) it.skip(`${name} [skipped: no C compiler (cc) to build the LD_PRELOAD libraries in test/fixtures]`, fn);
  else rootIt(name, fn);
}

/** A directory only root may write in (and enter): 0700, owned by root. */
function rootOnlyDir(): string {
  const dir = fresh('root-only');
  mkdirSync(dir);
  chmodSync(dir, 0o700);
  return dir;
}

/** The uid owning path, or null when there is no such file. */
function ownerOf(path: string): number | null {
  try {
    return statSync(path).uid;
  } catch {
    return null;
  }
}


/** The fields of a /proc status file, values trimmed. */
function statusFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** /proc/PID/task/TID/status of every thread of pid (threads that ended meanwhile left out). */
function threadStatuses(pid: number) {
  const out: { tid: number; name: string; Uid: string; Gid: string; Groups: string }[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let s: Record<string, string>;
    try {
      s = statusFields(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
    } catch {
      continue; // the thread ended meanwhile
    }
    out.push({ tid: Number(tid), name: s.Name, Uid: s.Uid, Gid: s.Gid, Groups: s.Groups });
  }
  return out;
}

const four = (id: number) => Array(4).fill(String(id)).join('\t');
/** /proc's Groups field as a sorted list. */
const groupsOf = (field: string) => field.split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b);

describe('daemonize({ user }) started with UV_USE_IO_URING=1 in the environment (issue 10, item 3)', () => {
  /** Starts test/fixtures/daemon-async-write.mjs as a daemon; resolves once it logged its write. */
  async function daemonWriting(target: string) {
    const logFile = fresh('uring.log');
    const pidFile = fresh('uring.pid');
    const r = await launchFixture('daemon-async-write.mjs', [JSON.stringify({ name: 'uring', user: 'nobody', logFile, pidFile }), target], {
      env: withIoUring(),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pid = pc.track(r.pid!);
    // The event: the daemon logs the outcome of its write once it is done.
    const line = await waitFor('the daemon to log its write', () => /^write .*$/m.exec(readFileSync(logFile, 'utf8'))?.[0]);
    return { pid, line };
  }

  rootIt('the dropped daemon writes as nobody: an async writeFile into a root-only 0700 directory fails with EACCES and creates nothing', async () => {
    const target = join(rootOnlyDir(), 'written-by-daemon');
    const { line } = await daemonWriting(target);
    // A ring set up as root would open the file as root: 'write ok', and a file owned by uid 0.
    expect({ line, owner: ownerOf(target) }).toEqual({ line: 'write EACCES', owner: null });
  });

  rootIt('the daemon runs without root-set-up io_uring: no UV_USE_IO_URING in its environment, no ring with a submission thread, no iou-sqp thread', async () => {
    const { pid } = await daemonWriting(join(rootOnlyDir(), 'written-by-daemon'));
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    // Rings with a kernel submission thread (SqThread: PID in fdinfo) run what is submitted
    // with the credentials of whoever set them up. libuv 1.49 and later keep a ring without
    // one open whatever UV_USE_IO_URING says (for epoll): that one runs requests as the
    // submitter, so it is no exception to look for.
    const sqpollRings = readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[io_uring]' && !/^SqThread:\s*-1$/m.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      } catch {
        return false; // closed meanwhile
      }
    });
    const comms = readdirSync(`/proc/${pid}/task`).map((tid) => {
      try {
        return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      } catch {
        return ''; // the thread ended meanwhile
      }
    });
    expect({
      environ: environ.filter((e) => e.startsWith('UV_USE_IO_URING=')),
      sqpollRings,
      sqpollThreads: comms.filter((c) => c.startsWith('iou-sqp-')),
    }).toEqual({ environ: [], sqpollRings: [], sqpollThreads: [] });
  });
});

describe('daemonize({ user, foreground: true }) started with UV_USE_IO_URING=1 (issue 10, item 3)', () => {
  sqpollIt('refuses before dropping: exit 1, one line naming user and UV_USE_IO_URING, no PID file, the ids never changed', async () => {
    const pidFile = fresh('fg.pid');
    const exitStatus = fresh('fg.exit-status');
    const target = join(rootOnlyDir(), 'written-in-foreground');
    const child = pc.start(
      process.execPath,
      [fixture('daemon-async-write.mjs'), JSON.stringify({ name: 'fg', user: 'nobody', foreground: true, pidFile }), target],
      { env: { ...withIoUring(), EXIT_STATUS_FILE: exitStatus } },
    );
    // Ends when the process exits, or when it logs a write: then it went on running (as
    // nobody, with root's rings) instead of refusing.
    const r = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
      let stdout = '';
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      child.stdout!.on('data', (d) => {
        stdout += d;
        if (/^write /m.test(stdout)) resolve({ code: null, signal: null, stdout, stderr });
      });
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    expect({ code: r.code, signal: r.signal, stdout: r.stdout }).toEqual({ code: 1, signal: null, stdout: '' });
    // Which reason comes first depends on whether libuv opened rings already (it does at
    // start-up in Node 20); the rest of the line is fixed.
    expect(r.stderr).toMatch(
      /^fg: cannot drop privileges to nobody \(user\) in this process: (an io_uring instance[^,\n]* is open \(fd \d+\)|UV_USE_IO_URING=1 enables io_uring in libuv [\d.]+), and rings set up as root keep root's credentials after the drop \(CVE-2024-22017\); start the process without UV_USE_IO_URING\n$/,
    );
    expect(nothingLeft(pidFile)).toEqual({ children: [], pidFile: false });
    expect(ownerOf(target)).toBeNull();
    // Written by the process itself as it exited, into a directory only root may write in:
    // the very ids this worker (its parent) has.
    const mine = procStatus('self');
    expect(statusFields(readFileSync(exitStatus, 'utf8'))).toEqual({ Uid: mine.Uid, Gid: mine.Gid, Groups: mine.Groups });
  });
});

interface DropReport {
  before: { tid: number; name: string; tgid: number; Uid: string; Gid: string; Groups: string }[];
  rawThread: number | null;
  ringFd: number | null;
}
interface AfterReport {
  outcome: 'dropped' | { code: string; message: string };
  status: { Uid: string; Gid: string; Groups: string };
  identity: { uid: number[]; gid: number[]; groups: number[] };
  after: { tid: number; name: string; tgid: number; Uid: string; Gid: string; Groups: string }[];
}

/** Runs test/fixtures/drop-report.js to completion (it exits by itself, or is killed). */
function dropReport(arg: string, env: NodeJS.ProcessEnv) {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [fixture('drop-report.js'), arg], { env, encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw r.error;
  const [before, after] = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)) as [DropReport, AfterReport | undefined];
  return { pid: r.pid, signal: r.signal, status: r.status, stderr: r.stderr, before, after: after ?? null };
}

describe('dropPrivileges() in a process started with UV_USE_IO_URING=1 (issue 10, item 3)', () => {
  sqpollIt('refuses with ERR_INVALID_STATE naming CVE-2024-22017, and the ids stay root', () => {
    const r = dropReport('nobody', withIoUring());
    expect(r.after?.outcome).toEqual({ code: 'ERR_INVALID_STATE', message: expect.stringContaining('(CVE-2024-22017)') });
    const mine = procStatus('self');
    expect(r.after?.status).toEqual({ Uid: four(0), Gid: four(0), Groups: mine.Groups });
    expect(r.after?.identity.uid).toEqual([0, 0, 0]);
  });

  // The control for the test above: the refusal is for io_uring, not for this program.
  rootIt('the same program without UV_USE_IO_URING drops to nobody', () => {
    const r = dropReport('nobody', withoutIoUring());
    const nobody = lookupUser('nobody');
    expect(r.after?.outcome).toBe('dropped');
    expect(r.after?.status).toMatchObject({ Uid: four(nobody.uid), Gid: four(nobody.gid) });
  });
});

describe('dropPrivileges() with an io_uring ring another library set up before it', () => {
  ccRootIt('a ring with a kernel submission thread (SQPOLL) makes it refuse with ERR_INVALID_STATE naming the ring, and the ids stay root', () => {
    const r = dropReport('nobody', { ...withoutIoUring(), LD_PRELOAD: library('ioUring'), PRELOAD_IO_URING: 'sqpoll' });
    // The ring's submission thread, set up as root: it would go on running requests as root.
    expect(r.before.before.filter((t) => t.name.startsWith('iou-sqp-'))).toEqual([expect.objectContaining({ Uid: four(0) })]);
    expect(r.after?.outcome).toEqual({
      code: 'ERR_INVALID_STATE',
      message: expect.stringMatching(new RegExp(`\\(fd ${r.before.ringFd}\\).*\\(CVE-2024-22017\\)`)),
    });
    expect(r.after?.status).toMatchObject({ Uid: four(0), Gid: four(0) });
  });

  // libuv 1.49 and later (Node 22, 24) keep such a ring open for epoll in every process,
  // whatever UV_USE_IO_URING says: refusing for it would refuse every drop there.
  ccRootIt('a ring without a submission thread does not stop the drop: it runs each request with the credentials of its submitter', () => {
    const r = dropReport('nobody', { ...withoutIoUring(), LD_PRELOAD: library('ioUring'), PRELOAD_IO_URING: 'plain' });
    expect(r.before.ringFd).not.toBeNull();
    expect(r.after).toMatchObject({ outcome: 'dropped', status: { Uid: four(65534), Gid: four(65534) } });
  });
});

describe('dropPrivileges() checks every thread (issue 10, item 4)', () => {
  ccRootIt('a thread glibc does not know (raw clone(2)) that keeps uid 0 gets the process killed with SIGKILL, naming that thread', () => {
    const r = dropReport('nobody', { ...withoutIoUring(), LD_PRELOAD: library('rawThread') });
    // Before the drop: the raw thread is a thread of this process, and root like the others.
    const raw = r.before.before.find((t) => t.tid === r.before.rawThread);
    expect(raw).toMatchObject({ tgid: r.pid, Uid: four(0) });
    // The drop then changed every thread but that one: verify() read its uid 0 from
    // /proc/self/task/TID/status and killed the process before dropPrivileges() returned, so
    // the program printed nothing after the call.
    expect({ signal: r.signal, stderr: r.stderr, after: r.after }).toEqual({
      signal: 'SIGKILL',
      stderr: `daemonkit: privilege drop to uid ${lookupUser('nobody').uid} not verified: thread ${raw!.tid} (${raw!.name}) still has uid 0 (uids 0/0/0/0, real/effective/saved/fs); killing the process\n`,
      after: null,
    });
    // The whole process is gone, the raw thread with it.
    expect(existsSync(`/proc/${r.pid}`)).toBe(false);
    expect(existsSync(`/proc/${raw!.tid}`)).toBe(false);
  });
});

describe('dropPrivileges() with an empty group list (issue 10, item 11)', () => {
  rootIt('groups: [] leaves no supplementary group, all ids 65534, and processIdentity().groups is []', () => {
    const r = dropReport(JSON.stringify({ uid: 65534, gid: 65534, groups: [] }), withoutIoUring());
    expect(r.after).toMatchObject({
      outcome: 'dropped',
      status: { Uid: four(65534), Gid: four(65534), Groups: '' },
      identity: { uid: [65534, 65534, 65534], gid: [65534, 65534, 65534], groups: [] },
    });
  });
});

describe("every thread of a daemon started with user: 'nobody' is nobody", () => {
  for (const [label, env] of [
    ['', withoutIoUring],
    [', also when launched with UV_USE_IO_URING=1', withIoUring],
  ] as const) {
    rootIt(`each /proc/PID/task/*/status has uid and gid 65534 four times and the groups of id -G nobody${label}`, async () => {
      const r = await launch({ name: 'threads', pidFile: fresh('threads.pid'), user: 'nobody' }, 'serve', { env: env() });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const pid = pc.track(r.pid!);
      const nobody = lookupUser('nobody');
      const threads = threadStatuses(pid);
      // Node's own threads (V8 platform workers, libuv's signal/inspector threads), not only main.
      expect(threads.length).toBeGreaterThan(1);
      expect(threads.map((t) => ({ ...t, Groups: groupsOf(t.Groups) }))).toEqual(
        threads.map((t) => ({ ...t, Uid: four(nobody.uid), Gid: four(nobody.gid), Groups: idGroups('nobody') })),
      );
    });
  }
});
