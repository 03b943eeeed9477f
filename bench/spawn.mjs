// What spawnDaemon() costs over a plain fork+exec, in one run on this machine.
//
//   node bench/spawn.mjs [--runs N]
//
// 1. Call latency, /bin/true: from the call until execve has succeeded (the error pipe hit
//    EOF). spawnChild() is daemonkit's plain fork → execve; spawnDaemon() adds setsid, the
//    second fork and reaping the middle process. child_process.spawn() is timed to its
//    'spawn' event for reference.
// 2. Start of a Node program: from the call until the new `node` connects back over TCP,
//    with and without NODE_EXTRA_CA_CERTS (it makes every Node start slower here).
// Medians and ratios are printed; nothing is asserted (shared, noisy machines).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { spawnDaemon, spawnChild, reap, setChildSubreaper } = require('../dist/index.js');

const { values } = parseArgs({ options: { runs: { type: 'string', default: '300' } } });
const runs = Number(values.runs);
setChildSubreaper(true); // daemons become our children, so we can reap them

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const ms = (ns) => Number(ns) / 1e6;
const reapAll = async (pids) => {
  for (const pid of pids) while (reap(pid) === null) await new Promise((r) => setImmediate(r));
};

async function callLatency() {
  const t = { spawnChild: [], spawnDaemon: [], 'child_process.spawn': [] };
  for (let i = 0; i < runs; i++) {
    // Interleaved, so drift in machine load hits all three alike.
    let t0 = process.hrtime.bigint();
    const a = spawnChild('/bin/true');
    t.spawnChild.push(ms(process.hrtime.bigint() - t0));
    t0 = process.hrtime.bigint();
    const b = spawnDaemon('/bin/true');
    t.spawnDaemon.push(ms(process.hrtime.bigint() - t0));
    t0 = process.hrtime.bigint();
    const c = spawn('/bin/true', { stdio: 'ignore' });
    await new Promise((r) => c.once('spawn', r));
    t['child_process.spawn'].push(ms(process.hrtime.bigint() - t0));
    await new Promise((r) => c.once('exit', r));
    await reapAll([a, b]);
  }
  return t;
}

async function nodeStart(env, n) {
  const server = createServer();
  const waiters = [];
  server.on('connection', (s) => {
    s.destroy();
    waiters.shift()?.();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const args = ['-e', `require('net').connect(${port}, '127.0.0.1').on('connect', () => process.exit(0))`];
  const t = { spawnChild: [], spawnDaemon: [], 'child_process.spawn': [] };
  for (let i = 0; i < n; i++) {
    for (const how of Object.keys(t)) {
      const connected = new Promise((r) => waiters.push(r));
      const t0 = process.hrtime.bigint();
      let pid;
      let child;
      if (how === 'spawnChild') pid = spawnChild(process.execPath, { args, env });
      else if (how === 'spawnDaemon') pid = spawnDaemon(process.execPath, { args, env });
      else child = spawn(process.execPath, args, { env, stdio: 'ignore', detached: true });
      await connected;
      t[how].push(ms(process.hrtime.bigint() - t0));
      if (child) await new Promise((r) => child.once('exit', r));
      else await reapAll([pid]);
    }
  }
  server.close();
  return t;
}

function report(title, t, base) {
  console.log(`\n${title}`);
  const b = median(t[base]);
  for (const [name, xs] of Object.entries(t)) {
    const m = median(xs);
    console.log(`  ${name.padEnd(22)} median ${m.toFixed(3).padStart(8)} ms   ${(m / b).toFixed(2)}x ${base}   (+${(m - b).toFixed(3)} ms)`);
  }
}

console.log(`node ${process.version}, ${runs} runs each, interleaved`);
const latency = await callLatency();
report('1. call latency until execve succeeded (/bin/true)', latency, 'spawnChild');
const extra = median(latency.spawnDaemon) - median(latency.spawnChild);
console.log(`  spawnDaemon over plain fork+exec: +${extra.toFixed(3)} ms (target < 1 ms): ${extra < 1 ? 'met' : 'NOT met'}`);

const starts = Math.max(10, Math.floor(runs / 15));
const withCa = { ...process.env };
const withoutCa = { ...process.env };
delete withoutCa.NODE_EXTRA_CA_CERTS;
report(`2. node start to first TCP connection, without NODE_EXTRA_CA_CERTS (${starts} runs)`, await nodeStart(withoutCa, starts), 'spawnChild');
if (process.env.NODE_EXTRA_CA_CERTS) {
  report(`   with NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}`, await nodeStart(withCa, starts), 'spawnChild');
} else {
  console.log('   (NODE_EXTRA_CA_CERTS is not set here: the "with" run is skipped)');
}
