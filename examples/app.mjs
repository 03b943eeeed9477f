// app.mjs: everything the service needs, however heavy
import { createServer } from 'node:http';

export function start(daemon) {
  createServer((req, res) => res.end(`hello from the app, pid ${process.pid}\n`)).listen(daemon.listeners[0], () => daemon.ready());
}
