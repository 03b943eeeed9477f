// Status of many services: issue 12's target "`status` of 100 services under 0.5 s", read as
// `daemonkit list` with 100 services in the run directory (the whole command, as a user
// runs it), and as listServices() / serviceStatus() of the library in-process.
//
//   node bench/status.mjs [--services N] [--runs N] [--out DIR] [--json FILE]
//   node bench/status.mjs --charts-from FILE [--out DIR]
//
// Writes its results to DIR/status.json (DIR: bench/results unless --out; --json FILE
// elsewhere) and from them DIR/status.svg (bench/results.mjs); --charts-from re-renders the
// chart from a saved JSON (into its directory, or --out) without a run.
//
// Starts N (default 100) real services in a temporary run directory through the CLI: most
// `--ready exec -- sleep 1000` (the program is the daemon), every 20th supervised
// (`--restart always`), every 20th (offset 10) started and stopped again (a state file, no
// PID file). Then, interleaved and rotated, --runs times each: `daemonkit list`,
// `daemonkit list --json` and `daemonkit status --name s50`, each with and without
// NODE_EXTRA_CA_CERTS (it makes every Node start slower; "with" only when it is set), and
// `node -e 0` as the Node boot they all pay; then listServices(dir) and serviceStatus() in
// this process. Medians, the verdict against 0.5 s, then every service is stopped and none
// may be left. This process is a child subreaper: every daemon is our descendant and is
// reaped here. Nothing is asserted: the machines are shared and loaded.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { endInfo, outputOf, runInfo, writeCharts, writeJson } from './results.mjs';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const cliPath = join(root, 'dist', 'cli.js');
const { listServices, serviceStatus, reap, setChildSubreaper } = require('../dist/index.js');
const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '100' },
    runs: { type: 'string', default: '9' },
    json: { type: 'string' },
    out: { type: 'string' },
    'charts-from': { type: 'string' },
  },
});
const { out, jsonFile } = outputOf(values, 'status');
const info = runInfo('status');
const count = Number(values.services);
const runs = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), 'daemonkit-status-'));
const runDir = join(dir, 'run');
const logDir = join(dir, 'log');
mkdirSync(runDir, { mode: 0o755 });
mkdirSync(logDir, { mode: 0o755 });
const withCerts = { ...process.env, DAEMONKIT_RUN_DIR: runDir, DAEMONKIT_LOG_DIR: logDir };
const without = { ...withCerts };
delete without.NODE_EXTRA_CA_CERTS;
const certs = Boolean(process.env.NODE_EXTRA_CA_CERTS);
setChildSubreaper(true);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The command to its end, asynchronously (several at a time while setting up). */
const cli = (env, ...args) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['--', cliPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });

/** Runs jobs, `width` at a time. */
async function inParallel(items, width, job) {
  const queue = [...items];
  await Promise.all(Array.from({ length: width }, async () => {
    while (queue.length > 0) await job(queue.shift());
  }));
}

const names = Array.from({ length: count }, (_, i) => `s${i}`);
const kindOf = (i) => (i % 20 === 5 ? 'supervised' : i % 20 === 15 ? 'stopped' : 'plain');

/** Pids of our children (every daemon and program is one, as we are their subreaper). */
function ourChildren() {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/** Reaps whatever of ours has exited; SIGKILLs what is left after the deadline. */
async function reapAll(deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  let killed = 0;
  for (;;) {
    const left = ourChildren();
    if (left.length === 0) return killed;
    for (const pid of left) {
      if (reap(pid) === null && Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        killed++;
      }
    }
    await sleep(20);
  }
}

let results = null;
let code = 0;
try {
  const t0 = Date.now();
  const failures = [];
  await inParallel(names.map((n, i) => [n, i]), 4, async ([name, i]) => {
    const restart = kindOf(i) === 'supervised' ? ['--restart', 'always'] : [];
    const r = await cli(without, 'start', '--name', name, '--ready', 'exec', ...restart, '--', 'sleep', '1000');
    if (r.code !== 0) failures.push(`${name}: ${r.out.trim()}`);
    if (kindOf(i) === 'stopped') {
      const s = await cli(without, 'stop', '--name', name);
      if (s.code !== 0) failures.push(`${name} stop: ${s.out.trim()}`);
    }
  });
  if (failures.length > 0) throw new Error(`setup failed:\n  ${failures.join('\n  ')}`);
  for (const pid of ourChildren()) reap(pid); // the stopped ones' programs (zombies), not the others
  const states = {};
  for (const s of listServices(runDir)) states[s.state] = (states[s.state] ?? 0) + 1;
  console.log(`${count} services started in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(states)}`);

  const variants = {
    'node -e 0': (env) => [process.execPath, ['-e', '0'], env],
    'daemonkit list': (env) => [process.execPath, ['--', cliPath, 'list'], env],
    'daemonkit list --json': (env) => [process.execPath, ['--', cliPath, 'list', '--json'], env],
    'daemonkit status --name s50': (env) => [process.execPath, ['--', cliPath, 'status', '--name', 's50'], env],
  };
  const envs = { without, ...(certs ? { with: withCerts } : {}) };
  const keys = Object.keys(envs).flatMap((e) => Object.keys(variants).map((v) => `${v}|${e}`));
  const times = Object.fromEntries(keys.map((k) => [k, []]));
  let rows = null;
  const once = (key) => {
    const [v, e] = key.split('|');
    const [file, args, env] = variants[v](envs[e]);
    const t = process.hrtime.bigint();
    const r = spawnSync(file, args, { env, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (v !== 'daemonkit status --name s50' && r.status !== 0) throw new Error(`${v} exited ${r.status}: ${r.stderr}`);
    if (v === 'daemonkit list') rows = r.stdout.trim().split('\n').length - 1;
    return ms;
  };
  for (const key of keys) once(key); // page cache, not timed
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < keys.length; j++) {
      const key = keys[(i + j) % keys.length];
      times[key].push(once(key));
    }
  }
  // In-process: the library's listServices() and serviceStatus(), after one warm-up call.
  const inProcess = { 'listServices(dir)': () => listServices(runDir), "serviceStatus('s50.pid')": () => serviceStatus(join(runDir, 's50.pid')) };
  const first = {};
  for (const [k, fn] of Object.entries(inProcess)) {
    const t = process.hrtime.bigint();
    fn();
    first[k] = Number(process.hrtime.bigint() - t) / 1e6;
    times[k] = [];
  }
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of Object.entries(inProcess)) {
      const t = process.hrtime.bigint();
      fn();
      times[k].push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }

  const m = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]));
  console.log(`\nnode ${process.version}, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);
  console.log(`${count} services (${JSON.stringify(states)}), list printed ${rows} rows; ${runs} runs each, interleaved; medians\n`);
  for (const e of Object.keys(envs)) {
    console.log(`  ${e === 'with' ? `with NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}` : 'without NODE_EXTRA_CA_CERTS'}`);
    const boot = m[`node -e 0|${e}`];
    for (const v of Object.keys(variants)) {
      const x = m[`${v}|${e}`];
      const extra = v === 'node -e 0' ? '' : `   ${(x - boot).toFixed(1).padStart(6)} ms over node -e 0, ${(x / 500).toFixed(2)}× the 0.5 s target`;
      console.log(`    ${v.padEnd(30)} ${x.toFixed(1).padStart(7)} ms${extra}`);
    }
  }
  console.log('  in-process (dist/index.js)');
  for (const k of Object.keys(inProcess)) console.log(`    ${k.padEnd(30)} ${m[k].toFixed(2).padStart(7)} ms   (first call ${first[k].toFixed(2)} ms)`);
  const worst = Math.max(...Object.keys(envs).map((e) => m[`daemonkit list|${e}`]));
  console.log(`\n  verdict: daemonkit list of ${count} services ${worst < 500 ? 'under' : 'OVER'} 0.5 s in every setting (worst median ${worst.toFixed(0)} ms); listServices() ${m['listServices(dir)'] < 500 ? 'under' : 'OVER'} 0.5 s (${m['listServices(dir)'].toFixed(1)} ms)`);
  // certs: whether the runs "with" NODE_EXTRA_CA_CERTS were made (it was set here).
  results = { ...info, services: count, states, runs, certs, medianMs: m, firstCallMs: first, times };
  endInfo(results);
} catch (err) {
  console.error(`error: ${err.message}`);
  code = 1;
} finally {
  // Stop every service by the command, then check nothing of theirs is left.
  const t0 = Date.now();
  const failed = [];
  await inParallel(names, 4, async (name) => {
    const r = await cli(without, 'stop', '--name', name);
    if (r.code !== 0) failed.push(`${name}: ${r.out.trim()}`);
  });
  const running = listServices(runDir).filter((s) => s.state === 'running').map((s) => s.name);
  const killed = await reapAll(10_000);
  console.log(`\nstopped all ${count} in ${((Date.now() - t0) / 1000).toFixed(1)} s; still running per list: ${running.length}; killed afterwards: ${killed}${failed.length > 0 ? `; stop failed: ${failed.join(', ')}` : ''}`);
  if (failed.length > 0 || running.length > 0 || killed > 0) code = 1;
  rmSync(dir, { recursive: true, force: true });
}
if (results !== null) {
  writeJson(results, jsonFile);
  console.log(`\nJSON: ${jsonFile}\ncharts: ${writeCharts(results, out).join(', ')}`);
}
process.exitCode = code;
