// The same tiny HTTP server as examples/hello.mjs, without daemonkit: the baseline.
//   node bench/plain-server.mjs PORT PIDFILE [--respawn | --graceful]
// With --respawn it daemonizes the way npm's `daemon` and most tools do: re-spawn itself with
// child_process.spawn({ detached: true }) and exit at once (no readiness, no lock).
// With --graceful it stops on SIGTERM the way a hand-written Node server does:
// server.close(), then exit.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, pidFile, mode] = process.argv.slice(2);
if (mode === '--respawn' && !process.env.BENCH_CHILD) {
  spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, BENCH_CHILD: '1' },
  }).unref();
} else {
  writeFileSync(pidFile, `${process.pid}\n`);
  // The same work as examples/hello.mjs once it is listening: one line on stdout.
  const server = createServer((req, res) => res.end(`hello from pid ${process.pid}\n`)).listen(Number(port), '127.0.0.1', () => {
    console.log(`serving on port ${port}`);
  });
  if (mode === '--graceful') process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
