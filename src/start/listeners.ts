// Step "bind": the listening sockets, bound by the launcher (as root when a port below 1024
// needs it) and handed to the service as LISTEN_FDS from fd 3 (docs/design.md, "Sockets").
// The socket files it binds are removed on the way out, each only while it is still that
// very file.
import { closeSync, lstatSync, unlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { StartError, describeError } from '../errors';
import type { Plan } from './options';
import { SystemError } from '../errors';
import { insideRoot } from '../os/root';
import { fixFor } from './hints';
import { listenTcp, listenUnix, unixSocketState } from '../os/socket';

/** A socket file this start bound: removed on a clean exit if it is still that very file. */
export interface SocketFile {
  path: string;
  dev: string;
  ino: string;
}

export interface Bound {
  fds: number[];
  socketFiles: SocketFile[];
}

export function bindListeners(plan: Plan): Bound {
  const bound: Bound = { fds: [], socketFiles: [] };
  try {
    plan.listen.forEach((spec, i) => {
      const where = spec.kind === 'tcp' ? `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}` : spec.path;
      const cannot = (err: unknown, hint: string) => new StartError(`cannot listen on ${where} (listen[${i}]): ${describeError(err)}; ${hint}`);
      try {
        if (spec.kind === 'tcp') {
          bound.fds.push(listenTcp({ host: spec.host, port: spec.port, backlog: spec.backlog, ipv6Only: spec.ipv6Only }).fd);
          return;
        }
        if (!spec.path.startsWith('@')) replaceStaleSocket(plan, spec.path, cannot);
        bound.fds.push(listenUnix({ path: spec.path, mode: spec.mode, backlog: spec.backlog }).fd);
        if (!spec.path.startsWith('@')) {
          const st = lstatSync(spec.path, { bigint: true });
          bound.socketFiles.push({ path: spec.path, dev: String(st.dev), ino: String(st.ino) });
        }
      } catch (err) {
        if (err instanceof StartError) throw err;
        throw cannot(err, fixFor(err, spec.kind === 'tcp' ? 'listenTcp' : 'listenUnix'));
      }
    });
  } catch (err) {
    unbind(bound);
    throw err;
  }
  return bound;
}

/** Closes our copies and removes the socket files: a start that failed leaves none. */
export function unbind(bound: Bound): void {
  for (const fd of bound.fds.splice(0)) closeSync(fd);
  removeSocketFiles(bound.socketFiles.splice(0));
}

/**
 * A socket file at the path is probed with connect(2) before anything is removed: one that
 * answers belongs to another service, whatever our lock says; one nobody listens on is our
 * own previous run's, replaced only under the instance lock.
 */
function replaceStaleSocket(plan: Plan, path: string, cannot: (err: unknown, hint: string) => StartError): void {
  const inUse = () => new SystemError(-osConstants.errno.EADDRINUSE, 'bind', { path });
  const state = unixSocketState(path);
  if (state === 'live') throw cannot(inUse(), 'another process is listening on this socket; stop it or choose another path');
  if (state === 'other') throw cannot(inUse(), 'a file that is not a socket is there; remove it or choose another path');
  if (state === 'stale') {
    // Without the lock, another instance may be about to listen on it.
    if (plan.pidFile === undefined) {
      throw cannot(inUse(), 'a socket file nobody listens on is there (left by a process that died); remove it, or give pidFile and daemonkit replaces such files itself');
    }
    unlinkSync(path);
  }
}

/**
 * Removes the socket files this start bound, each only while it is still the file bound (not
 * one a later instance made) and where this process may (after a drop the directory may not
 * let it). From inside a chroot, only paths under it can be reached.
 */
export function removeSocketFiles(files: SocketFile[], chrootDir?: string): void {
  for (const file of files) {
    const path = chrootDir === undefined ? file.path : insideRoot(file.path, chrootDir);
    if (path === null) continue;
    try {
      const st = lstatSync(path, { bigint: true });
      if (st.isSocket() && String(st.dev) === file.dev && String(st.ino) === file.ino) unlinkSync(path);
    } catch {
      // gone, or not ours to remove
    }
  }
}
