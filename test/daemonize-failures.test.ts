// Every bad input and every failed start: one line naming the input and the fix, the exit
// code, and nothing left behind (no process, no PID file, no socket file), with an already
// running daemon untouched.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, readSync, renameSync, statSync, symlinkSync, writeFileSync, constants as fsConstants } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listenTcp } from '../src/index';
import { firstLine, fixture, fixtureAsNobody, isAlive, isRoot, ourChildren, pidWritten, rootIt, useProcessControl, useTmpDir, waitFor } from './helpers';
import { launch, nothingLeft } from './launch';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;
const fresh = (name: string) => join(tmp(), `${name}-${++n}`);
/** As root, run the launcher as nobody: the unprivileged cases need a user without rights. */
const unprivileged = isRoot ? { uid: 65534, gid: 65534, cwd: '/' } : {};

async function fails(options: object, code: number, message: string | RegExp, behavior = 'serve', spawnOptions = {}) {
  const r = await launch({ name: 'app', ...options }, behavior, spawnOptions);
  expect(r.stdout).toBe('');
  const first = r.stderr.split('\n')[0];
  if (typeof message === 'string') expect(first).toBe(message.startsWith('app') ? message : `app: ${message}`);
  else expect(first).toMatch(message);
  expect(r.code).toBe(code);
  const pidFile = (options as { pidFile?: string }).pidFile;
  expect(nothingLeft(pidFile)).toEqual({ children: [], pidFile: false });
  return r;
}

describe('invalid options: exit 2, before anything is opened', () => {
  it('unknown user', () =>
    fails({ pidFile: fresh('u.pid'), user: 'no-such-user-dk' }, 2, "unknown user 'no-such-user-dk': no entry in the passwd database (check it with: getent passwd no-such-user-dk)"));

  it('unknown group', () =>
    fails({ pidFile: fresh('g.pid'), user: 'nobody', group: 'no-such-group-dk' }, 2, "unknown group 'no-such-group-dk': no entry in the group database (check it with: getent group no-such-group-dk)"));

  it('unknown rlimit name', () => fails({ rlimits: { files: 10 } }, 2, /^app: rlimits\.files is not a resource limit on linux; use one of as, core, .*nofile/));

  it('invalid umask', () => fails({ umask: 0o1000 }, 2, 'umask must be an octal mode between 0 and 0o777 (e.g. 0o022 or \'022\'), got 512'));

  it('unknown option', () => fails({ pidfile: '/tmp/x' }, 2, /^app: unknown option 'pidfile'; known options: pidFile, /));

  it('a host name instead of an address', () =>
    fails({ listen: [{ host: 'localhost', port: 8080 }] }, 2, 'listen[0].host must be a numeric IPv4 or IPv6 address such as 0.0.0.0 or ::1, got "localhost"'));
});

describe('the environment refuses: exit 1, nothing left', () => {
  it('PID file directory missing', async () => {
    const pidFile = join(tmp(), 'missing-dir', 'app.pid');
    await fails({ pidFile }, 1, `cannot open PID file (pidFile): ENOENT: no such file or directory, open '${pidFile}'; its directory does not exist; create it or choose another path`);
  });

  it('PID file directory not writable', async () => {
    const dir = fresh('ro');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(tmp(), 0o755);
    if (!isRoot) chmodSync(dir, 0o555);
    const pidFile = join(dir, 'app.pid');
    await fails({ pidFile }, 1, `cannot open PID file (pidFile): EACCES: permission denied, open '${pidFile}'; its directory is not writable by this user; run as root or choose another path`, 'serve', unprivileged);
  });

  it('PID file is a symlink', async () => {
    const target = fresh('target.pid');
    const pidFile = fresh('link.pid');
    symlinkSync(target, pidFile);
    const r = await launch({ name: 'app', pidFile });
    expect([r.code, r.stderr]).toEqual([1, `app: PID file '${pidFile}' is a symbolic link (pidFile); links are never followed; give the real path\n`]);
    expect(existsSync(target)).toBe(false);
    expect(ourChildren()).toEqual([]);
  });

  it('PID file is a directory', async () => {
    const pidFile = fresh('dir.pid');
    mkdirSync(pidFile);
    const r = await launch({ name: 'app', pidFile });
    expect([r.code, r.stderr]).toEqual([1, `app: PID file '${pidFile}' is a directory (pidFile); remove it or choose another path\n`]);
    expect(statSync(pidFile).isDirectory()).toBe(true);
  });

  it('PID file is a FIFO', async () => {
    const pidFile = fresh('fifo.pid');
    execFileSync('mkfifo', [pidFile]);
    const r = await launch({ name: 'app', pidFile });
    expect([r.code, r.stderr]).toEqual([1, `app: PID file '${pidFile}' is a FIFO (pidFile); remove it or choose another path\n`]);
    expect(ourChildren()).toEqual([]);
  });

  it('port in use', async () => {
    const busy = listenTcp({ host: '127.0.0.1', port: 0 });
    try {
      await fails(
        { pidFile: fresh('busy.pid'), listen: [{ host: '127.0.0.1', port: busy.port }] },
        1,
        `cannot listen on 127.0.0.1:${busy.port} (listen[0]): EADDRINUSE: address already in use, bind '127.0.0.1:${busy.port}'; another process is listening there; stop it or choose another port`,
      );
    } finally {
      closeSync(busy.fd);
    }
  });

  const unprivilegedPortStart = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  (unprivilegedPortStart > 80 ? it : it.skip)(`privileged port without root${unprivilegedPortStart > 80 ? '' : ` [skipped: ip_unprivileged_port_start is ${unprivilegedPortStart}, port 80 is not privileged here]`}`, () =>
    fails(
      { listen: [{ host: '127.0.0.1', port: 80 }] },
      1,
      "cannot listen on 127.0.0.1:80 (listen[0]): EACCES: permission denied, bind '127.0.0.1:80'; ports below 1024 need root; start as root (with user: to drop) or choose a port >= 1024",
      'serve',
      unprivileged,
    ));

  it('a Unix socket is removed again when a later step fails', async () => {
    const path = fresh('app.sock');
    await fails({ pidFile: fresh('sock.pid'), listen: [{ path }], cwd: join(tmp(), 'nope') }, 1, /^app: cwd '.*nope' is not an existing directory/);
    expect(existsSync(path)).toBe(false);
  });

  it('cwd missing', () => {
    const cwd = join(tmp(), 'no-such-cwd');
    return fails({ pidFile: fresh('cwd.pid'), cwd }, 1, `cwd '${cwd}' is not an existing directory (cwd); create it or choose another`);
  });

  it('log directory missing', () => {
    const logFile = join(tmp(), 'no-such-dir', 'app.log');
    return fails({ pidFile: fresh('log.pid'), logFile }, 1, `cannot open log file (logFile): ENOENT: no such file or directory, open '${logFile}'; its directory does not exist; create it`);
  });

  it('rlimit above the hard limit without privilege', async () => {
    // The shell lowers the hard limit first (1024 KiB), so raising it needs privilege.
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const options = JSON.stringify({ name: 'app', rlimits: { core: 1e12 } });
      const child = pc.start('sh', ['-c', 'ulimit -H -c 1024 && exec "$0" "$@"', process.execPath, isRoot ? fixtureAsNobody('daemon.mjs') : fixture('daemon.mjs'), options], unprivileged);
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /^app: rlimits\.core: EPERM: operation not permitted, setrlimit 'core': raising the hard limit from (\d+) to 1000000000000 needs CAP_SYS_RESOURCE; ask for at most \1 or start as root\n$/,
    );
    expect(ourChildren()).toEqual([]);
  });
});

describe('more refusals, before anything is started', () => {
  it('a program read from stdin cannot be re-run as a daemon (exit 2)', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-'], {
      input: `import { daemonize } from ${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))}; await daemonize({ name: 'app' });`,
      encoding: 'utf8',
    });
    expect([r.status, r.stderr]).toEqual([2, 'app: daemonize() needs the program in a script file: the daemon re-runs `node <script>`, and a program read from stdin cannot be re-run\n']);
  });

  (isRoot ? it : it.skip)('user without root (exit 1, before anything is created)', () =>
    fails({ user: 'root' }, 1, "user: only root can become 'root' (uid 0); start as root or remove the user option", 'serve', unprivileged),
  );

  it('pidFile outside chroot (exit 2)', () =>
    fails({ pidFile: fresh('outside.pid'), chroot: join(tmp(), 'jail') }, 2, `pidFile must be inside chroot ('${join(tmp(), 'jail')}') so the daemon can still remove it after the chroot`));

  // Resolved once, by the launcher, and handed to the service: options that would come out
  // differently in the daemon (here, its own pid) do not matter, and nothing is looked up twice.
  it('options are resolved once: the daemon runs with what the launcher resolved', async () => {
    const pidFile = fresh('vary.pid');
    const r = await launch({ name: 'app', pidFile, env: { BORN: '$PID' } });
    expect(r.code).toBe(0);
    const environ = readFileSync(`/proc/${r.pid}/environ`, 'utf8').split('\0');
    const born = environ.find((e) => e.startsWith('BORN='));
    expect(born).toMatch(/^BORN=\d+$/);
    expect(born).not.toBe(`BORN=${r.pid}`);
  });
});

describe('the daemon fails before ready(): exit 1, the reason, the log, nothing left', () => {
  it('shows only what this start wrote to the log', async () => {
    const logFile = fresh('old.log');
    writeFileSync(logFile, 'a line from an earlier run\n');
    const r = await fails({ pidFile: fresh('old.pid'), logFile }, 1, /exited with code 7/, 'exit-7');
    expect(r.stderr).toContain('  | umask 22 APP_MODE=');
    expect(r.stderr).not.toContain('earlier run');
  });

  it('never calls ready(): stopped after readyTimeout', async () => {
    const pidFile = fresh('slow.pid');
    await fails({ pidFile, readyTimeout: 500 }, 1, /^app: did not report ready within 500 ms \(readyTimeout\); stopped it \(pid \d+\)$/, 'never-ready');
  });

  it('the launcher is interrupted (Ctrl-C) while waiting: the daemon is stopped too', async () => {
    const pidFile = fresh('int.pid');
    const child = pc.start(process.execPath, [join(__dirname, 'fixtures', 'daemon.mjs'), JSON.stringify({ name: 'app', pidFile }), 'never-ready']);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // The launcher writes the daemon's pid once it has forked; the daemon is its child then.
    const pid = await pidWritten(pidFile);
    child.kill('SIGINT');
    expect(await closed).toBe(1);
    expect(stderr).toBe(`app: interrupted by SIGINT before it was ready; stopped it (pid ${pid})\n`);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    expect(nothingLeft(pidFile)).toEqual({ children: [], pidFile: false });
  });

  it('exits with a code', async () => {
    await fails({ pidFile: fresh('exit.pid') }, 1, /^app: exited with code 7 before it was ready \(pid \d+\)$/, 'exit-7');
  });

  it('is killed by a signal', async () => {
    await fails({ pidFile: fresh('segv.pid') }, 1, /^app: was killed by SIGSEGV before it was ready \(pid \d+\)$/, 'segv');
  });

  it('throws, and the launcher shows the end of the log with the stack', async () => {
    const logFile = fresh('throw.log');
    const r = await fails({ pidFile: fresh('throw.pid'), logFile }, 1, /^app: exited with code 1 before it was ready \(pid \d+\)$/, 'throw');
    expect(r.stderr).toContain(`last lines of ${logFile}:`);
    // Logged as one event, every line of the stack with the time name[pid] prefix.
    expect(r.stderr).toMatch(/  \| \S+Z app\[\d+\]: (uncaught exception|unhandled rejection) before ready: Error: database unreachable at startup\n  \| \S+Z app\[\d+\]:       at /);
    expect(readFileSync(logFile, 'utf8').split('\n').filter(Boolean).every((l) => /^\S+Z app\[\d+\]: /.test(l) || /^umask /.test(l))).toBe(true);
  });

  // Output before ready is never lost: with no log file it went to the launcher, which shows
  // the end of it (and nothing of it stays in the daemon's stdout once ready).
  it('throws with no logFile: the thrown message is on the terminal', async () => {
    const r = await fails({ pidFile: fresh('throw-nolog.pid') }, 1, /^app: exited with code 1 before it was ready \(pid \d+\)$/, 'throw');
    expect(r.stderr).toContain('last lines of its output:');
    expect(r.stderr).toMatch(/  \| \S+Z app\[\d+\]: (uncaught exception|unhandled rejection) before ready: Error: database unreachable at startup/);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('  | ')).length).toBeLessThanOrEqual(20);
  });

  it('throws with only stdout in a file: stderr went to the launcher, and the error is shown', async () => {
    const stdout = fresh('only-stdout.log');
    const r = await fails({ pidFile: fresh('only-stdout.pid'), stdout }, 1, /^app: exited with code 1 before it was ready/, 'throw');
    expect(r.stderr).toContain('last lines of its output:');
    expect(r.stderr).toMatch(/  \| \S+Z app\[\d+\]: (uncaught exception|unhandled rejection) before ready: Error: database unreachable at startup/);
  });

  it('calls daemon.fail()', async () => {
    await fails({ pidFile: fresh('fail.pid') }, 1, 'failed to start: config invalid: no port given', 'fail');
  });

  it('fails after binding a Unix socket: the socket file goes too', async () => {
    const path = fresh('fail.sock');
    await fails({ pidFile: fresh('failsock.pid'), listen: [{ path }] }, 1, /exited with code 7/, 'exit-7');
    expect(existsSync(path)).toBe(false);
  });
});

describe('already running: exit 3, the running daemon untouched', () => {
  it('leaves the running daemon and its PID file alone, whatever else is wrong', async () => {
    const pidFile = fresh('running.pid');
    const first = await launch({ name: 'app', pidFile });
    expect(first.code).toBe(0);
    const pid = pc.track(first.pid!);
    const before = statSync(pidFile);
    for (const extra of [{}, { cwd: join(tmp(), 'nope') }, { listen: [{ host: '127.0.0.1', port: 1 }] }]) {
      const r = await launch({ name: 'app', pidFile, ...extra });
      expect([r.code, r.stderr]).toEqual([3, `app already running (pid ${pid})\n`]);
    }
    const after = statSync(pidFile);
    expect([after.ino, after.mtimeMs, readFileSync(pidFile, 'utf8')]).toEqual([before.ino, before.mtimeMs, `${pid}\n`]);
    expect(ourChildren()).toEqual([pid]);
  });
});

describe('files at the PID and log paths that are not ours to write', () => {
  // A file the service user must not be able to reach through daemonkit: root's, 0600.
  function secret(): { path: string; before: string } {
    const path = fresh('secret');
    writeFileSync(path, 'root only\n', { mode: 0o600 });
    const st = statSync(path);
    return { path, before: `${st.uid}:${st.gid}:${(st.mode & 0o7777).toString(8)}:root only\n` };
  }
  const now = (path: string) => {
    const st = statSync(path);
    return `${st.uid}:${st.gid}:${(st.mode & 0o7777).toString(8)}:${readFileSync(path, 'utf8')}`;
  };

  it('a hard link at the PID file path is refused: the linked file is not truncated, written or chowned', async () => {
    const target = secret();
    const pidFile = fresh('linked.pid');
    linkSync(target.path, pidFile);
    const r = await launch({ name: 'app', pidFile, ...(isRoot ? { user: 'nobody', pidFileOwner: 'nobody' } : {}) });
    expect([r.code, r.stderr]).toEqual([
      1,
      `app: PID file '${pidFile}' is a regular file with 2 links (pidFile); hard links are never written through; remove the other links or choose another path\n`,
    ]);
    expect(now(target.path)).toBe(target.before);
    expect(ourChildren()).toEqual([]);
  });

  it('a hard link at the log file path is refused: the linked file gets no line and keeps its owner', async () => {
    const target = secret();
    const logFile = fresh('linked.log');
    linkSync(target.path, logFile);
    const pidFile = fresh('log-linked.pid');
    const r = await launch({ name: 'app', pidFile, logFile, ...(isRoot ? { user: 'nobody' } : {}) });
    expect([r.code, r.stderr]).toEqual([
      1,
      `app: log file '${logFile}' is a regular file with 2 links (logFile); hard links are never written through; remove the other links or choose another path\n`,
    ]);
    expect(now(target.path)).toBe(target.before);
    expect(nothingLeft(pidFile)).toEqual({ children: [], pidFile: false });
  });

  it('a hard link at the stderr path is refused naming stderr', async () => {
    const target = secret();
    const stderr = fresh('linked.err');
    linkSync(target.path, stderr);
    const r = await launch({ name: 'app', stdout: fresh('out.log'), stderr });
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([1, `app: log file '${stderr}' is a regular file with 2 links (stderr); hard links are never written through; remove the other links or choose another path`]);
    expect(now(target.path)).toBe(target.before);
  });

  it('a FIFO at the log path without a reader: refused at once, nothing left', async () => {
    const logFile = fresh('fifo.log');
    execFileSync('mkfifo', [logFile]);
    const pidFile = fresh('fifo-log.pid');
    await fails({ pidFile, logFile }, 1, `log file '${logFile}' is a FIFO, a socket or a device with nothing behind it (logFile); give a regular file or a character device such as /dev/null`);
  });

  it('a FIFO at the log path with a reader: refused at once as a FIFO, the reader gets nothing', async () => {
    const logFile = fresh('fifo-read.log');
    execFileSync('mkfifo', [logFile]);
    const reader = openSync(logFile, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const pidFile = fresh('fifo-read.pid');
      await fails({ pidFile, logFile }, 1, `log file '${logFile}' is a FIFO (logFile); give a regular file or a character device such as /dev/null`);
      // Nothing was written, and no writer is left: end of file.
      expect(readSync(reader, Buffer.alloc(16))).toBe(0);
    } finally {
      closeSync(reader);
    }
  });

  it('a symbolic link at the log path is refused, its target untouched', async () => {
    const target = fresh('log-target');
    const logFile = fresh('symlinked.log');
    symlinkSync(target, logFile);
    await fails({ pidFile: fresh('sym-log.pid'), logFile }, 1, `log file '${logFile}' is a symbolic link (logFile); links are never followed; give the real path`);
    expect(existsSync(target)).toBe(false);
  });

  rootIt('logFile /dev/null with user: starts, and /dev/null stays root\'s, mode 0666', async () => {
    const before = statSync('/dev/null');
    const r = await launch({ name: 'app', pidFile: fresh('devnull.pid'), logFile: '/dev/null', user: 'nobody', pidFileOwner: 'nobody' });
    expect([r.code, r.stderr]).toEqual([0, '']);
    pc.track(r.pid!);
    expect(readlinkSync(`/proc/${r.pid}/fd/1`)).toBe('/dev/null');
    const after = statSync('/dev/null');
    expect([after.uid, after.gid, after.mode.toString(8)]).toEqual([before.uid, before.gid, before.mode.toString(8)]);
    expect([after.uid, (after.mode & 0o777).toString(8)]).toEqual([0, '666']);
  });
});

describe('Unix sockets at listen paths', () => {
  /** A process of someone else's listening on `path` (python3, as any other service would). */
  async function foreignServer(path: string) {
    // A client that connects and leaves at once (daemonkit's probe) must not end it.
    const program = 'import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen()\nprint("up",flush=True)\nwhile True:\n c,_=s.accept()\n try:\n  c.sendall(b"foreign\\n")\n except OSError:\n  pass\n c.close()';
    const server = pc.start('python3', ['-c', program, path]);
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`python3 exited ${code}`)));
    });
    return server;
  }
  const ask = (path: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect(path);
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });

  it('a socket another process listens on is never taken over: EADDRINUSE naming the path', async () => {
    const path = fresh('foreign.sock');
    await foreignServer(path);
    const pidFile = fresh('foreign.pid');
    const before = ourChildren();
    const r = await launch({ name: 'app', pidFile, listen: [{ path }] });
    expect([r.code, r.stdout, r.stderr]).toEqual([
      1,
      '',
      `app: cannot listen on ${path} (listen[0]): EADDRINUSE: address already in use, bind '${path}'; another process is listening on this socket; stop it or choose another path\n`,
    ]);
    expect(nothingLeft(pidFile)).toEqual({ children: before, pidFile: false });
    expect(await ask(path)).toBe('foreign\n');
  });

  it('a stale socket without a pidFile is named, with the fix', async () => {
    const path = fresh('stale.sock');
    const server = await foreignServer(path);
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    expect(statSync(path).isSocket()).toBe(true);
    await fails({ listen: [{ path }] }, 1, `cannot listen on ${path} (listen[0]): EADDRINUSE: address already in use, bind '${path}'; a socket file nobody listens on is there (left by a process that died); remove it, or give pidFile and daemonkit replaces such files itself`);
    expect(statSync(path).isSocket()).toBe(true);
  });

  it('a clean exit removes the socket file, so a start without pidFile works again', async () => {
    const path = fresh('clean.sock');
    const first = await launch({ name: 'app', listen: [{ path }] });
    expect([first.code, first.stderr]).toEqual([0, '']);
    pc.track(first.pid!);
    process.kill(first.pid!, 'SIGTERM');
    expect(await pc.exitOf(first.pid!)).toEqual({ code: 0, signal: null });
    expect(existsSync(path)).toBe(false);
    const second = await launch({ name: 'app', listen: [{ path }] });
    expect([second.code, second.stderr]).toEqual([0, '']);
    pc.track(second.pid!);
  });

  it('a socket file that a later start replaced is left alone at exit', async () => {
    const path = fresh('replaced.sock');
    const first = await launch({ name: 'app', listen: [{ path }] });
    expect(first.code).toBe(0);
    pc.track(first.pid!);
    // Someone moves the socket away and another service binds the path meanwhile.
    renameSync(path, `${path}.old`);
    await foreignServer(path);
    process.kill(first.pid!, 'SIGTERM');
    expect(await pc.exitOf(first.pid!)).toEqual({ code: 0, signal: null });
    expect(await ask(path)).toBe('foreign\n');
  });
});

describe('resource limits', () => {
  it('rlimits.as too small for Node: the launcher reports it and names the limit, nothing is left, the next start works', async () => {
    const pidFile = fresh('as.pid');
    // Node may die at once or hang before any JavaScript: either way the launcher ends it.
    const r = await launch({ name: 'app', pidFile, rlimits: { as: 100 * 2 ** 20 }, readyTimeout: 5000 });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(
      /^app: (was killed by SIG[A-Z]+|exited with code \d+|did not report ready within 5000 ms \(readyTimeout\); stopped it) (before it was ready )?\(pid \d+\); it ran with rlimits as=104857600, and a limit too low keeps Node\.js from starting$/,
    );
    expect(nothingLeft(pidFile)).toEqual({ children: [], pidFile: false });
    const again = await launch({ name: 'app', pidFile });
    expect([again.code, again.stderr]).toEqual([0, '']);
    pc.track(again.pid!);
  });

  it('the limits are the daemon\'s, set before it runs, not the launcher\'s', async () => {
    const pidFile = fresh('limits.pid');
    const r = await launch({ name: 'app', pidFile, rlimits: { core: 0, nofile: { soft: 1000, hard: 2000 }, fsize: 0 } });
    expect([r.code, r.stderr]).toEqual([0, '']);
    pc.track(r.pid!);
    const limits = readFileSync(`/proc/${r.pid}/limits`, 'utf8');
    expect(limits).toMatch(/^Max core file size\s+0\s+0\s+bytes/m);
    expect(limits).toMatch(/^Max open files\s+1000\s+2000\s+files/m);
    expect(limits).toMatch(/^Max file size\s+0\s+0\s+bytes/m);
    // fsize 0 does not stop the PID file: the launcher writes it, outside the limits.
    expect(readFileSync(pidFile, 'utf8')).toBe(`${r.pid}\n`);
  });

  it('rlimits.nofile too low for Node is refused before anything starts (exit 2)', () =>
    fails({ pidFile: fresh('nofile.pid'), rlimits: { nofile: 5 } }, 2, 'rlimits.nofile: 5 descriptors are too few for Node.js to start and serve; ask for at least 64'));

  it('foreground: rlimits.fsize 0 still writes the PID file', async () => {
    const pidFile = fresh('fg-fsize.pid');
    const child = pc.start(process.execPath, [fixture('daemon.mjs'), JSON.stringify({ name: 'fg', pidFile, foreground: true, rlimits: { fsize: 0 } })]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitFor('started', () => out.includes('started'));
    expect(readFileSync(pidFile, 'utf8')).toBe(`${child.pid}\n`);
    expect(readFileSync(`/proc/${child.pid}/limits`, 'utf8')).toMatch(/^Max file size\s+0\s+0\s+bytes/m);
  });
});

describe('messages name the input', () => {
  it('a name with a control character is refused (exit 2) without being printed raw', async () => {
    const r = await launch({ name: 'app\n2026-01-01T00:00:00.000Z app[1]: ready' });
    expect([r.code, r.stderr]).toEqual([2, 'daemonize: name must not contain control characters, got "app\\n2026-01-01T00:00:00.000Z app[1]: ready"; give a plain name\n']);
    expect(ourChildren()).toEqual([]);
  });

  it('a missing chroot is named as chroot, not cwd', async () => {
    const jail = join(tmp(), 'no-such-jail');
    await fails({ pidFile: join(jail, 'app.pid'), chroot: jail }, 1, /^app: (chroot '.*no-such-jail' is not an existing directory \(chroot\); create it or choose another|cannot open PID file)/);
    await fails({ chroot: jail }, 1, `chroot '${jail}' is not an existing directory (chroot); create it or choose another`);
  });

  it('NaN and Infinity are printed as they are', async () => {
    await fails({ readyTimeout: '=NaN' }, 2, 'readyTimeout must be a number of milliseconds from 1 to 2147483647, got NaN');
    await fails({ shutdownTimeout: '=Infinity' }, 2, 'shutdownTimeout must be a number of milliseconds from 1 to 2147483647, got Infinity');
    await fails({ listen: [{ port: '=-Infinity' }] }, 2, 'listen[0].port must be an integer from 0 to 65535, got -Infinity');
  });

  it('a path with a control character is an invalid option (exit 2), shown escaped', () =>
    fails({ cwd: '/srv/app\napp: started' }, 2, 'cwd must be a path without control characters, got "/srv/app\\napp: started"'));

  it('an env value with a NUL byte is an invalid option (exit 2) naming env.KEY', () =>
    fails({ pidFile: fresh('nul.pid'), env: { GREETING: 'hi\u0000there' } }, 2, 'env.GREETING contains a NUL byte, which no environment variable can hold; remove it'));

  it('readyTimeout at the largest timer value starts and keeps running', async () => {
    const pidFile = fresh('long.pid');
    await fails({ readyTimeout: 2 ** 31 }, 2, 'readyTimeout must be a number of milliseconds from 1 to 2147483647, got 2147483648');
    const r = await launch({ name: 'app', pidFile, readyTimeout: 2 ** 31 - 1 });
    expect([r.code, r.stderr]).toEqual([0, '']);
    pc.track(r.pid!);
    // Its own timer would have fired at once (Node clamps an overflowing delay to 1 ms): it
    // is still the one running, holding its PID file.
    expect(ourChildren()).toEqual([r.pid]);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${r.pid}\n`);
  });
});

describe('the launcher killed before ready', () => {
  it('the daemon that becomes ready later runs on, and says the launcher was gone', async () => {
    const pidFile = fresh('orphan.pid');
    const logFile = fresh('orphan.log');
    const go = fresh('orphan.go');
    const launcher = pc.start(process.execPath, [fixture('daemon.mjs'), JSON.stringify({ name: 'app', pidFile, logFile, readyTimeout: 60_000 }), 'ready-on-file', go]);
    const closed = new Promise<number | null>((resolve) => launcher.on('close', (_code, signal) => resolve(signal === null ? _code : -1)));
    const pid = await pidWritten(pidFile);
    pc.track(pid);
    launcher.kill('SIGKILL');
    await closed;
    writeFileSync(go, '');
    await waitFor('the ready line', () => readFileSync(logFile, 'utf8').includes(': ready\n'));
    expect(readFileSync(logFile, 'utf8')).toMatch(new RegExp(`app\\[${pid}\\]: launcher gone before ready; running anyway\\n\\S+Z app\\[${pid}\\]: ready\\n$`));
    expect(isAlive(pid)).toBe(true);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${pid}\n`);
  });
});

describe('files renamed onto the PID and log paths', () => {
  // Whoever can write the directory can rename a file there onto the path: one link, a
  // regular file, but not one this start created. It must not be given away or truncated.
  function rootSecret(dir: string) {
    const path = join(dir, 'tls.key');
    writeFileSync(path, 'TOP SECRET KEY\n', { mode: 0o600 });
    return path;
  }

  rootIt('a root file renamed onto the log path is written to, never given to the service user', async () => {
    const dir = fresh('var');
    mkdirSync(dir);
    const logFile = join(dir, 'app.log');
    renameSync(rootSecret(dir), logFile);
    const r = await launch({ name: 'app', pidFile: fresh('renamed-log.pid'), logFile, user: 'nobody' });
    expect([r.code, r.stderr]).toEqual([0, '']);
    pc.track(r.pid!);
    const st = statSync(logFile);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([0, 0, 0o600]);
  });

  rootIt('a log file this start creates is given to the service user', async () => {
    const logFile = fresh('created.log');
    const r = await launch({ name: 'app', pidFile: fresh('created-log.pid'), logFile, user: 'nobody' });
    expect([r.code, r.stderr]).toEqual([0, '']);
    pc.track(r.pid!);
    expect([statSync(logFile).uid, statSync(logFile).gid]).toEqual([65534, 65534]);
  });

  it('a file that is not a PID file at the PID path is refused and left as it is', async () => {
    const dir = fresh('run');
    mkdirSync(dir);
    const pidFile = join(dir, 'app.pid');
    renameSync(rootSecret(dir), pidFile);
    const r = await launch({ name: 'app', pidFile, ...(isRoot ? { user: 'nobody', pidFileOwner: 'nobody' } : {}) });
    expect([r.code, r.stderr]).toEqual([1, `app: PID file '${pidFile}' is a file that holds something other than a pid (pidFile); it is left as it is: remove it or choose another path\n`]);
    const st = statSync(pidFile);
    expect([readFileSync(pidFile, 'utf8'), st.uid, st.mode & 0o7777]).toEqual(['TOP SECRET KEY\n', process.getuid!(), 0o600]);
    expect(ourChildren()).toEqual([]);
  });
});

describe('the launcher stays in charge', () => {
  it('a daemon that swapped its PID file for a link before failing: reported, the link left alone', async () => {
    const pidFile = fresh('swapped.pid');
    const path = fresh('swapped.sock');
    const r = await launch({ name: 'app', pidFile, listen: [{ path }] }, 'swap-pid-file');
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([1, expect.stringMatching(/^app: exited with code 5 before it was ready \(pid \d+\)$/)]);
    expect(lstatSync(pidFile).isSymbolicLink()).toBe(true);
    expect(readFileSync('/etc/passwd', 'utf8')).toMatch(/^root:/);
    expect(existsSync(path)).toBe(false);
    expect(ourChildren()).toEqual([]);
  });

  it('Ctrl-C while waiting for a starting instance to write its pid ends the wait at once', async () => {
    const pidFile = fresh('held.pid');
    // An instance that holds the lock and has not written its pid yet.
    const holder = pc.start(process.execPath, [fixture('lock-holder.js'), pidFile]);
    await firstLine(holder);
    // NODE_DEBUG=timer makes Node say when a timer fires: the launcher's 20 ms wait between
    // two looks at the PID file is the first timer it sets, after its signal handlers.
    const launcher = pc.start(process.execPath, [fixture('daemon.mjs'), JSON.stringify({ name: 'app', pidFile })], { env: { ...process.env, NODE_DEBUG: 'timer' } });
    let stderr = '';
    launcher.stderr!.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => launcher.on('close', resolve));
    await waitFor('the launcher to be waiting', () => stderr.includes('timeout callback 20'));
    launcher.kill('SIGINT');
    expect(await closed).toBe(1);
    const ours = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('TIMER '));
    expect(ours).toEqual([`app: interrupted by SIGINT while waiting for the instance that holds '${pidFile}' to write its pid; nothing was started`]);
    expect(readFileSync(pidFile, 'utf8')).toBe('');
  });

  it('foreground: a failure after the logs are open is still told on the terminal', async () => {
    const busy = listenTcp({ host: '127.0.0.1', port: 0 });
    try {
      const logFile = fresh('fg-fail.log');
      const pidFile = fresh('fg-fail.pid');
      const r = await launch({ name: 'app', pidFile, logFile, foreground: true, listen: [{ host: '127.0.0.1', port: busy.port }] });
      expect([r.code, r.stdout, r.stderr.split('\n')[0]]).toEqual([1, '', expect.stringContaining(`app: cannot listen on 127.0.0.1:${busy.port} (listen[0]): EADDRINUSE`)]);
      // Nothing was written to it: the log file this start created is gone with the rest.
      expect(existsSync(logFile)).toBe(false);
      expect(nothingLeft(pidFile)).toEqual({ children: [], pidFile: false });
    } finally {
      closeSync(busy.fd);
    }
  });

  it('listen options that cannot apply are invalid (exit 2), not a failed start', async () => {
    await fails({ listen: [{ path: '@daemonkit-x', mode: 0o600 }] }, 2, "listen[0].mode does not apply to an abstract socket ('@daemonkit-x' has no file); remove it");
    await fails({ listen: [{ port: 0, ipv6Only: 'yes' }] }, 2, 'listen[0].ipv6Only must be true or false, got "yes"');
  });
});
