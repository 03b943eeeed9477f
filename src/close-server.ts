// Graceful HTTP(S) drain for shutdown: stop accepting, let requests in flight finish, close
// keep-alive connections as soon as they are idle, and destroy what is left at the deadline.
// Node's own server.close() stops accepting and closes the connections idle at that moment,
// but a connection whose request finishes later stays open for keepAliveTimeout (5 s), and
// nothing forces a request that never ends.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { invalidType } from './errors';
import { shutdownTimeLeft } from './shutdown';
import { validateInteger, validateObject } from './validate';

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

// How often connections that just finished a response are looked for and closed.
const SWEEP_MS = 10;

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

  return new Promise<number>((resolve) => {
    // Requests that arrive on a kept-alive connection during the drain are served, with
    // "Connection: close" so the connection ends with them.
    const lastRequest = (_req: IncomingMessage, res: ServerResponse) => {
      res.shouldKeepAlive = false;
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
    const sweeper = setInterval(() => s.closeIdleConnections!(), SWEEP_MS);
    const deadline = setTimeout(() => {
      s.getConnections((_err, count) => {
        s.closeAllConnections!();
        finish(count ?? 0);
      });
    }, timeout);
    // 'close' comes once the listening socket is closed and every connection has ended.
    s.close(() => finish(0));
  });
}
