// sudo node examples/privileged.mjs [PORT] [PIDFILE]
// Run as root: binds PORT (default 80) as root, drops to nobody, and answers every request
// with the uid it runs as. The PID file's directory must let nobody remove the file (or the
// file stays, emptied, and is replaced at the next start).
import { daemonize } from 'daemonkit';
import { createServer } from 'node:http';

const [port = '80', pidFile = '/tmp/privileged.pid'] = process.argv.slice(2);
const daemon = await daemonize({
  name: 'privileged',
  pidFile,
  pidFileOwner: 'nobody',
  user: 'nobody',
  listen: [{ host: '127.0.0.1', port: Number(port) }],
});

createServer((req, res) => res.end(`uid ${process.getuid()}\n`)).listen(daemon.listeners[0], () => daemon.ready());
