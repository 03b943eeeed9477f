// examples/hello.mjs with a graceful stop: SIGTERM drains the server with closeServer().
//   node bench/graceful-server.mjs PORT PIDFILE
import { closeServer, daemonize, onShutdown } from 'daemonkit';
import { createServer } from 'node:http';

const [port, pidFile] = process.argv.slice(2);
const daemon = await daemonize({ name: 'graceful', pidFile, listen: [{ host: '127.0.0.1', port: Number(port) }] });
const server = createServer((req, res) => res.end(`hello from pid ${process.pid}\n`));
onShutdown(() => closeServer(server), 'http');
server.listen(daemon.listeners[0], () => daemon.ready());
