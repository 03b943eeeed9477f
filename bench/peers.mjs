// Peers: the same tiny HTTP server (bench/tiny-server.mjs) run by plain node, start-stop-daemon,
// pm2, forever, supervisord and runsv, measured the same way, interleaved across tools, N runs,
// medians:
//   1. start -> first answer: from launching the tool's start command until an HTTP GET answers
//      (and, beside it, when the start command itself returned);
//   2. SIGKILL of the program -> answering again, for the tools that supervise, right after
//      start and after >= 1.5 s of uptime (several tools hold a restart back for about 1 s after
//      a start), counting the connections refused meanwhile;
//   3. stop -> port closed: from the stop command until connect() is refused;
//   4. private memory (RssAnon) of each tool's own long-lived processes and of the program.
// Each tool is one entry of TOOLS below (start, stop, pids, optional setup/after/teardown), so a
// later daemonkit CLI is one more entry.
//
//   node bench/peers.mjs [--runs N] [--only name,name] [--uptime MS] [--no-certs]
//                        [--out DIR] [--json FILE]
//   node bench/peers.mjs --charts-from FILE [--out DIR]
//
// Writes its results as JSON to DIR/peers.json (--json FILE elsewhere), and from that JSON the
// charts DIR/start.svg, crash.svg, stop.svg and memory.svg (bench/results.mjs); DIR is
// bench/results unless --out says otherwise. --charts-from re-renders the charts (into the
// JSON's own directory, or --out) and prints the tables from a saved JSON, without a run.
//
// The JSON: { benchmark: 'peers', date (UTC), command, node,
//   machine: { cores, cpuModel, loadavgStart, loadavgEnd },
//   certificates: { set, NODE_EXTRA_CA_CERTS? }, runs, uptimeMs, subreaper,
//   peers: { name: { installed, version, how } | { installed: false, reason } },
//   suites: [{ key: 'plain' | 'certs', label, certs, phases, tools: { name: { supervises, startOnly,
//     skipped?, errors, median, runs: [{ start: { answerMs, command, commandMs, commandDisturbed,
//     commandFailed? }, killFresh and killUp: { ms, refusals, errors, refusedMs, uptimeMs },
//     memory: { programKb, toolKb, toolProcesses: [{ what, pid, kb }] },
//     stop: { closedMs, commandMs }, failed? }] } } }] }   (times in ms, RssAnon in kB)
//
// Peers are never dependencies of this package: pm2 and forever are installed from the npm
// registry into a temporary directory at bench time, supervisord and runit from Debian's
// packages (apt-get, as root, only when missing); start-stop-daemon comes with dpkg. A peer that
// cannot be had is skipped, with the reason printed; the bench goes on. Every daemon runs with
// its state in the temporary directory (PM2_HOME, FOREVER_ROOT, supervisord's config and socket,
// runsv's service dir) and is stopped at the end; with daemonkit's library built (dist/), this
// process is a child subreaper, so every daemon stays our descendant and nothing can outlive us.
//
// The measured processes run without NODE_EXTRA_CA_CERTS (it is set on the shared machines and
// makes each Node start ~3x slower); a second, shorter suite (start and stop only) runs with it.
// Nothing is asserted: the machines are shared and loaded. Quote medians and ratios.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { endInfo, resultsDir, runInfo, writeCharts, writeJson as writeJsonFile } from './results.mjs';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    json: { type: 'string' },
    only: { type: 'string' },
    uptime: { type: 'string', default: '1500' },
    'no-certs': { type: 'boolean', default: false },
    out: { type: 'string' },
    'charts-from': { type: 'string' },
  },
});
const CHARTS_ONLY = opts['charts-from'] !== undefined;
const OUT = resolve(opts.out ?? (CHARTS_ONLY ? dirname(resolve(opts['charts-from'])) : resultsDir));
const JSON_FILE = opts.json !== undefined ? resolve(opts.json) : join(OUT, 'peers.json');
const RUNS = Number(opts.runs);
const UPTIME_MS = Number(opts.uptime);
const TIMEOUT_MS = 15_000; // a restart or a stop that takes longer is recorded as timed out
const here = new URL('.', import.meta.url).pathname;
const SERVER = join(here, 'tiny-server.mjs');
const NODE = process.execPath;
const dir = CHARTS_ONLY ? null : mkdtempSync(join(tmpdir(), 'daemonkit-peers-'));
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes: ours, our descendants, reaping, and the clean-up that runs whatever happens.

// daemonkit's own library, if built, makes this process a child subreaper: pm2's God daemon,
// forever's monitor, supervisord and start-stop-daemon's background program are re-parented to
// us instead of init, so we reap them (init on these machines reaps late) and can find every one
// of them at the end. Without it the bench still runs; orphans go to init.
let reap = null;
try {
  const dk = createRequire(import.meta.url)('../dist/index.js');
  dk.setChildSubreaper(true);
  reap = dk.reap;
} catch (err) {
  console.log(`note: not a child subreaper (${err.message.split('\n')[0]}); run npm run compile for it`);
}

// child_process's children, reaped by Node itself: the reaper below must never take those.
const ownSpawns = new Set();

function childrenOf(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
    } catch {}
  }
  return out;
}

function descendants(root = process.pid) {
  const seen = [];
  const queue = childrenOf(root);
  while (queue.length) {
    const pid = queue.shift();
    if (seen.includes(pid)) continue;
    seen.push(pid);
    queue.push(...childrenOf(pid));
  }
  return seen;
}

function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return null;
  }
}
// A zombie holds no port and no memory: for the bench it is gone.
const isGone = (pid) => {
  const s = stat(pid);
  return s === null || s.state === 'Z' || s.state === 'X';
};
const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '?';
  }
};

function rssAnonKb(pid) {
  try {
    const m = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

// Orphans that ended are our zombies now: reap them often, so that a tool waiting for its
// program to be gone (start-stop-daemon --retry looks at the pid) sees it go at once.
const reaper = reap
  ? setInterval(() => {
      for (const pid of childrenOf(process.pid)) {
        if (ownSpawns.has(pid)) continue;
        try {
          reap(pid);
        } catch {}
      }
    }, 10)
  : null;
reaper?.unref();

// Whatever is still below us when we leave is killed, then the temporary directory goes.
// Synchronous, so it also runs from process.on('exit') after an error or a signal.
function killLeftovers(report) {
  const left = [];
  for (let round = 0; round < 10; round++) {
    const pids = descendants();
    if (pids.length === 0) break;
    for (const pid of pids) {
      if (isGone(pid)) {
        if (!ownSpawns.has(pid)) try { reap?.(pid); } catch {}
        continue;
      }
      left.push(`${pid} ${cmdline(pid)}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  if (report && left.length) console.log(`warning: killed what was left behind:\n  ${[...new Set(left)].join('\n  ')}`);
}
let cleaned = false;
function cleanUp(report) {
  if (cleaned) return;
  cleaned = true;
  killLeftovers(report);
  if (dir) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', () => cleanUp(true));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130));

// One command: its exit (when and how) and the tail of what it printed, for error messages. The
// 'exit' event, never 'close': a daemon the command starts may keep its stdout open for good.
function launch(file, args, env, { stdio = 'pipe' } = {}) {
  const child = spawn(file, args, { env, stdio: ['ignore', stdio, stdio] });
  if (child.pid) ownSpawns.add(child.pid);
  let output = '';
  const keep = (d) => {
    output = (output + d).slice(-2000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, at: now(), output: err.message }));
    child.once('exit', (code, signal) => {
      const at = now();
      ownSpawns.delete(child.pid);
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({ code, signal, at, output });
      }, 20); // what is still in the pipe, for the message
    });
  });
  return { child, exited };
}

async function run(file, args, env, timeoutMs = 60_000) {
  const { child, exited } = launch(file, args, env);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const r = await exited;
  clearTimeout(timer);
  if (r.code !== 0) {
    const tail = r.output.trim().split('\n').slice(-6).join('\n    ');
    throw new Error(`${[file, ...args].join(' ')} -> ${r.signal ?? `exit ${r.code}`}\n    ${tail}`);
  }
  return r.output;
}

// ---------------------------------------------------------------------------------------------
// The port: answers, refusals, and who listens.

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// One GET: 'ok' only for the tiny server's own answer; 'refused' when nothing listens; 'error'
// for the rest (a listener that dies with the connection accepted resets it).
const probe = (port) =>
  new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 && body === 'ok' ? 'ok' : 'error'));
      res.on('error', () => resolve('error'));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(err.code === 'ECONNREFUSED' ? 'refused' : 'error'));
    req.end();
  });

// Polls (1 ms apart) until the port answers; after a SIGKILL, an answer counts only once the
// killed pid is gone, so it cannot be the old process answering its last request.
async function untilAnswer(port, t0, deadPid) {
  let refusals = 0;
  let errors = 0;
  let firstRefusal = null;
  let lastRefusal = null;
  const result = (ms) => ({
    ms,
    refusals,
    errors,
    refusedMs: firstRefusal === null ? 0 : lastRefusal - firstRefusal,
    ...(ms === null ? { timedOut: true } : {}),
  });
  for (;;) {
    const r = await probe(port);
    const t = now();
    if (r === 'ok' && (deadPid === undefined || isGone(deadPid))) return result(t - t0);
    if (r === 'refused') {
      refusals++;
      firstRefusal ??= t;
      lastRefusal = t;
    } else if (r === 'error') errors++;
    if (t - t0 > TIMEOUT_MS) return result(null);
    await sleep(1);
  }
}

const tryConnect = (port) =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('open');
    });
    s.once('error', (err) => resolve(err.code === 'ECONNREFUSED' ? 'refused' : 'error'));
  });

async function untilRefused(port, t0) {
  for (;;) {
    if ((await tryConnect(port)) === 'refused') return { ms: now() - t0 };
    if (now() - t0 > TIMEOUT_MS) return { ms: null, timedOut: true };
    await sleep(1);
  }
}

// The pid listening on 127.0.0.1:port: the socket's inode from /proc/net/tcp, then the process
// holding it (our descendants first: with the subreaper every program is one). The same for
// every tool, so no tool's own listing (a Node or Python start each) is paid for.
function listenerPid(port) {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let inode = null;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === hex && f[3] === '0A') inode = f[9];
  }
  if (inode === null) return null;
  const target = `socket:[${inode}]`;
  const all = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);
  for (const pids of [descendants(), all()]) {
    for (const pid of pids) {
      let fds = [];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
        } catch {}
      }
    }
  }
  return null;
}

async function waitFor(what, test, timeoutMs = TIMEOUT_MS) {
  const t0 = now();
  while (!(await test())) {
    if (now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ---------------------------------------------------------------------------------------------
// Installing the peers: never into the package, always into the temporary directory (npm) or
// as Debian packages (apt-get). Each returns { installed: true, version, how } or
// { installed: false, reason }.

function which(name) {
  for (const d of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin']) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return null;
}

// One prefix per package: a second `npm install --no-save` into the same prefix would prune the
// first package as extraneous.
const npmPrefix = (pkg) => join(dir, 'npm', pkg);
const peerInfo = {}; // name -> { installed, version, how } or { installed: false, reason }

// npm keeps the machine's environment: here the registry is only reached with the certificates
// of NODE_EXTRA_CA_CERTS (without them npm retries TLS errors for many minutes).
async function npmPeer(pkg) {
  try {
    await run('npm', ['install', '--prefix', npmPrefix(pkg), '--no-audit', '--no-fund', '--no-save', '--loglevel=error', '--fetch-retries=1', pkg], process.env, 300_000);
    const version = JSON.parse(readFileSync(join(npmPrefix(pkg), 'node_modules', pkg, 'package.json'), 'utf8')).version;
    return { installed: true, version, how: `npm install --prefix ${npmPrefix(pkg)}` };
  } catch (err) {
    return { installed: false, reason: `npm install ${pkg} failed: ${err.message}` };
  }
}

// --no-install-recommends: runit recommends runit-run, which would have the init system start a
// runsvdir of its own, a daemon this bench must not leave behind.
async function aptPeer(pkg, binaries) {
  const missing = () => binaries.filter((b) => !which(b));
  let how = 'already installed';
  if (missing().length) {
    if (process.getuid?.() !== 0) return { installed: false, reason: `${missing().join(', ')} missing and not root: apt-get install ${pkg} first` };
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => run('apt-get', ['install', '-y', '--no-install-recommends', pkg], env, 300_000);
    try {
      await install();
    } catch {
      try {
        await run('apt-get', ['update'], env, 300_000); // a fresh machine has no package lists yet
        await install();
      } catch (err) {
        return { installed: false, reason: `apt-get install ${pkg} failed: ${err.message}` };
      }
    }
    if (missing().length) return { installed: false, reason: `apt-get installed ${pkg} but ${missing().join(', ')} not found` };
    how = 'apt-get install';
  }
  const q = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
  return { installed: true, version: q.status === 0 ? q.stdout.trim() : 'unknown', how };
}

function ssdPeer() {
  const bin = which('start-stop-daemon');
  if (!bin) return { installed: false, reason: 'start-stop-daemon not found (it comes with dpkg)' };
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return { installed: true, version: (v.stdout.split('\n')[0] ?? '').replace(/^start-stop-daemon /, ''), how: bin };
}

// ---------------------------------------------------------------------------------------------
// The tools. Each entry:
//   name, peer (key of peerInfo, or null), supervises (restarts its program when it dies),
//   startOnly (a cold variant: only its start is measured),
//   setup(ctx)     once per suite: start the tool's own daemon, with the suite's environment;
//   start(ctx)     launch the start command; returns launch()'s { child, exited }, or null
//                  when the "command" is the program itself;
//   stop(ctx)      launch the stop command; same return;
//   pids(ctx)      { program, daemons: [{ what, pid }] }: the program and the tool's own
//                  long-lived processes, whose RssAnon is measured;
//   killProgram(ctx, pid)  SIGKILL by default;
//   after(ctx)     after each run: forget the program (pm2 delete), tear down a cold variant;
//   teardown(ctx)  once per suite: stop the tool's daemon and wait for it to be gone.
// ctx: { port, env (the suite's), dir (the tool's own, for this suite), ...its own state }.

const programPid = (ctx) => listenerPid(ctx.port);
const pidFromFile = (file) => {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || null;
  } catch {
    return null;
  }
};

const plainNode = {
  name: 'plain node',
  peer: null,
  supervises: false,
  start(ctx) {
    ctx.proc = launch(NODE, [SERVER, ctx.port], ctx.env, { stdio: 'ignore' });
    return null; // foreground: the program is the command
  },
  stop(ctx) {
    ctx.proc.child.kill('SIGTERM');
    return ctx.proc;
  },
  pids: (ctx) => ({ program: ctx.proc?.child.pid ?? null, daemons: [] }),
};

const SSD = which('start-stop-daemon');
const startStopDaemon = {
  name: 'start-stop-daemon',
  peer: 'start-stop-daemon',
  supervises: false,
  setup(ctx) {
    ctx.pidFile = join(ctx.dir, 'server.pid');
  },
  start: (ctx) =>
    launch(SSD, ['--start', '--background', '--make-pidfile', '--pidfile', ctx.pidFile, '--exec', NODE, '--', SERVER, String(ctx.port)], ctx.env),
  // --retry, as Debian's init scripts do: the command returns once the program is gone.
  stop: (ctx) => launch(SSD, ['--stop', '--pidfile', ctx.pidFile, '--remove-pidfile', '--retry', 'TERM/5/KILL/2'], ctx.env),
  pids: (ctx) => ({ program: pidFromFile(ctx.pidFile), daemons: [] }),
};

// pm2: every command is a Node CLI talking to the God daemon over PM2_HOME's sockets. Warm: the
// daemon runs (started by `pm2 ping` in setup) and each run is `pm2 start` ... `pm2 stop`, then
// `pm2 delete` so the next start is a start, not a restart of a stopped app. Fork mode, pm2's
// default for one instance: the program itself binds the port.
const pm2Bin = () => join(npmPrefix('pm2'), 'node_modules', 'pm2', 'bin', 'pm2');
const pm2 = (ctx, ...args) => launch(NODE, [pm2Bin(), ...args], ctx.pm2Env);
const pm2Run = (ctx, ...args) => run(NODE, [pm2Bin(), ...args], ctx.pm2Env);
const pm2Start = (ctx) => pm2(ctx, 'start', SERVER, '--name', 'bench', '--', String(ctx.port));
async function pm2Kill(ctx) {
  const god = pidFromFile(join(ctx.pm2Env.PM2_HOME, 'pm2.pid'));
  await pm2Run(ctx, 'kill');
  if (god) await waitFor('pm2 God daemon to exit', () => isGone(god));
}

const pm2Warm = {
  name: 'pm2',
  peer: 'pm2',
  supervises: true,
  async setup(ctx) {
    ctx.pm2Env = { ...ctx.env, PM2_HOME: join(ctx.dir, 'home') };
    await pm2Run(ctx, 'ping'); // spawns the God daemon
  },
  start: pm2Start,
  stop: (ctx) => pm2(ctx, 'stop', 'bench'),
  pids: (ctx) => ({ program: programPid(ctx), daemons: [{ what: 'God daemon', pid: pidFromFile(join(ctx.pm2Env.PM2_HOME, 'pm2.pid')) }] }),
  after: (ctx) => pm2Run(ctx, 'delete', 'bench'),
  teardown: pm2Kill,
};

// pm2 cold: a fresh PM2_HOME each run, so `pm2 start` spawns the God daemon first (and prints
// its banner), as on a machine's first use or after `pm2 kill`.
const pm2Cold = {
  name: 'pm2 cold',
  peer: 'pm2',
  supervises: true,
  startOnly: true,
  start(ctx) {
    ctx.pm2Env = { ...ctx.env, PM2_HOME: join(ctx.dir, `home-${ctx.run}`) };
    return pm2Start(ctx);
  },
  pids: pm2Warm.pids,
  async after(ctx) {
    await pm2Kill(ctx);
    rmSync(ctx.pm2Env.PM2_HOME, { recursive: true, force: true });
  },
};

// forever: `forever start` spawns a monitor (a Node process) per program, which restarts it.
// With forever's defaults a program that dies within minUptime (1 s) of its start is not
// restarted at all (it logs that it stops): --spinSleepTime 1000 makes it restart after 1 s
// instead, as runsv does, so both kills can be measured. -a: the log file is appended to.
const foreverBin = () => join(npmPrefix('forever'), 'node_modules', 'forever', 'bin', 'forever');
const forever = (ctx, ...args) => launch(NODE, [foreverBin(), ...args], ctx.foreverEnv);
const foreverTool = {
  name: 'forever',
  peer: 'forever',
  supervises: true,
  setup(ctx) {
    ctx.foreverEnv = { ...ctx.env, FOREVER_ROOT: join(ctx.dir, 'root') };
  },
  start: (ctx) =>
    forever(ctx, 'start', '-a', '--uid', 'bench', '--minUptime', '1000', '--spinSleepTime', '1000', SERVER, String(ctx.port)),
  stop: (ctx) => forever(ctx, 'stop', 'bench'),
  pids(ctx) {
    const program = programPid(ctx);
    const monitor = program ? stat(program)?.ppid ?? null : null;
    return { program, daemons: [{ what: 'monitor', pid: monitor }] };
  },
  async teardown(ctx) {
    await run(NODE, [foreverBin(), 'stopall'], ctx.foreverEnv).catch(() => {});
  },
};

// supervisord: one daemon, with its config, socket, logs and pidfile in the temporary directory.
// The program is configured with autostart=false and started by `supervisorctl start`, which
// returns only once the program has stayed up startsecs (1 s, the default).
const supervisorctl = (ctx, ...args) => launch(which('supervisorctl'), ['-c', ctx.conf, ...args], ctx.env);
const supervisord = {
  name: 'supervisord',
  peer: 'supervisord',
  supervises: true,
  async setup(ctx) {
    ctx.conf = join(ctx.dir, 'supervisord.conf');
    ctx.pidFile = join(ctx.dir, 'supervisord.pid');
    writeFileSync(
      ctx.conf,
      `[unix_http_server]
file=${join(ctx.dir, 'supervisor.sock')}

[supervisord]
logfile=${join(ctx.dir, 'supervisord.log')}
pidfile=${ctx.pidFile}
childlogdir=${ctx.dir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://${join(ctx.dir, 'supervisor.sock')}

[program:bench]
command=${NODE} ${SERVER} ${ctx.port}
autostart=false
autorestart=true
stdout_logfile=NONE
stderr_logfile=NONE
`,
    );
    await run(which('supervisord'), ['-c', ctx.conf], ctx.env); // daemonizes, then returns
    await waitFor('supervisord to answer', async () => (await supervisorctl(ctx, 'pid').exited).code === 0);
  },
  start: (ctx) => supervisorctl(ctx, 'start', 'bench'),
  stop: (ctx) => supervisorctl(ctx, 'stop', 'bench'),
  pids: (ctx) => ({ program: programPid(ctx), daemons: [{ what: 'supervisord', pid: pidFromFile(ctx.pidFile) }] }),
  async teardown(ctx) {
    const pid = pidFromFile(ctx.pidFile);
    await run(which('supervisorctl'), ['-c', ctx.conf, 'shutdown'], ctx.env);
    if (pid) await waitFor('supervisord to exit', () => isGone(pid));
  },
};

// runsv: one service dir, a `run` script that execs the server, and a `down` file so that runsv
// waits for `sv up`. runsv is our child; `sv` only writes to its control fifo and returns, it
// does not wait. runsv holds a restart back until 1 s after the previous start.
function serviceDir(path, port, down) {
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'run'), `#!/bin/sh\nexec ${NODE} ${SERVER} ${port}\n`, { mode: 0o755 });
  if (down) writeFileSync(join(path, 'down'), '');
  return path;
}
const untilSupervised = (svc) => waitFor('runsv to take its service dir', () => existsSync(join(svc, 'supervise', 'ok')));
async function runsvExit(ctx, svc, proc) {
  await run(which('sv'), ['exit', svc], ctx.env);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
  await proc.exited;
  clearTimeout(timer);
}

const runsv = {
  name: 'runsv',
  peer: 'runit',
  supervises: true,
  async setup(ctx) {
    ctx.svc = serviceDir(join(ctx.dir, 'bench'), ctx.port, true);
    ctx.runsv = launch(which('runsv'), [ctx.svc], ctx.env, { stdio: 'ignore' });
    await untilSupervised(ctx.svc);
  },
  start: (ctx) => launch(which('sv'), ['up', ctx.svc], ctx.env),
  stop: (ctx) => launch(which('sv'), ['down', ctx.svc], ctx.env),
  pids: (ctx) => ({ program: programPid(ctx), daemons: [{ what: 'runsv', pid: ctx.runsv.child.pid }] }),
  teardown: (ctx) => runsvExit(ctx, ctx.svc, ctx.runsv),
};

// runsv cold: runsv itself is the start command, on a service dir without `down`.
const runsvCold = {
  name: 'runsv cold',
  peer: 'runit',
  supervises: true,
  startOnly: true,
  start(ctx) {
    ctx.svc = serviceDir(join(ctx.dir, `bench-${ctx.run}`), ctx.port, false);
    ctx.runsv = launch(which('runsv'), [ctx.svc], ctx.env, { stdio: 'ignore' });
    return null; // runsv runs on: no command returns
  },
  pids: runsv.pids,
  async after(ctx) {
    await runsvExit(ctx, ctx.svc, ctx.runsv);
    rmSync(ctx.svc, { recursive: true, force: true });
  },
};

// daemonkit's command, from this checkout (dist/cli.js): the program as the daemon, started
// once it accepts on its port; and supervised (--restart always, no delay), with the port
// bound by daemonkit and handed over, so it stays open across restarts (ready at exec:
// connections wait in the socket until the program accepts them).
const DK = new URL('../dist/cli.js', import.meta.url).pathname;
const dk = (ctx, ...args) => launch(NODE, ['--', DK, ...args], { ...ctx.env, DAEMONKIT_RUN_DIR: ctx.dir, DAEMONKIT_LOG_DIR: ctx.dir });
const dkState = (ctx) => {
  try {
    return JSON.parse(readFileSync(join(ctx.dir, 'bench.json'), 'utf8'));
  } catch {
    return {};
  }
};
const daemonkitNever = {
  name: 'daemonkit',
  peer: null,
  supervises: false,
  start: (ctx) => dk(ctx, 'start', '--name', 'bench', '--log-file', '/dev/null', '--ready', `tcp:127.0.0.1:${ctx.port}`, '--', NODE, SERVER, String(ctx.port)),
  stop: (ctx) => dk(ctx, 'stop', '--name', 'bench'),
  pids: (ctx) => ({ program: pidFromFile(join(ctx.dir, 'bench.pid')), daemons: [] }),
};
const daemonkitSupervised = {
  name: 'daemonkit supervised',
  peer: null,
  supervises: true,
  // The program's pid is in the state file once the supervisor has booted and adopted it.
  pidsAfterStart: true,
  start: (ctx) =>
    dk(ctx, 'start', '--name', 'bench', '--log-file', '/dev/null', '--restart', 'always', '--restart-delay', '0', '--listen', `127.0.0.1:${ctx.port}`, '--ready', 'exec', '--', NODE, SERVER, String(ctx.port)),
  stop: (ctx) => dk(ctx, 'stop', '--name', 'bench'),
  pids: (ctx) => ({ program: dkState(ctx).programPid ?? null, daemons: [{ what: 'supervisor', pid: pidFromFile(join(ctx.dir, 'bench.pid')) }] }),
};

const TOOLS = [plainNode, startStopDaemon, daemonkitNever, daemonkitSupervised, pm2Warm, pm2Cold, foreverTool, supervisord, runsv, runsvCold];

// ---------------------------------------------------------------------------------------------
// One run of one tool, and a suite of interleaved runs.

const tooLate = (exited, ms) => Promise.race([exited, sleep(ms).then(() => null)]);

// SIGKILL the program, then time until the port answers again (from another process).
async function killAndWait(tool, ctx) {
  const pid = tool.pids(ctx).program;
  if (!pid) throw new Error('no program pid to kill');
  const t0 = now();
  (tool.killProgram ?? ((_, p) => process.kill(p, 'SIGKILL')))(ctx, pid);
  const r = await untilAnswer(ctx.port, t0, pid);
  if (r.ms === null) throw new Error(`no answer within ${TIMEOUT_MS} ms after SIGKILL (${r.refusals} refusals)`);
  return { ...r, answeredAt: t0 + r.ms };
}

function memory(tool, ctx) {
  const { program, daemons } = tool.pids(ctx);
  const tool_ = daemons.map(({ what, pid }) => ({ what, pid, kb: pid ? rssAnonKb(pid) : null }));
  return {
    programKb: program ? rssAnonKb(program) : null,
    toolKb: tool_.length ? tool_.reduce((a, d) => a + (d.kb ?? 0), 0) : null,
    toolProcesses: tool_,
  };
}

// What a failed run measured before it failed is kept (err.rec) and written to the JSON.
async function oneRun(tool, ctx, phases) {
  const rec = {};
  try {
    await measure(tool, ctx, phases, rec);
  } catch (err) {
    err.rec = rec;
    throw err;
  }
  return rec;
}

async function measure(tool, ctx, phases, rec) {
  const t0 = now();
  const cmd = tool.start(ctx);
  let cmdDone = false;
  cmd?.exited.then(() => (cmdDone = true));
  const first = await untilAnswer(ctx.port, t0);
  if (first.ms === null) throw new Error(`no answer within ${TIMEOUT_MS} ms of the start command`);
  rec.start = { answerMs: first.ms, command: Boolean(cmd) };
  let answeredAt = t0 + first.ms;
  const uptime = () => sleep(Math.max(0, UPTIME_MS - (now() - answeredAt)));

  if (phases.kill && tool.supervises && !tool.startOnly) {
    // A tool that names its program only once its start command said "started" (daemonkit's
    // supervisor boots beside the program and may answer after it) is killed from then on.
    if (tool.pidsAfterStart && cmd) await tooLate(cmd.exited, TIMEOUT_MS);
    // Right after start: the first answer is the uptime's start. A start command still waiting
    // then (supervisorctl waits for startsecs) sees the kill, and its return is not a start's.
    rec.start.commandDisturbed = Boolean(cmd) && !cmdDone;
    const fresh = await killAndWait(tool, ctx);
    rec.killFresh = { ...fresh, uptimeMs: fresh.answeredAt - fresh.ms - answeredAt };
    answeredAt = fresh.answeredAt;
    await uptime();
    const up = await killAndWait(tool, ctx);
    rec.killUp = { ...up, uptimeMs: up.answeredAt - up.ms - answeredAt };
    answeredAt = up.answeredAt;
    delete rec.killFresh.answeredAt;
    delete rec.killUp.answeredAt;
  }
  if (phases.memory && !tool.startOnly) {
    await uptime(); // every program measured at the same uptime, after its last start
    rec.memory = memory(tool, ctx);
  }
  if (cmd) {
    const r = await tooLate(cmd.exited, TIMEOUT_MS);
    rec.start.commandMs = r ? r.at - t0 : null;
    if (r && r.code !== 0) rec.start.commandFailed = `${r.signal ?? `exit ${r.code}`}: ${r.output.trim().split('\n').slice(-2).join(' / ')}`;
  }
  if (phases.stop && !tool.startOnly) {
    const s0 = now();
    const stopCmd = tool.stop(ctx);
    const closed = await untilRefused(ctx.port, s0);
    const r = await tooLate(stopCmd.exited, TIMEOUT_MS);
    rec.stop = { closedMs: closed.ms, commandMs: r ? r.at - s0 : null };
    if (closed.timedOut) throw new Error('the port still accepts connections after stop');
  }
}

// After a failed run: stop the program whatever way works, so the next run starts clean.
async function recover(tool, ctx) {
  try {
    if (!tool.startOnly && tool.stop) await tooLate(tool.stop(ctx).exited, 5000);
  } catch {}
  try {
    await tool.after?.(ctx);
  } catch {}
  const pid = listenerPid(ctx.port);
  if (pid) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

async function suite(key, label, env, phases, tools) {
  const out = { key, label, certs: Boolean(env.NODE_EXTRA_CA_CERTS), phases, runs: RUNS, tools: {} };
  const ready = [];
  for (const tool of tools) {
    const entry = (out.tools[tool.name] = { supervises: tool.supervises, startOnly: Boolean(tool.startOnly), runs: [], errors: [] });
    const ctx = { port: await freePort(), env, dir: join(dir, key, tool.name.replace(/\W+/g, '-')) };
    mkdirSync(ctx.dir, { recursive: true });
    try {
      await tool.setup?.(ctx);
      ready.push({ tool, ctx, entry });
    } catch (err) {
      entry.skipped = `setup failed: ${err.message}`;
      console.log(`  ${tool.name}: ${entry.skipped}`);
    }
  }
  const started = now();
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, and rotated each run, so no tool always follows the same one.
    const order = ready.slice(i % ready.length).concat(ready.slice(0, i % ready.length));
    for (const { tool, ctx, entry } of order) {
      ctx.run = i;
      try {
        const rec = await oneRun(tool, ctx, phases);
        await tool.after?.(ctx);
        entry.runs.push(rec);
      } catch (err) {
        entry.errors.push(`run ${i + 1}: ${err.message}`);
        if (err.rec && Object.keys(err.rec).length) entry.runs.push({ ...err.rec, failed: err.message });
        await recover(tool, ctx);
      }
    }
    const progress = `  ${label}: run ${i + 1}/${RUNS} done (${((now() - started) / 1000).toFixed(0)} s)`;
    if (process.stdout.isTTY) process.stdout.write(`\r${progress}${i + 1 === RUNS ? '\n' : ''}`);
    else console.log(progress);
  }
  for (const { tool, ctx } of ready) {
    try {
      await tool.teardown?.(ctx);
    } catch (err) {
      out.tools[tool.name].errors.push(`teardown: ${err.message}`);
    }
  }
  for (const entry of Object.values(out.tools)) entry.median = medians(entry.runs);
  return out;
}

function medians(runs) {
  const pick = (f) => median(runs.map(f));
  const kill = (k) =>
    runs.some((r) => r[k])
      ? {
          ms: pick((r) => r[k]?.ms),
          refusals: pick((r) => r[k]?.refusals),
          refusedMs: pick((r) => r[k]?.refusedMs),
          refusedRuns: runs.filter((r) => r[k]?.refusals > 0).length,
          measuredRuns: runs.filter((r) => typeof r[k]?.ms === 'number').length,
          uptimeMs: pick((r) => r[k]?.uptimeMs),
        }
      : null;
  return {
    startAnswerMs: pick((r) => r.start?.answerMs),
    startCommandMs: pick((r) => (r.start?.commandDisturbed ? null : r.start?.commandMs)),
    disturbedRuns: runs.filter((r) => r.start?.commandDisturbed).length,
    // pm2 says "online" once it has forked, sv up only writes to a fifo: a start command that
    // returns before the port answers tells a script nothing about readiness.
    returnedBeforeAnswer: runs.filter((r) => !r.start?.commandDisturbed && typeof r.start?.commandMs === 'number' && r.start.commandMs < r.start.answerMs).length,
    returnedRuns: runs.filter((r) => !r.start?.commandDisturbed && typeof r.start?.commandMs === 'number').length,
    killFresh: kill('killFresh'),
    killUp: kill('killUp'),
    stopClosedMs: pick((r) => r.stop?.closedMs),
    stopCommandMs: pick((r) => r.stop?.commandMs),
    programKb: pick((r) => r.memory?.programKb),
    toolKb: pick((r) => r.memory?.toolKb),
  };
}

// ---------------------------------------------------------------------------------------------
// Printing.

const ms = (x) => (x === null || x === undefined ? '—' : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
const mb = (kb) => (kb === null || kb === undefined ? '—' : `${(kb / 1024).toFixed(1)} MB`);
const col = (s, w) => String(s).padStart(w);

function print(s, UPTIME_MS) {
  const rows = Object.entries(s.tools).filter(([, e]) => !e.skipped);
  const base = s.tools['plain node']?.median;
  console.log(`\n${s.label} (${s.runs} runs each, interleaved; medians)`);
  console.log('  (start cmd returned: when the start command exited; early: before the port answered;');
  console.log('   killed first: still waiting when the program was SIGKILLed, see the suite without kills)');
  console.log(`  ${'tool'.padEnd(22)}${col('start→answer', 14)}${col('vs plain', 10)}${col('start cmd returned', 26)}${col('stop→refused', 16)}${col('stop cmd ret.', 15)}`);
  for (const [name, e] of rows) {
    const m = e.median;
    const ratio = base?.startAnswerMs && m.startAnswerMs ? `${(m.startAnswerMs / base.startAnswerMs).toFixed(2)}x` : '—';
    const ret = m.returnedRuns
      ? `${ms(m.startCommandMs)}${m.returnedBeforeAnswer ? ` (${m.returnedBeforeAnswer}/${m.returnedRuns} early)` : ''}`
      : m.disturbedRuns
        ? '(killed first)'
        : e.runs.some((r) => r.start?.command)
          ? '—'
          : '(runs on)';
    console.log(
      `  ${name.padEnd(22)}${col(ms(m.startAnswerMs), 14)}${col(ratio, 10)}${col(ret, 26)}${col(e.startOnly ? '(start only)' : ms(m.stopClosedMs), 16)}${col(e.startOnly ? '' : ms(m.stopCommandMs), 15)}`,
    );
  }
  if (s.phases.kill) {
    console.log(`\n  SIGKILL of the program -> answering again (refusals: median count, runs with any)`);
    console.log(`  ${'tool'.padEnd(22)}${col('at ~0 s uptime', 16)}${col('refused', 16)}${col(`at >= ${(UPTIME_MS / 1000).toFixed(1)} s`, 16)}${col('refused', 16)}`);
    for (const [name, e] of rows) {
      if (!e.supervises || e.startOnly) continue;
      const k = (x) => (x ? [ms(x.ms) + (x.measuredRuns < s.runs ? ` (${x.measuredRuns}/${s.runs})` : ''), `${x.refusals ?? '—'} (${x.refusedRuns}/${s.runs})`] : ['—', '—']);
      const [a, b] = k(e.median.killFresh);
      const [c, d] = k(e.median.killUp);
      console.log(`  ${name.padEnd(22)}${col(a, 16)}${col(b, 16)}${col(c, 16)}${col(d, 16)}`);
    }
  }
  if (s.phases.memory) {
    const baseKb = base?.programKb;
    console.log(`\n  RssAnon after >= ${(UPTIME_MS / 1000).toFixed(1)} s of uptime`);
    console.log(`  ${'tool'.padEnd(22)}${col("tool's processes", 18)}${col('program', 12)}${col('vs plain node', 15)}  which`);
    for (const [name, e] of rows) {
      if (e.startOnly) continue;
      const m = e.median;
      const diff = baseKb && m.programKb ? `${m.programKb >= baseKb ? '+' : ''}${((m.programKb - baseKb) / 1024).toFixed(1)} MB` : '—';
      const which = e.runs.find((r) => r.memory)?.memory.toolProcesses.map((d) => d.what).join(', ') || '';
      console.log(`  ${name.padEnd(22)}${col(mb(m.toolKb), 18)}${col(mb(m.programKb), 12)}${col(diff, 15)}  ${which}`);
    }
  }
  for (const [name, e] of Object.entries(s.tools)) {
    if (e.skipped) console.log(`  ${name}: skipped, ${e.skipped}`);
    for (const err of e.errors) console.log(`  ${name}: ${err}`);
    const failed = e.runs.filter((r) => r.start?.commandFailed);
    const why = failed.every((r) => r.start.commandDisturbed) ? 'the program was SIGKILLed while it waited' : 'the port answered';
    if (failed.length) console.log(`  ${name}: start command failed in ${failed.length}/${e.runs.length} runs (${why}): ${failed[0].start.commandFailed}`);
  }
}

// ---------------------------------------------------------------------------------------------

const report = {
  ...runInfo('peers'),
  runs: RUNS,
  uptimeMs: UPTIME_MS,
  subreaper: Boolean(reap),
  peers: peerInfo,
  suites: [],
};
const writeJson = () => writeJsonFile(report, JSON_FILE);

if (CHARTS_ONLY) {
  const saved = JSON.parse(readFileSync(opts['charts-from'], 'utf8'));
  console.log(`peers bench of ${saved.date}: ${saved.command}`);
  for (const s of saved.suites) print(s, saved.uptimeMs);
  console.log(`\ncharts: ${writeCharts(saved, OUT).join(', ')}`);
} else try {
  console.log(`peers bench: node ${process.version}, ${cpus().length} cpus, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; installing peers in ${dir}`);
  const only = opts.only ? opts.only.split(',').map((s) => s.trim()) : null;
  const selected = TOOLS.filter((t) => !only || only.includes(t.name));
  const wanted = new Set(selected.map((t) => t.peer).filter(Boolean));
  const installers = {
    'start-stop-daemon': async () => ssdPeer(),
    pm2: () => npmPeer('pm2'),
    forever: () => npmPeer('forever'),
    supervisord: () => aptPeer('supervisor', ['supervisord', 'supervisorctl']),
    runit: () => aptPeer('runit', ['runsv', 'sv']),
  };
  // The npm side beside the apt side, each in turn within: two apt-gets would fight over dpkg's
  // lock, and two npm installs over one cache and the two cores.
  const inTurn = async (names) => {
    for (const name of names) if (wanted.has(name)) peerInfo[name] = await installers[name]();
  };
  await Promise.all([inTurn(['pm2', 'forever']), inTurn(['start-stop-daemon', 'supervisord', 'runit'])]);
  for (const name of Object.keys(installers)) {
    const p = peerInfo[name];
    if (p) console.log(`  ${name}: ${p.installed ? `${p.version} (${p.how})` : `SKIPPED: ${p.reason}`}`);
  }
  const tools = selected.filter((t) => t.peer === null || peerInfo[t.peer].installed);
  const without = { ...process.env };
  delete without.NODE_EXTRA_CA_CERTS;
  report.suites.push(await suite('plain', 'without NODE_EXTRA_CA_CERTS', without, { kill: true, memory: true, stop: true }, tools));
  print(report.suites.at(-1), UPTIME_MS);
  writeJson();
  if (!process.env.NODE_EXTRA_CA_CERTS) console.log('\nwith NODE_EXTRA_CA_CERTS: skipped, it is not set here');
  else if (opts['no-certs']) console.log('\nwith NODE_EXTRA_CA_CERTS: skipped (--no-certs)');
  else {
    // Start and stop only: the kills and the memory do not depend on Node's start-up options
    // more than the start does, and they cost seconds per run.
    report.suites.push(await suite('certs', `with NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}`, process.env, { kill: false, memory: false, stop: true }, tools));
    print(report.suites.at(-1), UPTIME_MS);
  }
} finally {
  endInfo(report);
  writeJson();
  console.log(`\nJSON: ${JSON_FILE}`);
  if (report.suites.length) {
    try {
      console.log(`charts: ${writeCharts(report, OUT).join(', ')}`);
    } catch (err) {
      console.log(`charts: not drawn: ${err.message}`);
    }
  }
  clearInterval(reaper);
  cleanUp(true);
}
