// Launch to first HTTP answer: daemonkit's examples/hello.mjs against plain node serving the
// same port, `setsid -f node`, a child_process.spawn({ detached: true }) re-spawn, a minimal
// package that only loads the addon and re-spawns (bench/floor: the floor of any daemonizing
// package, loaded in both processes), and daemonkit's library loaded in both processes with
// nothing but spawnDaemon() (the floor of this library), in one run, interleaved, with and
// without NODE_EXTRA_CA_CERTS. Prints medians and ratios.
//
//   node bench/start.mjs [--runs N]
//
// Target (issue 3): daemonkit at most 1.9x plain node (the floor is two Node boots), and no
// slower than the detached re-spawn. Nothing is asserted: these machines are shared.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { reap, setChildSubreaper } = require('../dist/index.js');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);
const here = new URL('.', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'daemonkit-bench-'));
setChildSubreaper(true); // every daemon ends up our child: we stop and reap each one

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const answers = (port) =>
  new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
    });
    req.on('error', () => resolve(false));
    req.end();
  });

async function untilAnswer(port) {
  while (!(await answers(port))) await new Promise((r) => setTimeout(r, 1));
}

const variants = {
  'plain node': (port, pid) => ['node', [join(here, 'plain-server.mjs'), port, pid]],
  'setsid -f node': (port, pid) => ['setsid', ['-f', process.execPath, join(here, 'plain-server.mjs'), port, pid]],
  'spawn detached': (port, pid) => ['node', [join(here, 'plain-server.mjs'), port, pid, '--respawn']],
  'minimal package': (port, pid) => ['node', [join(here, 'floor', 'server.mjs'), port, pid]],
  'library + spawnDaemon': (port, pid) => ['node', [join(here, 'native-respawn.mjs'), port, pid]],
  daemonkit: (port, pid) => ['node', [join(here, '..', 'examples', 'hello.mjs'), port, pid, '/dev/null']],
};

async function once(name, env) {
  const port = String(await freePort());
  const pidFile = join(dir, `${name.replace(/\W/g, '_')}.pid`);
  const [cmd, args] = variants[name](port, pidFile);
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd === 'node' ? process.execPath : cmd, args, { env, stdio: 'ignore' });
  await untilAnswer(port);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  process.kill(pid, 'SIGTERM');
  if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  // A daemon is our child (subreaper); plain node is child_process's, reaped by it.
  if (pid !== child.pid) while (reap(pid) === null) await new Promise((r) => setTimeout(r, 1));
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function suite(label, env) {
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) for (const name of Object.keys(variants)) times[name].push(await once(name, env));
  const base = median(times['plain node']);
  console.log(`\n${label} (${runs} runs each, interleaved; medians)`);
  for (const [name, xs] of Object.entries(times)) {
    console.log(`  ${name.padEnd(22)} ${median(xs).toFixed(1).padStart(7)} ms   ${(median(xs) / base).toFixed(2)}x plain node`);
  }
  const dk = median(times.daemonkit);
  const detached = median(times['spawn detached']);
  console.log(`  daemonkit / plain node: ${(dk / base).toFixed(2)} (target <= 1.9)   daemonkit / spawn detached: ${(dk / detached).toFixed(2)} (target <= 1.0)`);
  const floor = median(times['minimal package']);
  console.log(`  minimal package / plain node: ${(floor / base).toFixed(2)}   minimal package / spawn detached: ${(floor / detached).toFixed(2)}   daemonkit - minimal package: ${(dk - floor).toFixed(1)} ms`);
}

try {
  const without = { ...process.env };
  delete without.NODE_EXTRA_CA_CERTS;
  await suite('launch to first HTTP answer, without NODE_EXTRA_CA_CERTS', without);
  if (process.env.NODE_EXTRA_CA_CERTS) await suite(`with NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}`, process.env);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
