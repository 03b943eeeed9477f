// A graceful stop under load: N keep-alive clients (default 50), each sending its next request
// as soon as the previous answer ends, then SIGTERM. Counts, per stop, what clients saw that
// a graceful stop should never show them: a connection reset or closed under a request they
// had sent (ECONNRESET, EPIPE, "socket hang up"). A refused connection (ECONNREFUSED) is how a
// client learns the server is gone, and ends that client. In one run, interleaved: a
// hand-written server.close() on SIGTERM, and daemonkit's closeServer() (bench/
// graceful-server.mjs) from this checkout and, with --old DIR, from another checkout (built,
// with its own bench/graceful-server.mjs) for a before/after.
//
//   node bench/drain.mjs [--stops N] [--clients N] [--old DIR]
//
// Counts, not times, are compared: nothing here depends on the machine's speed, but the
// numbers are counts of races, so they vary from stop to stop; medians and totals are shown.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { reap, setChildSubreaper } = require('../dist/index.js');
const { values } = parseArgs({ options: { stops: { type: 'string', default: '15' }, clients: { type: 'string', default: '50' }, old: { type: 'string' } } });
const stops = Number(values.stops);
const clients = Number(values.clients);
const here = new URL('.', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'daemonkit-drain-'));
setChildSubreaper(true); // daemons end up our children: we see their exit

const freePort = () =>
  new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });

const variants = {
  'node server.close()': (port, pid) => [join(here, 'plain-server.mjs'), port, pid, '--graceful'],
  'daemonkit closeServer()': (port, pid) => [join(here, 'graceful-server.mjs'), port, pid],
};
if (values.old) variants['daemonkit closeServer(), --old'] = (port, pid) => [join(resolve(values.old), 'bench', 'graceful-server.mjs'), port, pid];

/** One client: requests back to back on one kept-alive connection until the server is gone. */
function client(port, stats, started) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise((done) => {
    let first = true;
    const next = () => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          stats.answered++;
          if (first) {
            first = false;
            started();
          }
          next();
        });
      });
      req.on('error', (err) => {
        if (err.code === 'ECONNREFUSED') {
          agent.destroy();
          if (first) started();
          return done();
        }
        const code = err.code === 'ECONNRESET' && err.message === 'socket hang up' ? 'socket hang up' : err.code ?? err.message;
        if (stats.stopping) stats.errors[code] = (stats.errors[code] ?? 0) + 1;
        setImmediate(next);
      });
      req.end();
    };
    next();
  });
}

async function once(name) {
  const port = String(await freePort());
  const pidFile = join(dir, `${name.replace(/\W/g, '_')}.pid`);
  const launcher = spawn(process.execPath, variants[name](port, pidFile), { stdio: 'ignore' });
  // Ready when the port answers; the PID file names the process to stop.
  for (;;) {
    const up = await new Promise((done) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', () => done(true));
      });
      req.on('error', () => done(false));
      req.end();
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (pid !== launcher.pid && launcher.exitCode === null) await new Promise((r) => launcher.once('exit', r));
  const stats = { stopping: false, answered: 0, errors: {} };
  let ready = 0;
  let allStarted;
  const started = new Promise((r) => (allStarted = r));
  const running = Array.from({ length: clients }, () => client(port, stats, () => ++ready === clients && allStarted()));
  await started;
  stats.stopping = true;
  process.kill(pid, 'SIGTERM');
  await Promise.all(running);
  if (pid === launcher.pid) {
    if (launcher.exitCode === null) await new Promise((r) => launcher.once('exit', r));
  } else {
    while (reap(pid) === null) await new Promise((r) => setTimeout(r, 5));
  }
  return stats;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < stops; i++) {
    for (const name of Object.keys(variants)) results[name].push(await once(name));
  }
  console.log(`\nSIGTERM under ${clients} keep-alive clients, ${stops} stops each, interleaved (node ${process.versions.node})`);
  console.log('  errors: resets and hang-ups clients saw, after SIGTERM, for requests they had sent');
  for (const [name, runs] of Object.entries(results)) {
    const perStop = runs.map((s) => Object.values(s.errors).reduce((a, b) => a + b, 0));
    const kinds = {};
    for (const s of runs) for (const [k, v] of Object.entries(s.errors)) kinds[k] = (kinds[k] ?? 0) + v;
    const answered = median(runs.map((s) => s.answered));
    console.log(
      `  ${name.padEnd(32)} errors per stop: median ${median(perStop)}, max ${Math.max(...perStop)}, total ${perStop.reduce((a, b) => a + b, 0)} ${JSON.stringify(kinds)} (median ${answered} answers per stop)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
