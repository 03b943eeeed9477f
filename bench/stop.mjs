// Stop: from SIGTERM until the port refuses connections, and until the process is gone
// (reaped), with one idle kept-alive client connection open, as a browser or a proxy keeps.
// In one run, interleaved: plain node killed by the signal (no cleanup at all), a
// hand-written server.close() on SIGTERM, daemonkit with no hooks (examples/hello.mjs), and
// daemonkit draining with closeServer() (bench/graceful-server.mjs). Medians and ratios.
//
//   node bench/stop.mjs [--runs N]
//
// NODE_EXTRA_CA_CERTS only slows Node's start, which is not timed here. Nothing is asserted.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { reap, setChildSubreaper } = require('../dist/index.js');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '21' } } });
const runs = Number(values.runs);
const here = new URL('.', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'daemonkit-bench-'));
setChildSubreaper(true); // daemons end up our children: we see their exit

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const get = (port, agent) =>
  new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
    });
    req.on('error', () => resolve(false));
    req.end();
  });

const refuses = (port) =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });

const variants = {
  'plain node, killed': (port, pid) => [join(here, 'plain-server.mjs'), port, pid],
  'plain node, close()': (port, pid) => [join(here, 'plain-server.mjs'), port, pid, '--graceful'],
  'daemonkit, no hooks': (port, pid) => [join(here, '..', 'examples', 'hello.mjs'), port, pid, '/dev/null'],
  'daemonkit, closeServer': (port, pid) => [join(here, 'graceful-server.mjs'), port, pid],
};

async function once(name) {
  const port = String(await freePort());
  const pidFile = join(dir, `${name.replace(/\W/g, '_')}.pid`);
  const child = spawn(process.execPath, variants[name](port, pidFile), { stdio: 'ignore' });
  while (!(await get(port, false))) await new Promise((r) => setTimeout(r, 5));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  // A daemon becomes our child once its launcher (a subreaper until it exits) is gone.
  if (pid !== child.pid && child.exitCode === null) await new Promise((r) => child.once('exit', r));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  await get(port, agent); // now one idle kept-alive connection
  const exited =
    pid === child.pid
      ? new Promise((r) => child.once('exit', () => r(process.hrtime.bigint())))
      : (async () => {
          while (reap(pid) === null) await new Promise((r) => setImmediate(r));
          return process.hrtime.bigint();
        })();
  const t0 = process.hrtime.bigint();
  process.kill(pid, 'SIGTERM');
  // Probing every millisecond: each probe the server still accepts is work it must do.
  while (!(await refuses(port))) await new Promise((r) => setTimeout(r, 1));
  const portMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const exitMs = Number((await exited) - t0) / 1e6;
  agent.destroy();
  return [portMs, exitMs];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, { port: [], exit: [] }]));
  for (let i = 0; i < runs; i++) {
    for (const name of Object.keys(variants)) {
      const [p, e] = await once(name);
      times[name].port.push(p);
      times[name].exit.push(e);
    }
  }
  const base = median(times['plain node, killed'].exit);
  console.log(`\nSIGTERM to port refusing / to process gone, one idle keep-alive connection (${runs} runs each, interleaved; medians)`);
  for (const [name, t] of Object.entries(times)) {
    const e = median(t.exit);
    console.log(`  ${name.padEnd(24)} port ${median(t.port).toFixed(1).padStart(6)} ms   gone ${e.toFixed(1).padStart(6)} ms   ${(e / base).toFixed(2)}x killed`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
