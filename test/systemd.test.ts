// systemd's protocols as systemd's own tools and a notify socket see them: sd_notify messages
// (path and abstract sockets), Type=notify-reload's RELOADING/READY, STOPPING, STATUS, the
// watchdog's pace, socket activation through systemd-socket-activate, and the guide's unit
// files through systemd-analyze verify.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGetRaw } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bindDatagram, notify, receiveDatagram, startWatchdog, stopWatchdog } from '../src/index';
import { fixture, freePort, procStat, root, useProcessControl, useTmpDir, waitFor, toolIt, toolMissing } from './helpers';
import { launchFixture } from './launch';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
});

/** A notify socket like systemd's: a datagram socket at a path or an abstract name. */
function receiver(kind: 'path' | 'abstract') {
  const address = kind === 'path' ? join(tmp(), `notify-${++n}.sock`) : `@daemonkit-test-${process.pid}-${++n}`;
  const fd = bindDatagram(address);
  fds.push(fd);
  return {
    address,
    /** The next datagram, as text. */
    next: (what: string, timeoutMs = 5000) => waitFor(what, () => receiveDatagram(fd)?.toString(), timeoutMs),
    /** Every datagram received within ms, with the time it was seen. */
    async collect(ms: number): Promise<{ at: number; text: string }[]> {
      const out: { at: number; text: string }[] = [];
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const buf = receiveDatagram(fd);
        if (buf) out.push({ at: Date.now(), text: buf.toString() });
        else await new Promise((r) => setTimeout(r, 2));
      }
      return out;
    },
  };
}

function getText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGetRaw({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** lifecycle.mjs as systemd would run it: in the foreground, with this environment. */
function service(env: Record<string, string>, config: Record<string, unknown> = {}) {
  const port = freePort();
  const daemon = { name: 'unit', listen: [{ host: '127.0.0.1', port }] };
  const child = pc.start(process.execPath, [fixture('lifecycle.mjs'), JSON.stringify({ ...config, daemon })], {
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return { child, port, stderr: () => stderr };
}

describe('sd_notify', () => {
  for (const kind of ['path', 'abstract'] as const) {
    it(`READY, RELOADING + MONOTONIC_USEC, READY, STATUS and STOPPING over a ${kind} socket`, async () => {
      const r = receiver(kind);
      const { child, port, stderr } = service({ NOTIFY_SOCKET: r.address });
      expect(await r.next('READY=1')).toBe(`READY=1\nMAINPID=${child.pid}`);
      expect(procStat(child.pid!).ppid).toBe(process.pid); // no fork under systemd

      const before = process.hrtime.bigint() / 1000n;
      child.kill('SIGHUP');
      const reloading = await r.next('RELOADING=1');
      const after = process.hrtime.bigint() / 1000n;
      const m = /^RELOADING=1\nMONOTONIC_USEC=(\d+)$/.exec(reloading);
      expect(m, reloading).not.toBeNull();
      // CLOCK_MONOTONIC, the clock systemd compares it with: between our readings around it.
      expect(BigInt(m![1])).toBeGreaterThanOrEqual(before);
      expect(BigInt(m![1])).toBeLessThanOrEqual(after);
      expect(await r.next('READY=1 after the reload')).toBe('READY=1');

      expect(await getText(port, '/status')).toBe('ok\n');
      expect(await r.next('STATUS=busy')).toBe('STATUS=busy');

      const exited = new Promise((resolve) => child.once('exit', (c) => resolve(c)));
      child.kill('SIGTERM');
      expect(await r.next('STOPPING=1')).toBe('STOPPING=1\nSTATUS=stopping (SIGTERM)');
      expect(await exited).toBe(0);
      expect(stderr()).toMatch(/unit\[\d+\]: ready\n[\s\S]*unit\[\d+\]: reloaded in \d+ ms\n[\s\S]*stopped in \d+ ms \(exit code 0\)\n$/);
    });
  }

  it('SIGTERM during a reload: the shutdown waits for it, and READY=1 never follows STOPPING=1', async () => {
    const r = receiver('path');
    const reloadLatch = join(tmp(), `reload-latch-${++n}`);
    const { child, stderr } = service({ NOTIFY_SOCKET: r.address }, { reloadLatch });
    await r.next('READY=1');
    const exited = new Promise((resolve) => child.once('exit', (c) => resolve(c)));
    child.kill('SIGHUP');
    expect(await r.next('RELOADING=1')).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+$/);
    child.kill('SIGTERM'); // while the reload hook waits for its latch
    expect(await r.next('STOPPING=1')).toBe('STOPPING=1\nSTATUS=stopping (SIGTERM)');
    await waitFor('the shutdown to wait', () => stderr().includes('waiting for the reload in progress'));
    writeFileSync(reloadLatch, '');
    expect(await exited).toBe(0);
    expect(await r.collect(100)).toEqual([]);
    expect(stderr()).toMatch(
      /reloading\n.*stopping \(SIGTERM\)\n.*waiting for the reload in progress\n.*reload hook 'config' done in \d+ ms\n.*reload cut short: stopping\n.*shutdown hook 'http' done/,
    );
  });

  toolIt(['systemd-notify'], "ready() sends what systemd-notify --ready --pid sends", async () => {
    const r = receiver('path');
    const { child } = service({ NOTIFY_SOCKET: r.address });
    const ours = await r.next('READY=1');
    const tool = spawnSync('systemd-notify', ['--no-block', '--ready', `--pid=${child.pid}`], {
      env: { ...process.env, NOTIFY_SOCKET: r.address },
      encoding: 'utf8',
    });
    expect(tool.status, tool.stderr).toBe(0);
    expect(await r.next("systemd-notify's message")).toBe(ours);
  });

  toolIt(['systemd-notify'], "sends the same bytes as Debian's systemd-notify for the same fields", async () => {
    const r = receiver('abstract');
    const tool = spawnSync('systemd-notify', ['--no-block', '--ready', '--status=up and serving'], {
      env: { ...process.env, NOTIFY_SOCKET: r.address },
      encoding: 'utf8',
    });
    expect(tool.status, tool.stderr).toBe(0);
    const theirs = await r.next("systemd-notify's message");
    const saved = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = r.address;
    try {
      expect(notify({ READY: '1', STATUS: 'up and serving' })).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
    }
    expect(await r.next('our message')).toBe(theirs);
    expect(theirs).toBe('READY=1\nSTATUS=up and serving');
  });

  it('notify() is a no-op returning false without NOTIFY_SOCKET, and refuses a field that would inject another', () => {
    const saved = process.env.NOTIFY_SOCKET;
    delete process.env.NOTIFY_SOCKET;
    try {
      expect(notify({ READY: '1' })).toBe(false);
      expect(() => notify({ STATUS: 'a\nREADY=1' })).toThrow(/fields\.STATUS.*must be on one line/);
      expect(() => notify({ 'bad key': '1' })).toThrow(/upper-case/);
      expect(() => notify({})).toThrow(/at least one field/);
      expect(() => notify({ WATCHDOG_USEC: NaN })).toThrow(/finite number/);
    } finally {
      if (saved !== undefined) process.env.NOTIFY_SOCKET = saved;
    }
  });
});

describe('watchdog', () => {
  it('WATCHDOG=1 at half of WATCHDOG_USEC, stopping while the event loop stalls', async () => {
    const r = receiver('path');
    const { child, port } = service({ NOTIFY_SOCKET: r.address, WATCHDOG_USEC: '200000' });
    await r.next('READY=1');
    // The variables are for this process alone: gone from its environment (and its children's).
    expect(JSON.parse(await getText(port, '/env'))).toEqual([]);

    const steady = (await r.collect(1000)).filter((m) => m.text === 'WATCHDOG=1');
    // Every 100 ms: about 10 in a second (wide bounds: a shared machine).
    expect(steady.length).toBeGreaterThanOrEqual(6);
    expect(steady.length).toBeLessThanOrEqual(14);

    // The last ping before, none during the 800 ms the loop is blocked, pings again after.
    const [during] = await Promise.all([r.collect(2000), getText(port, '/stall?ms=800')]);
    const times = [steady.at(-1)!.at, ...during.filter((m) => m.text === 'WATCHDOG=1').map((m) => m.at)];
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(700);
    expect(gaps.filter((g) => g < 300).length).toBeGreaterThanOrEqual(5); // the steady pace after it
    child.kill('SIGTERM');
  });

  it('an interval beyond what a timer can hold is capped, not turned into 1 ms', () => {
    process.env.WATCHDOG_USEC = String(9e12); // WatchdogSec= of about 104 days
    try {
      expect(startWatchdog()).toBe(2 ** 31 - 1);
      expect(process.env.WATCHDOG_USEC).toBeUndefined(); // taken, as for a real service
    } finally {
      stopWatchdog();
      delete process.env.WATCHDOG_USEC;
    }
  });

  it('no pings when WATCHDOG_PID names another process', async () => {
    const r = receiver('path');
    const { port } = service({ NOTIFY_SOCKET: r.address, WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' });
    await r.next('READY=1');
    expect((await r.collect(500)).filter((m) => m.text === 'WATCHDOG=1')).toEqual([]);
    expect(JSON.parse(await getText(port, '/env'))).toEqual(['WATCHDOG_USEC', 'WATCHDOG_PID']);
  });
});

describe('socket activation', () => {
  it('a stale LISTEN_PID (another process) is not systemd: daemonize() forks as usual', async () => {
    const port = freePort();
    const r = await launchFixture('lifecycle.mjs', [JSON.stringify({ daemon: { name: 'stale', listen: [{ host: '127.0.0.1', port }] } })], {
      env: { ...process.env, LISTEN_PID: '1', LISTEN_FDS: '1' },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pid = pc.track(r.pid!);
    expect(await getText(port, '/')).toBe(`gen 0 pid ${pid}\n`);
    expect(procStat(pid).ppid).toBe(process.pid); // reparented to us, the subreaper: it forked
    expect(JSON.parse(await getText(port, '/env'))).toEqual([]); // not passed on to the daemon
  });

  toolIt(['systemd-socket-activate'], 'through systemd-socket-activate: serves on the named socket, without forking, variables cleared', async () => {
    const port = freePort();
    const child = pc.start('systemd-socket-activate', [
      '-l', `127.0.0.1:${port}`, '--fdname=web',
      process.execPath, fixture('lifecycle.mjs'), JSON.stringify({ daemon: { name: 'act' }, clearCloexec: true }),
    ]);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await waitFor('the activation socket', () => err.includes('Listening on'));
    // The first connection starts the program (exec: the same pid), which answers on fd 3.
    expect(await getText(port, '/')).toBe(`gen 0 pid ${child.pid}\n`);
    expect(JSON.parse(await getText(port, '/listeners'))).toEqual([{ fd: 3, name: 'web', host: '127.0.0.1', port }]);
    expect(JSON.parse(await getText(port, '/env'))).toEqual([]);
    expect(procStat(child.pid!).ppid).toBe(process.pid);
    // Close-on-exec (O_CLOEXEC, 02000000 in fdinfo's octal flags): children do not inherit it.
    const flags = /^flags:\s+(\d+)$/m.exec(readFileSync(`/proc/${child.pid}/fdinfo/3`, 'utf8'))![1];
    expect(parseInt(flags, 8) & 0o2000000).toBe(0o2000000);
  });
});

describe('unit files in the guide', () => {
  const units = [...readFileSync(join(root, 'docs', 'guide.md'), 'utf8').matchAll(/```ini\n# (\S+)\n([\s\S]*?)```/g)].map((m) => ({
    name: m[1],
    text: m[2],
  }));
  const version = toolMissing('systemd-analyze') ? 0 : Number(/systemd (\d+)/.exec(execFileSync('systemd-analyze', ['--version'], { encoding: 'utf8' }))![1]);

  it('has a Type=notify-reload service and a socket-activated pair', () => {
    expect(units.map((u) => u.name).sort()).toEqual(['myapp-web.service', 'myapp-web.socket', 'myapp.service']);
    expect(units.find((u) => u.name === 'myapp.service')!.text).toContain('Type=notify-reload');
  });

  toolIt(['systemd-analyze'], `pass systemd-analyze verify (systemd ${version})`, () => {
    const dir = join(tmp(), 'units');
    execFileSync('mkdir', ['-p', dir]);
    for (const u of units) writeFileSync(join(dir, u.name), u.text.replaceAll('/usr/bin/node', process.execPath));
    const r = spawnSync('systemd-analyze', ['verify', ...units.map((u) => join(dir, u.name))], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const complaints = r.stderr.split('\n').filter((l) => l.trim() !== '');
    // Type=notify-reload arrived in systemd 253; older versions say so, and nothing else.
    if (version < 253) {
      expect(complaints).toHaveLength(1);
      expect(complaints[0]).toMatch(/myapp\.service:\d+: Failed to parse service type, ignoring: notify-reload$/);
      // The guide's advice for those versions, so every other line is checked too.
      const compat = join(dir, 'myapp-compat.service');
      writeFileSync(compat, readFileSync(join(dir, 'myapp.service'), 'utf8').replace('Type=notify-reload', 'Type=notify\nExecReload=/bin/kill -HUP $MAINPID'));
      const again = spawnSync('systemd-analyze', ['verify', compat], { encoding: 'utf8' });
      expect(again.status, again.stderr).toBe(0);
      expect(again.stderr.trim()).toBe('');
    } else {
      expect(complaints).toEqual([]);
    }
  });
});
