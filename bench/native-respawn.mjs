// The floor for daemonkit's own design: load the library in both processes and re-spawn with
// the native double fork (spawnDaemon), but nothing else: no validation, lock, bind, logs,
// readiness or privilege drop. bench/start.mjs runs it beside daemonize() so the cost of
// daemonize()'s own work, and of the library itself, can be told apart.
//   node bench/native-respawn.mjs PORT PIDFILE
import { spawnDaemon } from 'daemonkit';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, pidFile] = process.argv.slice(2);
if (!process.env.BENCH_CHILD) {
  spawnDaemon(process.execPath, { args: [...process.execArgv, ...process.argv.slice(1)], env: { ...process.env, BENCH_CHILD: '1' } });
} else {
  writeFileSync(pidFile, `${process.pid}\n`);
  createServer((req, res) => res.end(`hello from pid ${process.pid}\n`)).listen(Number(port), '127.0.0.1', () => {
    console.log(`serving on port ${port}`);
  });
}
