// The raw native boundary (src/native.ts, native/*.cc): every function refuses a value of the
// wrong type with one TypeError naming it, instead of reading garbage or aborting the process
// (a second throw aborts under N-API); and the errnos the addon reports are turned into
// answers by the TypeScript wrappers, not by the addon.
import { closeSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { native } from '../src/native/binding';
import { lookupGroup, lookupUser, openLockFile, receiveDatagram, bindDatagram, tryLock, UnknownIdentityError } from '../src/index';
import type { NativeBinding } from '../src/native/types';
import { useTmpDir } from './helpers';

const tmp = useTmpDir();
const errno = osConstants.errno;

type Fn = { [K in keyof NativeBinding]: NativeBinding[K] extends (...args: never[]) => unknown ? K : never }[keyof NativeBinding];

const spec = {
  file: '/bin/true',
  argv: ['true'],
  envp: [],
  cwd: null,
  umask: -1,
  stdio: [-1, -1, -1],
  fds: [],
  daemon: false,
  setsid: false,
  credentials: null,
  rlimits: [],
  noNewPrivileges: false,
  setListenPid: false,
};

// One wrong call per exported function, and what its TypeError names. Each is wrong in a way
// that an unchecked conversion (ToNumber, ToString, ToBoolean) would have accepted.
const wrongCalls: Record<Fn, [args: unknown[], names: RegExp]> = {
  spawn: [[{ ...spec, file: ['/bin/true'] }], /spawn\(\): 'file' must be a string; received array/],
  waitpid: [['1'], /waitpid\(\): 'pid' \(argument 1\) must be an integer/],
  openLockFile: [[join('/tmp', 'x'), 1, 0o644, false], /openLockFile\(\): 'create' \(argument 2\) must be a boolean; received number/],
  flock: [[{ valueOf: () => 0 }, 2], /flock\(\): 'fd' \(argument 1\) must be an integer .*; received object/],
  setCloexec: [[0, 'yes'], /setCloexec\(\): 'on' \(argument 2\) must be a boolean/],
  getCloexec: [[null], /getCloexec\(\): 'fd' \(argument 1\) must be an integer .*; received null/],
  setNonBlocking: [[0, 0], /setNonBlocking\(\): 'on' \(argument 2\) must be a boolean/],
  getrlimit: [['nofile'], /getrlimit\(\): 'resource' \(argument 1\) must be an integer/],
  setrlimit: [[7, '1024', 1024], /setrlimit\(\): 'soft' \(argument 2\) must be an integer from 0 to 2\^53 - 1, or Infinity; received string/],
  lookupUser: [[true], /lookupUser\(\): 'user' \(argument 1\) must be a name \(string\) or an id \(integer\); received boolean/],
  lookupGroup: [[[0]], /lookupGroup\(\): 'group' \(argument 1\) must be a name \(string\) or an id \(integer\); received array/],
  getgrouplist: [['root', '0'], /getgrouplist\(\): 'gid' \(argument 2\) must be an integer from 0 to 4294967295; received string/],
  setgroups: [['0'], /setgroups\(\): 'groups' \(argument 1\) must be an array; received string/],
  getgroups: [[[]], /getgroups\(\) takes 0 arguments; received 1/],
  setresgid: [[0, 0], /setresgid\(\): 'sgid' \(argument 3\) must be an integer .*; received undefined/],
  setresuid: [[0, '0', 0], /setresuid\(\): 'euid' \(argument 2\) must be an integer/],
  getresgid: [[0], /getresgid\(\) takes 0 arguments; received 1/],
  getresuid: [[0], /getresuid\(\) takes 0 arguments; received 1/],
  setuid: [['0'], /setuid\(\): 'uid' \(argument 1\) must be an integer/],
  seteuid: [[[0]], /seteuid\(\): 'uid' \(argument 1\) must be an integer/],
  listenTcp: [['127.0.0.1', 0, 511, false], /listenTcp\(\): 'reuseAddress' \(argument 5\) must be a boolean; received undefined/],
  listenUnix: [[join('/tmp', 'x.sock'), false, 511, '0600'], /listenUnix\(\): 'mode' \(argument 4\) must be an integer from -1 to 4095/],
  connectUnix: [[Buffer.from('/tmp/x.sock'), false], /connectUnix\(\): 'name' \(argument 1\) must be a string; received object/],
  getsockname: [['3'], /getsockname\(\): 'fd' \(argument 1\) must be an integer/],
  sendDatagram: [['/tmp/x.sock', false, 'READY=1'], /sendDatagram\(\): 'data' \(argument 3\) must be a Buffer; received string/],
  bindDatagram: [['/tmp/x.sock', 0], /bindDatagram\(\): 'abstract' \(argument 2\) must be a boolean/],
  recvDatagram: [[undefined], /recvDatagram\(\): 'fd' \(argument 1\) must be an integer .*; received undefined/],
  setsid: [[true], /setsid\(\) takes 0 arguments; received 1/],
  pipe: [[[0, 1]], /pipe\(\) takes 0 arguments; received 1/],
  chroot: [[{ toString: () => '/' }], /chroot\(\): 'path' \(argument 1\) must be a string; received object/],
  dup2: [[1, '2'], /dup2\(\): 'newFd' \(argument 2\) must be an integer/],
  getsid: [['0'], /getsid\(\): 'pid' \(argument 1\) must be an integer/],
  getpgid: [[0n], /getpgid\(\): 'pid' \(argument 1\) must be an integer .*; received bigint/],
  setChildSubreaper: [[1], /setChildSubreaper\(\): 'on' \(argument 1\) must be a boolean; received number/],
  getChildSubreaper: [[true], /getChildSubreaper\(\) takes 0 arguments; received 1/],
  setParentDeathSignal: [['SIGTERM'], /setParentDeathSignal\(\): 'signal' \(argument 1\) must be an integer/],
  getParentDeathSignal: [[0], /getParentDeathSignal\(\) takes 0 arguments; received 1/],
  setNoNewPrivs: [[false], /setNoNewPrivs\(\) takes 0 arguments; received 1/],
  getNoNewPrivs: [[0], /getNoNewPrivs\(\) takes 0 arguments; received 1/],
  pollReadable: [[0, 'callback'], /pollReadable\(\): 'callback' \(argument 2\) must be a function; received string/],
  pollStop: [['1'], /pollStop\(\): 'id' \(argument 1\) must be an integer/],
  openDirectory: [[Symbol('/')], /openDirectory\(\): 'path' \(argument 1\) must be a string; received symbol/],
  listDirectoryAt: [['3', '.'], /listDirectoryAt\(\): 'dirfd' \(argument 1\) must be an integer/],
  readFileAt: [[3, 1], /readFileAt\(\): 'path' \(argument 2\) must be a string; received number/],
  readLinkAt: [[3], /readLinkAt\(\): 'path' \(argument 2\) must be a string; received undefined/],
};

function call(name: string, args: unknown[]): unknown {
  return (native as unknown as Record<string, (...a: unknown[]) => unknown>)[name](...args);
}

describe('the native boundary', () => {
  it('has a wrong-typed call below for every function it exports', () => {
    const exported = Object.keys(native).filter((k) => typeof (native as unknown as Record<string, unknown>)[k] === 'function');
    expect(exported.sort()).toEqual(Object.keys(wrongCalls).sort());
  });

  for (const [name, [args, message]] of Object.entries(wrongCalls)) {
    it(`${name}: a wrong type throws one TypeError naming the argument`, () => {
      let thrown: unknown;
      try {
        call(name, args);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as Error).message).toMatch(/^daemonkit native: /);
      expect((thrown as Error).message).toMatch(message);
    });
  }

  it.each([
    ['a negative descriptor (AT_FDCWD is -100)', 'listDirectoryAt', [-100, '.']],
    ['a descriptor past int', 'getCloexec', [2 ** 31]],
    ['a fraction', 'dup2', [1.5, 1]],
    ['NaN', 'getsid', [NaN]],
    ['an id past uid_t', 'setuid', [2 ** 32]],
    ['a path with a NUL byte (cut short in C)', 'openLockFile', ['/tmp/x\0y', false, 0o644, false]],
    ['a port past 65535', 'listenTcp', ['127.0.0.1', 65536, 511, false, true]],
    ['a mode past 0o7777', 'openLockFile', ['/tmp/x', false, 0o17777, false]],
    ['an unknown flock operation', 'flock', [0, 3]],
    ['-Infinity as a limit', 'setrlimit', [7, -Infinity, Infinity]],
    ['a group that is not an integer', 'setgroups', [[0, 1.5]]],
  ])('refuses %s', (_what, name, args) => {
    expect(() => call(name as string, args as unknown[])).toThrow(TypeError);
  });

  it('checks every field of spawn, nested ones too, before it forks', () => {
    const bad: [object, RegExp][] = [
      [{ ...spec, stdio: [-1, -1] }, /'stdio' must be an array of 3 integers/],
      [{ ...spec, fds: [3, -2] }, /'fds'\[1\] must be an integer from -1/],
      [{ ...spec, argv: ['true', 1] }, /'argv'\[1\] must be a string/],
      [{ ...spec, umask: 0o1000 }, /'umask' must be an integer from -1 to 511/],
      [{ ...spec, credentials: { uid: 0, gid: -1, groups: [] } }, /'credentials.gid' must be an integer from 0/],
      [{ ...spec, credentials: { uid: 0, gid: 0, groups: ['0'] } }, /'credentials.groups'\[0\] must be an integer/],
      [{ ...spec, credentials: 0 }, /'credentials' must be an object; received number/],
      [{ ...spec, rlimits: [[7, 1]] }, /'rlimits'\[0\] must be an array \[resource, soft, hard\]/],
      [{ ...spec, rlimits: [[7, 1, '2']] }, /'rlimits'\[0\]\[2\] must be an integer from 0 to 2\^53 - 1, or Infinity/],
      [{ ...spec, noNewPrivileges: undefined }, /'noNewPrivileges' must be a boolean; received undefined/],
      [[], /the options must be an object; received array/],
    ];
    for (const [options, message] of bad) expect(() => native.spawn(options as never)).toThrow(message);
    expect(() => call('spawn', [spec, spec])).toThrow(/spawn\(\) takes 1 argument; received 2/);
  });

  it("lets a getter's exception through unchanged, and stays usable after it", () => {
    const boom = new Error('from a getter');
    const options = {
      ...spec,
      get envp(): string[] {
        throw boom;
      },
    };
    expect(() => native.spawn(options as never)).toThrow(boom);
    const argv = ['true'];
    Object.defineProperty(argv, 1, {
      get() {
        throw boom;
      },
      enumerable: true,
    });
    expect(() => native.spawn({ ...spec, argv } as never)).toThrow(boom);
    // Nothing is left pending: the next calls behave.
    expect(native.getCloexec(0)).toBeTypeOf('boolean');
    expect(() => call('flock', ['0', 0])).toThrow(TypeError);
  });

  it('still reports errno records for well-typed calls', () => {
    expect(() => native.getCloexec(2 ** 31 - 1)).toThrow(expect.objectContaining({ errno: -errno.EBADF, syscall: 'fcntl' }));
  });
});

describe('errnos that are answers, decided in TypeScript', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('flock: the addon throws EWOULDBLOCK for a held lock; tryLock answers false', () => {
    const path = join(tmp(), 'held.lock');
    const a = openLockFile(path);
    const b = openLockFile(path);
    try {
      expect(tryLock(a)).toBe(true);
      expect(() => native.flock(b, 2)).toThrow(expect.objectContaining({ errno: -errno.EWOULDBLOCK, syscall: 'flock' }));
      expect(tryLock(b)).toBe(false);
    } finally {
      closeSync(a);
      closeSync(b);
    }
  });

  it('recvDatagram: the addon throws EAGAIN when nothing waits; receiveDatagram answers null', () => {
    const fd = bindDatagram(join(tmp(), 'empty.sock'));
    try {
      expect(() => native.recvDatagram(fd)).toThrow(expect.objectContaining({ errno: -errno.EAGAIN, syscall: 'recvmsg' }));
      expect(receiveDatagram(fd)).toBeNull();
    } finally {
      closeSync(fd);
    }
  });

  it('lookups: null from the addon, or an errno getpwnam(3) lists for "not found", is an unknown user; others throw', () => {
    expect(native.lookupUser('daemonkit-no-such-user')).toBeNull();
    for (const name of ['ENOENT', 'ESRCH', 'EBADF', 'EPERM'] as const) {
      vi.spyOn(native, 'lookupUser').mockImplementationOnce(() => {
        throw { errno: -errno[name], syscall: 'getpwnam_r' };
      });
      expect(() => lookupUser('someone')).toThrow(UnknownIdentityError);
      vi.spyOn(native, 'lookupGroup').mockImplementationOnce(() => {
        throw { errno: -errno[name], syscall: 'getgrnam_r' };
      });
      expect(() => lookupGroup('somegroup')).toThrow(UnknownIdentityError);
    }
    vi.spyOn(native, 'lookupUser').mockImplementationOnce(() => {
      throw { errno: -errno.EIO, syscall: 'getpwnam_r' };
    });
    expect(() => lookupUser('someone')).toThrow(expect.objectContaining({ code: 'EIO', syscall: 'getpwnam_r' }));
  });
});

describe('listenTcp: SO_REUSEADDR is the caller\'s choice', () => {
  /** Leaves a connection to `port` in TIME_WAIT on the listening side (it closes first). */
  async function timeWait(fd: number): Promise<void> {
    const server: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen({ fd }, resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve, reject) => {
      const client = connect(port, '127.0.0.1');
      client.on('error', reject);
      client.on('close', () => resolve());
      client.resume();
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  it('binds a port in TIME_WAIT only with reuseAddress', async () => {
    const fd = native.listenTcp('127.0.0.1', 0, 16, false, true);
    const { port } = native.getsockname(fd) as { port: number };
    await timeWait(fd);
    expect(() => native.listenTcp('127.0.0.1', port, 16, false, false)).toThrow(
      expect.objectContaining({ errno: -errno.EADDRINUSE, syscall: 'bind' }),
    );
    const again = native.listenTcp('127.0.0.1', port, 16, false, true);
    closeSync(again);
  });
});
