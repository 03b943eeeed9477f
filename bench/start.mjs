// Launch to first HTTP answer: daemonkit's examples/hello.mjs against plain node serving the
// same port, `setsid -f node`, a child_process.spawn({ detached: true }) re-spawn, a minimal
// package that only loads the addon and re-spawns (bench/floor: the floor of any daemonizing
// package, loaded in both processes), and daemonkit's library loaded in both processes with
// nothing but spawnDaemon() (the floor of this library). Then a heavy app: ~300 generated
// modules (~100 ms of loading on the reference machine) behind the same server, run by plain
// node, and by daemonkit through a small entry that daemonizes first and imports the app only
// in the daemon, so the launcher never loads it. A bare `node -e 0`, timed to its exit, is the
// cost of one more Node boot. One run, interleaved, with and without NODE_EXTRA_CA_CERTS.
// Prints medians, ratios and the targets' differences.
//
//   node bench/start.mjs [--runs N]
//
// Targets:
//   1. daemonize(), launch to ready, at most 15 ms above the minimal package: what daemonkit
//      adds to the floor of any daemonizing package (two Node boots, a package resolved by
//      name, the addon) is its own work.
//   2. The heavy app through a small entry at most plain node running it + one bare Node boot
//      + 15 ms: a daemon costs one more boot, and the app is loaded once, by the daemon.
// Nothing is asserted: these machines are shared.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

// The heavy app, in the temporary directory. Module i imports modules 3i+1..3i+3, so the
// 300 form a tree from heavy/m000.mjs; each has a small table and 10 functions, one of which
// runs at load. 300 x 10 measured ~100 ms more than the plain server's start on the
// reference machine (2 cores, Node 20), almost all of it per module: resolve, read, compile,
// link and evaluate.
const HEAVY_MODULES = 300;
const HEAVY_FUNCTIONS = 10;
const HEAVY_FAN_OUT = 3;
function writeHeavyApp() {
  const heavy = join(dir, 'heavy');
  mkdirSync(heavy);
  const file = (i) => `m${String(i).padStart(3, '0')}.mjs`;
  for (let i = 0; i < HEAVY_MODULES; i++) {
    const children = [];
    for (let c = HEAVY_FAN_OUT * i + 1; c <= HEAVY_FAN_OUT * (i + 1) && c < HEAVY_MODULES; c++) children.push(c);
    const lines = children.map((c) => `import * as c${c} from './${file(c)}';`);
    lines.push(`const NAME = 'module ${i}';`, `const TABLE = [${Array.from({ length: 16 }, (_, k) => (i * 31 + k * 7) % 97).join(', ')}];`);
    for (let f = 0; f < HEAVY_FUNCTIONS; f++) {
      lines.push(
        `export function f${f}(x, label = NAME) {`,
        `  const scaled = x * ${f + 1} + TABLE[(x + ${f}) % TABLE.length];`,
        `  if (scaled % ${f + 2} === 0) return { label, value: scaled, parts: label.split(' ') };`,
        `  return { label: \`\${label}#${f}\`, value: scaled - ${f}, parts: [] };`,
        '}',
      );
    }
    const childSums = children.map((c) => `c${c}.sum`).join(' + ') || '0';
    lines.push(`export const sum = TABLE.reduce((a, b) => a + b, 0) + f0(${i}).value + ${childSums};`);
    writeFileSync(join(heavy, file(i)), `${lines.join('\n')}\n`);
  }
  // The app: every module, then the server of bench/plain-server.mjs on the socket it is given.
  writeFileSync(
    join(dir, 'heavy-app.mjs'),
    `import { createServer } from 'node:http';
import { sum } from './heavy/m000.mjs';

export function serve(listenOn, onListening) {
  const server = createServer((req, res) => res.end(\`hello from pid \${process.pid} (\${sum})\\n\`));
  server.listen(listenOn, () => {
    console.log(\`serving on port \${server.address().port}\`);
    onListening?.();
  });
}
`,
  );
  // Plain node: the app, on the port it binds itself.
  writeFileSync(
    join(dir, 'heavy-server.mjs'),
    `import { writeFileSync } from 'node:fs';
import { serve } from './heavy-app.mjs';

const [port, pidFile] = process.argv.slice(2);
writeFileSync(pidFile, \`\${process.pid}\\n\`);
serve({ port: Number(port), host: '127.0.0.1' });
`,
  );
  // daemonkit: a small entry that daemonizes, then loads the app, in the daemon only. It finds
  // daemonkit by name, as an installed package (node_modules/daemonkit is this checkout).
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(here, '..'), join(dir, 'node_modules', 'daemonkit'));
  writeFileSync(
    join(dir, 'heavy-entry.mjs'),
    `import { daemonize } from 'daemonkit';

const [port, pidFile] = process.argv.slice(2);
const daemon = await daemonize({ name: 'heavy', pidFile, logFile: '/dev/null', listen: [{ host: '127.0.0.1', port: Number(port) }] });
const { serve } = await import('./heavy-app.mjs');
serve(daemon.listeners[0], () => daemon.ready());
`,
  );
}
writeHeavyApp();

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
  'plain node heavy app': (port, pid) => ['node', [join(dir, 'heavy-server.mjs'), port, pid]],
  'daemonkit heavy app (small entry)': (port, pid) => ['node', [join(dir, 'heavy-entry.mjs'), port, pid]],
  // Timed to its exit, not to an answer: the cost of one Node boot.
  'node -e 0': () => ['node', ['-e', '0']],
};
const BOOT = 'node -e 0';

async function once(name, env) {
  const port = String(await freePort());
  const pidFile = join(dir, `${name.replace(/\W/g, '_')}.pid`);
  const [cmd, args] = variants[name](port, pidFile);
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd === 'node' ? process.execPath : cmd, args, { env, stdio: 'ignore' });
  if (name === BOOT) {
    await new Promise((r) => child.once('exit', r));
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }
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
  const m = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]));
  const base = m['plain node'];
  console.log(`\n${label} (${runs} runs each, interleaved; medians)`);
  for (const name of Object.keys(times)) {
    const ratio = name === BOOT ? '(to exit)' : `${(m[name] / base).toFixed(2)}x plain node`;
    console.log(`  ${name.padEnd(34)} ${m[name].toFixed(1).padStart(7)} ms   ${ratio}`);
  }
  const dk = m.daemonkit;
  const floor = m['minimal package'];
  console.log(
    `  daemonkit / spawn detached: ${(dk / m['spawn detached']).toFixed(2)}   minimal package / plain node: ${(floor / base).toFixed(2)}   daemonkit / minimal package: ${(dk / floor).toFixed(2)}`,
  );
  const verdict = (extra, limit) => `${extra.toFixed(1)} ms (target <= ${limit.toFixed(1)} ms: ${extra <= limit ? 'met' : `missed by ${(extra - limit).toFixed(1)} ms`})`;
  console.log(`  target 1, daemonkit - minimal package: ${verdict(dk - floor, 15)}`);
  const heavyPlain = m['plain node heavy app'];
  const heavyDk = m['daemonkit heavy app (small entry)'];
  console.log(
    `  target 2, daemonkit heavy app - plain node heavy app: ${verdict(heavyDk - heavyPlain, m[BOOT] + 15)}, ` +
      `the limit being node -e 0 (${m[BOOT].toFixed(1)} ms) + 15 ms; ratio ${(heavyDk / heavyPlain).toFixed(2)}`,
  );
  console.log(`  the heavy app's loading, plain node heavy app - plain node: ${(heavyPlain - base).toFixed(1)} ms`);
}

try {
  const without = { ...process.env };
  delete without.NODE_EXTRA_CA_CERTS;
  await suite('launch to first HTTP answer, without NODE_EXTRA_CA_CERTS', without);
  if (process.env.NODE_EXTRA_CA_CERTS) await suite(`with NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}`, process.env);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
