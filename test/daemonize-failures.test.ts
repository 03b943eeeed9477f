// Every bad input and every failed start: one line naming the input and the fix, the exit
// code, and nothing left behind (no process, no PID file, no socket file), with an already
// running daemon untouched.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listenTcp } from '../src/index';
import { fixture, fixtureAsNobody, isRoot, ourChildren, useProcessControl, useTmpDir, waitFor } from './helpers';
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
    expect([r.code, r.stderr]).toEqual([1, `app: PID file '${pidFile}' is a symbolic link (pidFile); give the real path, links are never followed\n`]);
    expect(existsSync(target)).toBe(false);
    expect(ourChildren()).toEqual([]);
  });

  it('PID file is a directory', async () => {
    const pidFile = fresh('dir.pid');
    mkdirSync(pidFile);
    const r = await launch({ name: 'app', pidFile });
    expect([r.code, r.stderr]).toEqual([1, `app: PID file '${pidFile}' is not a regular file (pidFile); remove it or choose another path\n`]);
    expect(statSync(pidFile).isDirectory()).toBe(true);
  });

  it('PID file is a FIFO', async () => {
    const pidFile = fresh('fifo.pid');
    execFileSync('mkfifo', [pidFile]);
    const r = await launch({ name: 'app', pidFile });
    expect([r.code, r.stderr]).toEqual([1, `app: PID file '${pidFile}' is not a regular file (pidFile); remove it or choose another path\n`]);
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

  it('options that differ between launcher and daemon are refused (exit 1)', async () => {
    const pidFile = fresh('vary.pid');
    await fails(
      { pidFile, env: { BORN: '$PID' } },
      1,
      "app: failed to start: the daemon resolved daemonize()'s options differently from its launcher; options must not depend on the pid, the time, randomness or the marker",
    );
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
    const pid = await waitFor('the daemon to be started', () => {
      try {
        const text = readFileSync(pidFile, 'utf8');
        return /^\d+\n$/.test(text) && Number(text);
      } catch {
        return false;
      }
    });
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
    expect(r.stderr).toContain('  | Error: database unreachable at startup');
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
