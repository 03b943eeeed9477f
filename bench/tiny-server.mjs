// The program every tool in bench/peers.mjs runs: the smallest HTTP server that can be told
// apart from a closed port. It answers "ok" on 127.0.0.1 and writes nothing (no stdout, no
// PID file), so no tool pays for logging or piping what it prints, and the tools' own ways to
// find its pid are the only ones. It has no signal handlers: SIGTERM ends it at once, as it
// would end most programs handed to a supervisor.
//
//   node bench/tiny-server.mjs PORT      (or PORT=... node bench/tiny-server.mjs)
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? process.env.PORT);
// Handed a listening socket (LISTEN_FDS, from daemonkit's --listen or systemd): serve on it.
const handed = Number(process.env.LISTEN_FDS) > 0 && Number(process.env.LISTEN_PID) === process.pid;
const server = createServer((req, res) => res.end('ok'));
if (handed) server.listen({ fd: 3 });
else server.listen(port, '127.0.0.1');
