// node examples/hello.mjs PORT [PIDFILE] [LOGFILE]
// Becomes a daemon, serves HTTP on 127.0.0.1:PORT, and prints "hello started (pid N)" once
// it really answers. Stop it with: kill $(cat PIDFILE)
import { daemonize } from 'daemonkit';
import { createServer } from 'node:http';

const [port = '8080', pidFile = '/tmp/hello.pid', logFile = '/tmp/hello.log'] = process.argv.slice(2);
const daemon = await daemonize({
  name: 'hello',
  pidFile,
  logFile,
  listen: [{ host: '127.0.0.1', port: Number(port) }],
});

const server = createServer((req, res) => res.end(`hello from pid ${process.pid}\n`));
server.listen(daemon.listeners[0], () => {
  console.log(`serving on port ${daemon.listeners[0].port}`);
  daemon.ready();
});
