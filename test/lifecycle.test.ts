// Inside the daemon: graceful shutdown, reload and log reopening, with real signals, real
// sockets and real requests against test/fixtures/lifecycle.mjs started through daemonize().
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants as fsConstants, existsSync, linkSync, openSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closeServer, onShutdown, requestShutdown } from '../src/index';
import { freePort, rootIt, useProcessControl, useTmpDir, waitFor, tryConnect } from './helpers';
import { launchFixture } from './launch';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;

interface Life {
  pid: number;
  port: number;
  pidFile: string;
  logFile: string;
  log: () => string;
}

async function startLife(config: Record<string, unknown> = {}, daemonOptions: Record<string, unknown> = {}): Promise<Life> {
  const dir = join(tmp(), `life-${++n}`);
  mkdirSync(dir);
  const port = freePort();
  const pidFile = join(dir, 'life.pid');
  const logFile = join(dir, 'life.log');
  const daemon = { name: 'life', pidFile, logFile, listen: [{ host: '127.0.0.1', port }], ...daemonOptions };
  const r = await launchFixture('lifecycle.mjs', [JSON.stringify({ ...config, daemon })]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  pc.track(r.pid!);
  return { pid: r.pid!, port, pidFile, logFile, log: () => readFileSync(logFile, 'utf8') };
}

function get(port: number, path: string, agent: Agent | false = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

const socketInode = (pid: number, fd: number) => readlinkSync(`/proc/${pid}/fd/${fd}`);

describe('graceful shutdown', () => {
  it('SIGTERM with 100 slow requests in flight: all answer 200, new connections are refused, exit 0', async () => {
    const releaseFile = join(tmp(), `release-${++n}`);
    const life = await startLife({ releaseFile });
    const t0 = Date.now();
    let answered = 0;
    const responses = Array.from({ length: 100 }, () => get(life.port, '/slow').finally(() => answered++));
    await waitFor('100 requests in flight', async () => (await get(life.port, '/inflight')).body === '100\n');

    process.kill(life.pid, 'SIGTERM');
    // The listening socket closes at once; the requests already accepted are held (until the
    // release file exists), so the refusal is seen while all 100 are still in flight.
    await waitFor('the port to refuse connections', async () => (await tryConnect(life.port)) === 'ECONNREFUSED', 2000);
    expect(answered).toBe(0);
    writeFileSync(releaseFile, '');
    const results = await Promise.all(responses);
    expect(results.filter((r) => r.status === 200 && r.body === 'slow done\n')).toHaveLength(100);
    expect(await tryConnect(life.port)).toBe('ECONNREFUSED');

    const status = await pc.exitOf(life.pid);
    expect(status).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(10_000); // the default shutdownTimeout
    const log = life.log();
    expect(log).toMatch(/life\[\d+\]: stopping \(SIGTERM\)\n/);
    expect(log).toContain('forced 0\n');
    expect(log).toMatch(/life\[\d+\]: shutdown hook 'http' done in \d+ ms\n/);
    expect(log).toMatch(/life\[\d+\]: stopped in \d+ ms \(exit code 0\)\n$/);
    expect(existsSync(life.pidFile)).toBe(false);
  });
});

describe('graceful shutdown, continued', () => {
  it('closes kept-alive connections as soon as their request is done, not after keepAliveTimeout', async () => {
    const life = await startLife({ slowMs: 300 });
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    try {
      // Two idle kept-alive connections and one with a request in flight.
      await Promise.all([get(life.port, '/', agent), get(life.port, '/', agent)]);
      const slow = get(life.port, '/slow', agent);
      await waitFor('the slow request to arrive', async () => (await get(life.port, '/inflight')).body === '1\n');
      const t0 = Date.now();
      process.kill(life.pid, 'SIGTERM');
      expect(await slow).toEqual({ status: 200, body: 'slow done\n' });
      expect(await pc.exitOf(life.pid)).toEqual({ code: 0, signal: null });
      // Node's keepAliveTimeout is 5 s: a drain that waited for it would take that long.
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(life.log()).toContain('forced 0\n');
    } finally {
      agent.destroy();
    }
  });

  it('closeServer() destroys a request that never ends at its timeout and says how many it forced', async () => {
    const life = await startLife({ closeTimeout: 300 });
    const forever = get(life.port, '/forever').catch((e: NodeJS.ErrnoException) => e.code);
    await waitFor('the request to arrive', async () => (await get(life.port, '/inflight')).body === '1\n');
    const t0 = Date.now();
    process.kill(life.pid, 'SIGTERM');
    expect(await forever).toBe('ECONNRESET');
    expect(await pc.exitOf(life.pid)).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(life.log()).toContain('forced 1\n');
  });

  it("closeServer()'s default timeout fits inside shutdownTimeout: it forces, the shutdown still succeeds", async () => {
    const life = await startLife({}, { shutdownTimeout: 1000 });
    const forever = get(life.port, '/forever').catch((e: NodeJS.ErrnoException) => e.code);
    await waitFor('the request to arrive', async () => (await get(life.port, '/inflight')).body === '1\n');
    process.kill(life.pid, 'SIGTERM');
    expect(await forever).toBe('ECONNRESET');
    expect(await pc.exitOf(life.pid)).toEqual({ code: 0, signal: null });
    expect(life.log()).toContain('forced 1\n');
    expect(life.log()).not.toContain('did not finish');
  });

  it('an uncaught error during the shutdown does not cut the other hooks short: they run, exit errorExitCode', async () => {
    const releaseFile = join(tmp(), `release-${++n}`);
    const life = await startLife({ lateThrow: true, releaseFile }, { errorExitCode: 70 });
    // The exception comes 50 ms into the shutdown, while 'http' drains this held request.
    const slow = get(life.port, '/slow');
    await waitFor('the request to arrive', async () => (await get(life.port, '/inflight')).body === '1\n');
    process.kill(life.pid, 'SIGTERM');
    await waitFor('the late exception', () => life.log().includes('uncaught exception: Error: late failure'));
    writeFileSync(releaseFile, '');
    expect(await slow).toEqual({ status: 200, body: 'slow done\n' });
    expect(await pc.exitOf(life.pid)).toEqual({ code: 70, signal: null });
    expect(life.log()).toMatch(/uncaught exception: Error: late failure\n[\s\S]*shutdown hook 'http' done[\s\S]*stopped in \d+ ms \(exit code 70\)\n$/);
  });

  it("a program's own uncaughtException listener decides: no shutdown", async () => {
    const life = await startLife({ ownHandler: true });
    expect((await get(life.port, '/throw')).status).toBe(200);
    await waitFor('its handler', () => life.log().includes('own handler (uncaughtException): boom after ready'));
    // As in plain Node, that listener also receives rejections nobody handled.
    expect((await get(life.port, '/reject')).status).toBe(200);
    await waitFor('its handler', () => life.log().includes('own handler (unhandledRejection): rejected after ready'));
    expect((await get(life.port, '/')).body).toBe(`gen 0 pid ${life.pid}\n`);
    expect(life.log()).not.toContain('stopping');
  });

  it('a hook that never finishes: exit 1 after shutdownTimeout, and the log names the hook', async () => {
    const life = await startLife({ hang: true }, { shutdownTimeout: 700 });
    const t0 = Date.now();
    process.kill(life.pid, 'SIGTERM');
    expect(await pc.exitOf(life.pid)).toEqual({ code: 1, signal: null });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
    expect(life.log()).toMatch(
      /life\[\d+\]: shutdown hook 'hangsForever' did not finish within 700 ms \(shutdownTimeout\); exiting with code 1\n$/,
    );
    // Hooks run last-registered first: the hanging one came after 'http', so http never ran.
    expect(life.log()).not.toContain("shutdown hook 'http'");
    expect(existsSync(life.pidFile)).toBe(false);
  });

  it('a second SIGTERM during shutdown exits at once', async () => {
    const life = await startLife({ hang: true }, { shutdownTimeout: 60_000 });
    process.kill(life.pid, 'SIGTERM');
    await waitFor('stopping in the log', () => life.log().includes('stopping (SIGTERM)'));
    // Released last: while the hooks run, the PID file still names the daemon.
    expect(readFileSync(life.pidFile, 'utf8')).toBe(`${life.pid}\n`);
    const t0 = Date.now();
    process.kill(life.pid, 'SIGTERM');
    expect(await pc.exitOf(life.pid)).toEqual({ code: 1, signal: null });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(life.log()).toMatch(/life\[\d+\]: SIGTERM again during shutdown: exiting now\n$/);
    expect(existsSync(life.pidFile)).toBe(false);
  });

  it('SIGINT takes the same path', async () => {
    const life = await startLife();
    process.kill(life.pid, 'SIGINT');
    expect(await pc.exitOf(life.pid)).toEqual({ code: 0, signal: null });
    expect(life.log()).toMatch(/stopping \(SIGINT\)\n[\s\S]*stopped in \d+ ms \(exit code 0\)\n$/);
  });

  it('requestShutdown() from a route runs the same path and exits 0', async () => {
    const life = await startLife();
    expect(await get(life.port, '/stop')).toEqual({ status: 200, body: 'stopping\n' });
    expect(await pc.exitOf(life.pid)).toEqual({ code: 0, signal: null });
    expect(life.log()).toMatch(/stopping \(GET \/stop\)\n[\s\S]*shutdown hook 'http' done[\s\S]*stopped in \d+ ms \(exit code 0\)\n$/);
    expect(existsSync(life.pidFile)).toBe(false);
  });

  for (const [route, kind] of [
    ['/throw', 'uncaught exception: Error: boom after ready'],
    ['/reject', 'unhandled rejection: Error: rejected after ready'],
  ] as const) {
    it(`after ready, ${kind.split(':')[0]}: logged with its stack, shutdown hooks run, exit errorExitCode`, async () => {
      const life = await startLife({}, { errorExitCode: 70 });
      expect((await get(life.port, route)).status).toBe(200);
      expect(await pc.exitOf(life.pid)).toEqual({ code: 70, signal: null });
      const log = life.log();
      expect(log).toMatch(new RegExp(`life\\[${life.pid}\\]: ${kind}\\n\\S+Z life\\[${life.pid}\\]:       at `));
      expect(log).toContain('lifecycle.mjs:'); // the stack names the program's own file
      expect(log).toMatch(new RegExp(`stopping \\(${kind.split(':')[0]}\\)\\n[\\s\\S]*shutdown hook 'http' done[\\s\\S]*\\(exit code 70\\)\\n$`));
      expect(existsSync(life.pidFile)).toBe(false);
    });
  }
});

describe('bad input', () => {
  it('closeServer, onShutdown and requestShutdown name the argument', async () => {
    const { createServer } = await import('node:http');
    expect(() => closeServer(undefined as never)).toThrow(/The "server" argument must be an http\.Server/);
    expect(() => closeServer(createServer(), null as never)).toThrow(/The "options" argument must be of type object/);
    expect(() => closeServer(createServer(), { timeout: -1 })).toThrow(/"options\.timeout" is out of range/);
    expect(() => onShutdown('x' as never)).toThrow(/The "fn" argument must be a function/);
    expect(() => requestShutdown('x', 300)).toThrow(/"exitCode" is out of range/);
  });
});

describe('reload', () => {
  it('SIGHUP runs the reload hooks in the same process, on the same socket; a failing hook leaves it serving', async () => {
    const failFile = join(tmp(), `fail-${++n}`);
    const life = await startLife({ failFile });
    const socketBefore = socketInode(life.pid, 3);
    expect((await get(life.port, '/')).body).toBe(`gen 0 pid ${life.pid}\n`);

    process.kill(life.pid, 'SIGHUP');
    await waitFor('reloaded in the log', () => /reloaded in \d+ ms\n/.test(life.log()));
    expect((await get(life.port, '/')).body).toBe(`gen 1 pid ${life.pid}\n`);
    expect(socketInode(life.pid, 3)).toBe(socketBefore);

    writeFileSync(failFile, '');
    process.kill(life.pid, 'SIGHUP');
    await waitFor('the failure in the log', () => life.log().includes("reload hook 'config' failed"));
    expect(life.log()).toMatch(new RegExp(`reload hook 'config' failed, still running with the previous state: Error: config broken\\n\\S+Z life\\[${life.pid}\\]:       at `));
    expect((await get(life.port, '/')).body).toBe(`gen 1 pid ${life.pid}\n`);
    expect(socketInode(life.pid, 3)).toBe(socketBefore);
    expect(readFileSync(life.pidFile, 'utf8')).toBe(`${life.pid}\n`);
  });
});

describe('log reopening', () => {
  it('100 renames + SIGUSR2 while writing continuously: every line exactly once across the files', async () => {
    const life = await startLife({ writer: true });
    const dir = join(life.logFile, '..');
    for (let i = 0; i < 100; i++) {
      renameSync(life.logFile, `${life.logFile}.${i}`);
      process.kill(life.pid, 'SIGUSR2');
      await waitFor(`the log to be reopened (${i})`, () => existsSync(life.logFile));
    }
    process.kill(life.pid, 'SIGTERM');
    expect(await pc.exitOf(life.pid)).toEqual({ code: 0, signal: null });

    const files = readdirSync(dir).filter((f) => f.startsWith('life.log'));
    expect(files).toHaveLength(101);
    const text = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    const wrote = Number(/^wrote (\d+)$/m.exec(text)![1]);
    const numbers = [...text.matchAll(/^line (\d+)$/gm)].map((m) => Number(m[1]));
    expect(wrote).toBeGreaterThan(1000); // it really wrote during the rotations
    expect(numbers.length).toBe(wrote);
    expect(new Set(numbers).size).toBe(wrote);
    expect(numbers.every((k) => k < wrote)).toBe(true);
    // Each file got its reopen event line, and the rotated ones got lines written meanwhile.
    expect(readFileSync(life.logFile, 'utf8')).toMatch(/life\[\d+\]: reopened \S+life\.log\n/);
    expect(files.filter((f) => /line \d+/.test(readFileSync(join(dir, f), 'utf8'))).length).toBeGreaterThan(50);
  });

  it('console.log and child processes started afterwards write to the new file', async () => {
    const life = await startLife();
    renameSync(life.logFile, `${life.logFile}.1`);
    process.kill(life.pid, 'SIGUSR2');
    await waitFor('the new log file', () => existsSync(life.logFile) && life.log().includes('reopened'));
    expect((await get(life.port, '/child')).body).toBe('ok\n');
    expect(life.log()).toContain('child says hi\n');
    expect(readFileSync(`${life.logFile}.1`, 'utf8')).not.toContain('child says hi');
  });

  it('a file already created by logrotate (create mode) is used as it is', async () => {
    const life = await startLife();
    renameSync(life.logFile, `${life.logFile}.1`);
    writeFileSync(life.logFile, '', { mode: 0o620 });
    chmodSync(life.logFile, 0o620);
    const ino = statSync(life.logFile).ino;
    process.kill(life.pid, 'SIGUSR2');
    await waitFor('the reopen line', () => life.log().includes('reopened'));
    expect(statSync(life.logFile).ino).toBe(ino);
    expect(statSync(life.logFile).mode & 0o777).toBe(0o620);
    expect(readlinkSync(`/proc/${life.pid}/fd/1`)).toBe(life.logFile);
    expect(readlinkSync(`/proc/${life.pid}/fd/2`)).toBe(life.logFile);
  });

  rootIt('the new file gets the owner and mode of the one it replaces (dropped to nobody)', async () => {
    const dir = join(tmp(), `owned-${++n}`);
    mkdirSync(dir);
    chmodSync(tmp(), 0o755); // mkdtemp's 0700 would keep nobody out of everything below
    chownSync(dir, 65534, 65534); // the service user may create files in its log directory
    const port = freePort();
    const logFile = join(dir, 'life.log');
    const r = await launchFixture('lifecycle.mjs', [
      JSON.stringify({ daemon: { name: 'life', logFile, user: 'nobody', listen: [{ host: '127.0.0.1', port }] } }),
    ]);
    expect(r.code).toBe(0);
    const pid = pc.track(r.pid!);
    chmodSync(logFile, 0o604); // not what the daemon's umask (022) would give a new file
    renameSync(logFile, `${logFile}.1`);
    process.kill(pid, 'SIGUSR2');
    await waitFor('the reopen line', () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('reopened'));
    const st = statSync(logFile);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([65534, 65534, 0o604]);
  });

  it('a FIFO where the log was is refused without blocking the daemon', async () => {
    const life = await startLife();
    renameSync(life.logFile, `${life.logFile}.1`);
    execFileSync('mkfifo', [life.logFile]);
    process.kill(life.pid, 'SIGUSR2');
    await waitFor('the failure line', () => readFileSync(`${life.logFile}.1`, 'utf8').includes('cannot reopen logs'));
    // Opened without blocking: with no reader, open(2) says ENXIO at once.
    expect(readFileSync(`${life.logFile}.1`, 'utf8')).toMatch(/cannot reopen logs, still writing to the previous files: Error: cannot reopen '\S+life\.log': it is a FIFO, a socket or a device with nothing behind it\n/);
    expect((await get(life.port, '/')).status).toBe(200);
  });

  it('a FIFO with a reader where the log was: refused as not a regular file', async () => {
    const life = await startLife();
    renameSync(life.logFile, `${life.logFile}.1`);
    execFileSync('mkfifo', [life.logFile]);
    const reader = openSync(life.logFile, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      process.kill(life.pid, 'SIGUSR2');
      await waitFor('the failure line', () => readFileSync(`${life.logFile}.1`, 'utf8').includes('cannot reopen logs'));
      expect(readFileSync(`${life.logFile}.1`, 'utf8')).toMatch(/cannot reopen logs, still writing to the previous files: Error: cannot reopen '\S+life\.log': it is a FIFO\n/);
      expect((await get(life.port, '/')).status).toBe(200);
    } finally {
      closeSync(reader);
    }
  });

  it('a hard link where the log was is refused: the linked file gets no line', async () => {
    const life = await startLife();
    const secret = join(tmp(), `secret-${++n}`);
    writeFileSync(secret, 'root only\n', { mode: 0o600 });
    renameSync(life.logFile, `${life.logFile}.1`);
    linkSync(secret, life.logFile);
    process.kill(life.pid, 'SIGUSR2');
    await waitFor('the failure line', () => readFileSync(`${life.logFile}.1`, 'utf8').includes('cannot reopen logs'));
    expect(readFileSync(`${life.logFile}.1`, 'utf8')).toMatch(/cannot reopen logs, still writing to the previous files: Error: cannot reopen '\S+life\.log': it is a regular file with 2 links\n/);
    expect(await get(life.port, '/')).toMatchObject({ status: 200 });
    expect(readFileSync(secret, 'utf8')).toBe('root only\n');
    expect(statSync(secret).mode & 0o7777).toBe(0o600);
  });

  it('a reopen that fails is logged and the old file keeps receiving output', async () => {
    const life = await startLife();
    renameSync(life.logFile, `${life.logFile}.1`);
    mkdirSync(life.logFile); // a directory where the log file should be
    process.kill(life.pid, 'SIGUSR2');
    await waitFor('the failure line', () => readFileSync(`${life.logFile}.1`, 'utf8').includes('cannot reopen logs'));
    expect(readFileSync(`${life.logFile}.1`, 'utf8')).toMatch(/cannot reopen logs, still writing to the previous files: Error: EISDIR[^\n]*\n(\S+Z life\[\d+\]:   [^\n]*\n)*$/);
    expect((await get(life.port, '/')).status).toBe(200);
  });
});

describe('a program that both imports and requires daemonkit', () => {
  async function startBoth(mode: 'signals' | 'request') {
    const port = freePort();
    const pidFile = join(tmp(), `both-${mode}.pid`);
    const logFile = join(tmp(), `both-${mode}.log`);
    const r = await launchFixture('import-and-require.mjs', [String(port), pidFile, logFile, mode]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    pc.track(r.pid!);
    return { pid: r.pid!, port, pidFile, logFile, log: () => readFileSync(logFile, 'utf8') };
  }

  it('has one copy and one lifecycle: one reload runs the hooks of both, SIGTERM runs the hooks added through require()', async () => {
    const { pid, port, pidFile, logFile, log } = await startBoth('signals');
    expect((await get(port, '/')).body).toBe('both\n');
    process.kill(pid, 'SIGHUP');
    await waitFor('the reload', () => log().includes('reloaded in'));
    process.kill(pid, 'SIGTERM');
    expect(await pc.exitOf(pid)).toEqual({ code: 0, signal: null });
    const text = log();
    expect(text).toContain('one copy: true\n');
    expect(text).toContain(`reopened through require(): ${JSON.stringify([logFile])}\n`);
    expect(text.match(/: reloading\n/g)).toHaveLength(1);
    expect(text).toMatch(/both\[\d+\]: reload hook 'esm-reload' done in \d+ ms\n/);
    expect(text).toMatch(/both\[\d+\]: reload hook 'cjs-reload' done in \d+ ms\n/);
    expect(text).toMatch(/both\[\d+\]: shutdown hook 'cjs-close' done in \d+ ms\n/);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('stops through require() as through import: same name, hooks and PID file removal', async () => {
    const { pid, pidFile, log } = await startBoth('request');
    expect(await pc.exitOf(pid)).toEqual({ code: 0, signal: null });
    expect(log()).toMatch(new RegExp(`both\\[${pid}\\]: stopping \\(asked through require\\(\\)\\)\n`));
    expect(log()).toMatch(/both\[\d+\]: shutdown hook 'cjs-close' done in \d+ ms\n/);
    expect(existsSync(pidFile)).toBe(false);
  });
});
