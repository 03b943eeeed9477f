// bench/plain-server.mjs re-spawned through the minimal package in respawn.mjs.
//   node bench/floor/server.mjs PORT PIDFILE
import { respawn } from 'daemonkit-bench-floor';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, pidFile] = process.argv.slice(2);
if (!process.env.BENCH_CHILD) {
  respawn({ ...process.env, BENCH_CHILD: '1' });
} else {
  writeFileSync(pidFile, `${process.pid}\n`);
  createServer((req, res) => res.end(`hello from pid ${process.pid}\n`)).listen(Number(port), '127.0.0.1', () => {
    console.log(`serving on port ${port}`);
  });
}
