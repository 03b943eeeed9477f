// The raw native boundary (native/*.cc), typed apart from the public API. Nothing here
// validates: every caller goes through the wrappers in this directory. Failures are thrown
// as NativeErrno records and turned into SystemError by errors.ts; the addon reports every
// errno, and which ones mean an answer (a held lock, no such user, nothing to read) is
// decided by those wrappers. A value of the wrong type (or out of its C type's range) makes
// the addon throw a TypeError naming the argument (native/napi_util.h), never read garbage.

export interface NativeErrno {
  errno: number; // negative, as in Node
  syscall: string;
  /** The descriptor the call failed on, when the caller passed several. */
  fd?: number;
  /** spawn: the entry of `rlimits` that setrlimit failed on. */
  index?: number;
}

/** spawn()'s one argument, read by field name (native/spawn.cc). */
export interface NativeSpawnSpec {
  file: string;
  argv: string[];
  envp: string[];
  cwd: string | null;
  /** -1: keep the caller's. */
  umask: number;
  /** Descriptors for 0, 1, 2; -1 for /dev/null. */
  stdio: [number, number, number];
  /** fds[i] lands at 3 + i. */
  fds: number[];
  /** fork, setsid, fork. */
  daemon: boolean;
  /** setsid without the second fork. */
  setsid: boolean;
  credentials: { uid: number; gid: number; groups: number[] } | null;
  /** [resource id, soft, hard], applied in order before the credentials; Infinity: unlimited. */
  rlimits: [number, number, number][];
  /** PR_SET_NO_NEW_PRIVS in the child, after the credentials (Linux). */
  noNewPrivileges: boolean;
  /** Adds LISTEN_PID=<the new program's own pid> to envp (sd_listen_fds(3)). */
  setListenPid: boolean;
  /**
   * A daemon's supervised program (daemon false, setsid true): forked by the daemon before
   * its own steps. A failure of its steps is thrown with the syscall "program:<step>".
   */
  program?: Omit<NativeSpawnSpec, 'program' | 'programPidVariable'>;
  /** With program: this variable of the daemon's envp says the program's pid. */
  programPidVariable?: string;
}

export interface NativeUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface NativeGroup {
  name: string;
  gid: number;
  members: string[];
}

export interface NativeWaitStatus {
  code: number | null;
  signal: number | null;
}

export type NativeSockName =
  | { family: 'IPv4' | 'IPv6'; address: string; port: number }
  | { family: 'unix'; path: string; abstract: boolean }
  | { family: number };

export interface NativeBinding {
  // spawn.cc
  spawn(spec: NativeSpawnSpec & { program: NonNullable<NativeSpawnSpec['program']> }): { pid: number; programPid: number };
  spawn(spec: NativeSpawnSpec): number;
  waitpid(pid: number): NativeWaitStatus | null;

  // flock.cc
  openLockFile(path: string, create: boolean, mode: number, exclusive: boolean): number;
  /** Never waits (LOCK_NB): a lock held elsewhere throws EWOULDBLOCK. */
  flock(fd: number, operation: 0 | 1 | 2): void;
  setCloexec(fd: number, on: boolean): void;
  getCloexec(fd: number): boolean;
  setNonBlocking(fd: number, on: boolean): void;

  // rlimit.cc
  rlimitResources: Record<string, number>;
  getrlimit(resource: number): [soft: number, hard: number];
  setrlimit(resource: number, soft: number, hard: number): void;

  // identity.cc
  /**
   * null: getpwnam_r(3) found nothing (0 and a null result). Any errno is thrown, including
   * those some libcs use for "not found" (identity.ts decides).
   */
  lookupUser(user: string | number): NativeUser | null;
  /** As lookupUser, with getgrnam_r(3). */
  lookupGroup(group: string | number): NativeGroup | null;
  getgrouplist(user: string, gid: number): number[];
  setgroups(groups: number[]): void;
  getgroups(): number[];
  setresgid(rgid: number, egid: number, sgid: number): void;
  setresuid(ruid: number, euid: number, suid: number): void;
  getresgid(): [number, number, number];
  getresuid(): [number, number, number];
  setuid(uid: number): void;
  seteuid(uid: number): void;

  // socket.cc
  /** reuseAddress: SO_REUSEADDR before bind(2). */
  listenTcp(address: string, port: number, backlog: number, v6only: boolean, reuseAddress: boolean): number;
  /** mode -1: leave the umask's. */
  listenUnix(name: string, abstract: boolean, backlog: number, mode: number): number;
  connectUnix(name: string, abstract: boolean): void;
  getsockname(fd: number): NativeSockName;
  sendDatagram(name: string, abstract: boolean, data: Buffer): void;
  bindDatagram(name: string, abstract: boolean): number;
  /**
   * pid: the sender's, where the kernel says (Linux, SO_PASSCRED); else -1. Never waits:
   * with nothing to read it throws EAGAIN.
   */
  recvDatagram(fd: number): { data: Buffer; pid: number };
  hasAbstractSockets: boolean;

  // process.cc
  pipe(): [read: number, write: number];
  chroot(path: string): void;
  dup2(oldFd: number, newFd: number): void;
  setsid(): number;
  getsid(pid: number): number;
  getpgid(pid: number): number;
  setChildSubreaper(on: boolean): void;
  getChildSubreaper(): boolean;
  setParentDeathSignal(signal: number): void;
  getParentDeathSignal(): number;
  setNoNewPrivs(): void;
  getNoNewPrivs(): boolean;

  // poll.cc
  /** Calls back (status 0, or -errno) whenever fd is readable, until pollStop(id). */
  pollReadable(fd: number, callback: (status: number) => void): number;
  pollStop(id: number): void;

  // dirfd.cc
  openDirectory(path: string): number;
  listDirectoryAt(dirfd: number, path: string): string[];
  readFileAt(dirfd: number, path: string): string;
  readLinkAt(dirfd: number, path: string): string;
}
