// Listening sockets as descriptors serving real HTTP, and AF_UNIX datagrams arriving.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, linkSync, lstatSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import { join } from 'node:path';
import { connect, isIP, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bindDatagram, listenTcp, listenUnix, receiveDatagram, sendDatagram, socketAddress } from '../src/index';
import { ipFamily, unixSocketState } from '../src/os/socket';
import { firstLine, fixture, straceUnavailable, useProcessControl, useTmpDir, waitFor } from './helpers';

const tmp = useTmpDir();
const pc = useProcessControl();
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Serves one HTTP request on the descriptor and returns the body the client got. */
async function serveOne(fd: number, request: { host?: string; port?: number; socketPath?: string }) {
  const server = createServer((req, res) => res.end(`hello from fd ${fd} ${req.url}`));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ fd }, resolve));
  return new Promise<string>((resolve, reject) => {
    get({ ...request, path: '/x', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('listening sockets', () => {
  it('serves HTTP on 127.0.0.1 through listen({ fd })', async () => {
    const l = listenTcp({ host: '127.0.0.1', port: 0 });
    expect(l).toMatchObject({ family: 'IPv4', address: '127.0.0.1' });
    expect(l.port).toBeGreaterThan(0);
    expect(await serveOne(l.fd, { host: '127.0.0.1', port: l.port })).toBe(`hello from fd ${l.fd} /x`);
  });

  it('serves HTTP on [::1]', async () => {
    const l = listenTcp({ host: '::1', port: 0 });
    expect(l).toMatchObject({ family: 'IPv6', address: '::1' });
    expect(await serveOne(l.fd, { host: '::1', port: l.port })).toBe(`hello from fd ${l.fd} /x`);
  });

  it('serves HTTP on a Unix socket with the mode asked for', async () => {
    const path = join(tmp(), 'http.sock');
    const l = listenUnix({ path, mode: 0o660 });
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o660);
    expect(await serveOne(l.fd, { socketPath: path })).toBe(`hello from fd ${l.fd} /x`);
  });

  it('reports a port in use as EADDRINUSE from bind, naming the address', () => {
    const first = listenTcp({ host: '127.0.0.1', port: 0 });
    try {
      expect(() => listenTcp({ host: '127.0.0.1', port: first.port })).toThrow(
        expect.objectContaining({
          code: 'EADDRINUSE',
          syscall: 'bind',
          address: '127.0.0.1',
          port: first.port,
          message: `EADDRINUSE: address already in use, bind '127.0.0.1:${first.port}'`,
        }),
      );
    } finally {
      closeSync(first.fd);
    }
  });

  it('reports an existing socket file as EADDRINUSE, naming the path', () => {
    const path = join(tmp(), 'taken.sock');
    const l = listenUnix({ path });
    try {
      expect(() => listenUnix({ path })).toThrow(expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind', path }));
    } finally {
      closeSync(l.fd);
    }
  });

  it('listens on an abstract name', () => {
    const name = `@daemonkit-test-${process.pid}`;
    const l = listenUnix({ path: name });
    try {
      expect(socketAddress(l.fd)).toEqual({ family: 'unix', path: name.slice(1), abstract: true });
    } finally {
      closeSync(l.fd);
    }
  });

  it('rejects a host that is not a numeric address, and bad ports', () => {
    expect(() => listenTcp({ host: 'localhost', port: 0 })).toThrow(/options\.host.*numeric IPv4 or IPv6/);
    expect(() => listenTcp({ port: 70000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('options.port') }));
  });
});

describe('datagrams', () => {
  it('delivers a datagram to a socket path (received with the addon)', async () => {
    const path = join(tmp(), 'notify.sock');
    const fd = bindDatagram(path);
    try {
      expect(receiveDatagram(fd)).toBeNull();
      sendDatagram(path, 'READY=1\nSTATUS=up');
      const got = await waitFor('the datagram', () => receiveDatagram(fd) ?? undefined);
      expect(got.toString()).toBe('READY=1\nSTATUS=up');
    } finally {
      closeSync(fd);
    }
  });

  it('delivers a datagram to an abstract name (received by python3)', async () => {
    const name = `daemonkit-test-${process.pid}-${Date.now()}`;
    const receiver = spawn('python3', [
      '-c',
      `import socket,sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0${name}")
print("bound", flush=True)
s.settimeout(10)
sys.stdout.write(s.recv(4096).decode() + "\\n")`,
    ]);
    let out = '';
    receiver.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => receiver.once('exit', r));
    try {
      await waitFor('python3 to bind', () => out.includes('bound'));
      sendDatagram(`@${name}`, 'WATCHDOG=1');
      await exited;
    } finally {
      receiver.kill('SIGKILL');
    }
    expect(out).toBe('bound\nWATCHDOG=1\n');
  });

  it('reports a missing receiver as ENOENT (path) or ECONNREFUSED (abstract), naming it', () => {
    const path = join(tmp(), 'nobody-here.sock');
    expect(() => sendDatagram(path, 'x')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'sendto', path }));
    expect(() => sendDatagram('@daemonkit-nobody-here', 'x')).toThrow(expect.objectContaining({ code: 'ECONNREFUSED', syscall: 'sendto' }));
  });
});

describe('ipFamily (host validation without net.isIP)', () => {
  it('answers as net.isIP for addresses, near-addresses and names', () => {
    const hosts = ['127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.-4', '0x7f.0.0.1', ' 1.2.3.4', '1.2.3.4 ',
      '::', '::1', '2001:db8::1', '::ffff:1.2.3.4', 'fe80::1%lo', '1::2::3', 'gggg::', '[::1]', ':::', '', 'localhost',
      // SocketAddress (libuv) alone would take the first five (it cuts a zone off unchecked and
      // stops at a NUL byte); the last two are the longest IPv4-suffixed forms
      'fe80::1%', '::1%a b', 'fe80::1%lo%', '::1\0junk', 'b940:0:0:0:0:9b40:280.120.44.140%',
      '7900:500:7400:8a00:e200:1a00:176.216.168.100%et', 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255'];
    expect(hosts.map((h) => [h, ipFamily(h)])).toEqual(hosts.map((h) => [h, isIP(h)]));
  });
});

/** Why a preloaded C shim cannot be built and used here, or undefined. */
function shimUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `the O_PATH chmod and LD_PRELOAD shim are Linux-only, running on ${process.platform}`;
  if (spawnSync('cc', ['--version'], { stdio: 'ignore' }).error) return 'no C compiler (cc) to build test/fixtures/pause-after-bind.c';
  return undefined;
}

/** it() that runs only when `reason` is undefined; otherwise skipped with the reason in its name. */
function itIf(reason: string | undefined, name: string, fn: () => unknown | Promise<unknown>) {
  if (reason === undefined) it(name, fn);
  else it.skip(`${name} [skipped: ${reason}]`, fn);
}

/** Runs test/fixtures/listen-unix.js in a process of its own (its own umask). */
function listenInChild(spec: { path: string; umask: number; mode?: number }, prefix: string[] = []) {
  const [command, ...args] = [...prefix, process.execPath, fixture('listen-unix.js'), JSON.stringify(spec)];
  const run = spawnSync(command, args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${command} exited ${run.status ?? run.signal}: ${run.stderr}`);
  return JSON.parse(run.stdout) as { ok?: { mode: number }; error?: { code: string; syscall: string }; leakedFds?: number };
}

/** listenUnix() here under `umask`, restored after; returns the socket file's permission bits. */
function modeUnderUmask(path: string, umask: number, mode?: number): number {
  const saved = process.umask(umask);
  let fd: number;
  try {
    fd = listenUnix(mode === undefined ? { path } : { path, mode }).fd;
  } finally {
    process.umask(saved);
  }
  closeSync(fd);
  return lstatSync(path).mode & 0o7777;
}

describe('listenUnix mode', () => {
  const noStrace = straceUnavailable();
  const noShim = shimUnavailable();

  it('leaves the file as bind(2) makes it without a mode: 0777 under umask 0', () => {
    // The baseline the next tests guard against: with umask 0 every user may connect to a
    // freshly bound socket until its mode is changed.
    expect(modeUnderUmask(join(tmp(), 'bare.sock'), 0)).toBe(0o777);
  });

  itIf(noStrace, 'applies the mode between bind(2) and listen(2): bind, chmod through /proc/self/fd, listen', () => {
    // Under umask 0 bind(2) makes the file 0777: were listen(2) first, any local user could
    // connect before the chmod. strace shows the order of the real system calls (the fixture
    // runs in a process of its own so that only its calls are traced).
    const path = join(tmp(), 'ordered.sock');
    const trace = join(tmp(), 'ordered.trace');
    const out = listenInChild({ path, umask: 0, mode: 0o600 }, [
      'strace', '-f', '-qq', '-s', '4096', '-o', trace, '-e', 'trace=/^(bind|listen|chmod|fchmodat2?)$',
    ]);
    expect(out).toEqual({ ok: { mode: 0o600 } });

    let socketFd: string | undefined;
    const steps: string[] = [];
    for (const line of readFileSync(trace, 'utf8').split('\n')) {
      let m;
      if ((m = /^\d+ +bind\((\d+), \{sa_family=AF_UNIX, sun_path="([^"]*)"\}, \d+\) = 0$/.exec(line)) && m[2] === path) {
        socketFd = m[1];
        steps.push('bind');
      } else if ((m = /^\d+ +listen\((\d+), \d+\) += 0$/.exec(line)) && m[1] === socketFd) {
        steps.push('listen');
      } else if ((m = /^\d+ +(?:chmod\(|fchmodat2?\(AT_FDCWD, )"([^"]*)", (0\d+)(?:, \w+)?\) += 0$/.exec(line))) {
        // The O_PATH descriptor of the file, not the socket descriptor: chmod of
        // /proc/self/fd/<socket> would change the socket inode, not the file.
        const proc = /^\/proc\/self\/fd\/(\d+)$/.exec(m[1]);
        if (m[1] === path) steps.push(`chmod(path, ${m[2]})`);
        else if (proc && proc[1] !== socketFd) steps.push(`chmod(/proc/self/fd/<file>, ${m[2]})`);
        else if (proc) steps.push(`chmod(/proc/self/fd/<socket>, ${m[2]})`);
      }
    }
    expect(steps).toEqual(['bind', 'chmod(/proc/self/fd/<file>, 0600)', 'listen']);
  });

  it('gives the socket file exactly the mode asked, whatever the umask (0666 under umask 077)', () => {
    // chmod(2), not bind's umask-filtered mode: the umask would take 0666 down to 0600.
    expect(modeUnderUmask(join(tmp(), 'open.sock'), 0o077, 0o666)).toBe(0o666);
  });

  /**
   * Runs test/fixtures/listen-unix.js (mode 0o666) stopped right after bind(2) by the
   * preloaded shim, lets `swap` replace what is at `path` exactly there, and resolves with
   * what listenUnix() then did. It stands for a user who can write the socket's directory.
   */
  async function listenWithSwapAfterBind(path: string, swap: () => void) {
    const shim = join(tmp(), 'pause-after-bind.so');
    if (!existsSync(shim)) {
      const cc = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-o', shim, fixture('pause-after-bind.c'), '-ldl'], { encoding: 'utf8' });
      if (cc.status !== 0) throw new Error(`cc failed to build pause-after-bind.c (${cc.status ?? cc.signal}):\n${cc.stderr}`);
    }
    const child = pc.start(process.execPath, [fixture('listen-unix.js'), JSON.stringify({ path, umask: 0o022, mode: 0o666 })], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, LD_PRELOAD: shim, PAUSE_AFTER_BIND_PATH: path },
    });
    const control = child.stdio[3] as Socket;
    let said = '';
    control.on('data', (d) => (said += d));
    const outcome = firstLine(child);
    await waitFor('the fixture to stop after bind(2)', () => said === 'bound\n');
    expect(lstatSync(path).isSocket()).toBe(true);
    swap();
    control.write('g'); // one byte: the shim reads exactly one, and unread data would reset the pair
    return JSON.parse(await outcome);
  }

  itIf(noShim, 'never changes the mode of the file a symlink swapped in after bind(2) points to', async () => {
    // chmod(2) of the path would follow the link and make that file 0666.
    const path = join(tmp(), 'swapped.sock');
    const victim = join(tmp(), 'victim');
    writeFileSync(victim, 'secret');
    chmodSync(victim, 0o600);
    const out = await listenWithSwapAfterBind(path, () => {
      renameSync(path, `${path}.moved`);
      symlinkSync(victim, path);
    });
    expect(statSync(victim).mode & 0o7777).toBe(0o600);
    expect(out).toMatchObject({ error: { code: 'ELOOP', syscall: 'chmod' }, leakedFds: 0 });
  });

  itIf(noShim, 'never changes the mode of another socket hard-linked in after bind(2)', async () => {
    // Another service's socket (root's, 0600), linked where ours was: a socket, like ours,
    // but with two links. Making it 0666 would open that service to everyone.
    const path = join(tmp(), 'linked.sock');
    const other = listenUnix({ path: join(tmp(), 'other-service.sock'), mode: 0o600 });
    try {
      const out = await listenWithSwapAfterBind(path, () => {
        renameSync(path, `${path}.moved`);
        linkSync(other.path, path);
      });
      expect(statSync(other.path).mode & 0o777).toBe(0o600);
      expect(out).toMatchObject({ error: { code: 'ELOOP', syscall: 'chmod' }, leakedFds: 0 });
    } finally {
      closeSync(other.fd);
    }
  });

  it('refuses a mode for an abstract socket, which has no file', () => {
    expect(() => listenUnix({ path: `@daemonkit-test-mode-${process.pid}`, mode: 0o600 })).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining("'options.mode' does not apply to an abstract socket") }),
    );
  });
});

describe('unixSocketState (is a socket path in use?)', () => {
  /** Starts test/fixtures/unix-stream-listener.js on path; resolves once it listens. */
  async function listenerProcess(path: string) {
    const child = pc.start(process.execPath, [fixture('unix-stream-listener.js'), path]);
    expect(await firstLine(child)).toBe('listening');
    return child;
  }

  it("says 'free' for a path where nothing is", () => {
    expect(unixSocketState(join(tmp(), 'nothing-here.sock'))).toBe('free');
  });

  it("says 'other' for a regular file, which is not ours to remove", () => {
    const path = join(tmp(), 'regular-file.sock');
    writeFileSync(path, '');
    expect(unixSocketState(path)).toBe('other');
  });

  it("says 'other' for a symbolic link, even to a live socket (never followed)", async () => {
    const target = join(tmp(), 'link-target.sock');
    await listenerProcess(target);
    const path = join(tmp(), 'link.sock');
    symlinkSync(target, path);
    expect(unixSocketState(path)).toBe('other');
  });

  it("says 'live' for a path another process listens on", async () => {
    const path = join(tmp(), 'served.sock');
    await listenerProcess(path);
    expect(unixSocketState(path)).toBe('live');
  });

  it("says 'live' for a listener whose backlog is full (connect(2) would block)", async () => {
    // A busy service that does not accept for a while still owns its socket: connect(2)
    // answers EAGAIN, not ECONNREFUSED. Backlog 0 and nobody accepting: the queue fills
    // after a connection or two, and stays full.
    const path = join(tmp(), 'busy.sock');
    const l = listenUnix({ path, backlog: 0 });
    const clients: Socket[] = [];
    try {
      let last = '';
      for (let i = 0; i < 64 && last !== 'EAGAIN'; i++) {
        last = await new Promise<string>((resolve) => {
          const c = connect(path);
          clients.push(c);
          c.once('connect', () => resolve('connected')).once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
        });
      }
      expect(last).toBe('EAGAIN');
      expect(unixSocketState(path)).toBe('live');
    } finally {
      for (const c of clients) c.destroy();
      closeSync(l.fd);
    }
  });

  it("says 'stale' for a socket file left by a listener killed with SIGKILL", async () => {
    const path = join(tmp(), 'crashed.sock');
    const child = await listenerProcess(path);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(path)).toBe(true);
    expect(unixSocketState(path)).toBe('stale');
  });
});
