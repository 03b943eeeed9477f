// Graceful HTTP(S) drain for shutdown: stop accepting, let every response in flight be
// written in full, telling the client "Connection: close" wherever its headers can still
// change, close each connection once it is idle, and destroy what is left at the deadline.
//
// Node's server.close() alone falls short: a connection whose request finishes later stays
// open for keepAliveTimeout (5 s); responses already in flight still say keep-alive, so
// clients reuse connections the server is about to close and get ECONNRESET; and the
// closeIdleConnections() it calls destroys a connection whose response was end()ed
// (res.finished) while its body is still queued for a slow reader, cutting it short.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { invalidType } from '../errors';
import { shutdownTimeLeft } from './shutdown';
import { validateInteger, validateObject } from '../os/validate';

/** How long closeServer() lets connections finish. */
export interface CloseServerOptions {
  /**
   * Milliseconds until the remaining connections are destroyed. Default: during a shutdown,
   * what is left of shutdownTimeout less a tenth (at most 1 s), so connections are forced
   * before the whole process is; otherwise 10 000.
   */
  timeout?: number;
}

function defaultTimeout(): number {
  const left = shutdownTimeLeft();
  if (left === null) return 10_000;
  return Math.max(0, Math.floor(left - Math.min(1000, left / 10)));
}

// How often connections that have become idle are looked for and closed.
const SWEEP_MS = 10;

// What Node's http.Server keeps about its connections (lib/_http_server.js, Node 18 to 26):
// the parser of each, "idle" meaning that no request is being received on it.
interface ConnectionsList {
  all(): { socket: HttpSocket | null }[];
  idle(): { socket: HttpSocket | null }[];
}
type HttpSocket = Socket & {
  // The response being written on the connection. Node clears it at that response's 'finish'
  // (all of it handed to the kernel), and puts the next pipelined response in its place.
  _httpMessage?: ServerResponse | null;
  // `incoming` is the last request read on the connection (null once it is answered).
  parser?: { incoming?: IncomingMessage | null } | null;
};

function ownSymbolValue(server: Server, description: string): unknown {
  const key = Object.getOwnPropertySymbols(server).find((k) => k.description === description);
  return key === undefined ? undefined : (server as unknown as Record<symbol, unknown>)[key];
}

function connectionsOf(server: Server): ConnectionsList | undefined {
  const list = ownSymbolValue(server, 'http.server.connections') as Partial<ConnectionsList> | undefined;
  return typeof list?.all === 'function' && typeof list.idle === 'function' ? (list as ConnectionsList) : undefined;
}

// A response that says "Connection: close" makes Node end its connection once it is written
// (res._last). Only the last response on a connection may say it: with requests pipelined
// behind it, Node would end the connection without writing their answers.
function announceClose(res: ServerResponse, socket: HttpSocket): void {
  const last = socket.parser?.incoming;
  if (last != null && last !== res.req) {
    // Node's own 'finish' listener, added before the request was emitted, runs first and
    // puts the next pipelined response on the connection: that one may be the last.
    res.once('finish', () => {
      const next = socket._httpMessage;
      if (next) announceClose(next, socket);
    });
  } else if (!res.headersSent) {
    res.setHeader('Connection', 'close');
  }
}

/**
 * Closes an http.Server or https.Server gracefully. Resolves with the number of connections
 * that had to be destroyed at the deadline (0 when everything finished in time). Upgraded
 * connections (WebSocket) are not the server's any more: close them in your own hook.
 */
export function closeServer(server: Server, options: CloseServerOptions = {}): Promise<number> {
  const s = server as Server & { closeIdleConnections?: () => void; closeAllConnections?: () => void };
  if (typeof s !== 'object' || s === null || typeof s.closeIdleConnections !== 'function' || typeof s.closeAllConnections !== 'function') {
    throw invalidType('server', 'an http.Server or https.Server (Node >= 18.2)', server);
  }
  validateObject(options, 'options');
  const timeout = validateInteger(options.timeout ?? defaultTimeout(), 'options.timeout', 0, 2 ** 31 - 1);
  // Without Node's list (another runtime, a future Node), the drain falls back on
  // server.close() and closeIdleConnections(): responses already in flight then keep saying
  // keep-alive, and one still queued for a slow reader can be cut short (see the top).
  const connections = connectionsOf(s);

  return new Promise<number>((resolve) => {
    // Requests that arrive on a kept-alive connection during the drain are served, and end it.
    const lastRequest = (_req: IncomingMessage, res: ServerResponse) => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    };
    // Idle here also means that no response is being written. A keep-alive response whose
    // headers went out before the drain cannot announce the close: its connection is closed
    // here once idle, not at its 'finish' as Node does after a "close" response, so that a
    // request its client sends right after it is served (with "close") rather than reset.
    //
    // "Idle" is Node's view: no request being parsed. Under load, a client's next request is
    // often already in the kernel's receive buffer, unread, when its connection looks idle;
    // destroying it then resets a request the client has sent. So a connection is destroyed
    // only when it was idle at the previous sweep too and has read nothing since: a request
    // waiting in the buffer is read (and answered, with "close") within one sweep.
    const idleSince = new WeakMap<Socket, number>();
    const sweep =
      connections === undefined
        ? () => s.closeIdleConnections!()
        : () => {
            for (const { socket } of connections.idle()) {
              if (!socket || socket._httpMessage) continue;
              if (idleSince.get(socket) === socket.bytesRead) socket.destroy();
              else idleSince.set(socket, socket.bytesRead);
            }
          };

    let settled = false;
    const finish = (forced: number) => {
      if (settled) return;
      settled = true;
      clearInterval(sweeper);
      clearTimeout(deadline);
      s.removeListener('request', lastRequest);
      resolve(forced);
    };
    s.prependListener('request', lastRequest);
    for (const { socket } of connections?.all() ?? []) {
      if (socket?._httpMessage) announceClose(socket._httpMessage, socket);
    }
    const sweeper = setInterval(sweep, SWEEP_MS);
    const deadline = setTimeout(() => {
      s.getConnections((_err, count) => {
        s.closeAllConnections!();
        finish(count ?? 0);
      });
    }, timeout);
    // 'close' comes once the listening socket is closed and every connection has ended.
    if (connections === undefined) {
      s.close(() => finish(0));
    } else {
      // http.Server's close() without its closeIdleConnections(): stop the headersTimeout and
      // requestTimeout checker as it does, then net.Server's close() (https.Server's is the
      // same one, through tls.Server).
      clearInterval(ownSymbolValue(s, 'http.server.connectionsCheckingInterval') as NodeJS.Timeout | undefined);
      // A server to close is a net.Server: node:net is loaded already (required here, not at
      // the top, so a launcher that never drains does not pay ~2 ms to load it).
      (require('node:net') as typeof import('node:net')).Server.prototype.close.call(s, () => finish(0));
      sweep();
    }
  });
}
