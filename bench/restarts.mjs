// Restarts of a crashing program under the supervisor: does it leak? Issue 12's target:
// "10,000 restarts of a crashing program (delay 0, no crash-loop limit): the supervisor's
// fd count unchanged and its RSS grown by less than 2 MiB."
//
//   node bench/restarts.mjs [--restarts N] [--program PATH] [--with-certs]
//                           [--node-options '--max-semi-space-size=1'] [--out DIR] [--json FILE]
//   node bench/restarts.mjs --charts-from FILE [--out DIR]
//
// Writes its results to DIR/restarts.json (DIR: bench/results unless --out; --json FILE
// elsewhere) and from them DIR/restarts.svg (bench/results.mjs); --charts-from re-renders the
// chart from a saved JSON (into its directory, or --out) without a run.
//
// Starts, through the CLI and in a temporary run directory, `--restart always
// --restart-delay 0 --ready exec -- /bin/false` (no --max-restarts), follows the state
// file's `restarts` count, and samples the supervisor (the pid in NAME.pid) from /proc: its
// open fds and VmRSS / RssAnon, at restart ~1% of N (warm: ~100 for the default), at a few
// points between and at the end. Then `daemonkit stop`, and checks nothing is left.
//
// fds are counted 50 times over ~0.1 s per sample and the smallest count is kept: for an
// instant per restart the supervisor holds the spawn's error pipe (2 fds) and the state
// file's temporary copy (1 fd), and about half of all reads of /proc/PID/fd land in one of
// those. A leaked descriptor is in every read.
//
// No Node process is started per measurement (the supervisor boots once), so
// NODE_EXTRA_CA_CERTS only moves the supervisor's baseline; it is unset for the service
// unless --with-certs. Nothing is asserted: the machines are shared and loaded.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { endInfo, outputOf, runInfo, writeCharts, writeJson } from './results.mjs';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const { reap, setChildSubreaper } = require('../dist/index.js');
const { values } = parseArgs({
  options: {
    restarts: { type: 'string', default: '10000' },
    program: { type: 'string', default: '/bin/false' },
    'with-certs': { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    json: { type: 'string' },
    out: { type: 'string' },
    'charts-from': { type: 'string' },
  },
});
const { out, jsonFile } = outputOf(values, 'restarts');
const info = runInfo('restarts');
const target = Number(values.restarts);
if (!Number.isInteger(target) || target < 10) throw new Error('--restarts: an integer, at least 10');
const dir = mkdtempSync(join(tmpdir(), 'daemonkit-restarts-'));
const env = { ...process.env, DAEMONKIT_RUN_DIR: join(dir, 'run'), DAEMONKIT_LOG_DIR: join(dir, 'log') };
if (!values['with-certs']) delete env.NODE_EXTRA_CA_CERTS;
// NODE_OPTIONS reaches the supervisor (it runs with the command's environment): V8 flags to try.
if (values['node-options'] !== undefined) env.NODE_OPTIONS = values['node-options'];
mkdirSync(env.DAEMONKIT_RUN_DIR, { mode: 0o755 });
mkdirSync(env.DAEMONKIT_LOG_DIR, { mode: 0o755 });
const name = 'crash';
const stateFile = join(env.DAEMONKIT_RUN_DIR, `${name}.json`);
// The supervisor ends up our child (it is reparented to the nearest subreaper): we reap it.
setChildSubreaper(true);

const cli = (...args) => spawnSync(process.execPath, ['--', join(root, 'dist', 'cli.js'), ...args], { env, encoding: 'utf8' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const restartsNow = () => {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')).restarts ?? 0;
  } catch {
    return 0; // between writes is impossible (rename), but before the first one
  }
};

function status(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { vmRssKiB: kb('VmRSS'), rssAnonKiB: kb('RssAnon') };
}

async function fds(pid) {
  let best = null;
  for (let i = 0; i < 50; i++) {
    const list = readdirSync(`/proc/${pid}/fd`);
    if (best === null || list.length < best.length) best = list;
    await sleep(2);
  }
  const targets = {};
  for (const fd of best) {
    try {
      targets[fd] = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(dir, '$TMP');
    } catch {
      targets[fd] = '?';
    }
  }
  return { fdCount: best.length, fds: targets };
}

const samples = [];
let supervisor = null;
let code = 0;
try {
  const started = cli('start', '--name', name, '--restart', 'always', '--restart-delay', '0', '--ready', 'exec', '--', values.program);
  if (started.status !== 0) throw new Error(`start failed (${started.status}): ${started.stdout}${started.stderr}`);
  supervisor = Number(readFileSync(join(env.DAEMONKIT_RUN_DIR, `${name}.pid`), 'utf8'));
  const t0 = Date.now();
  const points = [...new Set([0.01, 0.1, 0.25, 0.5, 0.75, 1].map((f) => Math.max(1, Math.round(f * target))))];
  for (const point of points) {
    let n;
    for (;;) {
      n = restartsNow();
      if (n >= point) break;
      try {
        process.kill(supervisor, 0);
      } catch {
        throw new Error(`the supervisor (pid ${supervisor}) is gone at restart ${n}`);
      }
      if (reap(supervisor) !== null) throw new Error(`the supervisor (pid ${supervisor}) exited at restart ${n}`);
      await sleep(25);
    }
    samples.push({ restarts: n, seconds: (Date.now() - t0) / 1000, ...status(supervisor), ...(await fds(supervisor)) });
  }
} catch (err) {
  console.error(`error: ${err.message}`);
  code = 1;
} finally {
  const stopped = cli('stop', '--name', name);
  if (stopped.status !== 0) {
    console.error(`stop failed (${stopped.status}): ${stopped.stdout}${stopped.stderr}`);
    code = 1;
  }
  // The supervisor, and any program that was its child when it went: ours to reap now.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const left = readdirSync('/proc').filter((e) => /^\d+$/.test(e) && readPpid(e) === process.pid).map(Number);
    if (left.length === 0) break;
    for (const pid of left) if (reap(pid) === null && Date.now() > deadline) process.kill(pid, 'SIGKILL');
    await sleep(20);
  }
  if (supervisor !== null) console.log(`stopped: ${stopped.stdout.trim()}; nothing of ours left running`);
  rmSync(dir, { recursive: true, force: true });
}

function readPpid(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

if (samples.length >= 2) {
  const warm = samples[0];
  const end = samples.at(-1);
  const mib = (kib) => (kib / 1024).toFixed(2);
  console.log(`\nnode ${process.version}, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);
  console.log(`program ${values.program}, --restart always --restart-delay 0, no --max-restarts; NODE_EXTRA_CA_CERTS ${env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset'} for the service; NODE_OPTIONS ${JSON.stringify(env.NODE_OPTIONS ?? '')}`);
  console.log(`supervisor pid ${supervisor}\n`);
  console.log('  restarts   seconds   fds   VmRSS MiB   RssAnon MiB');
  for (const s of samples) {
    console.log(`  ${String(s.restarts).padStart(8)}  ${s.seconds.toFixed(1).padStart(8)}  ${String(s.fdCount).padStart(4)}  ${mib(s.vmRssKiB).padStart(10)}  ${mib(s.rssAnonKiB).padStart(12)}`);
  }
  const rate = (end.restarts - warm.restarts) / (end.seconds - warm.seconds);
  const rssGrowth = (end.vmRssKiB - warm.vmRssKiB) / 1024;
  const anonGrowth = (end.rssAnonKiB - warm.rssAnonKiB) / 1024;
  const fdSame = end.fdCount === warm.fdCount;
  console.log(`\n  restarts per second (warm to end): ${rate.toFixed(0)}`);
  console.log(`  fds: ${warm.fdCount} at restart ${warm.restarts}, ${end.fdCount} at restart ${end.restarts}: ${fdSame ? 'unchanged: MET' : 'CHANGED: NOT MET'}`);
  if (!fdSame) {
    const added = Object.keys(end.fds).filter((fd) => end.fds[fd] !== warm.fds[fd]);
    console.log(`    new or changed: ${added.map((fd) => `${fd} -> ${end.fds[fd]}`).join(', ')}`);
  }
  console.log(`  VmRSS growth ${rssGrowth.toFixed(2)} MiB (RssAnon ${anonGrowth.toFixed(2)} MiB) over ${end.restarts - warm.restarts} restarts: ${rssGrowth < 2 ? 'under 2 MiB: MET' : 'NOT MET'}`);
  console.log(`  per restart: ${((rssGrowth * 1024 * 1024) / (end.restarts - warm.restarts)).toFixed(0)} bytes of VmRSS`);
  // certs: whether the service (the supervisor) ran with NODE_EXTRA_CA_CERTS.
  const report = { ...info, program: values.program, nodeOptions: env.NODE_OPTIONS ?? '', certs: Boolean(env.NODE_EXTRA_CA_CERTS), target, samples, restartsPerSecond: rate, rssGrowthMiB: rssGrowth, rssAnonGrowthMiB: anonGrowth, fdUnchanged: fdSame };
  endInfo(report);
  writeJson(report, jsonFile);
  console.log(`\nJSON: ${jsonFile}\ncharts: ${writeCharts(report, out).join(', ')}`);
}
process.exitCode = code;
