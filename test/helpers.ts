// Shared test setup: observe processes through /proc, keep every process we start under
// control (this worker is a child subreaper, so daemons become our children and are reaped
// here), temporary directories, and root-only tests that say why they were skipped.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, it } from 'vitest';
import { listenTcp, reap, setChildSubreaper } from '../src/index';

export const root = join(__dirname, '..');
export const fixture = (name: string) => join(__dirname, 'fixtures', name);

/**
 * A fixture path that user nobody can run. The checkout may sit under a directory only root
 * can enter (mktemp -d makes 0700 ones); then the fixtures, dist/ and the addon are copied
 * once to a world-readable directory, removed when the test file is done.
 */
export function fixtureAsNobody(name: string): string {
  return join(nobodyRoot(), 'test', 'fixtures', name);
}

/** The package root as user nobody can read it: the checkout, or the copy described above. */
export function packageAsNobody(): string {
  return nobodyRoot();
}

let mirror: string | undefined;
function nobodyRoot(): string {
  let open = true;
  for (let dir = root; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) open = false;
    if (dir === dirname(dir)) break;
  }
  if (open) return root;
  if (mirror === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'daemonkit-nobody-'));
    chmodSync(dir, 0o755);
    for (const part of ['package.json', 'dist', 'examples', 'test/fixtures', 'native/build/Release', 'prebuilds']) {
      if (existsSync(join(root, part))) cpSync(join(root, part), join(dir, part), { recursive: true });
    }
    mirror = dir;
  }
  return mirror;
}
// Every test file imports this module afresh (vitest isolates files): its copy goes with it.
afterAll(() => {
  if (mirror !== undefined) rmSync(mirror, { recursive: true, force: true });
  mirror = undefined;
});
export const isRoot = process.getuid!() === 0;

/** it() that runs only as root; otherwise a skipped test whose name carries the reason. */
export function rootIt(name: string, fn: () => unknown | Promise<unknown>, timeout?: number) {
  if (isRoot) it(name, fn, timeout);
  else it.skip(`${name} [skipped: needs root, running as uid ${process.getuid!()}]`, fn);
}

/** Why a command cannot run here (not installed), or undefined; probed once per command. */
const toolReasons = new Map<string, string | undefined>();
export function toolMissing(tool: string): string | undefined {
  if (!toolReasons.has(tool)) {
    const probe = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    toolReasons.set(tool, probe.error ? `${tool} is not installed${tool.startsWith('systemd-') ? ' (systemd: none on Alpine or macOS)' : ''}` : undefined);
  }
  return toolReasons.get(tool);
}

/** it() that needs these commands; without one, a skipped test whose name says which. */
export function toolIt(tools: string[], name: string, fn: () => unknown | Promise<unknown>, timeout?: number) {
  const missing = tools.map(toolMissing).find((why) => why !== undefined);
  if (missing === undefined) it(name, fn, timeout);
  else it.skip(`${name} [skipped: ${missing}]`, fn);
}

/** it() that runs only as a non-root user. */
export function nonRootIt(name: string, fn: () => unknown | Promise<unknown>) {
  if (!isRoot) it(name, fn);
  else it.skip(`${name} [skipped: needs a non-root user, running as root]`, fn);
}

export interface Stat {
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  ttyNr: number;
}

export function procStat(pid: number): Stat {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may contain spaces and parentheses: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: +f[1], pgrp: +f[2], session: +f[3], ttyNr: +f[4] };
}

export function procStatus(pid: number | 'self'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

export function openFds(pid: number | 'self'): number[] {
  return readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
}

export function fdTarget(pid: number, fd: number): string {
  return readlinkSync(`/proc/${pid}/fd/${fd}`);
}

/** Pids of this process's children (daemons reparented to us included). */
export function ourChildren(filter: (s: Stat) => boolean = () => true): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = procStat(+entry);
      if (s.ppid === process.pid && filter(s)) out.push(+entry);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Pids of this process's children that are zombies. */
export const zombieChildren = () => ourChildren((s) => s.state === 'Z');

/** Polls `fn` until it returns a value: undefined, null and false mean "not yet". */
export async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until a sleep(1) process is in nanosleep: started, and done opening files. */
export function untilSleeping(pid: number): Promise<true> {
  return waitFor(`pid ${pid} to sleep`, () => readFileSync(`/proc/${pid}/wchan`, 'utf8').includes('nanosleep'), 5000);
}

export function isAlive(pid: number): boolean {
  try {
    return procStat(pid).state !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Makes this worker a child subreaper for the file's tests and cleans up after each test:
 * every tracked pid is SIGKILLed and reaped (they are all our children: direct ones, and
 * daemons reparented to us).
 */
export function useProcessControl() {
  const tracked = new Set<number>();
  const children = new Set<ChildProcess>();
  beforeAll(() => setChildSubreaper(true));
  afterEach(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
    }
    children.clear();
    for (const pid of tracked) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const pid of tracked) await waitFor(`pid ${pid} to be reaped`, () => reapOrGone(pid));
    tracked.clear();
    // A test that failed before it tracked its daemon (a start that should have failed but
    // did not) still leaves it here, as our child: this worker is their subreaper. Killing
    // one (a supervisor) makes its children ours in turn: look again until none is left.
    for (let round = 0; round < 5; round++) {
      const strays = ourChildren();
      if (strays.length === 0) break;
      for (const pid of strays) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (const pid of strays) await waitFor(`stray pid ${pid} to be reaped`, () => reapOrGone(pid));
    }
  });
  afterAll(() => setChildSubreaper(false));
  return {
    /** Remembers a pid of ours (a daemon reparented to us, or a spawnChild child). */
    track(pid: number): number {
      // A test that read no pid (a state file between two runs says null) must fail here,
      // not in the cleanup of every test after it.
      if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`not a pid to track: ${pid}`);
      tracked.add(pid);
      return pid;
    },
    /** Waits for a tracked pid to exit and returns how it ended. */
    async exitOf(pid: number, timeoutMs = 10_000) {
      const status = await waitFor(`pid ${pid} to exit`, () => reap(pid) ?? undefined, timeoutMs);
      tracked.delete(pid);
      return status;
    },
    /** Starts a fixture or command with child_process and kills it after the test. */
    start(command: string, args: string[], options: Parameters<typeof spawn>[2] = {}): ChildProcess {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
      children.add(child);
      return child;
    },
  };
}

function reapOrGone(pid: number): boolean {
  try {
    return reap(pid) !== null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECHILD';
  }
}

/** Resolves with the first line a child prints on stdout (rejects if it exits first). */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once('exit', (code, signal) => reject(new Error(`exited (${code ?? signal}) before a line: ${err}`)));
  });
}

export function useTmpDir(): () => string {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'daemonkit-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

/** `id -G user` from procps/coreutils: an oracle independent of our getgrouplist binding. */
export function idGroups(user: string): number[] {
  return execFileSync('id', ['-G', user], { encoding: 'utf8' }).trim().split(/\s+/).map(Number).sort((a, b) => a - b);
}

/** GET / on 127.0.0.1:port, without keep-alive; resolves with the body. */
export function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Resolves with the connect(2) error code on 127.0.0.1:port, or 'connected'. */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connectTcp({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** Waits until the launcher has written the daemon's pid (a whole line) into pidFile. */
export function pidWritten(pidFile: string): Promise<number> {
  return waitFor(`a pid in ${pidFile}`, () => {
    try {
      const text = readFileSync(pidFile, 'utf8');
      return /^\d+\n$/.test(text) && Number(text);
    } catch {
      return false;
    }
  });
}

/** A TCP port free right now on host (the first free one from `from`, if given). */
export function freePort(host = '127.0.0.1', from?: number): number {
  for (let port = from ?? 0; ; port++) {
    try {
      const l = listenTcp({ host, port });
      closeSync(l.fd);
      return l.port;
    } catch {
      if (from === undefined) throw new Error('no free port');
    }
  }
}

let straceReason: string | undefined | null = null;
/**
 * Why strace(1) cannot show a child process's system calls here (not Linux, not installed,
 * ptrace refused), or undefined. Probed once per test file.
 */
export function straceUnavailable(): string | undefined {
  if (straceReason !== null) return straceReason;
  if (process.platform !== 'linux') return (straceReason = `strace is Linux-only, running on ${process.platform}`);
  const probe = spawnSync('strace', ['-qq', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (probe.error) straceReason = 'strace is not installed (apt-get install strace)';
  else if (probe.status !== 0) straceReason = `strace cannot trace here (${probe.status ?? probe.signal}): ${probe.stderr.trim()}`;
  else straceReason = undefined;
  return straceReason;
}

/** Everything a TCP server on 127.0.0.1:port sends before it closes the connection. */
export function received(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    connectTcp(port, '127.0.0.1')
      .on('data', (d) => (text += d))
      .on('end', () => resolve(text))
      .on('error', reject);
  });
}
