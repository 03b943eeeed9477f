// Dropping root for good: supplementary groups, then gid, then uid (after setresuid the
// others can no longer be changed), then proof that it cannot be undone, for every thread of
// the process. The libc wrappers apply each change to every thread libc knows (nptl(7),
// "setxid"); threads it does not know, such as io_uring's kernel workers, keep the
// credentials they were created with, which is why both are checked.
import { readdirSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import { native } from '../native/binding';
import { callNative, invalidType } from '../errors';
import { validateBoolean, validateId, validateObject } from './validate';

/** Whom dropPrivileges() makes the process: resolveCredentials() gives all three ids. */
export interface DropPrivilegesOptions {
  /** The user id, set as real, effective and saved uid. */
  uid: number;
  /** The group id, set as real, effective and saved gid. */
  gid: number;
  /** The complete supplementary group list (see resolveCredentials()). */
  groups: readonly number[];
  /** Also set PR_SET_NO_NEW_PRIVS (Linux): execve can never grant privileges again. */
  noNewPrivileges?: boolean;
}

/** Who this process is, as processIdentity() reads it from the kernel. */
export interface ProcessIdentity {
  /** Real, effective, saved. */
  uid: [number, number, number];
  /** Real, effective, saved. */
  gid: [number, number, number];
  /** getgroups(2): the supplementary groups only (process.getgroups() adds the egid). */
  groups: number[];
}

/** dropPrivileges() made its calls, but the ids it then read back are not the ones asked for. */
export class PrivilegeDropError extends Error {
  /** Always 'ERR_PRIVILEGE_DROP_UNVERIFIED'. */
  readonly code = 'ERR_PRIVILEGE_DROP_UNVERIFIED';
}

/** The drop was refused before anything changed (Node's own code for setuid() there). */
export class PrivilegeDropRefusedError extends Error {
  readonly code = 'ERR_INVALID_STATE';
}

/** The real, effective and saved uid and gid, and the supplementary groups (getres*id(2)). */
export function processIdentity(): ProcessIdentity {
  return {
    uid: callNative(() => native.getresuid()),
    gid: callNative(() => native.getresgid()),
    groups: callNative(() => native.getgroups()),
  };
}

/**
 * /proc/self, by path, or through a descriptor of it opened before a chroot(2) hid it
 * (openProcSelf()).
 */
class ProcSelf {
  constructor(private readonly fd: number | null = null) {}

  list(dir: string): string[] {
    const fd = this.fd;
    return fd === null ? readdirSync(`/proc/self/${dir}`) : callNative(() => native.listDirectoryAt(fd, dir));
  }

  read(file: string): string {
    const fd = this.fd;
    return fd === null ? readFileSync(`/proc/self/${file}`, 'utf8') : callNative(() => native.readFileAt(fd, file));
  }

  link(file: string): string {
    const fd = this.fd;
    return fd === null ? readlinkSync(`/proc/self/${file}`) : callNative(() => native.readLinkAt(fd, file));
  }
}

/**
 * Internal: /proc/self opened as a directory, for a drop that happens after chroot(2) (which
 * hides /proc): pass it to dropPrivilegesWith(), then close it at once, since a descriptor of
 * a directory outside the new root is a way out of it. Null where there is no /proc.
 */
export function openProcSelf(): number | null {
  if (process.platform !== 'linux') return null;
  return callNative(() => native.openDirectory('/proc/self'), { path: '/proc/self' });
}

export interface IoUringUse {
  /** What was found. */
  why: string;
  /** What to do about it. */
  fix: string;
}

/**
 * Why this process may hold io_uring rings that keep root's credentials after a drop, or null.
 * A ring with a kernel submission thread (IORING_SETUP_SQPOLL) runs what is submitted to it
 * with the credentials of whoever set it up, so file operations submitted after a drop still
 * run as root (CVE-2024-22017: libuv 1.45 to 1.48 set up such rings when an event loop
 * starts, if UV_USE_IO_URING enables them, atoi() != 0). A ring without one runs each request
 * with the credentials of the thread submitting it: libuv 1.49 and later keep one open for
 * epoll whatever UV_USE_IO_URING says, so refusing for any ring would refuse every drop there.
 * /proc/self/fdinfo/FD says which ("SqThread: -1" for none; a kernel that does not say
 * counts as SQPOLL), and so does an iou-sqp-* thread. Registered personalities (credentials
 * a request may ask for by id) count too. Node's process.setuid() refuses in libuv's range,
 * and so do we, also when such a ring is open for any other reason.
 */
export function ioUringInUse(env: NodeJS.ProcessEnv = process.env, proc = new ProcSelf()): IoUringUse | null {
  if (process.platform !== 'linux') return null;
  const setting = env.UV_USE_IO_URING;
  const fromEnv = setting !== undefined && (parseInt(setting, 10) || 0) !== 0 && libuvSetsUpSqpollRings();
  const fix = fromEnv ? 'start the process without UV_USE_IO_URING' : 'close the io_uring rings before the drop, or drop in a process that never set one up';
  for (const fd of proc.list('fd')) {
    let info: string;
    try {
      if (proc.link(`fd/${fd}`) !== 'anon_inode:[io_uring]') continue;
      info = proc.read(`fdinfo/${fd}`);
    } catch {
      continue; // closed meanwhile (readdir's own descriptor, for one)
    }
    const sqThread = /^SqThread:\s*(-?\d+)\s*$/m.exec(info);
    if (sqThread === null || sqThread[1] !== '-1') return { why: `an io_uring instance with a kernel submission thread (SQPOLL) is open (fd ${fd})`, fix };
    if (/^Personalities:\s*\n\s*\d+\s*\n/m.test(info)) return { why: `an io_uring instance with registered credentials is open (fd ${fd})`, fix };
  }
  // The fdinfo of an SQPOLL ring whose thread is being replaced may say -1 for a moment.
  for (const tid of proc.list('task')) {
    let name: string;
    try {
      name = proc.read(`task/${tid}/comm`).trim();
    } catch {
      continue; // the thread ended meanwhile
    }
    if (name.startsWith('iou-sqp-')) return { why: `an io_uring submission thread runs in this process (${name}, thread ${tid})`, fix };
  }
  if (fromEnv) return { why: `UV_USE_IO_URING=${setting} enables io_uring in libuv ${process.versions.uv}`, fix };
  return null;
}

/**
 * libuv 1.45 to 1.48 set up an SQPOLL ring for every event loop when UV_USE_IO_URING enables
 * io_uring; 1.49 made SQPOLL opt-in per loop (UV_LOOP_USE_IO_URING_SQPOLL), which Node does
 * not ask for. The same range as Node's own check (src/node_credentials.cc).
 */
function libuvSetsUpSqpollRings(): boolean {
  const [major, minor] = (process.versions.uv ?? '').split('.').map(Number);
  return major === 1 && minor >= 45 && minor < 49;
}

/**
 * Becomes (uid, gid, groups) irrevocably, then verifies: real, effective and saved ids all
 * match, the group list is exactly the one asked for, for every thread of the process, and
 * setuid(0) and seteuid(0) fail. Refuses (PrivilegeDropRefusedError, ERR_INVALID_STATE)
 * before changing anything when io_uring may be in use. Throws a SystemError naming the call
 * that failed, or PrivilegeDropError when the ids are not what was asked for. If root could
 * be regained, or a thread kept uid 0, the process is killed (SIGKILL) at once.
 */
export function dropPrivileges(options: DropPrivilegesOptions): void {
  dropPrivilegesWith(options, null);
}

/** Internal: dropPrivileges() reading /proc/self through `procSelf` (openProcSelf()). */
export function dropPrivilegesWith(options: DropPrivilegesOptions, procSelf: number | null): void {
  validateObject(options, 'options');
  const uid = validateId(options.uid, 'options.uid');
  const gid = validateId(options.gid, 'options.gid');
  if (!Array.isArray(options.groups)) throw invalidType('options.groups', 'an array of group ids', options.groups);
  const groups = options.groups.map((g, i) => validateId(g, `options.groups[${i}]`));
  const noNewPrivileges =
    options.noNewPrivileges === undefined ? false : validateBoolean(options.noNewPrivileges, 'options.noNewPrivileges');
  const proc = new ProcSelf(procSelf);

  const before = processIdentity();
  const changes = before.uid.some((id) => id !== uid) || before.gid.some((id) => id !== gid);
  const uring = changes ? ioUringInUse(process.env, proc) : null;
  if (uring !== null) {
    throw new PrivilegeDropRefusedError(
      `dropPrivileges() disabled: ${uring.why}, and rings set up before the drop keep root's credentials after it (CVE-2024-22017); ${uring.fix}`,
    );
  }

  // Never keep the caller's (root's) supplementary groups: python-daemon and pm2 do.
  callNative(() => native.setgroups(groups));
  callNative(() => native.setresgid(gid, gid, gid));
  callNative(() => native.setresuid(uid, uid, uid));
  if (noNewPrivileges) callNative(() => native.setNoNewPrivs());

  verify(uid, gid, groups, proc);
}

const sortedSet = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b);

function verify(uid: number, gid: number, groups: number[], proc: ProcSelf): void {
  const now = processIdentity();
  const fail = (what: string): never => {
    throw new PrivilegeDropError(`privilege drop to uid ${uid} gid ${gid} not verified: ${what}`);
  };
  // Fail closed: no handler, hook or caller's catch may run as root believing the drop
  // happened.
  const kill = (what: string): never => {
    writeSync(2, `daemonkit: privilege drop to uid ${uid} not verified: ${what}; killing the process\n`);
    process.kill(process.pid, 'SIGKILL');
    throw new PrivilegeDropError(what); // not reached
  };
  if (now.uid.some((id) => id !== uid)) fail(`uids are ${now.uid.join('/')} (real/effective/saved)`);
  if (now.gid.some((id) => id !== gid)) fail(`gids are ${now.gid.join('/')} (real/effective/saved)`);
  const want = sortedSet(groups).join();
  const have = sortedSet(now.groups);
  if (want !== have.join()) fail(`supplementary groups are [${have}], expected [${want}]`);
  for (const thread of threadIdentities(proc)) {
    const { tid, name, uids, gids, groups: tgroups } = thread;
    const who = `thread ${tid} (${name})`;
    if (uid !== 0 && uids.includes(0)) kill(`${who} still has uid 0 (uids ${uids.join('/')}, real/effective/saved/fs)`);
    if (uids.some((id) => id !== uid)) fail(`${who} has uids ${uids.join('/')} (real/effective/saved/fs)`);
    if (gids.some((id) => id !== gid)) fail(`${who} has gids ${gids.join('/')} (real/effective/saved/fs)`);
    if (sortedSet(tgroups).join() !== want) fail(`${who} has supplementary groups [${sortedSet(tgroups)}], expected [${want}]`);
  }
  if (uid === 0) return; // nothing was dropped, so nothing can be regained
  for (const [name, call] of [
    ['setuid', () => native.setuid(0)],
    ['seteuid', () => native.seteuid(0)],
  ] as const) {
    let regained = true;
    try {
      call();
    } catch {
      regained = false;
    }
    if (regained) kill(`${name}(0) succeeded`);
  }
}

interface ThreadIdentity {
  tid: number;
  name: string;
  /** Real, effective, saved, filesystem. */
  uids: number[];
  gids: number[];
  groups: number[];
}

// PF_IO_WORKER in the flags of /proc/PID/stat (include/linux/sched.h): a kernel io worker.
const PF_IO_WORKER = 0x10;

/**
 * A kernel io worker: the name iou-wrk-* is what the kernel calls io_uring's, but any thread
 * can give itself a name, so the kernel's flag decides. A submission thread (iou-sqp-*) is
 * one too, but it runs as its creator and is refused before the drop (ioUringInUse).
 */
function isIoWorker(proc: ProcSelf, tid: string): boolean {
  let stat: string;
  try {
    stat = proc.read(`task/${tid}/stat`);
  } catch {
    return false;
  }
  // Fields after the command name, which may hold spaces and parentheses: state is the 3rd
  // field, flags the 9th.
  const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
  return (flags & PF_IO_WORKER) !== 0;
}

/**
 * Each thread's credentials from /proc/self/task/TID/status (Linux; [] elsewhere), but for
 * io_uring's worker threads: the kernel runs each request they take with the credentials of
 * the thread that submitted it, not their own, and they may linger from before the drop.
 */
function threadIdentities(proc: ProcSelf): ThreadIdentity[] {
  if (process.platform !== 'linux') return [];
  const out: ThreadIdentity[] = [];
  for (const tid of proc.list('task')) {
    let text: string;
    try {
      text = proc.read(`task/${tid}/status`);
    } catch {
      continue; // the thread ended meanwhile
    }
    const fields = new Map<string, string>();
    for (const line of text.split('\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    const name = fields.get('Name') ?? '?';
    if (name.startsWith('iou-wrk-') && isIoWorker(proc, tid)) continue;
    const numbers = (key: string) => (fields.get(key) ?? '').split(/\s+/).filter(Boolean).map(Number);
    out.push({ tid: Number(tid), name, uids: numbers('Uid'), gids: numbers('Gid'), groups: numbers('Groups') });
  }
  return out;
}
